package ews

import (
	"fmt"
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
)

// BenchmarkMeetingBookRoom5000: Alice's CreateItem of a meeting with one
// required attendee and an AutoAccept room whose calendar holds 5,000
// items (200 series; seedRoomCalendar): the whole request — her item, the
// attendee's copy and request, the room's policy check, booking and
// response, the tracking — one free slot per iteration.
func BenchmarkMeetingBookRoom5000(b *testing.B) {
	w := newRoomBenchWorld(b)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		r.CalendarProcessing = p
	})
	now := w.h.opts.Now().UTC()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Date(now.Year(), now.Month(), now.Day(), 20, 0, 0, 0, time.UTC).AddDate(0, 0, 1+i/20).Add(time.Duration(i%20) * 10 * time.Minute)
		r := w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+fmt.Sprint("bench ", i)+`</t:Subject>`+
			`<t:Start>`+start.Format(time.RFC3339)+`</t:Start><t:End>`+start.Add(10*time.Minute).Format(time.RFC3339)+`</t:End>`+
			attendeesXML("RequiredAttendees", w.bob)+attendeesXML("Resources", w.room)+`</t:CalendarItem></m:Items></m:CreateItem>`)
		if r.status != 200 {
			b.Fatalf("status %d", r.status)
		}
	}
	b.StopTimer()
	// Every iteration was booked.
	ctx := t0ctx
	cal, _ := w.mbx.Distinguished(ctx, w.room.ID, "calendar")
	if cal.TotalCount < calBenchItems+1 {
		b.Fatalf("room calendar has %d items", cal.TotalCount)
	}
}
