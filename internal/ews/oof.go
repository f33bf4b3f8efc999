package ews

import (
	"errors"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// OOF settings: a user may read and set only their own, which under
// impersonation means the impersonated mailbox's. Another address gets
// ErrorAccessDenied ("User is not mailbox owner") in the response message.

func (rc *reqCtx) oofMailbox(op *node) (*directory.Recipient, *ewsErr) {
	addr := strings.TrimSpace(op.path("Mailbox", "Address").textOr(""))
	if addr == "" {
		return nil, newErr("ErrorInvalidRequest", "The request needs Mailbox/Address.")
	}
	r, e := rc.mailboxByAddress(addr)
	if e != nil {
		return nil, e
	}
	if r.ID != rc.user.ID {
		return nil, newErr("ErrorAccessDenied", "User is not mailbox owner.")
	}
	return r, nil
}

func (n *node) textOr(d string) string {
	if n == nil {
		return d
	}
	return n.Text
}

func oofResponseMessage(w *xw, e *ewsErr) {
	if e != nil {
		writeErrorMessage(w, "ResponseMessage", e)
	} else {
		okEmpty(w, "ResponseMessage")
	}
}

func opGetUserOofSettings(rc *reqCtx, op *node, w *xw) error {
	w.raw("<m:GetUserOofSettingsResponse>")
	r, e := rc.oofMailbox(op)
	var o *mailbox.Oof
	if e == nil {
		if err := rc.ensure(r.ID); err != nil {
			e = rc.mapErr(err, "ErrorUnableToGetUserOofSettings")
		} else if o, err = rc.h.mbx.Oof(rc.ctx, r.ID); err != nil {
			if errors.Is(err, mailbox.ErrNotFound) {
				o, err = &mailbox.Oof{}, nil
			} else {
				e = rc.mapErr(err, "ErrorUnableToGetUserOofSettings")
			}
		}
	}
	oofResponseMessage(w, e)
	if e == nil {
		start, end := o.Start, o.End
		if start.IsZero() {
			start = rc.now.Truncate(time.Hour)
		}
		if end.IsZero() || !end.After(start) {
			end = start.Add(24 * time.Hour)
		}
		w.start("t:OofSettings")
		w.elem("t:OofState", orDefault(o.State, "Disabled"))
		w.elem("t:ExternalAudience", orDefault(o.ExternalAudience, "All"))
		w.start("t:Duration")
		w.elemTime("t:StartTime", start)
		w.elemTime("t:EndTime", end)
		w.end("t:Duration")
		w.start("t:InternalReply")
		w.elem("t:Message", o.InternalReply)
		w.end("t:InternalReply")
		w.start("t:ExternalReply")
		w.elem("t:Message", o.ExternalReply)
		w.end("t:ExternalReply")
		w.end("t:OofSettings")
		w.elem("m:AllowExternalOof", "All")
	}
	w.raw("</m:GetUserOofSettingsResponse>")
	return nil
}

func opSetUserOofSettings(rc *reqCtx, op *node, w *xw) error {
	w.raw("<m:SetUserOofSettingsResponse>")
	r, e := rc.oofMailbox(op)
	var o mailbox.Oof
	if e == nil {
		s := op.child("UserOofSettings")
		if s == nil {
			e = newErr("ErrorInvalidUserOofSettings", "The request needs UserOofSettings.")
		} else {
			o.State = s.childText("OofState")
			o.ExternalAudience = orDefault(s.childText("ExternalAudience"), "All")
			o.InternalReply = s.path("InternalReply", "Message").textOr("")
			o.ExternalReply = s.path("ExternalReply", "Message").textOr("")
			if d := s.child("Duration"); d != nil {
				o.Start, _ = parseTime(d.childText("StartTime"))
				o.End, _ = parseTime(d.childText("EndTime"))
			}
			switch {
			case o.State != "Disabled" && o.State != "Enabled" && o.State != "Scheduled":
				e = newErr("ErrorInvalidUserOofSettings", "OofState must be Disabled, Enabled or Scheduled.")
			case o.ExternalAudience != "None" && o.ExternalAudience != "Known" && o.ExternalAudience != "All":
				e = newErr("ErrorInvalidUserOofSettings", "ExternalAudience must be None, Known or All.")
			case o.State == "Scheduled" && !o.End.After(o.Start):
				e = newErr("ErrorInvalidScheduledOofDuration", "The scheduled end time must be after the start time.")
			}
		}
	}
	if e == nil {
		if err := rc.ensure(r.ID); err != nil {
			e = rc.mapErr(err, "ErrorInternalServerError")
		} else if err := rc.h.mbx.SetOof(rc.ctx, rc.actor(r.ID), r.ID, &o); err != nil {
			e = rc.mapErr(err, "ErrorInternalServerError")
		}
	}
	oofResponseMessage(w, e)
	w.raw("</m:SetUserOofSettingsResponse>")
	return nil
}
