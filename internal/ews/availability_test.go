package ews

import (
	"fmt"
	"strings"
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
)

const berlinAvailZone = `<t:TimeZone><t:Bias>-60</t:Bias>` +
	`<t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime>` +
	`<t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone>`

func availRequestXML(view, start, end string, addrs ...string) string {
	var b strings.Builder
	b.WriteString(`<m:GetUserAvailabilityRequest>` + berlinAvailZone + `<m:MailboxDataArray>`)
	for _, a := range addrs {
		b.WriteString(`<t:MailboxData><t:Email><t:Address>` + a + `</t:Address></t:Email><t:AttendeeType>Room</t:AttendeeType><t:ExcludeConflicts>false</t:ExcludeConflicts></t:MailboxData>`)
	}
	b.WriteString(`</m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>` + start + `</t:StartTime><t:EndTime>` + end + `</t:EndTime></t:TimeWindow>` +
		`<t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>` + view + `</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>`)
	return b.String()
}

func TestGetUserAvailability(t *testing.T) {
	w := newWorld(t)
	room2 := w.recipient(w.org, "room2", d.RoomMailbox)
	cal := distFolder("calendar", w.room)
	create := func(target *d.Recipient, body string) {
		w.mustOK(w.call(w.svc, primary(target), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", target)+`</m:SavedItemFolderId><m:Items>`+body+`</m:Items></m:CreateItem>`))
	}
	_ = cal
	// room1: a single busy meeting 09:00–10:00 Berlin (summer, UTC+2) on
	// 2026-06-01, a tentative one 11:00–11:30 and a free one.
	create(w.room, `<t:CalendarItem><t:Subject>Board</t:Subject><t:Start>2026-06-01T07:00:00Z</t:Start><t:End>2026-06-01T08:00:00Z</t:End><t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus><t:Location>R1</t:Location></t:CalendarItem>`)
	create(w.room, `<t:CalendarItem><t:Subject>Maybe</t:Subject><t:Start>2026-06-01T09:00:00Z</t:Start><t:End>2026-06-01T09:30:00Z</t:End><t:LegacyFreeBusyStatus>Tentative</t:LegacyFreeBusyStatus></t:CalendarItem>`)
	create(w.room, `<t:CalendarItem><t:Subject>Free</t:Subject><t:Start>2026-06-01T10:00:00Z</t:Start><t:End>2026-06-01T11:00:00Z</t:End><t:LegacyFreeBusyStatus>Free</t:LegacyFreeBusyStatus></t:CalendarItem>`)
	// room2: a daily series 08:00–09:00 Berlin, three occurrences.
	create(room2, `<t:CalendarItem><t:Subject>Standup</t:Subject><t:Start>2026-05-31T06:00:00Z</t:Start><t:End>2026-05-31T07:00:00Z</t:End>`+
		`<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>2026-05-31</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`+
		`<t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/></t:CalendarItem>`)

	// Alice (Default = FreeBusyTimeOnly): Detailed downgraded, no details.
	r := w.call(w.alice, "", availRequestXML("DetailedMerged", "2026-06-01T08:00:00", "2026-06-01T14:00:00",
		w.room.PrimarySmtpAddress, "nobody@contoso.test", room2.PrimarySmtpAddress))
	el := r.bodyEl()
	if r.status != 200 || el.Local != "GetUserAvailabilityResponse" || el.child("ResponseMessages") != nil {
		t.Fatalf("shape: %s", r.body)
	}
	resps := el.child("FreeBusyResponseArray").all("FreeBusyResponse")
	if len(resps) != 3 {
		t.Fatalf("%d responses: %s", len(resps), r.body)
	}
	if m := resps[1].child("ResponseMessage"); m.attr("ResponseClass") != "Error" || code(m) != "ErrorMailRecipientNotFound" {
		t.Fatalf("unknown mailbox: %s", r.body)
	}
	v := resps[0].child("FreeBusyView")
	if code(resps[0].child("ResponseMessage")) != "NoError" || v.childText("FreeBusyViewType") != "FreeBusyMerged" {
		t.Fatalf("room1: %s", r.body)
	}
	// 08–09 free, 09–10 busy, 10–11 free, 11–12 tentative, 12–13 free (Free item), 13–14 free.
	if got := v.childText("MergedFreeBusy"); got != "020100" {
		t.Fatalf("merged %q: %s", got, r.body)
	}
	evs := v.child("CalendarEventArray").all("CalendarEvent")
	if len(evs) != 2 || evs[0].childText("StartTime") != "2026-06-01T09:00:00" || evs[0].childText("BusyType") != "Busy" ||
		evs[1].childText("BusyType") != "Tentative" || find(v, "CalendarEventDetails") != nil {
		t.Fatalf("room1 events: %s", r.body)
	}
	if wp := find(v, "WorkingPeriod"); wp == nil || wp.childText("StartTimeInMinutes") != "480" || wp.childText("EndTimeInMinutes") != "1020" {
		t.Fatalf("working hours: %s", r.body)
	}
	v2 := resps[2].child("FreeBusyView")
	if evs := v2.child("CalendarEventArray").all("CalendarEvent"); len(evs) != 1 || evs[0].childText("StartTime") != "2026-06-01T08:00:00" {
		t.Fatalf("room2 series: %s", r.body)
	}

	// Default = FreeBusyTimeAndSubjectAndLocation on room1 → subject and
	// location; alice as Reviewer → full details.
	setCal := func(perms string) {
		w.mustOK(w.call(w.svc, primary(w.room), `<m:UpdateFolder><m:FolderChanges><t:FolderChange>`+distFolder("calendar", w.room)+`<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:PermissionSet"/><t:CalendarFolder><t:PermissionSet><t:CalendarPermissions>`+
			perms+`</t:CalendarPermissions></t:PermissionSet></t:CalendarFolder></t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>`))
	}
	setCal(`<t:CalendarPermission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId><t:CalendarPermissionLevel>FreeBusyTimeAndSubjectAndLocation</t:CalendarPermissionLevel></t:CalendarPermission>`)
	r = w.call(w.alice, "", availRequestXML("Detailed", "2026-06-01T08:00:00", "2026-06-01T14:00:00", w.room.PrimarySmtpAddress))
	v = find(r.root, "FreeBusyView")
	det := find(v, "CalendarEventDetails")
	if v.childText("FreeBusyViewType") != "Detailed" || det == nil || det.childText("Subject") != "Board" || det.childText("Location") != "R1" || det.child("ID") != nil {
		t.Fatalf("subject and location: %s", r.body)
	}
	if v.child("MergedFreeBusy") != nil {
		t.Fatalf("Detailed has no merged string: %s", r.body)
	}
	setCal(`<t:CalendarPermission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId><t:CalendarPermissionLevel>FreeBusyTimeOnly</t:CalendarPermissionLevel></t:CalendarPermission>` +
		`<t:CalendarPermission><t:UserId>` + primary(w.alice) + `</t:UserId><t:CalendarPermissionLevel>Reviewer</t:CalendarPermissionLevel></t:CalendarPermission>`)
	r = w.call(w.alice, "", availRequestXML("DetailedMerged", "2026-06-01T08:00:00", "2026-06-01T14:00:00", w.room.PrimarySmtpAddress))
	det = find(r.root, "CalendarEventDetails")
	if det == nil || det.childText("ID") == "" || det.childText("IsMeeting") != "false" || det.childText("Subject") != "Board" {
		t.Fatalf("reviewer: %s", r.body)
	}
	// Bob still gets times only; Default None → ErrorNoFreeBusyAccess.
	r = w.call(w.bob, "", availRequestXML("DetailedMerged", "2026-06-01T08:00:00", "2026-06-01T14:00:00", w.room.PrimarySmtpAddress))
	if find(r.root, "CalendarEventDetails") != nil || find(r.root, "FreeBusyViewType").Text != "FreeBusyMerged" {
		t.Fatalf("bob: %s", r.body)
	}
	setCal(`<t:CalendarPermission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId><t:CalendarPermissionLevel>None</t:CalendarPermissionLevel></t:CalendarPermission>`)
	r = w.call(w.bob, "", availRequestXML("FreeBusy", "2026-06-01T08:00:00", "2026-06-01T14:00:00", w.room.PrimarySmtpAddress))
	if code(find(r.root, "ResponseMessage")) != "ErrorNoFreeBusyAccess" {
		t.Fatalf("no access: %s", r.body)
	}
	// Another organization's mailbox is not found; a window over 42 days
	// fails every entry.
	r = w.call(w.alice, "", availRequestXML("FreeBusy", "2026-06-01T08:00:00", "2026-06-01T14:00:00", w.stranger.PrimarySmtpAddress))
	if code(find(r.root, "ResponseMessage")) != "ErrorMailRecipientNotFound" {
		t.Fatalf("stranger: %s", r.body)
	}
	r = w.call(w.alice, "", availRequestXML("FreeBusy", "2026-06-01T08:00:00Z", "2026-08-01T08:00:00Z", w.room.PrimarySmtpAddress, room2.PrimarySmtpAddress))
	if ms := findAll(r.root, "ResponseMessage"); len(ms) != 2 || code(ms[0]) != "ErrorTimeIntervalTooBig" || code(ms[1]) != "ErrorTimeIntervalTooBig" {
		t.Fatalf("too big: %s", r.body)
	}
}

func TestAvailZoneOffsets(t *testing.T) {
	r := parseAvailRequest(mustParse(t, `<m:GetUserAvailabilityRequest xmlns:m="`+nsMsgs+`" xmlns:t="`+nsTypes+`">`+berlinAvailZone+`</m:GetUserAvailabilityRequest>`))
	z := r.zone
	for _, c := range []struct {
		utc  string
		want int
	}{{"2026-01-10T12:00:00Z", 60}, {"2026-03-29T00:59:59Z", 60}, {"2026-03-29T01:00:00Z", 120}, {"2026-10-25T00:59:59Z", 120}, {"2026-10-25T01:00:00Z", 60}} {
		u, _ := time.Parse(time.RFC3339, c.utc)
		if got := z.offset(u); got != c.want {
			t.Errorf("offset at %s = %d, want %d", c.utc, got, c.want)
		}
	}
	if got := z.fromLocal(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("fromLocal %s", got)
	}
}

func mustParse(t *testing.T, s string) *node {
	t.Helper()
	n, err := parseXML([]byte(s), limits{maxDepth: 100, maxElements: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkGetUserAvailability50Rooms: free/busy of 50 rooms over one week,
// each with 20 single meetings and a daily series in that week (issue 4,
// item 9).
func BenchmarkGetUserAvailability50Rooms(b *testing.B) {
	w := newWorld(b)
	var addrs []string
	for i := 0; i < 50; i++ {
		room := w.recipient(w.org, fmt.Sprintf("benchroom%d", i), d.RoomMailbox)
		addrs = append(addrs, room.PrimarySmtpAddress)
		var items strings.Builder
		for j := 0; j < 20; j++ {
			day, hour := 1+j%5, 8+j/5*2
			items.WriteString(fmt.Sprintf(`<t:CalendarItem><t:Subject>m%d</t:Subject><t:Start>2026-06-%02dT%02d:00:00Z</t:Start><t:End>2026-06-%02dT%02d:00:00Z</t:End></t:CalendarItem>`, j, day, hour, day, hour+1))
		}
		items.WriteString(`<t:CalendarItem><t:Subject>daily</t:Subject><t:Start>2026-05-01T07:00:00Z</t:Start><t:End>2026-05-01T07:30:00Z</t:End>` +
			`<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NoEndRecurrence><t:StartDate>2026-05-01</t:StartDate></t:NoEndRecurrence></t:Recurrence></t:CalendarItem>`)
		w.mustOK(w.call(w.svc, primary(room), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", room)+`</m:SavedItemFolderId><m:Items>`+items.String()+`</m:Items></m:CreateItem>`))
	}
	req := envelope("Exchange2016", "", availRequestXML("DetailedMerged", "2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z", addrs...))
	b.ReportAllocs()
	for b.Loop() {
		r := w.post(w.alice, req)
		if r.status != 200 || len(findAll(r.root, "FreeBusyResponse")) != 50 {
			b.Fatalf("%d %.500s", r.status, r.body)
		}
	}
}
