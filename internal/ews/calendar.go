package ews

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/calendar"
	"github.com/actasmail/actas/internal/mailbox"
)

// Calendar items: appointments (recurrence since issue 4: calendar_recur.go) kept as
// items of class IPM.Appointment whose calendar properties live under
// reserved Extended keys. Attendees map to the recipient lists (required →
// To, optional → Cc, resources → Bcc). Meeting requests are not sent: a
// CreateItem asking for invitations saves the appointment and logs that no
// invitation went out. CalendarView returns the appointments overlapping the
// window, by start time.

const (
	calStart    = "actas:cal:start"
	calEnd      = "actas:cal:end"
	calAllDay   = "actas:cal:allday"
	calFreeBusy = "actas:cal:freebusy"
	calLocation = "actas:cal:location"
	calUID      = "actas:cal:uid"
)

const appointmentClass = "IPM.Appointment"

func isAppointment(it *mailbox.Item) bool { return strings.HasPrefix(it.Class, appointmentClass) }

// Calendar property bits live in a second mask.
const (
	cpUID uint64 = 1 << iota
	cpStart
	cpEnd
	cpIsAllDayEvent
	cpLegacyFreeBusyStatus
	cpLocation
	cpIsMeeting
	cpIsCancelled
	cpIsRecurring
	cpCalendarItemType
	cpMyResponseType
	cpOrganizer
	cpRequiredAttendees
	cpOptionalAttendees
	cpResources
	cpDuration
	// Recurrence (issue 4, calendar_recur.go).
	cpOriginalStart
	cpRecurrence
	cpFirstOccurrence
	cpLastOccurrence
	cpModifiedOccurrences
	cpDeletedOccurrences
	cpStartTimeZone
	cpEndTimeZone
)

var calFieldBits = map[string]uint64{
	"calendar:UID": cpUID, "calendar:Start": cpStart, "calendar:End": cpEnd, "calendar:IsAllDayEvent": cpIsAllDayEvent,
	"calendar:LegacyFreeBusyStatus": cpLegacyFreeBusyStatus, "calendar:Location": cpLocation, "calendar:IsMeeting": cpIsMeeting,
	"calendar:IsCancelled": cpIsCancelled, "calendar:IsRecurring": cpIsRecurring, "calendar:CalendarItemType": cpCalendarItemType,
	"calendar:MyResponseType": cpMyResponseType, "calendar:Organizer": cpOrganizer, "calendar:RequiredAttendees": cpRequiredAttendees,
	"calendar:OptionalAttendees": cpOptionalAttendees, "calendar:Resources": cpResources, "calendar:Duration": cpDuration,
	"calendar:OriginalStart": cpOriginalStart, "calendar:Recurrence": cpRecurrence, "calendar:FirstOccurrence": cpFirstOccurrence,
	"calendar:LastOccurrence": cpLastOccurrence, "calendar:ModifiedOccurrences": cpModifiedOccurrences,
	"calendar:DeletedOccurrences": cpDeletedOccurrences, "calendar:StartTimeZone": cpStartTimeZone, "calendar:EndTimeZone": cpEndTimeZone,
}

const (
	calDefaultFind = cpUID | cpStart | cpEnd | cpIsAllDayEvent | cpLegacyFreeBusyStatus | cpLocation | cpIsMeeting | cpIsCancelled |
		cpIsRecurring | cpCalendarItemType | cpMyResponseType | cpOrganizer
	calAll = cpEndTimeZone<<1 - 1
)

// calendar local names → FieldURIs (for CreateItem and UpdateItem).
var calLocalURIs = map[string]string{
	"UID": "calendar:UID", "Start": "calendar:Start", "End": "calendar:End", "IsAllDayEvent": "calendar:IsAllDayEvent",
	"LegacyFreeBusyStatus": "calendar:LegacyFreeBusyStatus", "Location": "calendar:Location",
	"RequiredAttendees": "calendar:RequiredAttendees", "OptionalAttendees": "calendar:OptionalAttendees",
	"Resources": "calendar:Resources", "Recurrence": "calendar:Recurrence",
	"StartTimeZone": "calendar:StartTimeZone", "EndTimeZone": "calendar:EndTimeZone", // issue 4
}

// calDerived are calendar properties computed by the server: accepted and
// ignored on create, refused on update.
var calDerived = map[string]bool{
	"calendar:Organizer": true, "calendar:IsMeeting": true, "calendar:IsCancelled": true, "calendar:IsRecurring": true,
	"calendar:CalendarItemType": true, "calendar:MyResponseType": true, "calendar:Duration": true,
	"calendar:TimeZone": true, "calendar:MeetingTimeZone": true, // StartTimeZone/EndTimeZone are settable (issue 4)
	"calendar:DateTimeStamp": true, "calendar:AppointmentState": true, "calendar:AppointmentSequenceNumber": true,
	"calendar:When": true, "calendar:OriginalStart": true, "calendar:MeetingRequestWasSent": true,
	"calendar:IsResponseRequested": true, "calendar:ConferenceType": true, "calendar:AllowNewTimeProposal": true,
	"calendar:IsOnlineMeeting": true,
}

func setExt(it *mailbox.Item, k, v string) {
	if it.Extended == nil {
		it.Extended = map[string]string{}
	}
	it.Extended[k] = v
}

// applyCalendarField sets one calendar property from the item element src.
func applyCalendarField(it *mailbox.Item, uri string, src *node, appendMode bool) *ewsErr {
	local := uri[strings.IndexByte(uri, ':')+1:]
	v := src.child(local)
	if v == nil {
		return newErr("ErrorInvalidPropertySet", "The item element does not contain "+uri+".")
	}
	text := strings.TrimSpace(v.Text)
	if appendMode && !strings.HasSuffix(uri, "Attendees") && uri != "calendar:Resources" {
		return newErr("ErrorInvalidPropertyAppend", "Appending to "+uri+" is not supported.")
	}
	switch uri {
	case "calendar:Start", "calendar:End":
		t, ok := parseTime(text)
		if !ok {
			return newErr("ErrorInvalidValueForProperty", "'"+text+"' is not a date and time.")
		}
		key := calStart
		if uri == "calendar:End" {
			key = calEnd
		}
		setExt(it, key, t.UTC().Format(time.RFC3339))
	case "calendar:IsAllDayEvent":
		switch text {
		case "true", "1":
			setExt(it, calAllDay, "true")
		case "false", "0":
			setExt(it, calAllDay, "false")
		default:
			return newErr("ErrorInvalidValueForProperty", "'"+text+"' is not a boolean.")
		}
	case "calendar:LegacyFreeBusyStatus":
		switch text {
		case "Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData":
			setExt(it, calFreeBusy, text)
		default:
			return newErr("ErrorInvalidValueForProperty", "LegacyFreeBusyStatus '"+text+"' is invalid.")
		}
	case "calendar:Location":
		setExt(it, calLocation, v.Text)
	case "calendar:UID":
		setExt(it, calUID, text)
	case "calendar:RequiredAttendees", "calendar:OptionalAttendees", "calendar:Resources":
		var list []mailbox.Address
		for _, at := range v.all("Attendee") {
			a, ok := parseAddress(at.child("Mailbox"))
			if !ok {
				return newErr("ErrorInvalidRecipients", "An attendee has no EmailAddress.")
			}
			list = append(list, a)
		}
		dst := &it.To
		switch uri {
		case "calendar:OptionalAttendees":
			dst = &it.Cc
		case "calendar:Resources":
			dst = &it.Bcc
		}
		if appendMode {
			*dst = append(*dst, list...)
		} else {
			*dst = list
		}
	case "calendar:Recurrence": // issue 4: calendar_recur.go
		if isOccurrence(it) {
			return newErr("ErrorInvalidPropertySet", "The recurrence of a single occurrence cannot be set.")
		}
		rec, e := parseRecurrence(v)
		if e != nil {
			return e
		}
		b, _ := json.Marshal(rec)
		setExt(it, calRecur, string(b))
		delete(it.Extended, calDeleted)
		delete(it.Extended, calModified)
	case "calendar:StartTimeZone", "calendar:EndTimeZone": // issue 4: Windows names mapped to IANA
		loc, err := calendar.Location(v.attr("Id"))
		if err != nil {
			return newErr("ErrorTimeZone", "The time zone '"+v.attr("Id")+"' is not known.")
		}
		key := calTZ
		if uri == "calendar:EndTimeZone" {
			key = calEndTZ
		}
		setExt(it, key, loc.String())
	default:
		return newErr("ErrorInvalidPropertySet", "Setting "+uri+" is not supported.")
	}
	return nil
}

func deleteCalendarField(it *mailbox.Item, uri string) *ewsErr {
	switch uri {
	case "calendar:Location":
		delete(it.Extended, calLocation)
	case "calendar:RequiredAttendees":
		it.To = nil
	case "calendar:OptionalAttendees":
		it.Cc = nil
	case "calendar:Resources":
		it.Bcc = nil
	case "calendar:Recurrence": // issue 4: the item becomes a single appointment
		delete(it.Extended, calRecur)
		delete(it.Extended, calDeleted)
		delete(it.Extended, calModified)
	default:
		return newErr("ErrorInvalidPropertyDelete", uri+" cannot be deleted.")
	}
	return nil
}

// finishAppointment fills what a new appointment needs.
func finishAppointment(it *mailbox.Item) *ewsErr {
	start, okS := calTime(it, calStart)
	end, okE := calTime(it, calEnd)
	switch {
	case !okS && !okE:
		return newErr("ErrorInvalidPropertySet", "An appointment needs Start and End.")
	case !okE:
		end = start.Add(30 * time.Minute)
		setExt(it, calEnd, end.Format(time.RFC3339))
	case !okS:
		start = end.Add(-30 * time.Minute)
		setExt(it, calStart, start.Format(time.RFC3339))
	}
	if end.Before(start) {
		return newErr("ErrorCalendarEndDateIsEarlierThanStartDate", "The end of the appointment is earlier than its start.")
	}
	// Issue 4: a recurring master starts at its first occurrence.
	if s, ok := seriesOf(it); ok {
		first, _, has, _, err := s.FirstLast()
		if err != nil || !has {
			return newErr("ErrorRecurrenceHasNoOccurrence", "The recurrence has no occurrence.")
		}
		setExt(it, calStart, first.Start.UTC().Format(time.RFC3339))
		setExt(it, calEnd, first.End.UTC().Format(time.RFC3339))
	}
	if it.Extended[calUID] == "" {
		var b [16]byte
		rand.Read(b[:])
		setExt(it, calUID, strings.ToUpper(hex.EncodeToString(b[:])))
	}
	if it.Extended[calFreeBusy] == "" {
		setExt(it, calFreeBusy, "Busy")
	}
	it.IsDraft, it.IsRead = false, true
	return nil
}

func calTime(it *mailbox.Item, key string) (time.Time, bool) {
	v, ok := it.Extended[key]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

// writeAttendees writes an attendee list; responses (meetings_xml.go) has
// the organizer's tracking, nil elsewhere.
func writeAttendees(w *xw, name string, as []mailbox.Address, responses map[string]mailbox.MeetingResponse) {
	if len(as) == 0 {
		return
	}
	w.start(name)
	for i := range as {
		w.start("t:Attendee")
		writeAddress(w, &as[i])
		r, ok := responses[strings.ToLower(as[i].Email)]
		w.elem("t:ResponseType", orDefault(r.Response, "Unknown"))
		if ok && !r.At.IsZero() {
			w.elemTime("t:LastResponseTime", r.At)
		}
		w.end("t:Attendee")
	}
	w.end(name)
}

// writeCalendarProps writes the CalendarItemType properties, in schema order.
func (rc *reqCtx) writeCalendarProps(w *xw, it *mailbox.Item, bits uint64) {
	start, _ := calTime(it, calStart)
	end, _ := calTime(it, calEnd)
	meeting := len(it.To)+len(it.Cc)+len(it.Bcc) > 0
	if bits&cpUID != 0 && it.Extended[calUID] != "" {
		w.elem("t:UID", it.Extended[calUID])
	}
	if bits&cpStart != 0 {
		w.elemTime("t:Start", start)
	}
	if bits&cpEnd != 0 {
		w.elemTime("t:End", end)
	}
	occ, master := isOccurrence(it), isMaster(it) // issue 4
	if bits&cpOriginalStart != 0 && occ {
		if t, ok := calTime(it, calOccOrig); ok {
			w.elemTime("t:OriginalStart", t)
		}
	}
	if bits&cpIsAllDayEvent != 0 {
		w.elemBool("t:IsAllDayEvent", it.Extended[calAllDay] == "true")
	}
	if bits&cpLegacyFreeBusyStatus != 0 {
		w.elem("t:LegacyFreeBusyStatus", orDefault(it.Extended[calFreeBusy], "Busy"))
	}
	if bits&cpLocation != 0 && it.Extended[calLocation] != "" {
		w.elem("t:Location", it.Extended[calLocation])
	}
	if bits&cpIsMeeting != 0 {
		w.elemBool("t:IsMeeting", meeting)
	}
	if bits&cpIsCancelled != 0 {
		w.elemBool("t:IsCancelled", it.Extended[calCancelled] == "true")
	}
	if bits&cpIsRecurring != 0 {
		w.elemBool("t:IsRecurring", occ || master)
	}
	if bits&cpCalendarItemType != 0 {
		w.elem("t:CalendarItemType", calendarItemType(it))
	}
	if bits&cpMyResponseType != 0 {
		w.elem("t:MyResponseType", myResponseType(it))
	}
	if bits&cpOrganizer != 0 {
		org := it.From
		if org == nil {
			if r := rc.recipient(it.Mailbox); r != nil {
				org = &mailbox.Address{Name: displayName(r), Email: r.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
			}
		}
		if org != nil {
			w.start("t:Organizer")
			writeAddress(w, org)
			w.end("t:Organizer")
		}
	}
	if bits&(cpRequiredAttendees|cpOptionalAttendees|cpResources) != 0 {
		responses := rc.attendeeResponses(it)
		if bits&cpRequiredAttendees != 0 {
			writeAttendees(w, "t:RequiredAttendees", it.To, responses)
		}
		if bits&cpOptionalAttendees != 0 {
			writeAttendees(w, "t:OptionalAttendees", it.Cc, responses)
		}
		if bits&cpResources != 0 {
			writeAttendees(w, "t:Resources", it.Bcc, responses)
		}
	}
	if bits&cpDuration != 0 {
		w.elem("t:Duration", isoDuration(end.Sub(start)))
	}
	// Issue 4: recurrence and time zones (calendar_recur.go).
	if s, ok := seriesOf(it); ok && master {
		if bits&cpRecurrence != 0 {
			writeRecurrence(w, &s.Rec)
		}
		first, last, hasFirst, hasLast, _ := s.FirstLast()
		if bits&cpFirstOccurrence != 0 && hasFirst {
			writeOccurrenceInfo(w, "t:FirstOccurrence", it, first)
		}
		if bits&cpLastOccurrence != 0 && hasLast {
			writeOccurrenceInfo(w, "t:LastOccurrence", it, last)
		}
		if ex := exceptionsOf(it); bits&cpModifiedOccurrences != 0 && len(ex) > 0 {
			w.start("t:ModifiedOccurrences")
			for _, e := range ex {
				writeOccurrenceInfo(w, "t:Occurrence", it, calendar.Occurrence{Index: e.Index, OriginalStart: e.OriginalStart, Start: e.Start, End: e.End, Modified: true})
			}
			w.end("t:ModifiedOccurrences")
		}
		if del := deletedOf(it); bits&cpDeletedOccurrences != 0 && len(del) > 0 {
			w.start("t:DeletedOccurrences")
			for _, d := range del {
				w.start("t:DeletedOccurrence")
				w.elemTime("t:Start", d)
				w.end("t:DeletedOccurrence")
			}
			w.end("t:DeletedOccurrences")
		}
	}
	if bits&cpStartTimeZone != 0 && it.Extended[calTZ] != "" {
		writeTimeZoneEl(w, "t:StartTimeZone", itemLoc(it, calTZ))
	}
	if bits&cpEndTimeZone != 0 && (it.Extended[calEndTZ] != "" || it.Extended[calTZ] != "") {
		key := calEndTZ
		if it.Extended[calEndTZ] == "" {
			key = calTZ
		}
		writeTimeZoneEl(w, "t:EndTimeZone", itemLoc(it, key))
	}
}

// calendarItemType is Single, RecurringMaster, Occurrence or Exception.
func calendarItemType(it *mailbox.Item) string {
	switch {
	case isOccurrence(it):
		idx := it.Extended[calOccIndex]
		for _, e := range exceptionsOf(it) {
			if strconv.Itoa(e.Index) == idx {
				return "Exception"
			}
		}
		return "Occurrence"
	case isMaster(it):
		return "RecurringMaster"
	}
	return "Single"
}

func isoDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	s := int(d % time.Minute / time.Second)
	return "PT" + itoa(h) + "H" + itoa(m) + "M" + itoa(s) + "S"
}

// parseCalendarView reads a CalendarView's window (issue 4: occurrences are
// expanded by expandCalendarView in calendar_recur.go).
// Bounds without a UTC offset are read in the TimeZoneContext zone (tz).
func parseCalendarView(n *node, tz *time.Location) (calWindow, *ewsErr) {
	from, ok1 := parseTimeIn(n.attr("StartDate"), tz)
	to, ok2 := parseTimeIn(n.attr("EndDate"), tz)
	if !ok1 || !ok2 || !to.After(from) {
		return calWindow{}, newErr("ErrorCalendarInvalidDayForTimeChangePattern", "CalendarView needs StartDate before EndDate.")
	}
	if to.Sub(from) > 2*366*24*time.Hour {
		return calWindow{}, newErr("ErrorCalendarViewRangeTooBig", "The CalendarView range is larger than two years.")
	}
	return calWindow{from, to}, nil
}
