package ews

import (
	"strings"

	"github.com/actasmail/actas/internal/mailbox"
)

// Meeting messages on the wire (meetings.go): t:MeetingRequest,
// t:MeetingResponse, t:MeetingCancellation and t:MeetingMessage are
// messages (MessageType) followed by MeetingMessageType's properties and,
// for requests, MeetingRequestMessageType's calendar properties.

const (
	mpReceivedBy uint64 = 1 << iota
	mpReceivedRepresenting
	mpAssociatedCalendarItemID
	mpIsDelegated
	mpIsOutOfDate
	mpHasBeenProcessed
	mpResponseType
	mpMeetingRequestType
	mpIntendedFreeBusyStatus
	mtgAll = mpIntendedFreeBusyStatus<<1 - 1
)

var mtgFieldBits = map[string]uint64{
	"message:ReceivedBy": mpReceivedBy, "message:ReceivedRepresenting": mpReceivedRepresenting,
	"meeting:AssociatedCalendarItemId": mpAssociatedCalendarItemID, "meeting:IsDelegated": mpIsDelegated,
	"meeting:IsOutOfDate": mpIsOutOfDate, "meeting:HasBeenProcessed": mpHasBeenProcessed, "meeting:ResponseType": mpResponseType,
	"meetingRequest:MeetingRequestType": mpMeetingRequestType, "meetingRequest:IntendedFreeBusyStatus": mpIntendedFreeBusyStatus,
}

// writeMeetingProps writes what follows MessageType's properties.
func (rc *reqCtx) writeMeetingProps(w *xw, it *mailbox.Item, el string, sh *itemShape) {
	bits := sh.mtg
	if principal := it.Extended[mtgFor]; principal != "" {
		if r := rc.recipient(it.Mailbox); r != nil && bits&mpReceivedBy != 0 {
			w.start("t:ReceivedBy")
			writeAddress(w, addrOf(r))
			w.end("t:ReceivedBy")
		}
		if r := rc.recipient(principal); r != nil && bits&mpReceivedRepresenting != 0 {
			w.start("t:ReceivedRepresenting")
			writeAddress(w, addrOf(r))
			w.end("t:ReceivedRepresenting")
		}
	}
	// The associated calendar item: its ChangeKey, and for a request the
	// response given so far.
	var assoc *mailbox.Item
	if a := it.Extended[mtgAssoc]; a != "" && bits&(mpAssociatedCalendarItemID|mpResponseType) != 0 {
		if id, err := mailbox.DecodeID(a); err == nil {
			assoc, _ = rc.h.mbx.Item(rc.ctx, id.Mailbox, id.Key)
		}
	}
	if a := it.Extended[mtgAssoc]; a != "" && bits&mpAssociatedCalendarItemID != 0 {
		w.open("t:AssociatedCalendarItemId")
		w.attr("Id", a)
		if assoc != nil {
			w.attr("ChangeKey", assoc.ChangeKey)
		}
		w.emptyEnd()
	}
	if bits&mpIsDelegated != 0 {
		w.elemBool("t:IsDelegated", it.Extended[mtgFor] != "")
	}
	if bits&mpIsOutOfDate != 0 {
		w.elemBool("t:IsOutOfDate", false)
	}
	if bits&mpHasBeenProcessed != 0 {
		w.elemBool("t:HasBeenProcessed", it.Extended[mtgProcessed] == "true")
	}
	if bits&mpResponseType != 0 {
		rt := "Unknown"
		switch el {
		case "t:MeetingResponse":
			rt = orDefault(it.Extended[mtgResponse], "Unknown")
		case "t:MeetingRequest":
			rt = "NoResponseReceived"
			if assoc != nil && assoc.Extended[calMyResponse] != "" {
				rt = assoc.Extended[calMyResponse]
			}
		}
		w.elem("t:ResponseType", rt)
	}
	if sh.cal&cpUID != 0 && it.Extended[calUID] != "" {
		w.elem("t:UID", it.Extended[calUID])
	}
	if el != "t:MeetingRequest" {
		return
	}
	if bits&mpMeetingRequestType != 0 {
		w.elem("t:MeetingRequestType", orDefault(it.Extended[mtgType], "NewMeetingRequest"))
	}
	if bits&mpIntendedFreeBusyStatus != 0 {
		w.elem("t:IntendedFreeBusyStatus", orDefault(it.Extended[calFreeBusy], "Busy"))
	}
	rc.writeCalendarProps(w, it, sh.cal&^cpUID)
}

// myResponseType is an item's MyResponseType: Organizer for a meeting its
// mailbox organizes, the recorded response for an attendee's copy.
func myResponseType(it *mailbox.Item) string {
	switch {
	case isMeetingMessage(it):
		return "NoResponseReceived"
	case organizerOf(it) == "":
		return "Organizer"
	}
	return orDefault(it.Extended[calMyResponse], "Unknown")
}

// attendeeResponses returns, for an organizer's meeting, each invited
// attendee's tracked response (lower-case address → response, time);
// nil for anything else.
func (rc *reqCtx) attendeeResponses(it *mailbox.Item) map[string]mailbox.MeetingResponse {
	if organizerOf(it) != "" || isMeetingMessage(it) || it.Extended[calInvited] == "" {
		return nil
	}
	m, err := rc.h.mbx.MeetingResponses(rc.ctx, it.Mailbox, it.Extended[calUID])
	if err != nil {
		rc.h.log.Warn("meeting responses unreadable", "request", rc.id, "error", err)
		m = map[string]mailbox.MeetingResponse{}
	}
	for _, a := range strings.Split(it.Extended[calInvited], "\x00") {
		if _, ok := m[a]; !ok {
			m[a] = mailbox.MeetingResponse{Response: "NoResponseReceived"}
		}
	}
	return m
}
