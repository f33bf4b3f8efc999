package ews

import (
	"slices"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/mailbox"
)

// itemRef loads the item a t:ItemId names.
func (rc *reqCtx) itemRef(n *node) (*mailbox.Item, *ewsErr) {
	switch n.Local {
	case "ItemId":
		if _, _, ok := decodeOccurrenceID(n.attr("Id")); ok { // issue 4: an occurrence
			return rc.recurrenceRef(n)
		}
	case "OccurrenceItemId", "RecurringMasterItemId": // issue 4: calendar_recur.go
		return rc.recurrenceRef(n)
	default:
		return nil, newErr("ErrorInvalidIdMalformed", "Expected an ItemId, got "+n.Local+".")
	}
	return rc.loadItem(n.attr("Id"))
}

// loadItem loads the item an ItemId's Id names.
func (rc *reqCtx) loadItem(idText string) (*mailbox.Item, *ewsErr) {
	id, e := parseID(idText, mailbox.KindItem)
	if e != nil {
		return nil, e
	}
	if !rc.mailboxVisible(id.Mailbox) {
		return nil, newErr("ErrorItemNotFound")
	}
	it, err := rc.h.mbx.Item(rc.ctx, id.Mailbox, id.Key)
	if err != nil {
		return nil, rc.mapErr(err, "ErrorItemNotFound")
	}
	return it, nil
}

// checkItem asks the access decision for r on the item's folder.
func (rc *reqCtx) checkItem(it *mailbox.Item, r right) *ewsErr {
	if it.Mailbox == rc.user.ID {
		return nil
	}
	g, err := rc.itemGrant(it)
	if err != nil {
		return rc.mapErr(err, "ErrorItemNotFound")
	}
	if !g.can(r, rc.ownedBy(it)) {
		return newErr("ErrorAccessDenied")
	}
	if r != rightReadMasked && rc.hidesPrivate(it) { // privacy.go: GetItem shows it masked
		return newErr("ErrorAccessDenied", "The item is private.")
	}
	return nil
}

func itemRefs(container *node) []*node {
	if container == nil {
		return nil
	}
	return container.Children
}

// --- FindItem ---

func opFindItem(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	trav := op.attr("Traversal")
	switch trav {
	case "", "Shallow", "SoftDeleted", "Associated":
	default:
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: Traversal '" + trav + "' is invalid."}
	}
	sh := parseItemShape(op.child("ItemShape"), false)
	// EWSFindCountLimit of the caller's throttling policy: a page holds at
	// most this many; IncludesLastItemInRange="false" tells the client to page.
	maxFindItems := rc.h.budget(rc.caller.ID).FindCount
	view := pageView{max: maxFindItems}
	calendarView := false
	var calWin calWindow
	var calErr *ewsErr
	for _, c := range op.Children {
		switch c.Local {
		case "IndexedPageItemView", "FractionalPageItemView":
			view = parsePageView(c)
		case "CalendarView", "ContactsView":
			view = parsePageView(c)
			view.offset, view.fromEnd = 0, false
			calendarView = c.Local == "CalendarView"
			if calendarView {
				calWin, calErr = parseCalendarView(c, rc.tz)
			}
		}
	}
	if view.max <= 0 || view.max > maxFindItems {
		view.max = maxFindItems
	}
	parents := folderRefs(op.child("ParentFolderIds"))
	var common *ewsErr
	var filter func(*mailbox.Item) bool
	if rn := op.child("Restriction"); rn != nil && len(rn.Children) > 0 {
		r, e := compileRestriction(rn.Children[0], itemFieldKind)
		if e != nil {
			common = e
		} else {
			filter = func(it *mailbox.Item) bool { return r.eval(itemGetter(it)) }
		}
	}
	if qs := op.childText("QueryString"); qs != "" && common == nil {
		filter = andFilter(filter, queryStringFilter(qs))
	}
	var keys []sortKey
	if so := op.child("SortOrder"); so != nil && common == nil {
		keys, common = parseSortOrder(so)
	}
	if common == nil && (op.child("GroupBy") != nil || op.child("DistinguishedGroupBy") != nil) {
		common = newErr("ErrorInvalidOperation", "Grouping FindItem results is not supported by this server.")
	}
	less := lessFunc(keys)
	if len(keys) == 0 {
		less = nil // the store's own order (newest received first, then key) and its SQL paging
	}
	if calendarView {
		if common == nil {
			common = calErr
		}
	}
	beginResponse(w, "FindItem")
	for _, ref := range parents {
		e := common
		var parent *mailbox.Folder
		if e == nil {
			parent, e = rc.folderRef(ref)
		}
		if e == nil {
			e = rc.check(parent.Mailbox, parent, rightRead, false)
		}
		if e == nil && calendarView && !isCalendar(parent) {
			e = newErr("ErrorCalendarFolderIsInvalidForCalendarView", "CalendarView can only be used on calendar folders.")
		}
		var items []*mailbox.Item
		var total int
		pf, pl := filter, less
		if e == nil && parent.Mailbox != rc.user.ID && !rc.canViewPrivate(parent.Mailbox) { // privacy.go
			pf, pl = maskedFilter(filter), maskedLess(less)
		}
		if e == nil && calendarView { // issue 4: occurrences expanded
			items, total, e = rc.expandCalendarView(parent, pf, calWin, view.max)
		} else if e == nil && trav != "Associated" {
			items, total, e = rc.findPage(parent, pf, pl, trav, &view)
		}
		if e != nil {
			writeErrorMessage(w, "FindItemResponseMessage", e)
			continue
		}
		var lo, hi int
		if view.fromEnd {
			hi = total - view.offset
			lo = hi - len(items)
		} else {
			lo, hi = view.offset, view.offset+len(items)
		}
		if sh.bits&ipMimeContent != 0 || sh.bits&ipAttachments != 0 {
			// Items are summaries (no MIME, no attachment content): load whole items.
			for i, it := range items {
				if full, err := rc.h.mbx.Item(rc.ctx, it.Mailbox, it.Key); err == nil {
					items[i] = full
				}
			}
		}
		okStart(w, "FindItemResponseMessage")
		w.open("m:RootFolder")
		if calendarView {
			w.attr("TotalItemsInView", itoa(total))
			w.attr("IncludesLastItemInRange", boolStr(hi >= total))
		} else {
			writeRootFolderAttrs(w, view, lo, hi, total)
		}
		w.openEnd()
		w.start("t:Items")
		for _, it := range items {
			if err := rc.writeItem(w, it, &sh); err != nil {
				return err
			}
		}
		w.end("t:Items")
		w.end("m:RootFolder")
		w.end("m:FindItemResponseMessage")
	}
	endResponse(w, "FindItem")
	return nil
}

// findPage reads one page. BasePoint End reverses the order, pages from the
// start, and reverses the page back, so the store only ever pages forward.
func (rc *reqCtx) findPage(f *mailbox.Folder, filter func(*mailbox.Item) bool, less func(a, b *mailbox.Item) bool, trav string, v *pageView) ([]*mailbox.Item, int, *ewsErr) {
	q := mailbox.Query{Offset: v.offset, Max: v.max, Filter: filter, Less: less}
	if trav == "SoftDeleted" {
		q.Traversal = "SoftDeleted"
	}
	if v.fractional {
		_, total, err := rc.h.mbx.Items(rc.ctx, f.Mailbox, f.Key, mailbox.Query{Max: 1, Filter: filter, Less: less, Traversal: q.Traversal})
		if err != nil {
			return nil, 0, rc.mapErr(err, "ErrorFolderNotFound")
		}
		v.offset = total * v.fractNum / v.fractDen
		q.Offset = v.offset
	}
	if v.fromEnd {
		l := less
		if l == nil {
			l = lessFunc(nil)
		}
		q.Less = func(a, b *mailbox.Item) bool { return l(b, a) }
	}
	items, total, err := rc.h.mbx.Items(rc.ctx, f.Mailbox, f.Key, q)
	if err != nil {
		return nil, 0, rc.mapErr(err, "ErrorFolderNotFound")
	}
	if v.fromEnd {
		slices.Reverse(items)
	}
	return items, total, nil
}

func andFilter(a, b func(*mailbox.Item) bool) func(*mailbox.Item) bool {
	if a == nil {
		return b
	}
	return func(it *mailbox.Item) bool { return a(it) && b(it) }
}

// queryStringFilter is a small AQS subset: every word must occur in the
// subject, body, sender or recipients.
func queryStringFilter(qs string) func(*mailbox.Item) bool {
	words := strings.Fields(strings.ToLower(strings.ReplaceAll(qs, `"`, " ")))
	return func(it *mailbox.Item) bool {
		hay := strings.ToLower(it.Subject + "\n" + it.Body + "\n" + strings.Join(addrStrings(it.From), " ") + "\n" + strings.Join(addrList(it.To), " "))
		for _, w := range words {
			if i := strings.IndexByte(w, ':'); i > 0 {
				w = w[i+1:]
			}
			if w != "" && !strings.Contains(hay, w) {
				return false
			}
		}
		return true
	}
}

// --- GetItem ---

func opGetItem(rc *reqCtx, op *node, w *xw) error {
	sh := parseItemShape(op.child("ItemShape"), true)
	beginResponse(w, "GetItem")
	for _, ref := range itemRefs(op.child("ItemIds")) {
		it, e := rc.itemRef(ref)
		if e == nil {
			e = rc.checkItem(it, rightReadMasked)
		}
		if e != nil {
			writeErrorMessage(w, "GetItemResponseMessage", e)
			continue
		}
		okStart(w, "GetItemResponseMessage")
		w.start("m:Items")
		if err := rc.writeItem(w, it, &sh); err != nil {
			return err
		}
		w.end("m:Items")
		w.end("m:GetItemResponseMessage")
	}
	endResponse(w, "GetItem")
	return nil
}

// --- CreateItem ---

func opCreateItem(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	disp := op.attr("MessageDisposition")
	switch disp {
	case "", "SaveOnly", "SendOnly", "SendAndSaveCopy":
	default:
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: MessageDisposition '" + disp + "' is invalid."}
	}
	var saved *mailbox.Folder
	var se *ewsErr
	if refs := folderRefs(op.child("SavedItemFolderId")); len(refs) > 0 {
		saved, se = rc.folderRef(refs[0])
	}
	beginResponse(w, "CreateItem")
	for _, n := range op.child("Items").kids() {
		if se != nil {
			writeErrorMessage(w, "CreateItemResponseMessage", se)
			continue
		}
		var it, created *mailbox.Item
		var e *ewsErr
		switch n.Local {
		case "AcceptItem", "TentativelyAcceptItem", "DeclineItem": // meetings.go
			created, e = rc.respondToMeeting(n, disp, saved)
		case "CancelCalendarItem":
			created, e = rc.cancelCalendarItem(n, disp, saved)
		default:
			it, e = parseNewItem(n)
		}
		if it != nil && e == nil {
			if (disp == "SendOnly" || disp == "SendAndSaveCopy") && !isAppointment(it) {
				e = rc.sendNew(it, saved, disp == "SendAndSaveCopy")
			} else {
				owner := rc.user.ID
				if saved != nil {
					owner = saved.Mailbox
				}
				mode := op.attr("SendMeetingInvitations")
				atts := rc.meetingAttendees(owner, it)
				if e = rc.checkMeetingSend(owner, mode, it, atts); e == nil { // meetings.go
					plan := planMeeting(it, atts, mode)
					if created, e = rc.saveDraft(it, saved); e == nil {
						rc.sendMeeting(created, plan)
					}
				}
			}
		}
		if e != nil {
			writeErrorMessage(w, "CreateItemResponseMessage", e)
			continue
		}
		okStart(w, "CreateItemResponseMessage")
		if created != nil {
			w.start("m:Items")
			if err := rc.writeItem(w, created, &itemShape{bits: ipItemID}); err != nil {
				return err
			}
			w.end("m:Items")
		} else {
			w.empty("m:Items")
		}
		w.end("m:CreateItemResponseMessage")
	}
	endResponse(w, "CreateItem")
	return nil
}

// saveDraft stores a new item in the saved-item folder, or the effective
// user's Drafts.
func (rc *reqCtx) saveDraft(it *mailbox.Item, saved *mailbox.Folder) (*mailbox.Item, *ewsErr) {
	if saved == nil {
		name := "drafts"
		if isAppointment(it) {
			name = "calendar"
		}
		f, e := rc.distinguished(rc.user.ID, name)
		if e != nil {
			return nil, e
		}
		saved = f
	}
	if e := rc.check(saved.Mailbox, saved, rightCreate, false); e != nil {
		return nil, e
	}
	g, ge := rc.guardCalendarWrite(saved, it, 0) // calendar_guard.go: a resource's calendar
	if ge != nil {
		return nil, ge
	}
	if saved.Mailbox != rc.user.ID {
		if it.Extended == nil {
			it.Extended = map[string]string{}
		}
		it.Extended[creatorKey] = rc.user.ID
	}
	if it.Class == "" || strings.HasPrefix(it.Class, "IPM.Note") {
		it.IsDraft = true
	}
	if isAppointment(it) && len(it.To)+len(it.Cc)+len(it.Bcc) > 0 {
		rc.h.log.Info("ews: appointment saved; meeting invitations are not sent by this server", "request", rc.id, "mailbox", saved.Mailbox, "subject", it.Subject)
	}
	it.IsRead = true
	if it.DateTimeCreated.IsZero() {
		it.DateTimeCreated = rc.now
	}
	created, err := rc.h.mbx.CreateItem(rc.ctx, rc.actor(saved.Mailbox), saved.Mailbox, saved.Key, it)
	g.done(created)
	if err != nil {
		return nil, rc.mapErr(err, "ErrorFolderNotFound")
	}
	return created, nil
}

func (rc *reqCtx) distinguished(mbx, name string) (*mailbox.Folder, *ewsErr) {
	if err := rc.ensure(mbx); err != nil {
		return nil, rc.mapErr(err, "ErrorFolderNotFound")
	}
	f, err := rc.h.mbx.Distinguished(rc.ctx, mbx, name)
	if err != nil {
		return nil, rc.mapErr(err, "ErrorFolderNotFound")
	}
	return f, nil
}

// --- UpdateItem ---

type itemUpdate struct {
	op  string // SetItemField, AppendToItemField, DeleteItemField
	uri string
	ext *node // ExtendedFieldURI, for extended properties
	src *node // the item element holding the value (Set/Append)
}

func parseUpdates(ch *node) ([]itemUpdate, *ewsErr) {
	var out []itemUpdate
	for _, u := range ch.child("Updates").kids() {
		up := itemUpdate{op: u.Local}
		for _, c := range u.Children {
			switch c.Local {
			case "FieldURI":
				up.uri = c.attr("FieldURI")
			case "IndexedFieldURI":
				up.uri = c.attr("FieldURI") + "#" + c.attr("FieldIndex")
			case "ExtendedFieldURI":
				up.ext = c
			case "Message", "Item", "PostItem", "CalendarItem":
				up.src = c
			}
		}
		if up.uri == "" && up.ext == nil {
			return nil, newErr("ErrorInvalidPropertySet", "An update names no property.")
		}
		if up.op != "DeleteItemField" && up.src == nil {
			return nil, newErr("ErrorInvalidPropertySet", "An update of "+up.uri+" has no item element with the value.")
		}
		out = append(out, up)
	}
	return out, nil
}

func applyUpdate(it *mailbox.Item, up itemUpdate) *ewsErr {
	if up.ext != nil {
		key := extKey(up.ext)
		if key == "" {
			return newErr("ErrorInvalidExtendedProperty", "The ExtendedFieldURI is invalid.")
		}
		if up.op == "DeleteItemField" {
			delete(it.Extended, key)
			return nil
		}
		for _, ep := range up.src.all("ExtendedProperty") {
			if extKey(ep.child("ExtendedFieldURI")) == key {
				return setExtended(it, ep)
			}
		}
		return newErr("ErrorInvalidPropertySet", "The item element does not contain the extended property.")
	}
	if derivedURIs[up.uri] || calDerived[up.uri] {
		return newErr("ErrorInvalidPropertySet", up.uri+" cannot be changed.")
	}
	if strings.HasPrefix(up.uri, "calendar:") {
		if !isAppointment(it) {
			return newErr("ErrorInvalidPropertySet", up.uri+" applies to calendar items only.")
		}
		if up.op == "DeleteItemField" {
			return deleteCalendarField(it, up.uri)
		}
		return applyCalendarField(it, up.uri, up.src, up.op == "AppendToItemField")
	}
	if up.op == "DeleteItemField" {
		switch up.uri {
		case "item:Categories":
			it.Categories = nil
		case "item:Body":
			it.Body = ""
		case "item:InReplyTo":
			it.InReplyTo = ""
		case "message:ToRecipients":
			it.To = nil
		case "message:CcRecipients":
			it.Cc = nil
		case "message:BccRecipients":
			it.Bcc = nil
		case "message:ReplyTo":
			it.ReplyTo = nil
		case "message:From":
			it.From = nil
		case "message:Sender":
			it.Sender = nil
		case "message:References":
			it.References = ""
		case "item:Importance":
			it.Importance = "Normal"
		case "item:Sensitivity":
			it.Sensitivity = "Normal"
		default:
			return newErr("ErrorInvalidPropertyDelete", up.uri+" cannot be deleted.")
		}
		return nil
	}
	return applyField(it, up.uri, up.src, up.op == "AppendToItemField")
}

func opUpdateItem(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	cr := op.attr("ConflictResolution")
	switch cr {
	case "", "NeverOverwrite", "AutoResolve", "AlwaysOverwrite":
	default:
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: ConflictResolution '" + cr + "' is invalid."}
	}
	disp := op.attr("MessageDisposition")
	var saved *mailbox.Folder
	var se *ewsErr
	if refs := folderRefs(op.child("SavedItemFolderId")); len(refs) > 0 {
		saved, se = rc.folderRef(refs[0])
	}
	beginResponse(w, "UpdateItem")
	for _, ch := range op.child("ItemChanges").all("ItemChange") {
		e := se
		var updated *mailbox.Item
		if e == nil {
			updated, e = rc.updateItem(ch, cr, op.attr("SendMeetingInvitationsOrCancellations"))
		}
		if e == nil && (disp == "SendOnly" || disp == "SendAndSaveCopy") {
			e = rc.sendExisting(updated, disp == "SendAndSaveCopy", saved)
			updated = nil
		}
		if e != nil {
			writeErrorMessage(w, "UpdateItemResponseMessage", e)
			continue
		}
		okStart(w, "UpdateItemResponseMessage")
		if updated != nil {
			w.start("m:Items")
			if err := rc.writeItem(w, updated, &itemShape{bits: ipItemID}); err != nil {
				return err
			}
			w.end("m:Items")
		} else {
			w.empty("m:Items")
		}
		w.raw("<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>")
		w.end("m:UpdateItemResponseMessage")
	}
	endResponse(w, "UpdateItem")
	return nil
}

// updateItem applies one ItemChange; meeting messages it causes go out
// after the change (and any resource lock of calendar_guard.go) is done.
func (rc *reqCtx) updateItem(ch *node, cr, meetingMode string) (*mailbox.Item, *ewsErr) {
	it, after, e := rc.changeItem(ch, cr, meetingMode)
	if after != nil {
		after()
	}
	return it, e
}

func (rc *reqCtx) changeItem(ch *node, cr, meetingMode string) (*mailbox.Item, func(), *ewsErr) {
	var ref *node
	for _, c := range ch.Children {
		if c.Local == "ItemId" || c.Local == "OccurrenceItemId" || c.Local == "RecurringMasterItemId" {
			ref = c
		}
	}
	if ref == nil {
		return nil, nil, newErr("ErrorInvalidIdEmpty", "The ItemChange has no ItemId.")
	}
	it, e := rc.itemRef(ref)
	if e != nil {
		return nil, nil, e
	}
	ups, e := parseUpdates(ch)
	if e != nil {
		return nil, nil, e
	}
	need := rightRead // marking read only needs read access
	for _, u := range ups {
		if u.uri != "message:IsRead" || u.ext != nil {
			need = rightEdit
		}
	}
	if e := rc.checkItem(it, need); e != nil {
		return nil, nil, e
	}
	g, ge := rc.guardCalendarUpdate(it, ups) // calendar_guard.go: a resource's calendar
	if ge != nil {
		return nil, nil, ge
	}
	defer g.doneUpdate()
	ck := ref.attr("ChangeKey")
	if isOccurrence(it) { // issue 4: saved as an exception of the master
		if cr == "AlwaysOverwrite" {
			ck = ""
		}
		if e := rc.checkMeetingSend(it.Mailbox, meetingMode, it, attendees{}); e != nil { // meetings.go
			return nil, nil, e
		}
		occ, e := rc.updateOccurrence(it, ups, ck)
		if e != nil {
			return nil, nil, e
		}
		return occ, func() { rc.sendSeriesChange(it, meetingMode) }, nil // meetings.go
	}
	if cr == "AlwaysOverwrite" {
		ck = ""
	} else if ck != "" && ck != it.ChangeKey && len(ck) > 64 {
		return nil, nil, newErr("ErrorInvalidChangeKey")
	}
	// Validate every update on a scratch copy first, so a bad property is
	// reported as such whatever the change key says.
	scratch := *it
	scratch.Extended = cloneMap(it.Extended)
	for _, u := range ups {
		if e := applyUpdate(&scratch, u); e != nil {
			return nil, nil, e
		}
	}
	// The attendees come from the directory: resolved here, never inside
	// the store's transaction below.
	atts := rc.meetingAttendees(it.Mailbox, &scratch)
	if e := rc.checkMeetingSend(it.Mailbox, meetingMode, &scratch, atts); e != nil { // meetings.go
		return nil, nil, e
	}
	var applyErr *ewsErr
	var plan *meetingPlan
	updated, err := rc.h.mbx.UpdateItem(rc.ctx, rc.actor(it.Mailbox), it.Mailbox, it.Key, ck, func(x *mailbox.Item) error {
		for _, u := range ups {
			if e := applyUpdate(x, u); e != nil {
				applyErr = e
				return e
			}
		}
		x.LastModified = rc.now
		plan = planMeeting(x, atts, meetingMode) // meetings.go
		return nil
	})
	if applyErr != nil {
		return nil, nil, applyErr
	}
	if err != nil {
		return nil, nil, rc.mapItemErr(err)
	}
	return updated, func() { rc.sendMeeting(updated, plan) }, nil
}

func (rc *reqCtx) mapItemErr(err error) *ewsErr { return rc.mapErr(err, "ErrorItemNotFound") }

// --- DeleteItem ---

func opDeleteItem(rc *reqCtx, op *node, w *xw) error {
	mode, f := deleteMode(op.attr("DeleteType"))
	if f != nil {
		return f
	}
	beginResponse(w, "DeleteItem")
	for _, ref := range itemRefs(op.child("ItemIds")) {
		it, e := rc.itemRef(ref)
		if e == nil {
			e = rc.checkItem(it, rightDelete)
		}
		if e == nil && isOccurrence(it) { // issue 4: recorded in the master
			if e = rc.checkMeetingSend(it.Mailbox, op.attr("SendMeetingCancellations"), it, attendees{}); e == nil {
				e = rc.deleteOccurrence(it)
			}
			if e == nil {
				rc.sendSeriesChange(it, op.attr("SendMeetingCancellations")) // meetings.go
			}
		} else if e == nil {
			cancels := op.attr("SendMeetingCancellations")
			if send, _ := sendsInvitations(cancels); send && isAppointment(it) {
				if e = rc.checkMeetingSend(it.Mailbox, cancels, it, attendees{}); e == nil {
					rc.cancelMeeting(it) // meetings.go: only an organizer's meeting
				}
			}
			if e == nil {
				if err := rc.h.mbx.DeleteItem(rc.ctx, rc.actor(it.Mailbox), it.Mailbox, it.Key, mode); err != nil {
					e = rc.mapErr(err, "ErrorItemNotFound")
				}
			}
		}
		if e != nil {
			writeErrorMessage(w, "DeleteItemResponseMessage", e)
		} else {
			okEmpty(w, "DeleteItemResponseMessage")
		}
	}
	endResponse(w, "DeleteItem")
	return nil
}

// --- MoveItem, CopyItem ---

func opMoveItem(rc *reqCtx, op *node, w *xw) error { return moveOrCopy(rc, op, w, "MoveItem") }
func opCopyItem(rc *reqCtx, op *node, w *xw) error { return moveOrCopy(rc, op, w, "CopyItem") }

func moveOrCopy(rc *reqCtx, op *node, w *xw, name string) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	var to *mailbox.Folder
	var te *ewsErr
	if refs := folderRefs(op.child("ToFolderId")); len(refs) == 1 {
		if to, te = rc.folderRef(refs[0]); te == nil {
			te = rc.check(to.Mailbox, to, rightCreate, false)
		}
	} else {
		te = newErr("ErrorInvalidRequest", name+" needs one ToFolderId.")
	}
	beginResponse(w, name)
	for _, ref := range itemRefs(op.child("ItemIds")) {
		e := te
		var it *mailbox.Item
		if e == nil {
			it, e = rc.itemRef(ref)
		}
		if e == nil {
			e = rc.checkItem(it, rightRead)
		}
		if e == nil && name == "MoveItem" {
			e = rc.checkItem(it, rightDelete)
		}
		var res *mailbox.Item
		var g *roomWrite
		if e == nil {
			g, e = rc.guardCalendarMove(it, to, name == "MoveItem") // calendar_guard.go: a resource's calendar
		}
		if e == nil {
			res, e = rc.moveCopy(it, to, name == "MoveItem")
			g.done(res)
		}
		if e != nil {
			writeErrorMessage(w, name+"ResponseMessage", e)
			continue
		}
		okStart(w, name+"ResponseMessage")
		w.start("m:Items")
		if err := rc.writeItem(w, res, &itemShape{bits: ipItemID}); err != nil {
			return err
		}
		w.end("m:Items")
		w.end("m:" + name + "ResponseMessage")
	}
	endResponse(w, name)
	return nil
}

// moveCopy moves (keeping the id, within a mailbox) or copies an item. A
// move across mailboxes is a copy and a hard delete of the original.
func (rc *reqCtx) moveCopy(it *mailbox.Item, to *mailbox.Folder, move bool) (*mailbox.Item, *ewsErr) {
	if move && it.Mailbox == to.Mailbox {
		res, err := rc.h.mbx.MoveItem(rc.ctx, rc.actor(it.Mailbox), it.Mailbox, it.Key, to.Key)
		if err != nil {
			return nil, rc.mapErr(err, "ErrorItemNotFound")
		}
		return res, nil
	}
	res, err := rc.h.mbx.CopyItem(rc.ctx, rc.actor(to.Mailbox), it.Mailbox, it.Key, to.Mailbox, to.Key)
	if err != nil {
		return nil, rc.mapErr(err, "ErrorItemNotFound")
	}
	if move {
		if err := rc.h.mbx.DeleteItem(rc.ctx, rc.actor(it.Mailbox), it.Mailbox, it.Key, mailbox.HardDelete); err != nil {
			return nil, rc.mapErr(err, "ErrorItemNotFound")
		}
	}
	return res, nil
}

// --- MarkAsJunk ---

func opMarkAsJunk(rc *reqCtx, op *node, w *xw) error {
	isJunk := op.attr("IsJunk") == "true" || op.attr("IsJunk") == "1"
	move := op.attr("MoveItem") == "true" || op.attr("MoveItem") == "1"
	beginResponse(w, "MarkAsJunk")
	for _, ref := range itemRefs(op.child("ItemIds")) {
		it, e := rc.itemRef(ref)
		if e == nil {
			e = rc.checkItem(it, rightEdit)
		}
		var moved *mailbox.Item
		if e == nil && move {
			dest := "inbox"
			if isJunk {
				dest = "junkemail"
			}
			var to *mailbox.Folder
			if to, e = rc.distinguished(it.Mailbox, dest); e == nil && to.Key != it.FolderKey {
				moved, e = rc.moveCopy(it, to, true)
			}
		}
		if e != nil {
			writeErrorMessage(w, "MarkAsJunkResponseMessage", e)
			continue
		}
		okStart(w, "MarkAsJunkResponseMessage")
		if moved != nil {
			w.open("m:MovedItemId")
			w.attr("Id", itemID(moved))
			w.attr("ChangeKey", moved.ChangeKey)
			w.emptyEnd()
		}
		w.end("m:MarkAsJunkResponseMessage")
	}
	endResponse(w, "MarkAsJunk")
	return nil
}

// --- SendItem ---

func opSendItem(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	save := op.attr("SaveItemToFolder") != "false" && op.attr("SaveItemToFolder") != "0"
	var saved *mailbox.Folder
	var se *ewsErr
	if refs := folderRefs(op.child("SavedItemFolderId")); len(refs) > 0 {
		if !save {
			se = newErr("ErrorInvalidSendItemSaveSettings", "SavedItemFolderId cannot be given when SaveItemToFolder is false.")
		} else {
			saved, se = rc.folderRef(refs[0])
		}
	}
	beginResponse(w, "SendItem")
	for _, ref := range itemRefs(op.child("ItemIds")) {
		e := se
		var it *mailbox.Item
		if e == nil {
			it, e = rc.itemRef(ref)
		}
		if e == nil {
			if ck := ref.attr("ChangeKey"); ck != "" && ck != it.ChangeKey {
				e = newErr("ErrorStaleObject", "The change key of the item is not current; get the item again and retry.")
			}
		}
		if e == nil {
			e = rc.checkItem(it, rightRead)
		}
		if e == nil {
			e = rc.sendExisting(it, save, saved)
		}
		if e != nil {
			writeErrorMessage(w, "SendItemResponseMessage", e)
		} else {
			okEmpty(w, "SendItemResponseMessage")
		}
	}
	endResponse(w, "SendItem")
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
