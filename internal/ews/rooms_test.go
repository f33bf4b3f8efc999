package ews

import (
	"testing"

	d "github.com/actasmail/actas/internal/directory"
)

func TestGetRoomListsAndRooms(t *testing.T) {
	w := newWorld(t)
	room2 := w.recipient(w.org, "room2", d.RoomMailbox)
	room3 := w.recipient(w.org, "room3", d.RoomMailbox)
	b1 := w.recipient(w.org, "building1", d.RoomList)
	b2 := w.recipient(w.org, "building2", d.RoomList)
	other := w.recipient(w.other, "otherlist", d.RoomList)
	w.write(func(tx *d.Tx) error {
		tx.AddMember(b1.ID, w.room.ID)
		tx.AddMember(b1.ID, room2.ID)
		tx.AddMember(b1.ID, b2.ID) // nested room list
		tx.AddMember(b2.ID, room3.ID)
		return nil
	})
	_ = other

	r := w.call(w.alice, "", `<m:GetRoomLists/>`)
	el := r.bodyEl()
	if r.status != 200 || el.Local != "GetRoomListsResponse" || el.attr("ResponseClass") != "Success" || code(el) != "NoError" {
		t.Fatalf("GetRoomLists: %s", r.body)
	}
	var got []string
	for _, a := range el.child("RoomLists").all("Address") {
		got = append(got, a.childText("EmailAddress")+"/"+a.childText("MailboxType"))
	}
	if len(got) != 2 || got[0] != b1.PrimarySmtpAddress+"/PublicDL" || got[1] != b2.PrimarySmtpAddress+"/PublicDL" {
		t.Fatalf("room lists %v\n%s", got, r.body)
	}

	r = w.call(w.alice, "", `<m:GetRooms><m:RoomList><t:EmailAddress>`+b1.PrimarySmtpAddress+`</t:EmailAddress></m:RoomList></m:GetRooms>`)
	el = r.bodyEl()
	if el.Local != "GetRoomsResponse" || el.attr("ResponseClass") != "Success" {
		t.Fatalf("GetRooms: %s", r.body)
	}
	got = nil
	for _, rm := range el.child("Rooms").all("Room") {
		got = append(got, rm.path("Id", "EmailAddress").Text)
	}
	want := map[string]bool{w.room.PrimarySmtpAddress: true, room2.PrimarySmtpAddress: true, room3.PrimarySmtpAddress: true}
	if len(got) != 3 {
		t.Fatalf("rooms %v\n%s", got, r.body)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("rooms %v", got)
		}
	}

	// Not a room list, another organization's room list, no address.
	for _, addr := range []string{w.group.PrimarySmtpAddress, other.PrimarySmtpAddress, "nobody@contoso.test"} {
		r = w.call(w.alice, "", `<m:GetRooms><m:RoomList><t:EmailAddress>`+addr+`</t:EmailAddress></m:RoomList></m:GetRooms>`)
		if el := r.bodyEl(); el.attr("ResponseClass") != "Error" || code(el) != "ErrorNameResolutionNoResults" || el.child("MessageText") == nil {
			t.Fatalf("GetRooms %s: %s", addr, r.body)
		}
	}
}
