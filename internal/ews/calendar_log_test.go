package ews

import (
	"context"
	"strings"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// bookingLog returns the room's decisions, oldest first.
func (w *world) bookingLog(room *d.Recipient) []mailbox.BookingDecision {
	w.t.Helper()
	got, err := w.mbx.(mailbox.BookingLog).BookingDecisions(context.Background(), room.ID, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

// TestBookingDecisionLog: meeting requests processed by a room are logged
// with organizer, subject, times, outcome and reason.
func TestBookingDecisionLog(t *testing.T) {
	w := newWorld(t)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		r.CalendarProcessing = p
	})
	now := w.h.opts.Now().UTC()
	day := func(hm string) string { return now.AddDate(0, 0, 2).Format("2006-01-02") + "T" + hm + ":00Z" }
	meet := func(subject, start, end string) {
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+subject+`</t:Subject>`+
			`<t:Start>`+start+`</t:Start><t:End>`+end+`</t:End>`+
			`<t:Resources><t:Attendee><t:Mailbox><t:EmailAddress>`+w.room.PrimarySmtpAddress+`</t:EmailAddress></t:Mailbox></t:Attendee></t:Resources></t:CalendarItem></m:Items></m:CreateItem>`))
	}
	meet("Planning", day("09:00"), day("10:00"))
	meet("Clash", day("09:30"), day("10:30"))
	got := w.bookingLog(w.room)
	want := []struct{ subject, outcome, reason string }{
		{"Planning", mailbox.BookingAccepted, ""},
		{"Clash", mailbox.BookingDeclined, "The resource is already booked from"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d decisions: %+v", len(got), got)
	}
	for i, wd := range want {
		g := got[i]
		if g.Subject != wd.subject || g.Outcome != wd.outcome || g.Source != mailbox.BookingSourceMeetingRequest ||
			g.ActorID != w.alice.ID || g.ActorAddress != w.alice.PrimarySmtpAddress || g.RequestID == "" ||
			(wd.reason == "" && g.Reason != "") || (wd.reason != "" && !strings.Contains(g.Reason, wd.reason)) {
			t.Errorf("decision %d = %+v, want %+v", i, g, wd)
		}
	}
	if s := got[1].Start.UTC().Format("15:04"); s != "09:30" || got[1].End.UTC().Format("15:04") != "10:30" {
		t.Errorf("times %v–%v", got[1].Start, got[1].End)
	}
}
