package ews

import (
	"strings"
	"testing"
)

func TestPrivateItems(t *testing.T) {
	w := newMeetingWorld(t)
	r := w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Doctor</t:Subject>`+
		`<t:Body BodyType="Text">results</t:Body><t:Sensitivity>Private</t:Sensitivity><t:Start>`+w.day(1, "08:00")+`</t:Start><t:End>`+w.day(1, "09:00")+`</t:End><t:Location>Clinic</t:Location></t:CalendarItem></m:Items></m:CreateItem>`))
	id := find(r.root, "ItemId").attr("Id")
	mbx := `<m:Mailbox><t:EmailAddress>` + w.alice.PrimarySmtpAddress + `</t:EmailAddress></m:Mailbox>`
	w.mustOK(w.call(w.alice, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", false)+`</m:DelegateUsers></m:AddDelegate>`))

	get := func(as *d_Recipient, imp string) string {
		r := w.mustOK(w.call(as, imp, `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
		ci := find(r.root, "CalendarItem")
		return ci.childText("Subject") + "|" + ci.childText("Body") + "|" + ci.childText("Location") + "|" + ci.childText("Start")
	}
	if got := get(w.carol, ""); !strings.HasPrefix(got, "Private Appointment|||"+w.day(1, "08:00")[:13]) {
		t.Fatalf("delegate without ViewPrivateItems sees %q", got)
	}
	if got := get(w.svc, primary(w.alice)); !strings.HasPrefix(got, "Doctor|results|Clinic") {
		t.Fatalf("impersonation sees %q", got)
	}
	// Editing, deleting and copying are refused; the item is unchanged.
	upd := w.call(w.carol, "", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	del := w.call(w.carol, "", `<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`)
	cp := w.call(w.carol, "", `<m:CopyItem><m:ToFolderId>`+distFolder("calendar", nil)+`</m:ToFolderId><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:CopyItem>`)
	for name, r := range map[string]resp{"update": upd, "delete": del, "copy": cp} {
		if c := code(r.messages()[0]); c != "ErrorAccessDenied" {
			t.Errorf("%s of a private item by a delegate: %s", name, c)
		}
	}
	// With ViewPrivateItems the delegate sees it all.
	w.mustOK(w.call(w.alice, "", `<m:UpdateDelegate>`+mbx+`<m:DelegateUsers>`+strings.Replace(delegateUserXML(w.carol, "Editor", "None", false), "<t:ViewPrivateItems>false", "<t:ViewPrivateItems>true", 1)+`</m:DelegateUsers></m:UpdateDelegate>`))
	if got := get(w.carol, ""); !strings.HasPrefix(got, "Doctor|results|Clinic") {
		t.Fatalf("delegate with ViewPrivateItems sees %q", got)
	}
}

func TestPrivateItemsNotSearchable(t *testing.T) {
	w := newMeetingWorld(t)
	w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Oncology</t:Subject>`+
		`<t:Body BodyType="Text">results</t:Body><t:Sensitivity>Private</t:Sensitivity><t:Start>`+w.day(1, "08:00")+`</t:Start><t:End>`+w.day(1, "09:00")+`</t:End></t:CalendarItem></m:Items></m:CreateItem>`))
	w.mustOK(w.call(w.alice, "", `<m:AddDelegate><m:Mailbox><t:EmailAddress>`+w.alice.PrimarySmtpAddress+`</t:EmailAddress></m:Mailbox><m:DelegateUsers>`+delegateUserXML(w.carol, "Reviewer", "None", false)+`</m:DelegateUsers></m:AddDelegate>`))
	for _, search := range []string{
		`<m:Restriction><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="Oncology"/></t:Contains></m:Restriction>`,
		`<m:QueryString>results</m:QueryString>`,
	} {
		r := w.mustOK(w.call(w.carol, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>`+search+`<m:ParentFolderIds>`+distFolder("calendar", w.alice)+`</m:ParentFolderIds></m:FindItem>`))
		if n := len(findAll(r.root, "ItemId")); n != 0 {
			t.Fatalf("a search for the private item's content found %d item(s): %s", n, search)
		}
	}
	// The owner still finds it.
	r := w.mustOK(w.call(w.alice, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:QueryString>results</m:QueryString><m:ParentFolderIds>`+distFolder("calendar", nil)+`</m:ParentFolderIds></m:FindItem>`))
	if n := len(findAll(r.root, "ItemId")); n != 1 {
		t.Fatalf("the owner's search found %d", n)
	}
}
