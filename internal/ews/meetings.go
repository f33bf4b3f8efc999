package ews

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Meetings (issue 4). A calendar item with attendees saved with
// SendMeetingInvitations SendOnlyToAll or SendToAllAndSaveCopy (CreateItem)
// or SendMeetingInvitationsOrCancellations other than SendToNone
// (UpdateItem) is a meeting its mailbox organizes. For every attendee of
// the organization (distribution groups expanded):
//
//   - a user or shared mailbox gets a copy of the meeting in its calendar
//     (MyResponseType NoResponseReceived, Tentative, IsMeeting, Organizer =
//     the organizer) and a meeting request (IPM.Schedule.Meeting.Request,
//     t:MeetingRequest) whose AssociatedCalendarItemId names that copy.
//     Meeting messages follow the mailbox's delegates: delegates with
//     ReceiveCopiesOfMeetingMessages get a copy (IsDelegated,
//     ReceivedRepresenting = the owner) and DeliverMeetingRequests decides
//     the owner's own: DelegatesOnly none, DelegatesAndMe a full one,
//     DelegatesAndSendInformationToMe an informational one
//     (MeetingRequestType PrincipalWantsCopy), NoForward no delegate copies.
//   - a room or equipment mailbox processes the request by its
//     Set-CalendarProcessing policy (calendar_booking.go).
//
// AcceptItem, TentativelyAcceptItem and DeclineItem (CreateItem) reference
// a meeting request or the attendee's calendar copy: the copy's response
// and free/busy change (a decline moves it to Deleted Items), a referenced
// request is marked processed and moved to Deleted Items, and — unless
// MessageDisposition is SaveOnly, which leaves the response in Drafts — a
// meeting response (IPM.Schedule.Meeting.Resp.Pos/Tent/Neg) goes to the
// organizer, whose tracking of that attendee changes at once. The owner
// (also through impersonation) answers as themselves; a delegate with
// Editor on the calendar answers on the owner's behalf (From = owner,
// Sender = delegate); a room's ResourceDelegates answer for the room.
// Tracking lives beside the organizer's item (mailbox.MeetingResponses),
// so a response never changes the item's ChangeKey under its client.
//
// Updates: the organizer's item remembers whom it invited and when the
// meeting was (calInvited, calWhen). An update sends FullUpdate requests
// (time, location or recurrence changed: responses reset) or
// InformationalUpdate ones to the attendees kept (SendToAll…), requests to
// added attendees and cancellations to removed ones (SendOnlyToChanged and
// SendToChangedAndSaveCopy: only those two). Cancellations
// (IPM.Schedule.Meeting.Canceled) — from DeleteItem with
// SendMeetingCancellations SendOnlyToAll/SendToAllAndSaveCopy or
// CancelCalendarItem — mark attendees' copies IsCancelled ("Canceled: …",
// Free) and remove the booking from resource calendars.
//
// A change to one occurrence of a series (UpdateItem or DeleteItem of an
// occurrence) sends the series again as an InformationalUpdate
// (sendSeriesChange): responses are per series, not per occurrence.
//
// External attendees receive nothing (no outbound transport): the request
// stays in the organizer's Outbox with the undelivered category, as mail
// does, and the server logs it.
// Nothing here fails the organizer's request once its own item is saved.

const (
	classMeetingRequest = "IPM.Schedule.Meeting.Request"
	classMeetingCancel  = "IPM.Schedule.Meeting.Canceled"
	classMeetingResp    = "IPM.Schedule.Meeting.Resp."
	respAccepted        = classMeetingResp + "Pos"
	respTentative       = classMeetingResp + "Tent"
	respDeclined        = classMeetingResp + "Neg"
)

// Reserved Extended keys of meetings (never visible as extended properties).
const (
	calMyResponse = "actas:cal:myresponse" // attendee copy: NoResponseReceived, Accept, Tentative, Decline
	calCancelled  = "actas:cal:cancelled"  // "true" once the organizer cancelled
	calSeq        = "actas:cal:seq"        // AppointmentSequenceNumber
	calInvited    = "actas:cal:invited"    // organizer: lower-case addresses invited, "\x00"-joined
	calWhen       = "actas:cal:when"       // organizer: hash of time, location and recurrence at the last send
	mtgAssoc      = "actas:mtg:assoc"      // meeting message: id of the associated calendar item
	mtgType       = "actas:mtg:type"       // MeetingRequestType
	mtgFor        = "actas:mtg:for"        // delegate's copy: the principal's recipient id
	mtgProcessed  = "actas:mtg:processed"  // "true" once answered
	mtgResponse   = "actas:mtg:response"   // meeting response: Accept, Tentative, Decline
)

// meetingKeys are the Extended keys a meeting's copies and messages carry.
var meetingKeys = []string{calStart, calEnd, calAllDay, calLocation, calUID, calTZ, calEndTZ, calRecur, calDeleted, calModified, calSeq}

func isMeetingMessage(it *mailbox.Item) bool {
	return strings.HasPrefix(it.Class, "IPM.Schedule.Meeting.")
}

// organizerOf returns the organizer's recipient id of an attendee's or
// resource's copy, "" for an item its own mailbox organizes.
func organizerOf(it *mailbox.Item) string { return it.Extended[calOrganizerKey] }

func addrOf(r *directory.Recipient) *mailbox.Address {
	return &mailbox.Address{Name: displayName(r), Email: r.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
}

// sendsInvitations reports whether a SendMeetingInvitations(OrCancellations)
// value sends anything, and whether only to changed attendees.
func sendsInvitations(mode string) (send, changedOnly bool) {
	switch mode {
	case "SendOnlyToAll", "SendToAllAndSaveCopy":
		return true, false
	case "SendOnlyToChanged", "SendToChangedAndSaveCopy":
		return true, true
	}
	return false, false
}

// whenHash identifies the parts of a meeting whose change is a full update.
func whenHash(it *mailbox.Item) string {
	h := sha256.New()
	for _, k := range []string{calStart, calEnd, calAllDay, calLocation, calTZ, calRecur, calDeleted, calModified} {
		h.Write([]byte(it.Extended[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// meetingPlan is what one send of a meeting delivers.
type meetingPlan struct {
	added, kept, removed []string // lower-case addresses
	external             []string // attendees outside the organization
	full                 bool     // time, location or recurrence changed
	toKept               bool
}

func (p *meetingPlan) empty() bool {
	return len(p.added)+len(p.removed)+len(p.external) == 0 && !(p.toKept && len(p.kept) > 0)
}

// expandRecipients resolves addresses to the mailboxes of owner's
// organization, expanding distribution groups; other addresses are
// external.
func (rc *reqCtx) expandRecipients(owner string, lists ...[]mailbox.Address) (internal []*directory.Recipient, external []string) {
	seen := map[string]bool{}
	_ = rc.h.dir.Read(func(s *directory.State) error {
		o := s.Recipient(owner)
		var add func(r *directory.Recipient, depth int)
		add = func(r *directory.Recipient, depth int) {
			if seen[r.ID] || depth > 20 {
				return
			}
			seen[r.ID] = true
			switch {
			case r.IsMailbox():
				internal = append(internal, r)
			case r.IsGroup() && r.Type != directory.RoleGroup:
				for _, m := range s.Members(r.ID) {
					if mr := s.Recipient(m); mr != nil {
						add(mr, depth+1)
					}
				}
			}
		}
		for _, list := range lists {
			for _, a := range list {
				r := s.RecipientBySMTP(a.Email)
				if r == nil || o == nil || r.Org != o.Org || !(r.IsMailbox() || r.IsGroup() && r.Type != directory.RoleGroup) {
					if k := "ext:" + strings.ToLower(a.Email); !seen[k] {
						seen[k] = true
						external = append(external, a.Email)
					}
					continue
				}
				add(r, 0)
			}
		}
		return nil
	})
	return internal, external
}

// meetingAttendees resolves, outside any store transaction (it reads the
// directory), the lower-case addresses of the organization's mailboxes a
// meeting of owner invites, groups expanded, the organizer left out.
func (rc *reqCtx) meetingAttendees(owner string, it *mailbox.Item) attendees {
	atts, ext := rc.expandRecipients(owner, it.To, it.Cc, it.Bcc)
	a := attendees{external: ext}
	for _, r := range atts {
		if r.ID != owner {
			a.internal = append(a.internal, strings.ToLower(r.PrimarySmtpAddress))
		}
	}
	return a
}

// attendees are a meeting's attendees: addresses of the organization's
// mailboxes (lower case) and external addresses.
type attendees struct{ internal, external []string }

// checkMeetingSend refuses to send meeting messages about it (with the
// attendees it now has) from owner's mailbox for a user who may not send as
// or on behalf of owner (ErrorSendAsDenied), as for any message: editing
// someone's calendar is not a right to speak for them.
func (rc *reqCtx) checkMeetingSend(owner, mode string, it *mailbox.Item, a attendees) *ewsErr {
	if send, _ := sendsInvitations(mode); !send || owner == rc.user.ID || organizerOf(it) != "" ||
		len(a.internal)+len(a.external) == 0 && it.Extended[calInvited] == "" {
		return nil
	}
	_, _, e := rc.sendIdentity(owner)
	return e
}

// planMeeting decides, as the organizer's item is saved, what a send to
// the attendees a (meetingAttendees) delivers, and records on the item
// whom it invited and when. It reads nothing, so it may run inside a store
// transaction.
func planMeeting(it *mailbox.Item, a attendees, mode string) *meetingPlan {
	cur := a.internal
	send, changedOnly := sendsInvitations(mode)
	if !send || !isAppointment(it) || organizerOf(it) != "" || isOccurrence(it) {
		return nil
	}
	var prev []string
	if v := it.Extended[calInvited]; v != "" {
		prev = strings.Split(v, "\x00")
	}
	p := &meetingPlan{toKept: !changedOnly, full: it.Extended[calWhen] != "" && it.Extended[calWhen] != whenHash(it), external: a.external}
	for _, a := range cur {
		if slices.Contains(prev, a) {
			p.kept = append(p.kept, a)
		} else {
			p.added = append(p.added, a)
		}
	}
	for _, a := range prev {
		if !slices.Contains(cur, a) {
			p.removed = append(p.removed, a)
		}
	}
	if p.empty() {
		return nil
	}
	seq := 0
	if it.Extended[calInvited] != "" {
		seq, _ = strconv.Atoi(it.Extended[calSeq])
		seq++
	}
	setExt(it, calSeq, strconv.Itoa(seq))
	setExt(it, calInvited, strings.Join(cur, "\x00"))
	setExt(it, calWhen, whenHash(it))
	return p
}

// sendMeeting delivers a planned send of the organizer's saved meeting.
func (rc *reqCtx) sendMeeting(meeting *mailbox.Item, p *meetingPlan) {
	if p == nil {
		return
	}
	org := rc.recipient(meeting.Mailbox)
	if org == nil {
		return
	}
	if p.full {
		if err := rc.h.mbx.SetMeetingResponse(rc.ctx, rc.actor(org.ID), org.ID, meeting.Extended[calUID], "", ""); err != nil {
			rc.h.log.Error("meeting: tracking not reset", "request", rc.id, "error", err)
		}
	}
	for _, a := range p.removed {
		if att := rc.orgMailbox(org, a); att != nil {
			rc.cancelFor(att, org, meeting)
		}
	}
	for _, a := range p.added {
		if att := rc.orgMailbox(org, a); att != nil {
			rc.invite(att, org, meeting, "NewMeetingRequest")
		}
	}
	if p.toKept {
		kind := "InformationalUpdate"
		if p.full {
			kind = "FullUpdate"
		}
		for _, a := range p.kept {
			if att := rc.orgMailbox(org, a); att != nil {
				rc.invite(att, org, meeting, kind)
			}
		}
	}
	if ext := p.external; len(ext) > 0 {
		// As for mail (send.go): the request stays in the organizer's Outbox,
		// marked, and the server says so; nothing is silently lost.
		req := rc.meetingMessage(org, meeting, classMeetingRequest, meeting.Subject, "", nil)
		req.From, req.Sender = rc.organizerIdentity(org)
		req.IsRead = true
		req.Categories = []string{undeliveredCategory}
		req.Extended["actas:undelivered"] = strings.Join(ext, ", ")
		if outbox, e := rc.distinguished(org.ID, "outbox"); e == nil {
			if _, err := rc.h.mbx.CreateItem(rc.ctx, rc.actor(org.ID), org.ID, outbox.Key, req); err != nil {
				rc.h.log.Error("meeting: undelivered request not kept", "request", rc.id, "error", err)
			}
		}
		rc.h.log.Warn("meeting: no request sent to external attendees (no outbound mail transport); kept in the Outbox", "request", rc.id,
			"organizer", org.PrimarySmtpAddress, "attendees", strings.Join(ext, ", "))
	}
}

// sendSeriesChange sends the attendees of an organizer's series the series
// again after one occurrence was changed or deleted (occ is any occurrence
// of it). It is an informational update: responses to the series stand,
// and the attendees' copies carry the new exception or deletion.
func (rc *reqCtx) sendSeriesChange(occ *mailbox.Item, mode string) {
	if send, _ := sendsInvitations(mode); !send {
		return
	}
	master, err := rc.h.mbx.Item(rc.ctx, occ.Mailbox, occ.Key)
	if err != nil || organizerOf(master) != "" || master.Extended[calInvited] == "" {
		return
	}
	rc.sendMeeting(master, &meetingPlan{kept: strings.Split(master.Extended[calInvited], "\x00"), toKept: true})
}

// orgMailbox finds a mailbox of org's organization by address.
func (rc *reqCtx) orgMailbox(org *directory.Recipient, addr string) *directory.Recipient {
	var r *directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		r = s.RecipientBySMTP(addr)
		return nil
	})
	if r == nil || r.Org != org.Org || !r.IsMailbox() {
		return nil
	}
	if err := rc.ensure(r.ID); err != nil {
		rc.h.log.Error("meeting: attendee mailbox unavailable", "request", rc.id, "attendee", addr, "error", err)
		return nil
	}
	return r
}

// invite sends one attendee a request (kind = MeetingRequestType).
func (rc *reqCtx) invite(att, org *directory.Recipient, meeting *mailbox.Item, kind string) {
	if att.Type == directory.RoomMailbox || att.Type == directory.EquipmentMailbox {
		rc.resourceReceive(att, org, meeting, kind) // calendar_booking.go
		return
	}
	cp, err := rc.upsertAttendeeCopy(att, org, meeting, kind != "InformationalUpdate", nil)
	if err != nil {
		rc.h.log.Error("meeting: attendee calendar not updated", "request", rc.id, "attendee", att.PrimarySmtpAddress, "error", err)
		return
	}
	req := rc.meetingMessage(org, meeting, classMeetingRequest, meeting.Subject, kind, cp)
	req.From, req.Sender = rc.organizerIdentity(org)
	rc.deliverMeetingMessage(att, req)
}

// organizerIdentity is From and Sender of the organizer's meeting messages:
// the organizer, with the effective user as Sender when they send on the
// organizer's behalf (checkMeetingSend allowed it).
func (rc *reqCtx) organizerIdentity(org *directory.Recipient) (from, sender *mailbox.Address) {
	if org.ID != rc.user.ID {
		if f, s, e := rc.sendIdentity(org.ID); e == nil {
			return f, s
		}
	}
	return addrOf(org), addrOf(org)
}

// meetingItem finds, in mbx's calendar, the item of the meeting uid that
// organizer organizes: organizer's own item when mbx is the organizer's
// mailbox, else the copy the organizer's messages made. An item with the
// same UID from anyone else (a client may choose a UID) is never touched.
func (rc *reqCtx) meetingItem(mbx, uid, organizer string) (*mailbox.Item, error) {
	cal, err := rc.h.mbx.Distinguished(rc.ctx, mbx, "calendar")
	if err != nil {
		return nil, err
	}
	want := organizer
	if organizer == mbx {
		want = ""
	}
	items, _, err := rc.h.mbx.Items(rc.ctx, mbx, cal.Key, mailbox.Query{Max: 1, Match: &[2]string{calUID, uid}, Filter: func(it *mailbox.Item) bool {
		return isAppointment(it) && it.Extended[calUID] == uid && organizerOf(it) == want
	}})
	if err != nil || len(items) == 0 {
		return nil, err
	}
	return rc.h.mbx.Item(rc.ctx, mbx, items[0].Key)
}

// upsertAttendeeCopy creates or refreshes att's copy of the meeting; reset
// asks for a new response. adjust, if set, edits the copy (resource policy).
func (rc *reqCtx) upsertAttendeeCopy(att, org *directory.Recipient, meeting *mailbox.Item, reset bool, adjust func(*mailbox.Item)) (*mailbox.Item, error) {
	uid := meeting.Extended[calUID]
	cur, err := rc.meetingItem(att.ID, uid, org.ID)
	if err != nil {
		return nil, err
	}
	fill := func(x *mailbox.Item, fresh bool) {
		x.Class, x.Subject, x.Body, x.BodyType = appointmentClass, meeting.Subject, meeting.Body, meeting.BodyType
		x.Sensitivity, x.Importance = meeting.Sensitivity, meeting.Importance
		x.To, x.Cc, x.Bcc = meeting.To, meeting.Cc, meeting.Bcc
		x.From, x.Sender = addrOf(org), addrOf(org)
		x.IsRead, x.IsDraft = true, false
		if x.Extended == nil {
			x.Extended = map[string]string{}
		}
		for _, k := range meetingKeys {
			if v, ok := meeting.Extended[k]; ok {
				x.Extended[k] = v
			} else {
				delete(x.Extended, k)
			}
		}
		x.Extended[calOrganizerKey] = org.ID
		delete(x.Extended, calCancelled)
		if fresh || reset || x.Extended[calMyResponse] == "" {
			x.Extended[calMyResponse] = "NoResponseReceived"
			x.Extended[calFreeBusy] = "Tentative"
		}
		if adjust != nil {
			adjust(x)
		}
		x.LastModified = rc.now
	}
	actor := mailbox.Actor{ID: att.ID, Via: "owner"}
	if cur != nil {
		return rc.h.mbx.UpdateItem(rc.ctx, actor, att.ID, cur.Key, "", func(x *mailbox.Item) error { fill(x, false); return nil })
	}
	cal, err := rc.h.mbx.Distinguished(rc.ctx, att.ID, "calendar")
	if err != nil {
		return nil, err
	}
	x := &mailbox.Item{DateTimeCreated: rc.now, DateTimeReceived: rc.now, DateTimeSent: rc.now}
	fill(x, true)
	return rc.h.mbx.CreateItem(rc.ctx, actor, att.ID, cal.Key, x)
}

// meetingMessage builds a request, cancellation or response about meeting
// from sender; assoc is the recipient's calendar copy (nil: none yet).
func (rc *reqCtx) meetingMessage(from *directory.Recipient, meeting *mailbox.Item, class, subject, kind string, assoc *mailbox.Item) *mailbox.Item {
	msg := &mailbox.Item{Class: class, Subject: subject, Body: meeting.Body, BodyType: meeting.BodyType,
		Sensitivity: meeting.Sensitivity, Importance: meeting.Importance,
		From: addrOf(from), Sender: addrOf(from), To: meeting.To, Cc: meeting.Cc,
		DateTimeSent: rc.now, DateTimeReceived: rc.now, DateTimeCreated: rc.now,
		Extended: map[string]string{}}
	for _, k := range meetingKeys {
		if v, ok := meeting.Extended[k]; ok {
			msg.Extended[k] = v
		}
	}
	msg.Extended[calFreeBusy] = orDefault(meeting.Extended[calFreeBusy], "Busy")
	if o := organizerOf(meeting); o != "" {
		msg.Extended[calOrganizerKey] = o
	} else {
		msg.Extended[calOrganizerKey] = meeting.Mailbox
	}
	if kind != "" {
		msg.Extended[mtgType] = kind
	}
	if assoc != nil {
		msg.Extended[mtgAssoc] = itemID(assoc)
	}
	return msg
}

// deliverMeetingMessage puts a meeting message in principal's Inbox and its
// delegates' per DeliverMeetingRequests (see the file comment).
func (rc *reqCtx) deliverMeetingMessage(principal *directory.Recipient, msg *mailbox.Item) {
	set := rc.delegatesOf(principal.ID)
	var delegates []string
	for _, d := range set.Delegates {
		// A private meeting's messages reach only delegates who may see
		// private items, as in Exchange.
		if d.ReceiveCopiesOfMeetingMessages && d.User != principal.ID && (!isPrivate(msg) || d.ViewPrivateItems) {
			delegates = append(delegates, d.User)
		}
	}
	own := msg
	if len(delegates) > 0 {
		switch set.DeliverMeetingRequests {
		case "DelegatesOnly":
			own = nil
		case "NoForward":
			delegates = nil
		case "DelegatesAndSendInformationToMe":
			if msg.Class == classMeetingRequest {
				own = copyMessage(msg)
				own.Extended[mtgType] = "PrincipalWantsCopy"
			}
		}
	}
	actor := mailbox.Actor{ID: principal.ID, Via: "owner"}
	if own != nil {
		if _, err := rc.h.mbx.Deliver(rc.ctx, actor, []string{principal.ID}, own); err != nil {
			rc.h.log.Error("meeting: message not delivered", "request", rc.id, "to", principal.PrimarySmtpAddress, "error", err)
		}
	}
	for _, id := range delegates {
		d := rc.recipient(id)
		if d == nil || d.Org != principal.Org || !d.IsMailbox() || rc.ensure(id) != nil {
			continue
		}
		cp := copyMessage(msg)
		cp.Extended[mtgFor] = principal.ID
		if _, err := rc.h.mbx.Deliver(rc.ctx, actor, []string{id}, cp); err != nil {
			rc.h.log.Error("meeting: delegate copy not delivered", "request", rc.id, "to", d.PrimarySmtpAddress, "error", err)
		}
	}
}

// copyMessage copies an item with its own Extended map (never nil).
func copyMessage(it *mailbox.Item) *mailbox.Item {
	c := *it
	c.Extended = cloneMap(it.Extended)
	if c.Extended == nil {
		c.Extended = map[string]string{}
	}
	return &c
}

// cancelFor tells one attendee that the meeting is cancelled.
func (rc *reqCtx) cancelFor(att, org *directory.Recipient, meeting *mailbox.Item) {
	uid := meeting.Extended[calUID]
	cp, err := rc.meetingItem(att.ID, uid, org.ID)
	if err != nil {
		rc.h.log.Error("meeting: attendee calendar unreadable", "request", rc.id, "attendee", att.PrimarySmtpAddress, "error", err)
	}
	if att.Type == directory.RoomMailbox || att.Type == directory.EquipmentMailbox {
		if rc.resourceCancel(att, org, meeting, cp) { // calendar_booking.go
			return
		}
	}
	if cp != nil {
		cp, err = rc.h.mbx.UpdateItem(rc.ctx, mailbox.Actor{ID: att.ID, Via: "owner"}, att.ID, cp.Key, "", func(x *mailbox.Item) error {
			x.Extended[calCancelled] = "true"
			x.Extended[calFreeBusy] = "Free"
			if !strings.HasPrefix(x.Subject, "Canceled: ") {
				x.Subject = "Canceled: " + x.Subject
			}
			x.LastModified = rc.now
			return nil
		})
		if err != nil {
			rc.h.log.Error("meeting: attendee copy not cancelled", "request", rc.id, "attendee", att.PrimarySmtpAddress, "error", err)
		}
	}
	msg := rc.meetingMessage(org, meeting, classMeetingCancel, "Canceled: "+meeting.Subject, "", cp)
	msg.From, msg.Sender = rc.organizerIdentity(org)
	rc.deliverMeetingMessage(att, msg)
}

// cancelMeeting cancels an organizer's meeting with everyone it invited.
func (rc *reqCtx) cancelMeeting(meeting *mailbox.Item) {
	org := rc.recipient(meeting.Mailbox)
	if org == nil || organizerOf(meeting) != "" || meeting.Extended[calInvited] == "" {
		return
	}
	for _, a := range strings.Split(meeting.Extended[calInvited], "\x00") {
		if att := rc.orgMailbox(org, a); att != nil {
			rc.cancelFor(att, org, meeting)
		}
	}
	rc.h.log.Info("meeting cancelled", "request", rc.id, "organizer", org.PrimarySmtpAddress, "uid", meeting.Extended[calUID])
}

// --- responses: AcceptItem, TentativelyAcceptItem, DeclineItem ---

var responseKinds = map[string]struct{ kind, class, prefix, code string }{
	"AcceptItem":            {"Accept", respAccepted, "Accepted: ", "Accept"},
	"TentativelyAcceptItem": {"Tentative", respTentative, "Tentative: ", "Tentative"},
	"DeclineItem":           {"Decline", respDeclined, "Declined: ", "Decline"},
}

// respondToMeeting runs one AcceptItem/TentativelyAcceptItem/DeclineItem
// and returns the attendee's calendar item.
func (rc *reqCtx) respondToMeeting(n *node, disp string, saved *mailbox.Folder) (*mailbox.Item, *ewsErr) {
	rk := responseKinds[n.Local]
	refNode := n.child("ReferenceItemId")
	if refNode == nil || refNode.attr("Id") == "" {
		return nil, newErr("ErrorInvalidIdEmpty", n.Local+" needs a ReferenceItemId.")
	}
	id := refNode.attr("Id")
	if m, _, ok := decodeOccurrenceID(id); ok { // an occurrence answers for its series
		id = m
	}
	ref, e := rc.loadItem(id)
	if e != nil {
		return nil, e
	}
	if e := rc.checkItem(ref, rightRead); e != nil {
		return nil, e
	}
	cal := ref
	switch {
	case ref.Class == classMeetingRequest:
		if cal, e = rc.loadItem(ref.Extended[mtgAssoc]); e != nil {
			return nil, newErr("ErrorItemNotFound", "The calendar item of this meeting request no longer exists.")
		}
	case !isAppointment(ref):
		return nil, newErr("ErrorInvalidReferenceItem", "Only a meeting request or a meeting in a calendar can be accepted, tentatively accepted or declined.")
	}
	orgID := organizerOf(cal)
	if orgID == "" {
		return nil, newErr("ErrorCalendarIsOrganizerFor"+rk.code, "The organizer of a meeting cannot respond to it.")
	}
	if cal.Extended[calCancelled] == "true" {
		return nil, newErr("ErrorCalendarIsCancelledFor"+rk.code, "The meeting has been cancelled.")
	}
	principal := rc.recipient(cal.Mailbox)
	org := rc.recipient(orgID)
	if principal == nil {
		return nil, newErr("ErrorItemNotFound")
	}
	resourceDelegate := rc.isResourceDelegate(principal)
	if !resourceDelegate {
		if e := rc.checkItem(cal, rightEdit); e != nil {
			return nil, e
		}
	}
	sends := disp != "SaveOnly"
	var from, sender *mailbox.Address
	if sends {
		if resourceDelegate && principal.ID != rc.user.ID {
			from, sender = addrOf(principal), addrOf(rc.user)
		} else if from, sender, e = rc.sendIdentity(principal.ID); e != nil {
			return nil, e
		}
	}
	actor := rc.actor(principal.ID)
	updated, err := rc.h.mbx.UpdateItem(rc.ctx, actor, principal.ID, cal.Key, "", func(x *mailbox.Item) error {
		x.Extended[calMyResponse] = rk.kind
		switch rk.kind {
		case "Accept":
			x.Extended[calFreeBusy] = "Busy"
		case "Tentative":
			x.Extended[calFreeBusy] = "Tentative"
		}
		x.LastModified = rc.now
		return nil
	})
	if err != nil {
		return nil, rc.mapItemErr(err)
	}
	if rk.kind == "Decline" {
		if del, e := rc.distinguished(principal.ID, "deleteditems"); e == nil {
			if moved, err := rc.h.mbx.MoveItem(rc.ctx, actor, principal.ID, updated.Key, del.Key); err == nil {
				updated = moved
			}
		}
	}
	if ref.Class == classMeetingRequest {
		rc.retireRequest(ref)
	}
	if principal.Type == directory.RoomMailbox || principal.Type == directory.EquipmentMailbox {
		outcome := map[string]string{"Accept": mailbox.BookingAccepted, "Tentative": mailbox.BookingTentative, "Decline": mailbox.BookingDeclined}[rk.kind]
		rc.recordBookingDecision(principal, rc.user, updated, mailbox.BookingSourceDelegate, outcome, "decided by "+rc.user.PrimarySmtpAddress)
	}
	subject := cal.Subject
	if org != nil {
		subject = rc.organizerSubject(org, cal) // a resource's copy may have lost it
	}
	resp := rc.meetingMessage(principal, cal, rk.class, rk.prefix+subject, "", nil)
	resp.Body, resp.BodyType = "", "Text"
	if b := n.child("Body"); b != nil {
		resp.Body, resp.BodyType = b.Text, orDefault(b.attr("BodyType"), "Text")
	}
	resp.Extended[mtgResponse] = rk.kind
	resp.Cc = nil
	if org != nil {
		resp.To = []mailbox.Address{*addrOf(org)}
	}
	if !sends {
		drafts, e := rc.distinguished(principal.ID, "drafts")
		if e != nil {
			return nil, e
		}
		resp.IsDraft = true
		if _, err := rc.h.mbx.CreateItem(rc.ctx, actor, principal.ID, drafts.Key, resp); err != nil {
			return nil, rc.mapItemErr(err)
		}
		return updated, nil
	}
	resp.From, resp.Sender = from, sender
	rc.deliverResponse(principal, org, resp)
	if disp == "SendAndSaveCopy" || disp == "" {
		dst := saved
		if dst == nil {
			var e *ewsErr
			if dst, e = rc.distinguished(principal.ID, "sentitems"); e != nil {
				return updated, nil
			}
		}
		cp := copyMessage(resp)
		cp.IsRead = true
		if _, err := rc.h.mbx.CreateItem(rc.ctx, actor, dst.Mailbox, dst.Key, cp); err != nil {
			rc.h.log.Error("meeting: response copy not saved", "request", rc.id, "error", err)
		}
	}
	return updated, nil
}

// deliverResponse sends a meeting response from attendee to the organizer
// and records it in the organizer's tracking.
func (rc *reqCtx) deliverResponse(attendee, org *directory.Recipient, resp *mailbox.Item) {
	if org == nil || org.Org != attendee.Org || !org.IsMailbox() || rc.ensure(org.ID) != nil {
		return
	}
	uid := resp.Extended[calUID]
	if err := rc.h.mbx.SetMeetingResponse(rc.ctx, mailbox.Actor{ID: attendee.ID, Via: "owner"}, org.ID, uid,
		attendee.PrimarySmtpAddress, resp.Extended[mtgResponse]); err != nil {
		rc.h.log.Error("meeting: response not tracked", "request", rc.id, "organizer", org.PrimarySmtpAddress, "error", err)
	}
	msg := copyMessage(resp)
	if oc, err := rc.meetingItem(org.ID, uid, org.ID); err == nil && oc != nil {
		msg.Extended[mtgAssoc] = itemID(oc)
	}
	rc.deliverMeetingMessage(org, msg)
}

// retireRequest marks an answered request processed and moves it to
// Deleted Items, as Exchange does.
func (rc *reqCtx) retireRequest(req *mailbox.Item) {
	a := rc.actor(req.Mailbox)
	if _, err := rc.h.mbx.UpdateItem(rc.ctx, a, req.Mailbox, req.Key, "", func(x *mailbox.Item) error {
		x.Extended[mtgProcessed] = "true"
		x.IsRead = true
		return nil
	}); err != nil {
		return
	}
	if del, e := rc.distinguished(req.Mailbox, "deleteditems"); e == nil && del.Key != req.FolderKey {
		_, _ = rc.h.mbx.MoveItem(rc.ctx, a, req.Mailbox, req.Key, del.Key)
	}
}

// isResourceDelegate reports whether the effective user is one of a
// resource mailbox's ResourceDelegates.
func (rc *reqCtx) isResourceDelegate(r *directory.Recipient) bool {
	if r.Type != directory.RoomMailbox && r.Type != directory.EquipmentMailbox {
		return false
	}
	return slices.Contains(r.EffectiveCalendarProcessing().ResourceDelegates, rc.user.ID)
}

// --- CancelCalendarItem ---

// cancelCalendarItem cancels the organizer's meeting a CancelCalendarItem
// references and moves it to Deleted Items.
func (rc *reqCtx) cancelCalendarItem(n *node, disp string, saved *mailbox.Folder) (*mailbox.Item, *ewsErr) {
	refNode := n.child("ReferenceItemId")
	if refNode == nil {
		return nil, newErr("ErrorInvalidIdEmpty", "CancelCalendarItem needs a ReferenceItemId.")
	}
	it, e := rc.loadItem(refNode.attr("Id"))
	if e != nil {
		return nil, e
	}
	if e := rc.checkItem(it, rightDelete); e != nil {
		return nil, e
	}
	if !isAppointment(it) || organizerOf(it) != "" {
		return nil, newErr("ErrorCalendarIsNotOrganizer", "Only the organizer can cancel a meeting.")
	}
	if e := rc.checkMeetingSend(it.Mailbox, "SendToAllAndSaveCopy", it, attendees{}); e != nil {
		return nil, e
	}
	if b := n.child("NewBodyContent"); b != nil {
		it.Body, it.BodyType = b.Text, orDefault(b.attr("BodyType"), "Text")
	}
	rc.cancelMeeting(it)
	a := rc.actor(it.Mailbox)
	// The response names the saved cancellation (SendAndSaveCopy), which
	// ews-javascript-api needs: it reads an empty Items as no list at all.
	var kept *mailbox.Item
	if disp == "SendAndSaveCopy" || disp == "" {
		dst := saved
		if dst == nil {
			dst, _ = rc.distinguished(it.Mailbox, "sentitems")
		}
		if org := rc.recipient(it.Mailbox); dst != nil && org != nil {
			msg := rc.meetingMessage(org, it, classMeetingCancel, "Canceled: "+it.Subject, "", nil)
			msg.From, msg.Sender = rc.organizerIdentity(org)
			msg.IsRead = true
			var err error
			if kept, err = rc.h.mbx.CreateItem(rc.ctx, a, dst.Mailbox, dst.Key, msg); err != nil {
				rc.h.log.Error("meeting: cancellation copy not saved", "request", rc.id, "error", err)
			}
		}
	}
	del, e := rc.distinguished(it.Mailbox, "deleteditems")
	if e != nil {
		return nil, e
	}
	if _, err := rc.h.mbx.MoveItem(rc.ctx, a, it.Mailbox, it.Key, del.Key); err != nil {
		return nil, rc.mapItemErr(err)
	}
	return kept, nil
}
