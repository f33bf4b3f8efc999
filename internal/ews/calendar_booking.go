package ews

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Resource booking (issue 4). A meeting request reaching a room or
// equipment mailbox (meetings.go: invite) is processed by its
// Set-CalendarProcessing policy (Recipient.CalendarProcessing):
//
//   - None: the request lands in the resource's Inbox; nothing else.
//   - AutoUpdate: the calendar attendant only — the meeting goes into the
//     resource's calendar as Tentative (NoResponseReceived) and the request
//     into its Inbox and to its ResourceDelegates (unless
//     ForwardRequestsToDelegates is off), who accept or decline it for the
//     resource (meetings.go: respondToMeeting).
//   - AutoAccept: a request that violates the policy (bookingViolation:
//     longer than MaximumDurationInMinutes, ending beyond
//     BookingWindowInDays, recurring against AllowRecurringMeetings, or —
//     without AllowConflicts — overlapping a non-Free item of the calendar,
//     for a series any occurrence inside the booking window) is forwarded
//     to the ResourceDelegates when the organizer is in RequestOutOfPolicy
//     (or AllRequestOutOfPolicy), else declined with the reason. An
//     in-policy request is accepted when the organizer is in BookInPolicy
//     (or AllBookInPolicy), forwarded when in RequestInPolicy (or
//     AllRequestInPolicy) and there are delegates, else declined. An
//     accepted meeting is booked in the resource's calendar with
//     AddOrganizerToSubject, DeleteSubject, DeleteComments and
//     RemovePrivateProperty applied; a forwarded one is placed Tentative.
//   - The organizer receives the resource's response (Accept, Tentative
//     for a forwarded request, Decline with the reason in its body) and
//     their tracking of the resource changes at once. Updates are processed
//     again (the meeting's own booking never conflicts with itself); a
//     decline of an update removes the booking. Cancellations remove it
//     (AutoAccept and AutoUpdate).
//
// Every decision goes to the resource's decision log (calendar_log.go) and
// to the server log. The attendant holds the resource's lock
// (calendar_guard.go), so it never races a direct write to the calendar. A failure to book never fails the organizer's request.

// resourceReceive processes a meeting request for a resource mailbox.
func (rc *reqCtx) resourceReceive(room, org *directory.Recipient, meeting *mailbox.Item, kind string) {
	l := roomLock(room.ID) // serialized with direct writes (calendar_guard.go)
	l.Lock()
	defer l.Unlock()
	p := room.EffectiveCalendarProcessing()
	log := rc.h.log.With("request", rc.id, "room", room.PrimarySmtpAddress, "organizer", org.PrimarySmtpAddress, "subject", meeting.Subject)
	switch p.AutomateProcessing {
	case "None":
		log.Info("resource booking: not processed (AutomateProcessing None)")
		rc.deliverMeetingMessage(room, rc.meetingMessage(org, meeting, classMeetingRequest, meeting.Subject, kind, nil))
		return
	case "AutoUpdate":
		rc.forwardForApproval(room, org, p, meeting, kind, "", log)
		return
	}
	cal, err := rc.h.mbx.Distinguished(rc.ctx, room.ID, "calendar")
	if err != nil {
		log.Error("resource booking failed", "error", err)
		return
	}
	violation := rc.bookingViolation(p, cal, meeting)
	delegates := len(p.ResourceDelegates) > 0 && !p.NoForwardToDelegates
	switch {
	case violation == "" && (p.AllBookInPolicy || rc.inPolicy(org, p.BookInPolicy)):
		rc.bookAccepted(room, org, p, meeting, log)
	case violation == "" && delegates && (p.AllRequestInPolicy || rc.inPolicy(org, p.RequestInPolicy)):
		rc.forwardForApproval(room, org, p, meeting, kind, "The organizer needs a delegate's approval to book this resource.", log)
	case violation != "" && delegates && (p.AllRequestOutOfPolicy || rc.inPolicy(org, p.RequestOutOfPolicy)):
		rc.forwardForApproval(room, org, p, meeting, kind, violation, log)
	default:
		if violation == "" {
			violation = "You are not allowed to book this resource."
		}
		rc.bookDeclined(room, org, meeting, violation, log)
	}
}

func (rc *reqCtx) bookAccepted(room, org *directory.Recipient, p *directory.CalendarProcessing, meeting *mailbox.Item, log *slog.Logger) {
	booked, err := rc.upsertAttendeeCopy(room, org, meeting, true, func(x *mailbox.Item) {
		if p.DeleteSubject {
			x.Subject = ""
		}
		if p.AddOrganizerToSubject {
			x.Subject = strings.TrimSpace(displayName(org) + " " + x.Subject)
		}
		if p.DeleteComments {
			x.Body = ""
		}
		if p.RemovePrivateProperty && x.Sensitivity == "Private" {
			x.Sensitivity = "Normal"
		}
		x.Extended[calMyResponse] = "Accept"
		x.Extended[calFreeBusy] = orDefault(meeting.Extended[calFreeBusy], "Busy")
	})
	if err != nil {
		log.Error("resource booking failed", "error", err)
		return
	}
	log.Info("resource booking: accepted")
	rc.recordBookingDecision(room, org, meeting, mailbox.BookingSourceMeetingRequest, mailbox.BookingAccepted, "")
	rc.resourceResponse(room, org, booked, respAccepted, "Accepted: ", "Accept", fmt.Sprintf("Your request was accepted by %s.", displayName(room)))
}

func (rc *reqCtx) bookDeclined(room, org *directory.Recipient, meeting *mailbox.Item, reason string, log *slog.Logger) {
	if cp, err := rc.meetingItem(room.ID, meeting.Extended[calUID], org.ID); err == nil && cp != nil {
		// An update the resource can no longer host: the booking goes.
		if err := rc.h.mbx.DeleteItem(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, room.ID, cp.Key, mailbox.MoveToDeletedItems); err != nil {
			log.Error("resource booking: old booking not removed", "error", err)
		}
	}
	log.Info("resource booking: declined", "reason", reason)
	rc.recordBookingDecision(room, org, meeting, mailbox.BookingSourceMeetingRequest, mailbox.BookingDeclined, reason)
	rc.resourceResponse(room, org, meeting, respDeclined, "Declined: ", "Decline",
		fmt.Sprintf("Your request was declined by %s. %s", displayName(room), reason))
}

// forwardForApproval places the meeting Tentative in the resource's
// calendar and sends the request to its Inbox and its resource delegates.
func (rc *reqCtx) forwardForApproval(room, org *directory.Recipient, p *directory.CalendarProcessing, meeting *mailbox.Item, kind, reason string, log *slog.Logger) {
	cp, err := rc.upsertAttendeeCopy(room, org, meeting, kind != "InformationalUpdate", nil)
	if err != nil {
		log.Error("resource booking failed", "error", err)
		return
	}
	req := rc.meetingMessage(org, meeting, classMeetingRequest, meeting.Subject, kind, cp)
	if _, err := rc.h.mbx.Deliver(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, []string{room.ID}, req); err != nil {
		log.Error("resource booking: request not delivered", "error", err)
	}
	var sent []string
	if !p.NoForwardToDelegates {
		for _, id := range p.ResourceDelegates {
			d := rc.recipient(id)
			if d == nil || d.Org != room.Org || !d.IsMailbox() || rc.ensure(id) != nil {
				continue
			}
			c := copyMessage(req)
			c.Extended[mtgFor] = room.ID
			if _, err := rc.h.mbx.Deliver(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, []string{id}, c); err == nil {
				sent = append(sent, d.PrimarySmtpAddress)
			}
		}
	}
	outcome, why := mailbox.BookingTentative, "placed tentatively (AutoUpdate)"
	if len(sent) > 0 {
		outcome, why = mailbox.BookingForwarded, "forwarded to "+strings.Join(sent, ", ")
	}
	if reason != "" {
		why = reason + " " + why
	}
	log.Info("resource booking: awaiting a delegate", "outcome", outcome, "reason", why)
	rc.recordBookingDecision(room, org, meeting, mailbox.BookingSourceMeetingRequest, outcome, why)
	if p.AutomateProcessing == "AutoAccept" {
		rc.resourceResponse(room, org, cp, respTentative, "Tentative: ", "Tentative",
			fmt.Sprintf("Your request was received by %s and is awaiting approval. %s", displayName(room), reason))
	}
}

// resourceResponse sends the resource's own response to the organizer.
func (rc *reqCtx) resourceResponse(room, org *directory.Recipient, meeting *mailbox.Item, class, prefix, kind, body string) {
	resp := rc.meetingMessage(room, meeting, class, prefix+rc.organizerSubject(org, meeting), "", nil)
	resp.Body, resp.BodyType, resp.Cc = body, "Text", nil
	resp.To = []mailbox.Address{*addrOf(org)}
	resp.Extended[mtgResponse] = kind
	rc.deliverResponse(room, org, resp)
}

// organizerSubject is the meeting's subject as the organizer wrote it
// (the resource's copy may have lost it to DeleteSubject).
func (rc *reqCtx) organizerSubject(org *directory.Recipient, meeting *mailbox.Item) string {
	if meeting.Mailbox == org.ID {
		return meeting.Subject
	}
	if oc, err := rc.meetingItem(org.ID, meeting.Extended[calUID], org.ID); err == nil && oc != nil {
		return oc.Subject
	}
	return meeting.Subject
}

// resourceCancel removes a cancelled meeting from a resource's calendar; it
// reports false when the resource does no processing (AutomateProcessing
// None), so the cancellation is delivered like any other.
func (rc *reqCtx) resourceCancel(room, org *directory.Recipient, meeting, booked *mailbox.Item) bool {
	if room.EffectiveCalendarProcessing().AutomateProcessing == "None" {
		return false
	}
	l := roomLock(room.ID)
	l.Lock()
	defer l.Unlock()
	if booked != nil {
		if err := rc.h.mbx.DeleteItem(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, room.ID, booked.Key, mailbox.MoveToDeletedItems); err != nil {
			rc.h.log.Error("resource booking: cancelled meeting not removed", "request", rc.id, "room", room.PrimarySmtpAddress, "error", err)
			return true
		}
	}
	rc.recordBookingDecision(room, org, meeting, mailbox.BookingSourceMeetingRequest, mailbox.BookingCancelled, "the organizer cancelled the meeting")
	return true
}

// calOrganizerKey marks, in a room's booked copy, the organizer's
// recipient id.
const calOrganizerKey = "actas:cal:organizer"

// bookingDecline returns why the room declines the meeting from organizer
// outright ("" = accept): not in BookInPolicy, or a policy violation.
func (rc *reqCtx) bookingDecline(room, organizer *directory.Recipient, p *directory.CalendarProcessing, cal *mailbox.Folder, meeting *mailbox.Item) string {
	if !p.AllBookInPolicy && !rc.inPolicy(organizer, p.BookInPolicy) {
		return "You are not allowed to book this resource."
	}
	return rc.bookingViolation(p, cal, meeting)
}

// bookingViolation returns which rule of the policy the meeting breaks ("" =
// none). The meeting's own booking (same UID, same organizer) and Free or
// cancelled items never conflict.
func (rc *reqCtx) bookingViolation(p *directory.CalendarProcessing, cal *mailbox.Folder, meeting *mailbox.Item) string {
	start, _ := calTime(meeting, calStart)
	end, _ := calTime(meeting, calEnd)
	if p.MaximumDurationInMinutes > 0 && end.Sub(start) > time.Duration(p.MaximumDurationInMinutes)*time.Minute {
		return fmt.Sprintf("The meeting is longer than the maximum duration of %d minutes.", p.MaximumDurationInMinutes)
	}
	horizon := time.Date(rc.now.Year(), rc.now.Month(), rc.now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, p.BookingWindowInDays+1)
	var spans []calWindow
	if s, ok := seriesOf(meeting); ok {
		if !p.AllowRecurringMeetings {
			return "Recurring meetings are not allowed for this resource."
		}
		if _, last, _, hasLast, err := s.FirstLast(); err == nil && hasLast && last.End.After(horizon) {
			return fmt.Sprintf("The meeting series extends beyond the booking window of %d days.", p.BookingWindowInDays)
		}
		occ, _ := s.Expand(rc.now, horizon)
		for _, o := range occ {
			spans = append(spans, calWindow{o.Start, o.End})
		}
	} else {
		if end.After(horizon) {
			return fmt.Sprintf("The meeting is outside the booking window of %d days.", p.BookingWindowInDays)
		}
		spans = []calWindow{{start, end}}
	}
	if p.AllowConflicts || len(spans) == 0 {
		return ""
	}
	// The meeting's own booking: same UID and the same organizer.
	uid, org := meeting.Extended[calUID], organizerOf(meeting)
	if org == "" {
		org = meeting.Mailbox
	}
	return rc.conflictIn(cal, spans, func(it *mailbox.Item) bool {
		return uid != "" && it.Extended[calUID] == uid && organizerOf(it) == org
	})
}

// conflictIn returns why spans cannot be booked in cal ("" = free): the
// first non-Free, non-cancelled item overlapping one of them, skip aside
// (asked of series masters before they are expanded and of every item
// after).
func (rc *reqCtx) conflictIn(cal *mailbox.Folder, spans []calWindow, skip func(*mailbox.Item) bool) string {
	if len(spans) == 0 {
		return ""
	}
	busy, _, e := rc.expandCalendarView(cal, func(it *mailbox.Item) bool {
		return it.Extended[calFreeBusy] != "Free" && it.Extended[calCancelled] != "true" && !skip(it)
	}, calWindow{spans[0].from, spans[len(spans)-1].to}, 0)
	if e != nil {
		return "The resource's calendar could not be read."
	}
	for _, sp := range spans {
		for _, it := range busy {
			if skip(it) {
				continue
			}
			bs, _ := calTime(it, calStart)
			be, _ := calTime(it, calEnd)
			if bs.Before(sp.to) && be.After(sp.from) {
				return fmt.Sprintf("The resource is already booked from %s to %s (UTC).", bs.UTC().Format("2006-01-02 15:04"), be.UTC().Format("15:04"))
			}
		}
	}
	return ""
}

// inPolicy reports whether the organizer or one of their groups is listed.
func (rc *reqCtx) inPolicy(organizer *directory.Recipient, ids []string) bool {
	ok := false
	_ = rc.h.dir.Read(func(s *directory.State) error {
		groups := map[string]bool{organizer.ID: true}
		for _, g := range s.GroupsTransitive(organizer.ID) {
			groups[g] = true
		}
		for _, id := range ids {
			if groups[id] {
				ok = true
			}
		}
		return nil
	})
	return ok
}
