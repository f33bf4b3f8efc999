package ews

import (
	"strings"
	"testing"
	"time"
)

func TestGetServerTimeZones(t *testing.T) {
	w := newWorld(t)
	// Every zone, ids only.
	r := w.mustOK(w.call(w.alice, "", `<m:GetServerTimeZones ReturnFullTimeZoneData="false"/>`))
	defs := findAll(r.root, "TimeZoneDefinition")
	if len(defs) < 100 || find(r.root, "Periods") != nil {
		t.Fatalf("%d definitions: %.2000s", len(defs), r.body)
	}
	// Full data for two ids, in request order.
	r = w.mustOK(w.call(w.alice, "", `<m:GetServerTimeZones ReturnFullTimeZoneData="true"><m:Ids><t:Id>W. Europe Standard Time</t:Id><t:Id>AUS Eastern Standard Time</t:Id><t:Id>UTC</t:Id></m:Ids></m:GetServerTimeZones>`))
	defs = findAll(r.root, "TimeZoneDefinition")
	if len(defs) != 3 || defs[0].attr("Id") != "W. Europe Standard Time" || defs[0].attr("Name") != "(UTC+01:00) W. Europe Standard Time" {
		t.Fatalf("%s", r.body)
	}
	periods := findAll(defs[0], "Period")
	if len(periods) != 2 || periods[0].attr("Bias") != "-PT1H" || periods[0].attr("Name") != "Standard" || periods[1].attr("Bias") != "-PT2H" {
		t.Fatalf("berlin periods: %s", r.body)
	}
	tr := findAll(defs[0], "RecurringDayTransition")
	if len(tr) != 2 || tr[0].childText("Month") != "3" || tr[0].childText("Occurrence") != "-1" || tr[0].childText("DayOfWeek") != "Sunday" ||
		tr[0].childText("TimeOffset") != "PT2H" || tr[1].childText("Month") != "10" || tr[1].childText("TimeOffset") != "PT3H" {
		t.Fatalf("berlin transitions: %s", r.body)
	}
	// Sydney: daylight from the first Sunday of October, standard from the
	// first Sunday of April at 03:00 daylight time.
	tr = findAll(defs[1], "RecurringDayTransition")
	if len(tr) != 2 || tr[0].childText("Month") != "10" || tr[0].childText("Occurrence") != "1" || tr[1].childText("Month") != "4" || tr[1].childText("TimeOffset") != "PT3H" {
		t.Fatalf("sydney transitions: %s", r.body)
	}
	if ps := findAll(defs[2], "Period"); len(ps) != 1 || ps[0].attr("Bias") != "PT0M" || find(defs[2], "RecurringDayTransition") != nil {
		t.Fatalf("utc: %s", r.body)
	}
	// An unknown id.
	r = w.call(w.alice, "", `<m:GetServerTimeZones><m:Ids><t:Id>Mars Standard Time</t:Id></m:Ids></m:GetServerTimeZones>`)
	if code(r.messages()[0]) != "ErrorTimeZone" {
		t.Fatalf("unknown: %s", r.body)
	}
}

func TestTimeZoneContextCalendarView(t *testing.T) {
	w := newWorld(t)
	cal := distFolder("calendar", w.room)
	w.mustOK(w.call(w.svc, primary(w.room), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+cal+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Late</t:Subject>`+
		`<t:Start>2026-06-01T22:30:00Z</t:Start><t:End>2026-06-01T23:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>`))
	// 22:30 UTC on 1 June is 00:30 on 2 June in Berlin: a naive window of
	// 2 June finds it only with a Berlin TimeZoneContext.
	find2 := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:CalendarView StartDate="2026-06-02T00:00:00" EndDate="2026-06-03T00:00:00"/><m:ParentFolderIds>` + cal + `</m:ParentFolderIds></m:FindItem>`
	if r := w.mustOK(w.call(w.svc, primary(w.room), find2)); len(findAll(r.root, "CalendarItem")) != 0 {
		t.Fatalf("UTC window: %s", r.body)
	}
	hdr := `<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>`
	r := w.mustOK(w.post(w.svc, envelopeWithHeader(hdr, primary(w.room), find2)))
	if len(findAll(r.root, "CalendarItem")) != 1 {
		t.Fatalf("Berlin window: %s", r.body)
	}
}

func TestZoneRule(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	r := ruleFor(loc, 2026)
	if !r.hasDST || r.std != -5*3600 || r.dst != -4*3600 || r.toDST.month != 3 || r.toDST.occurrence != 2 || r.toStd.month != 11 || r.toStd.occurrence != 1 || r.toStd.offset != 2*time.Hour {
		t.Fatalf("%+v", r)
	}
	if s := xsDuration(5*3600 + 30*60); s != "PT5H30M" {
		t.Fatal(s)
	}
}

func envelopeWithHeader(extra, impersonate, body string) string {
	return strings.Replace(envelope("Exchange2016", impersonate, body), "<s:Header>", "<s:Header>"+extra, 1)
}
