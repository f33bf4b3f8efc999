package ews

import (
	"context"
	"testing"

	"github.com/actasmail/actas/internal/mailbox"
)

// FuzzEnvelope feeds arbitrary bytes to the request parser and to the whole
// SOAP path (header, impersonation, dispatch, operations) without the panic
// safety net: nothing may panic.
func FuzzEnvelope(f *testing.F) {
	seeds := []string{
		envelope("Exchange2016", "", getInbox),
		envelope("Exchange2016", `<t:PrimarySmtpAddress>alice@contoso.test</t:PrimarySmtpAddress>`, getInbox),
		envelope("Exchange2016", "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="5" Offset="1" BasePoint="End"/><m:Restriction><t:And><t:Contains ContainmentMode="Prefixed"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="a"/></t:Contains><t:Not><t:Exists><t:FieldURI FieldURI="item:Categories"/></t:Exists></t:Not></t:And></m:Restriction><m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:DateTimeReceived"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`),
		envelope("Exchange2016", "", `<m:CreateItem MessageDisposition="SendAndSaveCopy"><m:Items><t:Message><t:Subject>x</t:Subject><t:ToRecipients><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:ToRecipients><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1000" PropertyType="String"/><t:Value>v</t:Value></t:ExtendedProperty></t:Message></m:Items></m:CreateItem>`),
		envelope("Exchange2016", "", `<m:UpdateItem ConflictResolution="AutoResolve"><m:ItemChanges><t:ItemChange><t:ItemId Id="AUkAAAAAAABAAIAAAAAAAAAEEA==" ChangeKey="x"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>y</t:Subject></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`),
		envelope("Exchange2016", "", `<m:ConvertId DestinationFormat="EntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>`),
		envelope("Exchange2016", "", `<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>b</m:UnresolvedEntry></m:ResolveNames>`),
		`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`,
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetFolder xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/></s:Body></s:Envelope>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	w := newFakeWorld(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseXML(data, limits{maxDepth: 64, maxElements: 10000})
		// A fresh mailbox store each time, so writes of earlier inputs do
		// not pile up and slow every later one down.
		w.mbx = newFake()
		w.h = New(w.dir, w.mbx, w.authn, nil, Options{MaxDepth: 64, MaxElements: 10000})
		seedFake(w.mbx, w.alice.ID)
		status, body, _ := w.h.serveSOAP(context.Background(), w.alice.ID, 1, data)
		if status != 200 && status != 500 {
			t.Fatalf("status %d", status)
		}
		if _, err := parseXML(body, limits{maxDepth: 10000, maxElements: 1 << 30}); err != nil {
			t.Fatalf("response is not well-formed: %v\n%s", err, body)
		}
	})
}

// seedFake puts three messages into a fake store's inbox (no testing.TB:
// Helper may not be called inside a fuzz target).
func seedFake(m mailbox.Mailboxes, owner string) {
	ctx := context.Background()
	_ = m.Ensure(ctx, owner)
	inbox, _ := m.Distinguished(ctx, owner, "inbox")
	for i := 0; i < 3; i++ {
		m.CreateItem(ctx, mailbox.Actor{ID: owner, Via: "owner"}, owner, inbox.Key, &mailbox.Item{Class: "IPM.Note",
			Subject: "seed", Body: "b", From: &mailbox.Address{Email: "bob@contoso.test"}, To: []mailbox.Address{{Email: "alice@contoso.test"}}})
	}
}
