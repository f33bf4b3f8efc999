package ews

import (
	"slices"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Delegates (issue 4): GetDelegate, AddDelegate, UpdateDelegate and
// RemoveDelegate manage a mailbox's delegate list (mailbox.DelegateSettings).
// The owner (also through impersonation) or a holder of FullAccess manages
// it; anyone else gets ErrorAccessDenied. A delegate's folder levels become
// entries in the owner's folder ACLs (written by the store in the same
// transaction), so access is decided by grantFor like any folder
// permission. Being a delegate also allows sending on behalf of the owner
// (sendIdentity) and, with ViewPrivateItems, seeing private items
// (privacy.go); ReceiveCopiesOfMeetingMessages and DeliverMeetingRequests
// route meeting requests (meetings.go).
//
// Responses are ResponseMessageType themselves (class and code on the
// outer element) wrapping m:ResponseMessages of elements literally named
// m:DelegateUserResponseMessageType, one per user in request order;
// GetDelegateResponse adds m:DeliverMeetingRequests.

var delegatePermElems = []struct{ el, folder string }{
	{"t:CalendarFolderPermissionLevel", "calendar"}, {"t:TasksFolderPermissionLevel", "tasks"},
	{"t:InboxFolderPermissionLevel", "inbox"}, {"t:ContactsFolderPermissionLevel", "contacts"},
	{"t:NotesFolderPermissionLevel", "notes"}, {"t:JournalFolderPermissionLevel", "journal"},
}

// delegateOwner resolves m:Mailbox (default: the effective user) and checks
// that the caller may manage its delegates.
func (rc *reqCtx) delegateOwner(op *node) (*directory.Recipient, *ewsErr) {
	owner := rc.user
	if n := op.path("Mailbox", "EmailAddress"); n != nil && strings.TrimSpace(n.Text) != "" {
		r, e := rc.mailboxByAddress(n.Text)
		if e != nil {
			return nil, e
		}
		owner = r
	}
	if !owner.IsMailbox() {
		return nil, newErr("ErrorNonExistentMailbox")
	}
	if owner.ID != rc.user.ID {
		g, err := rc.grantFor(owner.ID, nil)
		if err != nil || !g.full {
			return nil, newErr("ErrorAccessDenied", "Only the mailbox owner or an account with FullAccess can manage its delegates.")
		}
	}
	if err := rc.ensure(owner.ID); err != nil {
		return nil, rc.mapErr(err, "ErrorNonExistentMailbox")
	}
	return owner, nil
}

// delegateUser resolves a t:UserId to a mailbox user of the organization.
func (rc *reqCtx) delegateUser(n *node) (*directory.Recipient, *ewsErr) {
	if n == nil {
		return nil, newErr("ErrorDelegateMissingConfiguration", "A delegate has no UserId.")
	}
	var r *directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		if a := strings.TrimSpace(n.childText("PrimarySmtpAddress")); a != "" {
			r = s.RecipientBySMTP(a)
		} else if sid := strings.TrimSpace(n.childText("SID")); sid != "" {
			for _, c := range s.Recipients(rc.user.Org) {
				if strings.EqualFold(c.SID, sid) {
					r = c
				}
			}
		} else if dn := strings.TrimSpace(n.childText("DisplayName")); dn != "" {
			for _, c := range s.Recipients(rc.user.Org) {
				if strings.EqualFold(displayName(c), dn) && c.IsMailbox() {
					if r != nil {
						r = nil // ambiguous: refuse rather than guess
						break
					}
					r = c
				}
			}
		}
		return nil
	})
	if r == nil || r.Org != rc.user.Org || !r.IsMailbox() {
		return nil, newErr("ErrorDelegateNoUser", "The delegate does not map to a mailbox user of this organization.")
	}
	return r, nil
}

// parseDelegateUser reads one t:DelegateUser into d (fields present in the
// element override d's).
func (rc *reqCtx) parseDelegateUser(n *node, d *mailbox.Delegate) *ewsErr {
	if p := n.child("DelegatePermissions"); p != nil {
		if d.Levels == nil {
			d.Levels = map[string]string{}
		}
		for _, pe := range delegatePermElems {
			v := p.child(strings.TrimPrefix(pe.el, "t:"))
			if v == nil {
				continue
			}
			lv := strings.TrimSpace(v.Text)
			ok := false
			for _, l := range mailbox.DelegateLevels {
				if l == lv {
					ok = true
				}
			}
			if !ok {
				return newErr("ErrorDelegateValidationFailed", "'"+lv+"' is not a delegate permission level.")
			}
			d.Levels[pe.folder] = lv
		}
	}
	for _, b := range []struct {
		el  string
		dst *bool
	}{{"ReceiveCopiesOfMeetingMessages", &d.ReceiveCopiesOfMeetingMessages}, {"ViewPrivateItems", &d.ViewPrivateItems}} {
		if v := n.child(b.el); v != nil {
			t := strings.TrimSpace(v.Text)
			*b.dst = t == "true" || t == "1"
		}
	}
	if d.ReceiveCopiesOfMeetingMessages && d.Level("calendar") != "Editor" {
		return newErr("ErrorDelegateValidationFailed", "A delegate who receives copies of meeting messages needs Editor on the calendar.")
	}
	return nil
}

type delegateResult struct {
	d *mailbox.Delegate
	e *ewsErr
}

// delegateSettings resolves the owner and reads its delegate settings.
func (rc *reqCtx) delegateSettings(op *node) (*directory.Recipient, *mailbox.DelegateSettings, *ewsErr) {
	owner, e := rc.delegateOwner(op)
	if e != nil {
		return nil, nil, e
	}
	set, err := rc.h.mbx.Delegates(rc.ctx, owner.ID)
	if err != nil {
		return nil, nil, rc.mapErr(err, "ErrorNonExistentMailbox")
	}
	return owner, set, nil
}

func opGetDelegate(rc *reqCtx, op *node, w *xw) error {
	_, set, e := rc.delegateSettings(op)
	if e != nil {
		return writeDelegateResponse(rc, w, "GetDelegate", e, nil, false, "")
	}
	var res []delegateResult
	if ids := op.child("UserIds"); ids != nil {
		for _, u := range ids.all("UserId") {
			r, e := rc.delegateUser(u)
			if e == nil {
				if d := set.Find(r.ID); d != nil {
					res = append(res, delegateResult{d: d})
					continue
				}
				e = newErr("ErrorNotDelegate", displayName(r)+" is not a delegate of this mailbox.")
			}
			res = append(res, delegateResult{e: e})
		}
	} else {
		for i := range set.Delegates {
			res = append(res, delegateResult{d: &set.Delegates[i]})
		}
	}
	incl := op.attr("IncludePermissions")
	return writeDelegateResponse(rc, w, "GetDelegate", nil, res, incl == "true" || incl == "1", set.DeliverMeetingRequests)
}

// opAddDelegate, opUpdateDelegate and opRemoveDelegate change the list in
// one store write: valid users are applied, invalid ones answered with
// their error.
func opAddDelegate(rc *reqCtx, op *node, w *xw) error {
	return changeDelegates(rc, op, w, "AddDelegate")
}
func opUpdateDelegate(rc *reqCtx, op *node, w *xw) error {
	return changeDelegates(rc, op, w, "UpdateDelegate")
}
func opRemoveDelegate(rc *reqCtx, op *node, w *xw) error {
	return changeDelegates(rc, op, w, "RemoveDelegate")
}

func changeDelegates(rc *reqCtx, op *node, w *xw, name string) error {
	owner, e := rc.delegateOwner(op)
	if e != nil {
		return writeDelegateResponse(rc, w, name, e, nil, false, "")
	}
	// Users are resolved first (the directory), the list is then changed in
	// one store transaction that reads nothing else.
	type entry struct {
		r  *directory.Recipient
		e  *ewsErr
		du *node // AddDelegate/UpdateDelegate: the t:DelegateUser
	}
	var entries []entry
	if name == "RemoveDelegate" {
		for _, u := range op.child("UserIds").all("UserId") {
			r, e := rc.delegateUser(u)
			entries = append(entries, entry{r: r, e: e})
		}
	} else {
		for _, du := range op.child("DelegateUsers").all("DelegateUser") {
			r, e := rc.delegateUser(du.child("UserId"))
			entries = append(entries, entry{r: r, e: e, du: du})
		}
	}
	deliver := ""
	if v := op.child("DeliverMeetingRequests"); v != nil && name != "RemoveDelegate" {
		deliver = strings.TrimSpace(v.Text)
	}
	res := make([]delegateResult, len(entries))
	changed := make([]string, len(entries)) // users whose entry changed, to report after the write
	set, err := rc.h.mbx.UpdateDelegates(rc.ctx, rc.actor(owner.ID), owner.ID, func(set *mailbox.DelegateSettings) error {
		if deliver != "" {
			set.DeliverMeetingRequests = deliver
		}
		for i, en := range entries {
			res[i], changed[i] = delegateResult{e: en.e}, ""
			if en.e != nil {
				continue
			}
			r := en.r
			cur := set.Find(r.ID)
			switch {
			case name == "RemoveDelegate" && cur == nil, name == "UpdateDelegate" && cur == nil:
				res[i].e = newErr("ErrorNotDelegate", displayName(r)+" is not a delegate of this mailbox.")
			case name == "RemoveDelegate":
				set.Delegates = slices.DeleteFunc(set.Delegates, func(d mailbox.Delegate) bool { return d.User == r.ID })
			case r.ID == owner.ID:
				res[i].e = newErr("ErrorDelegateCannotAddOwner", "The mailbox owner cannot be added as a delegate.")
			case name == "AddDelegate" && cur != nil:
				res[i].e = newErr("ErrorDelegateAlreadyExists", displayName(r)+" is already a delegate of this mailbox.")
			case name == "AddDelegate":
				nd := mailbox.Delegate{User: r.ID, Levels: map[string]string{}}
				if res[i].e = rc.parseDelegateUser(en.du, &nd); res[i].e == nil {
					set.Delegates = append(set.Delegates, nd)
					changed[i] = r.ID
				}
			default:
				nd := *cur
				nd.Levels = cloneMap(cur.Levels)
				if res[i].e = rc.parseDelegateUser(en.du, &nd); res[i].e == nil {
					*cur = nd
					changed[i] = r.ID
				}
			}
		}
		return nil
	})
	if err != nil {
		e := rc.mapErr(err, "ErrorNonExistentMailbox")
		if strings.Contains(err.Error(), "DeliverMeetingRequests") {
			e = newErr("ErrorInvalidRequest", "DeliverMeetingRequests must be DelegatesOnly, DelegatesAndMe, DelegatesAndSendInformationToMe or NoForward.")
		}
		return writeDelegateResponse(rc, w, name, e, nil, false, "")
	}
	rc.h.log.Info("delegates changed", "request", rc.id, "operation", name, "mailbox", owner.PrimarySmtpAddress, "by", rc.caller.PrimarySmtpAddress)
	for i, u := range changed { // report the stored entries
		if u != "" {
			res[i].d = set.Find(u)
		}
	}
	return writeDelegateResponse(rc, w, name, nil, res, name != "RemoveDelegate", "")
}

func writeDelegateResponse(rc *reqCtx, w *xw, name string, e *ewsErr, res []delegateResult, perms bool, deliver string) error {
	el := "m:" + name + "Response"
	if e != nil {
		w.open(el)
		w.attr("ResponseClass", "Error")
		w.openEnd()
		writeErrorBody(w, e)
		w.end(el)
		return nil
	}
	w.raw("<" + el + ` ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
	if len(res) > 0 {
		w.start("m:ResponseMessages")
		for _, r := range res {
			w.open("m:DelegateUserResponseMessageType")
			if r.e != nil {
				w.attr("ResponseClass", "Error")
				w.openEnd()
				writeErrorBody(w, r.e)
			} else {
				w.attr("ResponseClass", "Success")
				w.openEnd()
				w.elem("m:ResponseCode", "NoError")
				if r.d != nil {
					rc.writeDelegateUser(w, r.d, perms)
				}
			}
			w.end("m:DelegateUserResponseMessageType")
		}
		w.end("m:ResponseMessages")
	}
	if deliver != "" {
		w.elem("m:DeliverMeetingRequests", deliver)
	}
	w.end(el)
	return nil
}

func (rc *reqCtx) writeDelegateUser(w *xw, d *mailbox.Delegate, perms bool) {
	w.start("m:DelegateUser")
	w.start("t:UserId")
	if r := rc.recipient(d.User); r != nil {
		if r.SID != "" {
			w.elem("t:SID", r.SID)
		}
		w.elem("t:PrimarySmtpAddress", r.PrimarySmtpAddress)
		w.elem("t:DisplayName", displayName(r))
	}
	w.end("t:UserId")
	if perms {
		w.start("t:DelegatePermissions")
		for _, pe := range delegatePermElems {
			w.elem(pe.el, d.Level(pe.folder))
		}
		w.end("t:DelegatePermissions")
	}
	w.elemBool("t:ReceiveCopiesOfMeetingMessages", d.ReceiveCopiesOfMeetingMessages)
	w.elemBool("t:ViewPrivateItems", d.ViewPrivateItems)
	w.end("m:DelegateUser")
}

// delegatesOf returns mbx's delegate settings (empty on error, logged).
func (rc *reqCtx) delegatesOf(mbx string) *mailbox.DelegateSettings {
	set, err := rc.h.mbx.Delegates(rc.ctx, mbx)
	if err != nil {
		rc.h.log.Warn("delegates unreadable", "request", rc.id, "mailbox", mbx, "error", err)
		return &mailbox.DelegateSettings{DeliverMeetingRequests: "DelegatesAndSendInformationToMe"}
	}
	return set
}
