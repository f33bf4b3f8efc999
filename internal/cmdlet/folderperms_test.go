package cmdlet

import (
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// TestCalendarDelegateFlags: -SharingPermissionFlags Delegate makes a
// calendar delegate; changing or removing the delegate's entries by hand
// keeps the delegate list in step, so a later delegate change does not
// bring back what an administrator took away.
func TestCalendarDelegateFlags(t *testing.T) {
	o, mbx, kim, desk := delegateTestOrg(t)
	cal := kim.PrimarySmtpAddress + `:\Calendar`
	rows := o.ok("Add-MailboxFolderPermission", map[string]any{"Identity": cal, "User": "helpdesk", "AccessRights": []any{"Editor"},
		"SharingPermissionFlags": []any{"Delegate", "CanViewPrivateItems"}})
	if got := propOf(t, rows[0], "SharingPermissionFlags"); got != "Delegate, CanViewPrivateItems" {
		t.Fatalf("flags shown %v", got)
	}
	set, _ := mbx.Delegates(o.ctx, kim.ID)
	if d := set.Find(desk.ID); d == nil || !d.ReceiveCopiesOfMeetingMessages || !d.ViewPrivateItems || d.Level("calendar") != "Editor" {
		t.Fatalf("delegate list %+v", set)
	}
	// Delegate only with Editor on the Calendar.
	o.fails(o.adminID, "Add-MailboxFolderPermission", map[string]any{"Identity": kim.PrimarySmtpAddress + `:\Inbox`, "User": "admin",
		"AccessRights": []any{"Reviewer"}, "SharingPermissionFlags": []any{"Delegate"}}, "", "Editor")

	// The owner gives the delegate Inbox Reviewer; an admin removes it by hand.
	d := set.Find(desk.ID)
	d.Levels["inbox"] = "Reviewer"
	if err := mbx.SetDelegates(o.ctx, mailbox.Actor{}, kim.ID, set); err != nil {
		t.Fatal(err)
	}
	o.ok("Remove-MailboxFolderPermission", map[string]any{"Identity": kim.PrimarySmtpAddress + `:\Inbox`, "User": "helpdesk"})
	// A later delegate change (adding someone) must not restore it.
	set, _ = mbx.Delegates(o.ctx, kim.ID)
	set.Delegates = append(set.Delegates, mailbox.Delegate{User: o.adminID})
	if err := mbx.SetDelegates(o.ctx, mailbox.Actor{}, kim.ID, set); err != nil {
		t.Fatal(err)
	}
	inbox, _ := mbx.Distinguished(o.ctx, kim.ID, "inbox")
	perms, _ := mbx.Permissions(o.ctx, kim.ID, inbox.Key)
	for _, p := range perms {
		if p.User == desk.ID {
			t.Fatalf("the removed Inbox entry came back: %+v", p)
		}
	}
	// A delegate stored without any level (send on behalf only) can be made
	// a calendar delegate.
	o.ok("Add-MailboxFolderPermission", map[string]any{"Identity": cal, "User": "admin", "AccessRights": []any{"Editor"}, "SharingPermissionFlags": []any{"Delegate"}})
	// Removing the calendar entry ends the delegation.
	o.ok("Remove-MailboxFolderPermission", map[string]any{"Identity": cal, "User": "helpdesk"})
	if set, _ = mbx.Delegates(o.ctx, kim.ID); set.Find(desk.ID) != nil {
		t.Fatal("still a delegate after the calendar entry was removed")
	}
}

// TestUnrelatedPermissionChangeKeepsRemovedDelegateEntry: a delegate's
// entry removed by other means (EWS PermissionSet) is not brought back by a
// permission change for someone else.
func TestUnrelatedPermissionChangeKeepsRemovedDelegateEntry(t *testing.T) {
	o, mbx, kim, desk := delegateTestOrg(t)
	o.ok("Add-MailboxFolderPermission", map[string]any{"Identity": kim.PrimarySmtpAddress + `:\Calendar`, "User": "helpdesk",
		"AccessRights": []any{"Editor"}, "SharingPermissionFlags": []any{"Delegate"}})
	cal, _ := mbx.Distinguished(o.ctx, kim.ID, "calendar")
	perms, _ := mbx.Permissions(o.ctx, kim.ID, cal.Key)
	var kept []mailbox.Permission
	for _, p := range perms {
		if p.User != desk.ID {
			kept = append(kept, p)
		}
	}
	if err := mbx.SetPermissions(o.ctx, mailbox.Actor{}, kim.ID, cal.Key, kept); err != nil {
		t.Fatal(err)
	}
	cal, _ = mbx.Distinguished(o.ctx, kim.ID, "calendar")
	before := cal.ChangeKey
	o.ok("Add-MailboxFolderPermission", map[string]any{"Identity": kim.PrimarySmtpAddress + `:\Inbox`, "User": "admin", "AccessRights": []any{"Reviewer"}})
	perms, _ = mbx.Permissions(o.ctx, kim.ID, cal.Key)
	for _, p := range perms {
		if p.User == desk.ID {
			t.Fatalf("the removed calendar entry came back: %+v", p)
		}
	}
	if cal, _ = mbx.Distinguished(o.ctx, kim.ID, "calendar"); cal.ChangeKey != before {
		t.Fatalf("a permission change on the Inbox changed the Calendar (change key %s → %s)", before, cal.ChangeKey)
	}
}

// delegateTestOrg is a test organization whose registry has a mailbox store,
// with the mailboxes of Kim Akers and Help Desk made.
func delegateTestOrg(t *testing.T) (*testOrg, *mailbox.Store, *d.Recipient, *d.Recipient) {
	t.Helper()
	o := newTestOrg(t)
	seedMailboxes(o)
	mbx := mailbox.Open(o.st.DB())
	o.reg.SetMailboxes(mbx)
	kim, desk := o.recipient("Kim Akers"), o.recipient("Help Desk")
	for _, id := range []string{kim.ID, desk.ID} {
		if err := mbx.Ensure(o.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	return o, mbx, kim, desk
}
