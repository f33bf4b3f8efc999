package ews

import (
	"context"
	"strings"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// guardWorld: room1 is AutoAccept (30-day window, 120 minutes at most);
// bob is an Editor of its calendar.
func guardWorld(t *testing.T) (*world, *mailbox.Folder) {
	w := newWorld(t)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		p.BookingWindowInDays = 30
		p.MaximumDurationInMinutes = 120
		r.CalendarProcessing = p
	})
	ctx := context.Background()
	if err := w.mbx.Ensure(ctx, w.room.ID); err != nil {
		t.Fatal(err)
	}
	cal, err := w.mbx.Distinguished(ctx, w.room.ID, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.mbx.SetPermissions(ctx, mailbox.Actor{}, w.room.ID, cal.Key, []mailbox.Permission{{User: w.bob.ID, Level: "Editor",
		CanCreateItems: true, IsFolderVisible: true, ReadItems: "FullDetails", EditItems: "All", DeleteItems: "All"}}); err != nil {
		t.Fatal(err)
	}
	return w, cal
}

// guardOutcome is a response message's code, ActasReason and text.
func guardOutcome(r resp) (code, reason, text string) {
	m := r.messages()[0]
	for _, v := range findAll(m, "Value") {
		if v.attr("Name") == "ActasReason" {
			reason = v.Text
		}
	}
	return code0(m), reason, m.childText("MessageText")
}

func code0(m *node) string { return m.childText("ResponseCode") }

func TestCalendarGuard(t *testing.T) {
	w, cal := guardWorld(t)
	now := w.h.opts.Now().UTC()
	day := func(n int, hm string) string { return now.AddDate(0, 0, n).Format("2006-01-02") + "T" + hm + ":00Z" }
	item := func(subject, start, end, extra string) string {
		return `<t:CalendarItem><t:Subject>` + subject + `</t:Subject><t:Start>` + start + `</t:Start><t:End>` + end + `</t:End>` + extra + `</t:CalendarItem>`
	}
	create := func(as *d.Recipient, imp string, it string) resp {
		return w.call(as, imp, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", w.room)+
			`</m:SavedItemFolderId><m:Items>`+it+`</m:Items></m:CreateItem>`)
	}
	count := func() int {
		_, n, err := w.mbx.Items(context.Background(), w.room.ID, cal.Key, mailbox.Query{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	weekly := `<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>` + now.AddDate(0, 0, 5).Weekday().String() +
		`</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>` + day(5, "00:00")[:10] + `</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`

	// The first booking: 09:00–10:00 on day 3, by the service account
	// impersonating the room.
	r := create(w.svc, primary(w.room), item("Standup", day(3, "09:00"), day(3, "10:00"), ""))
	w.mustOK(r)
	standup := find(r.root, "ItemId").attr("Id")

	tests := []struct {
		name       string
		as         *d.Recipient
		imp        string
		item       string
		code, why  string // "" = accepted
		textSubstr string
	}{
		{"overlap by impersonation", w.svc, primary(w.room), item("Clash", day(3, "09:30"), day(3, "10:30"), ""),
			"ErrorItemSave", "Conflict", "already booked from " + day(3, "09:00")[:10] + " 09:00 to 10:00"},
		{"overlap by a delegate", w.bob, "", item("Clash", day(3, "08:30"), day(3, "09:01"), ""), "ErrorItemSave", "Conflict", "already booked"},
		{"back to back", w.svc, primary(w.room), item("Next", day(3, "10:00"), day(3, "11:00"), ""), "", "", ""},
		{"free items never conflict", w.svc, primary(w.room), item("Hold", day(3, "09:00"), day(3, "10:00"),
			`<t:LegacyFreeBusyStatus>Free</t:LegacyFreeBusyStatus>`), "", "", ""},
		{"too long", w.svc, primary(w.room), item("Offsite", day(4, "09:00"), day(4, "12:00"), ""),
			"ErrorCalendarDurationIsTooLong", "DurationTooLong", "maximum duration of 120 minutes"},
		{"beyond the booking window", w.svc, primary(w.room), item("Later", day(40, "09:00"), day(40, "10:00"), ""),
			"ErrorCalendarOutOfRange", "OutsideBookingWindow", "booking window of 30 days"},
		{"a series whose second week clashes", w.svc, primary(w.room), item("Weekly", day(5, "09:30"), day(5, "10:00"), weekly), "", "", ""},
		{"the same series again", w.bob, "", item("Weekly 2", day(5, "09:45"), day(5, "10:15"), weekly), "ErrorItemSave", "Conflict", "already booked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := count()
			r := create(tc.as, tc.imp, tc.item)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			code, why, text := guardOutcome(r)
			if tc.code == "" {
				if code != "NoError" || count() != before+1 {
					t.Fatalf("want success, got %s %q (%d → %d items)", code, text, before, count())
				}
				return
			}
			if code != tc.code || why != tc.why || !strings.Contains(text, tc.textSubstr) || !strings.Contains(text, w.room.PrimarySmtpAddress) {
				t.Fatalf("got %s %s %q, want %s %s …%s…", code, why, text, tc.code, tc.why, tc.textSubstr)
			}
			if count() != before {
				t.Fatalf("a refused item was written (%d → %d)", before, count())
			}
		})
	}

	// UpdateItem: moving Standup onto Next is refused; moving it within its
	// own slot, or changing only its subject, is not checked against itself.
	update := func(id, field, value string) resp {
		return w.call(w.svc, primary(w.room), `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+
			`<t:SetItemField><t:FieldURI FieldURI="`+field+`"/><t:CalendarItem>`+value+`</t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	if code, why, _ := guardOutcome(update(standup, "calendar:End", `<t:End>`+day(3, "10:30")+`</t:End>`)); code != "ErrorItemSave" || why != "Conflict" {
		t.Fatalf("update onto Next: %s %s", code, why)
	}
	w.mustOK(update(standup, "calendar:End", `<t:End>`+day(3, "09:45")+`</t:End>`))
	w.mustOK(update(standup, "item:Subject", `<t:Subject>Standup (short)</t:Subject>`))
	g := w.mustOK(w.call(w.svc, primary(w.room), `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+standup+`"/></m:ItemIds></m:GetItem>`))
	if end := find(g.root, "End").Text; !strings.HasPrefix(end, day(3, "09:45")[:16]) {
		t.Fatalf("refused update was applied, or the allowed one was not: End %s", end)
	}

	// An occurrence moved onto another occurrence of its own series is a
	// conflict; moved within its own slot it is not.
	daily := w.mustOK(create(w.svc, primary(w.room), item("Daily", day(20, "07:00"), day(20, "07:30"),
		`<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>`+day(20, "00:00")[:10]+
			`</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`)))
	dailyID := find(daily.root, "ItemId").attr("Id")
	moveOcc := func(start, end string) resp {
		return w.call(w.svc, primary(w.room), `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:OccurrenceItemId RecurringMasterId="`+dailyID+`" InstanceIndex="1"/><t:Updates>`+
			`<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>`+start+`</t:Start></t:CalendarItem></t:SetItemField>`+
			`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>`+end+`</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	if code, why, _ := guardOutcome(moveOcc(day(21, "07:15"), day(21, "07:45"))); code != "ErrorItemSave" || why != "Conflict" {
		t.Fatalf("occurrence moved onto the next one: %s %s", code, why)
	}
	w.mustOK(moveOcc(day(20, "07:10"), day(20, "07:40")))

	// CopyItem and MoveItem of a clashing appointment from alice's calendar.
	a := w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items>`+
		item("Mine", day(3, "10:15"), day(3, "10:45"), "")+`</m:Items></m:CreateItem>`))
	mine := find(a.root, "ItemId").attr("Id")
	// alice needs create rights on the room's calendar.
	ctx := context.Background()
	perms, _ := w.mbx.Permissions(ctx, w.room.ID, cal.Key)
	perms = append(perms, mailbox.Permission{User: w.alice.ID, Level: "Author", CanCreateItems: true, IsFolderVisible: true, ReadItems: "FullDetails", EditItems: "Owned", DeleteItems: "Owned"})
	if err := w.mbx.SetPermissions(ctx, mailbox.Actor{}, w.room.ID, cal.Key, perms); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"CopyItem", "MoveItem"} {
		r := w.call(w.alice, "", `<m:`+op+`><m:ToFolderId>`+distFolder("calendar", w.room)+`</m:ToFolderId><m:ItemIds><t:ItemId Id="`+mine+`"/></m:ItemIds></m:`+op+`>`)
		if code, why, _ := guardOutcome(r); code != "ErrorItemSave" || why != "Conflict" {
			t.Fatalf("%s: %s %s\n%s", op, code, why, r.body)
		}
	}

	// The decision log has the direct writes, accepted and refused.
	var accepted, refused int
	for _, dec := range w.bookingLog(w.room) {
		if dec.Source != mailbox.BookingSourceDirectWrite {
			t.Errorf("source %s", dec.Source)
		}
		switch dec.Outcome {
		case mailbox.BookingAccepted:
			accepted++
		case mailbox.BookingRefused:
			refused++
			if dec.Reason == "" {
				t.Errorf("refusal without a reason: %+v", dec)
			}
		}
	}
	// Accepted: Standup, Next, Hold, Weekly, the update of Standup's end
	// (the subject change is not checked), Daily and its occurrence moved
	// within its slot; refused: five creates, two updates (Standup onto
	// Next, the occurrence onto the next one), a copy and a move.
	if accepted != 7 || refused != 9 {
		t.Fatalf("log: %d accepted, %d refused: %+v", accepted, refused, w.bookingLog(w.room))
	}
	last := w.bookingLog(w.room)
	if l := last[len(last)-1]; l.ActorID != w.alice.ID || l.Subject != "Mine" {
		t.Fatalf("last decision %+v", l)
	}
}

// TestCalendarGuardPolicies: what the policy says about who and what is
// checked.
func TestCalendarGuardPolicies(t *testing.T) {
	now := func(w *world) string { return w.h.opts.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02") }
	tests := []struct {
		name   string
		policy func(p *d.CalendarProcessing, w *world)
		as     func(w *world) (*d.Recipient, string)
		code   string
		why    string
		logged bool
	}{
		{"AutoUpdate: not checked, not logged", func(p *d.CalendarProcessing, w *world) { p.AutomateProcessing = "AutoUpdate" },
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "NoError", "", false},
		{"None: not checked", func(p *d.CalendarProcessing, w *world) { p.AutomateProcessing = "None" },
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "NoError", "", false},
		{"AllowConflicts", func(p *d.CalendarProcessing, w *world) { p.AllowConflicts = true },
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "NoError", "", true},
		{"conflict", func(p *d.CalendarProcessing, w *world) {},
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "ErrorItemSave", "Conflict", true},
		{"a cancelled meeting does not conflict", func(p *d.CalendarProcessing, w *world) {},
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "NoError", "", true},
		{"impersonating the room, the service account is the booker", func(p *d.CalendarProcessing, w *world) {
			p.AllowConflicts, p.AllBookInPolicy, p.BookInPolicy = true, false, []string{w.alice.ID}
		}, func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "ErrorAccessDenied", "NotInBookInPolicy", true},
		{"BookInPolicy lists the booker", func(p *d.CalendarProcessing, w *world) {
			p.AllowConflicts, p.AllBookInPolicy, p.BookInPolicy = true, false, []string{w.svc.ID}
		}, func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "NoError", "", true},
		{"recurring not allowed", func(p *d.CalendarProcessing, w *world) { p.AllowRecurringMeetings, p.AllowConflicts = false, true },
			func(w *world) (*d.Recipient, string) { return w.svc, primary(w.room) }, "ErrorCalendarInvalidRecurrence", "RecurringNotAllowed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := guardWorld(t)
			w.update(w.room, func(r *d.Recipient) { tc.policy(r.CalendarProcessing, w) })
			as, imp := tc.as(w)
			mk := func(subject, extra string) resp {
				return w.call(as, imp, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", w.room)+`</m:SavedItemFolderId><m:Items>`+
					`<t:CalendarItem><t:Subject>`+subject+`</t:Subject><t:Start>`+now(w)+`T09:00:00Z</t:Start><t:End>`+now(w)+`T10:00:00Z</t:End>`+extra+`</t:CalendarItem></m:Items></m:CreateItem>`)
			}
			// An existing booking written through the store, not EWS.
			cal, _ := w.mbx.Distinguished(context.Background(), w.room.ID, "calendar")
			first := &mailbox.Item{Class: appointmentClass, Subject: "Existing", Extended: map[string]string{calStart: now(w) + "T09:30:00Z", calEnd: now(w) + "T10:30:00Z"}}
			if strings.HasPrefix(tc.name, "a cancelled meeting") {
				first.Extended[calCancelled] = "true"
			}
			if e := finishAppointment(first); e != nil {
				t.Fatal(e)
			}
			if _, err := w.mbx.CreateItem(context.Background(), mailbox.Actor{ID: w.room.ID, Via: "owner"}, w.room.ID, cal.Key, first); err != nil {
				t.Fatal(err)
			}
			extra := ""
			if tc.why == "RecurringNotAllowed" {
				extra = `<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>` + now(w) + `</t:StartDate><t:NumberOfOccurrences>2</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`
			}
			code, why, text := guardOutcome(mk("Probe", extra))
			if code != tc.code || why != tc.why {
				t.Fatalf("got %s %s %q, want %s %s", code, why, text, tc.code, tc.why)
			}
			if n := len(w.bookingLog(w.room)); (n == 1) != tc.logged {
				t.Fatalf("%d log entries, logged %v", n, tc.logged)
			}
		})
	}
}
