package ews

import (
	"strings"

	"github.com/actasmail/actas/internal/directory"
)

// GetRoomLists and GetRooms answer from the directory: room lists are
// distribution groups of type RoomList (New-DistributionGroup -RoomList) in
// the effective user's organization; a room list's rooms are its
// RoomMailbox members, including those of nested room lists. Both responses
// are flat ResponseMessageType (no ResponseMessages wrapper).

func writeRoomAddress(w *xw, r *directory.Recipient, el string) {
	w.start(el)
	w.elem("t:Name", displayName(r))
	w.elem("t:EmailAddress", r.PrimarySmtpAddress)
	w.elem("t:RoutingType", "SMTP")
	w.elem("t:MailboxType", mailboxType(r))
	w.end(el)
}

func opGetRoomLists(rc *reqCtx, _ *node, w *xw) error {
	var lists []*directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		for _, r := range s.Recipients(rc.user.Org) {
			if r.Type == directory.RoomList {
				lists = append(lists, r)
			}
		}
		return nil
	})
	w.raw(`<m:GetRoomListsResponse ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
	w.start("m:RoomLists")
	for _, r := range lists {
		writeRoomAddress(w, r, "t:Address")
	}
	w.end("m:RoomLists")
	w.end("m:GetRoomListsResponse")
	return nil
}

func opGetRooms(rc *reqCtx, op *node, w *xw) error {
	addr := ""
	if n := op.path("RoomList", "EmailAddress"); n != nil {
		addr = strings.TrimSpace(n.Text)
	}
	var rooms []*directory.Recipient
	var e *ewsErr
	if addr == "" {
		e = newErr("ErrorInvalidArgument", "GetRooms needs RoomList/EmailAddress.")
	} else {
		_ = rc.h.dir.Read(func(s *directory.State) error {
			g := s.RecipientBySMTP(addr)
			if g == nil || g.Org != rc.user.Org || g.Type != directory.RoomList {
				e = newErr("ErrorNameResolutionNoResults", "No room list was found with the address "+addr+".")
				return nil
			}
			seen := map[string]bool{g.ID: true}
			stack := []string{g.ID}
			for len(stack) > 0 {
				cur := stack[0]
				stack = stack[1:]
				for _, id := range s.Members(cur) {
					if seen[id] {
						continue
					}
					seen[id] = true
					switch m := s.Recipient(id); {
					case m == nil:
					case m.Type == directory.RoomMailbox:
						rooms = append(rooms, m)
					case m.Type == directory.RoomList:
						stack = append(stack, id)
					}
				}
			}
			return nil
		})
	}
	if e != nil {
		w.raw(`<m:GetRoomsResponse ResponseClass="Error">`)
		writeErrorBody(w, e)
		w.end("m:GetRoomsResponse")
		return nil
	}
	w.raw(`<m:GetRoomsResponse ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
	w.start("m:Rooms")
	for _, r := range rooms {
		w.start("t:Room")
		writeRoomAddress(w, r, "t:Id")
		w.end("t:Room")
	}
	w.end("m:Rooms")
	w.end("m:GetRoomsResponse")
	return nil
}
