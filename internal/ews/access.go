package ews

import (
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// right is what an operation needs on a folder of a mailbox.
type right int

const (
	rightVisible   right = iota // see the folder (GetFolder, FindFolder)
	rightRead                   // read its items
	rightCreate                 // create items in it
	rightCreateSub              // create subfolders
	rightEdit                   // edit items (Owned: only items the user created)
	rightDelete                 // delete items (Owned: likewise)
	rightOwner                  // rename, delete, set permissions
	// rightReadMasked is rightRead for a reader that shows private items
	// masked (GetItem; privacy.go); every other right refuses them.
	rightReadMasked
)

// grant is the effective user's access to one folder of a mailbox: full
// (the owner, or FullAccess on the mailbox) or one merged permission entry.
type grant struct {
	full bool
	p    mailbox.Permission
}

// can reports whether the grant allows r; owned says whether the item in
// question was created by the effective user (for Owned edit/delete).
func (g grant) can(r right, owned bool) bool {
	if g.full {
		return true
	}
	p := g.p
	switch r {
	case rightVisible:
		return p.IsFolderVisible || p.ReadItems == "FullDetails" || p.IsFolderOwner
	case rightRead, rightReadMasked:
		return p.ReadItems == "FullDetails"
	case rightCreate:
		return p.CanCreateItems
	case rightCreateSub:
		return p.CanCreateSubFolders
	case rightEdit:
		return p.EditItems == "All" || p.EditItems == "Owned" && owned
	case rightDelete:
		return p.DeleteItems == "All" || p.DeleteItems == "Owned" && owned
	case rightOwner:
		return p.IsFolderOwner
	}
	return false
}

// creatorKey marks, in Item.Extended, the recipient id of a non-owner who
// created the item (for Owned rights). No ExtendedFieldURI canonicalizes to
// it, so clients never see it.
const creatorKey = "actas:creator"

// grantFor is the one access decision for another user's mailbox: every
// operation that touches a mailbox asks it. The owner and holders of
// FullAccess (directly or through a group) get everything; anyone else
// gets what the folder's permissions give their account, their groups, or
// Default. SendAs/send-on-behalf is decided separately, in sendIdentity.
func (rc *reqCtx) grantFor(mbx string, f *mailbox.Folder) (grant, error) {
	if mbx == rc.user.ID {
		return grant{full: true}, nil
	}
	var groups map[string]bool
	full, sameOrg := false, false
	_ = rc.h.dir.Read(func(s *directory.State) error {
		owner := s.Recipient(mbx)
		sameOrg = owner != nil && owner.Org == rc.user.Org
		groups = map[string]bool{}
		for _, g := range s.GroupsTransitive(rc.user.ID) {
			groups[g] = true
		}
		if owner != nil && owner.Org == rc.user.Org {
			for _, id := range owner.FullAccess {
				if id == rc.user.ID || groups[id] {
					full = true
				}
			}
		}
		return nil
	})
	if full {
		return grant{full: true}, nil
	}
	if !sameOrg {
		// Another organization's mailbox (or none): no folder permission,
		// not even Default, reaches across tenants, and the answer is "not
		// found", which reveals nothing.
		return grant{}, mailbox.ErrNotFound
	}
	if f == nil {
		return grant{}, nil
	}
	perms, err := rc.h.mbx.Permissions(rc.ctx, mbx, f.Key)
	if err != nil {
		return grant{}, err
	}
	var g grant
	matched := false
	for _, p := range perms {
		if p.User == rc.user.ID || groups[p.User] {
			g.p = mergePerm(g.p, p)
			matched = true
		}
	}
	if !matched {
		for _, p := range perms {
			if strings.EqualFold(p.User, "Default") {
				g.p = p
			}
		}
	}
	return g, nil
}

func mergePerm(a, b mailbox.Permission) mailbox.Permission {
	a.CanCreateItems = a.CanCreateItems || b.CanCreateItems
	a.CanCreateSubFolders = a.CanCreateSubFolders || b.CanCreateSubFolders
	a.IsFolderOwner = a.IsFolderOwner || b.IsFolderOwner
	a.IsFolderVisible = a.IsFolderVisible || b.IsFolderVisible
	a.IsFolderContact = a.IsFolderContact || b.IsFolderContact
	rank := map[string]int{"": 0, "None": 0, "Owned": 1, "All": 2, "TimeOnly": 1, "TimeAndSubjectAndLocation": 2, "FullDetails": 3}
	if rank[b.EditItems] > rank[a.EditItems] {
		a.EditItems = b.EditItems
	}
	if rank[b.DeleteItems] > rank[a.DeleteItems] {
		a.DeleteItems = b.DeleteItems
	}
	if rank[b.ReadItems] > rank[a.ReadItems] {
		a.ReadItems = b.ReadItems
	}
	return a
}

// check asks grantFor and answers ErrorAccessDenied when r is not allowed.
func (rc *reqCtx) check(mbx string, f *mailbox.Folder, r right, owned bool) *ewsErr {
	g, err := rc.grantFor(mbx, f)
	if err != nil {
		return rc.mapErr(err, "ErrorFolderNotFound")
	}
	if !g.can(r, owned) {
		return newErr("ErrorAccessDenied")
	}
	return nil
}

// ownedBy reports whether the effective user created the item.
func (rc *reqCtx) ownedBy(it *mailbox.Item) bool {
	if it.Mailbox == rc.user.ID {
		return true
	}
	return it.Extended[creatorKey] == rc.user.ID
}

// via is how the request reaches mbx, for the journal.
func (rc *reqCtx) actor(mbx string) mailbox.Actor {
	switch {
	case mbx != rc.user.ID:
		return mailbox.Actor{ID: rc.caller.ID, Via: "delegate"}
	case rc.impersonating:
		return mailbox.Actor{ID: rc.caller.ID, Via: "impersonation"}
	}
	return mailbox.Actor{ID: rc.caller.ID, Via: "owner"}
}

// ensure creates a mailbox's default folders once per process.
func (rc *reqCtx) ensure(mbx string) error {
	if _, ok := rc.h.ensured.Load(mbx); ok {
		return nil
	}
	if err := rc.h.mbx.Ensure(rc.ctx, mbx); err != nil {
		return err
	}
	rc.h.ensured.Store(mbx, struct{}{})
	return nil
}

// mailboxByAddress resolves a t:Mailbox address to a mailbox of the
// effective user's organization; anything else is ErrorNonExistentMailbox.
func (rc *reqCtx) mailboxByAddress(addr string) (*directory.Recipient, *ewsErr) {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "SMTP:"), "smtp:")
	var r *directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		r = s.RecipientBySMTP(addr)
		if r == nil {
			r = s.RecipientByUPN(addr)
		}
		return nil
	})
	if r == nil || !r.IsMailbox() || r.Org != rc.user.Org {
		return nil, newErr("ErrorNonExistentMailbox")
	}
	return r, nil
}

// mailboxVisible reports whether an id's mailbox belongs to the effective
// user's organization (ids from elsewhere are "not found", never revealed).
func (rc *reqCtx) mailboxVisible(mbx string) bool {
	if mbx == rc.user.ID {
		return true
	}
	ok := false
	_ = rc.h.dir.Read(func(s *directory.State) error {
		r := s.Recipient(mbx)
		ok = r != nil && r.Org == rc.user.Org && r.IsMailbox()
		return nil
	})
	return ok
}

// recipient returns a directory recipient by id (nil if gone).
func (rc *reqCtx) recipient(id string) *directory.Recipient {
	var r *directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error { r = s.Recipient(id); return nil })
	return r
}
