package ews

import (
	"strings"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
)

func TestResourceBooking(t *testing.T) {
	w := newWorld(t)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		p.BookingWindowInDays = 30
		p.MaximumDurationInMinutes = 120
		r.CalendarProcessing = p
	})
	meet := func(subject, start, end string) {
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+subject+`</t:Subject>`+
			`<t:Body BodyType="Text">secret agenda</t:Body><t:Start>`+start+`</t:Start><t:End>`+end+`</t:End>`+
			`<t:Resources><t:Attendee><t:Mailbox><t:EmailAddress>`+w.room.PrimarySmtpAddress+`</t:EmailAddress></t:Mailbox></t:Attendee></t:Resources></t:CalendarItem></m:Items></m:CreateItem>`))
	}
	roomView := func() []string {
		r := w.mustOK(w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-01-01T00:00:00Z" EndDate="2026-12-31T00:00:00Z"/><m:ParentFolderIds>`+distFolder("calendar", w.room)+`</m:ParentFolderIds></m:FindItem>`))
		var out []string
		for _, s := range findAll(r.root, "Subject") {
			out = append(out, s.Text)
		}
		return out
	}
	inbox := func() []string {
		r := w.mustOK(w.call(w.alice, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ParentFolderIds>`+distFolder("inbox", nil)+`</m:ParentFolderIds></m:FindItem>`))
		var out []string
		for _, s := range findAll(r.root, "Subject") {
			out = append(out, s.Text)
		}
		return out
	}
	// The world's clock: bookings are relative to it.
	now := w.h.opts.Now().UTC()
	day := func(n int, hm string) string { return now.AddDate(0, 0, n).Format("2006-01-02") + "T" + hm + ":00Z" }

	meet("Planning", day(3, "09:00"), day(3, "10:00"))
	if got := roomView(); len(got) != 1 || !strings.Contains(got[0], "Alice") || strings.Contains(got[0], "Planning") {
		t.Fatalf("room calendar after first request: %v", got)
	}
	meet("Clash", day(3, "09:30"), day(3, "10:30"))
	meet("Too far", day(40, "09:00"), day(40, "10:00"))
	meet("Too long", day(5, "09:00"), day(5, "12:00"))
	meet("Later", day(3, "10:00"), day(3, "11:00"))
	if got := roomView(); len(got) != 2 {
		t.Fatalf("room calendar: %v", got)
	}
	got := strings.Join(inbox(), "|")
	for _, want := range []string{"Accepted: Planning", "Declined: Clash", "Declined: Too far", "Declined: Too long", "Accepted: Later"} {
		if !strings.Contains(got, want) {
			t.Fatalf("inbox %q lacks %q", got, want)
		}
	}
	// The decline carries its reason.
	r := w.mustOK(w.call(w.alice, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:ParentFolderIds>`+distFolder("inbox", nil)+`</m:ParentFolderIds></m:FindItem>`))
	bodies := map[string]string{}
	for _, m := range findAll(r.root, "MeetingResponse") {
		id := find(m, "ItemId").attr("Id")
		g := w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
		msg := find(g.root, "MeetingResponse")
		bodies[msg.childText("Subject")] = msg.childText("Body")
	}
	for subj, want := range map[string]string{"Declined: Clash": "already booked", "Declined: Too far": "booking window of 30 days", "Declined: Too long": "maximum duration of 120 minutes"} {
		if !strings.Contains(bodies[subj], want) {
			t.Errorf("%s: body %q lacks %q", subj, bodies[subj], want)
		}
	}
	// The room's copy hides the subject and the comments.
	rv := w.mustOK(w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="`+day(3, "00:00")+`" EndDate="`+day(4, "00:00")+`"/><m:ParentFolderIds>`+distFolder("calendar", w.room)+`</m:ParentFolderIds></m:FindItem>`))
	id := find(rv.root, "ItemId").attr("Id")
	g := w.mustOK(w.call(w.svc, primary(w.room), `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
	if b := find(g.root, "CalendarItem").child("Body"); b != nil && strings.Contains(b.Text, "secret") {
		t.Fatalf("comments kept: %s", g.body)
	}

	// A weekly series whose third week clashes with Planning is declined;
	// with AllowConflicts it is accepted.
	series := func(subject string) {
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendOnlyToAll"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+subject+`</t:Subject>`+
			`<t:Start>`+day(-11, "09:00")+`</t:Start><t:End>`+day(-11, "10:00")+`</t:End>`+
			`<t:Recurrence><t:DailyRecurrence><t:Interval>7</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>`+day(-11, "00:00")[:10]+`</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`+
			`<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>`+w.room.PrimarySmtpAddress+`</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees></t:CalendarItem></m:Items></m:CreateItem>`))
	}
	series("Weekly")
	if got := strings.Join(inbox(), "|"); !strings.Contains(got, "Declined: Weekly") {
		t.Fatalf("series: %s", got)
	}
	w.update(w.room, func(r *d.Recipient) {
		p := r.CalendarProcessing.Clone()
		p.AllowConflicts = true
		p.AllBookInPolicy = false
		p.BookInPolicy = []string{w.group.ID}
		r.CalendarProcessing = p
	})
	series("Weekly2")
	if got := strings.Join(inbox(), "|"); !strings.Contains(got, "Declined: Weekly2") {
		t.Fatalf("alice is not in BookInPolicy: %s", got)
	}
	w.update(w.room, func(r *d.Recipient) {
		p := r.CalendarProcessing.Clone()
		p.BookInPolicy = []string{w.alice.ID}
		r.CalendarProcessing = p
	})
	series("Weekly3")
	if got := strings.Join(inbox(), "|"); !strings.Contains(got, "Accepted: Weekly3") {
		t.Fatalf("allowed conflicts: %s", got)
	}
	// AutoUpdate (the default): placed tentatively, no reply.
	w.update(w.room, func(r *d.Recipient) { r.CalendarProcessing = nil })
	meet("Quiet", day(6, "09:00"), day(6, "10:00"))
	if got := strings.Join(inbox(), "|"); strings.Contains(got, "Quiet") {
		t.Fatalf("AutoUpdate replied: %s", got)
	}
}
