package calendar

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := Location(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return l
}

func d(s string) Date {
	x, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return x
}

func TestDates(t *testing.T) {
	tests := []struct {
		name string
		rec  Recurrence
		max  int
		want string
	}{
		{"daily every 2 numbered", Recurrence{Pattern{Kind: Daily, Interval: 2}, Range{Kind: Numbered, Start: d("2026-01-30"), Count: 3}}, 10,
			"2026-01-30 2026-02-01 2026-02-03"},
		{"daily end date inclusive", Recurrence{Pattern{Kind: Daily, Interval: 1}, Range{Kind: EndDate, Start: d("2026-02-27"), End: d("2026-03-02")}}, 10,
			"2026-02-27 2026-02-28 2026-03-01 2026-03-02"},
		{"weekly mon wed, start on a tuesday", Recurrence{Pattern{Kind: Weekly, Interval: 1, Days: []string{"Wednesday", "Monday"}}, Range{Kind: Numbered, Start: d("2026-03-03"), Count: 4}}, 10,
			"2026-03-04 2026-03-09 2026-03-11 2026-03-16"},
		{"weekly every 2 weeks, week starts monday", Recurrence{Pattern{Kind: Weekly, Interval: 2, Days: []string{"Sunday", "Monday"}, FirstDayOfWeek: time.Monday}, Range{Kind: NoEnd, Start: d("2026-03-02")}}, 4,
			"2026-03-02 2026-03-08 2026-03-16 2026-03-22"},
		{"weekly every 2 weeks, week starts sunday", Recurrence{Pattern{Kind: Weekly, Interval: 2, Days: []string{"Sunday", "Monday"}}, Range{Kind: NoEnd, Start: d("2026-03-02")}}, 4,
			"2026-03-02 2026-03-15 2026-03-16 2026-03-29"},
		{"absolute monthly 31st clamps", Recurrence{Pattern{Kind: AbsoluteMonthly, Interval: 1, DayOfMonth: 31}, Range{Kind: Numbered, Start: d("2026-01-15"), Count: 4}}, 10,
			"2026-01-31 2026-02-28 2026-03-31 2026-04-30"},
		{"absolute monthly every 3", Recurrence{Pattern{Kind: AbsoluteMonthly, Interval: 3, DayOfMonth: 10}, Range{Kind: EndDate, Start: d("2026-01-11"), End: d("2026-12-31")}}, 10,
			"2026-04-10 2026-07-10 2026-10-10"},
		{"relative monthly second tuesday", Recurrence{Pattern{Kind: RelativeMonthly, Interval: 1, Days: []string{"Tuesday"}, Index: 2}, Range{Kind: Numbered, Start: d("2026-01-01"), Count: 3}}, 10,
			"2026-01-13 2026-02-10 2026-03-10"},
		{"relative monthly last weekday", Recurrence{Pattern{Kind: RelativeMonthly, Interval: 1, Days: []string{"Weekday"}, Index: Last}, Range{Kind: Numbered, Start: d("2026-01-01"), Count: 3}}, 10,
			"2026-01-30 2026-02-27 2026-03-31"},
		{"relative monthly first weekend day", Recurrence{Pattern{Kind: RelativeMonthly, Interval: 1, Days: []string{"WeekendDay"}, Index: 1}, Range{Kind: Numbered, Start: d("2026-02-01"), Count: 2}}, 10,
			"2026-02-01 2026-03-01"},
		{"absolute yearly feb 29", Recurrence{Pattern{Kind: AbsoluteYearly, DayOfMonth: 29, Month: 2}, Range{Kind: Numbered, Start: d("2027-01-01"), Count: 2}}, 10,
			"2027-02-28 2028-02-29"},
		{"absolute yearly starting after the month", Recurrence{Pattern{Kind: AbsoluteYearly, DayOfMonth: 1, Month: 3}, Range{Kind: NoEnd, Start: d("2026-03-02")}}, 2,
			"2027-03-01 2028-03-01"},
		{"relative yearly last sunday of october", Recurrence{Pattern{Kind: RelativeYearly, Days: []string{"Sunday"}, Index: Last, Month: 10}, Range{Kind: Numbered, Start: d("2026-01-01"), Count: 2}}, 10,
			"2026-10-25 2027-10-31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rec.Validate(); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := tc.rec.Dates(func(x Date) bool {
				got = append(got, x.String())
				return len(got) < tc.max
			})
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Fatalf("got  %s\nwant %s", g, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	bad := []Recurrence{
		{Pattern{Kind: Daily, Interval: 0}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: Weekly, Interval: 1}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: Weekly, Interval: 1, Days: []string{"Funday"}}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: AbsoluteMonthly, Interval: 1, DayOfMonth: 32}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: RelativeMonthly, Interval: 1, Days: []string{"Monday"}, Index: 0}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: AbsoluteYearly, DayOfMonth: 1, Month: 13}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
		{Pattern{Kind: Daily, Interval: 1}, Range{Kind: EndDate, Start: d("2026-01-02"), End: d("2026-01-01")}},
		{Pattern{Kind: Daily, Interval: 1}, Range{Kind: Numbered, Start: d("2026-01-01"), Count: 0}},
		{Pattern{Kind: "Hourly", Interval: 1}, Range{Kind: NoEnd, Start: d("2026-01-01")}},
	}
	for i, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalidRecurrence) {
			t.Errorf("%d: %v", i, err)
		}
	}
}

// A weekly 09:00 meeting in Berlin stays at 09:00 local across the change
// to summer time on 29 March 2026 (08:00 UTC before, 07:00 UTC after); one
// occurrence is moved and one deleted.
func TestWeeklySeriesAcrossDST(t *testing.T) {
	berlin := mustLoc(t, "W. Europe Standard Time")
	start := time.Date(2026, 3, 16, 9, 0, 0, 0, berlin)
	s := &Series{
		Rec:      Recurrence{Pattern{Kind: Weekly, Interval: 1, Days: []string{"Monday"}}, Range{Kind: Numbered, Start: d("2026-03-16"), Count: 5}},
		Loc:      berlin,
		Start:    start,
		Duration: time.Hour,
	}
	utc := func(s string) time.Time { x, _ := time.Parse(time.RFC3339, s); return x }
	s.Deleted = []time.Time{utc("2026-03-30T07:00:00Z")}
	s.Modified = []Exception{{Index: 4, OriginalStart: utc("2026-04-06T07:00:00Z"), Start: utc("2026-04-07T12:00:00Z"), End: utc("2026-04-07T13:30:00Z")}}
	occ, err := s.Expand(utc("2026-03-01T00:00:00Z"), utc("2026-05-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range occ {
		got = append(got, itoa(o.Index)+"@"+o.Start.Format(time.RFC3339)+"-"+o.End.Format("15:04")+map[bool]string{true: "*"}[o.Modified])
	}
	want := "1@2026-03-16T08:00:00Z-09:00 2@2026-03-23T08:00:00Z-09:00 4@2026-04-07T12:00:00Z-13:30* 5@2026-04-13T07:00:00Z-08:00"
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("got  %s\nwant %s", g, want)
	}
	for _, o := range occ {
		if l := o.OriginalStart.In(berlin); l.Hour() != 9 {
			t.Errorf("occurrence %d at %s local", o.Index, l)
		}
	}
	// Window edges: the window [08:30, 09:00) UTC of the 16th overlaps
	// occurrence 1; [09:00, ...) does not.
	if o, _ := s.Expand(utc("2026-03-16T08:30:00Z"), utc("2026-03-16T09:00:00Z")); len(o) != 1 {
		t.Errorf("overlap: %v", o)
	}
	if o, _ := s.Expand(utc("2026-03-16T09:00:00Z"), utc("2026-03-23T08:00:00Z")); len(o) != 0 {
		t.Errorf("end edge: %v", o)
	}
	// Moved beyond the window's end into it.
	s.Modified = append(s.Modified, Exception{Index: 5, OriginalStart: utc("2026-04-13T07:00:00Z"), Start: utc("2026-03-20T07:00:00Z"), End: utc("2026-03-20T08:00:00Z")})
	if o, _ := s.Expand(utc("2026-03-19T00:00:00Z"), utc("2026-03-21T00:00:00Z")); len(o) != 1 || o[0].Index != 5 {
		t.Errorf("moved into window: %v", o)
	}
	if _, err := s.Occurrence(3); !errors.Is(err, ErrNoOccurrence) {
		t.Errorf("deleted occurrence: %v", err)
	}
	if o, err := s.Occurrence(2); err != nil || !o.Start.Equal(utc("2026-03-23T08:00:00Z")) {
		t.Errorf("occurrence 2: %v %v", o, err)
	}
	if _, err := s.Occurrence(6); !errors.Is(err, ErrNoOccurrence) {
		t.Errorf("occurrence 6: %v", err)
	}
	first, last, hf, hl, err := s.FirstLast()
	if err != nil || !hf || !hl || first.Index != 1 || last.Index != 5 {
		t.Errorf("first/last %v %v %v %v %v", first, last, hf, hl, err)
	}
	if o, err := s.ByOriginalStart(utc("2026-03-23T08:00:00Z")); err != nil || o.Index != 2 {
		t.Errorf("by original start: %v %v", o, err)
	}
}

// New York moves to summer time on 8 March 2026: a daily 08:30 series.
func TestDailyNewYorkDST(t *testing.T) {
	ny := mustLoc(t, "Eastern Standard Time")
	s := &Series{Rec: Recurrence{Pattern{Kind: Daily, Interval: 1}, Range{Kind: NoEnd, Start: d("2026-03-07")}},
		Loc: ny, Start: time.Date(2026, 3, 7, 8, 30, 0, 0, ny), Duration: 30 * time.Minute}
	occ, err := s.Expand(time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	if err != nil || len(occ) != 3 {
		t.Fatalf("%v %v", occ, err)
	}
	if occ[0].Start.Hour() != 13 || occ[1].Start.Hour() != 12 || occ[2].Start.Hour() != 12 {
		t.Fatalf("UTC hours %v %v %v", occ[0].Start, occ[1].Start, occ[2].Start)
	}
}

func TestZones(t *testing.T) {
	for win, iana := range map[string]string{"Pacific Standard Time": "America/Los_Angeles", "W. Europe Standard Time": "Europe/Berlin",
		"UTC": "Etc/UTC", "Tokyo Standard Time": "Asia/Tokyo", "india standard time": "Asia/Calcutta", "Europe/Paris": "Europe/Paris"} {
		if l := mustLoc(t, win); l.String() != iana {
			t.Errorf("%s -> %s, want %s", win, l, iana)
		}
	}
	if _, err := Location("Mars Standard Time"); !errors.Is(err, ErrUnknownZone) {
		t.Errorf("unknown: %v", err)
	}
	if n := WindowsName(mustLoc(t, "Romance Standard Time")); n != "Romance Standard Time" {
		t.Errorf("windows name %s", n)
	}
	if n := WindowsName(time.UTC); n != "UTC" {
		t.Errorf("utc %s", n)
	}
	for _, w := range WindowsNames() {
		if _, err := Location(w); err != nil {
			t.Errorf("%s: %v", w, err)
		}
	}
	tr := Transitions(mustLoc(t, "W. Europe Standard Time"), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(tr) != 2 || !tr[0].At.Equal(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)) || tr[0].Offset != 7200 || tr[1].Offset != 3600 {
		t.Errorf("transitions %v", tr)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
