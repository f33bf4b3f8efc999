package analyzer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/rbac"
)

func TestEveryEntryIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range Table {
		k := strings.ToLower(e.Key)
		if e.Key == "" || seen[k] {
			t.Errorf("empty or duplicate key %q", e.Key)
		}
		seen[k] = true
		if strings.TrimSpace(e.Meaning) == "" || strings.TrimSpace(e.Fix) == "" || len(e.Causes) == 0 {
			t.Errorf("%s: meaning, causes and fix are all required", e.Key)
		}
		for _, c := range e.Causes {
			if strings.TrimSpace(c) == "" {
				t.Errorf("%s: empty cause", e.Key)
			}
		}
		for _, c := range e.Commands {
			for _, m := range placeholder.FindAllStringSubmatch(c, -1) {
				if !knownFields[m[2]] {
					t.Errorf("%s: command %q uses unknown field %s", e.Key, c, m[2])
				}
			}
		}
	}
}

var knownFields = map[string]bool{"ServiceAccount": true, "Mailbox": true, "Folder": true, "FolderID": true, "FolderPath": true, "Scope": true,
	"Group": true, "GroupDN": true, "Assignment": true, "ExclusiveScope": true, "Host": true, "EwsURL": true, "Domain": true}

// The codes the analyzer can be answered with, from ews-protocol.md §2
// (impersonation and delegate errors), §3 (throttling), §5
// (notifications), and pain-points.md's error table, and every HTTP status
// the analyzer classifies. Each must have its own entry.
var observable = []string{
	// impersonation
	"ErrorImpersonationDenied", "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox", "ErrorNonPrimarySmtpAddress",
	"ErrorInvalidUserPrincipalName", "ErrorInvalidSid", "ErrorInvalidUserSid", "ErrorInvalidSmtpAddress",
	"ErrorInvalidExchangeImpersonationHeaderData", "ErrorImpersonationFailed",
	// delegate access
	"ErrorAccessDenied", "ErrorFolderNotFound", "ErrorItemNotFound", "ErrorMissingEmailAddress", "ErrorNotDelegate",
	"ErrorWrongServerVersionDelegate", "ErrorSubscriptionDelegateAccessNotSupported",
	// routing and throttling
	"ErrorNoRespondingCASInDestinationSite", "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorExceededSubscriptionCount",
	"ErrorExceededFindCountLimit", "ErrorTimeoutExpired", "ErrorMailboxStoreUnavailable", "ErrorInternalServerError",
	"ErrorInternalServerTransientError",
	// notifications
	"ErrorSubscriptionNotFound", "ErrorInvalidSubscription", "ErrorInvalidSubscriptionRequest", "ErrorInvalidWatermark",
	"ErrorExpiredSubscription", "ErrorReadEventsFailed", "ErrorProxyRequestNotAllowed", "ErrorMissedNotificationEvents",
	"ErrorInvalidOperation",
	// version and schema
	"ErrorInvalidServerVersion", "ErrorIncorrectSchemaVersion", "ErrorInvalidRequest", "ErrorSchemaValidation",
	// HTTP
	"HTTP 400", "HTTP 401", "HTTP 401 Basic disabled", "HTTP 403", "HTTP 404", "HTTP 405", "HTTP 429", "HTTP 440", "HTTP 456",
	"HTTP 500", "HTTP 502", "HTTP 503", "HTTP 504", "HTTP 302 error page", "HTTP 3xx", "HTTP unexpected", "not SOAP",
	// Autodiscover POX errors
	"autodiscover-500", "autodiscover-600", "autodiscover-601", "autodiscover-error",
}

func TestObservableCodesHaveEntries(t *testing.T) {
	for _, k := range observable {
		if _, ok := Lookup(k); !ok {
			t.Errorf("no entry for %s", k)
		}
	}
	for i := 2000000; i <= 2000008; i++ {
		if _, ok := Lookup("x-ms-diagnostics " + strconv.Itoa(i)); !ok {
			t.Errorf("no entry for x-ms-diagnostics %d", i)
		}
	}
}

// Every reason rbac.Decide can deny with, which Actas puts in ActasReason,
// has an entry.
func TestEveryActasReasonHasAnEntry(t *testing.T) {
	for _, r := range []rbac.Reason{rbac.NoAssignment, rbac.AllDisabled, rbac.OutOfScope, rbac.ExclusiveScope, rbac.TargetUnknown, rbac.TargetOtherOrg} {
		if _, ok := Lookup("Actas:" + string(r)); !ok {
			t.Errorf("no entry for Actas:%s", r)
		}
	}
}

// TestEveryKeyInTheCodeHasAnEntry reads this package's source: every
// string literal the analyzer uses as a diagnosis key (the arguments of
// diag, and the values assigned to key/fb variables or returned as keys by
// httpKey and classifyErr) must have an entry. Dynamic keys (a server's
// response code, "HTTP <n>", "autodiscover-<code>") have fallbacks, tested
// below.
func TestEveryKeyInTheCodeHasAnEntry(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	keys := map[string]token.Position{}
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if v, err := strconv.Unquote(b.Value); err == nil && v != "" {
				keys[v] = fset.Position(b.Pos())
			}
		}
	}
	keyName := regexp.MustCompile(`^(key|fb|fallback)$`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "diag" && len(x.Args) >= 3 {
					lit(x.Args[1])
					lit(x.Args[2])
				}
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "diagnose" && len(x.Args) == 3 {
					lit(x.Args[0])
					lit(x.Args[2])
				}
			case *ast.AssignStmt:
				for i, l := range x.Lhs {
					name := ""
					switch lv := l.(type) {
					case *ast.Ident:
						name = lv.Name
					case *ast.SelectorExpr:
						name = lv.Sel.Name
					}
					if keyName.MatchString(name) && i < len(x.Rhs) {
						lit(x.Rhs[i])
					}
				}
			case *ast.FuncDecl:
				if x.Name.Name == "httpKey" || x.Name.Name == "classifyErr" {
					ast.Inspect(x.Body, func(m ast.Node) bool {
						if r, ok := m.(*ast.ReturnStmt); ok && len(r.Results) == 2 {
							lit(r.Results[0])
							if x.Name.Name == "httpKey" { // (key, fallback); classifyErr is (key, text)
								lit(r.Results[1])
							}
						}
						return true
					})
				}
			}
			return true
		})
	}
	if len(keys) < 30 {
		t.Fatalf("found only %d keys; the scan is broken", len(keys))
	}
	for k, pos := range keys {
		if _, ok := Lookup(k); !ok {
			t.Errorf("%s: key %q has no entry", pos, k)
		}
	}
}

func TestFallbacks(t *testing.T) {
	d := diagnose("HTTP 418", nil, "HTTP unexpected")
	if d.Key != "HTTP 418" || !strings.Contains(d.Meaning, "does not expect") {
		t.Errorf("%+v", d)
	}
	d = diagnose("ErrorSomethingNew", nil, "ews-unknown-code")
	if d.Key != "ErrorSomethingNew" || !strings.Contains(d.Meaning, "no entry") {
		t.Errorf("%+v", d)
	}
	d = diagnose("ErrorSomethingNew", nil, "")
	if !strings.Contains(d.Meaning, "no entry") {
		t.Errorf("%+v", d)
	}
}

func TestRenderCommand(t *testing.T) {
	ctx := map[string]string{"ServiceAccount": "svc@contoso.test", "Scope": "Sync Users", "Mailbox": "o'brien@contoso.test", "FolderPath": "o'brien@contoso.test:\\Sent Items", "GroupDN": "CN=O'Neil,OU=x"}
	for tmpl, want := range map[string]string{
		`New-ManagementRoleAssignment -Role ApplicationImpersonation -User {ServiceAccount} -CustomRecipientWriteScope {Scope}`: `New-ManagementRoleAssignment -Role ApplicationImpersonation -User svc@contoso.test -CustomRecipientWriteScope 'Sync Users'`,
		`New-ManagementScope -Name {Scope} -RecipientRestrictionFilter "MemberOfGroup -eq '{=GroupDN}'"`:                        `New-ManagementScope -Name 'Sync Users' -RecipientRestrictionFilter "MemberOfGroup -eq 'CN=O''Neil,OU=x'"`,
		`Add-DistributionGroupMember -Identity {Group} -Member {Mailbox}`:                                                       `Add-DistributionGroupMember -Identity <Group> -Member 'o''brien@contoso.test'`,
		`Get-MailboxFolderPermission -Identity {FolderPath}`:                                                                    `Get-MailboxFolderPermission -Identity 'o''brien@contoso.test:\Sent Items'`,
	} {
		if got := renderCommand(tmpl, ctx); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}
