package shell

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestParseErrors: a syntax error anywhere aborts the whole script before
// anything runs, with PowerShell's message and position.
func TestParseErrors(t *testing.T) {
	tests := []struct{ script, where, msg, id string }{
		{"Get-Mailbox\nSet-Mailbox bob -CustomAttribute1 \"abc", "At line:2 char:35\n+ Set-Mailbox bob -CustomAttribute1 \"abc\n+                                   ~\n", `The string is missing the terminator: ".`, "TerminatorExpectedAtEndOfString"},
		{"Get-Mailbox 'abc", "At line:1 char:13\n", "The string is missing the terminator: '.", "TerminatorExpectedAtEndOfString"},
		{"Get-Mailbox | Where-Object { $_.Name -eq 'x' ", "At line:1 char:46\n", "Missing closing '}' in statement block or type definition.", "MissingEndCurlyBrace"},
		{"$x = (1, 2", "At line:1 char:11\n", "Missing closing ')' in expression.", "MissingEndParenthesisInExpression"},
		{"$x = $(Get-Mailbox", "", "Missing closing ')' in subexpression.", "MissingEndParenthesisInSubexpression"},
		{"Get-Mailbox |", "", "An empty pipe element is not allowed.", "EmptyPipeElement"},
		{"Get-Mailbox | | fl", "", "An empty pipe element is not allowed.", "EmptyPipeElement"},
		{"Get-Mailbox | $x", "", "Expressions are only allowed as the first element of a pipeline.", "ExpressionsMustBeFirstInPipeline"},
		{"$a -foo 1", "At line:1 char:4\n", "Unexpected token '-foo' in expression or statement.", "UnexpectedToken"},
		{"$a = 1 2", "", "Unexpected token '2' in expression or statement.", "UnexpectedToken"},
		{"Get-Mailbox }", "", "Unexpected token '}' in expression or statement.", "UnexpectedToken"},
		{"Set-Mailbox x -CustomAttribute1 a,", "", "Missing expression after ','.", "MissingExpressionAfterToken"},
		{"@{a}", "", "Missing '=' operator after key in hash literal.", "MissingEqualsInHashLiteral"},
		{"@{a=1", "", "Missing closing '}' or ';' in hash literal.", "MissingEndCurlyBrace"},
		{"[string]$x", "", "Type literals and casts such as [string] are not supported by this shell.", "TypeLiteralNotSupported"},
		{"Get-Mailbox && Get-Mailbox", "", "The '&' operator is not supported", "AmpersandNotAllowed"},
		{"<# open comment", "", "The comment is missing the terminator '#>'.", "MissingEndOfComment"},
		{"if ($x) 'a'", "", "Missing statement block.", "MissingStatementBlock"},
		{"foreach ($x 1,2) {}", "", "Missing 'in' after variable in foreach loop.", "MissingInInForeach"},
		{"()", "", "An expression was expected after '('.", "ExpectedExpression"},
		{"$x[0", "", "Missing ']' after array index expression.", "MissingEndSquareBracket"},
		{"$x.Trim(", "", "Missing closing ')' in method call.", "MissingEndParenthesisInMethodCall"},
		{"5GB", "", "Unexpected token '5GB' in expression or statement.", "UnexpectedToken"},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			r := runScript(t, tc.script)
			if r.ok || len(r.requests) != 0 || r.stdout != "" {
				t.Errorf("ok=%v requests=%v stdout=%q", r.ok, r.requests, r.stdout)
			}
			if !strings.HasPrefix(r.stderr, tc.where) || !strings.Contains(r.stderr, tc.msg) ||
				!strings.Contains(r.stderr, "    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\n    + FullyQualifiedErrorId : "+tc.id+"\n") {
				t.Errorf("stderr:\n%s\nwant %q, %q, %s", r.stderr, tc.where, tc.msg, tc.id)
			}
		})
	}
}

func TestNeedsMoreInput(t *testing.T) {
	for src, want := range map[string]bool{
		"Get-Mailbox\n":                        false,
		"Get-Mailbox `\n":                      true,
		"Get-Mailbox |\n":                      true,
		"Get-Mailbox | ? {\n":                  true,
		"$x = (\n":                             true,
		"'abc\n":                               true,
		"\"a $(Get-Mailbox\n":                  true,
		"<# comment\n":                         true,
		"@{a=1\n":                              true,
		"Get-Mailbox }\n":                      false, // an error, not more input
		"if ($x) { 'a' }\n":                    false,
		"$x -eq\n":                             true,
		"Set-Mailbox x -CustomAttribute1 a,\n": true,
	} {
		if got := needsMoreInput(src); got != want {
			t.Errorf("needsMoreInput(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestInteractive(t *testing.T) {
	in := strings.NewReader("$n = 'RIDG'\n" +
		"Get-DistributionGroup `\n" +
		"  $n | % {\n" +
		"    $_.Name\n" +
		"}\n" +
		"Foo-Bar\n" +
		"'still here'\n" +
		"exit\n" +
		"'not reached'\n")
	fb := &fakeBackend{cmdlets: testCmdlets, handle: defaultHandler}
	var stdout, stderr bytes.Buffer
	ok := New(fb, &stdout, &stderr).Interactive(context.Background(), in, &bytes.Buffer{})
	if ok || stdout.String() != "RIDG\nstill here\n" || !strings.Contains(stderr.String(), "'Foo-Bar' is not recognized") {
		t.Errorf("ok=%v stdout=%q stderr=%q", ok, stdout.String(), stderr.String())
	}
	if got := reqJSON(t, fb.requests); got != `{"cmdlet":"Get-DistributionGroup","params":{"Identity":"RIDG"}}` {
		t.Errorf("requests: %s", got)
	}
}

func TestInteractiveUnfinishedInputAtEOF(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ok := New(&fakeBackend{cmdlets: testCmdlets}, &stdout, &stderr).Interactive(context.Background(), strings.NewReader("'a'\n'unterminated"), &bytes.Buffer{})
	if ok || stdout.String() != "a\n" || !strings.Contains(stderr.String(), "The string is missing the terminator") {
		t.Errorf("ok=%v stdout=%q stderr=%q", ok, stdout.String(), stderr.String())
	}
}
