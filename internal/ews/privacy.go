package ews

import (
	"github.com/actasmail/actas/internal/mailbox"
)

// Private items (issue 4). An item marked Sensitivity Private in someone
// else's mailbox is seen in full only by those with full access to the
// mailbox (the owner, also through impersonation, and FullAccess holders)
// and by its delegates with ViewPrivateItems. Anyone else who may read the
// folder sees it masked — its times and free/busy status, with the subject
// "Private Appointment" (calendar items) or "Private Item" and nothing else
// — and may not edit, delete, move or copy it (ErrorAccessDenied).
// Restrictions, QueryString and SortOrder of FindItem see them masked too,
// so which items match cannot reveal what they say. GetUserAvailability
// applies the same rule to event details (availability.go).

func isPrivate(it *mailbox.Item) bool { return it.Sensitivity == "Private" }

// canViewPrivate reports whether the effective user sees private items of
// mbx (cached per request).
func (rc *reqCtx) canViewPrivate(mbx string) bool {
	if mbx == rc.user.ID {
		return true
	}
	if v, ok := rc.private[mbx]; ok {
		return v
	}
	ok := false
	if g, err := rc.grantFor(mbx, nil); err == nil && g.full {
		ok = true
	} else if d := rc.delegatesOf(mbx).Find(rc.user.ID); d != nil && d.ViewPrivateItems {
		ok = true
	}
	if rc.private == nil {
		rc.private = map[string]bool{}
	}
	rc.private[mbx] = ok
	return ok
}

// hidesPrivate reports whether it must be masked for the effective user.
func (rc *reqCtx) hidesPrivate(it *mailbox.Item) bool {
	return isPrivate(it) && !rc.canViewPrivate(it.Mailbox)
}

// maskedPrivate is what someone without ViewPrivateItems sees of it.
func maskedPrivate(it *mailbox.Item) *mailbox.Item {
	m := &mailbox.Item{Mailbox: it.Mailbox, Key: it.Key, FolderKey: it.FolderKey, ChangeKey: it.ChangeKey, Class: it.Class,
		Sensitivity: it.Sensitivity, DateTimeCreated: it.DateTimeCreated, DateTimeReceived: it.DateTimeReceived,
		DateTimeSent: it.DateTimeSent, LastModified: it.LastModified, IsRead: it.IsRead, Importance: "Normal", BodyType: "Text",
		Extended: map[string]string{}}
	m.Subject = "Private Item"
	if isAppointment(it) {
		m.Subject = "Private Appointment"
	}
	for _, k := range []string{calStart, calEnd, calAllDay, calFreeBusy, calUID, calTZ, calEndTZ, calRecur, calDeleted, calModified, calOccIndex, calOccOrig, calCancelled} {
		if v, ok := it.Extended[k]; ok {
			m.Extended[k] = v
		}
	}
	return m
}

// maskedFilter and maskedLess make a FindItem filter or sort see private
// items as maskedPrivate shows them (nil stays nil).
func maskedFilter(f func(*mailbox.Item) bool) func(*mailbox.Item) bool {
	if f == nil {
		return nil
	}
	return func(it *mailbox.Item) bool { return f(maskIfPrivate(it)) }
}

func maskedLess(less func(a, b *mailbox.Item) bool) func(a, b *mailbox.Item) bool {
	if less == nil {
		return nil
	}
	return func(a, b *mailbox.Item) bool { return less(maskIfPrivate(a), maskIfPrivate(b)) }
}

func maskIfPrivate(it *mailbox.Item) *mailbox.Item {
	if isPrivate(it) {
		return maskedPrivate(it)
	}
	return it
}
