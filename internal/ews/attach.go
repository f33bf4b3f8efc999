package ews

import (
	"github.com/actasmail/actas/internal/mailbox"
)

// --- CreateAttachment ---

func opCreateAttachment(rc *reqCtx, op *node, w *xw) error {
	var parent *mailbox.Item
	pe := newErr("ErrorInvalidIdEmpty", "CreateAttachment needs a ParentItemId.")
	if p := op.child("ParentItemId"); p != nil {
		p2 := *p
		p2.Local = "ItemId"
		if parent, pe = rc.itemRef(&p2); pe == nil {
			pe = rc.checkItem(parent, rightEdit)
		}
	}
	beginResponse(w, "CreateAttachment")
	for _, a := range op.child("Attachments").kids() {
		e := pe
		var att mailbox.Attachment
		if e == nil {
			if a.Local != "FileAttachment" {
				e = newErr("ErrorInvalidOperation", a.Local+"s are not supported by this server; only FileAttachment.")
			} else {
				att, e = parseFileAttachment(a)
			}
		}
		if e == nil {
			att.LastModified = rc.now
			it, added, err := rc.h.mbx.AddAttachment(rc.ctx, rc.actor(parent.Mailbox), parent.Mailbox, parent.Key, att)
			if err != nil {
				e = rc.mapErr(err, "ErrorItemNotFound")
			} else {
				parent = it // the parent's change key moved on
				okStart(w, "CreateAttachmentResponseMessage")
				w.start("m:Attachments")
				w.start("t:FileAttachment")
				w.open("t:AttachmentId")
				w.attr("Id", attachmentID(it, added.Num))
				w.attr("RootItemId", itemID(it))
				w.attr("RootItemChangeKey", it.ChangeKey)
				w.emptyEnd()
				w.end("t:FileAttachment")
				w.end("m:Attachments")
				w.end("m:CreateAttachmentResponseMessage")
				continue
			}
		}
		writeErrorMessage(w, "CreateAttachmentResponseMessage", e)
	}
	endResponse(w, "CreateAttachment")
	return nil
}

// attachmentRef loads the item and attachment an AttachmentId names.
func (rc *reqCtx) attachmentRef(n *node, r right) (*mailbox.Item, *mailbox.Attachment, *ewsErr) {
	id, e := parseID(n.attr("Id"), mailbox.KindAttachment)
	if e != nil {
		if e.Code == "ErrorInvalidIdMalformed" || e.Code == "ErrorInvalidIdEmpty" {
			e = newErr("ErrorInvalidAttachmentId")
		}
		return nil, nil, e
	}
	if !rc.mapVisible(id.Mailbox) {
		return nil, nil, newErr("ErrorAttachmentNotFound")
	}
	it, err := rc.h.mbx.Item(rc.ctx, id.Mailbox, id.Key)
	if err != nil {
		return nil, nil, rc.mapErr(err, "ErrorItemNotFound")
	}
	if e := rc.checkItem(it, r); e != nil {
		return nil, nil, e
	}
	for i := range it.Attachments {
		if it.Attachments[i].Num == id.Sub {
			return it, &it.Attachments[i], nil
		}
	}
	return nil, nil, newErr("ErrorAttachmentNotFound")
}

func (rc *reqCtx) mapVisible(mbx string) bool { return rc.mailboxVisible(mbx) }

// --- GetAttachment ---

func opGetAttachment(rc *reqCtx, op *node, w *xw) error {
	beginResponse(w, "GetAttachment")
	for _, ref := range op.child("AttachmentIds").all("AttachmentId") {
		it, a, e := rc.attachmentRef(ref, rightRead)
		if e != nil {
			writeErrorMessage(w, "GetAttachmentResponseMessage", e)
			continue
		}
		okStart(w, "GetAttachmentResponseMessage")
		w.start("m:Attachments")
		writeAttachment(w, it, a, true)
		w.end("m:Attachments")
		w.end("m:GetAttachmentResponseMessage")
	}
	endResponse(w, "GetAttachment")
	return nil
}

// --- DeleteAttachment ---

func opDeleteAttachment(rc *reqCtx, op *node, w *xw) error {
	beginResponse(w, "DeleteAttachment")
	for _, ref := range op.child("AttachmentIds").all("AttachmentId") {
		it, a, e := rc.attachmentRef(ref, rightEdit)
		if e == nil {
			nit, err := rc.h.mbx.DeleteAttachment(rc.ctx, rc.actor(it.Mailbox), it.Mailbox, it.Key, a.Num)
			if err != nil {
				e = rc.mapErr(err, "ErrorAttachmentNotFound")
			} else {
				okStart(w, "DeleteAttachmentResponseMessage")
				w.open("m:RootItemId")
				w.attr("RootItemId", itemID(nit))
				w.attr("RootItemChangeKey", nit.ChangeKey)
				w.emptyEnd()
				w.end("m:DeleteAttachmentResponseMessage")
				continue
			}
		}
		writeErrorMessage(w, "DeleteAttachmentResponseMessage", e)
	}
	endResponse(w, "DeleteAttachment")
	return nil
}
