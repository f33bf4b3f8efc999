package cmdlet

import (
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

func TestGetCalendarProcessingLog(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o) // kim (user), everest (room), helpdesk (shared)
	mbx := mailbox.Open(o.st.DB())
	o.reg.SetMailboxes(mbx)
	room, kim := o.recipient("Room Everest"), o.recipient("Kim Akers")

	// A room of another organization, with a decision of its own.
	other := &d.Org{ID: newGUID(), Name: "Fabrikam", Domains: []string{"fabrikam.test"}}
	var foreign *d.Recipient
	if err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		if err := tx.PutOrg(other); err != nil {
			return err
		}
		r, err := buildMailbox(tx.State(), other, MailboxSpec{Name: "Boardroom", Alias: "boardroom", Type: d.RoomMailbox}, time.Now())
		if err != nil {
			return err
		}
		foreign = r
		return tx.PutRecipient(r)
	}); err != nil {
		t.Fatal(err)
	}

	// Before the room's mailbox exists: an empty log, not an error.
	if got := o.ok("Get-CalendarProcessingLog", map[string]any{"Identity": "everest"}); len(got) != 0 {
		t.Fatalf("%d entries before any decision", len(got))
	}
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for _, r := range []*d.Recipient{room, foreign} {
		if err := mbx.Ensure(o.ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	for i, dec := range []mailbox.BookingDecision{
		{Mailbox: room.ID, Source: mailbox.BookingSourceMeetingRequest, ActorID: kim.ID, ActorAddress: "old@contoso.test", Subject: "Planning", Outcome: mailbox.BookingAccepted},
		{Mailbox: room.ID, Source: mailbox.BookingSourceMeetingRequest, ActorID: kim.ID, Subject: "Clash", Outcome: mailbox.BookingDeclined, Reason: "The resource is already booked."},
		{Mailbox: room.ID, Source: mailbox.BookingSourceDirectWrite, ActorID: "gone", ActorAddress: "gone@contoso.test", Subject: "Back door", Outcome: mailbox.BookingRefused, Reason: "conflict"},
		{Mailbox: foreign.ID, Source: mailbox.BookingSourceMeetingRequest, Subject: "Fabrikam secret", Outcome: mailbox.BookingAccepted},
	} {
		dec.At, dec.Start, dec.End, dec.RequestID = start.Add(-time.Duration(10-i)*time.Minute), start, start.Add(time.Hour), "42"
		if err := mbx.RecordBookingDecision(o.ctx, &dec); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name     string
		params   map[string]any
		subjects []string
		warnings int
	}{
		{"newest first", map[string]any{"Identity": "Room Everest"}, []string{"Back door", "Clash", "Planning"}, 0},
		{"ResultSize", map[string]any{"Identity": "everest@contoso.test", "ResultSize": float64(2)}, []string{"Back door", "Clash"}, 1},
		{"Unlimited", map[string]any{"Identity": "everest", "ResultSize": "Unlimited"}, []string{"Back door", "Clash", "Planning"}, 0},
		{"a user mailbox has no decisions", map[string]any{"Identity": "kim"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := o.run("Get-CalendarProcessingLog", tc.params)
			if resp.Error != nil {
				t.Fatalf("%s (%s)", resp.Error.Message, resp.Error.Exception)
			}
			var got []string
			for _, obj := range resp.Objects {
				got = append(got, propOf(t, obj, "Subject").(string))
			}
			if len(got) != len(tc.subjects) || len(resp.Warnings) != tc.warnings {
				t.Fatalf("subjects %v warnings %q, want %v and %d warnings", got, resp.Warnings, tc.subjects, tc.warnings)
			}
			for i := range got {
				if got[i] != tc.subjects[i] {
					t.Fatalf("subjects %v, want %v", got, tc.subjects)
				}
			}
		})
	}

	// The properties of one entry; the organizer is shown by its current
	// address when it still exists, else as recorded.
	got := o.ok("Get-CalendarProcessingLog", map[string]any{"Identity": "everest"})
	for name, want := range map[string]any{"Identity": `Room Everest\2`, "Mailbox": "Room Everest", "Source": "MeetingRequest",
		"Outcome": "Declined", "Organizer": "kim@contoso.test", "Reason": "The resource is already booked.", "RequestId": "42",
		"Start": fmtTime(start), "End": fmtTime(start.Add(time.Hour))} {
		if v := propOf(t, got[1], name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if v := propOf(t, got[0], "Organizer"); v != "gone@contoso.test" {
		t.Errorf("organizer of a removed account = %v", v)
	}
	if v := propOf(t, got[2], "Organizer"); v != "kim@contoso.test" {
		t.Errorf("organizer = %v, want the current address", v)
	}

	// Authorization and isolation.
	o.fails(o.adminID, "Get-CalendarProcessingLog", map[string]any{"Identity": "boardroom@fabrikam.test"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Get-CalendarProcessingLog", map[string]any{"Identity": "boardroom"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Get-CalendarProcessingLog", map[string]any{"Identity": "everest", "ResultSize": float64(0)}, "")
	viewer := o.addUser("Viewer", map[string]string{"View-Only Recipients": ""})
	if resp := o.runAs(viewer, "Get-CalendarProcessingLog", map[string]any{"Identity": "everest"}); resp.Error != nil || len(resp.Objects) != 3 {
		t.Fatalf("View-Only Recipients: %+v", resp.Error)
	}
	nobody := o.addUser("Nobody", nil)
	o.fails(nobody, "Get-CalendarProcessingLog", map[string]any{"Identity": "everest"}, "CommandNotFoundException", "not recognized")
}
