package ews

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actasmail/actas/internal/calendar"
)

// GetServerTimeZones (issue 4) answers from internal/calendar's table of
// Windows time zone names (mapped to IANA zones). With
// ReturnFullTimeZoneData each definition carries its periods and one
// transitions group: the zone's rule as it stands in the current year,
// derived from the IANA transitions of that year (month, weekday, which
// week — -1 for the last — and the wall-clock time of the change). A zone
// whose offset does not change in that year (or changes other than twice)
// has a single Standard period. exchangelib's get_free_busy_info builds its
// availability TimeZone from exactly this.
//
// TimeZoneContext (SOAP header): its TimeZoneDefinition Id names the zone
// in which times without a UTC offset are read (CalendarView bounds);
// times with Z or an offset are unaffected, and an unknown Id is ignored.

// zoneRule is a zone's standard and daylight offsets (seconds east of UTC)
// and, with daylight time, the two yearly transitions.
type zoneRule struct {
	std, dst int
	toDST    zoneChange
	toStd    zoneChange
	hasDST   bool
}

// zoneChange is a yearly transition: in month, the occurrence-th weekday
// (-1 = last), at wall-clock time offset (in the time before the change).
type zoneChange struct {
	month      time.Month
	weekday    time.Weekday
	occurrence int
	offset     time.Duration
}

// ruleCache holds ruleFor's answers by zone and year (they never change).
var ruleCache sync.Map // "zone|year" → zoneRule

func ruleFor(loc *time.Location, year int) zoneRule {
	key := loc.String() + "|" + strconv.Itoa(year)
	if r, ok := ruleCache.Load(key); ok {
		return r.(zoneRule)
	}
	r := computeRule(loc, year)
	ruleCache.Store(key, r)
	return r
}

func computeRule(loc *time.Location, year int) zoneRule {
	from := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	_, off0 := from.In(loc).Zone()
	tr := calendar.Transitions(loc, from, to)
	if len(tr) != 2 || tr[0].Offset == tr[1].Offset {
		_, off := to.Add(-time.Second).In(loc).Zone()
		if len(tr) == 0 {
			off = off0
		}
		return zoneRule{std: off, dst: off}
	}
	change := func(t calendar.Transition, before int) zoneChange {
		wall := t.At.Add(time.Duration(before) * time.Second).UTC()
		occ := (wall.Day()-1)/7 + 1
		if wall.Day()+7 > time.Date(wall.Year(), wall.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day() {
			occ = -1
		}
		mid := time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC)
		return zoneChange{month: wall.Month(), weekday: wall.Weekday(), occurrence: occ, offset: wall.Sub(mid)}
	}
	a, b := tr[0], tr[1] // a leaves off0, b returns to it
	r := zoneRule{hasDST: true}
	if a.Offset > off0 { // northern: a is to daylight
		r.std, r.dst = off0, a.Offset
		r.toDST, r.toStd = change(a, off0), change(b, a.Offset)
	} else { // southern: a is to standard
		r.std, r.dst = a.Offset, off0
		r.toStd, r.toDST = change(a, off0), change(b, a.Offset)
	}
	return r
}

// xsDuration writes seconds as an xs:duration ("-PT1H", "PT5H30M", "PT0M").
func xsDuration(sec int) string {
	var b strings.Builder
	if sec < 0 {
		b.WriteByte('-')
		sec = -sec
	}
	b.WriteString("PT")
	h, m, s := sec/3600, sec%3600/60, sec%60
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 || h == 0 && s == 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}

// zoneDisplayName is "(UTC+01:00) W. Europe Standard Time".
func zoneDisplayName(id string, std int) string {
	if std == 0 {
		return "(UTC) " + id
	}
	sign := '+'
	if std < 0 {
		sign, std = '-', -std
	}
	return fmt.Sprintf("(UTC%c%02d:%02d) %s", sign, std/3600, std%3600/60, id)
}

func writeZoneDefinition(w *xw, id string, loc *time.Location, year int, full bool) {
	r := ruleFor(loc, year)
	w.open("t:TimeZoneDefinition")
	w.attr("Id", id)
	w.attr("Name", zoneDisplayName(id, r.std))
	if !full {
		w.emptyEnd()
		return
	}
	w.openEnd()
	base := fmt.Sprintf("trule:Microsoft/Registry/%s/%d-", id, year)
	w.start("t:Periods")
	w.open("t:Period")
	w.attr("Bias", xsDuration(-r.std))
	w.attr("Name", "Standard")
	w.attr("Id", base+"Standard")
	w.emptyEnd()
	if r.hasDST {
		w.open("t:Period")
		w.attr("Bias", xsDuration(-r.dst))
		w.attr("Name", "Daylight")
		w.attr("Id", base+"Daylight")
		w.emptyEnd()
	}
	w.end("t:Periods")
	w.start("t:TransitionsGroups")
	w.open("t:TransitionsGroup")
	w.attr("Id", "0")
	w.openEnd()
	to := func(kind, v string) {
		w.open("t:To")
		w.attr("Kind", kind)
		w.openEnd()
		w.text(v)
		w.end("t:To")
	}
	if !r.hasDST {
		w.start("t:Transition")
		to("Period", base+"Standard")
		w.end("t:Transition")
	} else {
		day := func(c zoneChange, period string) {
			w.start("t:RecurringDayTransition")
			to("Period", base+period)
			w.elem("t:TimeOffset", xsDuration(int(c.offset/time.Second)))
			w.elem("t:Month", fmt.Sprint(int(c.month)))
			w.elem("t:DayOfWeek", c.weekday.String())
			w.elem("t:Occurrence", fmt.Sprint(c.occurrence))
			w.end("t:RecurringDayTransition")
		}
		day(r.toDST, "Daylight")
		day(r.toStd, "Standard")
	}
	w.end("t:TransitionsGroup")
	w.end("t:TransitionsGroups")
	w.start("t:Transitions")
	w.start("t:Transition")
	to("Group", "0")
	w.end("t:Transition")
	w.end("t:Transitions")
	w.end("t:TimeZoneDefinition")
}

func opGetServerTimeZones(rc *reqCtx, op *node, w *xw) error {
	full := op.attr("ReturnFullTimeZoneData") == "true" || op.attr("ReturnFullTimeZoneData") == "1"
	var ids []string
	if n := op.child("Ids"); n != nil {
		for _, c := range n.all("Id") {
			ids = append(ids, strings.TrimSpace(c.Text))
		}
	} else {
		ids = calendar.WindowsNames()
	}
	type zone struct {
		id  string
		loc *time.Location
	}
	zones := make([]zone, 0, len(ids))
	var bad string
	for _, id := range ids {
		loc, err := calendar.Location(id)
		if err != nil || strings.Contains(id, "/") {
			bad = id
			break
		}
		// The canonical spelling of the id (clients vary in case).
		for _, wn := range calendar.WindowsNames() {
			if strings.EqualFold(wn, id) {
				id = wn
			}
		}
		zones = append(zones, zone{id, loc})
	}
	beginResponse(w, "GetServerTimeZones")
	if bad != "" {
		writeErrorMessage(w, "GetServerTimeZonesResponseMessage",
			newErr("ErrorTimeZone", "The time zone '"+bad+"' is not a time zone this server knows."))
		endResponse(w, "GetServerTimeZones")
		return nil
	}
	if op.child("Ids") == nil {
		// Exchange lists zones by their offset, west to east.
		year := rc.now.Year()
		std := make(map[string]int, len(zones))
		for _, z := range zones {
			std[z.id] = ruleFor(z.loc, year).std
		}
		sort.SliceStable(zones, func(i, j int) bool {
			a, b := std[zones[i].id], std[zones[j].id]
			if a != b {
				return a < b
			}
			return zones[i].id < zones[j].id
		})
	}
	okStart(w, "GetServerTimeZonesResponseMessage")
	w.start("m:TimeZoneDefinitions")
	for _, z := range zones {
		writeZoneDefinition(w, z.id, z.loc, rc.now.Year(), full)
	}
	w.end("m:TimeZoneDefinitions")
	w.end("m:GetServerTimeZonesResponseMessage")
	endResponse(w, "GetServerTimeZones")
	return nil
}

// timeZoneContext reads the TimeZoneContext SOAP header (nil when absent
// or unknown).
func timeZoneContext(header *node) *time.Location {
	if header == nil {
		return nil
	}
	for _, c := range header.Children {
		if c.Space != nsTypes || c.Local != "TimeZoneContext" {
			continue
		}
		if d := c.child("TimeZoneDefinition"); d != nil {
			if loc, err := calendar.Location(d.attr("Id")); err == nil {
				return loc
			}
		}
	}
	return nil
}

// hasZone reports whether an xs:dateTime carries Z or a UTC offset.
func hasZone(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return true
	}
	if i := strings.IndexByte(s, 'T'); i >= 0 {
		rest := s[i:]
		return strings.ContainsAny(rest, "+") || strings.Count(rest, "-") > 0
	}
	return false
}

// parseTimeIn parses an xs:dateTime; one without Z or offset is wall-clock
// time in loc (UTC when loc is nil).
func parseTimeIn(s string, loc *time.Location) (time.Time, bool) {
	t, ok := parseTime(s)
	if !ok || loc == nil || hasZone(s) {
		return t, ok
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UTC(), true
}
