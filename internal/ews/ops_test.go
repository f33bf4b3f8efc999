package ews

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

func TestGetFolderEveryDistinguishedName(t *testing.T) {
	w := newWorld(t)
	var names []string
	for n := range distinguishedNames {
		names = append(names, n)
	}
	sort.Strings(names)
	var ids strings.Builder
	for _, n := range names {
		ids.WriteString(distFolder(n, w.alice))
	}
	body := `<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>` + ids.String() + `</m:FolderIds></m:GetFolder>`
	r := w.call(w.svc, primary(w.alice), body)
	msgs := r.messages()
	if r.status != 200 || len(msgs) != len(names) {
		t.Fatalf("%d messages for %d names (status %d)", len(msgs), len(names), r.status)
	}
	have := map[string]bool{}
	for _, n := range fakeDistinguished() {
		have[n] = true
	}
	for i, n := range names {
		m := msgs[i]
		if have[n] {
			if code(m) != "NoError" {
				t.Errorf("%s: %s", n, code(m))
			}
			continue
		}
		if m.attr("ResponseClass") != "Error" || code(m) != "ErrorFolderNotFound" {
			t.Errorf("%s: %s %s", n, m.attr("ResponseClass"), code(m))
		}
	}
	// The calendar is a CalendarFolder, the inbox a Folder with counts.
	r = w.mustOK(w.call(w.alice, "", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>`+distFolder("calendar", nil)+distFolder("inbox", nil)+`</m:FolderIds></m:GetFolder>`))
	if find(r.root, "CalendarFolder") == nil || find(find(r.root, "Folder"), "UnreadCount") == nil {
		t.Fatalf("folder shapes: %s", r.body)
	}
	// An invalid name fails the whole request.
	r = w.call(w.alice, "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+distFolder("inbox", nil)+distFolder("nosuchfolder", nil)+`</m:FolderIds></m:GetFolder>`)
	if r.status != 500 || r.faultCode() != "ErrorSchemaValidation" {
		t.Fatalf("invalid name: %s", r.body)
	}
	// An unknown mailbox is a per-item error.
	r = w.call(w.alice, "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+
		`<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>ghost@contoso.test</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`+
		`<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>stranger@fabrikam.test</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`+
		`</m:FolderIds></m:GetFolder>`)
	if r.status != 200 || code(r.messages()[0]) != "ErrorNonExistentMailbox" || code(r.messages()[1]) != "ErrorNonExistentMailbox" {
		t.Fatalf("unknown mailbox: %s", r.body)
	}
}

func TestFolderLifecycle(t *testing.T) {
	w := newWorld(t)
	r := w.mustOK(w.call(w.alice, "", `<m:CreateFolder><m:ParentFolderId>`+distFolder("inbox", nil)+`</m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Projects</t:DisplayName></t:Folder><t:Folder><t:DisplayName>Archive 2026</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`))
	if len(r.messages()) != 2 {
		t.Fatal(r.body)
	}
	projects := folderIDOf(r)
	r = w.call(w.alice, "", `<m:CreateFolder><m:ParentFolderId>`+distFolder("inbox", nil)+`</m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Projects</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`)
	if code(r.messages()[0]) != "ErrorFolderExists" {
		t.Fatal(r.body)
	}
	w.mustOK(w.call(w.alice, "", `<m:UpdateFolder><m:FolderChanges><t:FolderChange><t:FolderId Id="`+projects+`"/><t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:DisplayName"/><t:Folder><t:DisplayName>Projects 2</t:DisplayName></t:Folder></t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>`))
	r = w.mustOK(w.call(w.alice, "", `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>`+distFolder("inbox", nil)+`</m:ParentFolderIds></m:FindFolder>`))
	rf := find(r.root, "RootFolder")
	if rf.attr("TotalItemsInView") != "2" || rf.attr("IncludesLastItemInRange") != "false" || rf.attr("IndexedPagingOffset") != "1" {
		t.Fatalf("find folder paging: %s", r.body)
	}
	r = w.mustOK(w.call(w.alice, "", `<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties></m:FolderShape><m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="projects 2"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds>`+distFolder("inbox", nil)+`</m:ParentFolderIds></m:FindFolder>`))
	if find(r.root, "RootFolder").attr("TotalItemsInView") != "1" || find(r.root, "DisplayName").Text != "Projects 2" {
		t.Fatalf("restricted find folder: %s", r.body)
	}
	r = w.call(w.alice, "", `<m:DeleteFolder DeleteType="HardDelete"><m:FolderIds>`+distFolder("inbox", nil)+`<t:FolderId Id="`+projects+`"/></m:FolderIds></m:DeleteFolder>`)
	if code(r.messages()[0]) != "ErrorDeleteDistinguishedFolder" || code(r.messages()[1]) != "NoError" {
		t.Fatal(r.body)
	}
	// Permissions: replace the ACL, read it back.
	r = w.mustOK(w.call(w.alice, "", `<m:UpdateFolder><m:FolderChanges><t:FolderChange>`+distFolder("inbox", nil)+`<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:PermissionSet"/><t:Folder><t:PermissionSet><t:Permissions>`+
		`<t:Permission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId><t:PermissionLevel>None</t:PermissionLevel></t:Permission>`+
		`<t:Permission><t:UserId><t:PrimarySmtpAddress>carol@contoso.test</t:PrimarySmtpAddress></t:UserId><t:PermissionLevel>Reviewer</t:PermissionLevel></t:Permission>`+
		`</t:Permissions></t:PermissionSet></t:Folder></t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>`))
	r = w.mustOK(w.call(w.alice, "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:PermissionSet"/></t:AdditionalProperties></m:FolderShape><m:FolderIds>`+distFolder("inbox", nil)+`</m:FolderIds></m:GetFolder>`))
	perms := findAll(r.root, "Permission")
	if len(perms) != 2 || perms[1].childText("PermissionLevel") != "Reviewer" || perms[1].path("UserId", "PrimarySmtpAddress").Text != "carol@contoso.test" {
		t.Fatalf("permissions: %s", r.body)
	}
	r = w.call(w.alice, "", `<m:UpdateFolder><m:FolderChanges><t:FolderChange>`+distFolder("inbox", nil)+`<t:Updates><t:SetFolderField><t:FieldURI FieldURI="folder:PermissionSet"/><t:Folder><t:PermissionSet><t:Permissions>`+
		`<t:Permission><t:UserId><t:PrimarySmtpAddress>carol@contoso.test</t:PrimarySmtpAddress></t:UserId><t:PermissionLevel>Reviewer</t:PermissionLevel></t:Permission>`+
		`<t:Permission><t:UserId><t:PrimarySmtpAddress>carol@contoso.test</t:PrimarySmtpAddress></t:UserId><t:PermissionLevel>Editor</t:PermissionLevel></t:Permission>`+
		`</t:Permissions></t:PermissionSet></t:Folder></t:SetFolderField></t:Updates></t:FolderChange></m:FolderChanges></m:UpdateFolder>`)
	if code(r.messages()[0]) != "ErrorDuplicateUserIdsSpecified" {
		t.Fatal(r.body)
	}
}

// seed puts n messages into a folder of a mailbox directly.
func (w *world) seed(owner string, folder string, n int, mutate func(i int, it *mailbox.Item)) []*mailbox.Item {
	w.t.Helper()
	ctx := t0ctx
	if err := w.mbx.Ensure(ctx, owner); err != nil {
		w.t.Fatal(err)
	}
	f, err := w.mbx.Distinguished(ctx, owner, folder)
	if err != nil {
		w.t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []*mailbox.Item
	for i := 0; i < n; i++ {
		it := &mailbox.Item{Class: "IPM.Note", Subject: fmt.Sprintf("Message %03d", i), Body: "body " + fmt.Sprint(i), BodyType: "Text",
			From: &mailbox.Address{Name: "Bob Baker", Email: "bob@contoso.test"}, To: []mailbox.Address{{Name: "Alice", Email: "alice@contoso.test"}},
			DateTimeReceived: base.Add(time.Duration(i) * time.Hour), DateTimeCreated: base.Add(time.Duration(i) * time.Hour), IsRead: i%2 == 0}
		if mutate != nil {
			mutate(i, it)
		}
		c, err := w.mbx.CreateItem(ctx, mailbox.Actor{ID: owner, Via: "owner"}, owner, f.Key, it)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func findItem(view, restriction, sort string, parent string) string {
	return `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape>` +
		view + restriction + sort + `<m:ParentFolderIds>` + parent + `</m:ParentFolderIds></m:FindItem>`
}

func subjects(r resp) []string {
	var out []string
	for _, s := range findAll(r.root, "Subject") {
		out = append(out, strings.TrimPrefix(s.Text, "Message "))
	}
	return out
}

func TestFindItemPagingAndRestrictions(t *testing.T) {
	w := newWorld(t)
	w.seed(w.alice.ID, "inbox", 25, func(i int, it *mailbox.Item) {
		if i%5 == 0 {
			it.Categories = []string{"Red", "Project X"}
		}
		if i == 7 {
			it.Attachments = []mailbox.Attachment{{Name: "a.txt", Content: []byte("hi")}}
			it.From = &mailbox.Address{Name: "Carol", Email: "carol@contoso.test"}
		}
	})
	inbox := distFolder("inbox", w.alice)
	type tc struct {
		name, view, restr, sort string
		want                    string
		root                    [3]string // IndexedPagingOffset, TotalItemsInView, IncludesLastItemInRange
	}
	cases := []tc{
		{"first page newest first", `<m:IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/>`, "", "", "024,023,022", [3]string{"3", "25", "false"}},
		{"second page", `<m:IndexedPageItemView MaxEntriesReturned="3" Offset="3" BasePoint="Beginning"/>`, "", "", "021,020,019", [3]string{"6", "25", "false"}},
		{"last page", `<m:IndexedPageItemView MaxEntriesReturned="10" Offset="20" BasePoint="Beginning"/>`, "", "", "004,003,002,001,000", [3]string{"25", "25", "true"}},
		{"from end", `<m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="End"/>`, "", "", "001,000", [3]string{"2", "25", "true"}},
		{"from end offset", `<m:IndexedPageItemView MaxEntriesReturned="2" Offset="2" BasePoint="End"/>`, "", "", "003,002", [3]string{"4", "25", "false"}},
		{"sorted ascending", `<m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/>`, "",
			`<m:SortOrder><t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:Subject"/></t:FieldOrder></m:SortOrder>`, "000,001", [3]string{"2", "25", "false"}},
		{"is equal subject", "", `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="message 010"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`, "", "010", [3]string{"1", "1", "true"}},
		{"unread", `<m:IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/>`, `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/><t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`, "", "023,021,019", [3]string{"3", "12", "false"}},
		{"received range", "", `<m:Restriction><t:And><t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2026-01-01T20:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThanOrEqualTo><t:IsLessThan><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURIOrConstant><t:Constant Value="2026-01-01T22:00:00Z"/></t:FieldURIOrConstant></t:IsLessThan></t:And></m:Restriction>`, "", "021,020", [3]string{"2", "2", "true"}},
		{"contains substring", "", `<m:Restriction><t:Contains ContainmentMode="Substring" ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/><t:Constant Value="GE 01"/></t:Contains></m:Restriction>`, "", "019,018,017,016,015,014,013,012,011,010", [3]string{"10", "10", "true"}},
		{"categories", "", `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Categories"/><t:FieldURIOrConstant><t:Constant Value="project x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`, "", "020,015,010,005,000", [3]string{"5", "5", "true"}},
		{"from", "", `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="message:From"/><t:FieldURIOrConstant><t:Constant Value="carol@contoso.test"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`, "", "007", [3]string{"1", "1", "true"}},
		{"has attachments or not", "", `<m:Restriction><t:Or><t:IsEqualTo><t:FieldURI FieldURI="item:HasAttachments"/><t:FieldURIOrConstant><t:Constant Value="true"/></t:FieldURIOrConstant></t:IsEqualTo><t:Not><t:Exists><t:FieldURI FieldURI="item:Subject"/></t:Exists></t:Not></t:Or></m:Restriction>`, "", "007", [3]string{"1", "1", "true"}},
		{"item class not equal", "", `<m:Restriction><t:IsNotEqualTo><t:FieldURI FieldURI="item:ItemClass"/><t:FieldURIOrConstant><t:Constant Value="IPM.Note"/></t:FieldURIOrConstant></t:IsNotEqualTo></m:Restriction>`, "", "", [3]string{"0", "0", "true"}},
		{"created after", `<m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/>`, `<m:Restriction><t:IsGreaterThan><t:FieldURI FieldURI="item:DateTimeCreated"/><t:FieldURIOrConstant><t:Constant Value="2000-01-01T00:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThan></m:Restriction>`, "", "024,023", [3]string{"2", "25", "false"}},
		{"created in the future", "", `<m:Restriction><t:IsGreaterThan><t:FieldURI FieldURI="item:DateTimeCreated"/><t:FieldURIOrConstant><t:Constant Value="2100-01-01"/></t:FieldURIOrConstant></t:IsGreaterThan></m:Restriction>`, "", "", [3]string{"0", "0", "true"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.mustOK(w.call(w.svc, primary(w.alice), findItem(c.view, c.restr, c.sort, inbox)))
			if got := strings.Join(subjects(r), ","); got != c.want {
				t.Fatalf("subjects %s, want %s", got, c.want)
			}
			rf := find(r.root, "RootFolder")
			got := [3]string{rf.attr("IndexedPagingOffset"), rf.attr("TotalItemsInView"), rf.attr("IncludesLastItemInRange")}
			if got != c.root {
				t.Fatalf("root folder %v, want %v", got, c.root)
			}
		})
	}
	r := w.call(w.alice, "", findItem("", `<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="contacts:GivenName"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`, "", distFolder("inbox", nil)))
	if code(r.messages()[0]) != "ErrorUnsupportedPathForQuery" {
		t.Fatal(r.body)
	}
}

func TestGetItemShapesAndMime(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.alice.ID, "inbox", 1, func(i int, it *mailbox.Item) {
		it.Extended = map[string]string{"tag:0x1234:String": "tagged"}
		it.Categories = []string{"Blue"}
	})
	id := items[0].ID()
	r := w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="message:From"/><t:ExtendedFieldURI PropertyTag="4660" PropertyType="String"/><t:ExtendedFieldURI PropertyTag="0x9999" PropertyType="String"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
	msg := find(r.root, "Message")
	var order []string
	for _, c := range msg.Children {
		order = append(order, c.Local)
	}
	if strings.Join(order, ",") != "MimeContent,ItemId,Subject,ExtendedProperty,From" {
		t.Fatalf("element order %v", order)
	}
	mc := msg.child("MimeContent")
	raw, _ := base64.StdEncoding.DecodeString(mc.Text)
	if mc.attr("CharacterSet") != "UTF-8" || !strings.Contains(string(raw), "Subject: Message 000") || !strings.Contains(string(raw), "From: \"Bob Baker\" <bob@contoso.test>") {
		t.Fatalf("mime: %q", raw)
	}
	ep := msg.child("ExtendedProperty")
	if ep.child("ExtendedFieldURI").attr("PropertyTag") != "4660" || ep.childText("Value") != "tagged" {
		t.Fatalf("extended property echo: %s", r.body)
	}
	r = w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>HTML</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
	if b := find(find(r.root, "Message"), "Body"); b.attr("BodyType") != "HTML" || !strings.Contains(b.Text, "body 0") {
		t.Fatal(r.body)
	}
	for _, want := range []string{"ParentFolderId", "DateTimeReceived", "Categories", "IsRead", "ToRecipients", "HasAttachments", "EffectiveRights"} {
		if find(r.root, want) == nil {
			t.Errorf("AllProperties lacks %s", want)
		}
	}
	// Batched ids: one message each, in order, errors per item.
	r = w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/><t:ItemId Id="garbage"/><t:ItemId Id="`+folderIDOf(w.mustOK(w.call(w.alice, "", getInbox)))+`"/></m:ItemIds></m:GetItem>`)
	ms := r.messages()
	if len(ms) != 3 || code(ms[0]) != "NoError" || code(ms[1]) != "ErrorInvalidIdMalformed" || code(ms[2]) != "ErrorCannotUseFolderIdForItemId" {
		t.Fatal(r.body)
	}
}

func createMessage(disposition, saved, subject string, to []string, extra string) string {
	var rcpt strings.Builder
	for _, a := range to {
		rcpt.WriteString(`<t:Mailbox><t:EmailAddress>` + a + `</t:EmailAddress></t:Mailbox>`)
	}
	s := ""
	if saved != "" {
		s = `<m:SavedItemFolderId>` + saved + `</m:SavedItemFolderId>`
	}
	return `<m:CreateItem MessageDisposition="` + disposition + `">` + s + `<m:Items><t:Message><t:Subject>` + subject + `</t:Subject><t:Body BodyType="Text">Hello</t:Body>` +
		extra + `<t:ToRecipients>` + rcpt.String() + `</t:ToRecipients></t:Message></m:Items></m:CreateItem>`
}

func (w *world) folderItems(owner, folder string) []*mailbox.Item {
	w.t.Helper()
	f, err := w.mbx.Distinguished(t0ctx, owner, folder)
	if err != nil {
		w.t.Fatal(err)
	}
	items, _, err := w.mbx.Items(t0ctx, owner, f.Key, mailbox.Query{})
	if err != nil {
		w.t.Fatal(err)
	}
	return items
}

func TestSendAndReceive(t *testing.T) {
	w := newWorld(t)
	r := w.mustOK(w.call(w.alice, "", createMessage("SendAndSaveCopy", "", "Lunch?", []string{"bob@contoso.test", "team@contoso.test", "friend@example.org"}, "")))
	if find(r.root, "ItemId") != nil {
		t.Fatal("SendAndSaveCopy returned an item id")
	}
	bobIn := w.folderItems(w.bob.ID, "inbox")
	if len(bobIn) != 1 || bobIn[0].Subject != "Lunch?" || bobIn[0].From.Email != "alice@contoso.test" || bobIn[0].IsRead {
		t.Fatalf("bob's inbox: %+v", bobIn)
	}
	if carolIn := w.folderItems(w.carol.ID, "inbox"); len(carolIn) != 1 {
		t.Fatalf("carol (via team) got %d", len(carolIn))
	}
	if sent := w.folderItems(w.alice.ID, "sentitems"); len(sent) != 1 || !sent[0].IsRead {
		t.Fatalf("sent items: %+v", sent)
	}
	out := w.folderItems(w.alice.ID, "outbox")
	if len(out) != 1 || !contains2(out[0].Categories, undeliveredCategory) {
		t.Fatalf("outbox: %+v", out)
	}
	// SaveOnly returns the draft's id; SendItem sends it and moves it to Sent Items, id unchanged.
	r = w.mustOK(w.call(w.alice, "", createMessage("SaveOnly", "", "Draft", []string{"bob@contoso.test"}, "")))
	draft := find(r.root, "ItemId")
	if drafts := w.folderItems(w.alice.ID, "drafts"); len(drafts) != 1 || !drafts[0].IsDraft {
		t.Fatal("draft not saved")
	}
	w.mustOK(w.call(w.alice, "", `<m:SendItem SaveItemToFolder="true"><m:ItemIds><t:ItemId Id="`+draft.attr("Id")+`" ChangeKey="`+draft.attr("ChangeKey")+`"/></m:ItemIds></m:SendItem>`))
	if len(w.folderItems(w.bob.ID, "inbox")) != 2 || len(w.folderItems(w.alice.ID, "drafts")) != 0 || len(w.folderItems(w.alice.ID, "sentitems")) != 2 {
		t.Fatal("SendItem did not deliver and move")
	}
	// Impersonation sends as the owner: nothing reveals the service account.
	w.mustOK(w.call(w.svc, primary(w.alice), createMessage("SendOnly", "", "From the app", []string{"bob@contoso.test"}, "")))
	var got *mailbox.Item
	for _, it := range w.folderItems(w.bob.ID, "inbox") {
		if it.Subject == "From the app" {
			got = it
		}
	}
	mime := string(buildMIME(got))
	if got.From.Email != "alice@contoso.test" || got.Sender.Email != "alice@contoso.test" || strings.Contains(mime, "svc") || strings.Contains(mime, "Sender:") {
		t.Fatalf("impersonated send: from %v sender %v\n%s", got.From, got.Sender, mime)
	}
}

func contains2(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestSendOnBehalfAndSendAs(t *testing.T) {
	w := newWorld(t)
	from := `<t:From><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:From>`
	r := w.call(w.alice, "", createMessage("SendOnly", "", "As bob", []string{"carol@contoso.test"}, from))
	if code(r.messages()[0]) != "ErrorSendAsDenied" {
		t.Fatalf("no right: %s", r.body)
	}
	w.update(w.bob, func(r *d_Recipient) { r.GrantSendOnBehalfTo = []string{w.alice.ID} })
	w.mustOK(w.call(w.alice, "", createMessage("SendOnly", "", "On behalf", []string{"carol@contoso.test"}, from)))
	got := w.folderItems(w.carol.ID, "inbox")[0]
	mime := string(buildMIME(got))
	if got.From.Email != "bob@contoso.test" || got.Sender.Email != "alice@contoso.test" || !strings.Contains(mime, "Sender: \"Alice Archer\" <alice@contoso.test>") {
		t.Fatalf("on behalf: from %v sender %v\n%s", got.From, got.Sender, mime)
	}
	w.update(w.bob, func(r *d_Recipient) { r.GrantSendOnBehalfTo = nil; r.SendAs = []string{w.alice.ID} })
	w.mustOK(w.call(w.alice, "", createMessage("SendOnly", "", "Send as", []string{"carol@contoso.test"}, from)))
	for _, it := range w.folderItems(w.carol.ID, "inbox") {
		if it.Subject == "Send as" && (it.From.Email != "bob@contoso.test" || it.Sender.Email != "bob@contoso.test") {
			t.Fatalf("send as: %v %v", it.From, it.Sender)
		}
	}
}

func TestUpdateItemChangeKeys(t *testing.T) {
	w := newWorld(t)
	it := w.seed(w.alice.ID, "inbox", 1, nil)[0]
	upd := func(ck, cr, field string) resp {
		return w.call(w.alice, "", `<m:UpdateItem ConflictResolution="`+cr+`" MessageDisposition="SaveOnly"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+it.ID()+`" ChangeKey="`+ck+`"/><t:Updates>`+field+`</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
	}
	setRead := `<t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField>`
	r := w.mustOK(upd(it.ChangeKey, "AutoResolve", setRead+`<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>New</t:Subject></t:Message></t:SetItemField>`+
		`<t:AppendToItemField><t:FieldURI FieldURI="message:ToRecipients"/><t:Message><t:ToRecipients><t:Mailbox><t:EmailAddress>carol@contoso.test</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message></t:AppendToItemField>`+
		`<t:SetItemField><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" PropertyName="crm" PropertyType="String"/><t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" PropertyName="crm" PropertyType="String"/><t:Value>42</t:Value></t:ExtendedProperty></t:Message></t:SetItemField>`+
		`<t:DeleteItemField><t:FieldURI FieldURI="item:Categories"/></t:DeleteItemField>`))
	newCK := find(r.root, "ItemId").attr("ChangeKey")
	if newCK == it.ChangeKey || find(r.root, "ConflictResults") == nil {
		t.Fatal(r.body)
	}
	cur, _ := w.mbx.Item(t0ctx, w.alice.ID, it.Key)
	if cur.Subject != "New" || !cur.IsRead || len(cur.To) != 2 || cur.Extended["set:c11ff724-aa03-4555-9952-8fa248a11c3e:name:crm:String"] != "42" {
		t.Fatalf("updated item %+v", cur)
	}
	for _, cr := range []string{"NeverOverwrite", "AutoResolve"} {
		if r := upd(it.ChangeKey, cr, setRead); code(r.messages()[0]) != "ErrorIrresolvableConflict" {
			t.Fatalf("%s with a stale key: %s", cr, r.body)
		}
	}
	w.mustOK(upd(it.ChangeKey, "AlwaysOverwrite", setRead))
	if r := upd(newCK, "NeverOverwrite", `<t:SetItemField><t:FieldURI FieldURI="item:DateTimeCreated"/><t:Message><t:DateTimeCreated>2020-01-01T00:00:00Z</t:DateTimeCreated></t:Message></t:SetItemField>`); code(r.messages()[0]) != "ErrorInvalidPropertySet" {
		t.Fatal(r.body)
	}
}

func TestMoveCopyDeleteKeepIds(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.alice.ID, "inbox", 3, nil)
	r := w.mustOK(w.call(w.alice, "", `<m:MoveItem><m:ToFolderId>`+distFolder("junkemail", nil)+`</m:ToFolderId><m:ItemIds><t:ItemId Id="`+items[0].ID()+`"/></m:ItemIds></m:MoveItem>`))
	if find(r.root, "ItemId").attr("Id") != items[0].ID() {
		t.Fatal("move changed the id")
	}
	r = w.mustOK(w.call(w.alice, "", `<m:CopyItem><m:ToFolderId>`+distFolder("drafts", nil)+`</m:ToFolderId><m:ItemIds><t:ItemId Id="`+items[1].ID()+`"/></m:ItemIds></m:CopyItem>`))
	if find(r.root, "ItemId").attr("Id") == items[1].ID() {
		t.Fatal("copy kept the id")
	}
	r = w.mustOK(w.call(w.alice, "", `<m:MarkAsJunk IsJunk="false" MoveItem="true"><m:ItemIds><t:ItemId Id="`+items[0].ID()+`"/></m:ItemIds></m:MarkAsJunk>`))
	if find(r.root, "MovedItemId").attr("Id") != items[0].ID() {
		t.Fatal(r.body)
	}
	w.mustOK(w.call(w.alice, "", `<m:DeleteItem DeleteType="MoveToDeletedItems"><m:ItemIds><t:ItemId Id="`+items[2].ID()+`"/></m:ItemIds></m:DeleteItem>`))
	if len(w.folderItems(w.alice.ID, "deleteditems")) != 1 {
		t.Fatal("not in deleted items")
	}
	r = w.call(w.alice, "", `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="`+items[2].ID()+`"/><t:ItemId Id="`+items[2].ID()+`"/></m:ItemIds></m:DeleteItem>`)
	if code(r.messages()[0]) != "NoError" || code(r.messages()[1]) != "ErrorItemNotFound" {
		t.Fatal(r.body)
	}
}

func TestDelegateAccess(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.alice.ID, "inbox", 2, nil)
	get := `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="` + items[0].ID() + `"/></m:ItemIds></m:GetItem>`
	find1 := findItem("", "", "", distFolder("inbox", w.alice))
	if r := w.call(w.carol, "", find1); code(r.messages()[0]) != "ErrorAccessDenied" || r.status != 200 {
		t.Fatalf("no permission: %s", r.body)
	}
	if r := w.call(w.carol, "", get); code(r.messages()[0]) != "ErrorAccessDenied" {
		t.Fatalf("no permission (implicit): %s", r.body)
	}
	inbox, _ := w.mbx.Distinguished(t0ctx, w.alice.ID, "inbox")
	w.mbx.SetPermissions(t0ctx, mailbox.Actor{}, w.alice.ID, inbox.Key, []mailbox.Permission{{User: w.carol.ID, IsFolderVisible: true, ReadItems: "FullDetails", EditItems: "None", DeleteItems: "None"}})
	w.mustOK(w.call(w.carol, "", find1))
	w.mustOK(w.call(w.carol, "", get))
	del := `<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="` + items[0].ID() + `"/></m:ItemIds></m:DeleteItem>`
	if r := w.call(w.carol, "", del); code(r.messages()[0]) != "ErrorAccessDenied" {
		t.Fatalf("reviewer deleted: %s", r.body)
	}
	// FullAccess on the mailbox allows everything.
	w.update(w.alice, func(r *d_Recipient) { r.FullAccess = []string{w.bob.ID} })
	w.mustOK(w.call(w.bob, "", del))
	// Impersonation naming the same mailbox in DistinguishedFolderId is normal.
	w.mustOK(w.call(w.svc, primary(w.alice), find1))
	// Under impersonation of carol, alice's folder is delegate access as carol.
	w.mustOK(w.call(w.svc, primary(w.carol), find1))
	w.mbx.SetPermissions(t0ctx, mailbox.Actor{}, w.alice.ID, inbox.Key, nil)
	if r := w.call(w.svc, primary(w.carol), find1); code(r.messages()[0]) != "ErrorAccessDenied" {
		t.Fatal(r.body)
	}
}

func TestAttachments(t *testing.T) {
	w := newWorld(t)
	it := w.seed(w.alice.ID, "drafts", 1, nil)[0]
	content := base64.StdEncoding.EncodeToString([]byte("hello attachment"))
	r := w.mustOK(w.call(w.alice, "", `<m:CreateAttachment><m:ParentItemId Id="`+it.ID()+`"/><m:Attachments><t:FileAttachment><t:Name>a.txt</t:Name><t:ContentType>text/plain</t:ContentType><t:Content>`+content+`</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>`))
	aid := find(r.root, "AttachmentId")
	if aid.attr("RootItemId") != it.ID() || aid.attr("RootItemChangeKey") == it.ChangeKey {
		t.Fatal(r.body)
	}
	r = w.mustOK(w.call(w.alice, "", `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="`+aid.attr("Id")+`"/></m:AttachmentIds></m:GetAttachment>`))
	if find(r.root, "Content").Text != content || find(r.root, "Name").Text != "a.txt" {
		t.Fatal(r.body)
	}
	w.mustOK(w.call(w.alice, "", `<m:DeleteAttachment><m:AttachmentIds><t:AttachmentId Id="`+aid.attr("Id")+`"/></m:AttachmentIds></m:DeleteAttachment>`))
	if r := w.call(w.alice, "", `<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="`+aid.attr("Id")+`"/></m:AttachmentIds></m:GetAttachment>`); code(r.messages()[0]) != "ErrorAttachmentNotFound" {
		t.Fatal(r.body)
	}
	// MimeContent in, attachments out.
	mime := "From: Alice <alice@contoso.test>\r\nTo: bob@contoso.test\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi there\r\n--XX\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--XX--\r\n"
	r = w.mustOK(w.call(w.alice, "", `<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">`+base64.StdEncoding.EncodeToString([]byte(mime))+`</t:MimeContent></t:Message></m:Items></m:CreateItem>`))
	id := find(r.root, "ItemId").attr("Id")
	r = w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
	if find(r.root, "Subject").Text != "Café" || find(find(r.root, "Attachments"), "Name").Text != "r.pdf" || find(r.root, "HasAttachments").Text != "true" {
		t.Fatal(r.body)
	}
}

func TestResolveNamesAndExpandDL(t *testing.T) {
	w := newWorld(t)
	res := func(q string) resp {
		return w.call(w.alice, "", `<m:ResolveNames ReturnFullContactData="true"><m:UnresolvedEntry>`+q+`</m:UnresolvedEntry></m:ResolveNames>`)
	}
	r := w.mustOK(res("bob"))
	if find(r.root, "EmailAddress").Text != "bob@contoso.test" || find(r.root, "Contact") == nil {
		t.Fatal(r.body)
	}
	r = res("SMTP:alice.proxy@contoso.test")
	if code(r.messages()[0]) != "NoError" || find(r.root, "EmailAddress").Text != "alice@contoso.test" {
		t.Fatal(r.body)
	}
	w.recipient(w.org, "bobby", "UserMailbox")
	r = res("bo")
	m := r.messages()[0]
	if m.attr("ResponseClass") != "Warning" || code(m) != "ErrorNameResolutionMultipleResults" || len(findAll(r.root, "Resolution")) != 2 {
		t.Fatal(r.body)
	}
	if r = res("stranger"); code(r.messages()[0]) != "ErrorNameResolutionNoResults" {
		t.Fatal("resolved another tenant: " + r.body)
	}
	r = w.mustOK(w.call(w.alice, "", `<m:ExpandDL><m:Mailbox><t:EmailAddress>team@contoso.test</t:EmailAddress></m:Mailbox></m:ExpandDL>`))
	if len(findAll(r.root, "Mailbox")) != 2 {
		t.Fatal(r.body)
	}
}

func TestOof(t *testing.T) {
	w := newWorld(t)
	set := `<m:SetUserOofSettingsRequest><t:Mailbox><t:Address>alice@contoso.test</t:Address></t:Mailbox><t:UserOofSettings><t:OofState>Scheduled</t:OofState><t:ExternalAudience>Known</t:ExternalAudience><t:Duration><t:StartTime>2026-07-01T00:00:00Z</t:StartTime><t:EndTime>2026-07-15T00:00:00Z</t:EndTime></t:Duration><t:InternalReply><t:Message>Away</t:Message></t:InternalReply><t:ExternalReply><t:Message>Gone</t:Message></t:ExternalReply></t:UserOofSettings></m:SetUserOofSettingsRequest>`
	r := w.call(w.svc, primary(w.alice), set)
	if r.status != 200 || find(r.root, "ResponseMessage").attr("ResponseClass") != "Success" {
		t.Fatal(r.body)
	}
	get := `<m:GetUserOofSettingsRequest><t:Mailbox><t:Address>alice@contoso.test</t:Address></t:Mailbox></m:GetUserOofSettingsRequest>`
	r = w.call(w.alice, "", get)
	if find(r.root, "OofState").Text != "Scheduled" || find(r.root, "InternalReply").childText("Message") != "Away" || find(r.root, "AllowExternalOof") == nil {
		t.Fatal(r.body)
	}
	if r = w.call(w.bob, "", get); find(r.root, "ResponseMessage").childText("ResponseCode") != "ErrorAccessDenied" {
		t.Fatal(r.body)
	}
}

func TestCalendarItems(t *testing.T) {
	w := newWorld(t)
	create := func(subject, start, end string) string {
		r := w.mustOK(w.call(w.svc, primary(w.alice), `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", w.alice)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+subject+`</t:Subject><t:Body BodyType="Text">agenda</t:Body>`+
			`<t:Start>`+start+`</t:Start><t:End>`+end+`</t:End><t:Location>Room 1</t:Location><t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees><t:MeetingTimeZone TimeZoneName="UTC"/></t:CalendarItem></m:Items></m:CreateItem>`))
		return find(r.root, "ItemId").attr("Id")
	}
	id1 := create("Standup", "2026-03-02T09:00:00Z", "2026-03-02T09:15:00Z")
	create("Review", "2026-03-03T14:00:00+01:00", "2026-03-03T15:00:00+01:00")
	create("Later", "2026-04-01T09:00:00Z", "2026-04-01T10:00:00Z")
	if r := w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject><t:Start>2026-03-02T09:00:00Z</t:Start><t:End>2026-03-02T10:00:00Z</t:End><t:Recurrence><t:DailyRecurrence><t:Interval>0</t:Interval></t:DailyRecurrence><t:NoEndRecurrence><t:StartDate>2026-03-02</t:StartDate></t:NoEndRecurrence></t:Recurrence></t:CalendarItem></m:Items></m:CreateItem>`); code(r.messages()[0]) != "ErrorInvalidRecurrence" {
		t.Fatal(r.body)
	}
	view := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView MaxEntriesReturned="10" StartDate="2026-03-01T00:00:00Z" EndDate="2026-03-08T00:00:00Z"/><m:ParentFolderIds>` + distFolder("calendar", w.alice) + `</m:ParentFolderIds></m:FindItem>`
	r := w.mustOK(w.call(w.alice, "", view))
	if got := findAll(r.root, "CalendarItem"); len(got) != 2 || got[0].childText("Subject") != "Standup" || got[1].childText("Start") != "2026-03-03T13:00:00Z" || got[0].childText("CalendarItemType") != "Single" {
		t.Fatalf("calendar view: %s", r.body)
	}
	if r := w.call(w.alice, "", strings.Replace(view, distFolder("calendar", w.alice), distFolder("inbox", nil), 1)); code(r.messages()[0]) != "ErrorCalendarFolderIsInvalidForCalendarView" {
		t.Fatal(r.body)
	}
	r = w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+id1+`"/></m:ItemIds></m:GetItem>`))
	ci := find(r.root, "CalendarItem")
	if ci.childText("Location") != "Room 1" || ci.path("Organizer", "Mailbox", "EmailAddress").Text != "alice@contoso.test" || ci.path("RequiredAttendees", "Attendee", "Mailbox", "EmailAddress").Text != "bob@contoso.test" || ci.childText("Duration") != "PT0H15M0S" {
		t.Fatalf("calendar item: %s", r.body)
	}
	w.mustOK(w.call(w.alice, "", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id1+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2026-03-02T09:30:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`))
	r = w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="calendar:End"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id1+`"/></m:ItemIds></m:GetItem>`))
	if find(r.root, "End").Text != "2026-03-02T09:30:00Z" {
		t.Fatal(r.body)
	}
	// A Reviewer on the calendar sees the appointments.
	cal, _ := w.mbx.Distinguished(t0ctx, w.alice.ID, "calendar")
	if err := w.mbx.SetPermissions(t0ctx, mailbox.Actor{}, w.alice.ID, cal.Key, []mailbox.Permission{{User: w.carol.ID, IsFolderVisible: true, ReadItems: "FullDetails", EditItems: "None", DeleteItems: "None", Level: "Reviewer"}}); err != nil {
		t.Fatal(err)
	}
	if r := w.mustOK(w.call(w.carol, "", view)); len(findAll(r.root, "CalendarItem")) != 2 {
		t.Fatal(r.body)
	}
}

// TestNoAccessAcrossOrganizations: an id from another organization's mailbox
// is "not found", even where that mailbox's Default permission would allow
// anyone of its own organization.
func TestNoAccessAcrossOrganizations(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.stranger.ID, "inbox", 1, nil)
	inbox, err := w.mbx.Distinguished(t0ctx, w.stranger.ID, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	w.mbx.SetPermissions(t0ctx, mailbox.Actor{}, w.stranger.ID, inbox.Key, []mailbox.Permission{
		{User: "Default", IsFolderVisible: true, ReadItems: "FullDetails", EditItems: "All", DeleteItems: "All", CanCreateItems: true}})
	get := `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="` + items[0].ID() + `"/></m:ItemIds></m:GetItem>`
	folder := `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="` + inbox.ID() + `"/></m:FolderIds></m:GetFolder>`
	for _, body := range []string{get, folder} {
		r := w.call(w.carol, "", body)
		if c := code(r.messages()[0]); c != "ErrorItemNotFound" && c != "ErrorFolderNotFound" {
			t.Fatalf("cross-organization access: %s", r.body)
		}
		if strings.Contains(r.body, "stranger") || strings.Contains(r.body, "fabrikam") {
			t.Fatalf("the answer reveals the other organization: %s", r.body)
		}
	}
}
