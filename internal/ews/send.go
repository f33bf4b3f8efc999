package ews

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Sending.
//
// Actas has no outbound mail transport yet. A message sent through EWS is
// delivered with Mailboxes.Deliver to every recipient whose address belongs
// to a mailbox of the sender's organization (distribution groups of the
// organization are expanded to their mailbox members). Recipients outside
// the organization cannot be reached: the request still succeeds (EWS has
// no per-recipient result), a copy of the message is kept in the sending
// mailbox's Outbox with the category below, and the server logs a warning
// naming the addresses. Nothing is silently lost.
//
// Identity (ews-protocol.md §7): the effective user sending from their own
// mailbox, including a service account impersonating it, sends as the
// owner: From = Sender = owner, and nothing reveals the service account. A
// user sending from another mailbox needs SendAs on it (From = Sender =
// owner) or to be listed in its GrantSendOnBehalfTo (From = owner, Sender =
// the user); otherwise ErrorSendAsDenied. Folder permissions or FullAccess
// alone do not allow sending.
const undeliveredCategory = "Actas: not delivered (no outbound mail transport)"

// sendIdentity returns From and Sender for the effective user sending from
// mailbox mbx.
func (rc *reqCtx) sendIdentity(mbx string) (from, sender *mailbox.Address, e *ewsErr) {
	_ = rc.h.dir.Read(func(s *directory.State) error {
		owner := s.Recipient(mbx)
		if owner == nil || !owner.IsMailbox() || owner.Org != rc.user.Org {
			e = newErr("ErrorNonExistentMailbox")
			return nil
		}
		oa := &mailbox.Address{Name: displayName(owner), Email: owner.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
		if owner.ID == rc.user.ID {
			from, sender = oa, oa
			return nil
		}
		member := map[string]bool{rc.user.ID: true}
		for _, g := range s.GroupsTransitive(rc.user.ID) {
			member[g] = true
		}
		for _, id := range owner.SendAs {
			if member[id] {
				from, sender = oa, oa
				return nil
			}
		}
		for _, id := range owner.GrantSendOnBehalfTo {
			if member[id] {
				ua := &mailbox.Address{Name: displayName(rc.user), Email: rc.user.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
				from, sender = oa, ua
				return nil
			}
		}
		if rc.h.mbx != nil && rc.delegatesOf(owner.ID).Find(rc.user.ID) != nil { // a delegate sends on behalf (delegates.go)
			ua := &mailbox.Address{Name: displayName(rc.user), Email: rc.user.PrimarySmtpAddress, RoutingType: "SMTP", MailboxType: "Mailbox"}
			from, sender = oa, ua
			return nil
		}
		e = newErr("ErrorSendAsDenied")
		return nil
	})
	return from, sender, e
}

// sendingMailbox is the mailbox a new message is sent from: the mailbox of
// SavedItemFolderId, else the mailbox its From names, else the effective
// user's.
func (rc *reqCtx) sendingMailbox(it *mailbox.Item, saved *mailbox.Folder) (string, *ewsErr) {
	if saved != nil {
		return saved.Mailbox, nil
	}
	if it.From != nil && it.From.Email != "" && !rc.isUserAddress(it.From.Email) {
		r, e := rc.mailboxByAddress(it.From.Email)
		if e != nil {
			return "", newErr("ErrorSendAsDenied")
		}
		return r.ID, nil
	}
	return rc.user.ID, nil
}

func (rc *reqCtx) isUserAddress(addr string) bool {
	for _, a := range rc.user.EmailAddresses {
		if s, ok := directory.SMTPAddress(a); ok && strings.EqualFold(s, addr) {
			return true
		}
	}
	return strings.EqualFold(rc.user.PrimarySmtpAddress, addr)
}

// sendNew sends a message given in CreateItem, saving a copy when asked.
func (rc *reqCtx) sendNew(it *mailbox.Item, saved *mailbox.Folder, saveCopy bool) *ewsErr {
	mbx, e := rc.sendingMailbox(it, saved)
	if e != nil {
		return e
	}
	if err := rc.ensure(mbx); err != nil {
		return rc.mapErr(err, "ErrorFolderNotFound")
	}
	var dest *mailbox.Folder
	if saveCopy {
		if dest = saved; dest == nil {
			if dest, e = rc.distinguished(mbx, "sentitems"); e != nil {
				return e
			}
		}
		if e := rc.check(dest.Mailbox, dest, rightCreate, false); e != nil {
			return e
		}
	}
	if e := rc.prepareSend(it, mbx); e != nil {
		return e
	}
	if e := rc.transmit(it, mbx); e != nil {
		return e
	}
	if dest != nil {
		cp := *it
		cp.IsRead = true
		if _, err := rc.h.mbx.CreateItem(rc.ctx, rc.actor(dest.Mailbox), dest.Mailbox, dest.Key, &cp); err != nil {
			return rc.mapErr(err, "ErrorFolderNotFound")
		}
	}
	return nil
}

// sendExisting sends a saved item (SendItem, UpdateItem with a send
// disposition): then it moves to the saved-item folder (or Sent Items) or,
// when not saved, is deleted.
func (rc *reqCtx) sendExisting(it *mailbox.Item, save bool, saved *mailbox.Folder) *ewsErr {
	mbx := it.Mailbox
	var dest *mailbox.Folder
	var e *ewsErr
	if save {
		if dest = saved; dest == nil {
			if dest, e = rc.distinguished(mbx, "sentitems"); e != nil {
				return e
			}
		}
		if e := rc.check(dest.Mailbox, dest, rightCreate, false); e != nil {
			return e
		}
	}
	msg := *it
	if e := rc.prepareSend(&msg, mbx); e != nil {
		return e
	}
	if e := rc.transmit(&msg, mbx); e != nil {
		return e
	}
	if !save {
		if err := rc.h.mbx.DeleteItem(rc.ctx, rc.actor(mbx), mbx, it.Key, mailbox.HardDelete); err != nil {
			return rc.mapErr(err, "ErrorItemNotFound")
		}
		return nil
	}
	sent, err := rc.h.mbx.UpdateItem(rc.ctx, rc.actor(mbx), mbx, it.Key, "", func(x *mailbox.Item) error {
		x.From, x.Sender = msg.From, msg.Sender
		x.DateTimeSent, x.IsDraft, x.IsRead = msg.DateTimeSent, false, true
		x.InternetMessageID, x.MIME = msg.InternetMessageID, nil
		x.LastModified = rc.now
		return nil
	})
	if err != nil {
		return rc.mapErr(err, "ErrorItemNotFound")
	}
	if _, e := rc.moveCopy(sent, dest, true); e != nil {
		return e
	}
	return nil
}

// prepareSend sets the sender identity and the sending properties.
func (rc *reqCtx) prepareSend(it *mailbox.Item, mbx string) *ewsErr {
	from, sender, e := rc.sendIdentity(mbx)
	if e != nil {
		return e
	}
	if len(it.To)+len(it.Cc)+len(it.Bcc) == 0 {
		return newErr("ErrorInvalidRecipients", "At least one recipient is required.")
	}
	it.From, it.Sender = from, sender
	it.MIME = nil // rebuilt from the properties, so MimeContent shows the real identity
	it.IsDraft = false
	it.DateTimeSent = rc.now
	if it.DateTimeCreated.IsZero() {
		it.DateTimeCreated = rc.now
	}
	if it.Class == "" {
		it.Class = "IPM.Note"
	}
	if it.InternetMessageID == "" {
		var b [16]byte
		rand.Read(b[:])
		domain := "actas.local"
		if i := strings.LastIndexByte(from.Email, '@'); i >= 0 {
			domain = from.Email[i+1:]
		}
		it.InternetMessageID = "<" + hex.EncodeToString(b[:]) + "@" + domain + ">"
	}
	if it.Extended != nil {
		delete(it.Extended, creatorKey)
	}
	return nil
}

// transmit delivers a prepared message: internal recipients through
// Deliver, external ones kept in the Outbox (see the package comment above).
func (rc *reqCtx) transmit(it *mailbox.Item, mbx string) *ewsErr {
	rs, external := rc.expandRecipients(mbx, it.To, it.Cc, it.Bcc) // meetings.go
	internal := make([]string, len(rs))
	for i, r := range rs {
		internal[i] = r.ID
	}
	if len(internal) > 0 {
		for _, id := range internal {
			if err := rc.ensure(id); err != nil {
				return rc.mapErr(err, "ErrorMailRecipientNotFound")
			}
		}
		cp := *it
		cp.Bcc = nil
		cp.IsRead = false
		cp.DateTimeReceived = rc.now
		cp.Extended = cloneMap(it.Extended)
		if _, err := rc.h.mbx.Deliver(rc.ctx, rc.actor(mbx), internal, &cp); err != nil {
			return rc.mapErr(err, "ErrorMailRecipientNotFound")
		}
	}
	if len(external) > 0 {
		outbox, e := rc.distinguished(mbx, "outbox")
		if e != nil {
			return e
		}
		cp := *it
		cp.IsRead = true
		cp.Categories = append(append([]string(nil), it.Categories...), undeliveredCategory)
		cp.Extended = cloneMap(it.Extended)
		if cp.Extended == nil {
			cp.Extended = map[string]string{}
		}
		cp.Extended["actas:undelivered"] = strings.Join(external, ", ")
		if _, err := rc.h.mbx.CreateItem(rc.ctx, rc.actor(mbx), mbx, outbox.Key, &cp); err != nil {
			return rc.mapErr(err, "ErrorFolderNotFound")
		}
		rc.h.log.Warn("ews: message not delivered to external recipients (no outbound mail transport); kept in the Outbox",
			"request", rc.id, "mailbox", mbx, "recipients", strings.Join(external, ", "), "messageId", it.InternetMessageID)
	}
	return nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
