package ews

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/calendar"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/store"
)

// calBenchItems and calBenchSeries: a busy room calendar (issue 4, item 9).
const (
	calBenchItems  = 5000
	calBenchSeries = 200
)

// seedRoomCalendar fills the room's calendar with calBenchItems items:
// calBenchSeries recurring series (daily, weekly, absolute and relative
// monthly, in rotation; every fifth with a moved and a deleted occurrence;
// half without end) and single meetings of an hour spread over two years
// from 2025-07-01, eight per day. Items are written through the mailbox
// store, not EWS, so that seeding takes seconds.
func seedRoomCalendar(tb testing.TB, w *world) {
	tb.Helper()
	ctx := context.Background()
	if err := w.mbx.Ensure(ctx, w.room.ID); err != nil {
		tb.Fatal(err)
	}
	cal, err := w.mbx.Distinguished(ctx, w.room.ID, "calendar")
	if err != nil {
		tb.Fatal(err)
	}
	actor := mailbox.Actor{ID: w.room.ID, Via: "owner"}
	base := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	put := func(it *mailbox.Item) {
		if _, err := w.mbx.CreateItem(ctx, actor, w.room.ID, cal.Key, it); err != nil {
			tb.Fatal(err)
		}
	}
	appt := func(subject string, start, end time.Time) *mailbox.Item {
		return &mailbox.Item{Class: appointmentClass, Subject: subject, IsRead: true, DateTimeCreated: base,
			Extended: map[string]string{calStart: start.Format(time.RFC3339), calEnd: end.Format(time.RFC3339),
				calFreeBusy: "Busy", calUID: fmt.Sprintf("BENCH%06d", len(subject))}}
	}
	for i := range calBenchSeries {
		// Series start in the first half year and last long enough to reach
		// every benchmark window.
		first := base.AddDate(0, 0, i%180).Add(time.Duration(7+i%10) * time.Hour)
		d := calendar.DateOf(first)
		rec := calendar.Recurrence{Range: calendar.Range{Kind: calendar.NoEnd, Start: d}}
		switch i % 4 {
		case 0:
			rec.Pattern = calendar.Pattern{Kind: calendar.Daily, Interval: 1 + i%3}
		case 1:
			rec.Pattern = calendar.Pattern{Kind: calendar.Weekly, Interval: 1, Days: []string{first.Weekday().String()}}
		case 2:
			rec.Pattern = calendar.Pattern{Kind: calendar.AbsoluteMonthly, Interval: 1, DayOfMonth: min(first.Day(), 28)}
		case 3:
			rec.Pattern = calendar.Pattern{Kind: calendar.RelativeMonthly, Interval: 1, Days: []string{"Tuesday"}, Index: 1 + i%4}
		}
		if i%2 == 1 {
			rec.Range = calendar.Range{Kind: calendar.EndDate, Start: d, End: calendar.DateOf(first.AddDate(2, 0, 0))}
		}
		it := appt(fmt.Sprintf("series %d", i), first, first.Add(30*time.Minute))
		b, _ := json.Marshal(rec)
		it.Extended[calRecur] = string(b)
		if e := finishAppointment(it); e != nil {
			tb.Fatalf("series %d: %v", i, e)
		}
		if i%5 == 0 { // one occurrence moved by an hour, another deleted
			s, _ := seriesOf(it)
			o, err := s.Occurrence(3)
			if err != nil {
				tb.Fatal(err)
			}
			ex, _ := json.Marshal([]calException{{Index: 3, OriginalStart: o.OriginalStart, Start: o.Start.Add(time.Hour), End: o.End.Add(time.Hour)}})
			it.Extended[calModified] = string(ex)
			del, _ := s.Occurrence(5)
			dl, _ := json.Marshal([]time.Time{del.OriginalStart})
			it.Extended[calDeleted] = string(dl)
		}
		put(it)
	}
	for i := range calBenchItems - calBenchSeries {
		start := base.AddDate(0, 0, i/8).Add(time.Duration(8+i%8) * time.Hour)
		put(appt(fmt.Sprintf("meeting %d", i), start, start.Add(time.Hour)))
	}
}

// newRoomBenchWorld is a world whose room calendar holds seedRoomCalendar's
// 5,000 items; seeding commits 5,000 times, so nothing is synced to disk.
func newRoomBenchWorld(b *testing.B) *world {
	w := newWorldWith(b, func(st *store.SQLite) mailbox.Mailboxes {
		if _, err := st.DB().Exec("PRAGMA synchronous = OFF"); err != nil {
			b.Fatal(err)
		}
		return mailbox.Open(st.DB())
	})
	seedRoomCalendar(b, w)
	return w
}

// BenchmarkCalendarView5000: FindItem with a CalendarView over a room
// calendar of 5,000 items (200 of them recurring series), by the
// room-scoped service account through impersonation, for windows of a day,
// a week and a month (issue 4, item 9).
func BenchmarkCalendarView5000(b *testing.B) {
	w := newRoomBenchWorld(b)
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, win := range []struct {
		name string
		to   time.Time
	}{{"day", from.AddDate(0, 0, 1)}, {"week", from.AddDate(0, 0, 7)}, {"month", from.AddDate(0, 1, 0)}} {
		b.Run(win.name, func(b *testing.B) {
			req := envelope("Exchange2016", primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape>`+
				`<m:CalendarView StartDate="`+from.Format(time.RFC3339)+`" EndDate="`+win.to.Format(time.RFC3339)+`"/>`+
				`<m:ParentFolderIds>`+distFolder("calendar", w.room)+`</m:ParentFolderIds></m:FindItem>`)
			r := w.mustOK(w.post(w.svc, req))
			n := len(findAll(r.root, "CalendarItem"))
			if n == 0 {
				b.Fatalf("empty view: %.500s", r.body)
			}
			// The loop measures the server only (no parsing of the response).
			benchHandler(b, &benchEnv{w: w}, req)
			b.ReportMetric(float64(n), "items/op")
		})
	}
}

// BenchmarkGuardedUpdate5000: an UpdateItem changing the end of an item in
// the calendar of an AutoAccept room with 5,000 items, by the service
// account impersonating the room: the back-door check (calendar_guard.go)
// reads the calendar over the item's span before the write.
func BenchmarkGuardedUpdate5000(b *testing.B) {
	w := newRoomBenchWorld(b)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing, p.BookingWindowInDays = "AutoAccept", 1080
		r.CalendarProcessing = p
	})
	day := w.h.opts.Now().UTC().AddDate(0, 0, 3).Format("2006-01-02")
	r := w.mustOK(w.call(w.svc, primary(w.room), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", w.room)+
		`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>early</t:Subject><t:Start>`+day+`T05:00:00Z</t:Start><t:End>`+day+`T05:30:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`))
	id := find(r.root, "ItemId").attr("Id")
	reqs := [2]string{}
	for i, end := range []string{"05:45", "05:30"} {
		reqs[i] = envelope("Exchange2016", primary(w.room), `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+
			`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>`+day+`T`+end+`:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	w.mustOK(w.post(w.svc, reqs[0]))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req := httptest.NewRequest("POST", "/EWS/Exchange.asmx", strings.NewReader(reqs[i%2]))
		req.SetBasicAuth(w.svc.UserPrincipalName, "pw")
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "NoError") {
			b.Fatalf("status %d: %.500s", rec.Code, rec.Body)
		}
	}
}
