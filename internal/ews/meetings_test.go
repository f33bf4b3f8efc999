package ews

import (
	"strings"
	"sync"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// meetingWorld adds helpers for meeting tests to a world.
type meetingWorld struct {
	*world
	t   *testing.T
	day func(n int, hm string) string
}

func newMeetingWorld(t *testing.T) *meetingWorld {
	w := newWorld(t)
	now := w.h.opts.Now().UTC()
	return &meetingWorld{world: w, t: t, day: func(n int, hm string) string {
		return now.AddDate(0, 0, n).Format("2006-01-02") + "T" + hm + ":00Z"
	}}
}

func attendeesXML(el string, rs ...*d.Recipient) string {
	var b strings.Builder
	b.WriteString("<t:" + el + ">")
	for _, r := range rs {
		b.WriteString(`<t:Attendee><t:Mailbox><t:EmailAddress>` + r.PrimarySmtpAddress + `</t:EmailAddress></t:Mailbox></t:Attendee>`)
	}
	b.WriteString("</t:" + el + ">")
	return b.String()
}

// organize creates a meeting in org's calendar and returns its id and change key.
func (w *meetingWorld) organize(org *d.Recipient, subject, start, end, attendees string) (string, string) {
	r := w.mustOK(w.call(org, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>`+subject+`</t:Subject>`+
		`<t:Body BodyType="Text">agenda</t:Body><t:Start>`+start+`</t:Start><t:End>`+end+`</t:End>`+attendees+`</t:CalendarItem></m:Items></m:CreateItem>`))
	id := find(r.root, "ItemId")
	return id.attr("Id"), id.attr("ChangeKey")
}

// folderItems returns the items of a distinguished folder of owner, as the owner sees them.
func (w *meetingWorld) folderItems(owner *d.Recipient, folder string) []*node {
	r := w.mustOK(w.call(owner, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds>`+distFolder(folder, nil)+`</m:ParentFolderIds></m:FindItem>`))
	var out []*node
	for _, id := range findAll(r.root, "ItemId") {
		g := w.mustOK(w.call(owner, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="`+id.attr("Id")+`"/></m:ItemIds></m:GetItem>`))
		out = append(out, find(g.root, "Items").Children[0])
	}
	return out
}

func (w *meetingWorld) only(owner *d.Recipient, folder, el string) *node {
	w.t.Helper()
	var hits []*node
	for _, n := range w.folderItems(owner, folder) {
		if n.Local == el {
			hits = append(hits, n)
		}
	}
	if len(hits) != 1 {
		w.t.Fatalf("%s's %s has %d %s", owner.Name, folder, len(hits), el)
	}
	return hits[0]
}

func (w *meetingWorld) respond(as *d.Recipient, op string, ref *node, disp string) resp {
	id := find(ref, "ItemId")
	return w.call(as, "", `<m:CreateItem MessageDisposition="`+disp+`"><m:Items><t:`+op+`><t:ReferenceItemId Id="`+id.attr("Id")+`" ChangeKey="`+id.attr("ChangeKey")+`"/></t:`+op+`></m:Items></m:CreateItem>`)
}

func attendeeResponse(item *node, email string) string {
	for _, a := range findAll(item, "Attendee") {
		if strings.EqualFold(find(a, "EmailAddress").Text, email) {
			return a.childText("ResponseType")
		}
	}
	return "(absent)"
}

func TestMeetingLifecycle(t *testing.T) {
	w := newMeetingWorld(t)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		r.CalendarProcessing = p
	})
	id, ck := w.organize(w.alice, "Design review", w.day(2, "09:00"), w.day(2, "10:00"),
		attendeesXML("RequiredAttendees", w.bob, w.carol)+attendeesXML("Resources", w.room))

	// Bob: a tentative copy in his calendar and a request pointing at it.
	req := w.only(w.bob, "inbox", "MeetingRequest")
	cp := w.only(w.bob, "calendar", "CalendarItem")
	if req.childText("MeetingRequestType") != "NewMeetingRequest" || find(req, "AssociatedCalendarItemId").attr("Id") != find(cp, "ItemId").attr("Id") ||
		req.childText("ResponseType") != "NoResponseReceived" || find(req.child("Organizer"), "EmailAddress").Text != w.alice.PrimarySmtpAddress {
		t.Fatalf("request:\n%s", dump(req))
	}
	if cp.childText("MyResponseType") != "NoResponseReceived" || cp.childText("LegacyFreeBusyStatus") != "Tentative" || cp.childText("IsMeeting") != "true" {
		t.Fatalf("bob's copy:\n%s", dump(cp))
	}
	// The organizer cannot answer their own meeting.
	if c := code(w.respond(w.alice, "AcceptItem", w.only(w.alice, "calendar", "CalendarItem"), "SendAndSaveCopy").messages()[0]); c != "ErrorCalendarIsOrganizerForAccept" {
		t.Fatalf("organizer accepting: %s", c)
	}

	// Bob accepts from the request, Carol declines from her calendar.
	w.mustOK(w.respond(w.bob, "AcceptItem", req, "SendAndSaveCopy"))
	w.mustOK(w.respond(w.carol, "DeclineItem", w.only(w.carol, "calendar", "CalendarItem"), "SendOnly"))
	if cp := w.only(w.bob, "calendar", "CalendarItem"); cp.childText("MyResponseType") != "Accept" || cp.childText("LegacyFreeBusyStatus") != "Busy" {
		t.Fatalf("bob's copy after accepting:\n%s", dump(cp))
	}
	if p := w.only(w.bob, "deleteditems", "MeetingRequest"); p.childText("HasBeenProcessed") != "true" {
		t.Fatalf("answered request:\n%s", dump(p))
	}
	w.only(w.bob, "sentitems", "MeetingResponse")
	w.only(w.carol, "deleteditems", "CalendarItem")

	// Alice: three responses in her Inbox, tracked on her meeting, whose ChangeKey did not move.
	got := map[string]string{}
	for _, n := range w.folderItems(w.alice, "inbox") {
		if n.Local == "MeetingResponse" {
			got[n.childText("Subject")] = n.childText("ResponseType")
		}
	}
	want := map[string]string{"Accepted: Design review": "Accept", "Declined: Design review": "Decline"}
	for s, rt := range want {
		if got[s] != rt {
			t.Fatalf("alice's responses %v", got)
		}
	}
	mine := w.only(w.alice, "calendar", "CalendarItem")
	if find(mine, "ItemId").attr("ChangeKey") != ck || attendeeResponse(mine, w.bob.PrimarySmtpAddress) != "Accept" ||
		attendeeResponse(mine, w.carol.PrimarySmtpAddress) != "Decline" || attendeeResponse(mine, w.room.PrimarySmtpAddress) != "Accept" ||
		mine.childText("MyResponseType") != "Organizer" {
		t.Fatalf("alice's meeting (change key %s):\n%s", ck, dump(mine))
	}

	// A new time is a full update: copies reset, the room re-books, tracking resets.
	w.mustOK(w.call(w.alice, "", `<m:UpdateItem ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`" ChangeKey="`+ck+`"/><t:Updates>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>`+w.day(2, "11:00")+`</t:Start></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>`+w.day(2, "12:00")+`</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`))
	upd := w.only(w.bob, "inbox", "MeetingRequest")
	cp = w.only(w.bob, "calendar", "CalendarItem")
	if upd.childText("MeetingRequestType") != "FullUpdate" || cp.childText("MyResponseType") != "NoResponseReceived" || !strings.HasPrefix(cp.childText("Start"), w.day(2, "11:00")[:13]) {
		t.Fatalf("after the update: request\n%s\ncopy\n%s", dump(upd), dump(cp))
	}
	if len(w.folderItems(w.carol, "calendar")) != 1 {
		t.Fatal("carol, who had declined, has no copy of the updated meeting")
	}
	if rv := w.folderItems(w.svc, "calendar"); len(rv) != 0 {
		t.Fatal("svc's calendar changed")
	}

	// Cancellation: copies marked, the room's booking gone, a cancellation delivered.
	w.mustOK(w.call(w.alice, "", `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToAllAndSaveCopy"><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:DeleteItem>`))
	cp = w.only(w.bob, "calendar", "CalendarItem")
	if cp.childText("IsCancelled") != "true" || !strings.HasPrefix(cp.childText("Subject"), "Canceled: ") || cp.childText("LegacyFreeBusyStatus") != "Free" {
		t.Fatalf("bob's copy after the cancellation:\n%s", dump(cp))
	}
	w.only(w.bob, "inbox", "MeetingCancellation")
	if c := code(w.respond(w.bob, "AcceptItem", cp, "SendOnly").messages()[0]); c != "ErrorCalendarIsCancelledForAccept" {
		t.Fatalf("accepting a cancelled meeting: %s", c)
	}
	r := w.mustOK(w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ParentFolderIds>`+distFolder("calendar", w.room)+`</m:ParentFolderIds></m:FindItem>`))
	if n := len(findAll(r.root, "ItemId")); n != 0 {
		t.Fatalf("room calendar has %d items after the cancellation", n)
	}
}

func TestMeetingDelegates(t *testing.T) {
	w := newMeetingWorld(t)
	mbx := `<m:Mailbox><t:EmailAddress>` + w.alice.PrimarySmtpAddress + `</t:EmailAddress></m:Mailbox>`
	w.mustOK(w.call(w.alice, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", true)+
		`</m:DelegateUsers><m:DeliverMeetingRequests>DelegatesOnly</m:DeliverMeetingRequests></m:AddDelegate>`))

	// DelegatesOnly: Carol gets Alice's request, Alice none.
	w.organize(w.bob, "Budget", w.day(3, "09:00"), w.day(3, "10:00"), attendeesXML("RequiredAttendees", w.alice))
	req := w.only(w.carol, "inbox", "MeetingRequest")
	if req.childText("IsDelegated") != "true" || find(req.child("ReceivedRepresenting"), "EmailAddress").Text != w.alice.PrimarySmtpAddress {
		t.Fatalf("delegate's copy:\n%s", dump(req))
	}
	for _, n := range w.folderItems(w.alice, "inbox") {
		if n.Local == "MeetingRequest" {
			t.Fatal("DelegatesOnly: alice received the request")
		}
	}
	// Carol accepts for Alice: Alice's calendar changes, Bob's response comes from Alice on her behalf.
	w.mustOK(w.respond(w.carol, "AcceptItem", req, "SendOnly"))
	if cp := w.only(w.alice, "calendar", "CalendarItem"); cp.childText("MyResponseType") != "Accept" {
		t.Fatalf("alice's copy:\n%s", dump(cp))
	}
	resp := w.only(w.bob, "inbox", "MeetingResponse")
	if find(resp.child("From"), "EmailAddress").Text != w.alice.PrimarySmtpAddress || find(resp.child("Sender"), "EmailAddress").Text != w.carol.PrimarySmtpAddress {
		t.Fatalf("response identity:\n%s", dump(resp))
	}
	// Dave (no rights on Alice's calendar) cannot answer for her.
	if c := code(w.respond(w.vip, "AcceptItem", w.only(w.alice, "calendar", "CalendarItem"), "SendOnly").messages()[0]); c == "NoError" {
		t.Fatal("a stranger answered for alice")
	}

	// DelegatesAndSendInformationToMe: Alice gets an informational copy.
	w.mustOK(w.call(w.alice, "", `<m:UpdateDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", true)+
		`</m:DelegateUsers><m:DeliverMeetingRequests>DelegatesAndSendInformationToMe</m:DeliverMeetingRequests></m:UpdateDelegate>`))
	w.organize(w.bob, "Offsite", w.day(4, "09:00"), w.day(4, "10:00"), attendeesXML("RequiredAttendees", w.alice))
	if n := w.only(w.alice, "inbox", "MeetingRequest"); n.childText("MeetingRequestType") != "PrincipalWantsCopy" {
		t.Fatalf("principal's copy:\n%s", dump(n))
	}
	// NoForward: delegates get nothing.
	w.mustOK(w.call(w.alice, "", `<m:UpdateDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", true)+
		`</m:DelegateUsers><m:DeliverMeetingRequests>NoForward</m:DeliverMeetingRequests></m:UpdateDelegate>`))
	before := len(w.folderItems(w.carol, "inbox"))
	w.organize(w.bob, "Lunch", w.day(5, "12:00"), w.day(5, "13:00"), attendeesXML("RequiredAttendees", w.alice))
	if after := len(w.folderItems(w.carol, "inbox")); after != before {
		t.Fatalf("NoForward: carol's inbox went from %d to %d", before, after)
	}
}

func TestResourceDelegateApproval(t *testing.T) {
	w := newMeetingWorld(t)
	w.update(w.room, func(r *d.Recipient) {
		p := d.DefaultCalendarProcessing()
		p.AutomateProcessing = "AutoAccept"
		p.AllBookInPolicy = false
		p.AllRequestInPolicy = true
		p.ResourceDelegates = []string{w.carol.ID}
		r.CalendarProcessing = p
	})
	w.organize(w.alice, "Board", w.day(2, "09:00"), w.day(2, "10:00"), attendeesXML("Resources", w.room))
	if n := w.only(w.alice, "inbox", "MeetingResponse"); n.childText("ResponseType") != "Tentative" || !strings.Contains(n.childText("Body"), "awaiting approval") {
		t.Fatalf("organizer's interim answer:\n%s", dump(n))
	}
	req := w.only(w.carol, "inbox", "MeetingRequest")
	w.mustOK(w.respond(w.carol, "AcceptItem", req, "SendOnly"))
	r := w.mustOK(w.call(w.svc, primary(w.room), `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView StartDate="`+w.day(2, "00:00")+`" EndDate="`+w.day(3, "00:00")+`"/><m:ParentFolderIds>`+distFolder("calendar", w.room)+`</m:ParentFolderIds></m:FindItem>`))
	if find(r.root, "MyResponseType").Text != "Accept" {
		t.Fatalf("room's booking after the delegate accepted:\n%s", r.body)
	}
	for _, n := range w.folderItems(w.alice, "inbox") {
		if n.Local == "MeetingResponse" && n.childText("ResponseType") == "Accept" && n.childText("Subject") != "Accepted: Board" {
			t.Fatalf("the delegate's answer has the room copy's subject: %q", n.childText("Subject"))
		}
	}
	mine := w.only(w.alice, "calendar", "CalendarItem")
	if attendeeResponse(mine, w.room.PrimarySmtpAddress) != "Accept" {
		t.Fatalf("tracking:\n%s", dump(mine))
	}
	// Bob is not a resource delegate.
	if c := code(w.respond(w.bob, "DeclineItem", req, "SendOnly").messages()[0]); c == "NoError" {
		t.Fatal("bob decided for the room")
	}
}

func dump(n *node) string {
	if n == nil {
		return "<nil>"
	}
	var b strings.Builder
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		b.WriteString(strings.Repeat("  ", depth) + n.Local)
		if t := strings.TrimSpace(n.Text); t != "" && len(n.Children) == 0 {
			b.WriteString(" = " + t)
		}
		b.WriteString("\n")
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func TestMeetingSeriesOccurrences(t *testing.T) {
	w := newMeetingWorld(t)
	r := w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Standup</t:Subject>`+
		`<t:Start>`+w.day(1, "09:00")+`</t:Start><t:End>`+w.day(1, "09:15")+`</t:End>`+
		`<t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>`+w.day(1, "00:00")[:10]+`</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>`+
		attendeesXML("RequiredAttendees", w.bob)+`</t:CalendarItem></m:Items></m:CreateItem>`))
	master := find(r.root, "ItemId").attr("Id")
	w.mustOK(w.respond(w.bob, "AcceptItem", w.only(w.bob, "inbox", "MeetingRequest"), "SendOnly"))

	// Move the second occurrence an hour later and delete the third, both sent.
	w.mustOK(w.call(w.alice, "", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"><m:ItemChanges><t:ItemChange><t:OccurrenceItemId RecurringMasterId="`+master+`" InstanceIndex="2"/><t:Updates>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>`+w.day(2, "10:00")+`</t:Start></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>`+w.day(2, "10:15")+`</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`))
	occ3 := w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds><t:OccurrenceItemId RecurringMasterId="`+master+`" InstanceIndex="3"/></m:ItemIds></m:GetItem>`))
	w.mustOK(w.call(w.alice, "", `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToAllAndSaveCopy"><m:ItemIds><t:ItemId Id="`+find(occ3.root, "ItemId").attr("Id")+`"/></m:ItemIds></m:DeleteItem>`))

	v := w.mustOK(w.call(w.bob, "", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:CalendarView StartDate="`+w.day(0, "00:00")+`" EndDate="`+w.day(7, "00:00")+`"/><m:ParentFolderIds>`+distFolder("calendar", nil)+`</m:ParentFolderIds></m:FindItem>`))
	var starts []string
	for _, ci := range findAll(v.root, "CalendarItem") {
		starts = append(starts, ci.childText("Start")[:16])
		if ci.childText("MyResponseType") != "Accept" {
			t.Fatalf("bob's response reset by an occurrence change:\n%s", v.body)
		}
	}
	want := []string{w.day(1, "09:00")[:16], w.day(2, "10:00")[:16], w.day(4, "09:00")[:16], w.day(5, "09:00")[:16]}
	if strings.Join(starts, ",") != strings.Join(want, ",") {
		t.Fatalf("bob's series: %v, want %v", starts, want)
	}
}

func TestMeetingTentative(t *testing.T) {
	w := newMeetingWorld(t)
	w.organize(w.alice, "Maybe", w.day(2, "14:00"), w.day(2, "15:00"), attendeesXML("OptionalAttendees", w.bob))
	w.mustOK(w.respond(w.bob, "TentativelyAcceptItem", w.only(w.bob, "inbox", "MeetingRequest"), "SendAndSaveCopy"))
	if cp := w.only(w.bob, "calendar", "CalendarItem"); cp.childText("MyResponseType") != "Tentative" || cp.childText("LegacyFreeBusyStatus") != "Tentative" {
		t.Fatalf("bob's copy:\n%s", dump(cp))
	}
	if r := w.only(w.alice, "inbox", "MeetingResponse"); r.childText("Subject") != "Tentative: Maybe" || r.childText("ResponseType") != "Tentative" {
		t.Fatalf("response:\n%s", dump(r))
	}
	if got := attendeeResponse(w.only(w.alice, "calendar", "CalendarItem"), w.bob.PrimarySmtpAddress); got != "Tentative" {
		t.Fatalf("tracking: %s", got)
	}
	// SaveOnly leaves the response in Drafts and tells nobody.
	w.organize(w.alice, "Later", w.day(3, "14:00"), w.day(3, "15:00"), attendeesXML("RequiredAttendees", w.carol))
	w.mustOK(w.respond(w.carol, "DeclineItem", w.only(w.carol, "inbox", "MeetingRequest"), "SaveOnly"))
	w.only(w.carol, "drafts", "MeetingResponse")
	for _, n := range w.folderItems(w.alice, "inbox") {
		if n.childText("Subject") == "Declined: Later" {
			t.Fatal("a SaveOnly response was delivered")
		}
	}
}

// grantCalendar gives user a level on owner's calendar (folder permission only).
func grantCalendar(t *testing.T, w *world, owner, user *d.Recipient, level string) {
	t.Helper()
	if err := w.mbx.Ensure(t0ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	cal, err := w.mbx.Distinguished(t0ctx, owner.ID, "calendar")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := mailbox.LevelRights(level)
	p.User = user.ID
	if err := w.mbx.SetPermissions(t0ctx, mailbox.Actor{}, owner.ID, cal.Key, []mailbox.Permission{p}); err != nil {
		t.Fatal(err)
	}
}

// Review findings (session 2): each is a hole that was open once.
func TestMeetingAbuse(t *testing.T) {
	t.Run("a chosen UID does not take over another organizer's meeting", func(t *testing.T) {
		w := newMeetingWorld(t)
		bobID, _ := w.organize(w.bob, "Board prep", w.day(3, "09:00"), w.day(3, "10:00"), attendeesXML("RequiredAttendees", w.alice))
		g := w.mustOK(w.call(w.bob, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+bobID+`"/></m:ItemIds></m:GetItem>`))
		uid := find(g.root, "UID").Text
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>hijacked</t:Subject>`+
			`<t:Start>`+w.day(5, "09:00")+`</t:Start><t:End>`+w.day(5, "10:00")+`</t:End><t:UID>`+uid+`</t:UID>`+attendeesXML("RequiredAttendees", w.bob)+`</t:CalendarItem></m:Items></m:CreateItem>`))
		g = w.mustOK(w.call(w.bob, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+bobID+`"/></m:ItemIds></m:GetItem>`))
		if s := find(g.root, "CalendarItem").childText("Subject"); s != "Board prep" {
			t.Fatalf("bob's own meeting became %q", s)
		}
	})
	t.Run("a chosen UID does not take over a room booking", func(t *testing.T) {
		w := newMeetingWorld(t)
		w.update(w.room, func(r *d.Recipient) {
			p := d.DefaultCalendarProcessing()
			p.AutomateProcessing, p.AddOrganizerToSubject, p.DeleteSubject = "AutoAccept", false, false
			r.CalendarProcessing = p
		})
		carolID, _ := w.organize(w.carol, "Offsite", w.day(2, "09:00"), w.day(2, "10:00"), attendeesXML("Resources", w.room))
		g := w.mustOK(w.call(w.carol, "", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+carolID+`"/></m:ItemIds></m:GetItem>`))
		uid := find(g.root, "UID").Text
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Mine now</t:Subject>`+
			`<t:Start>`+w.day(2, "09:00")+`</t:Start><t:End>`+w.day(2, "10:00")+`</t:End><t:UID>`+uid+`</t:UID>`+attendeesXML("Resources", w.room)+`</t:CalendarItem></m:Items></m:CreateItem>`))
		var subjects []string
		for _, it := range w.folderItems(w.room, "calendar") {
			subjects = append(subjects, it.childText("Subject"))
		}
		if strings.Join(subjects, "|") != "Offsite" {
			t.Fatalf("room calendar %v", subjects)
		}
		if r := w.only(w.alice, "inbox", "MeetingResponse"); r.childText("ResponseType") != "Decline" {
			t.Fatalf("the clash was not declined:\n%s", dump(r))
		}
	})
	t.Run("calendar rights are not a right to send as the owner", func(t *testing.T) {
		w := newMeetingWorld(t)
		grantCalendar(t, w.world, w.alice, w.bob, "Author")
		r := w.call(w.bob, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", w.alice)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>All hands</t:Subject>`+
			`<t:Start>`+w.day(2, "09:00")+`</t:Start><t:End>`+w.day(2, "10:00")+`</t:End>`+attendeesXML("RequiredAttendees", w.carol)+`</t:CalendarItem></m:Items></m:CreateItem>`)
		if c := code(r.messages()[0]); c != "ErrorSendAsDenied" {
			t.Fatalf("create: %s", c)
		}
		if n := len(w.folderItems(w.carol, "inbox")) + len(w.folderItems(w.alice, "calendar")); n != 0 {
			t.Fatalf("%d items written by a refused send", n)
		}
		// A delegate (send on behalf) may: From alice, Sender bob.
		w.mustOK(w.call(w.alice, "", `<m:AddDelegate><m:Mailbox><t:EmailAddress>`+w.alice.PrimarySmtpAddress+`</t:EmailAddress></m:Mailbox><m:DelegateUsers>`+delegateUserXML(w.bob, "Editor", "None", false)+`</m:DelegateUsers></m:AddDelegate>`))
		w.mustOK(w.call(w.bob, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", w.alice)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>All hands</t:Subject>`+
			`<t:Start>`+w.day(2, "09:00")+`</t:Start><t:End>`+w.day(2, "10:00")+`</t:End>`+attendeesXML("RequiredAttendees", w.carol)+`</t:CalendarItem></m:Items></m:CreateItem>`))
		req := w.only(w.carol, "inbox", "MeetingRequest")
		if find(req.child("From"), "EmailAddress").Text != w.alice.PrimarySmtpAddress || find(req.child("Sender"), "EmailAddress").Text != w.bob.PrimarySmtpAddress {
			t.Fatalf("request identity:\n%s", dump(req))
		}
	})
	t.Run("a private meeting reaches only delegates who see private items", func(t *testing.T) {
		w := newMeetingWorld(t)
		mbx := `<m:Mailbox><t:EmailAddress>` + w.bob.PrimarySmtpAddress + `</t:EmailAddress></m:Mailbox>`
		w.mustOK(w.call(w.bob, "", `<m:AddDelegate>`+mbx+`<m:DelegateUsers>`+delegateUserXML(w.carol, "Editor", "None", true)+`</m:DelegateUsers><m:DeliverMeetingRequests>DelegatesOnly</m:DeliverMeetingRequests></m:AddDelegate>`))
		w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToAllAndSaveCopy"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>Hearing</t:Subject>`+
			`<t:Sensitivity>Private</t:Sensitivity><t:Start>`+w.day(2, "09:00")+`</t:Start><t:End>`+w.day(2, "10:00")+`</t:End>`+attendeesXML("RequiredAttendees", w.bob)+`</t:CalendarItem></m:Items></m:CreateItem>`))
		if n := len(w.folderItems(w.carol, "inbox")); n != 0 {
			t.Fatalf("the delegate without ViewPrivateItems got %d message(s)", n)
		}
		w.only(w.bob, "inbox", "MeetingRequest") // DelegatesOnly, yet nobody else could take it
	})
	t.Run("meeting updates and directory writes do not deadlock", func(t *testing.T) {
		w := newMeetingWorld(t)
		id, _ := w.organize(w.alice, "m", w.day(2, "09:00"), w.day(2, "10:00"), attendeesXML("RequiredAttendees", w.bob))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 60 {
				w.call(w.alice, "", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>s`+itoa(i)+`</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`)
			}
		}()
		go func() {
			defer wg.Done()
			for i := range 600 {
				w.update(w.vip, func(r *d.Recipient) { r.Title = "CEO" + strings.Repeat("x", i%3) })
			}
		}()
		wg.Wait() // a deadlock hangs here until the test binary's timeout
	})
}

func TestMeetingExternalAttendee(t *testing.T) {
	w := newMeetingWorld(t)
	w.organize(w.alice, "Vendor call", w.day(2, "09:00"), w.day(2, "10:00"),
		`<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>someone@example.org</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>`)
	req := w.only(w.alice, "outbox", "MeetingRequest")
	if !strings.Contains(req.child("Categories").childText("String"), "not delivered") {
		t.Fatalf("the undelivered request is not marked:\n%s", dump(req))
	}
}
