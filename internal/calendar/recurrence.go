// Package calendar is the pure calendar logic behind EWS calendar items:
// recurrence patterns and ranges as EWS defines them, their expansion into
// occurrences in a series' time zone (so a 09:00 weekly meeting stays at
// 09:00 local across daylight-saving changes), modified and deleted
// occurrences, and the Windows time zone names clients send mapped to IANA
// zones. It has no I/O and knows nothing about XML or storage.
package calendar

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Pattern kinds, named as the EWS elements.
const (
	Daily           = "DailyRecurrence"
	Weekly          = "WeeklyRecurrence"
	AbsoluteMonthly = "AbsoluteMonthlyRecurrence"
	RelativeMonthly = "RelativeMonthlyRecurrence"
	AbsoluteYearly  = "AbsoluteYearlyRecurrence"
	RelativeYearly  = "RelativeYearlyRecurrence"
)

// Range kinds, named as the EWS elements.
const (
	NoEnd    = "NoEndRecurrence"
	EndDate  = "EndDateRecurrence"
	Numbered = "NumberedRecurrence"
)

// Last is the DayOfWeekIndex "Last".
const Last = 5

// Pattern is a recurrence pattern.
type Pattern struct {
	Kind     string
	Interval int // days, weeks, months; 1 for yearly
	// Days holds DaysOfWeek values: Sunday..Saturday, or for the relative
	// patterns also Day, Weekday, WeekendDay.
	Days           []string
	FirstDayOfWeek time.Weekday // weekly; Sunday by default
	DayOfMonth     int          // absolute monthly and yearly
	Index          int          // relative: 1..4, or Last
	Month          time.Month   // yearly
}

// Date is a civil date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads an xs:date ("2026-03-02", optionally with a zone suffix,
// which is ignored: the range's dates are in the series' time zone).
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if len(s) < 10 {
		return Date{}, fmt.Errorf("calendar: %q is not a date", s)
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return Date{}, fmt.Errorf("calendar: %q is not a date", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateOf is the civil date of t in its location.
func DateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

func (d Date) t() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

func (d Date) addDays(n int) Date { return DateOf(d.t().AddDate(0, 0, n)) }

// Before reports d < e.
func (d Date) Before(e Date) bool { return d.t().Before(e.t()) }

// Range is a recurrence range.
type Range struct {
	Kind  string
	Start Date
	End   Date // EndDate
	Count int  // Numbered
}

// Recurrence is a pattern with its range.
type Recurrence struct {
	Pattern Pattern
	Range   Range
}

var weekdays = map[string]time.Weekday{"Sunday": time.Sunday, "Monday": time.Monday, "Tuesday": time.Tuesday,
	"Wednesday": time.Wednesday, "Thursday": time.Thursday, "Friday": time.Friday, "Saturday": time.Saturday}

// Weekday parses a day name.
func Weekday(s string) (time.Weekday, bool) { d, ok := weekdays[s]; return d, ok }

// Validation errors.
var (
	ErrInvalidRecurrence  = errors.New("calendar: invalid recurrence")
	ErrTooManyOccurrences = errors.New("calendar: too many occurrences")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRecurrence, fmt.Sprintf(format, a...))
}

// Validate checks the pattern and range.
func (r *Recurrence) Validate() error {
	p := &r.Pattern
	switch p.Kind {
	case Daily, Weekly, AbsoluteMonthly, RelativeMonthly:
		if p.Interval < 1 || p.Interval > 999 {
			return invalid("Interval %d is out of range", p.Interval)
		}
	case AbsoluteYearly, RelativeYearly:
		p.Interval = 1
	default:
		return invalid("unknown pattern %q", p.Kind)
	}
	switch p.Kind {
	case Weekly:
		if len(p.Days) == 0 {
			return invalid("a weekly pattern needs DaysOfWeek")
		}
		for _, d := range p.Days {
			if _, ok := weekdays[d]; !ok {
				return invalid("DaysOfWeek %q is not a day of the week", d)
			}
		}
	case RelativeMonthly, RelativeYearly:
		if len(p.Days) != 1 {
			return invalid("a relative pattern needs one DaysOfWeek")
		}
		if _, ok := weekdays[p.Days[0]]; !ok && p.Days[0] != "Day" && p.Days[0] != "Weekday" && p.Days[0] != "WeekendDay" {
			return invalid("DaysOfWeek %q is invalid", p.Days[0])
		}
		if p.Index < 1 || p.Index > Last {
			return invalid("DayOfWeekIndex is invalid")
		}
	case AbsoluteMonthly, AbsoluteYearly:
		if p.DayOfMonth < 1 || p.DayOfMonth > 31 {
			return invalid("DayOfMonth %d is out of range", p.DayOfMonth)
		}
	}
	if (p.Kind == AbsoluteYearly || p.Kind == RelativeYearly) && (p.Month < 1 || p.Month > 12) {
		return invalid("Month is invalid")
	}
	switch r.Range.Kind {
	case NoEnd:
	case EndDate:
		if r.Range.End.Before(r.Range.Start) {
			return invalid("EndDate is before StartDate")
		}
	case Numbered:
		if r.Range.Count < 1 || r.Range.Count > 999 {
			return invalid("NumberOfOccurrences %d is out of range", r.Range.Count)
		}
	default:
		return invalid("unknown range %q", r.Range.Kind)
	}
	if r.Range.Start.Year < 1601 || r.Range.Start.Year > 4500 {
		return invalid("StartDate is out of range")
	}
	return nil
}

// dayMatches reports whether the date d is one of the pattern's days.
func dayMatches(name string, d time.Weekday) bool {
	switch name {
	case "Day":
		return true
	case "Weekday":
		return d != time.Saturday && d != time.Sunday
	case "WeekendDay":
		return d == time.Saturday || d == time.Sunday
	}
	return weekdays[name] == d
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// relativeDay is the index-th (1..4, Last) day matching name in the month.
func relativeDay(y int, m time.Month, name string, index int) Date {
	n := daysIn(y, m)
	if index == Last {
		for d := n; d >= 1; d-- {
			if dayMatches(name, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) {
				return Date{y, m, d}
			}
		}
	}
	k := 0
	for d := 1; d <= n; d++ {
		if dayMatches(name, time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) {
			if k++; k == index {
				return Date{y, m, d}
			}
		}
	}
	return Date{y, m, n}
}

// maxDates bounds a walk over a pattern's dates (a daily series since 1601
// is about 160,000 dates).
const maxDates = 400_000

// Dates calls visit for each date of the recurrence in order, from the
// range's start, until visit returns false or the range ends. It returns
// ErrTooManyOccurrences if the walk was cut short by its bound.
func (r *Recurrence) Dates(visit func(Date) bool) error {
	p, rg := &r.Pattern, &r.Range
	n := 0
	emit := func(d Date) bool {
		if d.Before(rg.Start) {
			return true
		}
		if rg.Kind == EndDate && rg.End.Before(d) {
			return false
		}
		if rg.Kind == Numbered && n >= rg.Count {
			return false
		}
		n++
		return visit(d)
	}
	steps := 0
	switch p.Kind {
	case Daily:
		for d := rg.Start; ; d = d.addDays(p.Interval) {
			if steps++; steps > maxDates {
				return ErrTooManyOccurrences
			}
			if !emit(d) {
				return nil
			}
		}
	case Weekly:
		// The week containing the start, beginning on FirstDayOfWeek.
		back := (int(rg.Start.t().Weekday()) - int(p.FirstDayOfWeek) + 7) % 7
		week := rg.Start.addDays(-back)
		var offs []int
		for i := 0; i < 7; i++ {
			wd := time.Weekday((int(p.FirstDayOfWeek) + i) % 7)
			for _, name := range p.Days {
				if weekdays[name] == wd {
					offs = append(offs, i)
					break
				}
			}
		}
		for ; ; week = week.addDays(7 * p.Interval) {
			for _, o := range offs {
				if steps++; steps > maxDates {
					return ErrTooManyOccurrences
				}
				if !emit(week.addDays(o)) {
					return nil
				}
			}
		}
	case AbsoluteMonthly, RelativeMonthly, AbsoluteYearly, RelativeYearly:
		y, m := rg.Start.Year, rg.Start.Month
		step := p.Interval
		if p.Kind == AbsoluteYearly || p.Kind == RelativeYearly {
			m, step = p.Month, 12
			if m < rg.Start.Month {
				y++
			}
		}
		for ; ; m += time.Month(step) {
			for m > 12 {
				m -= 12
				y++
			}
			if steps++; steps > maxDates || y > 9999 {
				return ErrTooManyOccurrences
			}
			var d Date
			if p.Kind == AbsoluteMonthly || p.Kind == AbsoluteYearly {
				d = Date{y, m, min(p.DayOfMonth, daysIn(y, m))}
			} else {
				d = relativeDay(y, m, p.Days[0], p.Index)
			}
			if !emit(d) {
				return nil
			}
		}
	}
	return invalid("unknown pattern %q", p.Kind)
}

// Exception is a modified occurrence: its original start (which identifies
// it) and its new times.
type Exception struct {
	Index         int
	OriginalStart time.Time
	Start, End    time.Time
}

// Series is a recurring master: its recurrence, time zone, the start of its
// first occurrence (whose local time of day every occurrence keeps), the
// occurrences' duration, and its deleted and modified occurrences.
type Series struct {
	Rec      Recurrence
	Loc      *time.Location
	Start    time.Time
	Duration time.Duration
	Deleted  []time.Time // original starts
	Modified []Exception
}

// Occurrence is one instance of a series.
type Occurrence struct {
	Index         int // 1-based, counting deleted occurrences too
	OriginalStart time.Time
	Start, End    time.Time
	Modified      bool
}

func (s *Series) loc() *time.Location {
	if s.Loc == nil {
		return time.UTC
	}
	return s.Loc
}

// at is the occurrence start on date d: the series' local time of day in
// its zone (a time inside a spring-forward gap moves forward by the gap).
func (s *Series) at(d Date) time.Time {
	l := s.Start.In(s.loc())
	return time.Date(d.Year, d.Month, d.Day, l.Hour(), l.Minute(), l.Second(), 0, s.loc()).UTC()
}

func (s *Series) deleted(t time.Time) bool {
	for _, d := range s.Deleted {
		if d.Equal(t) {
			return true
		}
	}
	return false
}

func (s *Series) exception(t time.Time) *Exception {
	for i := range s.Modified {
		if s.Modified[i].OriginalStart.Equal(t) {
			return &s.Modified[i]
		}
	}
	return nil
}

// all walks every occurrence (deleted ones included, flagged by the second
// argument) in original order until visit returns false.
func (s *Series) all(visit func(o Occurrence, deleted bool) bool) error {
	i := 0
	return s.Rec.Dates(func(d Date) bool {
		i++
		st := s.at(d)
		o := Occurrence{Index: i, OriginalStart: st, Start: st, End: st.Add(s.Duration)}
		if e := s.exception(st); e != nil {
			o.Start, o.End, o.Modified = e.Start.UTC(), e.End.UTC(), true
		}
		return visit(o, s.deleted(st))
	})
}

// Expand returns the occurrences overlapping [from, to), by start: an
// occurrence is in the window if it starts before to and ends after from
// (a zero-length one at from counts). Deleted occurrences are left out;
// modified ones appear at their new times.
func (s *Series) Expand(from, to time.Time) ([]Occurrence, error) {
	var out []Occurrence
	seen := map[int]bool{}
	in := func(o Occurrence) bool {
		return o.Start.Before(to) && (o.End.After(from) || o.End.Equal(from) && o.Start.Equal(from))
	}
	err := s.all(func(o Occurrence, del bool) bool {
		if !o.OriginalStart.Before(to) && !o.Start.Before(to) {
			return false
		}
		seen[o.Index] = true
		if !del && in(o) {
			out = append(out, o)
		}
		return true
	})
	// Exceptions moved into the window from beyond its end.
	for _, e := range s.Modified {
		o := Occurrence{Index: e.Index, OriginalStart: e.OriginalStart, Start: e.Start.UTC(), End: e.End.UTC(), Modified: true}
		if !seen[e.Index] && e.Index > 0 && !s.deleted(e.OriginalStart) && in(o) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Index < out[j].Index
	})
	return out, err
}

// ErrNoOccurrence means the index names no occurrence (out of the range or
// deleted).
var ErrNoOccurrence = errors.New("calendar: no such occurrence")

// Occurrence returns the occurrence with that 1-based index.
func (s *Series) Occurrence(index int) (Occurrence, error) {
	var found Occurrence
	ok, del := false, false
	if index < 1 {
		return found, ErrNoOccurrence
	}
	err := s.all(func(o Occurrence, d bool) bool {
		if o.Index == index {
			found, ok, del = o, true, d
			return false
		}
		return true
	})
	if err != nil {
		return found, err
	}
	if !ok || del {
		return found, ErrNoOccurrence
	}
	return found, nil
}

// ByOriginalStart returns the index of the occurrence originally at t.
func (s *Series) ByOriginalStart(t time.Time) (Occurrence, error) {
	var found Occurrence
	ok := false
	err := s.all(func(o Occurrence, _ bool) bool {
		if o.OriginalStart.Equal(t) {
			found, ok = o, true
			return false
		}
		return o.OriginalStart.Before(t)
	})
	if err != nil {
		return found, err
	}
	if !ok {
		return found, ErrNoOccurrence
	}
	return found, nil
}

// FirstLast returns the first and last remaining occurrences; last is
// unset (ok false) for a series without end.
func (s *Series) FirstLast() (first, last Occurrence, hasFirst, hasLast bool, err error) {
	err = s.all(func(o Occurrence, del bool) bool {
		if del {
			return true
		}
		if !hasFirst {
			first, hasFirst = o, true
			if s.Rec.Range.Kind == NoEnd {
				return false
			}
		}
		last, hasLast = o, true
		return true
	})
	return
}

func sortStrings(s []string) { sort.Strings(s) }
