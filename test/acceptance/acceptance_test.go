// Package acceptance drives the real actas binary: it starts `actas serve`
// on fresh data directories and pastes the seed guides' commands into
// `actas shell`, asserting the authorization outcomes Exchange would give.
package acceptance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "actas-acceptance")
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

// server is a running `actas serve`.
type server struct {
	t    *testing.T
	data string
	cmd  *exec.Cmd
	url  string
	out  *bytes.Buffer
}

func startServer(t *testing.T, data string, args ...string) *server {
	t.Helper()
	os.Remove(filepath.Join(data, "server.json"))
	out := &bytes.Buffer{}
	cmd := exec.Command(bin, append([]string{"serve", "--data", data, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, data: data, cmd: cmd, out: out}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(data, "server.json")); err == nil {
			var url string
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, `"url"`) {
					url = strings.Trim(strings.TrimSpace(strings.SplitN(line, ":", 2)[1]), `",`)
				}
			}
			if resp, err := http.Get(url + "/healthz"); err == nil {
				resp.Body.Close()
				s.url = url
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start:\n%s", out)
	return nil
}

func (s *server) stop() {
	if s.cmd.ProcessState == nil {
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
}

func (s *server) kill9() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

type result struct {
	stdout, stderr string
	code           int
}

// shell runs a script as the data directory's administrator, or with extra
// connection flags.
func (s *server) shell(script string, flags ...string) result {
	s.t.Helper()
	args := append([]string{"shell"}, flags...)
	if len(flags) == 0 {
		args = append(args, "--data", s.data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs a script that must succeed and returns its output.
func (s *server) ok(script string) string {
	s.t.Helper()
	r := s.shell(script)
	if r.code != 0 || r.stderr != "" && !strings.HasPrefix(r.stderr, "WARNING") {
		s.t.Fatalf("script failed (exit %d):\n%s\nstdout:\n%s\nstderr:\n%s", r.code, script, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a script that must fail with an error containing want.
func (s *server) fails(script, want string, flags ...string) {
	s.t.Helper()
	r := s.shell(script, flags...)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		s.t.Fatalf("script %q: want exit 1 and an error containing %q; got exit %d\nstdout:\n%s\nstderr:\n%s", script, want, r.code, r.stdout, r.stderr)
	}
}

// inScope asks Test-ApplicationImpersonation whether account may act as mailbox.
func (s *server) inScope(account, mailbox string) string {
	s.t.Helper()
	out := s.ok(fmt.Sprintf("(Test-ApplicationImpersonation '%s' -Resource '%s' | Where-Object { $_.InScope -eq $true } | Measure-Object).Count", account, mailbox))
	if strings.TrimSpace(out) != "0" {
		return "True"
	}
	return "False"
}

func (s *server) expectScope(account, mailbox, want string) {
	s.t.Helper()
	if got := s.inScope(account, mailbox); got != want {
		detail := s.ok(fmt.Sprintf("Test-ApplicationImpersonation '%s' -Resource '%s' | Format-List", account, mailbox))
		s.t.Fatalf("%s acting as %s: InScope %s, want %s\n%s", account, mailbox, got, want, detail)
	}
}

// seedLines returns the lines of a seed guide that start with one of the
// prefixes, exactly as written there.
func seedLines(t *testing.T, file string, prefixes ...string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "shared", "seeds", file))
	if err != nil {
		t.Skipf("seed guides not available: %v", err)
	}
	defer f.Close()
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) && !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no lines starting with %v in %s", prefixes, file)
	}
	return out
}

const pw = `(ConvertTo-SecureString -String 'Passw0rd!2026' -AsPlainText -Force)`

// TestSeed000 pastes the iOFFICE guide: a room-scoped service account, then
// the role-group route with a role group named ApplicationImpersonation.
func TestSeed000(t *testing.T) {
	s := startServer(t, t.TempDir(), "--domain", "contoso.test")
	s.ok(`New-Mailbox -Name "iOFFICE Service" -Alias iofficesvc -UserPrincipalName iofficesvc@contoso.test -Password ` + pw + `
New-Mailbox -Name "Room 101" -Alias room101 -Room
New-Mailbox -Name "Projector" -Alias projector -Equipment
New-Mailbox -Name "Jane Doe" -Alias jane -UserPrincipalName jane@contoso.test -Password ` + pw)

	var script []string
	for _, l := range seedLines(t, "000_b35233de82fe877e.txt", "New-ManagementScope", "New-ManagementRoleAssignment") {
		// The admin puts the service account's name in place of the placeholder.
		script = append(script, strings.ReplaceAll(l, "YOURSERVICEACCOUNTUSERNAMEHERE", "iofficesvc"))
	}
	if !strings.Contains(strings.Join(script, "\n"), "–Role") {
		t.Fatal("the seed's en dashes are gone: the test would not prove they work")
	}
	s.ok(strings.Join(script, "\n"))

	s.expectScope("iofficesvc", "room101", "True")
	s.expectScope("iofficesvc", "jane@contoso.test", "False")
	s.expectScope("iofficesvc", "projector", "False")
	if out := s.ok(`Get-ManagementRoleAssignment ResourceImpersonation | Format-List Role,RoleAssigneeName,CustomRecipientWriteScope,RecipientWriteScope`); !strings.Contains(out, "ResourceMailboxes") || !strings.Contains(out, "CustomRecipientScope") {
		t.Fatalf("assignment not as the guide made it:\n%s", out)
	}

	// The Exchange admin center route: a role group named ApplicationImpersonation
	// with the role and the service account; no scope covers everyone.
	s.ok(`New-Mailbox -Name "Sync Service" -Alias syncsvc -UserPrincipalName syncsvc@contoso.test -Password ` + pw + `
New-RoleGroup -Name ApplicationImpersonation -Roles ApplicationImpersonation -Members syncsvc`)
	s.expectScope("syncsvc", "jane", "True")
	s.expectScope("syncsvc", "room101", "True")

	// An exclusive scope over a VIP keeps her out, even from the org-wide grant.
	s.ok(`New-Mailbox -Name "Vera Important" -Alias vip -UserPrincipalName vip@contoso.test -Password ` + pw + `
Set-User vip -Title CEO
New-ManagementScope -Name "VIP" -RecipientRestrictionFilter "Title -eq 'CEO'" -Exclusive -Force`)
	s.expectScope("syncsvc", "vip", "False")
	s.expectScope("syncsvc", "jane", "True")
	if out := s.ok(`Test-ApplicationImpersonation syncsvc -Resource vip | Format-List Reason`); !strings.Contains(out, "exclusive scope") {
		t.Fatalf("the VIP denial does not name the exclusive scope:\n%s", out)
	}
	// Disabling the assignment takes effect at once.
	s.ok(`Set-ManagementRoleAssignment "ApplicationImpersonation-ApplicationImpersonation" -Enabled $false`)
	s.expectScope("syncsvc", "jane", "False")
}

// TestSeed002 pastes the Revenue Inbox guide, case A (distribution group RIDG)
// and case B (mail-enabled security group RISG), each in a fresh directory.
func TestSeed002(t *testing.T) {
	connect := seedLines(t, "002_3f4f548072bb920b.txt", "Import-Module ExchangeOnlineManagement", "Connect-ExchangeOnline -UserPrincipalName na")
	scopeLine := seedLines(t, "002_3f4f548072bb920b.txt", "New-ManagementScope")
	for _, tc := range []struct {
		name, group, create, idLine string
	}{
		{"A distribution group", "RIDG", `New-DistributionGroup -Name RIDG -ManagedBy MasterImpersonation -MemberJoinRestriction Closed -Members alice`, "$groupidentity = $(Get-DistributionGroup RIDG).DistinguishedName"},
		{"B security group", "RISG", `New-DistributionGroup -Name RISG -Type Security -ManagedBy MasterImpersonation -Members alice`, "$groupidentity = $(Get-Group RISG).DistinguishedName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idLine := seedLines(t, "002_3f4f548072bb920b.txt", tc.idLine)
			s := startServer(t, t.TempDir(), "--domain", "contoso.test")
			// Stage I (admin center): the service account, users and the group.
			s.ok(`New-Mailbox -Name MasterImpersonation -DisplayName MasterImpersonation -FirstName RI -LastName Master -UserPrincipalName MasterImpersonation@contoso.test -Password ` + pw + `
New-Mailbox -Name "Alice Adams" -Alias alice -UserPrincipalName alice@contoso.test -Password ` + pw + `
New-Mailbox -Name "Bob Brown" -Alias bob -UserPrincipalName bob@contoso.test -Password ` + pw + `
` + tc.create)
			// Stage I step 3, verbatim, then the role group of step 3.3-3.7.
			script := append(append(append([]string{}, connect...), idLine...), scopeLine...)
			script = append(script, `New-RoleGroup -Name RIappImpersonation -Roles ApplicationImpersonation -CustomRecipientWriteScope RIusersScope -Members MasterImpersonation`)
			s.ok(strings.Join(script, "\n"))
			if out := s.ok(`(Get-ManagementScope RIusersScope).RecipientFilter`); !strings.Contains(out, "MemberOfGroup -eq 'CN="+tc.group+",") {
				t.Fatalf("the scope filter did not get the group's DN: %s", out)
			}
			s.expectScope("MasterImpersonation", "alice", "True")
			s.expectScope("MasterImpersonation", "bob", "False")

			// The admin is not an owner: the manager check applies unless bypassed.
			s.fails(`Add-DistributionGroupMember -Identity `+tc.group+` -Member bob`, "can only be performed by a manager of the group")
			s.expectScope("MasterImpersonation", "bob", "False")
			s.ok(`Add-DistributionGroupMember -Identity ` + tc.group + ` -Member bob -BypassSecurityGroupManagerCheck`)
			s.expectScope("MasterImpersonation", "bob", "True")
			s.ok(`Remove-DistributionGroupMember -Identity ` + tc.group + ` -Member bob -BypassSecurityGroupManagerCheck -Confirm:$false`)
			s.expectScope("MasterImpersonation", "bob", "False")

			// The scope is in use: it can't be removed.
			s.fails(`Remove-ManagementScope RIusersScope -Confirm:$false`, "used by role assignment")
		})
	}
}

// TestBadInput checks that bad input gives an EMS-style error, exit status 1,
// and changes nothing.
func TestBadInput(t *testing.T) {
	s := startServer(t, t.TempDir(), "--domain", "contoso.test")
	s.ok(`New-Mailbox -Name "Jane Doe" -Alias jane -UserPrincipalName jane@contoso.test -Password ` + pw + `
New-Mailbox -Name "jdoe" -Alias jd1 -UserPrincipalName jd1@contoso.test -Password ` + pw + `
New-Mailbox -Name "John Doe" -Alias jdoe -UserPrincipalName jd2@contoso.test -Password ` + pw + `
New-Mailbox -Name "Room 101" -Alias room101 -Room`)
	before := s.ok(`Get-Recipient | Measure-Object | Select-Object -ExpandProperty Count; Get-ManagementScope | Measure-Object | Select-Object -ExpandProperty Count; Get-ManagementRoleAssignment | Measure-Object | Select-Object -ExpandProperty Count`)

	for _, tc := range []struct{ script, want string }{
		{`New-ManagementScope -Name Bad1 -RecipientRestrictionFilter "RecipientTypeDetails -eq"`, "Invalid filter syntax"},
		{`New-ManagementScope -Name Bad2 -RecipientRestrictionFilter "(Department -eq 'x'"`, "at position"},
		{`New-ManagementScope -Name Bad3 -RecipientRestrictionFilter "Shoesize -eq 42"`, `"Shoesize" is not a recognized filterable property`},
		{`New-ManagementScope -Name Bad4 -RecipientRestrictionFilter "RecipientTypeDetails -eq 'Spaceship'"`, "Spaceship"},
		{`Get-Mailbox -Filter "Department -eq 'Sales'"`, `"Department" is not a recognized filterable property`},
		{`Get-Mailbox nosuchuser`, "couldn't be found"},
		{`Get-Mailbox jdoe`, "matches multiple entries"},
		{`New-ManagementRoleAssignment -Name X -Role ApplicationImpersonation -User nosuchuser`, `Couldn't find object "nosuchuser"`},
		{`New-ManagementRoleAssignment -Name X -Role NoSuchRole -User jane`, "NoSuchRole"},
		{`New-Mailbox -Name "Room 101" -Room`, "is already being used"},
		{`New-Mailbox -Name "Other" -Alias other -PrimarySmtpAddress jane@contoso.test -Room`, "jane@contoso.test"},
		{`New-ManagementRoleAssignment -Role ApplicationImpersonation -User jane -CustomRecipientWriteScope NoSuchScope`, `Couldn't find object "NoSuchScope"`},
		{`Set-Mailbox nosuchuser -CustomAttribute1 x`, "couldn't be found"},
		{`Get-Mailbox -NoSuchParameter x`, "A parameter cannot be found that matches parameter name 'NoSuchParameter'"},
		{`Get-Frobnicator`, "is not recognized as the name of a cmdlet"},
		{`New-RoleGroup -Name "Half Made" -Roles ApplicationImpersonation,NoSuchRole -Members jane`, "NoSuchRole"},
	} {
		s.fails(tc.script, tc.want)
	}
	s.fails(`Get-RoleGroup "Half Made"`, "couldn't be found")
	if after := s.ok(`Get-Recipient | Measure-Object | Select-Object -ExpandProperty Count; Get-ManagementScope | Measure-Object | Select-Object -ExpandProperty Count; Get-ManagementRoleAssignment | Measure-Object | Select-Object -ExpandProperty Count`); after != before {
		t.Fatalf("failed commands changed the directory: before\n%s\nafter\n%s", before, after)
	}

	// A user without a role gets the EMS error, not a result.
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("Passw0rd!2026\n"), 0o600)
	as := []string{"--server", s.url, "--user", "jane@contoso.test", "--password-file", pwFile}
	s.fails(`New-ManagementScope -Name Sneaky -RecipientRestrictionFilter "Name -eq 'x'"`, "is not recognized as the name of a cmdlet", as...)
	s.fails(`New-ManagementRoleAssignment -Role ApplicationImpersonation -User jane`, "is not recognized", as...)
	s.fails(`Get-ManagementScope Sneaky`, "couldn't be found")
	// But a service account may test itself.
	if r := s.shell(`Test-ApplicationImpersonation jane -Resource room101 | Format-List InScope`, as...); r.code != 0 || !strings.Contains(r.stdout, "False") {
		t.Fatalf("self test: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Wrong password: a clear error, exit 1.
	os.WriteFile(pwFile, []byte("wrong\n"), 0o600)
	s.fails(`Get-Mailbox`, "Access is denied", as...)
}

// TestOrganizationsAndRestart checks tenant isolation, persistence across a
// restart, and that kill -9 never leaves half an object.
func TestOrganizationsAndRestart(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--domain", "contoso.test")
	s.ok(`New-Mailbox -Name "Jane Doe" -Alias jane -UserPrincipalName jane@contoso.test -Password ` + pw)
	out, err := exec.Command(bin, "org", "add", "Fabrikam", "--domain", "fabrikam.test", "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("org add: %v\n%s", err, out)
	}
	fab := []string{"--server", s.url, "--user", "admin@fabrikam.test", "--password-file", filepath.Join(data, "admin-password-fabrikam.test")}
	s.fails(`Get-Mailbox jane@contoso.test`, "couldn't be found", fab...)
	s.fails(`New-ManagementRoleAssignment -Role ApplicationImpersonation -User jane@contoso.test`, `Couldn't find object`, fab...)
	if r := s.shell(`Get-Mailbox | Measure-Object | Select-Object -ExpandProperty Count`, fab...); strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("fabrikam sees other mailboxes: %q %q", r.stdout, r.stderr)
	}

	// Many role groups, each one transaction of a group and two assignments;
	// kill -9 in the middle, restart, and every group is whole.
	var b strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "New-RoleGroup -Name RG%03d -Roles 'View-Only Recipients','Mail Recipients' -Members jane\n", i)
	}
	cmd := exec.Command(bin, "shell", "--data", data)
	cmd.Stdin = strings.NewReader(b.String())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	s.kill9()
	cmd.Wait()
	s = startServer(t, data)
	out2 := s.ok(`Get-RoleGroup RG* | ForEach-Object { "$($_.Name) $(@($_.RoleAssignments).Count) $(@($_.Members).Count)" }`)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out2), "\n") {
		if line == "" {
			continue
		}
		n++
		if !strings.HasSuffix(line, " 2 1") {
			t.Fatalf("half-made role group after kill -9: %q", line)
		}
	}
	t.Logf("%d role groups complete after kill -9", n)
	s.expectScope("jane", "jane", "False")
	if out := s.ok(`Get-Mailbox jane | Select-Object -ExpandProperty PrimarySmtpAddress`); strings.TrimSpace(out) != "jane@contoso.test" {
		t.Fatalf("after restart: %q", out)
	}
}
