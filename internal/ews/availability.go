package ews

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/calendar"
	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// GetUserAvailability (issue 4): free/busy of users and rooms over a
// TimeWindow, read from their calendar folders with recurring series
// expanded by internal/calendar (the CalendarView path).
//
//   - One FreeBusyResponse per MailboxData, in request order. An address
//     that is not a mailbox of the effective user's organization →
//     ErrorMailRecipientNotFound for that entry only.
//   - The detail level is the requester's permission on the calendar
//     folder (grantFor: owner/FullAccess, their own or their groups' entry,
//     else Default): ReadItems TimeOnly (FreeBusyTimeOnly, the default) →
//     times and BusyType only, Detailed views downgraded to FreeBusy /
//     FreeBusyMerged; TimeAndSubjectAndLocation → Subject and Location;
//     FullDetails (Reviewer and up) → all CalendarEventDetails; None →
//     ErrorNoFreeBusyAccess. Private items show no subject or location to
//     anyone but the owner and FullAccess holders.
//   - Free items are left out of CalendarEventArray (as Exchange does).
//   - Times in the response are wall-clock times, without offset, in the
//     request's t:TimeZone (Bias/StandardTime/DaylightTime); TimeWindow
//     bounds without offset are read in that zone.
//   - MergedFreeBusy: one digit per interval from StartTime (0 Free,
//     1 Tentative, 2 Busy, 3 OOF, 4 NoData, 5 WorkingElsewhere), the
//     strongest status overlapping it (OOF > Busy > Tentative >
//     WorkingElsewhere > Free).
//   - Working hours: the mailbox's Set-MailboxCalendarConfiguration
//     (WorkingHoursTimeZone, start and end, WorkDays), by default Monday–
//     Friday 08:00–17:00 UTC; the TimeZone is that zone's rule in the
//     window's first year.
//   - Limits: at most 100 mailboxes, a window of at most 42 days, an
//     interval of 5–1440 minutes; beyond them every entry gets the error.
//   - The response has no ResponseMessages wrapper (ews-protocol.md fact 16).

const (
	availMaxMailboxes = 100
	availMaxWindow    = 42 * 24 * time.Hour
)

// availZone is the request's t:TimeZone (SerializableTimeZone).
type availZone struct {
	bias     int // minutes: UTC = local + bias
	std, dst availTransition
	hasDST   bool
}

type availTransition struct {
	bias     int // minutes, added to the zone's bias
	tod      time.Duration
	dayOrder int // 1–4, 5 = last
	month    time.Month
	weekday  time.Weekday
}

var weekdayByName = map[string]time.Weekday{"Sunday": time.Sunday, "Monday": time.Monday, "Tuesday": time.Tuesday,
	"Wednesday": time.Wednesday, "Thursday": time.Thursday, "Friday": time.Friday, "Saturday": time.Saturday}

func parseAvailTransition(n *node) (availTransition, bool) {
	if n == nil {
		return availTransition{}, false
	}
	var t availTransition
	t.bias, _ = strconv.Atoi(strings.TrimSpace(n.childText("Bias")))
	if tm, err := time.Parse("15:04:05", strings.TrimSpace(n.childText("Time"))); err == nil {
		t.tod = time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute + time.Duration(tm.Second())*time.Second
	}
	t.dayOrder, _ = strconv.Atoi(strings.TrimSpace(n.childText("DayOrder")))
	m, _ := strconv.Atoi(strings.TrimSpace(n.childText("Month")))
	t.month = time.Month(m)
	wd, ok := weekdayByName[strings.TrimSpace(n.childText("DayOfWeek"))]
	t.weekday = wd
	return t, ok && m >= 1 && m <= 12 && t.dayOrder >= 1 && t.dayOrder <= 5
}

func parseAvailZone(n *node) availZone {
	var z availZone
	if n == nil {
		return z
	}
	z.bias, _ = strconv.Atoi(strings.TrimSpace(n.childText("Bias")))
	std, ok1 := parseAvailTransition(n.child("StandardTime"))
	dst, ok2 := parseAvailTransition(n.child("DaylightTime"))
	z.std, z.dst = std, dst
	z.hasDST = ok1 && ok2 && std.bias != dst.bias && std.month != dst.month
	return z
}

// at is the UTC instant at which transition t happens in year y, given the
// offset (minutes east of UTC) in force before it.
func (t availTransition) at(y int, before int) time.Time {
	var d time.Time
	if t.dayOrder >= 5 {
		last := time.Date(y, t.month+1, 0, 0, 0, 0, 0, time.UTC)
		d = last.AddDate(0, 0, -((int(last.Weekday()) - int(t.weekday) + 7) % 7))
	} else {
		first := time.Date(y, t.month, 1, 0, 0, 0, 0, time.UTC)
		d = first.AddDate(0, 0, (int(t.weekday)-int(first.Weekday())+7)%7+7*(t.dayOrder-1))
	}
	return d.Add(t.tod).Add(-time.Duration(before) * time.Minute)
}

// offset is minutes east of UTC at the instant u.
func (z availZone) offset(u time.Time) int {
	stdOff := -(z.bias + z.std.bias)
	if !z.hasDST {
		return stdOff
	}
	dstOff := -(z.bias + z.dst.bias)
	y := u.Year()
	start, end := z.dst.at(y, stdOff), z.std.at(y, dstOff)
	if start.Before(end) { // northern hemisphere
		if !u.Before(start) && u.Before(end) {
			return dstOff
		}
		return stdOff
	}
	if u.Before(end) || !u.Before(start) { // southern: daylight spans the new year
		return dstOff
	}
	return stdOff
}

func (z availZone) local(u time.Time) time.Time {
	return u.UTC().Add(time.Duration(z.offset(u)) * time.Minute)
}

// fromLocal reads a wall-clock time of the zone as a UTC instant.
func (z availZone) fromLocal(l time.Time) time.Time {
	guess := l.Add(-time.Duration(-(z.bias + z.std.bias)) * time.Minute)
	return l.Add(-time.Duration(z.offset(guess)) * time.Minute)
}

const localLayout = "2006-01-02T15:04:05"

type availRequest struct {
	zone         availZone
	from, to     time.Time // UTC
	interval     int       // minutes
	view         string
	mailboxes    []string
	requestError *ewsErr
}

var availViews = map[string]bool{"None": true, "MergedOnly": true, "FreeBusy": true, "FreeBusyMerged": true, "Detailed": true, "DetailedMerged": true}

func parseAvailRequest(op *node) availRequest {
	var r availRequest
	r.zone = parseAvailZone(op.child("TimeZone"))
	if arr := op.child("MailboxDataArray"); arr != nil {
		for _, md := range arr.all("MailboxData") {
			addr := ""
			if e := md.child("Email"); e != nil {
				addr = strings.TrimSpace(e.childText("Address"))
			}
			r.mailboxes = append(r.mailboxes, addr)
		}
	}
	opts := op.child("FreeBusyViewOptions")
	if opts == nil {
		if op.child("SuggestionsViewOptions") != nil {
			r.requestError = newErr("ErrorInvalidRequest", "Suggestions are not supported by this server; ask for FreeBusyViewOptions.")
		} else {
			r.requestError = newErr("ErrorInvalidRequest", "The request needs FreeBusyViewOptions.")
		}
		return r
	}
	tw := opts.child("TimeWindow")
	read := func(s string) (time.Time, bool) {
		t, ok := parseTime(s)
		if !ok || hasZone(s) {
			return t, ok
		}
		return r.zone.fromLocal(t), true
	}
	var ok1, ok2 bool
	if tw != nil {
		r.from, ok1 = read(tw.childText("StartTime"))
		r.to, ok2 = read(tw.childText("EndTime"))
	}
	r.interval = 30
	if s := strings.TrimSpace(opts.childText("MergedFreeBusyIntervalInMinutes")); s != "" {
		r.interval, _ = strconv.Atoi(s)
	}
	r.view = strings.TrimSpace(opts.childText("RequestedView"))
	if r.view == "" {
		r.view = "DetailedMerged"
	}
	switch {
	case !ok1 || !ok2 || !r.to.After(r.from):
		r.requestError = newErr("ErrorInvalidTimeInterval", "TimeWindow needs a StartTime before its EndTime.")
	case r.to.Sub(r.from) > availMaxWindow:
		r.requestError = newErr("ErrorTimeIntervalTooBig", "The TimeWindow is longer than 42 days.")
	case r.interval < 5 || r.interval > 1440:
		r.requestError = newErr("ErrorInvalidRequest", "MergedFreeBusyIntervalInMinutes must be between 5 and 1440.")
	case !availViews[r.view]:
		r.requestError = newErr("ErrorInvalidRequest", "RequestedView '"+r.view+"' is not a free/busy view.")
	case len(r.mailboxes) > availMaxMailboxes:
		r.requestError = newErr("ErrorInvalidRequest", fmt.Sprintf("At most %d mailboxes may be asked for in one request.", availMaxMailboxes))
	}
	return r
}

// detail levels
const (
	detailNone = iota
	detailTime
	detailSubject
	detailFull
)

var busyDigit = map[string]byte{"Free": '0', "Tentative": '1', "Busy": '2', "OOF": '3', "NoData": '4', "WorkingElsewhere": '5'}
var busyRank = map[byte]int{'0': 0, '5': 1, '1': 2, '2': 3, '3': 4}

type availEvent struct {
	start, end time.Time
	busy       string
	it         *mailbox.Item
}

func opGetUserAvailability(rc *reqCtx, op *node, w *xw) error {
	req := parseAvailRequest(op)
	w.raw("<m:GetUserAvailabilityResponse><m:FreeBusyResponseArray>")
	for _, addr := range req.mailboxes {
		w.start("m:FreeBusyResponse")
		if req.requestError != nil {
			availError(w, req.requestError)
		} else {
			rc.freeBusyOf(w, &req, addr)
		}
		w.end("m:FreeBusyResponse")
	}
	w.raw("</m:FreeBusyResponseArray></m:GetUserAvailabilityResponse>")
	return nil
}

func availError(w *xw, e *ewsErr) {
	writeErrorMessage(w, "ResponseMessage", e)
	w.raw("<m:FreeBusyView><t:FreeBusyViewType>None</t:FreeBusyViewType></m:FreeBusyView>")
}

func (rc *reqCtx) freeBusyOf(w *xw, req *availRequest, addr string) {
	notFound := newErr("ErrorMailRecipientNotFound", "The mail recipient '"+addr+"' was not found in the directory.")
	if addr == "" {
		availError(w, notFound)
		return
	}
	if grp := rc.groupByAddress(addr); grp != nil { // availability_groups.go
		rc.freeBusyOfGroup(w, req, grp)
		return
	}
	r, e := rc.mailboxByAddress(addr)
	if e != nil {
		availError(w, notFound)
		return
	}
	events, level, full, e := rc.busyEvents(req, r)
	if e != nil {
		availError(w, e)
		return
	}
	view := req.view
	if level == detailTime {
		switch view {
		case "Detailed":
			view = "FreeBusy"
		case "DetailedMerged":
			view = "FreeBusyMerged"
		}
	}
	okEmpty(w, "ResponseMessage")
	w.start("m:FreeBusyView")
	w.elem("t:FreeBusyViewType", view)
	if view == "MergedOnly" || strings.HasSuffix(view, "Merged") {
		w.elem("t:MergedFreeBusy", mergedFreeBusy(events, req.from, req.to, req.interval))
	}
	if view == "FreeBusy" || view == "FreeBusyMerged" || view == "Detailed" || view == "DetailedMerged" {
		w.start("t:CalendarEventArray")
		for _, ev := range events {
			w.start("t:CalendarEvent")
			w.elem("t:StartTime", req.zone.local(ev.start).Format(localLayout))
			w.elem("t:EndTime", req.zone.local(ev.end).Format(localLayout))
			w.elem("t:BusyType", ev.busy)
			if strings.HasPrefix(view, "Detailed") {
				rc.writeEventDetails(w, ev.it, level, full || rc.canViewPrivate(r.ID)) // privacy.go: delegates with ViewPrivateItems too
			}
			w.end("t:CalendarEvent")
		}
		w.end("t:CalendarEventArray")
	}
	writeWorkingHours(w, r.EffectiveCalendarConfiguration(), req.from.Year())
	w.end("m:FreeBusyView")
}

// busyEvents reads r's calendar over the request's window: its non-Free
// events, and the requester's detail level (full: owner or FullAccess).
func (rc *reqCtx) busyEvents(req *availRequest, r *directory.Recipient) ([]availEvent, int, bool, *ewsErr) {
	if err := rc.ensure(r.ID); err != nil {
		return nil, 0, false, rc.mapErr(err, "ErrorMailRecipientNotFound")
	}
	f, err := rc.h.mbx.Distinguished(rc.ctx, r.ID, "calendar")
	if err != nil {
		return nil, 0, false, rc.mapErr(err, "ErrorMailRecipientNotFound")
	}
	g, err := rc.grantFor(r.ID, f)
	if err != nil {
		return nil, 0, false, rc.mapErr(err, "ErrorMailRecipientNotFound")
	}
	level := detailNone
	switch {
	case g.full || g.p.ReadItems == "FullDetails":
		level = detailFull
	case g.p.ReadItems == "TimeAndSubjectAndLocation":
		level = detailSubject
	case g.p.ReadItems == "TimeOnly":
		level = detailTime
	}
	if level == detailNone {
		return nil, 0, false, newErr("ErrorNoFreeBusyAccess", "The requester has no free/busy access to "+r.PrimarySmtpAddress+".")
	}
	items, _, ee := rc.expandCalendarView(f, nil, calWindow{req.from, req.to}, 0)
	if ee != nil {
		return nil, 0, false, ee
	}
	var events []availEvent
	for _, it := range items {
		s, _ := calTime(it, calStart)
		en, _ := calTime(it, calEnd)
		busy := it.Extended[calFreeBusy]
		if _, ok := busyDigit[busy]; !ok {
			busy = "Busy"
		}
		if busy == "Free" {
			continue
		}
		events = append(events, availEvent{s, en, busy, it})
	}
	return events, level, g.full, nil
}

func (rc *reqCtx) writeEventDetails(w *xw, it *mailbox.Item, level int, owner bool) {
	private := it.Sensitivity == "Private"
	if private && !owner {
		w.start("t:CalendarEventDetails")
		w.elemBool("t:IsPrivate", true)
		w.end("t:CalendarEventDetails")
		return
	}
	w.start("t:CalendarEventDetails")
	if level == detailFull {
		id := itemID(it)
		if isOccurrence(it) {
			id = occurrenceID(it)
		}
		w.elem("t:ID", id)
	}
	w.elem("t:Subject", it.Subject)
	w.elem("t:Location", it.Extended[calLocation])
	if level == detailFull {
		typ := calendarItemType(it)
		w.elemBool("t:IsMeeting", len(it.To)+len(it.Cc)+len(it.Bcc) > 0)
		w.elemBool("t:IsRecurring", typ == "Occurrence" || typ == "Exception" || typ == "RecurringMaster")
		w.elemBool("t:IsException", typ == "Exception")
		set, _, _, _ := reminderOf(it)
		w.elemBool("t:IsReminderSet", set)
		w.elemBool("t:IsPrivate", private)
	}
	w.end("t:CalendarEventDetails")
}

func mergedFreeBusy(events []availEvent, from, to time.Time, interval int) string {
	step := time.Duration(interval) * time.Minute
	n := int((to.Sub(from) + step - 1) / step)
	out := make([]byte, n)
	for i := range out {
		out[i] = '0'
		s := from.Add(time.Duration(i) * step)
		e := s.Add(step)
		for _, ev := range events {
			if ev.start.Before(e) && ev.end.After(s) {
				d := busyDigit[ev.busy]
				if busyRank[d] > busyRank[out[i]] {
					out[i] = d
				}
			}
		}
	}
	return string(out)
}

// writeWorkingHours writes a mailbox's working hours
// (Set-MailboxCalendarConfiguration, defaults when unset): the zone's rule
// in year as a SerializableTimeZone, and one WorkingPeriod for the working
// days (none when there are none).
func writeWorkingHours(w *xw, cfg *directory.CalendarConfiguration, year int) {
	loc, err := calendar.Location(cfg.WorkingHoursTimeZone)
	if err != nil {
		loc = time.UTC
	}
	r := ruleFor(loc, year)
	w.start("t:WorkingHours")
	w.start("t:TimeZone")
	w.elem("t:Bias", strconv.Itoa(-r.std/60))
	tr := func(name string, c zoneChange, bias int) {
		w.start(name)
		w.elem("t:Bias", strconv.Itoa(bias))
		h, m := int(c.offset/time.Hour), int(c.offset%time.Hour/time.Minute)
		w.elem("t:Time", fmt.Sprintf("%02d:%02d:00", h, m))
		occ := c.occurrence
		if occ < 0 {
			occ = 5
		}
		w.elem("t:DayOrder", strconv.Itoa(occ))
		w.elem("t:Month", strconv.Itoa(int(c.month)))
		w.elem("t:DayOfWeek", c.weekday.String())
		w.end(name)
	}
	if r.hasDST {
		tr("t:StandardTime", r.toStd, 0)
		tr("t:DaylightTime", r.toDST, -(r.dst-r.std)/60)
	} else {
		tr("t:StandardTime", zoneChange{month: 1, weekday: time.Sunday, occurrence: 1}, 0)
		tr("t:DaylightTime", zoneChange{month: 1, weekday: time.Sunday, occurrence: 1}, 0)
	}
	w.end("t:TimeZone")
	w.start("t:WorkingPeriodArray")
	if len(cfg.WorkDays) > 0 {
		w.start("t:WorkingPeriod")
		w.elem("t:DayOfWeek", strings.Join(cfg.WorkDays, " "))
		w.elem("t:StartTimeInMinutes", strconv.Itoa(cfg.WorkingHoursStartTime))
		w.elem("t:EndTimeInMinutes", strconv.Itoa(cfg.WorkingHoursEndTime))
		w.end("t:WorkingPeriod")
	}
	w.end("t:WorkingPeriodArray")
	w.end("t:WorkingHours")
}
