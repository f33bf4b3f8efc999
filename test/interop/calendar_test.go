package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The calendar fixture adds to the common one (interop_test.go): two more
// rooms, two room lists, and roomsvc, a service account whose
// ApplicationImpersonation is scoped to RecipientTypeDetails -eq
// 'RoomMailbox' — the room-scheduling product of the first seed guide —
// and Carol as Bob's calendar delegate (Exchange Online's
// -SharingPermissionFlags Delegate).
const calendarFixture = `$pw = ConvertTo-SecureString -String 'Passw0rd!2026' -AsPlainText -Force
New-Mailbox -Name "Room 2" -Alias room2 -Room
New-Mailbox -Name "Room 3" -Alias room3 -Room
New-DistributionGroup -Name "Building 1 Rooms" -Alias building1 -RoomList -Members room1,room2
New-DistributionGroup -Name "Building 2 Rooms" -Alias building2 -RoomList -Members room3
New-Mailbox -Name "Room Service" -Alias roomsvc -UserPrincipalName roomsvc@contoso.test -Password $pw
New-ManagementScope -Name "All Rooms" -RecipientRestrictionFilter "RecipientTypeDetails -eq 'RoomMailbox'"
New-ManagementRoleAssignment -Name RoomSvcImpersonation -Role ApplicationImpersonation -User roomsvc -CustomRecipientWriteScope "All Rooms"
Set-CalendarProcessing room1 -AutomateProcessing AutoAccept -BookingWindowInDays 60 -MaximumDurationInMinutes 240
Add-MailboxFolderPermission -Identity bob@contoso.test:\Calendar -User carol -AccessRights Editor -SharingPermissionFlags Delegate
Set-MailboxCalendarConfiguration room2 -WorkingHoursTimeZone "W. Europe Standard Time" -WorkingHoursStartTime 07:30:00 -WorkingHoursEndTime 16:00:00 -WorkDays Monday,Tuesday,Wednesday,Thursday
`

// calendarSetup adds the calendar fixture and its environment to the
// common one.
func calendarSetup(s *server) {
	s.ok(calendarFixture)
	if out := s.ok(`(Get-MailboxFolderPermission bob@contoso.test:\Calendar -User carol).SharingPermissionFlags`); !strings.Contains(out, "Delegate") {
		s.t.Fatalf("fixture: carol is not shown as bob's calendar delegate: %q", out)
	}
	for _, a := range []string{"roomsvc", "room2", "room3"} {
		s.env["ACTAS_USER_"+strings.ToUpper(a)] = a + "@" + domain
	}
	s.env["ACTAS_ROOMLIST_1"] = "building1@" + domain
	s.env["ACTAS_ROOMLIST_2"] = "building2@" + domain
	// After the client's cases (cleanups run before the server stops): the
	// shell shows room1's decisions, from meeting requests and from writes
	// straight into its calendar.
	s.t.Cleanup(func() {
		if s.t.Failed() {
			return
		}
		out := s.ok(`Get-CalendarProcessingLog room1 -ResultSize 500 | Format-List Source,Outcome,Reason`)
		for _, want := range []string{"MeetingRequest", "DirectWrite", "Accepted", "Declined", "already booked"} {
			if !strings.Contains(out, want) {
				s.t.Errorf("Get-CalendarProcessingLog room1 lacks %q:\n%s", want, out)
			}
		}
	})
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
	runSuite(t, "calendar exchangelib", []string{py, filepath.Join(dir, "calendar_exchangelib.py")}, dir, calendarSetup)
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
	runSuite(t, "calendar ews-javascript-api", []string{node, filepath.Join(dir, "calendar_ewsjs.js")}, dir, calendarSetup)
}
