package ews

import (
	"strings"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
)

func delegateUserXML(r *d.Recipient, cal, inbox string, copies bool) string {
	c := "false"
	if copies {
		c = "true"
	}
	return `<t:DelegateUser><t:UserId><t:PrimarySmtpAddress>` + r.PrimarySmtpAddress + `</t:PrimarySmtpAddress></t:UserId>` +
		`<t:DelegatePermissions><t:CalendarFolderPermissionLevel>` + cal + `</t:CalendarFolderPermissionLevel><t:InboxFolderPermissionLevel>` + inbox + `</t:InboxFolderPermissionLevel></t:DelegatePermissions>` +
		`<t:ReceiveCopiesOfMeetingMessages>` + c + `</t:ReceiveCopiesOfMeetingMessages><t:ViewPrivateItems>false</t:ViewPrivateItems></t:DelegateUser>`
}

func TestDelegates(t *testing.T) {
	w := newWorld(t)
	mbx := `<m:Mailbox><t:EmailAddress>` + w.alice.PrimarySmtpAddress + `</t:EmailAddress></m:Mailbox>`
	codes := func(r resp) []string {
		var out []string
		for _, m := range findAll(r.root, "DelegateUserResponseMessageType") {
			out = append(out, code(m))
		}
		return out
	}
	// Bob cannot read Alice's calendar before he is her delegate.
	calFind := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds>` + distFolder("calendar", w.alice) + `</m:ParentFolderIds></m:FindItem>`
	if c := code(w.call(w.bob, "", calFind).messages()[0]); c == "NoError" {
		t.Fatal("bob reads alice's calendar before being a delegate")
	}

	// Add: bob ok, the owner and an unknown user refused, in request order.
	r := w.call(w.alice, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.bob, "Editor", "Reviewer", true)+
		delegateUserXML(w.alice, "Editor", "None", false)+
		`<t:DelegateUser><t:UserId><t:PrimarySmtpAddress>nobody@contoso.test</t:PrimarySmtpAddress></t:UserId></t:DelegateUser>`+
		`</m:DelegateUsers><m:DeliverMeetingRequests>DelegatesOnly</m:DeliverMeetingRequests></m:AddDelegate>`)
	if got := strings.Join(codes(r), ","); got != "NoError,ErrorDelegateCannotAddOwner,ErrorDelegateNoUser" {
		t.Fatalf("AddDelegate codes %s\n%s", got, r.body)
	}
	if c := code(w.call(w.bob, "", calFind).messages()[0]); c != "NoError" {
		t.Fatalf("delegate with Editor cannot read the calendar: %s", c)
	}
	// Adding again is refused; a user without a calendar Editor level cannot receive copies.
	r = w.call(w.alice, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.bob, "Editor", "None", false)+delegateUserXML(w.carol, "Reviewer", "None", true)+`</m:DelegateUsers></m:AddDelegate>`)
	if got := strings.Join(codes(r), ","); got != "ErrorDelegateAlreadyExists,ErrorDelegateValidationFailed" {
		t.Fatalf("second AddDelegate codes %s", got)
	}

	// Get: permissions and DeliverMeetingRequests; impersonation works too; a stranger to the mailbox is refused.
	get := w.mustOK(w.call(w.svc, primary(w.alice), `<m:GetDelegate IncludePermissions="true">`+mbx+`</m:GetDelegate>`))
	if find(get.root, "DeliverMeetingRequests").Text != "DelegatesOnly" || find(get.root, "CalendarFolderPermissionLevel").Text != "Editor" ||
		find(get.root, "InboxFolderPermissionLevel").Text != "Reviewer" || find(get.root, "PrimarySmtpAddress").Text != w.bob.PrimarySmtpAddress {
		t.Fatalf("GetDelegate:\n%s", get.body)
	}
	if r := w.call(w.carol, "", `<m:GetDelegate IncludePermissions="true">`+mbx+`</m:GetDelegate>`); code(r.bodyEl()) != "ErrorAccessDenied" {
		t.Fatalf("carol reads alice's delegates: %s", r.body)
	}

	// Update: calendar Reviewer (and no copies); Remove: access gone.
	w.mustOK(w.call(w.alice, "", `<m:UpdateDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.bob, "Reviewer", "None", false)+`</m:DelegateUsers><m:DeliverMeetingRequests>DelegatesAndMe</m:DeliverMeetingRequests></m:UpdateDelegate>`))
	set, err := w.mbx.Delegates(t.Context(), w.alice.ID)
	if err != nil || set.DeliverMeetingRequests != "DelegatesAndMe" || set.Delegates[0].Level("calendar") != "Reviewer" || set.Delegates[0].Level("inbox") != "None" {
		t.Fatalf("after update: %+v %v", set, err)
	}
	if r := w.call(w.alice, "", `<m:UpdateDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", false)+`</m:DelegateUsers></m:UpdateDelegate>`); strings.Join(codes(r), ",") != "ErrorNotDelegate" {
		t.Fatalf("update of a non-delegate: %s", r.body)
	}
	w.mustOK(w.call(w.alice, "", `<m:RemoveDelegate>`+mbx+`<m:UserIds><t:UserId><t:PrimarySmtpAddress>`+w.bob.PrimarySmtpAddress+`</t:PrimarySmtpAddress></t:UserId></m:UserIds></m:RemoveDelegate>`))
	if c := code(w.call(w.bob, "", calFind).messages()[0]); c == "NoError" {
		t.Fatal("removed delegate still reads the calendar")
	}
	if get := w.mustOK(w.call(w.alice, "", `<m:GetDelegate IncludePermissions="false">`+mbx+`</m:GetDelegate>`)); find(get.root, "DelegateUser") != nil {
		t.Fatalf("delegate left after removal:\n%s", get.body)
	}
	// Other organizations' users are unknown.
	r = w.call(w.alice, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.stranger, "Editor", "None", false)+`</m:DelegateUsers></m:AddDelegate>`)
	if got := strings.Join(codes(r), ","); got != "ErrorDelegateNoUser" {
		t.Fatalf("cross-tenant delegate: %s", got)
	}
}
