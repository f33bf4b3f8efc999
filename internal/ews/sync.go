package ews

// SyncFolderItems and SyncFolderHierarchy over the mailbox change journal.
//
// A SyncState names a position in the mailbox's journal: "the client has
// seen this folder (or folder tree) as of journal sequence S". A page is the
// journal rows after S, collapsed per item: for each item touched in the
// rows (S, S'] the page compares "in the folder at S" with "in the folder
// at S'" (both read from the rows themselves) and emits at most one change:
// Create, Delete, ReadFlagChange (only read-flag rows) or Update. The next
// state is S'. Because S' is always a row boundary and every row ≤ S' has
// been accounted for, no change is skipped or repeated across pages, also
// while the mailbox changes. A move changes an item's folder, never its id,
// so it is a Delete in the old folder's sync and a Create with the same id
// in the new folder's.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/actasmail/actas/internal/mailbox"
)

// SyncState wire format (then standard base64):
//
//	byte    version (1)
//	byte    kind: 'I' (SyncFolderItems) or 'H' (SyncFolderHierarchy)
//	[16]    mailbox GUID
//	uvarint folder key (the sync folder; the hierarchy root)
//	uvarint journal sequence
//	[8]     truncated SHA-256 of the above under a fixed domain tag
//
// 30-40 bytes whatever the mailbox size. The checksum detects corruption
// and truncation; it is not a secret (a client that forges a sequence only
// gets the journal it may read anyway). A token for another mailbox,
// folder or operation is "foreign" and, like a corrupt one, is answered
// with ErrorInvalidSyncStateData.
const syncStateVersion = 1

var errBadSyncState = errors.New("invalid sync state")

type syncState struct {
	Kind    byte
	Mailbox string
	Folder  int64
	Seq     int64
}

func syncSum(b []byte) []byte {
	h := sha256.New()
	h.Write([]byte("actas-syncstate-v1\x00"))
	h.Write(b)
	return h.Sum(nil)[:8]
}

func encodeSyncState(s syncState) string {
	guid := mailbox.EncodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: s.Mailbox, Key: 1})
	raw, err := base64.StdEncoding.DecodeString(guid)
	if err != nil || len(raw) < 18 {
		return ""
	}
	b := []byte{syncStateVersion, s.Kind}
	b = append(b, raw[2:18]...)
	b = binary.AppendUvarint(b, uint64(s.Folder))
	b = binary.AppendUvarint(b, uint64(s.Seq))
	b = append(b, syncSum(b)...)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeSyncState(v string) (syncState, error) {
	if len(v) > 128 {
		return syncState{}, errBadSyncState
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < 2+16+2+8 || b[0] != syncStateVersion {
		return syncState{}, errBadSyncState
	}
	body, sum := b[:len(b)-8], b[len(b)-8:]
	if string(syncSum(body)) != string(sum) {
		return syncState{}, errBadSyncState
	}
	s := syncState{Kind: body[1]}
	// Reuse the id codec for the GUID's text form.
	idb := append([]byte{1, mailbox.KindFolder}, body[2:18]...)
	idb = binary.AppendUvarint(idb, 1)
	id, err := mailbox.DecodeID(base64.StdEncoding.EncodeToString(idb))
	if err != nil {
		return syncState{}, errBadSyncState
	}
	s.Mailbox = id.Mailbox
	rest := body[18:]
	f, n := binary.Uvarint(rest)
	if n <= 0 {
		return syncState{}, errBadSyncState
	}
	rest = rest[n:]
	seq, n := binary.Uvarint(rest)
	if n <= 0 || n != len(rest) || f > 1<<62 || seq > 1<<62 {
		return syncState{}, errBadSyncState
	}
	s.Folder, s.Seq = int64(f), int64(seq)
	return s, nil
}

// Page limits.
const (
	maxSyncChanges = 512
	// syncScanRows bounds the journal rows one request reads: a folder that
	// is quiet in a busy mailbox gets a page with no changes (and a later
	// state) rather than a request that reads the whole journal.
	syncScanRows = 20000
	syncBatch    = 1000
)

// itemDelta is one item's net change over a page.
type itemDelta struct {
	key           int64
	before, after bool // in the folder at S, at S'
	readOnly      bool // every row was a read-flag change
	order         int
}

// collapseItems walks journal rows after the state's sequence for folder
// and returns the net changes of at most max distinct items, the sequence
// the page ends at, and whether the page reached the journal's end. more
// reports whether rows remain after the ones given (the caller's scan
// limit or batch), so "end" is only claimed when none do.
func collapseItems(rows []mailbox.Change, folder int64, after int64, max int, more bool) ([]*itemDelta, int64, bool) {
	deltas := map[int64]*itemDelta{}
	var order []*itemDelta
	end := after
	for _, c := range rows {
		if c.ItemKey == 0 {
			end = c.Seq
			continue
		}
		switch c.Op {
		case mailbox.OpCreate, mailbox.OpCopy, mailbox.OpUpdate, mailbox.OpReadFlag, mailbox.OpMove, mailbox.OpDelete:
		default:
			end = c.Seq
			continue
		}
		relevant := c.FolderKey == folder || (c.Op == mailbox.OpMove && c.OldFolderKey == folder)
		d := deltas[c.ItemKey]
		if d == nil {
			if !relevant {
				end = c.Seq
				continue
			}
			if len(order) >= max {
				return order, end, false
			}
			d = &itemDelta{key: c.ItemKey, readOnly: true, order: len(order)}
			switch c.Op {
			case mailbox.OpCreate, mailbox.OpCopy:
				d.before = false
			case mailbox.OpMove:
				d.before = c.OldFolderKey == folder
			default:
				d.before = c.FolderKey == folder
			}
			deltas[c.ItemKey] = d
			order = append(order, d)
		}
		switch c.Op {
		case mailbox.OpDelete:
			d.after = false
		default:
			d.after = c.FolderKey == folder
		}
		if c.Op != mailbox.OpReadFlag {
			d.readOnly = false
		}
		end = c.Seq
	}
	return order, end, !more
}

func opSyncFolderItems(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	sh := parseItemShape(op.child("ItemShape"), true)
	max := maxSyncChanges
	if v := op.childText("MaxChangesReturned"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSyncChanges {
			return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: MaxChangesReturned must be between 1 and 512.",
				Schema: &schemaInfo{Line: op.child("MaxChangesReturned").Line, Violation: "MaxChangesReturned must be an integer from 1 to 512."}}
		}
		max = n
	}
	ignore := map[int64]bool{}
	for _, ref := range op.child("Ignore").all("ItemId") {
		if id, e := parseID(ref.attr("Id"), mailbox.KindItem); e == nil {
			ignore[id.Key] = true
		}
	}
	scope := op.childText("SyncScope")
	if scope != "" && scope != "NormalItems" && scope != "NormalAndAssociatedItems" {
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: SyncScope '" + scope + "' is invalid."}
	}
	beginResponse(w, "SyncFolderItems")
	defer endResponse(w, "SyncFolderItems")
	const name = "SyncFolderItemsResponseMessage"
	refs := folderRefs(op.child("SyncFolderId"))
	if len(refs) != 1 {
		syncError(w, name, newErr("ErrorSyncFolderNotFound", "SyncFolderId must name exactly one folder."))
		return nil
	}
	f, e := rc.folderRef(refs[0])
	if e != nil {
		if e.Code == "ErrorFolderNotFound" {
			e = newErr("ErrorSyncFolderNotFound", "The sync folder could not be found.")
		}
		syncError(w, name, e)
		return nil
	}
	if e := rc.check(f.Mailbox, f, rightRead, false); e != nil {
		syncError(w, name, e)
		return nil
	}
	var after int64
	if v := op.childText("SyncState"); v != "" {
		st, err := decodeSyncState(v)
		if err != nil || st.Kind != 'I' || st.Mailbox != f.Mailbox || st.Folder != f.Key {
			syncError(w, name, newErr("ErrorInvalidSyncStateData", "The synchronization state data is corrupt or otherwise invalid (or belongs to another folder)."))
			return nil
		}
		after = st.Seq
	}
	deltas, end, last, err := rc.syncItemsPage(f, after, max)
	if err != nil {
		syncError(w, name, rc.mapErr(err, "ErrorSyncFolderNotFound"))
		return nil
	}
	okStart(w, name)
	w.elem("m:SyncState", encodeSyncState(syncState{Kind: 'I', Mailbox: f.Mailbox, Folder: f.Key, Seq: end}))
	w.elemBool("m:IncludesLastItemInRange", last)
	w.start("m:Changes")
	// Newest first, as Exchange does since 2010 SP2.
	for i := len(deltas) - 1; i >= 0; i-- {
		d := deltas[i]
		if ignore[d.key] {
			continue
		}
		id := encodeID(mailbox.ID{Kind: mailbox.KindItem, Mailbox: f.Mailbox, Key: d.key})
		switch {
		case !d.before && !d.after:
		case d.before && !d.after:
			w.start("t:Delete")
			w.open("t:ItemId")
			w.attr("Id", id)
			w.emptyEnd()
			w.end("t:Delete")
		default:
			it, err := rc.h.mbx.Item(rc.ctx, f.Mailbox, d.key)
			if err != nil {
				if !errors.Is(err, mailbox.ErrNotFound) {
					return err
				}
				// Deleted after S': a later page reports the Delete. An
				// update needs nothing now; a create is reported with the
				// id alone, so that Delete is of an item the client has.
				if !d.before {
					w.start("t:Create")
					w.start("t:Message")
					w.open("t:ItemId")
					w.attr("Id", id)
					w.emptyEnd()
					w.end("t:Message")
					w.end("t:Create")
				}
				continue
			}
			if d.before && d.readOnly {
				w.start("t:ReadFlagChange")
				w.open("t:ItemId")
				w.attr("Id", id)
				w.attr("ChangeKey", it.ChangeKey)
				w.emptyEnd()
				w.elemBool("t:IsRead", it.IsRead)
				w.end("t:ReadFlagChange")
				continue
			}
			tag := "t:Update"
			if !d.before {
				tag = "t:Create"
			}
			w.start(tag)
			if err := rc.writeItem(w, it, &sh); err != nil {
				return err
			}
			w.end(tag)
		}
	}
	w.end("m:Changes")
	w.end("m:" + name)
	return nil
}

// syncItemsPage reads journal rows in batches until a page is full, the
// journal ends or syncScanRows rows were read.
func (rc *reqCtx) syncItemsPage(f *mailbox.Folder, after int64, max int) ([]*itemDelta, int64, bool, error) {
	var rows []mailbox.Change
	cur := after
	more := false
	for len(rows) < syncScanRows {
		batch, err := rc.h.mbx.Journal(rc.ctx, f.Mailbox, cur, syncBatch)
		if err != nil {
			return nil, 0, false, err
		}
		rows = append(rows, batch...)
		if len(batch) < syncBatch {
			more = false
			break
		}
		more = true
		cur = batch[len(batch)-1].Seq
		// Stop early once enough distinct items are touched.
		if d, _, _ := collapseItems(rows, f.Key, after, max, true); len(d) >= max {
			break
		}
	}
	deltas, end, last := collapseItems(rows, f.Key, after, max, more)
	if !last {
		// The page ended early (full): only the rows up to end are
		// accounted for.
		return deltas, end, false, nil
	}
	return deltas, end, true, nil
}

// --- SyncFolderHierarchy ---

type folderDelta struct {
	key           int64
	before, after bool
}

func opSyncFolderHierarchy(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	bits := parseFolderShape(op.child("FolderShape"))
	beginResponse(w, "SyncFolderHierarchy")
	defer endResponse(w, "SyncFolderHierarchy")
	const name = "SyncFolderHierarchyResponseMessage"
	var root *mailbox.Folder
	var e *ewsErr
	if refs := folderRefs(op.child("SyncFolderId")); len(refs) > 0 {
		root, e = rc.folderRef(refs[0])
	} else {
		if !rc.user.IsMailbox() {
			e = newErr("ErrorMissingEmailAddress")
		} else if err := rc.ensure(rc.user.ID); err != nil {
			e = rc.mapErr(err, "ErrorFolderNotFound")
		} else {
			var err error
			if root, err = rc.h.mbx.Distinguished(rc.ctx, rc.user.ID, "msgfolderroot"); err != nil {
				e = rc.mapErr(err, "ErrorFolderNotFound")
			}
		}
	}
	if e == nil {
		e = rc.check(root.Mailbox, root, rightVisible, false)
	}
	if e != nil {
		syncError(w, name, e)
		return nil
	}
	var after int64
	if v := op.childText("SyncState"); v != "" {
		st, err := decodeSyncState(v)
		if err != nil || st.Kind != 'H' || st.Mailbox != root.Mailbox || st.Folder != root.Key {
			syncError(w, name, newErr("ErrorInvalidSyncStateData", "The synchronization state data is corrupt or otherwise invalid (or belongs to another folder tree)."))
			return nil
		}
		after = st.Seq
	}
	// The current subtree decides what is in scope.
	sub, err := rc.h.mbx.Children(rc.ctx, root.Mailbox, root.Key, true)
	if err != nil {
		syncError(w, name, rc.mapErr(err, "ErrorFolderNotFound"))
		return nil
	}
	inScope := map[int64]*mailbox.Folder{}
	for _, c := range sub {
		inScope[c.Key] = c
	}
	var order []*folderDelta
	deltas := map[int64]*folderDelta{}
	end := after
	last := false
	cur := after
	scanned := 0
scan:
	for scanned < syncScanRows {
		batch, err := rc.h.mbx.Journal(rc.ctx, root.Mailbox, cur, syncBatch)
		if err != nil {
			syncError(w, name, rc.mapErr(err, "ErrorFolderNotFound"))
			return nil
		}
		for _, c := range batch {
			switch c.Op {
			case mailbox.OpFolderCreate, mailbox.OpFolderUpdate, mailbox.OpFolderDelete:
			default:
				end = c.Seq
				continue
			}
			if c.FolderKey == root.Key {
				end = c.Seq
				continue
			}
			d := deltas[c.FolderKey]
			if d == nil {
				if len(order) >= maxSyncChanges {
					break scan
				}
				d = &folderDelta{key: c.FolderKey, before: c.Op != mailbox.OpFolderCreate}
				deltas[c.FolderKey] = d
				order = append(order, d)
			}
			d.after = c.Op != mailbox.OpFolderDelete
			end = c.Seq
		}
		scanned += len(batch)
		if len(batch) < syncBatch {
			last = true
			break
		}
		cur = batch[len(batch)-1].Seq
	}
	okStart(w, name)
	w.elem("m:SyncState", encodeSyncState(syncState{Kind: 'H', Mailbox: root.Mailbox, Folder: root.Key, Seq: end}))
	w.elemBool("m:IncludesLastFolderInRange", last)
	w.start("m:Changes")
	for _, d := range order {
		f := inScope[d.key]
		switch {
		case d.after && f != nil:
			tag := "t:Update"
			if !d.before {
				tag = "t:Create"
			}
			w.start(tag)
			if err := rc.writeFolder(w, f, bits); err != nil {
				return err
			}
			w.end(tag)
		case d.before:
			// Deleted, or moved out of the synchronized tree.
			w.start("t:Delete")
			w.open("t:FolderId")
			w.attr("Id", encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: root.Mailbox, Key: d.key}))
			w.emptyEnd()
			w.end("t:Delete")
		}
	}
	w.end("m:Changes")
	w.end("m:" + name)
	return nil
}

// syncError writes an error message with an empty SyncState and
// IncludesLast…InRange true after the error fields, as Exchange does:
// exchangelib reads both before it looks at the response code.
func syncError(w *xw, name string, e *ewsErr) {
	w.open("m:" + name)
	w.attr("ResponseClass", "Error")
	w.openEnd()
	writeErrorBody(w, e)
	w.raw("<m:SyncState/>")
	if name == "SyncFolderHierarchyResponseMessage" {
		w.raw("<m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>")
	} else {
		w.raw("<m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>")
	}
	w.end("m:" + name)
}
