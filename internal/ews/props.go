package ews

import (
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Item properties, as bits of an item shape.
const (
	ipMimeContent uint64 = 1 << iota
	ipItemID
	ipParentFolderID
	ipItemClass
	ipSubject
	ipSensitivity
	ipBody
	ipAttachments
	ipDateTimeReceived
	ipSize
	ipCategories
	ipImportance
	ipInReplyTo
	ipIsSubmitted
	ipIsDraft
	ipIsFromMe
	ipIsResend
	ipIsUnmodified
	ipDateTimeSent
	ipDateTimeCreated
	ipDisplayCc
	ipDisplayTo
	ipHasAttachments
	ipCulture
	ipEffectiveRights
	ipLastModifiedName
	ipLastModifiedTime
	ipIsAssociated
	ipSender
	ipToRecipients
	ipCcRecipients
	ipBccRecipients
	ipIsReadReceiptRequested
	ipIsDeliveryReceiptRequested
	ipConversationTopic
	ipFrom
	ipInternetMessageID
	ipIsRead
	ipReferences
	ipReplyTo
	// Reminders (issue 4): reminders.go.
	ipReminderDueBy
	ipReminderIsSet
	ipReminderMinutesBeforeStart
)

var itemFieldBits = map[string]uint64{
	"item:MimeContent": ipMimeContent, "item:ItemId": ipItemID, "item:ParentFolderId": ipParentFolderID,
	"item:ItemClass": ipItemClass, "item:Subject": ipSubject, "item:Sensitivity": ipSensitivity, "item:Body": ipBody,
	"item:Attachments": ipAttachments, "item:DateTimeReceived": ipDateTimeReceived, "item:Size": ipSize,
	"item:Categories": ipCategories, "item:Importance": ipImportance, "item:InReplyTo": ipInReplyTo,
	"item:IsSubmitted": ipIsSubmitted, "item:IsDraft": ipIsDraft, "item:IsFromMe": ipIsFromMe, "item:IsResend": ipIsResend,
	"item:IsUnmodified": ipIsUnmodified, "item:DateTimeSent": ipDateTimeSent, "item:DateTimeCreated": ipDateTimeCreated,
	"item:DisplayCc": ipDisplayCc, "item:DisplayTo": ipDisplayTo, "item:HasAttachments": ipHasAttachments,
	"item:Culture": ipCulture, "item:EffectiveRights": ipEffectiveRights, "item:LastModifiedName": ipLastModifiedName,
	"item:LastModifiedTime": ipLastModifiedTime, "item:IsAssociated": ipIsAssociated, "message:Sender": ipSender,
	"message:ToRecipients": ipToRecipients, "message:CcRecipients": ipCcRecipients, "message:BccRecipients": ipBccRecipients,
	"message:IsReadReceiptRequested": ipIsReadReceiptRequested, "message:IsDeliveryReceiptRequested": ipIsDeliveryReceiptRequested,
	"message:ConversationTopic": ipConversationTopic, "message:From": ipFrom, "message:InternetMessageId": ipInternetMessageID,
	"message:IsRead": ipIsRead, "message:References": ipReferences, "message:ReplyTo": ipReplyTo,
	"item:ReminderDueBy": ipReminderDueBy, "item:ReminderIsSet": ipReminderIsSet, "item:ReminderMinutesBeforeStart": ipReminderMinutesBeforeStart,
}

const (
	shapeIDOnly = ipItemID
	// shapeDefaultFind is Default in FindItem: no body, attachments or recipient lists.
	shapeDefaultFind = ipItemID | ipParentFolderID | ipItemClass | ipSubject | ipSensitivity | ipDateTimeReceived | ipSize |
		ipImportance | ipIsSubmitted | ipIsDraft | ipIsFromMe | ipIsResend | ipIsUnmodified | ipDateTimeSent | ipDateTimeCreated |
		ipDisplayCc | ipDisplayTo | ipHasAttachments | ipCulture | ipEffectiveRights | ipLastModifiedName | ipLastModifiedTime |
		ipIsAssociated | ipSender | ipIsReadReceiptRequested | ipConversationTopic | ipFrom | ipInternetMessageID | ipIsRead
	// shapeDefaultGet is Default in GetItem: adds the body, attachments and recipients.
	shapeDefaultGet = shapeDefaultFind | ipBody | ipAttachments | ipToRecipients | ipCcRecipients | ipBccRecipients |
		ipCategories | ipReplyTo | ipReferences | ipInReplyTo | ipReminderDueBy | ipReminderIsSet | ipReminderMinutesBeforeStart
	shapeAll = (ipReminderMinutesBeforeStart<<1 - 1) &^ ipMimeContent
)

// Reserved Extended keys (no ExtendedFieldURI canonicalizes to "actas:...").
const (
	readReceiptKey     = "actas:readreceipt"
	deliveryReceiptKey = "actas:deliveryreceipt"
)

// itemShape is a parsed ItemShape.
type itemShape struct {
	bits     uint64
	cal      uint64  // calendar properties (calendar.go)
	mtg      uint64  // meeting message properties (meetings_xml.go)
	ext      []*node // requested ExtendedFieldURIs, echoed as sent
	bodyType string  // Best, HTML, Text
}

func parseItemShape(n *node, getItem bool) itemShape {
	sh := itemShape{bodyType: "Best"}
	switch n.childText("BaseShape") {
	case "Default":
		sh.bits, sh.cal, sh.mtg = shapeDefaultFind, calDefaultFind, mtgAll
		if getItem {
			sh.bits, sh.cal = shapeDefaultGet, calAll
		}
	case "AllProperties":
		sh.bits, sh.cal, sh.mtg = shapeAll, calAll, mtgAll
		if !getItem {
			sh.bits &^= ipBody | ipAttachments
		}
	default:
		sh.bits = shapeIDOnly
	}
	if v := n.childText("IncludeMimeContent"); v == "true" || v == "1" {
		sh.bits |= ipMimeContent
	}
	if v := n.childText("BodyType"); v != "" {
		sh.bodyType = v
	}
	for _, c := range n.child("AdditionalProperties").kids() {
		switch c.Local {
		case "FieldURI":
			sh.bits |= itemFieldBits[c.attr("FieldURI")]
			sh.cal |= calFieldBits[c.attr("FieldURI")]
			sh.mtg |= mtgFieldBits[c.attr("FieldURI")]
		case "ExtendedFieldURI":
			if extKey(c) != "" {
				sh.ext = append(sh.ext, c)
			}
		}
	}
	return sh
}

// extKey is the canonical key of an ExtendedFieldURI in Item.Extended:
// "tag:0x1234:Type", "set:{guid}:name:Name:Type" or "set:{guid}:id:N:Type"
// (a distinguished property set stands for its guid by name). PropertyTag
// is accepted in hex or decimal.
func extKey(n *node) string {
	typ := n.attr("PropertyType")
	if tag := n.attr("PropertyTag"); tag != "" {
		v, err := strconv.ParseUint(strings.TrimSpace(tag), 0, 32)
		if err != nil {
			v, err = strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(tag)), "0x"), 16, 32)
			if err != nil {
				return ""
			}
		}
		return fmt.Sprintf("tag:0x%04x:%s", v, typ)
	}
	set := strings.ToLower(strings.Trim(n.attr("PropertySetId"), "{}"))
	if set == "" {
		set = n.attr("DistinguishedPropertySetId")
	}
	if set == "" {
		return ""
	}
	if name := n.attr("PropertyName"); name != "" {
		return "set:" + set + ":name:" + name + ":" + typ
	}
	if id := n.attr("PropertyId"); id != "" {
		v, err := strconv.ParseUint(strings.TrimSpace(id), 0, 32)
		if err != nil {
			return ""
		}
		return "set:" + set + ":id:" + strconv.FormatUint(v, 10) + ":" + typ
	}
	return ""
}

func isArrayType(n *node) bool { return strings.HasSuffix(n.attr("PropertyType"), "Array") }

// itemElement is the element an item is shown as.
func itemElement(it *mailbox.Item) string {
	if isAppointment(it) {
		return "t:CalendarItem"
	}
	c := it.Class
	if isMeetingMessage(it) { // meetings.go
		switch {
		case strings.HasPrefix(c, classMeetingRequest):
			return "t:MeetingRequest"
		case strings.HasPrefix(c, classMeetingResp):
			return "t:MeetingResponse"
		case strings.HasPrefix(c, classMeetingCancel):
			return "t:MeetingCancellation"
		}
		return "t:MeetingMessage"
	}
	if c == "" || strings.HasPrefix(c, "IPM.Note") || strings.HasPrefix(c, "REPORT.") || strings.HasPrefix(c, "IPM.Schedule") {
		return "t:Message"
	}
	return "t:Item"
}

func displayList(as []mailbox.Address) string {
	var b strings.Builder
	for i, a := range as {
		if i > 0 {
			b.WriteString("; ")
		}
		if a.Name != "" {
			b.WriteString(a.Name)
		} else {
			b.WriteString(a.Email)
		}
	}
	return b.String()
}

func itemSize(it *mailbox.Item) int {
	if it.Size > 0 {
		return it.Size
	}
	n := len(it.Subject) + len(it.Body) + 200
	for _, a := range it.Attachments {
		n += len(a.Content)
	}
	return n
}

func writeAddress(w *xw, a *mailbox.Address) {
	w.start("t:Mailbox")
	if a.Name != "" {
		w.elem("t:Name", a.Name)
	}
	w.elem("t:EmailAddress", a.Email)
	w.elem("t:RoutingType", orDefault(a.RoutingType, "SMTP"))
	if a.MailboxType != "" {
		w.elem("t:MailboxType", a.MailboxType)
	}
	w.end("t:Mailbox")
}

func writeAddressList(w *xw, name string, as []mailbox.Address) {
	w.start(name)
	for i := range as {
		writeAddress(w, &as[i])
	}
	w.end(name)
}

var tagRE = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]*>`)

// htmlToText is a small conversion for BodyType=Text of an HTML body.
func htmlToText(s string) string {
	s = regexp.MustCompile(`(?i)<br\s*/?>|</p>|</div>`).ReplaceAllString(s, "\n")
	return strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(s, "")))
}

func textToHTML(s string) string {
	return "<html><body>" + strings.ReplaceAll(html.EscapeString(s), "\n", "<br>") + "</body></html>"
}

func (rc *reqCtx) ownerAddress(mbx string) string {
	if rc.owners == nil {
		rc.owners = map[string]*directory.Recipient{}
	}
	r, ok := rc.owners[mbx]
	if !ok {
		r = rc.recipient(mbx)
		rc.owners[mbx] = r
	}
	if r == nil {
		return ""
	}
	return r.PrimarySmtpAddress
}

// writeItem writes one item in schema order with the shape's properties.
func (rc *reqCtx) writeItem(w *xw, it *mailbox.Item, sh *itemShape) error {
	if it.Mailbox != rc.user.ID && rc.hidesPrivate(it) { // privacy.go
		it = maskedPrivate(it)
	}
	el := itemElement(it)
	meeting := strings.HasPrefix(el, "t:Meeting")
	msg := el == "t:Message" || meeting
	bits := sh.bits
	w.start(el)
	if bits&ipMimeContent != 0 {
		mime := it.MIME
		if len(mime) == 0 {
			mime = buildMIME(it)
		}
		w.raw(`<t:MimeContent CharacterSet="UTF-8">`)
		enc := base64.StdEncoding
		buf := make([]byte, enc.EncodedLen(len(mime)))
		enc.Encode(buf, mime)
		w.b.Write(buf)
		w.raw(`</t:MimeContent>`)
	}
	if bits&ipItemID != 0 {
		w.open("t:ItemId")
		w.attr("Id", itemID(it))
		w.attr("ChangeKey", it.ChangeKey)
		w.emptyEnd()
	}
	if bits&ipParentFolderID != 0 {
		w.open("t:ParentFolderId")
		w.attr("Id", encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: it.Mailbox, Key: it.FolderKey}))
		w.emptyEnd()
	}
	if bits&ipItemClass != 0 {
		w.elem("t:ItemClass", orDefault(it.Class, "IPM.Note"))
	}
	if bits&ipSubject != 0 {
		w.elem("t:Subject", it.Subject)
	}
	if bits&ipSensitivity != 0 {
		w.elem("t:Sensitivity", orDefault(it.Sensitivity, "Normal"))
	}
	if bits&ipBody != 0 {
		bt, body := orDefault(it.BodyType, "Text"), it.Body
		switch {
		case sh.bodyType == "Text" && bt == "HTML":
			bt, body = "Text", htmlToText(body)
		case sh.bodyType == "HTML" && bt == "Text":
			bt, body = "HTML", textToHTML(body)
		}
		w.open("t:Body")
		w.attr("BodyType", bt)
		w.attr("IsTruncated", "false")
		w.openEnd()
		w.text(body)
		w.end("t:Body")
	}
	if bits&ipAttachments != 0 && len(it.Attachments) > 0 {
		w.start("t:Attachments")
		for i := range it.Attachments {
			writeAttachment(w, it, &it.Attachments[i], false)
		}
		w.end("t:Attachments")
	}
	if bits&ipDateTimeReceived != 0 && !it.DateTimeReceived.IsZero() {
		w.elemTime("t:DateTimeReceived", it.DateTimeReceived)
	}
	if bits&ipSize != 0 {
		w.elemInt("t:Size", int64(itemSize(it)))
	}
	if bits&ipCategories != 0 && len(it.Categories) > 0 {
		w.start("t:Categories")
		for _, c := range it.Categories {
			w.elem("t:String", c)
		}
		w.end("t:Categories")
	}
	if bits&ipImportance != 0 {
		w.elem("t:Importance", orDefault(it.Importance, "Normal"))
	}
	if bits&ipInReplyTo != 0 && it.InReplyTo != "" {
		w.elem("t:InReplyTo", it.InReplyTo)
	}
	if bits&ipIsSubmitted != 0 {
		w.elemBool("t:IsSubmitted", false)
	}
	if bits&ipIsDraft != 0 {
		w.elemBool("t:IsDraft", it.IsDraft)
	}
	if bits&ipIsFromMe != 0 {
		w.elemBool("t:IsFromMe", it.From != nil && strings.EqualFold(it.From.Email, rc.ownerAddress(it.Mailbox)))
	}
	if bits&ipIsResend != 0 {
		w.elemBool("t:IsResend", false)
	}
	if bits&ipIsUnmodified != 0 {
		w.elemBool("t:IsUnmodified", !it.IsDraft)
	}
	if bits&ipDateTimeSent != 0 && !it.DateTimeSent.IsZero() {
		w.elemTime("t:DateTimeSent", it.DateTimeSent)
	}
	if bits&ipDateTimeCreated != 0 && !it.DateTimeCreated.IsZero() {
		w.elemTime("t:DateTimeCreated", it.DateTimeCreated)
	}
	writeReminder(w, it, bits) // reminders.go
	if bits&ipDisplayCc != 0 {
		w.elem("t:DisplayCc", displayList(it.Cc))
	}
	if bits&ipDisplayTo != 0 {
		w.elem("t:DisplayTo", displayList(it.To))
	}
	if bits&ipHasAttachments != 0 {
		w.elemBool("t:HasAttachments", it.HasAttachments())
	}
	for _, x := range sh.ext {
		v, ok := it.Extended[extKey(x)]
		if !ok {
			continue
		}
		w.start("t:ExtendedProperty")
		w.open("t:ExtendedFieldURI")
		for _, a := range x.Attrs {
			if a.Name.Space == "" {
				w.attr(a.Name.Local, a.Value)
			}
		}
		w.emptyEnd()
		if isArrayType(x) {
			w.start("t:Values")
			for _, s := range strings.Split(v, "\x00") {
				w.elem("t:Value", s)
			}
			w.end("t:Values")
		} else {
			w.elem("t:Value", v)
		}
		w.end("t:ExtendedProperty")
	}
	if bits&ipCulture != 0 {
		w.elem("t:Culture", "en-US")
	}
	if bits&ipEffectiveRights != 0 {
		g, err := rc.itemGrant(it)
		if err != nil {
			return err
		}
		owned := rc.ownedBy(it)
		w.start("t:EffectiveRights")
		w.elemBool("t:CreateAssociated", false)
		w.elemBool("t:CreateContents", false)
		w.elemBool("t:CreateHierarchy", false)
		w.elemBool("t:Delete", g.can(rightDelete, owned))
		w.elemBool("t:Modify", g.can(rightEdit, owned))
		w.elemBool("t:Read", g.can(rightRead, owned))
		w.elemBool("t:ViewPrivateItems", rc.canViewPrivate(it.Mailbox))
		w.end("t:EffectiveRights")
	}
	if bits&ipLastModifiedName != 0 {
		w.elem("t:LastModifiedName", rc.lastModifiedName(it))
	}
	if bits&ipLastModifiedTime != 0 && !it.LastModified.IsZero() {
		w.elemTime("t:LastModifiedTime", it.LastModified)
	}
	if bits&ipIsAssociated != 0 {
		w.elemBool("t:IsAssociated", false)
	}
	if el == "t:CalendarItem" {
		rc.writeCalendarProps(w, it, sh.cal)
	}
	if msg {
		if bits&ipSender != 0 && it.Sender != nil {
			w.start("t:Sender")
			writeAddress(w, it.Sender)
			w.end("t:Sender")
		}
		if bits&ipToRecipients != 0 && len(it.To) > 0 {
			writeAddressList(w, "t:ToRecipients", it.To)
		}
		if bits&ipCcRecipients != 0 && len(it.Cc) > 0 {
			writeAddressList(w, "t:CcRecipients", it.Cc)
		}
		if bits&ipBccRecipients != 0 && len(it.Bcc) > 0 {
			writeAddressList(w, "t:BccRecipients", it.Bcc)
		}
		if bits&ipIsReadReceiptRequested != 0 {
			w.elemBool("t:IsReadReceiptRequested", it.Extended[readReceiptKey] == "true")
		}
		if bits&ipIsDeliveryReceiptRequested != 0 {
			w.elemBool("t:IsDeliveryReceiptRequested", it.Extended[deliveryReceiptKey] == "true")
		}
		if bits&ipConversationTopic != 0 {
			w.elem("t:ConversationTopic", it.Subject)
		}
		if bits&ipFrom != 0 && it.From != nil {
			w.start("t:From")
			writeAddress(w, it.From)
			w.end("t:From")
		}
		if bits&ipInternetMessageID != 0 && it.InternetMessageID != "" {
			w.elem("t:InternetMessageId", it.InternetMessageID)
		}
		if bits&ipIsRead != 0 {
			w.elemBool("t:IsRead", it.IsRead)
		}
		if bits&ipReferences != 0 && it.References != "" {
			w.elem("t:References", it.References)
		}
		if bits&ipReplyTo != 0 && len(it.ReplyTo) > 0 {
			writeAddressList(w, "t:ReplyTo", it.ReplyTo)
		}
	}
	if meeting {
		rc.writeMeetingProps(w, it, el, sh) // meetings_xml.go
	}
	w.end(el)
	return nil
}

func (rc *reqCtx) lastModifiedName(it *mailbox.Item) string {
	if id := it.Extended[creatorKey]; id != "" {
		if r := rc.recipient(id); r != nil {
			return displayName(r)
		}
	}
	if r := rc.recipient(it.Mailbox); r != nil {
		return displayName(r)
	}
	return ""
}

// itemGrant is grantFor on the item's folder, cached per request.
func (rc *reqCtx) itemGrant(it *mailbox.Item) (grant, error) {
	if it.Mailbox == rc.user.ID {
		return grant{full: true}, nil
	}
	key := it.Mailbox + "/" + strconv.FormatInt(it.FolderKey, 10)
	if g, ok := rc.grants[key]; ok {
		return g, nil
	}
	f, err := rc.h.mbx.Folder(rc.ctx, it.Mailbox, it.FolderKey)
	if err != nil {
		return grant{}, err
	}
	g, err := rc.grantFor(it.Mailbox, f)
	if err != nil {
		return grant{}, err
	}
	if rc.grants == nil {
		rc.grants = map[string]grant{}
	}
	rc.grants[key] = g
	return g, nil
}

func writeAttachment(w *xw, it *mailbox.Item, a *mailbox.Attachment, content bool) {
	w.start("t:FileAttachment")
	w.open("t:AttachmentId")
	w.attr("Id", attachmentID(it, a.Num))
	if content {
		w.attr("RootItemId", itemID(it))
		w.attr("RootItemChangeKey", it.ChangeKey)
	}
	w.emptyEnd()
	w.elem("t:Name", a.Name)
	w.elem("t:ContentType", orDefault(a.ContentType, "application/octet-stream"))
	if a.ContentID != "" {
		w.elem("t:ContentId", a.ContentID)
	}
	w.elemInt("t:Size", int64(len(a.Content)))
	if !a.LastModified.IsZero() {
		w.elemTime("t:LastModifiedTime", a.LastModified)
	}
	w.elemBool("t:IsInline", a.IsInline)
	w.elemBool("t:IsContactPhoto", false)
	if content {
		w.start("t:Content")
		enc := base64.StdEncoding
		buf := make([]byte, enc.EncodedLen(len(a.Content)))
		enc.Encode(buf, a.Content)
		w.b.Write(buf)
		w.end("t:Content")
	}
	w.end("t:FileAttachment")
}

// --- reading items from requests ---

// localURIs maps an item child element to its FieldURI.
var localURIs = map[string]string{
	"MimeContent": "item:MimeContent", "ItemClass": "item:ItemClass", "Subject": "item:Subject",
	"Sensitivity": "item:Sensitivity", "Body": "item:Body", "Categories": "item:Categories", "Importance": "item:Importance",
	"InReplyTo": "item:InReplyTo", "IsDraft": "item:IsDraft", "Sender": "message:Sender", "ToRecipients": "message:ToRecipients",
	"CcRecipients": "message:CcRecipients", "BccRecipients": "message:BccRecipients",
	"IsReadReceiptRequested": "message:IsReadReceiptRequested", "IsDeliveryReceiptRequested": "message:IsDeliveryReceiptRequested",
	"From": "message:From", "InternetMessageId": "message:InternetMessageId", "IsRead": "message:IsRead",
	"References": "message:References", "ReplyTo": "message:ReplyTo", "Attachments": "item:Attachments",
	"DateTimeReceived": "item:DateTimeReceived", "DateTimeSent": "item:DateTimeSent", "ConversationTopic": "message:ConversationTopic",
	"ItemId": "item:ItemId", "ParentFolderId": "item:ParentFolderId", "DateTimeCreated": "item:DateTimeCreated",
	"Size": "item:Size", "HasAttachments": "item:HasAttachments", "DisplayTo": "item:DisplayTo", "DisplayCc": "item:DisplayCc",
	"LastModifiedTime": "item:LastModifiedTime", "IsFromMe": "item:IsFromMe", "IsSubmitted": "item:IsSubmitted",
	"IsUnmodified": "item:IsUnmodified", "IsResend": "item:IsResend", "Culture": "item:Culture",
	"EffectiveRights": "item:EffectiveRights", "LastModifiedName": "item:LastModifiedName", "IsAssociated": "item:IsAssociated",
	"ReminderDueBy": "item:ReminderDueBy", "ReminderIsSet": "item:ReminderIsSet", "ReminderMinutesBeforeStart": "item:ReminderMinutesBeforeStart",
}

// Properties clients send but Actas derives itself: accepted and ignored on
// create (exchangelib sends some of them back), refused on update.
var derivedURIs = map[string]bool{
	"item:ItemId": true, "item:ParentFolderId": true, "item:DateTimeCreated": true, "item:Size": true,
	"item:HasAttachments": true, "item:DisplayTo": true, "item:DisplayCc": true, "item:LastModifiedTime": true,
	"item:IsFromMe": true, "item:IsSubmitted": true, "item:IsUnmodified": true, "item:IsResend": true,
	"message:ConversationTopic": true, "item:Culture": true, "item:EffectiveRights": true, "item:LastModifiedName": true,
	"item:IsAssociated": true, "item:DateTimeReceived": true, "item:DateTimeSent": true, "item:IsDraft": true,
}

func parseAddress(n *node) (mailbox.Address, bool) {
	if n == nil {
		return mailbox.Address{}, false
	}
	a := mailbox.Address{Name: n.childText("Name"), Email: n.childText("EmailAddress"),
		RoutingType: n.childText("RoutingType"), MailboxType: n.childText("MailboxType")}
	if a.RoutingType == "" {
		a.RoutingType = "SMTP"
	}
	return a, a.Email != ""
}

func parseAddressList(n *node) ([]mailbox.Address, *ewsErr) {
	var out []mailbox.Address
	for _, m := range n.all("Mailbox") {
		a, ok := parseAddress(m)
		if !ok {
			return nil, newErr("ErrorInvalidRecipients", "A recipient has no EmailAddress.")
		}
		out = append(out, a)
	}
	return out, nil
}

// applyField sets (or, with appendMode, appends to) one property of it from
// the item element src. Unknown or read-only properties are errors.
func applyField(it *mailbox.Item, uri string, src *node, appendMode bool) *ewsErr {
	local := uri[strings.IndexByte(uri, ':')+1:]
	v := src.child(local)
	if v == nil {
		return newErr("ErrorInvalidPropertySet", "The item element does not contain "+uri+".")
	}
	text := strings.TrimSpace(v.Text)
	boolVal := func() (bool, *ewsErr) {
		switch text {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return false, newErr("ErrorInvalidValueForProperty", "'"+text+"' is not a boolean.")
	}
	if appendMode {
		switch uri {
		case "message:ToRecipients", "message:CcRecipients", "message:BccRecipients", "message:ReplyTo", "item:Categories", "item:Body":
		default:
			return newErr("ErrorInvalidPropertyAppend", "Appending to "+uri+" is not supported.")
		}
	}
	if e, ok := applyReminder(it, uri, text); ok { // reminders.go
		return e
	}
	switch uri {
	case "item:Subject":
		it.Subject = v.Text
	case "item:ItemClass":
		it.Class = text
	case "item:Sensitivity":
		switch text {
		case "Normal", "Personal", "Private", "Confidential":
			it.Sensitivity = text
		default:
			return newErr("ErrorInvalidValueForProperty", "Sensitivity '"+text+"' is invalid.")
		}
	case "item:Importance":
		switch text {
		case "Low", "Normal", "High":
			it.Importance = text
		default:
			return newErr("ErrorInvalidValueForProperty", "Importance '"+text+"' is invalid.")
		}
	case "item:Body":
		bt := v.attr("BodyType")
		if bt != "HTML" {
			bt = "Text"
		}
		if appendMode && it.Body != "" {
			it.Body += v.Text
		} else {
			it.Body, it.BodyType = v.Text, bt
		}
	case "item:Categories":
		var cats []string
		for _, s := range v.all("String") {
			cats = append(cats, strings.TrimSpace(s.Text))
		}
		if appendMode {
			it.Categories = append(it.Categories, cats...)
		} else {
			it.Categories = cats
		}
	case "item:InReplyTo":
		it.InReplyTo = text
	case "message:InternetMessageId":
		it.InternetMessageID = text
	case "message:References":
		it.References = text
	case "message:IsRead":
		b, e := boolVal()
		if e != nil {
			return e
		}
		it.IsRead = b
	case "message:IsReadReceiptRequested", "message:IsDeliveryReceiptRequested":
		b, e := boolVal()
		if e != nil {
			return e
		}
		key := readReceiptKey
		if uri == "message:IsDeliveryReceiptRequested" {
			key = deliveryReceiptKey
		}
		if it.Extended == nil {
			it.Extended = map[string]string{}
		}
		it.Extended[key] = strconv.FormatBool(b)
	case "message:From", "message:Sender":
		a, ok := parseAddress(v.child("Mailbox"))
		if !ok {
			return newErr("ErrorInvalidRecipients", uri+" needs a Mailbox with an EmailAddress.")
		}
		if uri == "message:From" {
			it.From = &a
		} else {
			it.Sender = &a
		}
	case "message:ToRecipients", "message:CcRecipients", "message:BccRecipients", "message:ReplyTo":
		list, e := parseAddressList(v)
		if e != nil {
			return e
		}
		var dst *[]mailbox.Address
		switch uri {
		case "message:ToRecipients":
			dst = &it.To
		case "message:CcRecipients":
			dst = &it.Cc
		case "message:BccRecipients":
			dst = &it.Bcc
		default:
			dst = &it.ReplyTo
		}
		if appendMode {
			*dst = append(*dst, list...)
		} else {
			*dst = list
		}
	default:
		return newErr("ErrorInvalidPropertySet", "Setting "+uri+" is not supported.")
	}
	return nil
}

// setExtended applies one t:ExtendedProperty element.
func setExtended(it *mailbox.Item, ep *node) *ewsErr {
	uri := ep.child("ExtendedFieldURI")
	key := extKey(uri)
	if key == "" {
		return newErr("ErrorInvalidExtendedProperty", "The ExtendedFieldURI is invalid.")
	}
	if it.Extended == nil {
		it.Extended = map[string]string{}
	}
	if vs := ep.child("Values"); vs != nil {
		var vals []string
		for _, v := range vs.all("Value") {
			vals = append(vals, v.Text)
		}
		it.Extended[key] = strings.Join(vals, "\x00")
	} else {
		it.Extended[key] = ep.child("Value").Text
	}
	return nil
}

// parseNewItem reads an item element of CreateItem.
func parseNewItem(n *node) (*mailbox.Item, *ewsErr) {
	it := &mailbox.Item{Class: "IPM.Note"}
	switch n.Local {
	case "Message", "Item":
	case "CalendarItem":
		return parseNewAppointment(n)
	default:
		return nil, newErr("ErrorInvalidOperation", "Creating "+n.Local+" items is not supported by this server.")
	}
	if mc := n.child("MimeContent"); mc != nil {
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(mc.Text), ""))
		if err != nil {
			return nil, newErr("ErrorMimeContentConversionFailed", "The MimeContent is not valid base64.")
		}
		parsed, err := parseMIME(raw)
		if err != nil {
			return nil, newErr("ErrorMimeContentConversionFailed", "The MimeContent could not be read: "+err.Error())
		}
		it = parsed
	}
	for _, c := range n.Children {
		if c.Local == "MimeContent" {
			continue
		}
		if c.Local == "ExtendedProperty" {
			if e := setExtended(it, c); e != nil {
				return nil, e
			}
			continue
		}
		uri, ok := localURIs[c.Local]
		if !ok {
			continue // a property Actas does not keep (e.g. Flag, ReminderIsSet)
		}
		if derivedURIs[uri] || uri == "item:Attachments" {
			continue
		}
		if e := applyField(it, uri, n, false); e != nil {
			return nil, e
		}
	}
	if n.child("Attachments") != nil {
		for _, fa := range n.child("Attachments").all("FileAttachment") {
			a, e := parseFileAttachment(fa)
			if e != nil {
				return nil, e
			}
			a.Num = int64(len(it.Attachments) + 1)
			it.Attachments = append(it.Attachments, a)
		}
	}
	return it, nil
}

func parseFileAttachment(fa *node) (mailbox.Attachment, *ewsErr) {
	content, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(fa.childText("Content")), ""))
	if err != nil {
		return mailbox.Attachment{}, newErr("ErrorInvalidRequest", "The attachment content is not valid base64.")
	}
	a := mailbox.Attachment{Name: fa.childText("Name"), ContentType: fa.childText("ContentType"),
		ContentID: fa.childText("ContentId"), Content: content}
	a.IsInline = fa.childText("IsInline") == "true"
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	return a, nil
}

// parseNewAppointment reads a t:CalendarItem of CreateItem.
func parseNewAppointment(n *node) (*mailbox.Item, *ewsErr) {
	it := &mailbox.Item{Class: appointmentClass}
	for _, c := range n.Children {
		if c.Local == "ExtendedProperty" {
			if e := setExtended(it, c); e != nil {
				return nil, e
			}
			continue
		}
		if uri, ok := calLocalURIs[c.Local]; ok {
			if e := applyCalendarField(it, uri, n, false); e != nil {
				return nil, e
			}
			continue
		}
		uri, ok := localURIs[c.Local]
		if !ok || derivedURIs[uri] || uri == "item:Attachments" || uri == "item:MimeContent" || strings.HasPrefix(uri, "message:") {
			continue
		}
		if e := applyField(it, uri, n, false); e != nil {
			return nil, e
		}
	}
	if c := n.child("ItemClass"); c != nil && !strings.HasPrefix(strings.TrimSpace(c.Text), appointmentClass) {
		it.Class = appointmentClass
	}
	if e := finishAppointment(it); e != nil {
		return nil, e
	}
	return it, nil
}
