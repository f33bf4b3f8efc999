// Package interop runs unmodified third-party EWS clients against a freshly
// started `actas serve`: Python exchangelib (Debian's python3-exchangelib)
// and ews-javascript-api (npm, pinned in js/package-lock.json). Each client
// suite is a subprocess that prints one line per case:
//
//	PASS name
//	FAIL name: reason
//	SKIP name: reason
//
// and every case becomes a Go subtest. Other lines are logged. When a client
// is missing the test is skipped with the install command, unless CI=true,
// where a missing client is a failure.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	domain   = "contoso.test"
	password = "Passw0rd!2026"
	// suiteTimeout bounds one client suite; each is meant to take well under
	// two minutes.
	suiteTimeout = 4 * time.Minute
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "actas-interop")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "actas")
	build := exec.Command("go", "build", "-o", bin, "github.com/actasmail/actas/cmd/actas")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build actas:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// here is this package's directory (the suites live next to this file).
func here(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the interop package directory")
	}
	return filepath.Dir(file)
}

// lockedBuffer collects a subprocess's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a running `actas serve` with the interop fixture.
type server struct {
	t    *testing.T
	data string
	cmd  *exec.Cmd
	url  string
	log  *lockedBuffer
	env  map[string]string
}

func startServer(t *testing.T) *server {
	t.Helper()
	data := t.TempDir()
	log := &lockedBuffer{}
	cmd := exec.Command(bin, "serve", "--data", data, "--domain", domain, "--listen", "127.0.0.1:0", "--verbose")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, data: data, cmd: cmd, log: log, env: map[string]string{}}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(data, "server.json")); err == nil {
			var info struct {
				URL string `json:"url"`
			}
			if json.Unmarshal(b, &info) == nil && info.URL != "" {
				if resp, err := http.Get(info.URL + "/healthz"); err == nil {
					resp.Body.Close()
					s.url = strings.TrimRight(info.URL, "/")
					return s
				}
			}
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("actas serve did not start:\n%s", log)
	return nil
}

func (s *server) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// shell runs an `actas shell` script as the organization's administrator.
func (s *server) shell(script string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "shell", "--data", s.data)
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (s *server) ok(script string) string {
	s.t.Helper()
	out, errs, code := s.shell(script)
	if code != 0 || errs != "" && !strings.HasPrefix(errs, "WARNING") {
		s.t.Fatalf("fixture script failed (exit %d):\n%s\nstdout:\n%s\nstderr:\n%s", code, script, out, errs)
	}
	return out
}

// The fixture. svc holds ApplicationImpersonation scoped to the members of
// "Sync Users" (alice, bob). carol and the room are outside that scope.
// norole has no role at all. dave is alice's delegate: Reviewer on her
// Calendar and Inbox and send-on-behalf; erin has SendAs on bob.
var users = []struct{ alias, name string }{
	{"svc", "Service Account"},
	{"norole", "No Role"},
	{"alice", "Alice Anders"},
	{"bob", "Bob Berg"},
	{"carol", "Carol Chen"},
	{"dave", "Dave Delegate"},
	{"erin", "Erin Sender"},
}

func provision(s *server) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "$pw = ConvertTo-SecureString -String '%s' -AsPlainText -Force\n", password)
	for _, u := range users {
		fmt.Fprintf(&b, "New-Mailbox -Name %q -Alias %s -UserPrincipalName %s@%s -Password $pw\n", u.name, u.alias, u.alias, domain)
	}
	b.WriteString(`New-Mailbox -Name "Room 1" -Alias room1 -Room
New-DistributionGroup -Name "Sync Users" -Alias syncusers -Type Security -Members alice,bob
$g = (Get-DistributionGroup "Sync Users").DistinguishedName
New-ManagementScope -Name "Sync Users Scope" -RecipientRestrictionFilter "MemberOfGroup -eq '$g'"
New-ManagementRoleAssignment -Name SvcImpersonation -Role ApplicationImpersonation -User svc -CustomRecipientWriteScope "Sync Users Scope"
Set-Mailbox alice -GrantSendOnBehalfTo dave
`)
	s.ok(b.String())

	// The directory must agree with the fixture before any client runs.
	check := s.ok(`'alice','bob','carol','room1' | ForEach-Object { "SCOPE $_ $(@(Test-ApplicationImpersonation svc -Resource $_ | Where-Object { $_.InScope -eq $true }).Count)" }
'alice','bob','carol','room1' | ForEach-Object { "SID $_ $((Get-User $_).Sid)" }`)
	want := map[string]string{"alice": "1", "bob": "1", "carol": "0", "room1": "0"}
	for _, line := range strings.Split(check, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "SCOPE":
			if f[2] != want[f[1]] {
				s.t.Fatalf("fixture: svc in scope of %s: %s assignments, want %s\n%s", f[1], f[2], want[f[1]], check)
			}
		case len(f) == 3 && f[0] == "SID":
			s.env["ACTAS_SID_"+strings.ToUpper(f[1])] = f[2]
		}
	}
	for _, u := range []string{"ALICE", "BOB", "CAROL"} {
		if !strings.HasPrefix(s.env["ACTAS_SID_"+u], "S-1-") {
			s.t.Fatalf("fixture: no SID for %s:\n%s", u, check)
		}
	}

	// The delegate's folder permissions and send-as, as an administrator
	// grants them.
	s.ok(`Add-MailboxFolderPermission -Identity alice@contoso.test:\Calendar -User dave -AccessRights Reviewer
Add-MailboxFolderPermission -Identity alice@contoso.test:\Inbox -User dave -AccessRights Reviewer
Add-RecipientPermission bob -Trustee erin -AccessRights SendAs -Confirm:$false`)

	s.env["ACTAS_BASE_URL"] = s.url
	s.env["ACTAS_EWS_URL"] = s.url + "/EWS/Exchange.asmx"
	s.env["ACTAS_DOMAIN"] = domain
	s.env["ACTAS_PASSWORD"] = password
	for _, u := range users {
		s.env["ACTAS_USER_"+strings.ToUpper(u.alias)] = u.alias + "@" + domain
	}
	s.env["ACTAS_USER_ROOM"] = "room1@" + domain
	s.env["ACTAS_USER_UNKNOWN"] = "nobody@" + domain
}

var lineRE = regexp.MustCompile(`^(PASS|FAIL|SKIP) ([A-Za-z0-9_.-]+)(?:: ?(.*))?$`)

type outcome struct{ status, reason string }

// runSuite starts a server with the common fixture, runs the setup
// functions on top of it (extra shell scripts, extra environment), then the
// client suite, reporting each of its cases as a subtest.
func runSuite(t *testing.T, name string, argv []string, dir string, setup ...func(*server)) {
	s := startServer(t)
	provision(s)
	for _, fn := range setup {
		fn(s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	tmp := t.TempDir()
	env := append(os.Environ(),
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"TMPDIR="+tmp, // exchangelib keeps its autodiscover cache there
		"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1",
	)
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var order []string
	results := map[string]outcome{}
	done := false
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := lineRE.FindStringSubmatch(line); m != nil {
			if _, dup := results[m[2]]; !dup {
				order = append(order, m[2])
			}
			results[m[2]] = outcome{m[1], m[3]}
			continue
		}
		if line == "DONE" {
			done = true
			continue
		}
		t.Log(line)
	}
	werr := cmd.Wait()
	t.Logf("%s suite ran in %s", name, time.Since(start).Round(time.Millisecond))

	failed := 0
	for _, c := range order {
		r := results[c]
		if r.status == "FAIL" {
			failed++
		}
		t.Run(c, func(t *testing.T) {
			switch r.status {
			case "FAIL":
				t.Error(strings.ReplaceAll(r.reason, " | ", "\n"))
			case "SKIP":
				t.Skip(r.reason)
			}
		})
	}
	if ctx.Err() != nil {
		t.Errorf("%s suite timed out after %s", name, suiteTimeout)
	}
	if !done || werr != nil && failed == 0 {
		t.Errorf("%s suite did not finish cleanly (%v); stderr:\n%s", name, werr, tail(stderr.String(), 80))
	}
	if len(order) == 0 {
		t.Errorf("%s suite reported no cases", name)
	}
	if os.Getenv("ACTAS_INTEROP_TRACE") != "" {
		t.Logf("client stderr:\n%s", stderr.String())
		t.Logf("actas serve log:\n%s", s.log.String())
	} else if t.Failed() {
		t.Logf("client stderr (tail; set ACTAS_INTEROP_TRACE=1 for every request and response):\n%s", tail(stderr.String(), 60))
		t.Logf("actas serve log (tail):\n%s", tail(s.log.String(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// missing skips, or in CI fails, when a client is not installed.
func missing(t *testing.T, what, install string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (CI=true); install it with: %s", what, install)
	}
	t.Skipf("%s is not installed; install it with: %s", what, install)
}

// TestExchangelib runs exchangelib_suite.py with Debian's python3, which is
// where python3-exchangelib installs (a pyenv or venv python on PATH would
// not see it). ACTAS_INTEROP_PYTHON overrides the interpreter.
func TestExchangelib(t *testing.T) {
	py := os.Getenv("ACTAS_INTEROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	const install = "apt-get install -y --no-install-recommends python3-exchangelib"
	out, err := exec.Command(py, "-c", "import exchangelib; print(exchangelib.__version__)").CombinedOutput()
	if err != nil {
		missing(t, "exchangelib for "+py, install)
	}
	t.Logf("exchangelib %s (%s)", strings.TrimSpace(string(out)), py)
	dir := here(t)
	runSuite(t, "exchangelib", []string{py, filepath.Join(dir, "exchangelib_suite.py")}, dir)
}

// TestEwsJavascriptAPI runs js/ewsjs_suite.js with node and the
// ews-javascript-api that `npm ci --prefix test/interop/js` installs.
func TestEwsJavascriptAPI(t *testing.T) {
	const install = "npm ci --prefix test/interop/js"
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", "apt-get install -y nodejs npm && "+install)
	}
	dir := filepath.Join(here(t), "js")
	probe := exec.Command(node, "-e", `console.log(require("ews-javascript-api/package.json").version)`)
	probe.Dir = dir
	out, err := probe.CombinedOutput()
	if err != nil {
		missing(t, "ews-javascript-api", install)
	}
	t.Logf("ews-javascript-api %s (%s)", strings.TrimSpace(string(out)), node)
	runSuite(t, "ews-javascript-api", []string{node, filepath.Join(dir, "ewsjs_suite.js")}, dir)
}
