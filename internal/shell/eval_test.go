package shell

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/adminapi"
)

// TestExpressions checks PowerShell value semantics through what scripts print.
func TestExpressions(t *testing.T) {
	tests := []struct{ script, want string }{
		{`'a' -eq 'A'; 'a' -ne 'A'; 'abc' -like 'A*'; 'abc' -notlike '*z'; 'abc' -match 'B.$'; 'abc' -notmatch '^b'`, "True\nFalse\nTrue\nTrue\nTrue\nTrue\n"},
		{`1 -lt 2; 2 -le 2; 3 -gt 10; '3' -gt 10; 10 -ge '9'; 5 -eq '5'; 0 -eq ''`, "True\nTrue\nFalse\nTrue\nTrue\nTrue\nTrue\n"},
		{`$null -eq $x; $null -ne 'a'; 'a' -eq $null`, "True\nTrue\nFalse\n"},
		{`1,2,3,2 -eq 2; 'x','y' -ne 'x'; (1,2 -eq 5).Count`, "2\n2\ny\n0\n"},
		{`1,2,3 -contains 2; 'A','b' -contains 'a'; 'a','b' -notcontains 'c'; 'b' -in 'a','b'; 'z' -notin 'a'`, "True\nTrue\nTrue\nTrue\nTrue\n"},
		{`$true -and $false; $true -or $false; $true -xor $true; -not $true; !$false; !(1 -eq 2)`, "False\nTrue\nFalse\nFalse\nTrue\nTrue\n"},
		{`'RoomMailbox' -like 'room*' -and 5 -gt 3 -or $false`, "True\n"},
		{`'a,b;c' -split '[,;]'; 'Hello' -replace 'l', 'L'; 'abc' -replace 'b'; 'a','b' -join '+'`, "a\nb\nc\nHeLLo\nac\na+b\n"},
		{`1 + 2; 'a' + 1; 1.5 + 1; 10 - 4; -5; @(1) + 2 + @(3, 4)`, "3\na1\n2.5\n6\n-5\n1\n2\n3\n4\n"},
		{`$x = 1; $x += 2; $x; $s = 'a'; $s += 'b'; $s; $l = @(); $l += 'x'; $l += 'y'; $l.Count`, "3\nab\n2\n"},
		{`$a = @(); $a.Count; $b = $(Get-Mailbox -RecipientTypeDetails None); $null -eq $b; @(Get-Mailbox -RecipientTypeDetails UserMailbox).Count`, "0\nTrue\n1\n"},
		{`$m = Get-Mailbox; $m.Count; $m[0].Name; $m[-1].Alias; $m[5] -eq $null; $m.Name -join ','`, "3\nRoom1\nroom2\nTrue\nRoom1,Alice,Room2\n"},
		{`(Get-Mailbox Alice)[0].Name; (Get-DistributionGroup RIDG).Count; $null.Count; 'abc'.Length; 'abc'[1]`, "Room1\n1\n0\n3\nb\n"},
		{`$g = Get-DistributionGroup RIDG; $g.displayname; $g.NoSuchProperty -eq $null; "$g"; "$($g.PrimarySmtpAddress)"`, "RIDG\nTrue\nRIDG\nRIDG@contoso.com\n"},
		{`$h = @{Name = 'x'; Count = 2}; $h.name; $h['COUNT']; $h.Keys -join ','; $h.Count`, "x\n2\nName,Count\n2\n"},
		{`' Mixed '.Trim().ToUpper(); 'a-b'.Split('-')[1]; 'abc'.Contains('b'); 'abc'.StartsWith('a'); 'x'.Replace('x','y'); (5).ToString()`, "MIXED\nb\nTrue\nTrue\ny\n5\n"},
		{"if (0) { 'a' } elseif ('') { 'b' } elseif (@()) { 'c' } elseif (@(0)) { 'd' } elseif ('0') { 'e' }", "e\n"},
		{"if ($false) { 'a' }\nelse\n{ 'b' }", "b\n"},
		{`foreach ($i in 1,2,3) { "n$i" }`, "n1\nn2\nn3\n"},
		{"\"a`tb`nc `$x ``\"; \"say \"\"hi\"\"\"; 'it''s'; \"${ab}c\"; \"$(1; 2)\"", "a\tb\nc $x `\nsay \"hi\"\nit's\nc\n1 2\n"},
		{`$env:ACTAS_SHELL_TEST_VAR -eq $null; $global:x = 5; $x; ${x}; $script:x`, "True\n5\n5\n5\n"},
		{"Write-Output a b; echo c,d; Write-Output @(1,2) -NoEnumerate | Measure-Object | % Count", "a\nb\nc\nd\n1\n"},
		{"Write-Host one two -ForegroundColor Red; Write-Host -NoNewline a; Write-Host b -Separator ','; Write-Host 1,2 -Separator '-'", "one two\nab\n1-2\n"},
		{"'x' | Out-Null; Get-Mailbox | Out-Null", ""},
		{"exit\n'not reached'", ""},
	}
	t.Setenv("ACTAS_SHELL_TEST_VAR", "the process environment stays private")
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			r := runScript(t, tc.script)
			if r.stdout != tc.want || r.stderr != "" || !r.ok {
				t.Errorf("ok=%v\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", r.ok, r.stdout, tc.want, r.stderr)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct{ script, msg string }{
		{`$true = 1`, "Cannot overwrite variable true because it is read-only or constant."},
		{`$null[0]`, "Cannot index into a null array."},
		{`'abc'.Frobnicate()`, "Method invocation failed because [System.String] does not contain a method named 'Frobnicate'."},
		{`'a' -match '('`, "The regular expression pattern ( is not valid"},
		{`@{a=1; A=2}`, "Duplicate keys 'A' are not allowed in hash literals."},
		{`$true + 1`, "Cannot apply '+' to values of type [System.Boolean] and [System.Int32]."},
		{`Get-Mailbox | Select-Object -ExpandProperty Nope`, `Property "Nope" cannot be found.`},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			r := runScript(t, tc.script)
			if r.ok || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("ok=%v stderr:\n%s\nwant %q", r.ok, r.stderr, tc.msg)
			}
		})
	}
}

func notFoundHandler(req adminapi.Request) (*adminapi.Response, error) {
	if req.Cmdlet == "Get-Mailbox" {
		return &adminapi.Response{Warnings: []string{"The mailbox is hidden."}, Error: &adminapi.Error{
			Message: "The operation couldn't be performed because object 'nobody' couldn't be found on 'DC1.contoso.com'.", Category: "NotSpecified",
			Exception: "ManagementObjectNotFoundException", ErrorID: "B6B7A1A4,Microsoft.Exchange.Management.RecipientTasks.GetMailbox", Target: "nobody",
		}}, nil
	}
	return &adminapi.Response{}, nil
}

func TestErrorHandling(t *testing.T) {
	const record = "The operation couldn't be performed because object 'nobody' couldn't be found on 'DC1.contoso.com'.\n" +
		"    + CategoryInfo          : NotSpecified: (nobody:) [Get-Mailbox], ManagementObjectNotFoundException\n" +
		"    + FullyQualifiedErrorId : B6B7A1A4,Microsoft.Exchange.Management.RecipientTasks.GetMailbox,Get-Mailbox\n"
	const warning = "WARNING: The mailbox is hidden.\n"
	tests := []struct {
		name, script   string
		ok             bool
		stdout, stderr string
	}{
		{"non-terminating: the script goes on", "Get-Mailbox nobody\n'after'", false, "after\n", warning + record},
		{"ErrorAction Stop ends the script", "Get-Mailbox nobody -ErrorAction Stop\n'after'", false, "", warning + record},
		{"ErrorActionPreference Stop", "$ErrorActionPreference = 'Stop'\nGet-Mailbox nobody\n'after'", false, "", warning + record},
		{"ErrorActionPreference Stop and a binding error", "$ErrorActionPreference = 'Stop'\nGet-Mailbox -Bogus\n'after'", false, "", ""},
		{"SilentlyContinue hides and does not fail", "Get-Mailbox nobody -ErrorAction SilentlyContinue -WarningAction SilentlyContinue\n'after'", true, "after\n", ""},
		{"Ignore", "Get-Mailbox nobody -ea Ignore -wa Ignore", true, "", ""},
		{"ErrorVariable", "Get-Mailbox nobody -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction Ignore\n$err.Count; $err[0].Exception.Message", true,
			"1\nThe operation couldn't be performed because object 'nobody' couldn't be found on 'DC1.contoso.com'.\n", ""},
		{"OutVariable", "Set-Mailbox x -OutVariable out; $out.Count; 'x' | Write-Output -OutVariable o2 | Out-Null; $o2", true, "0\nx\n", ""},
		{"an error inside a block does not end the block", "foreach ($i in 1,2) { Foo-Bar; \"i=$i\" }", false, "i=1\ni=2\n", ""},
		{"exit code", "exit 3", false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := &fakeBackend{cmdlets: testCmdlets, handle: notFoundHandler}
			var stdout, stderr bytes.Buffer
			ok := New(fb, &stdout, &stderr).Run(context.Background(), tc.script)
			if ok != tc.ok || stdout.String() != tc.stdout || (tc.stderr != "" && stderr.String() != tc.stderr) {
				t.Errorf("ok=%v (want %v)\nstdout:\n%q\nwant:\n%q\nstderr:\n%s\nwant:\n%s", ok, tc.ok, stdout.String(), tc.stdout, stderr.String(), tc.stderr)
			}
		})
	}
}

func TestVariablesPersistAcrossRuns(t *testing.T) {
	var stdout bytes.Buffer
	s := New(&fakeBackend{cmdlets: testCmdlets, handle: defaultHandler}, &stdout, &bytes.Buffer{})
	if !s.Run(context.Background(), `$g = (Get-DistributionGroup RIDG).Name`) || !s.Run(context.Background(), `"group $g"`) {
		t.Fatal("Run failed")
	}
	if stdout.String() != "group RIDG\n" {
		t.Errorf("stdout %q", stdout.String())
	}
	if failed, fine := s.Run(context.Background(), `Foo-Bar`), s.Run(context.Background(), `'fine'`); failed || !fine {
		t.Error("Run must report each script's own failure")
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := New(&fakeBackend{cmdlets: testCmdlets}, &bytes.Buffer{}, &bytes.Buffer{})
	if r.Run(ctx, "'a'") {
		t.Error("a cancelled run must fail")
	}
}
