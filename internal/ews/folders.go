package ews

import (
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// distinguishedNames is DistinguishedFolderIdNameType of the current
// schema. A name outside it fails schema validation (a fault); a name in it
// that Actas does not create is a per-item ErrorFolderNotFound.
var distinguishedNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(`calendar contacts deleteditems drafts inbox journal notes outbox sentitems tasks
		msgfolderroot publicfoldersroot root junkemail searchfolders voicemail recoverableitemsroot
		recoverableitemsdeletions recoverableitemsversions recoverableitemspurges recoverableitemsdiscoveryholds
		archiveroot archivemsgfolderroot archivedeleteditems archiveinbox archiverecoverableitemsroot
		archiverecoverableitemsdeletions archiverecoverableitemsversions archiverecoverableitemspurges
		archiverecoverableitemsdiscoveryholds syncissues conflicts localfailures serverfailures recipientcache
		quickcontacts conversationhistory adminauditlogs todosearch mycontacts directory imcontactlist
		peopleconnect favorites mecontact personmetadata teamspaceactivity teamspacemessaging teamspaceworkitems
		scheduled orionnotes tagitems alltaggeditems allcategorizeditems externalcontacts teamchat teamchathistory
		yammerdata yammerroot yammerinbound yammeroutbound yammerfeeds kaizaladata messageingestion onedriveroot
		onedriverecylebin onedrivesystem onedrivevolume important starred archive`) {
		m[n] = true
	}
	return m
}()

// checkDistinguished validates every DistinguishedFolderId of a request
// before anything runs, so a bad name fails the request as a whole.
func checkDistinguished(n *node) *fault {
	if n.Local == "DistinguishedFolderId" {
		if id := n.attr("Id"); !distinguishedNames[id] {
			return &fault{Code: "ErrorSchemaValidation",
				Msg:    "The request failed schema validation: The 'Id' attribute is invalid - The value '" + id + "' is invalid according to its datatype 'http://schemas.microsoft.com/exchange/services/2006/types:DistinguishedFolderIdNameType' - The Enumeration constraint failed.",
				Schema: &schemaInfo{Line: n.Line, Violation: "The 'Id' attribute is invalid - The value '" + id + "' is invalid according to its datatype 'DistinguishedFolderIdNameType' - The Enumeration constraint failed."}}
		}
	}
	for _, c := range n.Children {
		if f := checkDistinguished(c); f != nil {
			return f
		}
	}
	return nil
}

// folderRef resolves a t:FolderId or t:DistinguishedFolderId element.
func (rc *reqCtx) folderRef(n *node) (*mailbox.Folder, *ewsErr) {
	switch n.Local {
	case "FolderId":
		id, e := parseID(n.attr("Id"), mailbox.KindFolder)
		if e != nil {
			return nil, e
		}
		if !rc.mailboxVisible(id.Mailbox) {
			return nil, newErr("ErrorFolderNotFound")
		}
		if err := rc.ensure(id.Mailbox); err != nil {
			return nil, rc.mapErr(err, "ErrorFolderNotFound")
		}
		f, err := rc.h.mbx.Folder(rc.ctx, id.Mailbox, id.Key)
		if err != nil {
			return nil, rc.mapErr(err, "ErrorFolderNotFound")
		}
		return f, nil
	case "DistinguishedFolderId":
		mbx := rc.user.ID
		if m := n.child("Mailbox"); m != nil {
			addr := m.childText("EmailAddress")
			if addr == "" {
				return nil, newErr("ErrorMissingEmailAddress", "The Mailbox element has no EmailAddress.")
			}
			r, e := rc.mailboxByAddress(addr)
			if e != nil {
				return nil, e
			}
			mbx = r.ID
		} else if !rc.user.IsMailbox() {
			return nil, newErr("ErrorMissingEmailAddress")
		}
		if err := rc.ensure(mbx); err != nil {
			return nil, rc.mapErr(err, "ErrorFolderNotFound")
		}
		f, err := rc.h.mbx.Distinguished(rc.ctx, mbx, n.attr("Id"))
		if err != nil {
			return nil, rc.mapErr(err, "ErrorFolderNotFound")
		}
		return f, nil
	}
	return nil, newErr("ErrorInvalidIdMalformed", "Expected FolderId or DistinguishedFolderId, got "+n.Local+".")
}

// folderRefs returns the id elements under a FolderIds-like container.
func folderRefs(container *node) []*node {
	var out []*node
	if container == nil {
		return nil
	}
	for _, c := range container.Children {
		if c.Local == "FolderId" || c.Local == "DistinguishedFolderId" {
			out = append(out, c)
		}
	}
	return out
}

// --- folder shapes ---

const (
	fpFolderID uint32 = 1 << iota
	fpParent
	fpClass
	fpDisplayName
	fpTotal
	fpChildCount
	fpEffectiveRights
	fpPermissionSet
	fpUnread
)

var folderFieldBits = map[string]uint32{
	"folder:FolderId": fpFolderID, "folder:ParentFolderId": fpParent, "folder:FolderClass": fpClass,
	"folder:DisplayName": fpDisplayName, "folder:TotalCount": fpTotal, "folder:ChildFolderCount": fpChildCount,
	"folder:EffectiveRights": fpEffectiveRights, "folder:PermissionSet": fpPermissionSet, "folder:UnreadCount": fpUnread,
}

func parseFolderShape(n *node) uint32 {
	var bits uint32
	switch n.childText("BaseShape") {
	case "Default":
		bits = fpFolderID | fpDisplayName | fpTotal | fpChildCount | fpUnread
	case "AllProperties":
		bits = fpFolderID | fpParent | fpClass | fpDisplayName | fpTotal | fpChildCount | fpEffectiveRights | fpUnread
	default:
		bits = fpFolderID
	}
	for _, p := range n.child("AdditionalProperties").all("FieldURI") {
		bits |= folderFieldBits[p.attr("FieldURI")]
	}
	return bits
}

func folderElement(f *mailbox.Folder) string {
	switch {
	case strings.HasPrefix(f.Class, "IPF.Appointment"):
		return "t:CalendarFolder"
	case strings.HasPrefix(f.Class, "IPF.Contact"):
		return "t:ContactsFolder"
	case strings.HasPrefix(f.Class, "IPF.Task"):
		return "t:TasksFolder"
	}
	return "t:Folder"
}

// writeFolder writes one folder in schema order with the properties in bits.
func (rc *reqCtx) writeFolder(w *xw, f *mailbox.Folder, bits uint32) error {
	el := folderElement(f)
	w.start(el)
	if bits&fpFolderID != 0 {
		w.open("t:FolderId")
		w.attr("Id", folderID(f))
		w.attr("ChangeKey", f.ChangeKey)
		w.emptyEnd()
	}
	if bits&fpParent != 0 && f.ParentKey != 0 {
		w.open("t:ParentFolderId")
		w.attr("Id", encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: f.Mailbox, Key: f.ParentKey}))
		w.emptyEnd()
	}
	// A folder created without FolderClass has none, as in Exchange
	// (exchangelib checks that a refreshed generic Folder is still generic).
	if bits&fpClass != 0 && f.Class != "" {
		w.elem("t:FolderClass", f.Class)
	}
	if bits&fpDisplayName != 0 {
		w.elem("t:DisplayName", f.DisplayName)
	}
	if bits&fpTotal != 0 {
		w.elemInt("t:TotalCount", int64(f.TotalCount))
	}
	if bits&fpChildCount != 0 {
		w.elemInt("t:ChildFolderCount", int64(f.ChildFolderCount))
	}
	var g grant
	if bits&(fpEffectiveRights) != 0 {
		var err error
		if g, err = rc.grantFor(f.Mailbox, f); err != nil {
			return err
		}
		w.start("t:EffectiveRights")
		w.elemBool("t:CreateAssociated", g.can(rightOwner, false))
		w.elemBool("t:CreateContents", g.can(rightCreate, false))
		w.elemBool("t:CreateHierarchy", g.can(rightCreateSub, false))
		w.elemBool("t:Delete", g.can(rightOwner, false))
		w.elemBool("t:Modify", g.can(rightOwner, false))
		w.elemBool("t:Read", g.can(rightRead, false))
		w.elemBool("t:ViewPrivateItems", g.full)
		w.end("t:EffectiveRights")
	}
	if bits&fpPermissionSet != 0 {
		perms, err := rc.h.mbx.Permissions(rc.ctx, f.Mailbox, f.Key)
		if err != nil {
			return err
		}
		rc.writePermissionSet(w, f, perms)
	}
	if bits&fpUnread != 0 && el != "t:CalendarFolder" && el != "t:ContactsFolder" {
		w.elemInt("t:UnreadCount", int64(f.UnreadCount))
	}
	w.end(el)
	return nil
}

// --- GetFolder ---

func opGetFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	bits := parseFolderShape(op.child("FolderShape"))
	beginResponse(w, "GetFolder")
	for _, ref := range folderRefs(op.child("FolderIds")) {
		f, e := rc.folderRef(ref)
		if e == nil {
			e = rc.check(f.Mailbox, f, rightVisible, false)
		}
		if e != nil {
			writeErrorMessage(w, "GetFolderResponseMessage", e)
			continue
		}
		okStart(w, "GetFolderResponseMessage")
		w.start("m:Folders")
		if err := rc.writeFolder(w, f, bits); err != nil {
			return err
		}
		w.end("m:Folders")
		w.end("m:GetFolderResponseMessage")
	}
	endResponse(w, "GetFolder")
	return nil
}

// --- FindFolder ---

type pageView struct {
	max        int // 0 = unlimited
	offset     int
	fromEnd    bool
	fractNum   int
	fractDen   int
	fractional bool
}

func parsePageView(n *node) pageView {
	var v pageView
	if n == nil {
		return v
	}
	v.max, _ = strconv.Atoi(n.attr("MaxEntriesReturned"))
	if v.max < 0 {
		v.max = 0
	}
	if strings.HasPrefix(n.Local, "Fractional") {
		v.fractional = true
		v.fractNum, _ = strconv.Atoi(n.attr("Numerator"))
		v.fractDen, _ = strconv.Atoi(n.attr("Denominator"))
		if v.fractDen <= 0 {
			v.fractDen = 1
		}
	} else {
		v.offset, _ = strconv.Atoi(n.attr("Offset"))
		if v.offset < 0 {
			v.offset = 0
		}
	}
	v.fromEnd = n.attr("BasePoint") == "End"
	return v
}

// window applies a page view to a total count and returns [lo, hi).
func (v pageView) window(total int) (lo, hi int) {
	off := v.offset
	if v.fractional {
		off = total * v.fractNum / v.fractDen
	}
	if off > total {
		off = total
	}
	n := total - off
	if v.max > 0 && n > v.max {
		n = v.max
	}
	if v.fromEnd {
		return total - off - n, total - off
	}
	return off, off + n
}

func writeRootFolderAttrs(w *xw, v pageView, lo, hi, total int) {
	next := hi
	if v.fromEnd {
		next = total - lo
	}
	if v.fractional {
		w.attr("NumeratorOffset", strconv.Itoa(hi))
		w.attr("AbsoluteDenominator", strconv.Itoa(total))
	} else {
		w.attr("IndexedPagingOffset", strconv.Itoa(next))
	}
	w.attr("TotalItemsInView", strconv.Itoa(total))
	w.attr("IncludesLastItemInRange", strconv.FormatBool(hi >= total))
}

func opFindFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	trav := op.attr("Traversal")
	if trav != "Shallow" && trav != "Deep" && trav != "SoftDeleted" && trav != "" {
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: Traversal '" + trav + "' is invalid."}
	}
	bits := parseFolderShape(op.child("FolderShape"))
	view := parsePageView(op.child("IndexedPageFolderView"))
	if fv := op.child("FractionalPageFolderView"); fv != nil {
		view = parsePageView(fv)
	}
	var restr *restriction
	if rn := op.child("Restriction"); rn != nil && len(rn.Children) > 0 {
		var e *ewsErr
		if restr, e = compileRestriction(rn.Children[0], folderFieldKind); e != nil {
			beginResponse(w, "FindFolder")
			for range folderRefs(op.child("ParentFolderIds")) {
				writeErrorMessage(w, "FindFolderResponseMessage", e)
			}
			endResponse(w, "FindFolder")
			return nil
		}
	}
	beginResponse(w, "FindFolder")
	for _, ref := range folderRefs(op.child("ParentFolderIds")) {
		parent, e := rc.folderRef(ref)
		if e == nil {
			e = rc.check(parent.Mailbox, parent, rightVisible, false)
		}
		var list []*mailbox.Folder
		if e == nil && trav != "SoftDeleted" {
			all, err := rc.h.mbx.Children(rc.ctx, parent.Mailbox, parent.Key, trav == "Deep")
			if err != nil {
				e = rc.mapErr(err, "ErrorFolderNotFound")
			}
			full := parent.Mailbox == rc.user.ID
			if !full && e == nil {
				g, err := rc.grantFor(parent.Mailbox, nil)
				if err != nil {
					return err
				}
				full = g.full
			}
			for _, f := range all {
				if !full {
					g, err := rc.grantFor(f.Mailbox, f)
					if err != nil {
						return err
					}
					if !g.can(rightVisible, false) {
						continue
					}
				}
				if restr != nil && !restr.eval(folderGetter(f)) {
					continue
				}
				list = append(list, f)
			}
		}
		if e != nil {
			writeErrorMessage(w, "FindFolderResponseMessage", e)
			continue
		}
		lo, hi := view.window(len(list))
		okStart(w, "FindFolderResponseMessage")
		w.open("m:RootFolder")
		writeRootFolderAttrs(w, view, lo, hi, len(list))
		w.openEnd()
		w.start("t:Folders")
		for _, f := range list[lo:hi] {
			if err := rc.writeFolder(w, f, bits); err != nil {
				return err
			}
		}
		w.end("t:Folders")
		w.end("m:RootFolder")
		w.end("m:FindFolderResponseMessage")
	}
	endResponse(w, "FindFolder")
	return nil
}

// --- CreateFolder ---

var folderClassByElement = map[string]string{
	"Folder": "", "CalendarFolder": "IPF.Appointment", "ContactsFolder": "IPF.Contact", "TasksFolder": "IPF.Task",
}

func opCreateFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	refs := folderRefs(op.child("ParentFolderId"))
	var parent *mailbox.Folder
	var pe *ewsErr
	if len(refs) != 1 {
		pe = newErr("ErrorInvalidRequest", "CreateFolder needs exactly one ParentFolderId.")
	} else if parent, pe = rc.folderRef(refs[0]); pe == nil {
		pe = rc.check(parent.Mailbox, parent, rightCreateSub, false)
	}
	beginResponse(w, "CreateFolder")
	for _, fn := range op.child("Folders").kids() {
		if pe != nil {
			writeErrorMessage(w, "CreateFolderResponseMessage", pe)
			continue
		}
		class, known := folderClassByElement[fn.Local]
		if !known {
			writeErrorMessage(w, "CreateFolderResponseMessage", newErr("ErrorInvalidOperation", fn.Local+" folders are not supported by this server."))
			continue
		}
		if c := fn.childText("FolderClass"); c != "" {
			class = c
		}
		name := fn.childText("DisplayName")
		if name == "" {
			writeErrorMessage(w, "CreateFolderResponseMessage", newErr("ErrorInvalidPropertySet", "A folder needs a DisplayName."))
			continue
		}
		f, err := rc.h.mbx.CreateFolder(rc.ctx, rc.actor(parent.Mailbox), parent.Mailbox, parent.Key, name, class)
		if err != nil {
			writeErrorMessage(w, "CreateFolderResponseMessage", rc.mapErr(err, "ErrorFolderNotFound"))
			continue
		}
		okStart(w, "CreateFolderResponseMessage")
		w.start("m:Folders")
		if err := rc.writeFolder(w, f, fpFolderID); err != nil {
			return err
		}
		w.end("m:Folders")
		w.end("m:CreateFolderResponseMessage")
	}
	endResponse(w, "CreateFolder")
	return nil
}

// --- UpdateFolder ---

func opUpdateFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	beginResponse(w, "UpdateFolder")
	for _, ch := range op.child("FolderChanges").all("FolderChange") {
		f, e := rc.updateFolder(ch)
		if e != nil {
			writeErrorMessage(w, "UpdateFolderResponseMessage", e)
			continue
		}
		okStart(w, "UpdateFolderResponseMessage")
		w.start("m:Folders")
		if err := rc.writeFolder(w, f, fpFolderID); err != nil {
			return err
		}
		w.end("m:Folders")
		w.end("m:UpdateFolderResponseMessage")
	}
	endResponse(w, "UpdateFolder")
	return nil
}

func (rc *reqCtx) updateFolder(ch *node) (*mailbox.Folder, *ewsErr) {
	refs := folderRefs(ch)
	if len(refs) != 1 {
		return nil, newErr("ErrorInvalidRequest", "A FolderChange needs one FolderId or DistinguishedFolderId.")
	}
	f, e := rc.folderRef(refs[0])
	if e != nil {
		return nil, e
	}
	if e := rc.check(f.Mailbox, f, rightOwner, false); e != nil {
		return nil, e
	}
	for _, u := range ch.child("Updates").kids() {
		uri := u.child("FieldURI").attr("FieldURI")
		var value *node
		for _, c := range u.Children {
			if _, ok := folderClassByElement[c.Local]; ok {
				value = c
			}
		}
		switch {
		case u.Local == "SetFolderField" && uri == "folder:DisplayName":
			name := value.childText("DisplayName")
			if name == "" {
				return nil, newErr("ErrorInvalidPropertySet", "DisplayName cannot be empty.")
			}
			nf, err := rc.h.mbx.RenameFolder(rc.ctx, rc.actor(f.Mailbox), f.Mailbox, f.Key, name)
			if err != nil {
				return nil, rc.mapErr(err, "ErrorFolderNotFound")
			}
			f = nf
		case u.Local == "SetFolderField" && uri == "folder:PermissionSet":
			perms, e := rc.parsePermissionSet(value.child("PermissionSet"), f)
			if e != nil {
				return nil, e
			}
			if err := rc.h.mbx.SetPermissions(rc.ctx, rc.actor(f.Mailbox), f.Mailbox, f.Key, perms); err != nil {
				return nil, rc.mapPermErr(err)
			}
		case u.Local == "DeleteFolderField" && uri == "folder:PermissionSet":
			if err := rc.h.mbx.SetPermissions(rc.ctx, rc.actor(f.Mailbox), f.Mailbox, f.Key, nil); err != nil {
				return nil, rc.mapPermErr(err)
			}
		case u.Local == "AppendToFolderField":
			return nil, newErr("ErrorInvalidPropertyAppend", "Appending to "+uri+" is not supported.")
		default:
			return nil, newErr("ErrorInvalidPropertySet", "Updating "+uri+" is not supported by this server.")
		}
	}
	nf, err := rc.h.mbx.Folder(rc.ctx, f.Mailbox, f.Key)
	if err != nil {
		return nil, rc.mapErr(err, "ErrorFolderNotFound")
	}
	return nf, nil
}

// --- DeleteFolder, EmptyFolder, MoveFolder ---

func deleteMode(s string) (mailbox.DeleteMode, *fault) {
	switch s {
	case "HardDelete":
		return mailbox.HardDelete, nil
	case "SoftDelete":
		return mailbox.SoftDelete, nil
	case "MoveToDeletedItems":
		return mailbox.MoveToDeletedItems, nil
	}
	return "", &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: DeleteType '" + s + "' is invalid."}
}

func opDeleteFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	mode, f := deleteMode(op.attr("DeleteType"))
	if f != nil {
		return f
	}
	beginResponse(w, "DeleteFolder")
	for _, ref := range folderRefs(op.child("FolderIds")) {
		fo, e := rc.folderRef(ref)
		if e == nil {
			e = rc.check(fo.Mailbox, fo, rightOwner, false)
		}
		if e == nil {
			if fo.Distinguished != "" {
				e = newErr("ErrorDeleteDistinguishedFolder")
			} else if err := rc.h.mbx.DeleteFolder(rc.ctx, rc.actor(fo.Mailbox), fo.Mailbox, fo.Key, mode); err != nil {
				e = rc.mapErr(err, "ErrorFolderNotFound")
			}
		}
		if e != nil {
			writeErrorMessage(w, "DeleteFolderResponseMessage", e)
		} else {
			okEmpty(w, "DeleteFolderResponseMessage")
		}
	}
	endResponse(w, "DeleteFolder")
	return nil
}

func opEmptyFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	mode, f := deleteMode(op.attr("DeleteType"))
	if f != nil {
		return f
	}
	subs := op.attr("DeleteSubFolders") == "true" || op.attr("DeleteSubFolders") == "1"
	beginResponse(w, "EmptyFolder")
	for _, ref := range folderRefs(op.child("FolderIds")) {
		fo, e := rc.folderRef(ref)
		if e == nil {
			e = rc.check(fo.Mailbox, fo, rightDelete, false)
			if e == nil && subs {
				e = rc.check(fo.Mailbox, fo, rightOwner, false)
			}
		}
		if e == nil {
			if err := rc.h.mbx.EmptyFolder(rc.ctx, rc.actor(fo.Mailbox), fo.Mailbox, fo.Key, mode, subs); err != nil {
				e = rc.mapErr(err, "ErrorFolderNotFound")
			}
		}
		if e != nil {
			writeErrorMessage(w, "EmptyFolderResponseMessage", e)
		} else {
			okEmpty(w, "EmptyFolderResponseMessage")
		}
	}
	endResponse(w, "EmptyFolder")
	return nil
}

func opMoveFolder(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	var to *mailbox.Folder
	var te *ewsErr
	if refs := folderRefs(op.child("ToFolderId")); len(refs) == 1 {
		if to, te = rc.folderRef(refs[0]); te == nil {
			te = rc.check(to.Mailbox, to, rightCreateSub, false)
		}
	} else {
		te = newErr("ErrorInvalidRequest", "MoveFolder needs one ToFolderId.")
	}
	beginResponse(w, "MoveFolder")
	for _, ref := range folderRefs(op.child("FolderIds")) {
		e := te
		var fo *mailbox.Folder
		if e == nil {
			fo, e = rc.folderRef(ref)
		}
		if e == nil {
			e = rc.check(fo.Mailbox, fo, rightOwner, false)
		}
		if e == nil && fo.Mailbox != to.Mailbox {
			e = newErr("ErrorCrossMailboxMoveCopy", "Folders cannot be moved between mailboxes.")
		}
		if e == nil {
			nf, err := rc.h.mbx.MoveFolder(rc.ctx, rc.actor(fo.Mailbox), fo.Mailbox, fo.Key, to.Key)
			if err != nil {
				e = rc.mapErr(err, "ErrorFolderNotFound")
			} else {
				fo = nf
			}
		}
		if e != nil {
			writeErrorMessage(w, "MoveFolderResponseMessage", e)
			continue
		}
		okStart(w, "MoveFolderResponseMessage")
		w.start("m:Folders")
		if err := rc.writeFolder(w, fo, fpFolderID); err != nil {
			return err
		}
		w.end("m:Folders")
		w.end("m:MoveFolderResponseMessage")
	}
	endResponse(w, "MoveFolder")
	return nil
}

// --- permissions ---

// permissionFields are the elements a Permission or CalendarPermission may hold.
var permissionFields = map[string]bool{
	"UserId": true, "CanCreateItems": true, "CanCreateSubFolders": true, "IsFolderOwner": true, "IsFolderVisible": true,
	"IsFolderContact": true, "EditItems": true, "DeleteItems": true, "ReadItems": true,
	"PermissionLevel": true, "CalendarPermissionLevel": true,
}

func isCalendar(f *mailbox.Folder) bool { return strings.HasPrefix(f.Class, "IPF.Appointment") }

func (rc *reqCtx) writePermissionSet(w *xw, f *mailbox.Folder, perms []mailbox.Permission) {
	cal := isCalendar(f)
	list, entry, levelEl := "t:Permissions", "t:Permission", "t:PermissionLevel"
	if cal {
		list, entry, levelEl = "t:CalendarPermissions", "t:CalendarPermission", "t:CalendarPermissionLevel"
	}
	users := map[string]*directory.Recipient{}
	_ = rc.h.dir.Read(func(s *directory.State) error {
		for _, p := range perms {
			if r := s.Recipient(p.User); r != nil {
				users[p.User] = r
			}
		}
		return nil
	})
	w.start("t:PermissionSet")
	w.start(list)
	for _, p := range perms {
		w.start(entry)
		w.start("t:UserId")
		if r := users[p.User]; r != nil {
			if r.SID != "" {
				w.elem("t:SID", r.SID)
			}
			w.elem("t:PrimarySmtpAddress", r.PrimarySmtpAddress)
			w.elem("t:DisplayName", displayName(r))
		} else if strings.EqualFold(p.User, "Default") || strings.EqualFold(p.User, "Anonymous") {
			w.elem("t:DistinguishedUser", strings.ToUpper(p.User[:1])+strings.ToLower(p.User[1:]))
		} else {
			w.elem("t:DisplayName", p.User)
		}
		w.end("t:UserId")
		p = p.Normalize()
		w.elemBool("t:CanCreateItems", p.CanCreateItems)
		w.elemBool("t:CanCreateSubFolders", p.CanCreateSubFolders)
		w.elemBool("t:IsFolderOwner", p.IsFolderOwner)
		w.elemBool("t:IsFolderVisible", p.IsFolderVisible)
		w.elemBool("t:IsFolderContact", p.IsFolderContact)
		w.elem("t:EditItems", p.EditItems)
		w.elem("t:DeleteItems", p.DeleteItems)
		w.elem("t:ReadItems", p.ReadItems)
		level := p.Level
		if !cal && strings.HasPrefix(level, "FreeBusy") {
			level = "Custom"
		}
		w.elem(levelEl, level)
		w.end(entry)
	}
	w.end(list)
	w.end("t:PermissionSet")
}

// parsePermissionSet reads a PermissionSet (plain or calendar) into ACEs.
func (rc *reqCtx) parsePermissionSet(n *node, f *mailbox.Folder) ([]mailbox.Permission, *ewsErr) {
	if n == nil {
		return nil, newErr("ErrorInvalidPropertySet", "SetFolderField folder:PermissionSet needs a PermissionSet.")
	}
	// Strict about names: a permission set the server misreads would
	// silently replace the folder's ACL with something else.
	var list *node
	for _, k := range n.kids() {
		switch k.Local {
		case "Permissions", "CalendarPermissions":
			if list != nil {
				return nil, newErr("ErrorInvalidPermissionSettings", "A PermissionSet holds one Permissions or CalendarPermissions list.")
			}
			list = k
		case "UnknownEntries":
		default:
			return nil, newErr("ErrorInvalidPermissionSettings", "The PermissionSet contains the unexpected element "+k.Local+"; nothing was changed.")
		}
	}
	if list == nil {
		return nil, newErr("ErrorInvalidPermissionSettings", "The PermissionSet has no Permissions list; nothing was changed. (To remove every entry use DeleteFolderField folder:PermissionSet.)")
	}
	entryEl, levelEl := "Permission", "PermissionLevel"
	if list.Local == "CalendarPermissions" {
		entryEl, levelEl = "CalendarPermission", "CalendarPermissionLevel"
	}
	var entries []*node
	for _, k := range list.kids() {
		if k.Local != entryEl {
			return nil, newErr("ErrorInvalidPermissionSettings", "The "+list.Local+" list contains the unexpected element "+k.Local+"; nothing was changed.")
		}
		for _, f := range k.kids() {
			if !permissionFields[f.Local] || (f.Local != levelEl && strings.HasSuffix(f.Local, "PermissionLevel")) {
				return nil, newErr("ErrorInvalidPermissionSettings", "A "+entryEl+" contains the unexpected element "+f.Local+"; nothing was changed.")
			}
		}
		if k.child("UserId") == nil {
			return nil, newErr("ErrorInvalidPermissionSettings", "A "+entryEl+" has no UserId; nothing was changed.")
		}
		entries = append(entries, k)
	}
	var out []mailbox.Permission
	seen := map[string]bool{}
	for _, e := range entries {
		uid := e.child("UserId")
		var user string
		if du := uid.childText("DistinguishedUser"); du != "" {
			if du != "Default" && du != "Anonymous" {
				return nil, newErr("ErrorInvalidUserInfo", "Unknown distinguished user "+du+".")
			}
			user = du
		} else {
			var r *directory.Recipient
			_ = rc.h.dir.Read(func(s *directory.State) error {
				if v := uid.childText("PrimarySmtpAddress"); v != "" {
					r = s.RecipientBySMTP(v)
				} else if v := uid.childText("SID"); v != "" {
					r = s.RecipientBySID(v)
				}
				return nil
			})
			if r == nil || r.Org != rc.user.Org || !r.IsSecurityPrincipal() {
				return nil, newErr("ErrorInvalidUserInfo", "A permission entry names a user that does not exist.")
			}
			user = r.ID
		}
		if seen[strings.ToLower(user)] {
			return nil, newErr("ErrorDuplicateUserIdsSpecified", "A user appears more than once in the permission set.")
		}
		seen[strings.ToLower(user)] = true
		level := e.childText(levelEl)
		var p mailbox.Permission
		if l, ok := mailbox.LevelRights(level); ok {
			if strings.HasPrefix(l.Level, "FreeBusy") && !isCalendar(f) {
				return nil, newErr("ErrorCannotSetCalendarPermissionOnNonCalendarFolder", "Free/busy permission levels can only be set on calendar folders.")
			}
			p = l
		} else {
			if level != "" && level != "Custom" {
				return nil, newErr("ErrorInvalidPermissionSettings", "Unknown permission level "+level+".")
			}
			p = mailbox.Permission{
				CanCreateItems:      e.childText("CanCreateItems") == "true",
				CanCreateSubFolders: e.childText("CanCreateSubFolders") == "true",
				IsFolderOwner:       e.childText("IsFolderOwner") == "true",
				IsFolderVisible:     e.childText("IsFolderVisible") == "true",
				IsFolderContact:     e.childText("IsFolderContact") == "true",
				EditItems:           e.childText("EditItems"),
				DeleteItems:         e.childText("DeleteItems"),
				ReadItems:           e.childText("ReadItems"),
			}.Normalize()
		}
		p.User = user
		out = append(out, p)
	}
	return out, nil
}

func (rc *reqCtx) mapPermErr(err error) *ewsErr {
	return rc.mapErr(err, "ErrorFolderNotFound")
}

func displayName(r *directory.Recipient) string {
	if r.DisplayName != "" {
		return r.DisplayName
	}
	return r.Name
}
