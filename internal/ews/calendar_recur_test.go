package ews

import (
	"strings"
	"testing"
)

func TestRecurringSeriesCalendarView(t *testing.T) {
	w := newWorld(t)
	cal := distFolder("calendar", w.room)
	r := w.mustOK(w.call(w.svc, primary(w.room), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+cal+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Weekly</t:Subject>`+
		`<t:Start>2026-03-16T08:00:00Z</t:Start><t:End>2026-03-16T09:00:00Z</t:End>`+
		`<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-16</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`+
		`<t:StartTimeZone Id="W. Europe Standard Time"/><t:EndTimeZone Id="W. Europe Standard Time"/></t:CalendarItem></m:Items></m:CreateItem>`))
	master := find(r.root, "ItemId").attr("Id")
	view := func(max string) resp {
		return w.mustOK(w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="`+max+`" StartDate="2026-03-01T00:00:00Z" EndDate="2026-05-01T00:00:00Z"/><m:ParentFolderIds>`+cal+`</m:ParentFolderIds></m:FindItem>`))
	}
	r = view("10")
	var starts []string
	for _, s := range findAll(r.root, "Start") {
		starts = append(starts, s.Text)
	}
	if got := strings.Join(starts, " "); got != "2026-03-16T08:00:00Z 2026-03-23T08:00:00Z 2026-03-30T07:00:00Z 2026-04-06T07:00:00Z 2026-04-13T07:00:00Z" {
		t.Fatalf("starts %s\n%s", got, r.body)
	}
	rf := find(r.root, "RootFolder")
	if rf.attr("TotalItemsInView") != "5" || rf.attr("IncludesLastItemInRange") != "true" {
		t.Fatalf("root folder %s", r.body)
	}
	r = view("2")
	rf = find(r.root, "RootFolder")
	if len(findAll(r.root, "CalendarItem")) != 2 || rf.attr("TotalItemsInView") != "5" || rf.attr("IncludesLastItemInRange") != "false" {
		t.Fatalf("truncated %s", r.body)
	}
	// Delete the third occurrence by OccurrenceItemId; get the master back
	// from an occurrence id.
	occ3 := w.mustOK(w.call(w.svc, primary(w.room), `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+master+`" InstanceIndex="3"/></m:ItemIds></m:GetItem>`))
	occID := find(occ3.root, "ItemId").attr("Id")
	w.mustOK(w.call(w.svc, primary(w.room), `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="`+occID+`"/></m:ItemIds></m:DeleteItem>`))
	if r := view("10"); len(findAll(r.root, "CalendarItem")) != 4 {
		t.Fatalf("after delete %s", r.body)
	}
	r = w.mustOK(w.call(w.svc, primary(w.room), `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:RecurringMasterItemId OccurrenceId="`+occID+`"/></m:ItemIds></m:GetItem>`))
	if find(r.root, "CalendarItemType").Text != "RecurringMaster" || find(r.root, "DeletedOccurrence") == nil || find(r.root, "StartTimeZone").attr("Id") != "W. Europe Standard Time" {
		t.Fatalf("master %s", r.body)
	}
	// Out of range index; a window over two years.
	r = w.call(w.svc, primary(w.room), `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+master+`" InstanceIndex="6"/></m:ItemIds></m:GetItem>`)
	if code(r.messages()[0]) != "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange" {
		t.Fatal(r.body)
	}
	r = w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-01-01T00:00:00Z" EndDate="2028-06-01T00:00:00Z"/><m:ParentFolderIds>`+cal+`</m:ParentFolderIds></m:FindItem>`)
	if code(r.messages()[0]) != "ErrorCalendarViewRangeTooBig" {
		t.Fatal(r.body)
	}
}
