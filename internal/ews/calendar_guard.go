package ews

import (
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// The back-door check (issue 4, "beyond Exchange"): a calendar item written
// straight into a room or equipment mailbox's Calendar through EWS —
// CreateItem into it, UpdateItem of one of its items changing when it is
// (Start, End, Recurrence, IsAllDayEvent, LegacyFreeBusyStatus, the time
// zones), MoveItem/CopyItem into it — by impersonation, delegate access or
// FullAccess, is checked against the resource's Set-CalendarProcessing
// policy with the rules of a meeting request (bookingDecline), so the room
// cannot be double-booked unless AllowConflicts says so.
//
//   - Only when AutomateProcessing is AutoAccept: then the resource enforces
//     its policy on requests, and the back door enforces the same one.
//     Under AutoUpdate and None requests are not checked either (Exchange
//     places them tentatively, or not at all), so neither are direct writes.
//   - The booker, for BookInPolicy, is the effective user, or the
//     authenticated account when it impersonates the resource itself.
//   - An item marked Free, or a cancelled meeting, never conflicts; the
//     item being updated or moved does not conflict with itself (nor, for
//     a series, with its own occurrences).
//   - Refused: nothing is written; the per-item error has a code of
//     Exchange's ResponseCodeType (guardCodes) and, in t:MessageXml,
//     ActasReason and ActasExplanation, like impersonation faults.
//   - Accepted and refused writes go to the resource's booking log (source
//     DirectWrite). Writes the policy does not check are not logged.
//   - Guarded writes to one resource are serialized (roomWriteLocks), so two
//     simultaneous writes cannot both take the last free slot; the
//     booking attendant (calendar_booking.go) takes the same lock.

// guardCodes maps a refusal to its response code and ActasReason.
var guardCodes = []struct {
	match, code, reason string
}{
	{"maximum duration", "ErrorCalendarDurationIsTooLong", "DurationTooLong"},
	{"not allowed to book", "ErrorAccessDenied", "NotInBookInPolicy"},
	{"Recurring meetings are not allowed", "ErrorCalendarInvalidRecurrence", "RecurringNotAllowed"},
	{"booking window", "ErrorCalendarOutOfRange", "OutsideBookingWindow"},
	{"already booked", "ErrorItemSave", "Conflict"},
}

// calendarGuardFields are the updates that change when an item is.
var calendarGuardFields = map[string]bool{
	"calendar:Start": true, "calendar:End": true, "calendar:Recurrence": true, "calendar:IsAllDayEvent": true,
	"calendar:LegacyFreeBusyStatus": true, "calendar:StartTimeZone": true, "calendar:EndTimeZone": true,
}

// roomWriteLocks serialize guarded writes per resource mailbox.
var roomWriteLocks [64]sync.Mutex

func roomLock(id string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(id))
	return &roomWriteLocks[h.Sum32()%uint32(len(roomWriteLocks))]
}

// roomWrite is an admitted write into a resource calendar. Its methods are
// no-ops on nil (a write the policy does not check).
type roomWrite struct {
	rc          *reqCtx
	room, actor *directory.Recipient
	item        *mailbox.Item // as checked
	before      *mailbox.Item // an update: the stored item before it
	lock        *sync.Mutex
}

// done records the accepted write (created is what was stored; nil when
// the write failed) and releases the resource's lock. Call it once.
func (g *roomWrite) done(created *mailbox.Item) {
	if g == nil {
		return
	}
	defer g.lock.Unlock()
	if created == nil {
		return
	}
	it := g.item
	if !isOccurrence(created) { // an occurrence update returns the occurrence, a write the stored item
		it = created
	}
	g.rc.recordBookingDecision(g.room, g.actor, it, mailbox.BookingSourceDirectWrite, mailbox.BookingAccepted, "")
}

// doneUpdate is done for an update: it succeeded when the stored item's
// ChangeKey moved on.
func (g *roomWrite) doneUpdate() {
	if g == nil {
		return
	}
	now, err := g.rc.h.mbx.Item(g.rc.ctx, g.before.Mailbox, g.before.Key)
	if err != nil || now.ChangeKey == g.before.ChangeKey {
		g.done(nil)
		return
	}
	g.done(g.item)
}

// guardCalendarWrite checks an appointment about to be stored in folder f
// (it carries its final times; self is the key of the stored item it
// replaces in that mailbox, 0 for none). It returns nil, nil when f is not
// the Calendar of an AutoAccept resource; a *roomWrite whose done must be
// called when the write may go ahead; or the error to answer.
func (rc *reqCtx) guardCalendarWrite(f *mailbox.Folder, it *mailbox.Item, self int64) (*roomWrite, *ewsErr) {
	if f == nil || f.Distinguished != "calendar" || !isAppointment(it) {
		return nil, nil
	}
	room := rc.recipient(f.Mailbox)
	if room == nil || (room.Type != directory.RoomMailbox && room.Type != directory.EquipmentMailbox) {
		return nil, nil
	}
	p := room.EffectiveCalendarProcessing()
	if p.AutomateProcessing != "AutoAccept" {
		return nil, nil
	}
	actor := rc.user
	if actor.ID == room.ID {
		actor = rc.caller
	}
	lock := roomLock(room.ID)
	lock.Lock()
	reason := rc.guardReason(room, actor, p, f, it, self)
	if reason == "" {
		return &roomWrite{rc: rc, room: room, actor: actor, item: it, lock: lock}, nil
	}
	lock.Unlock()
	rc.recordBookingDecision(room, actor, it, mailbox.BookingSourceDirectWrite, mailbox.BookingRefused, reason)
	rc.h.log.Info("resource calendar write refused", "request", rc.id, "room", room.PrimarySmtpAddress, "actor", actor.PrimarySmtpAddress,
		"subject", it.Subject, "reason", reason)
	code, why := "ErrorAccessDenied", "PolicyRefused"
	for _, c := range guardCodes {
		if strings.Contains(reason, c.match) {
			code, why = c.code, c.reason
			break
		}
	}
	return nil, &ewsErr{Code: code,
		Text: fmt.Sprintf("The calendar item can't be saved in the calendar of %s: %s", room.PrimarySmtpAddress, reason),
		Values: [][2]string{{"ActasReason", why}, {"ActasExplanation", fmt.Sprintf(
			"%s processes its calendar automatically (Set-CalendarProcessing -AutomateProcessing AutoAccept), so an item written straight into it is checked like a meeting request (%s). Nothing was saved.",
			displayName(room), policySummary(p))}}}
}

// guardReason is bookingDecline's answer for the item, with the conflict
// check done here so that the item does not conflict with itself.
func (rc *reqCtx) guardReason(room, actor *directory.Recipient, p *directory.CalendarProcessing, cal *mailbox.Folder, it *mailbox.Item, self int64) string {
	lenient := p.Clone()
	lenient.AllowConflicts = true
	if reason := rc.bookingDecline(room, actor, lenient, cal, it); reason != "" {
		return reason
	}
	if p.AllowConflicts || it.Extended[calFreeBusy] == "Free" {
		return ""
	}
	var spans []calWindow
	if s, ok := seriesOf(it); ok && !isOccurrence(it) {
		horizon := time.Date(rc.now.Year(), rc.now.Month(), rc.now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, p.BookingWindowInDays+1)
		occ, _ := s.Expand(rc.now, horizon)
		for _, o := range occ {
			spans = append(spans, calWindow{o.Start, o.End})
		}
	} else {
		start, _ := calTime(it, calStart)
		end, _ := calTime(it, calEnd)
		spans = []calWindow{{start, end}}
	}
	// The item never conflicts with itself; a moved occurrence skips only
	// its own old place, so it still may not overlap its series' others.
	occ := it.Extended[calOccIndex]
	return rc.conflictIn(cal, spans, func(x *mailbox.Item) bool {
		return self != 0 && x.Key == self && (occ == "" || x.Extended[calOccIndex] == occ)
	})
}

func policySummary(p *directory.CalendarProcessing) string {
	return fmt.Sprintf("AllowConflicts %t, BookingWindowInDays %d, MaximumDurationInMinutes %d, AllowRecurringMeetings %t, AllBookInPolicy %t",
		p.AllowConflicts, p.BookingWindowInDays, p.MaximumDurationInMinutes, p.AllowRecurringMeetings, p.AllBookInPolicy)
}

// guardCalendarUpdate checks an UpdateItem of an item in a resource
// calendar whose updates change when it is: the updates are applied to a
// copy first (errors are left to the update itself).
func (rc *reqCtx) guardCalendarUpdate(it *mailbox.Item, ups []itemUpdate) (*roomWrite, *ewsErr) {
	if !isAppointment(it) {
		return nil, nil
	}
	touches := false
	for _, u := range ups {
		touches = touches || calendarGuardFields[u.uri]
	}
	if !touches {
		return nil, nil
	}
	f, err := rc.h.mbx.Folder(rc.ctx, it.Mailbox, it.FolderKey)
	if err != nil {
		return nil, nil // the update reports it
	}
	scratch := *it
	scratch.Extended = cloneMap(it.Extended)
	for _, u := range ups {
		if applyUpdate(&scratch, u) != nil {
			return nil, nil
		}
	}
	if isOccurrence(&scratch) {
		delete(scratch.Extended, calRecur) // one span: the occurrence's
	}
	g, e := rc.guardCalendarWrite(f, &scratch, it.Key)
	if g != nil {
		g.before = it
	}
	return g, e
}

// guardCalendarMove checks a MoveItem or CopyItem of an appointment into
// folder to.
func (rc *reqCtx) guardCalendarMove(it *mailbox.Item, to *mailbox.Folder, move bool) (*roomWrite, *ewsErr) {
	if it.Mailbox == to.Mailbox && it.FolderKey == to.Key && move {
		return nil, nil // stays where it is
	}
	var self int64
	if move && it.Mailbox == to.Mailbox {
		self = it.Key
	}
	return rc.guardCalendarWrite(to, it, self)
}
