package mailbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
)

// Delegates (EWS GetDelegate, AddDelegate, UpdateDelegate, RemoveDelegate).
// A mailbox's delegate list and its DeliverMeetingRequests setting are one
// JSON document (table mailbox_delegates). Each delegate's folder levels are
// also written into the ACLs of the owner's Calendar, Tasks, Inbox,
// Contacts, Notes and Journal folders in the same transaction, so a
// delegate's access is decided like any other folder permission: nothing
// else grants it.

// DelegateFolders are the folders a delegate can be given a level on, by
// their distinguished names.
var DelegateFolders = []string{"calendar", "tasks", "inbox", "contacts", "notes", "journal"}

// DelegateLevels are the levels EWS allows on a delegate folder.
var DelegateLevels = []string{"None", "Editor", "Reviewer", "Author", "Custom"}

// DeliverMeetingRequests values; DelegatesAndSendInformationToMe is
// Exchange's (and Outlook's) default.
var DeliverMeetingRequestsValues = []string{"DelegatesOnly", "DelegatesAndMe", "DelegatesAndSendInformationToMe", "NoForward"}

// Delegate is one delegate of a mailbox.
type Delegate struct {
	User string `json:"user"` // recipient id
	// Levels maps a folder of DelegateFolders to its level; a missing
	// folder is None. Custom keeps whatever ACL entry the folder has.
	Levels                         map[string]string `json:"levels,omitempty"`
	ReceiveCopiesOfMeetingMessages bool              `json:"receiveCopies,omitempty"`
	ViewPrivateItems               bool              `json:"viewPrivate,omitempty"`
}

// Level is d's level on folder (a DelegateFolders name).
func (d *Delegate) Level(folder string) string {
	if v := d.Levels[folder]; v != "" {
		return v
	}
	return "None"
}

// DelegateSettings is a mailbox's delegate configuration.
type DelegateSettings struct {
	DeliverMeetingRequests string     `json:"deliverMeetingRequests"`
	Delegates              []Delegate `json:"delegates,omitempty"`
}

// Find returns the delegate entry of user, or nil.
func (d *DelegateSettings) Find(user string) *Delegate {
	for i := range d.Delegates {
		if d.Delegates[i].User == user {
			return &d.Delegates[i]
		}
	}
	return nil
}

func (d *DelegateSettings) clone() *DelegateSettings {
	c := &DelegateSettings{DeliverMeetingRequests: d.DeliverMeetingRequests}
	for _, dl := range d.Delegates {
		dl.Levels = maps.Clone(dl.Levels)
		if dl.Levels == nil {
			dl.Levels = map[string]string{}
		}
		c.Delegates = append(c.Delegates, dl)
	}
	return c
}

// ErrDelegateLevel: a level outside DelegateLevels or a folder outside
// DelegateFolders (ErrorDelegateValidationFailed).
var ErrDelegateLevel = fmt.Errorf("%w: invalid delegate permission", ErrInvalidArgument)

// Delegates returns mbx's delegate settings (none: DelegatesAndSendInformationToMe, no delegates).
func (s *Store) Delegates(ctx context.Context, mbx string) (*DelegateSettings, error) {
	var d *DelegateSettings
	err := s.read(ctx, "delegates", func(q querier) error {
		if err := mailboxExists(ctx, q, mbx); err != nil {
			return err
		}
		var err error
		d, err = readDelegates(ctx, q, mbx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// SetDelegates replaces mbx's delegate settings (UpdateDelegates with d).
func (s *Store) SetDelegates(ctx context.Context, a Actor, mbx string, d *DelegateSettings) error {
	_, err := s.UpdateDelegates(ctx, a, mbx, func(cur *DelegateSettings) error { *cur = *d; return nil })
	return err
}

// UpdateDelegates changes mbx's delegate settings in one transaction: fn
// edits the current settings (it must not read anything else: the store's
// connection is held), which are then checked and stored with, in the same
// transaction, the entries of the delegates whose level on one of
// DelegateFolders changed: removed for a user who is no longer a delegate
// or whose level became None, set to the level otherwise (Custom leaves
// the entry as it is). Settings that did not change write nothing. Each folder whose ACL changes is journaled as "folder-update".
// An error from fn or the checks changes nothing. It returns what was
// stored.
func (s *Store) UpdateDelegates(ctx context.Context, a Actor, mbx string, fn func(*DelegateSettings) error) (*DelegateSettings, error) {
	var stored *DelegateSettings
	err := s.write(ctx, "set delegates", a, []string{mbx}, false, func(w *wtx) error {
		old, err := readDelegates(w.ctx, w.tx, mbx)
		if err != nil {
			return err
		}
		cur := old.clone()
		if err := fn(cur); err != nil {
			return err
		}
		v, err := normalizeDelegates(cur)
		if err != nil {
			return err
		}
		if reflect.DeepEqual(v, old) {
			stored = old // nothing changed: nothing written, no ChangeKey moves
			return nil
		}
		for _, name := range DelegateFolders {
			if err := w.applyDelegateACL(mbx, name, old, v); err != nil {
				return err
			}
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx,
			`INSERT INTO mailbox_delegates (mailbox, doc) VALUES ($1, $2) ON CONFLICT (mailbox) DO UPDATE SET doc = excluded.doc`,
			mbx, string(doc)); err != nil {
			return err
		}
		stored = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range stored.Delegates {
		if stored.Delegates[i].Levels == nil {
			stored.Delegates[i].Levels = map[string]string{}
		}
	}
	return stored, nil
}

// normalizeDelegates checks settings and returns them in stored form.
func normalizeDelegates(d *DelegateSettings) (*DelegateSettings, error) {
	v := &DelegateSettings{DeliverMeetingRequests: d.DeliverMeetingRequests}
	var ok bool
	if v.DeliverMeetingRequests == "" {
		v.DeliverMeetingRequests = "DelegatesAndSendInformationToMe"
	}
	if v.DeliverMeetingRequests, ok = canon(v.DeliverMeetingRequests, DeliverMeetingRequestsValues); !ok {
		return nil, fmt.Errorf("%w: DeliverMeetingRequests %q", ErrInvalidArgument, d.DeliverMeetingRequests)
	}
	for _, dl := range d.Delegates {
		n := Delegate{User: dl.User, Levels: map[string]string{}, ReceiveCopiesOfMeetingMessages: dl.ReceiveCopiesOfMeetingMessages, ViewPrivateItems: dl.ViewPrivateItems}
		for f, l := range dl.Levels {
			lv, ok := canon(l, DelegateLevels)
			if !ok || !IsDelegateFolder(f) {
				return nil, fmt.Errorf("%w: %s on %s", ErrDelegateLevel, l, f)
			}
			if lv != "None" {
				n.Levels[f] = lv
			}
		}
		if v.Find(n.User) != nil {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateUser, n.User)
		}
		v.Delegates = append(v.Delegates, n)
	}
	return v, nil
}

// readDelegates reads mbx's stored settings (defaults when none), every
// delegate with a non-nil Levels map.
func readDelegates(ctx context.Context, q querier, mbx string) (*DelegateSettings, error) {
	d := &DelegateSettings{DeliverMeetingRequests: "DelegatesAndSendInformationToMe"}
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM mailbox_delegates WHERE mailbox = $1`, mbx).Scan(&doc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), d); err != nil {
		return nil, fmt.Errorf("read delegates: %w", err)
	}
	for i := range d.Delegates {
		if d.Delegates[i].Levels == nil {
			d.Delegates[i].Levels = map[string]string{}
		}
	}
	return d, nil
}

// IsDelegateFolder reports whether name (a distinguished folder name) is
// one of DelegateFolders.
func IsDelegateFolder(name string) bool {
	for _, f := range DelegateFolders {
		if f == name {
			return true
		}
	}
	return false
}

// applyDelegateACL rewrites the delegate entries of one folder's ACL.
func (w *wtx) applyDelegateACL(mbx, name string, old, cur *DelegateSettings) error {
	var key int64
	err := w.tx.QueryRowContext(w.ctx, `SELECT fkey FROM mailbox_folders WHERE mailbox = $1 AND distinguished = $2`, mbx, name).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // a mailbox without that folder: nothing to grant on it
	}
	if err != nil {
		return err
	}
	f, err := getFolder(w.ctx, w.tx, mbx, key)
	if err != nil {
		return err
	}
	acl, err := readACL(w.ctx, w.tx, mbx, key)
	if err != nil {
		return err
	}
	// Only entries whose level changed are touched: an entry changed by
	// other means (a folder permission) stays as it is until the
	// delegate's level on this folder changes.
	want := map[string]string{} // user → level to set; "" = remove
	before := map[string]string{}
	for _, d := range old.Delegates {
		before[d.User] = d.Level(name)
		if d.Level(name) != "None" {
			want[d.User] = ""
		}
	}
	for _, d := range cur.Delegates {
		lv := d.Level(name)
		switch {
		case before[d.User] == lv || lv == "Custom":
			delete(want, d.User)
		case lv != "None":
			want[d.User] = lv
		}
	}
	if len(want) == 0 {
		return nil
	}
	out := make([]Permission, 0, len(acl)+len(want))
	for _, p := range acl {
		if lv, ok := want[p.User]; ok {
			if lv != "" {
				np, _ := LevelRights(lv)
				np.User = p.User
				out = append(out, np)
			}
			delete(want, p.User)
			continue
		}
		out = append(out, p)
	}
	for _, d := range cur.Delegates { // new entries, in delegate order
		if lv, ok := want[d.User]; ok && lv != "" {
			np, _ := LevelRights(lv)
			np.User = d.User
			out = append(out, np)
		}
	}
	seq, err := w.log(mbx, OpFolderUpdate, 0, key, 0)
	if err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx, `UPDATE mailbox_folders SET seq = $3 WHERE mailbox = $1 AND fkey = $2`, mbx, key, seq); err != nil {
		return err
	}
	return w.writeACL(f, out)
}

// readACL reads a folder's ACL in order.
func readACL(ctx context.Context, q querier, mbx string, folder int64) ([]Permission, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT principal, can_create_items, can_create_subfolders, is_folder_owner, is_folder_visible, is_folder_contact,
		        edit_items, delete_items, read_items, level
		 FROM mailbox_permissions WHERE mailbox = $1 AND folder = $2 ORDER BY pos`, mbx, folder)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Permission
	for rows.Next() {
		var p Permission
		if err := rows.Scan(&p.User, &p.CanCreateItems, &p.CanCreateSubFolders, &p.IsFolderOwner, &p.IsFolderVisible,
			&p.IsFolderContact, &p.EditItems, &p.DeleteItems, &p.ReadItems, &p.Level); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
