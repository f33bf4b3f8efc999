package interop

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The calendar fixture adds to the common one (interop_test.go): two more
// rooms, two room lists, and roomsvc, a service account whose
// ApplicationImpersonation is scoped to RecipientTypeDetails -eq
// 'RoomMailbox' — the room-scheduling product of the first seed guide.
const calendarFixture = `$pw = ConvertTo-SecureString -String 'Passw0rd!2026' -AsPlainText -Force
New-Mailbox -Name "Room 2" -Alias room2 -Room
New-Mailbox -Name "Room 3" -Alias room3 -Room
New-DistributionGroup -Name "Building 1 Rooms" -Alias building1 -RoomList -Members room1,room2
New-DistributionGroup -Name "Building 2 Rooms" -Alias building2 -RoomList -Members room3
New-Mailbox -Name "Room Service" -Alias roomsvc -UserPrincipalName roomsvc@contoso.test -Password $pw
New-ManagementScope -Name "All Rooms" -RecipientRestrictionFilter "RecipientTypeDetails -eq 'RoomMailbox'"
New-ManagementRoleAssignment -Name RoomSvcImpersonation -Role ApplicationImpersonation -User roomsvc -CustomRecipientWriteScope "All Rooms"
Set-CalendarProcessing room1 -AutomateProcessing AutoAccept -BookingWindowInDays 60 -MaximumDurationInMinutes 240
`

// runCalendarSuite is runSuite with the calendar fixture: a fresh server,
// the common fixture, the calendar additions, then the client's cases as
// subtests.
func runCalendarSuite(t *testing.T, name string, argv []string, dir string) {
	s := startServer(t)
	provision(s)
	s.ok(calendarFixture)
	for _, a := range []string{"roomsvc", "room2", "room3"} {
		s.env["ACTAS_USER_"+strings.ToUpper(a)] = a + "@" + domain
	}
	s.env["ACTAS_ROOMLIST_1"] = "building1@" + domain
	s.env["ACTAS_ROOMLIST_2"] = "building2@" + domain

	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	env := append(os.Environ(), "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"TMPDIR="+t.TempDir(), "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1")
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
		} else if line == "DONE" {
			done = true
		} else {
			t.Log(line)
		}
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
		t.Logf("client stderr (tail):\n%s", tail(stderr.String(), 60))
		t.Logf("actas serve log (tail):\n%s", tail(s.log.String(), 60))
	}
}

// TestCalendarExchangelib runs calendar_exchangelib.py (room lists, and the
// calendar cases as they land) with Debian's exchangelib.
func TestCalendarExchangelib(t *testing.T) {
	py := os.Getenv("ACTAS_INTEROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	out, err := exec.Command(py, "-c", "import exchangelib; print(exchangelib.__version__)").CombinedOutput()
	if err != nil {
		missing(t, "exchangelib for "+py, "apt-get install -y --no-install-recommends python3-exchangelib")
	}
	t.Logf("exchangelib %s (%s)", strings.TrimSpace(string(out)), py)
	dir := here(t)
	runCalendarSuite(t, "calendar exchangelib", []string{py, filepath.Join(dir, "calendar_exchangelib.py")}, dir)
}

// TestCalendarEwsJavascriptAPI runs js/calendar_ewsjs.js.
func TestCalendarEwsJavascriptAPI(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", "apt-get install -y nodejs npm && npm ci --prefix test/interop/js")
	}
	dir := filepath.Join(here(t), "js")
	probe := exec.Command(node, "-e", `console.log(require("ews-javascript-api/package.json").version)`)
	probe.Dir = dir
	if _, err := probe.CombinedOutput(); err != nil {
		missing(t, "ews-javascript-api", "npm ci --prefix test/interop/js")
	}
	runCalendarSuite(t, "calendar ews-javascript-api", []string{node, filepath.Join(dir, "calendar_ewsjs.js")}, dir)
}
