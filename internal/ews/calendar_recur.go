package ews

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/calendar"
	"github.com/actasmail/actas/internal/mailbox"
)

// Recurring calendar items (issue 4). A recurring master is an appointment
// with a recurrence under calRecur; its deleted occurrences (original
// starts) and modified occurrences (exceptions: new times, subject,
// location) live under two more reserved Extended keys, so the mailbox
// store needs no schema change. Occurrences are never stored: they are
// computed by internal/calendar in the series' time zone (StartTimeZone,
// a Windows name mapped to IANA) and handed out as copies of the master
// carrying calOccIndex, with ids that name the master and the instance
// index.

const (
	calTZ       = "actas:cal:tz"       // IANA zone of the start (StartTimeZone)
	calEndTZ    = "actas:cal:endtz"    // IANA zone of the end (EndTimeZone)
	calRecur    = "actas:cal:recur"    // JSON calendar.Recurrence
	calDeleted  = "actas:cal:deleted"  // JSON []time.Time, original starts
	calModified = "actas:cal:modified" // JSON []calException
	// calOccIndex and calOccOrig mark an occurrence handed out by the
	// server (never stored).
	calOccIndex = "actas:cal:occ"
	calOccOrig  = "actas:cal:occorig"
)

// calException is a modified occurrence.
type calException struct {
	Index         int       `json:"i"`
	OriginalStart time.Time `json:"o"`
	Start         time.Time `json:"s"`
	End           time.Time `json:"e"`
	Subject       *string   `json:"subj,omitempty"`
	Location      *string   `json:"loc,omitempty"`
}

func isMaster(it *mailbox.Item) bool {
	return it.Extended[calRecur] != "" && it.Extended[calOccIndex] == ""
}
func isOccurrence(it *mailbox.Item) bool { return it.Extended[calOccIndex] != "" }

func itemLoc(it *mailbox.Item, key string) *time.Location {
	if z := it.Extended[key]; z != "" {
		if l, err := time.LoadLocation(z); err == nil {
			return l
		}
	}
	return time.UTC
}

func exceptionsOf(it *mailbox.Item) []calException {
	var ex []calException
	if v := it.Extended[calModified]; v != "" {
		_ = json.Unmarshal([]byte(v), &ex)
	}
	return ex
}

func deletedOf(it *mailbox.Item) []time.Time {
	var d []time.Time
	if v := it.Extended[calDeleted]; v != "" {
		_ = json.Unmarshal([]byte(v), &d)
	}
	return d
}

// seriesOf builds the series of a recurring master.
func seriesOf(it *mailbox.Item) (*calendar.Series, bool) {
	v := it.Extended[calRecur]
	if v == "" {
		return nil, false
	}
	var rec calendar.Recurrence
	if json.Unmarshal([]byte(v), &rec) != nil {
		return nil, false
	}
	start, _ := calTime(it, calStart)
	end, _ := calTime(it, calEnd)
	s := &calendar.Series{Rec: rec, Loc: itemLoc(it, calTZ), Start: start, Duration: end.Sub(start), Deleted: deletedOf(it)}
	for _, e := range exceptionsOf(it) {
		s.Modified = append(s.Modified, calendar.Exception{Index: e.Index, OriginalStart: e.OriginalStart, Start: e.Start, End: e.End})
	}
	return s, true
}

// occurrenceItem is the occurrence o of master m, as a copy of the master.
func occurrenceItem(m *mailbox.Item, o calendar.Occurrence) *mailbox.Item {
	c := *m
	c.Extended = cloneMap(m.Extended)
	c.Extended[calStart] = o.Start.UTC().Format(time.RFC3339)
	c.Extended[calEnd] = o.End.UTC().Format(time.RFC3339)
	c.Extended[calOccIndex] = strconv.Itoa(o.Index)
	c.Extended[calOccOrig] = o.OriginalStart.UTC().Format(time.RFC3339)
	if o.Modified {
		for _, e := range exceptionsOf(m) {
			if e.Index == o.Index {
				if e.Subject != nil {
					c.Subject = *e.Subject
				}
				if e.Location != nil {
					c.Extended[calLocation] = *e.Location
				}
			}
		}
	}
	return &c
}

// Occurrence ids: standard base64 of "\x02O" + the master's id + "#" +
// the instance index. The leading byte is not a mailbox id version, so a
// master id and an occurrence id can never be confused.
const occPrefix = "\x02O"

func occurrenceID(it *mailbox.Item) string {
	return base64.StdEncoding.EncodeToString([]byte(occPrefix + encodeID(mailbox.ID{Kind: mailbox.KindItem, Mailbox: it.Mailbox, Key: it.Key}) + "#" + it.Extended[calOccIndex]))
}

func decodeOccurrenceID(s string) (master string, index int, ok bool) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || !strings.HasPrefix(string(b), occPrefix) {
		return "", 0, false
	}
	rest := string(b[len(occPrefix):])
	i := strings.LastIndexByte(rest, '#')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return rest[:i], n, true
}

// occurrenceByIndex loads a master and returns its occurrence.
func (rc *reqCtx) occurrenceByIndex(masterID string, index int) (*mailbox.Item, *ewsErr) {
	m, e := rc.loadItem(masterID)
	if e != nil {
		return nil, e
	}
	s, ok := seriesOf(m)
	if !ok || isOccurrence(m) {
		return nil, newErr("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The item is not a recurring master.")
	}
	o, err := s.Occurrence(index)
	if err != nil {
		return nil, newErr("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of the recurrence range.")
	}
	return occurrenceItem(m, o), nil
}

// recurrenceRef resolves OccurrenceItemId, RecurringMasterItemId and
// occurrence ids in ItemId.
func (rc *reqCtx) recurrenceRef(n *node) (*mailbox.Item, *ewsErr) {
	switch n.Local {
	case "OccurrenceItemId":
		idx, err := strconv.Atoi(strings.TrimSpace(n.attr("InstanceIndex")))
		if err != nil || idx < 1 {
			return nil, newErr("ErrorInvalidIdMalformed", "InstanceIndex is invalid.")
		}
		return rc.occurrenceByIndex(n.attr("RecurringMasterId"), idx)
	case "RecurringMasterItemId":
		id := n.attr("OccurrenceId")
		if master, _, ok := decodeOccurrenceID(id); ok {
			return rc.loadItem(master)
		}
		it, e := rc.loadItem(id)
		if e != nil {
			return nil, e
		}
		if !isMaster(it) {
			return nil, newErr("ErrorItemIsNotTemplate", "The item is not an occurrence of a recurring series.")
		}
		return it, nil
	}
	master, idx, _ := decodeOccurrenceID(n.attr("Id"))
	return rc.occurrenceByIndex(master, idx)
}

// --- parsing and writing recurrence ---

var monthNames = map[string]time.Month{}

func init() {
	for m := time.January; m <= time.December; m++ {
		monthNames[m.String()] = m
	}
}

var dayIndexes = map[string]int{"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": calendar.Last}
var dayIndexNames = []string{"", "First", "Second", "Third", "Fourth", "Last"}

func parseRecurrence(n *node) (calendar.Recurrence, *ewsErr) {
	var r calendar.Recurrence
	bad := func(msg string) (calendar.Recurrence, *ewsErr) {
		return r, newErr("ErrorInvalidRecurrence", msg)
	}
	for _, c := range n.Children {
		switch c.Local {
		case calendar.Daily, calendar.Weekly, calendar.AbsoluteMonthly, calendar.RelativeMonthly, calendar.AbsoluteYearly, calendar.RelativeYearly:
			p := calendar.Pattern{Kind: c.Local}
			if v := c.childText("Interval"); v != "" {
				i, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return bad("Interval is not a number.")
				}
				p.Interval = i
			}
			p.Days = strings.Fields(c.childText("DaysOfWeek"))
			if v := c.childText("FirstDayOfWeek"); v != "" {
				d, ok := calendar.Weekday(strings.TrimSpace(v))
				if !ok {
					return bad("FirstDayOfWeek is invalid.")
				}
				p.FirstDayOfWeek = d
			}
			if v := c.childText("DayOfMonth"); v != "" {
				p.DayOfMonth, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if v := c.childText("DayOfWeekIndex"); v != "" {
				p.Index = dayIndexes[strings.TrimSpace(v)]
			}
			if v := c.childText("Month"); v != "" {
				p.Month = monthNames[strings.TrimSpace(v)]
			}
			r.Pattern = p
		case calendar.NoEnd, calendar.EndDate, calendar.Numbered:
			rg := calendar.Range{Kind: c.Local}
			var err error
			if rg.Start, err = calendar.ParseDate(c.childText("StartDate")); err != nil {
				return bad("StartDate is not a date.")
			}
			if c.Local == calendar.EndDate {
				if rg.End, err = calendar.ParseDate(c.childText("EndDate")); err != nil {
					return bad("EndDate is not a date.")
				}
			}
			if c.Local == calendar.Numbered {
				rg.Count, _ = strconv.Atoi(strings.TrimSpace(c.childText("NumberOfOccurrences")))
			}
			r.Range = rg
		}
	}
	if r.Pattern.Kind == "" || r.Range.Kind == "" {
		return bad("A recurrence needs a pattern and a range.")
	}
	if err := r.Validate(); err != nil {
		return bad(strings.TrimPrefix(err.Error(), "calendar: invalid recurrence: "))
	}
	return r, nil
}

func writeRecurrence(w *xw, r *calendar.Recurrence) {
	p := &r.Pattern
	w.start("t:Recurrence")
	w.start("t:" + p.Kind)
	switch p.Kind {
	case calendar.Daily:
		w.elemInt("t:Interval", int64(p.Interval))
	case calendar.Weekly:
		w.elemInt("t:Interval", int64(p.Interval))
		w.elem("t:DaysOfWeek", strings.Join(p.Days, " "))
		w.elem("t:FirstDayOfWeek", p.FirstDayOfWeek.String())
	case calendar.AbsoluteMonthly:
		w.elemInt("t:Interval", int64(p.Interval))
		w.elemInt("t:DayOfMonth", int64(p.DayOfMonth))
	case calendar.RelativeMonthly:
		w.elemInt("t:Interval", int64(p.Interval))
		w.elem("t:DaysOfWeek", strings.Join(p.Days, " "))
		w.elem("t:DayOfWeekIndex", dayIndexNames[p.Index])
	case calendar.AbsoluteYearly:
		w.elemInt("t:DayOfMonth", int64(p.DayOfMonth))
		w.elem("t:Month", p.Month.String())
	case calendar.RelativeYearly:
		w.elem("t:DaysOfWeek", strings.Join(p.Days, " "))
		w.elem("t:DayOfWeekIndex", dayIndexNames[p.Index])
		w.elem("t:Month", p.Month.String())
	}
	w.end("t:" + p.Kind)
	w.start("t:" + r.Range.Kind)
	w.elem("t:StartDate", r.Range.Start.String())
	switch r.Range.Kind {
	case calendar.EndDate:
		w.elem("t:EndDate", r.Range.End.String())
	case calendar.Numbered:
		w.elemInt("t:NumberOfOccurrences", int64(r.Range.Count))
	}
	w.end("t:" + r.Range.Kind)
	w.end("t:Recurrence")
}

func writeOccurrenceInfo(w *xw, name string, m *mailbox.Item, o calendar.Occurrence) {
	occ := occurrenceItem(m, o)
	w.start(name)
	w.open("t:ItemId")
	w.attr("Id", occurrenceID(occ))
	w.attr("ChangeKey", m.ChangeKey)
	w.emptyEnd()
	w.elemTime("t:Start", o.Start)
	w.elemTime("t:End", o.End)
	w.elemTime("t:OriginalStart", o.OriginalStart)
	w.end(name)
}

func writeTimeZoneEl(w *xw, name string, loc *time.Location) {
	w.open(name)
	wn := calendar.WindowsName(loc)
	w.attr("Id", wn)
	w.attr("Name", wn)
	w.emptyEnd()
}

// --- occurrences: update and delete ---

// updateOccurrence applies updates to an occurrence and saves them as an
// exception of its master.
func (rc *reqCtx) updateOccurrence(occ *mailbox.Item, ups []itemUpdate, ck string) (*mailbox.Item, *ewsErr) {
	scratch := *occ
	scratch.Extended = cloneMap(occ.Extended)
	for _, u := range ups {
		switch {
		case u.uri == "calendar:Start" || u.uri == "calendar:End" || u.uri == "item:Subject" || u.uri == "calendar:Location" ||
			u.uri == "calendar:StartTimeZone" || u.uri == "calendar:EndTimeZone" || u.uri == "calendar:IsAllDayEvent" ||
			u.uri == "calendar:LegacyFreeBusyStatus":
		default:
			return nil, newErr("ErrorInvalidPropertySet", "Changing "+u.uri+" of a single occurrence is not supported by this server.")
		}
		if e := applyUpdate(&scratch, u); e != nil {
			return nil, e
		}
	}
	st, _ := calTime(&scratch, calStart)
	en, _ := calTime(&scratch, calEnd)
	if en.Before(st) {
		return nil, newErr("ErrorCalendarEndDateIsEarlierThanStartDate", "The end of the occurrence is earlier than its start.")
	}
	idx, _ := strconv.Atoi(occ.Extended[calOccIndex])
	orig, _ := time.Parse(time.RFC3339, occ.Extended[calOccOrig])
	ex := calException{Index: idx, OriginalStart: orig, Start: st, End: en}
	if scratch.Subject != occ.Subject || hasException(occ, idx, func(e calException) bool { return e.Subject != nil }) {
		s := scratch.Subject
		ex.Subject = &s
	}
	if scratch.Extended[calLocation] != occ.Extended[calLocation] || hasException(occ, idx, func(e calException) bool { return e.Location != nil }) {
		l := scratch.Extended[calLocation]
		ex.Location = &l
	}
	updated, err := rc.h.mbx.UpdateItem(rc.ctx, rc.actor(occ.Mailbox), occ.Mailbox, occ.Key, ck, func(m *mailbox.Item) error {
		list := exceptionsOf(m)
		replaced := false
		for i := range list {
			if list[i].Index == idx {
				list[i], replaced = ex, true
			}
		}
		if !replaced {
			list = append(list, ex)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Index < list[j].Index })
		b, _ := json.Marshal(list)
		setExt(m, calModified, string(b))
		m.LastModified = rc.now
		return nil
	})
	if err != nil {
		return nil, rc.mapItemErr(err)
	}
	s, _ := seriesOf(updated)
	o, oerr := s.Occurrence(idx)
	if oerr != nil {
		return updated, nil
	}
	return occurrenceItem(updated, o), nil
}

func hasException(occ *mailbox.Item, idx int, f func(calException) bool) bool {
	for _, e := range exceptionsOf(occ) {
		if e.Index == idx && f(e) {
			return true
		}
	}
	return false
}

// deleteOccurrence records an occurrence as deleted in its master.
func (rc *reqCtx) deleteOccurrence(occ *mailbox.Item) *ewsErr {
	idx, _ := strconv.Atoi(occ.Extended[calOccIndex])
	orig, _ := time.Parse(time.RFC3339, occ.Extended[calOccOrig])
	_, err := rc.h.mbx.UpdateItem(rc.ctx, rc.actor(occ.Mailbox), occ.Mailbox, occ.Key, "", func(m *mailbox.Item) error {
		del := deletedOf(m)
		del = append(del, orig)
		b, _ := json.Marshal(del)
		setExt(m, calDeleted, string(b))
		var keep []calException
		for _, e := range exceptionsOf(m) {
			if e.Index != idx {
				keep = append(keep, e)
			}
		}
		b, _ = json.Marshal(keep)
		setExt(m, calModified, string(b))
		m.LastModified = rc.now
		return nil
	})
	if err != nil {
		return rc.mapItemErr(err)
	}
	return nil
}

// --- CalendarView ---

type calWindow struct{ from, to time.Time }

// expandCalendarView returns the single items and occurrences overlapping
// the window, by start, at most max of them, and how many there are.
func (rc *reqCtx) expandCalendarView(f *mailbox.Folder, filter func(*mailbox.Item) bool, win calWindow, max int) ([]*mailbox.Item, int, *ewsErr) {
	// The store skips, without decoding them, single items outside the
	// window (times are stored as RFC 3339 UTC, which sorts as text);
	// recurring masters are always read and expanded here.
	all, _, err := rc.h.mbx.Items(rc.ctx, f.Mailbox, f.Key, mailbox.Query{Filter: func(it *mailbox.Item) bool {
		return isAppointment(it) && (filter == nil || filter(it))
	}, Window: &mailbox.Window{StartKey: calStart, EndKey: calEnd, AlwaysKey: calRecur,
		From: win.from.UTC().Format(time.RFC3339), To: win.to.UTC().Add(time.Second).Format(time.RFC3339)}})
	if err != nil {
		return nil, 0, rc.mapErr(err, "ErrorFolderNotFound")
	}
	var out []*mailbox.Item
	for _, it := range all {
		if s, ok := seriesOf(it); ok {
			occ, err := s.Expand(win.from, win.to)
			if err != nil && len(occ) == 0 {
				continue
			}
			for _, o := range occ {
				out = append(out, occurrenceItem(it, o))
			}
			continue
		}
		s, _ := calTime(it, calStart)
		en, _ := calTime(it, calEnd)
		if s.Before(win.to) && (en.After(win.from) || en.Equal(win.from) && s.Equal(win.from)) {
			out = append(out, it)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := calTime(out[i], calStart)
		b, _ := calTime(out[j], calStart)
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Key < out[j].Key
	})
	total := len(out)
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, total, nil
}
