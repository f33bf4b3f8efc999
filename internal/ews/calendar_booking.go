package ews

import (
	"fmt"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Resource booking (issue 4). Meeting requests are not delivered as
// messages yet; instead, when CreateItem saves a meeting with
// SendMeetingInvitations SendOnlyToAll or SendToAllAndSaveCopy, every room
// or equipment mailbox of the organization among its attendees and
// resources is processed at once by its booking policy
// (Recipient.CalendarProcessing, Set-CalendarProcessing):
//
//   - AutomateProcessing other than AutoAccept: nothing happens (logged);
//     AutoUpdate only maintains requests, which are not delivered yet.
//   - AutoAccept: declined when the meeting (each occurrence) is longer
//     than MaximumDurationInMinutes (0 = unlimited), ends beyond
//     BookingWindowInDays from now (0 = today only), is recurring while
//     AllowRecurringMeetings is off, comes from an organizer outside
//     BookInPolicy while AllBookInPolicy is off, or — without
//     AllowConflicts — overlaps a non-Free item of the room's calendar
//     (a series: any occurrence inside the booking window). Otherwise it
//     is accepted: a copy goes into the room's calendar, with the subject,
//     body and private flag handled per AddOrganizerToSubject,
//     DeleteSubject, DeleteComments and RemovePrivateProperty.
//   - The organizer receives "Accepted: …" or "Declined: …" in their
//     Inbox (class IPM.Schedule.Meeting.Resp.Pos / .Neg); a decline's body
//     gives the reason. Every decision is logged ("resource booking").
//
// A failure to book never fails the organizer's CreateItem.

const (
	respAccepted = "IPM.Schedule.Meeting.Resp.Pos"
	respDeclined = "IPM.Schedule.Meeting.Resp.Neg"
)

// processResourceBookings runs after a calendar item was created.
func (rc *reqCtx) processResourceBookings(sendInvitations string, meeting *mailbox.Item) {
	if !isAppointment(meeting) || (sendInvitations != "SendOnlyToAll" && sendInvitations != "SendToAllAndSaveCopy") {
		return
	}
	organizer := rc.recipient(meeting.Mailbox)
	if organizer == nil {
		return
	}
	var rooms []*directory.Recipient
	seen := map[string]bool{}
	_ = rc.h.dir.Read(func(s *directory.State) error {
		for _, list := range [][]mailbox.Address{meeting.To, meeting.Cc, meeting.Bcc} {
			for _, a := range list {
				r := s.RecipientBySMTP(a.Email)
				if r == nil || r.Org != organizer.Org || seen[r.ID] || r.ID == meeting.Mailbox || (r.Type != directory.RoomMailbox && r.Type != directory.EquipmentMailbox) {
					continue
				}
				seen[r.ID] = true
				rooms = append(rooms, r)
			}
		}
		return nil
	})
	for _, room := range rooms {
		rc.bookResource(room, organizer, meeting)
	}
}

func (rc *reqCtx) bookResource(room, organizer *directory.Recipient, meeting *mailbox.Item) {
	p := room.EffectiveCalendarProcessing()
	log := rc.h.log.With("request", rc.id, "room", room.PrimarySmtpAddress, "organizer", organizer.PrimarySmtpAddress, "subject", meeting.Subject)
	if p.AutomateProcessing != "AutoAccept" {
		log.Info("resource booking: not processed", "automateProcessing", p.AutomateProcessing)
		return
	}
	if err := rc.ensure(room.ID); err != nil {
		log.Error("resource booking failed", "error", err)
		return
	}
	cal, err := rc.h.mbx.Distinguished(rc.ctx, room.ID, "calendar")
	if err != nil {
		log.Error("resource booking failed", "error", err)
		return
	}
	reason := rc.bookingDecline(room, organizer, p, cal, meeting)
	if reason == "" {
		cp := *meeting
		cp.Extended = cloneMap(meeting.Extended)
		delete(cp.Extended, creatorKey)
		cp.IsRead, cp.IsDraft = true, false
		if p.DeleteSubject {
			cp.Subject = ""
		}
		if p.AddOrganizerToSubject {
			if cp.Subject == "" {
				cp.Subject = displayName(organizer)
			} else {
				cp.Subject = displayName(organizer) + " " + cp.Subject
			}
		}
		if p.DeleteComments {
			cp.Body = ""
		}
		if p.RemovePrivateProperty && cp.Sensitivity == "Private" {
			cp.Sensitivity = "Normal"
		}
		cp.Extended[calOrganizerKey] = organizer.ID
		if _, err := rc.h.mbx.CreateItem(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, room.ID, cal.Key, &cp); err != nil {
			log.Error("resource booking failed", "error", err)
			return
		}
		log.Info("resource booking: accepted")
		rc.recordBookingDecision(room, organizer, meeting, mailbox.BookingSourceMeetingRequest, mailbox.BookingAccepted, "") // calendar_log.go
		rc.bookingReply(room, organizer, meeting, respAccepted, "Accepted: "+meeting.Subject,
			fmt.Sprintf("Your request was accepted by %s.", displayName(room)))
		return
	}
	log.Info("resource booking: declined", "reason", reason)
	rc.recordBookingDecision(room, organizer, meeting, mailbox.BookingSourceMeetingRequest, mailbox.BookingDeclined, reason) // calendar_log.go
	rc.bookingReply(room, organizer, meeting, respDeclined, "Declined: "+meeting.Subject,
		fmt.Sprintf("Your request was declined by %s. %s", displayName(room), reason))
}

// calOrganizerKey marks, in a room's booked copy, the organizer's
// recipient id.
const calOrganizerKey = "actas:cal:organizer"

// bookingDecline returns why the room declines the meeting ("" = accept).
func (rc *reqCtx) bookingDecline(room, organizer *directory.Recipient, p *directory.CalendarProcessing, cal *mailbox.Folder, meeting *mailbox.Item) string {
	start, _ := calTime(meeting, calStart)
	end, _ := calTime(meeting, calEnd)
	if p.MaximumDurationInMinutes > 0 && end.Sub(start) > time.Duration(p.MaximumDurationInMinutes)*time.Minute {
		return fmt.Sprintf("The meeting is longer than the maximum duration of %d minutes.", p.MaximumDurationInMinutes)
	}
	if !p.AllBookInPolicy && !rc.inPolicy(organizer, p.BookInPolicy) {
		return "You are not allowed to book this resource."
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
	from, to := spans[0].from, spans[len(spans)-1].to
	busy, _, e := rc.expandCalendarView(cal, func(it *mailbox.Item) bool { return it.Extended[calFreeBusy] != "Free" }, calWindow{from, to}, 0)
	if e != nil {
		return "The resource's calendar could not be read."
	}
	for _, sp := range spans {
		for _, it := range busy {
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

// bookingReply delivers the room's response to the organizer's Inbox.
func (rc *reqCtx) bookingReply(room, organizer *directory.Recipient, meeting *mailbox.Item, class, subject, body string) {
	from := &mailbox.Address{Name: displayName(room), Email: room.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
	msg := &mailbox.Item{Class: class, Subject: subject, Body: body, BodyType: "Text", From: from, Sender: from,
		To:           []mailbox.Address{{Name: displayName(organizer), Email: organizer.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}},
		DateTimeSent: rc.now, DateTimeReceived: rc.now, DateTimeCreated: rc.now,
		Extended: map[string]string{calStart: meeting.Extended[calStart], calEnd: meeting.Extended[calEnd]}}
	if _, err := rc.h.mbx.Deliver(rc.ctx, mailbox.Actor{ID: room.ID, Via: "owner"}, []string{organizer.ID}, msg); err != nil {
		rc.h.log.Error("resource booking: reply not delivered", "request", rc.id, "room", room.PrimarySmtpAddress, "error", err)
	}
}
