package ews

import (
	"context"
	"fmt"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// TestAvailabilityOfGroups: a distribution group's address is answered with
// its member mailboxes' free/busy merged (MergedOnly), as Exchange does.
func TestAvailabilityOfGroups(t *testing.T) {
	w := newWorld(t)
	book := func(r *d.Recipient, start, end, status string) {
		w.mustOK(w.call(w.svc, primary(r), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", r)+`</m:SavedItemFolderId><m:Items>`+
			`<t:CalendarItem><t:Subject>x</t:Subject><t:Start>2026-06-01T`+start+`:00Z</t:Start><t:End>2026-06-01T`+end+`:00Z</t:End><t:LegacyFreeBusyStatus>`+status+`</t:LegacyFreeBusyStatus></t:CalendarItem></m:Items></m:CreateItem>`))
	}
	// team = bob, carol. bob: Busy 09–10; carol: Tentative 09–11, OOF 11–12.
	book(w.bob, "09:00", "10:00", "Busy")
	book(w.carol, "09:00", "11:00", "Tentative")
	book(w.carol, "11:00", "12:00", "OOF")
	// nested = team + room1 (Busy 08–09) + an empty group + loop, which
	// contains nested again.
	nested := w.recipient(w.org, "nested", d.MailUniversalDistributionGroup)
	empty := w.recipient(w.org, "empty", d.MailUniversalSecurityGroup)
	loop := w.recipient(w.org, "loop", d.MailUniversalDistributionGroup)
	w.write(func(tx *d.Tx) error {
		tx.AddMember(nested.ID, w.group.ID)
		tx.AddMember(nested.ID, w.room.ID)
		tx.AddMember(nested.ID, empty.ID)
		tx.AddMember(nested.ID, loop.ID)
		tx.AddMember(loop.ID, nested.ID)
		return nil
	})
	book(w.room, "08:00", "09:00", "Busy")
	// big: 101 member mailboxes.
	big := w.recipient(w.org, "big", d.MailUniversalDistributionGroup)
	for i := range 101 {
		m := w.recipient(w.org, fmt.Sprintf("member%d", i), d.UserMailbox)
		w.write(func(tx *d.Tx) error { tx.AddMember(big.ID, m.ID); return nil })
	}
	foreign := w.recipient(w.other, "foreigngroup", d.MailUniversalDistributionGroup)

	ask := func(addrs ...string) []*node {
		r := w.post(w.alice, envelope("Exchange2016", "", availRequestXML("DetailedMerged", "2026-06-01T08:00:00Z", "2026-06-01T12:00:00Z", addrs...)))
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		return findAll(r.root, "FreeBusyResponse")
	}
	tests := []struct {
		name, addr   string
		code, merged string
	}{
		{"members merged", w.group.PrimarySmtpAddress, "NoError", "0213"},
		{"nested groups", nested.PrimarySmtpAddress, "NoError", "2213"},
		{"a cycle of groups", loop.PrimarySmtpAddress, "NoError", "2213"},
		{"no member mailboxes", empty.PrimarySmtpAddress, "NoError", "4444"},
		{"over 100 members", big.PrimarySmtpAddress, "ErrorFreeBusyDLLimitReached", ""},
		{"another organization's group", foreign.PrimarySmtpAddress, "ErrorMailRecipientNotFound", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := ask(tc.addr)[0]
			if c := fr.path("ResponseMessage", "ResponseCode").textOr(""); c != tc.code {
				t.Fatalf("code %s, want %s", c, tc.code)
			}
			if tc.code != "NoError" {
				return
			}
			v := fr.child("FreeBusyView")
			if vt, m := v.childText("FreeBusyViewType"), v.childText("MergedFreeBusy"); vt != "MergedOnly" || m != tc.merged {
				t.Fatalf("view %s merged %q, want MergedOnly %q", vt, m, tc.merged)
			}
			if find(v, "CalendarEvent") != nil || find(v, "WorkingHours") != nil {
				t.Fatalf("a group's view has events or working hours")
			}
		})
	}

	// A member whose calendar the requester may not see has no data: with
	// carol's Default set to None, only bob counts.
	ctx := context.Background()
	cal, err := w.mbx.Distinguished(ctx, w.carol.ID, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.mbx.SetPermissions(ctx, mailbox.Actor{}, w.carol.ID, cal.Key, []mailbox.Permission{{User: "Default", ReadItems: "None", EditItems: "None", DeleteItems: "None", Level: "None"}}); err != nil {
		t.Fatal(err)
	}
	if m := ask(w.group.PrimarySmtpAddress)[0].child("FreeBusyView").childText("MergedFreeBusy"); m != "0200" {
		t.Fatalf("without carol: %q", m)
	}
}
