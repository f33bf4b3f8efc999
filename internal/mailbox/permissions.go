package mailbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Permission levels and the rights each stands for (ews-protocol.md §8).
// FreeBusyTimeOnly and FreeBusyTimeAndSubjectAndLocation exist on calendar
// folders only.
var permissionLevels = []Permission{
	{Level: "None", EditItems: "None", DeleteItems: "None", ReadItems: "None"},
	{Level: "Owner", CanCreateItems: true, CanCreateSubFolders: true, IsFolderOwner: true, IsFolderVisible: true, IsFolderContact: true,
		EditItems: "All", DeleteItems: "All", ReadItems: "FullDetails"},
	{Level: "PublishingEditor", CanCreateItems: true, CanCreateSubFolders: true, IsFolderVisible: true,
		EditItems: "All", DeleteItems: "All", ReadItems: "FullDetails"},
	{Level: "Editor", CanCreateItems: true, IsFolderVisible: true, EditItems: "All", DeleteItems: "All", ReadItems: "FullDetails"},
	{Level: "PublishingAuthor", CanCreateItems: true, CanCreateSubFolders: true, IsFolderVisible: true,
		EditItems: "Owned", DeleteItems: "Owned", ReadItems: "FullDetails"},
	{Level: "Author", CanCreateItems: true, IsFolderVisible: true, EditItems: "Owned", DeleteItems: "Owned", ReadItems: "FullDetails"},
	{Level: "NoneditingAuthor", CanCreateItems: true, IsFolderVisible: true, EditItems: "None", DeleteItems: "Owned", ReadItems: "FullDetails"},
	{Level: "Reviewer", IsFolderVisible: true, EditItems: "None", DeleteItems: "None", ReadItems: "FullDetails"},
	{Level: "Contributor", CanCreateItems: true, IsFolderVisible: true, EditItems: "None", DeleteItems: "None", ReadItems: "None"},
	{Level: "FreeBusyTimeOnly", EditItems: "None", DeleteItems: "None", ReadItems: "TimeOnly"},
	{Level: "FreeBusyTimeAndSubjectAndLocation", EditItems: "None", DeleteItems: "None", ReadItems: "TimeAndSubjectAndLocation"},
}

var (
	itemScopes = []string{"None", "Owned", "All"}
	readScopes = []string{"None", "TimeOnly", "TimeAndSubjectAndLocation", "FullDetails"}
)

// canon returns the member of set equal to v ignoring case, or v.
func canon(v string, set []string) (string, bool) {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return s, true
		}
	}
	return v, false
}

// LevelRights returns the rights of a permission level (case-insensitive;
// Level is set to its canonical spelling, User is empty). "Custom" and
// unknown names give false.
func LevelRights(level string) (Permission, bool) {
	for _, p := range permissionLevels {
		if strings.EqualFold(p.Level, level) {
			return p, true
		}
	}
	return Permission{}, false
}

// Normalize returns p with its flags filled from Level when Level names a
// role, or else with Level computed from the flags ("Custom" when no role
// has exactly those flags). Empty EditItems, DeleteItems and ReadItems
// count as "None"; values are given their canonical spelling.
func (p Permission) Normalize() Permission {
	if r, ok := LevelRights(p.Level); ok {
		r.User = p.User
		return r
	}
	if p.EditItems == "" {
		p.EditItems = "None"
	}
	if p.DeleteItems == "" {
		p.DeleteItems = "None"
	}
	if p.ReadItems == "" {
		p.ReadItems = "None"
	}
	p.EditItems, _ = canon(p.EditItems, itemScopes)
	p.DeleteItems, _ = canon(p.DeleteItems, itemScopes)
	p.ReadItems, _ = canon(p.ReadItems, readScopes)
	p.Level = "Custom"
	for _, l := range permissionLevels {
		if sameRights(l, p) {
			p.Level = l.Level
			break
		}
	}
	return p
}

// sameRights compares two entries' flags, ignoring User and Level.
func sameRights(a, b Permission) bool {
	a.User, a.Level = b.User, b.Level
	return a == b
}

// calendarOnly reports whether a normalized entry uses rights that exist
// only on calendar folders.
func (p Permission) calendarOnly() bool {
	return p.ReadItems == "TimeOnly" || p.ReadItems == "TimeAndSubjectAndLocation"
}

func isCalendar(f *Folder) bool { return strings.HasPrefix(f.Class, "IPF.Appointment") }

// defaultACE is a new folder's only entry: Default gets None, or
// FreeBusyTimeOnly on a calendar.
func defaultACE(f *Folder) Permission {
	level := "None"
	if isCalendar(f) {
		level = "FreeBusyTimeOnly"
	}
	p, _ := LevelRights(level)
	p.User = "Default"
	return p
}

// Permissions implements Mailboxes: the folder's ACL in the order it was
// set.
func (s *Store) Permissions(ctx context.Context, mbx string, folder int64) ([]Permission, error) {
	var out []Permission
	err := s.read(ctx, "permissions", func(q querier) error {
		if _, err := getFolder(ctx, q, mbx, folder); err != nil {
			return err
		}
		var err error
		out, err = readACL(ctx, q, mbx, folder)
		return err
	})
	return out, err
}

// SetPermissions implements Mailboxes: UpdatePermissions replacing the
// whole ACL with perms.
func (s *Store) SetPermissions(ctx context.Context, a Actor, mbx string, folder int64, perms []Permission) error {
	_, err := s.UpdatePermissions(ctx, a, mbx, folder, func([]Permission) ([]Permission, error) { return perms, nil })
	return err
}

// UpdatePermissions implements Mailboxes: fn gets the folder's current ACL
// and returns the new one, in one transaction (fn must not read anything
// else: the store's connection is held). Each entry is normalized (a Level
// naming a role wins over flags); "Default" and "Anonymous" are matched
// case-insensitively. Errors: ErrInvalidPermission (empty user, unknown
// values), ErrDuplicateUser, ErrCalendarLevel, or fn's. The folder's
// ChangeKey changes (journal "folder-update").
func (s *Store) UpdatePermissions(ctx context.Context, a Actor, mbx string, folder int64, fn func([]Permission) ([]Permission, error)) ([]Permission, error) {
	var acl []Permission
	err := s.write(ctx, "set permissions", a, []string{mbx}, false, func(w *wtx) error {
		f, err := getFolder(w.ctx, w.tx, mbx, folder)
		if err != nil {
			return err
		}
		cur, err := readACL(w.ctx, w.tx, mbx, folder)
		if err != nil {
			return err
		}
		perms, err := fn(cur)
		if err != nil {
			return err
		}
		if acl, err = normalizeACL(f, perms); err != nil {
			return err
		}
		seq, err := w.log(mbx, OpFolderUpdate, 0, folder, 0)
		if err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, `UPDATE mailbox_folders SET seq = $3 WHERE mailbox = $1 AND fkey = $2`,
			mbx, folder, seq); err != nil {
			return err
		}
		return w.writeACL(f, acl)
	})
	return acl, err
}

// normalizeACL checks an ACL for folder f and returns it normalized.
func normalizeACL(f *Folder, perms []Permission) ([]Permission, error) {
	acl := make([]Permission, 0, len(perms))
	seen := map[string]bool{}
	for _, p := range perms {
		p.User = strings.TrimSpace(p.User)
		if p.User == "" {
			return nil, fmt.Errorf("%w: an entry has no user", ErrInvalidPermission)
		}
		p.User, _ = canon(p.User, []string{"Default", "Anonymous"})
		if seen[strings.ToLower(p.User)] {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateUser, p.User)
		}
		seen[strings.ToLower(p.User)] = true
		if p.Level != "" && !strings.EqualFold(p.Level, "Custom") {
			if _, ok := LevelRights(p.Level); !ok {
				return nil, fmt.Errorf("%w: unknown level %q", ErrInvalidPermission, p.Level)
			}
		}
		n := p.Normalize()
		for _, v := range []struct {
			v   string
			set []string
		}{{n.EditItems, itemScopes}, {n.DeleteItems, itemScopes}, {n.ReadItems, readScopes}} {
			if _, ok := canon(v.v, v.set); !ok {
				return nil, fmt.Errorf("%w: %q for %s", ErrInvalidPermission, v.v, p.User)
			}
		}
		if n.calendarOnly() && !isCalendar(f) {
			return nil, fmt.Errorf("%w: %s for %s", ErrCalendarLevel, n.Level, p.User)
		}
		acl = append(acl, n)
	}
	return acl, nil
}

// writeACL replaces the folder's ACL rows.
func (w *wtx) writeACL(f *Folder, acl []Permission) error {
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM mailbox_permissions WHERE mailbox = $1 AND folder = $2`,
		f.Mailbox, f.Key); err != nil {
		return fmt.Errorf("write permissions: %w", err)
	}
	for i, p := range acl {
		if _, err := w.tx.ExecContext(w.ctx,
			`INSERT INTO mailbox_permissions (mailbox, folder, pos, principal, can_create_items, can_create_subfolders,
			   is_folder_owner, is_folder_visible, is_folder_contact, edit_items, delete_items, read_items, level)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			f.Mailbox, f.Key, i, p.User, p.CanCreateItems, p.CanCreateSubFolders, p.IsFolderOwner, p.IsFolderVisible,
			p.IsFolderContact, p.EditItems, p.DeleteItems, p.ReadItems, p.Level); err != nil {
			return fmt.Errorf("write permissions: %w", err)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Out of office

var (
	oofStates    = []string{"Disabled", "Enabled", "Scheduled"}
	oofAudiences = []string{"None", "Known", "All"}
)

// Oof implements Mailboxes. A mailbox that never set it reads as
// Disabled with ExternalAudience None.
func (s *Store) Oof(ctx context.Context, mbx string) (*Oof, error) {
	o := &Oof{State: "Disabled", ExternalAudience: "None"}
	err := s.read(ctx, "oof", func(q querier) error {
		if err := mailboxExists(ctx, q, mbx); err != nil {
			return err
		}
		var start, end int64
		err := q.QueryRowContext(ctx,
			`SELECT state, external_audience, start_at, end_at, internal_reply, external_reply FROM mailbox_oof WHERE mailbox = $1`,
			mbx).Scan(&o.State, &o.ExternalAudience, &start, &end, &o.InternalReply, &o.ExternalReply)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		o.Start, o.End = fromMicro(start), fromMicro(end)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// SetOof implements Mailboxes. State and ExternalAudience must be one of
// their values (case-insensitive; empty ExternalAudience means None), and a
// Scheduled OOF needs End after Start (ErrInvalidOofDuration). It is
// journaled as "oof".
func (s *Store) SetOof(ctx context.Context, a Actor, mbx string, o *Oof) error {
	if o == nil {
		return fmt.Errorf("mailbox: set oof: %w: no settings", ErrInvalidArgument)
	}
	v := *o
	var ok bool
	if v.State, ok = canon(v.State, oofStates); !ok {
		return fmt.Errorf("mailbox: set oof: %w: state %q", ErrInvalidArgument, o.State)
	}
	if v.ExternalAudience == "" {
		v.ExternalAudience = "None"
	}
	if v.ExternalAudience, ok = canon(v.ExternalAudience, oofAudiences); !ok {
		return fmt.Errorf("mailbox: set oof: %w: external audience %q", ErrInvalidArgument, o.ExternalAudience)
	}
	v.Start, v.End = normTime(v.Start), normTime(v.End)
	if v.State == "Scheduled" && (v.Start.IsZero() || v.End.IsZero() || !v.End.After(v.Start)) {
		return fmt.Errorf("mailbox: set oof: %w", ErrInvalidOofDuration)
	}
	return s.write(ctx, "set oof", a, []string{mbx}, false, func(w *wtx) error {
		if _, err := w.log(mbx, OpOof, 0, 0, 0); err != nil {
			return err
		}
		_, err := w.tx.ExecContext(w.ctx,
			`INSERT INTO mailbox_oof (mailbox, state, external_audience, start_at, end_at, internal_reply, external_reply)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)
			 ON CONFLICT (mailbox) DO UPDATE SET state = excluded.state, external_audience = excluded.external_audience,
			   start_at = excluded.start_at, end_at = excluded.end_at,
			   internal_reply = excluded.internal_reply, external_reply = excluded.external_reply`,
			mbx, v.State, v.ExternalAudience, micro(v.Start), micro(v.End), v.InternalReply, v.ExternalReply)
		return err
	})
}

// Active reports whether o sends replies at t (Enabled, or Scheduled
// with t in [Start, End)).
func (o *Oof) Active(t time.Time) bool {
	switch o.State {
	case "Enabled":
		return true
	case "Scheduled":
		return !t.Before(o.Start) && t.Before(o.End)
	}
	return false
}
