// Package analyzer_test runs the connectivity analyzer (actas check)
// against a real `actas serve --tls-self-signed` on loopback, provisioned
// with `actas shell` scripts: a service account with ApplicationImpersonation
// scoped by a MemberOfGroup scope, users in and out of the group, a service
// account with no role, folder permissions for delegate access. Every path
// of the issue that this machine can produce is asserted: verdict, the step
// that failed, and its diagnosis.
//
// Most cases call analyzer.Run in process (with DNS that knows nothing, so
// no lookup leaves the machine); the command-line cases run the binary.
package analyzer_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/analyzer"
	"github.com/actasmail/actas/internal/datadir"
	"github.com/actasmail/actas/internal/ewsclient"
)

const password = "Passw0rd!2026"

var (
	bin      string
	data     string
	baseURL  string // https://127.0.0.1:port
	ewsURL   string
	adminPW  string
	roots    *x509.CertPool
	pwFile   string
	adminPWF string
)

const provision = `$pw = ConvertTo-SecureString -String '` + password + `' -AsPlainText -Force
New-Mailbox -Name "Sync Service" -Alias syncsvc -UserPrincipalName syncsvc@contoso.test -Password $pw
New-Mailbox -Name "Sales Service" -Alias salessvc -UserPrincipalName salessvc@contoso.test -Password $pw
New-Mailbox -Name "No Role" -Alias norole -UserPrincipalName norole@contoso.test -Password $pw
New-Mailbox -Name "Password Test" -Alias pwtest -UserPrincipalName pwtest@contoso.test -Password $pw
New-Mailbox -Name "Alice Adams" -Alias alice -UserPrincipalName alice@contoso.test -Password $pw
New-Mailbox -Name "Bob Brown" -Alias bob -UserPrincipalName bob@contoso.test -Password $pw
New-Mailbox -Name "Carol Cole" -Alias carol -UserPrincipalName carol@contoso.test -Password $pw
New-Mailbox -Name "Dave Delegate" -Alias dave -UserPrincipalName dave@contoso.test -Password $pw
New-Mailbox -Name "Erin Evans" -Alias erin -UserPrincipalName erin@contoso.test -Password $pw
New-Mailbox -Name "Frank Fixed" -Alias frank -UserPrincipalName frank@contoso.test -Password $pw
New-Mailbox -Name "Gina Green" -Alias gina -UserPrincipalName gina.green@contoso.test -PrimarySmtpAddress gina@contoso.test -Password $pw
New-DistributionGroup -Name SyncUsers -Members alice,erin,gina
$g = (Get-DistributionGroup SyncUsers).DistinguishedName
New-ManagementScope -Name SyncScope -RecipientRestrictionFilter "MemberOfGroup -eq '$g'"
New-ManagementRoleAssignment -Name SyncImp -Role ApplicationImpersonation -User syncsvc -CustomRecipientWriteScope SyncScope
New-ManagementScope -Name SalesScope -RecipientRestrictionFilter "(MemberOfGroup -eq '$g') -and (Department -eq 'Sales')"
New-ManagementRoleAssignment -Name SalesImp -Role ApplicationImpersonation -User salessvc -CustomRecipientWriteScope SalesScope
Set-User erin -Department Support
Add-MailboxFolderPermission -Identity alice@contoso.test:\Inbox -User dave -AccessRights Reviewer
`

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "actas-analyzer")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "actas")
	build := exec.Command("go", "build", "-o", bin, "github.com/actasmail/actas/cmd/actas")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build actas:", err)
		return 1
	}
	data = filepath.Join(dir, "data")
	out := &bytes.Buffer{}
	srv := exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0", "--domain", "contoso.test", "--tls-self-signed")
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second} //nolint:gosec // health probe of the test server
	deadline := time.Now().Add(30 * time.Second)
	for baseURL == "" && time.Now().Before(deadline) {
		if c, err := datadir.ReadConnection(data); err == nil {
			if resp, err := insecure.Get(c.URL + "/healthz"); err == nil {
				resp.Body.Close()
				baseURL = c.URL
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if baseURL == "" {
		fmt.Fprintf(os.Stderr, "actas serve did not start:\n%s", out)
		return 1
	}
	ewsURL = baseURL + "/EWS/Exchange.asmx"
	if adminPW, err = datadir.ReadSecret(filepath.Join(data, datadir.AdminPasswordFile)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pem, err := os.ReadFile(filepath.Join(data, "tls", "cert.pem"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	pwFile = filepath.Join(dir, "svc-password")
	adminPWF = filepath.Join(dir, "admin-password")
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)
	os.WriteFile(adminPWF, []byte(adminPW+"\n"), 0o600)
	if o, code := shell(provision); code != 0 {
		fmt.Fprintf(os.Stderr, "provisioning failed (exit %d):\n%s", code, o)
		return 1
	}
	return m.Run()
}

// shell runs a script as the administrator.
func shell(script string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "shell", "--data", data)
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return err.Error(), -1
	}
	return out.String(), code
}

func mustShell(t *testing.T, script string) string {
	t.Helper()
	out, code := shell(script)
	if code != 0 {
		t.Fatalf("script failed (exit %d):\n%s\n%s", code, script, out)
	}
	return out
}

// noDNS answers "no such host" for every name: nothing leaves loopback.
type noDNS struct{}

func (noDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (noDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return "", nil, &net.DNSError{Err: "no such host", Name: "_" + service + "._" + proto + "." + name, IsNotFound: true}
}

// cfg is a test as svc against mailbox through the EWS URL, trusting the
// server's self-signed certificate explicitly.
func cfg(svc, mailbox string) analyzer.Config {
	return analyzer.Config{ServiceAccount: svc, Password: password, Mailbox: mailbox, EwsURL: ewsURL, Impersonation: true,
		RootCAs: roots, Resolver: noDNS{}, Timeout: 20 * time.Second}
}

func withAdmin(c analyzer.Config) analyzer.Config {
	c.AdminUser, c.AdminPassword = "admin@contoso.test", adminPW
	return c
}

func text(rep *analyzer.Report) string {
	var b strings.Builder
	rep.WriteText(&b)
	return b.String()
}

func expect(t *testing.T, rep *analyzer.Report, prefix string, st analyzer.Status, key string) *analyzer.Step {
	t.Helper()
	s := rep.Find(prefix)
	if s == nil {
		t.Fatalf("no step %q:\n%s", prefix, text(rep))
	}
	got := ""
	if s.Diagnosis != nil {
		got = s.Diagnosis.Key
	}
	if s.Status != st || got != key {
		t.Fatalf("step %q: %s %q, want %s %q\n%s", s.Name, s.Status, got, st, key, text(rep))
	}
	return s
}

func verdict(t *testing.T, rep *analyzer.Report, passed bool) {
	t.Helper()
	if rep.Passed != passed {
		t.Fatalf("passed %v, want %v\n%s", rep.Passed, passed, text(rep))
	}
}

func has(t *testing.T, s *analyzer.Step, want ...string) {
	t.Helper()
	all := strings.Join(s.Detail, "\n")
	if s.Diagnosis != nil {
		all += "\n" + s.Diagnosis.Confirmed + "\n" + strings.Join(s.Diagnosis.Commands, "\n")
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("step %q lacks %q:\n%s", s.Name, w, all)
		}
	}
}

// notifications accepts both states of Actas: pull notifications not yet
// implemented (a warning that says so) or working.
func notifications(t *testing.T, rep *analyzer.Report) {
	t.Helper()
	n := rep.Find("Pull notifications")
	switch {
	case n == nil:
		t.Fatalf("no notifications step:\n%s", text(rep))
	case n.Status == analyzer.Pass:
	case n.Status == analyzer.Warn && n.Diagnosis != nil && n.Diagnosis.Key == "notifications-unsupported":
		has(t, n, "server does not support pull notifications (ErrorInvalidOperation")
	default:
		t.Fatalf("notifications: %s\n%s", n.Status, text(rep))
	}
}

func userProp(t *testing.T, who, prop string) string {
	out := mustShell(t, fmt.Sprintf("(Get-User %s).%s", who, prop))
	return strings.TrimSpace(out)
}

func TestPassWithEachIdentifierType(t *testing.T) {
	sid := userProp(t, "alice", "Sid")
	if !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Fatalf("Get-User Sid: %q", sid)
	}
	for _, tc := range []struct {
		name   string
		typ    ewsclient.IDType
		id     string
		admin  bool
		lookup string
	}{
		{"SmtpAddress", ewsclient.SmtpAddress, "", false, ""},
		{"PrimarySmtpAddress", ewsclient.PrimarySmtpAddress, "", false, ""},
		{"PrincipalName", ewsclient.PrincipalName, "", false, "assuming the user principal name is the address"},
		{"SID given", ewsclient.SID, sid, false, ""},
		{"SID looked up", ewsclient.SID, "", true, "Get-User alice@contoso.test (as admin@contoso.test): Sid " + sid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg("syncsvc@contoso.test", "alice@contoso.test")
			c.IDType, c.ID = tc.typ, tc.id
			if tc.admin {
				c = withAdmin(c)
			}
			rep := analyzer.Run(context.Background(), c)
			verdict(t, rep, true)
			expect(t, rep, "TLS certificate", analyzer.Pass, "")
			has(t, expect(t, rep, "GetFolder inbox", analyzer.Pass, ""), `folder "Inbox"`)
			expect(t, rep, "FindItem in inbox", analyzer.Pass, "")
			expect(t, rep, "GetFolder without X-AnchorMailbox", analyzer.Pass, "")
			notifications(t, rep)
			has(t, expect(t, rep, "Explain", analyzer.Pass, ""), `through role assignment "SyncImp" (management scope "SyncScope")`)
			has(t, expect(t, rep, `Assignment "SyncImp"`, analyzer.Pass, ""), "admits alice@contoso.test")
			if tc.lookup != "" {
				has(t, rep.Find("Identifier"), tc.lookup)
			}
			if !rep.Server.Actas {
				t.Error("Actas not detected")
			}
		})
	}
	// A UPN that differs from the address: assumed wrong without an
	// administrator (with the diagnosis), looked up with one.
	c := cfg("syncsvc@contoso.test", "gina@contoso.test")
	c.IDType = ewsclient.PrincipalName
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	has(t, expect(t, rep, "GetFolder inbox", analyzer.Fail, "ErrorInvalidUserPrincipalName"), "Get-User -Identity gina@contoso.test | Format-List UserPrincipalName")
	rep = analyzer.Run(context.Background(), withAdmin(c))
	verdict(t, rep, true)
	has(t, rep.Find("Identifier"), "UserPrincipalName gina.green@contoso.test")
}

func TestNoRole(t *testing.T) {
	rep := analyzer.Run(context.Background(), cfg("norole@contoso.test", "alice@contoso.test"))
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", analyzer.Fail, "Actas:NoApplicationImpersonationAssignment")
	if g.ResponseCode != "ErrorImpersonationDenied" || g.HTTPStatus != 500 {
		t.Errorf("%s HTTP %d", g.ResponseCode, g.HTTPStatus)
	}
	has(t, g, "New-ManagementRoleAssignment -Role ApplicationImpersonation -User norole@contoso.test -CustomRecipientWriteScope <Scope>")
	has(t, expect(t, rep, "Explain", analyzer.Fail, ""), `The account "No Role" has no ApplicationImpersonation role assignment`)
	if rep.Summary != "FAILED at GetFolder inbox: ErrorImpersonationDenied" {
		t.Errorf("summary %q", rep.Summary)
	}
}

// Out of scope, explained as the service account itself, then as an
// administrator (with the clause), then fixed with the command the report
// gives, after which the test passes.
func TestOutOfScopeExplainedAndFixed(t *testing.T) {
	rep := analyzer.Run(context.Background(), cfg("syncsvc@contoso.test", "carol@contoso.test"))
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", analyzer.Fail, "Actas:OutsideWriteScope")
	if g.ResponseCode != "ErrorImpersonateUserDenied" {
		t.Errorf("code %s", g.ResponseCode)
	}
	fix := "Add-DistributionGroupMember -Identity SyncUsers -Member carol@contoso.test"
	has(t, g, fix)
	e := expect(t, rep, "Explain", analyzer.Fail, "")
	has(t, e, "(as syncsvc@contoso.test)", `"Carol Cole" is outside the write scope`)
	has(t, expect(t, rep, `Assignment "SyncImp"`, analyzer.Fail, ""), "excludes carol@contoso.test", "filter: MemberOfGroup -eq 'CN=SyncUsers,")

	rep = analyzer.Run(context.Background(), withAdmin(cfg("syncsvc@contoso.test", "carol@contoso.test")))
	a := expect(t, rep, `Assignment "SyncImp"`, analyzer.Fail, "")
	has(t, a, "clause MemberOfGroup -eq 'CN=SyncUsers,", ": false", "excluded by: MemberOfGroup -eq 'CN=SyncUsers,")
	has(t, rep.Find("GetFolder inbox"), "Excluded by the clause MemberOfGroup -eq 'CN=SyncUsers,")

	mustShell(t, fix)
	rep = analyzer.Run(context.Background(), cfg("syncsvc@contoso.test", "carol@contoso.test"))
	verdict(t, rep, true)
	expect(t, rep, "GetFolder inbox", analyzer.Pass, "")
}

// A two-clause scope: the mailbox is in the group but another clause
// excludes it, and the report names that clause.
func TestOutOfScopeByAnotherClause(t *testing.T) {
	rep := analyzer.Run(context.Background(), withAdmin(cfg("salessvc@contoso.test", "erin@contoso.test")))
	verdict(t, rep, false)
	expect(t, rep, "GetFolder inbox", analyzer.Fail, "Actas:OutsideWriteScope")
	a := expect(t, rep, `Assignment "SalesImp"`, analyzer.Fail, "")
	has(t, a, "clause MemberOfGroup -eq 'CN=SyncUsers,", "clause Department -eq 'Sales': false", "excluded by: Department -eq 'Sales'")
	for _, d := range a.Detail {
		if strings.HasPrefix(strings.TrimSpace(d), "clause MemberOfGroup") && !strings.HasSuffix(d, ": true") {
			t.Errorf("the group clause should hold: %s", d)
		}
		if strings.HasPrefix(d, "excluded by:") && strings.Contains(d, "MemberOfGroup") {
			t.Errorf("the group clause did not exclude: %s", d)
		}
	}
}

func TestUnknownMailbox(t *testing.T) {
	rep := analyzer.Run(context.Background(), withAdmin(cfg("syncsvc@contoso.test", "nobody@contoso.test")))
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", analyzer.Fail, "Actas:TargetUnknown")
	if g.ResponseCode != "ErrorNonExistentMailbox" {
		t.Errorf("code %s", g.ResponseCode)
	}
	has(t, g, "Couldn't find object \"nobody@contoso.test\"")
	expect(t, rep, "Explain", analyzer.Fail, "")
}

func TestWrongPassword(t *testing.T) {
	c := cfg("pwtest@contoso.test", "alice@contoso.test")
	c.Password = "not the password"
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", analyzer.Pass, "")
	a := expect(t, rep, "Authenticate as pwtest@contoso.test", analyzer.Fail, "HTTP 401")
	has(t, a, `WWW-Authenticate: Basic realm="Actas"`, "Set-Mailbox -Identity pwtest@contoso.test -Password")
	expect(t, rep, "Access to", analyzer.Skip, "")
}

func TestWrongEWSURL(t *testing.T) {
	c := cfg("syncsvc@contoso.test", "alice@contoso.test")
	c.EwsURL = baseURL + "/EWS/Exchnge.asmx"
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", analyzer.Fail, "HTTP 404")

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	c.EwsURL = "https://" + closed + "/EWS/Exchange.asmx"
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "TCP connection", analyzer.Fail, "tcp-refused")

	c.EwsURL = strings.Replace(ewsURL, "https://", "http://", 1)
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", analyzer.Fail, "tls-expected")
}

func TestSelfSignedCertificate(t *testing.T) {
	c := cfg("syncsvc@contoso.test", "alice@contoso.test")
	c.RootCAs = nil // system roots: the self-signed certificate is not trusted
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	has(t, expect(t, rep, "TLS certificate", analyzer.Fail, "tls-self-signed"), "O=Actas self-signed")
	expect(t, rep, "EWS endpoint and authentication", analyzer.Skip, "")

	c.Insecure = true
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, true)
	has(t, expect(t, rep, "TLS certificate", analyzer.Warn, "tls-self-signed"), "ignored because of --insecure")
	expect(t, rep, "GetFolder inbox", analyzer.Pass, "")
}

func TestDelegateAccess(t *testing.T) {
	c := cfg("dave@contoso.test", "alice@contoso.test")
	c.Impersonation = false
	rep := analyzer.Run(context.Background(), withAdmin(c))
	verdict(t, rep, true)
	has(t, expect(t, rep, "GetFolder inbox", analyzer.Pass, ""), "with Mailbox alice@contoso.test, no impersonation")
	expect(t, rep, "FindItem in inbox", analyzer.Pass, "")
	has(t, expect(t, rep, "Explain", analyzer.Pass, ""), "Dave Delegate: Reviewer", "holds Reviewer on the folder")

	c = cfg("frank@contoso.test", "alice@contoso.test")
	c.Impersonation = false
	rep = analyzer.Run(context.Background(), withAdmin(c))
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", analyzer.Fail, "ErrorAccessDenied")
	fix := `Add-MailboxFolderPermission -Identity 'alice@contoso.test:\Inbox' -User frank@contoso.test -AccessRights Reviewer`
	has(t, g, fix, `frank@contoso.test has no permission entry on alice@contoso.test:\Inbox`)
	expect(t, rep, "Explain", analyzer.Fail, "")

	mustShell(t, fix)
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, true)
	expect(t, rep, "GetFolder inbox", analyzer.Pass, "")
	mustContain := rep.Find("Explain")
	has(t, mustContain, "explaining delegate access reads Get-MailboxFolderPermission, which needs --admin-user")
}

// Autodiscover through the documented candidates: the root domain and the
// autodiscover host are unreachable, the HTTP redirect method points at
// Actas's POX endpoint. Skipped until Actas serves Autodiscover.
func TestAutodiscoverRedirect(t *testing.T) {
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 10 * time.Second}
	resp, err := probe.Post(baseURL+"/autodiscover/autodiscover.xml", "text/xml", strings.NewReader("<x/>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("this Actas build does not serve /autodiscover/autodiscover.xml yet")
	}
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "autodiscover.contoso.test" || r.Method != http.MethodGet {
			t.Errorf("redirect server got %s %s%s", r.Method, r.Host, r.URL.Path)
		}
		http.Redirect(w, r, baseURL+"/autodiscover/autodiscover.xml", http.StatusFound)
	}))
	defer redirect.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()

	c := cfg("syncsvc@contoso.test", "alice@contoso.test")
	c.EwsURL = ""
	c.Resolve = map[string]string{
		"contoso.test:443":              closed,
		"autodiscover.contoso.test:443": closed,
		"autodiscover.contoso.test:80":  redirect.Listener.Addr().String(),
	}
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, true)
	d := expect(t, rep, "Autodiscover for alice@contoso.test", analyzer.Warn, "")
	has(t, d, "EWS URL: "+ewsURL)
	expect(t, rep, "root domain: POST https://contoso.test/autodiscover/autodiscover.xml", analyzer.Warn, "")
	expect(t, rep, "autodiscover host: POST https://autodiscover.contoso.test/autodiscover/autodiscover.xml", analyzer.Warn, "")
	has(t, expect(t, rep, "HTTP redirect: GET http://autodiscover.contoso.test/autodiscover/autodiscover.xml", analyzer.Pass, ""), "redirected to "+baseURL)
	has(t, expect(t, rep, "redirect: POST "+baseURL+"/autodiscover/autodiscover.xml", analyzer.Pass, ""), "EwsUrl "+ewsURL)
	expect(t, rep, "GetFolder inbox", analyzer.Pass, "")
	if rep.Server.EwsURL != ewsURL {
		t.Errorf("EWS URL %q", rep.Server.EwsURL)
	}

	// An unknown mailbox: Actas's Autodiscover says so (POX error 500).
	c.Mailbox = "nobody@contoso.test"
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "redirect: POST "+baseURL+"/autodiscover/autodiscover.xml", analyzer.Fail, "autodiscover-500")
	expect(t, rep, "Autodiscover for nobody@contoso.test", analyzer.Fail, "autodiscover-failed")
}

func TestSample(t *testing.T) {
	c := withAdmin(cfg("syncsvc@contoso.test", ""))
	c.Sample = 50
	rep := analyzer.Run(context.Background(), c)
	verdict(t, rep, true)
	has(t, expect(t, rep, "Sample: syncsvc@contoso.test against 50 mailboxes", analyzer.Pass, ""), "0 disagreements between RBAC and EWS")
	if rep.Sample == nil || rep.Sample.Total < 12 || len(rep.Sample.Rows) != rep.Sample.Total {
		t.Fatalf("sample %+v", rep.Sample)
	}
	want := map[string]string{"alice@contoso.test": "allowed", "erin@contoso.test": "allowed", "gina@contoso.test": "allowed",
		"bob@contoso.test": "denied", "dave@contoso.test": "denied", "norole@contoso.test": "denied"}
	for _, row := range rep.Sample.Rows {
		if w, ok := want[row.Mailbox]; ok {
			if row.RBAC != w || row.EWS != w || row.Mismatch {
				t.Errorf("%s: rbac %s ews %s, want %s", row.Mailbox, row.RBAC, row.EWS, w)
			}
			if w == "allowed" && (row.Assignment != "SyncImp" || row.Scope != "SyncScope") {
				t.Errorf("%s: %+v", row.Mailbox, row)
			}
			if w == "denied" && (row.ResponseCode != "ErrorImpersonateUserDenied" || !strings.Contains(row.Reason, "does not match the filter of management scope \"SyncScope\"")) {
				t.Errorf("%s: %+v", row.Mailbox, row)
			}
			delete(want, row.Mailbox)
		}
	}
	if len(want) > 0 {
		t.Errorf("not sampled: %v", want)
	}
	// Without an administrator the sample cannot list mailboxes.
	c = cfg("syncsvc@contoso.test", "")
	c.Sample = 3
	rep = analyzer.Run(context.Background(), c)
	verdict(t, rep, false)
	expect(t, rep, "Sample:", analyzer.Fail, "sample-unavailable")
}

// --- the command line ---

func check(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"check"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCommandLine(t *testing.T) {
	ca := filepath.Join(data, "tls", "cert.pem")
	base := []string{"--ews-url", ewsURL, "--service-account", "syncsvc@contoso.test", "--password-file", pwFile}

	out, _, code := check(t, append(base, "--mailbox", "alice@contoso.test", "--ca-file", ca)...)
	if code != 0 || !strings.Contains(out, "[PASS] GetFolder inbox") || !strings.Contains(out, "Result: PASSED") {
		t.Errorf("pass: exit %d\n%s", code, out)
	}
	out, _, code = check(t, append(base, "--mailbox", "bob@contoso.test", "--insecure", "--admin-user", "admin@contoso.test", "--admin-password-file", adminPWF)...)
	for _, want := range []string{
		"[WARN] TLS certificate", "ignored because of --insecure",
		"[FAIL] GetFolder inbox",
		"Response: HTTP 500, ErrorImpersonateUserDenied: The account does not have permission to impersonate the requested user.",
		"ActasReason: OutsideWriteScope",
		"Likely causes, in the order to check them:",
		"PS> Add-DistributionGroupMember -Identity SyncUsers -Member bob@contoso.test",
		"excluded by: MemberOfGroup -eq 'CN=SyncUsers,",
		"Result: FAILED at GetFolder inbox: ErrorImpersonateUserDenied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("out of scope: lacks %q", want)
		}
	}
	if code != 1 {
		t.Errorf("out of scope: exit %d", code)
	}
	if testing.Verbose() {
		t.Logf("out-of-scope report:\n%s", out)
	}

	// JSON, delegate mode, password from the environment.
	os.Setenv("ACTAS_TEST_PW", password)
	defer os.Unsetenv("ACTAS_TEST_PW")
	out, _, code = check(t, "--ews-url", ewsURL, "--service-account", "dave@contoso.test", "--password-env", "ACTAS_TEST_PW",
		"--mailbox", "alice@contoso.test", "--no-impersonation", "--ca-file", ca, "--json")
	var doc struct {
		Verdict string `json:"verdict"`
		Passed  bool   `json:"passed"`
		Input   struct{ Mode string }
		Server  struct {
			Actas   bool
			Version string
		}
		Steps []json.RawMessage `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || !doc.Passed || doc.Input.Mode != "delegate" || !doc.Server.Actas || len(doc.Steps) < 5 {
		t.Errorf("json: exit %d err %v\n%s", code, err, out)
	}

	// The self-signed certificate without --insecure or --ca-file fails.
	out, _, code = check(t, append(base, "--mailbox", "alice@contoso.test")...)
	if code != 1 || !strings.Contains(out, "[FAIL] TLS certificate") || !strings.Contains(out, "self-signed") {
		t.Errorf("self-signed: exit %d\n%s", code, out)
	}

	// Usage errors: exit 2.
	for _, args := range [][]string{
		{"--service-account", "x"},
		append(base, "--mailbox", "a@contoso.test", "--id-type", "Upn"),
		append(base, "--mailbox", "a@contoso.test", "--folder", "nosuchfolder"),
		append(base, "--mailbox", "a@contoso.test", "--impersonation", "--no-impersonation"),
		append(base, "--mailbox", "a@contoso.test", "--resolve", "host:443"),
	} {
		_, errOut, code := check(t, args...)
		if code != 2 || !strings.HasPrefix(errOut, "actas: ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	_ = io.Discard
}
