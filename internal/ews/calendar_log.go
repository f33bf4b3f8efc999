package ews

import (
	"strconv"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// The booking decision log of resource mailboxes (issue 4): every decision
// a room or equipment mailbox's policy takes is stored
// (mailbox.BookingLog, table mailbox_booking_log) and shown by
// Get-CalendarProcessingLog. Sources are mailbox.BookingSource…
// (MeetingRequest, DirectWrite, Delegate), outcomes mailbox.Booking…
// (Accepted, Declined, Tentative, Forwarded, Refused).

// recordBookingDecision stores one decision of room about it: source and
// outcome are mailbox.BookingSource… and mailbox.Booking… values, reason
// says why (empty for a plain acceptance). actor is the organizer of a
// meeting request, or the account that wrote into the calendar or decided
// as a delegate. It never fails the request: a store without a log (the
// test fake) records nothing, and an error is logged.
func (rc *reqCtx) recordBookingDecision(room, actor *directory.Recipient, it *mailbox.Item, source, outcome, reason string) {
	d := &mailbox.BookingDecision{Mailbox: room.ID, At: rc.now, Source: source, Outcome: outcome, Reason: reason, RequestID: strconv.FormatUint(rc.id, 10)}
	if actor != nil {
		d.ActorID, d.ActorAddress = actor.ID, actor.PrimarySmtpAddress
	}
	if it != nil {
		d.Subject = it.Subject
		if isPrivate(it) { // the log is read by admins, not by who may see private items
			d.Subject = maskedPrivate(it).Subject
		}
		d.Start, _ = calTime(it, calStart)
		d.End, _ = calTime(it, calEnd)
	}
	log := rc.h.log.With("request", rc.id, "room", room.PrimarySmtpAddress, "source", source, "outcome", outcome)
	bl, ok := rc.h.mbx.(mailbox.BookingLog)
	if !ok {
		log.Debug("booking decision not recorded: the mailbox store keeps no booking log")
		return
	}
	if err := bl.RecordBookingDecision(rc.ctx, d); err != nil {
		log.Error("booking decision not recorded", "error", err)
	}
}
