package mailbox

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

const folderCols = `fkey, COALESCE(parent, 0), distinguished, name, class, seq`

type scanner interface{ Scan(dest ...any) error }

func scanFolder(mbx string, r scanner) (*Folder, error) {
	f := &Folder{Mailbox: mbx}
	var seq int64
	if err := r.Scan(&f.Key, &f.ParentKey, &f.Distinguished, &f.DisplayName, &f.Class, &seq); err != nil {
		return nil, err
	}
	f.ChangeKey = ChangeKey(seq)
	return f, nil
}

// getFolder reads one folder without its counts.
func getFolder(ctx context.Context, q querier, mbx string, key int64) (*Folder, error) {
	f, err := scanFolder(mbx, q.QueryRowContext(ctx,
		`SELECT `+folderCols+` FROM mailbox_folders WHERE mailbox = $1 AND fkey = $2`, mbx, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("folder %d of %s: %w", key, mbx, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("folder %d: %w", key, err)
	}
	return f, nil
}

// folderTree is every folder of one mailbox, by key.
type folderTree map[int64]*Folder

func loadTree(ctx context.Context, q querier, mbx string) (folderTree, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+folderCols+` FROM mailbox_folders WHERE mailbox = $1`, mbx)
	if err != nil {
		return nil, fmt.Errorf("folders: %w", err)
	}
	defer rows.Close()
	t := folderTree{}
	for rows.Next() {
		f, err := scanFolder(mbx, rows)
		if err != nil {
			return nil, fmt.Errorf("folders: %w", err)
		}
		t[f.Key] = f
	}
	return t, rows.Err()
}

// byName returns the distinguished folder's key, or 0.
func (t folderTree) byName(name string) int64 {
	for k, f := range t {
		if f.Distinguished == name {
			return k
		}
	}
	return 0
}

// within reports whether key is anc or below it.
func (t folderTree) within(key, anc int64) bool {
	if anc == 0 {
		return false
	}
	for i := 0; key != 0 && i <= len(t); i++ {
		if key == anc {
			return true
		}
		f := t[key]
		if f == nil {
			return false
		}
		key = f.ParentKey
	}
	return false
}

// children returns the direct subfolders of key, by name then key.
func (t folderTree) children(key int64) []*Folder {
	var out []*Folder
	for _, f := range t {
		if f.ParentKey == key && f.Key != key {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *Folder) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName)),
			cmp.Compare(a.DisplayName, b.DisplayName), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// subtree returns key's descendants (not key itself) in pre-order: parents
// before children, siblings by name.
func (t folderTree) subtree(key int64) []*Folder {
	var out []*Folder
	stack := slices.Clone(t.children(key))
	slices.Reverse(stack)
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, f)
		kids := t.children(f.Key)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return out
}

// itemCounts returns the total and unread item counts of every folder of
// the mailbox that has items.
func itemCounts(ctx context.Context, q querier, mbx string) (map[int64][2]int, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT folder, COUNT(*), COALESCE(SUM(CASE WHEN is_read THEN 0 ELSE 1 END), 0)
		 FROM mailbox_items WHERE mailbox = $1 GROUP BY folder`, mbx)
	if err != nil {
		return nil, fmt.Errorf("count items: %w", err)
	}
	defer rows.Close()
	out := map[int64][2]int{}
	for rows.Next() {
		var k int64
		var n [2]int
		if err := rows.Scan(&k, &n[0], &n[1]); err != nil {
			return nil, fmt.Errorf("count items: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

// fillCounts sets f's counts.
func fillCounts(ctx context.Context, q querier, f *Folder) error {
	if err := q.QueryRowContext(ctx,
		`SELECT COUNT(*), COALESCE(SUM(CASE WHEN is_read THEN 0 ELSE 1 END), 0)
		 FROM mailbox_items WHERE mailbox = $1 AND folder = $2`, f.Mailbox, f.Key).Scan(&f.TotalCount, &f.UnreadCount); err != nil {
		return fmt.Errorf("count items: %w", err)
	}
	if err := q.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM mailbox_folders WHERE mailbox = $1 AND parent = $2`, f.Mailbox, f.Key).Scan(&f.ChildFolderCount); err != nil {
		return fmt.Errorf("count folders: %w", err)
	}
	return nil
}

// Folder implements Mailboxes.
func (s *Store) Folder(ctx context.Context, mbx string, key int64) (*Folder, error) {
	var f *Folder
	err := s.read(ctx, "folder", func(q querier) error {
		var err error
		if f, err = getFolder(ctx, q, mbx, key); err != nil {
			return err
		}
		return fillCounts(ctx, q, f)
	})
	return f, err
}

// Distinguished implements Mailboxes. name is matched case-insensitively.
func (s *Store) Distinguished(ctx context.Context, mbx, name string) (*Folder, error) {
	var f *Folder
	err := s.read(ctx, "distinguished folder "+name, func(q querier) error {
		var err error
		f, err = scanFolder(mbx, q.QueryRowContext(ctx,
			`SELECT `+folderCols+` FROM mailbox_folders WHERE mailbox = $1 AND distinguished = $2`,
			mbx, strings.ToLower(name)))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s of %s: %w", name, mbx, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return fillCounts(ctx, q, f)
	})
	return f, err
}

// Children implements Mailboxes: pre-order (parents before children),
// siblings by case-insensitive name, then key.
func (s *Store) Children(ctx context.Context, mbx string, parent int64, deep bool) ([]*Folder, error) {
	var out []*Folder
	err := s.read(ctx, "list folders", func(q querier) error {
		t, err := loadTree(ctx, q, mbx)
		if err != nil {
			return err
		}
		if t[parent] == nil {
			return fmt.Errorf("folder %d of %s: %w", parent, mbx, ErrNotFound)
		}
		if deep {
			out = t.subtree(parent)
		} else {
			out = t.children(parent)
		}
		counts, err := itemCounts(ctx, q, mbx)
		if err != nil {
			return err
		}
		kids := map[int64]int{}
		for _, f := range t {
			if f.ParentKey != 0 {
				kids[f.ParentKey]++
			}
		}
		for _, f := range out {
			n := counts[f.Key]
			f.TotalCount, f.UnreadCount, f.ChildFolderCount = n[0], n[1], kids[f.Key]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// validFolderName rejects empty names, names of blanks, control characters
// and names over 255 characters.
func validFolderName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: empty folder name", ErrInvalidArgument)
	}
	if len([]rune(name)) > 255 {
		return fmt.Errorf("%w: folder name longer than 255 characters", ErrInvalidArgument)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\uFFFD' {
			return fmt.Errorf("%w: control or invalid character in folder name", ErrInvalidArgument)
		}
	}
	return nil
}

func nameKey(name string) string { return strings.ToLower(name) }

// nameTaken reports whether parent has a child other than except named
// name (case-insensitively).
func (w *wtx) nameTaken(mbx string, parent int64, name string, except int64) (bool, error) {
	var k int64
	err := w.tx.QueryRowContext(w.ctx,
		`SELECT fkey FROM mailbox_folders WHERE mailbox = $1 AND parent = $2 AND name_key = $3`,
		mbx, parent, nameKey(name)).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check folder name: %w", err)
	}
	return k != except, nil
}

// freeName returns name, or "name (n)" for the first n that is free under
// parent.
func (w *wtx) freeName(mbx string, parent int64, name string, except int64) (string, error) {
	cand := name
	for n := 2; ; n++ {
		taken, err := w.nameTaken(mbx, parent, cand, except)
		if err != nil || !taken {
			return cand, err
		}
		cand = fmt.Sprintf("%s (%d)", name, n)
	}
}

// insertFolder creates a folder with its default ACL and journals it.
func (w *wtx) insertFolder(mbx string, parent int64, distinguished, name, class string) (*Folder, error) {
	key := w.nextFolder(mbx)
	seq, err := w.log(mbx, OpFolderCreate, 0, key, 0)
	if err != nil {
		return nil, err
	}
	var p any
	if parent != 0 {
		p = parent
	}
	if _, err := w.tx.ExecContext(w.ctx,
		`INSERT INTO mailbox_folders (mailbox, fkey, parent, distinguished, name, name_key, class, seq)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		mbx, key, p, distinguished, name, nameKey(name), class, seq); err != nil {
		return nil, fmt.Errorf("insert folder: %w", err)
	}
	f := &Folder{Mailbox: mbx, Key: key, ParentKey: parent, Distinguished: distinguished,
		DisplayName: name, Class: class, ChangeKey: ChangeKey(seq)}
	if err := w.writeACL(f, []Permission{defaultACE(f)}); err != nil {
		return nil, err
	}
	return f, nil
}

// CreateFolder implements Mailboxes. An empty class stays empty: Exchange
// reports a folder created without a FolderClass without one.
func (s *Store) CreateFolder(ctx context.Context, a Actor, mbx string, parent int64, name, class string) (*Folder, error) {
	if err := validFolderName(name); err != nil {
		return nil, fmt.Errorf("mailbox: create folder: %w", err)
	}
	var f *Folder
	err := s.write(ctx, "create folder", a, []string{mbx}, false, func(w *wtx) error {
		if _, err := getFolder(w.ctx, w.tx, mbx, parent); err != nil {
			return err
		}
		taken, err := w.nameTaken(mbx, parent, name, 0)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%q: %w", name, ErrFolderExists)
		}
		f, err = w.insertFolder(mbx, parent, "", name, class)
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// RenameFolder implements Mailboxes. Renaming to the current name (or a
// change of case) is allowed; the root folder cannot be renamed.
func (s *Store) RenameFolder(ctx context.Context, a Actor, mbx string, key int64, name string) (*Folder, error) {
	if err := validFolderName(name); err != nil {
		return nil, fmt.Errorf("mailbox: rename folder: %w", err)
	}
	var out *Folder
	err := s.write(ctx, "rename folder", a, []string{mbx}, false, func(w *wtx) error {
		f, err := getFolder(w.ctx, w.tx, mbx, key)
		if err != nil {
			return err
		}
		if f.ParentKey == 0 {
			return fmt.Errorf("%w: the root folder has no name to change", ErrInvalidArgument)
		}
		taken, err := w.nameTaken(mbx, f.ParentKey, name, key)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%q: %w", name, ErrFolderExists)
		}
		seq, err := w.log(mbx, OpFolderUpdate, 0, key, 0)
		if err != nil {
			return err
		}
		if _, err = w.tx.ExecContext(w.ctx,
			`UPDATE mailbox_folders SET name = $3, name_key = $4, seq = $5 WHERE mailbox = $1 AND fkey = $2`,
			mbx, key, name, nameKey(name), seq); err != nil {
			return err
		}
		out, err = w.readFolder(mbx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readFolder reads a folder with its counts inside the write.
func (w *wtx) readFolder(mbx string, key int64) (*Folder, error) {
	f, err := getFolder(w.ctx, w.tx, mbx, key)
	if err != nil {
		return nil, err
	}
	return f, fillCounts(w.ctx, w.tx, f)
}

// MoveFolder implements Mailboxes. Distinguished folders cannot move
// (ErrMoveDistinguished), nor can a folder move under itself
// (ErrMoveIntoSelf); a name taken in the new parent gives ErrFolderExists.
// The journal row is "folder-update" with OldFolderKey the old parent.
func (s *Store) MoveFolder(ctx context.Context, a Actor, mbx string, key, newParent int64) (*Folder, error) {
	var out *Folder
	err := s.write(ctx, "move folder", a, []string{mbx}, false, func(w *wtx) error {
		t, err := loadTree(w.ctx, w.tx, mbx)
		if err != nil {
			return err
		}
		f := t[key]
		if f == nil {
			return fmt.Errorf("folder %d of %s: %w", key, mbx, ErrNotFound)
		}
		if t[newParent] == nil {
			return fmt.Errorf("folder %d of %s: %w", newParent, mbx, ErrNotFound)
		}
		if f.Distinguished != "" || f.ParentKey == 0 {
			return fmt.Errorf("%s: %w", f.DisplayName, ErrMoveDistinguished)
		}
		if t.within(newParent, key) {
			return ErrMoveIntoSelf
		}
		taken, err := w.nameTaken(mbx, newParent, f.DisplayName, key)
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%q: %w", f.DisplayName, ErrFolderExists)
		}
		if err := w.reparent(mbx, t, f, newParent, f.DisplayName); err != nil {
			return err
		}
		out, err = w.readFolder(mbx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// reparent moves f under parent with the given name.
func (w *wtx) reparent(mbx string, t folderTree, f *Folder, parent int64, name string) error {
	seq, err := w.log(mbx, OpFolderUpdate, 0, f.Key, f.ParentKey)
	if err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx,
		`UPDATE mailbox_folders SET parent = $3, name = $4, name_key = $5, seq = $6 WHERE mailbox = $1 AND fkey = $2`,
		mbx, f.Key, parent, name, nameKey(name), seq); err != nil {
		return fmt.Errorf("move folder: %w", err)
	}
	f.ParentKey, f.DisplayName, f.ChangeKey = parent, name, ChangeKey(seq)
	return nil
}

// DeleteFolder implements Mailboxes.
//
//   - HardDelete removes the folder, its subfolders and their items
//     (journal: "delete" per item, then "folder-delete" per folder, deepest
//     first).
//   - SoftDelete moves every item of the subtree to recoverableitemsdeletions
//     (remembering its folder for Traversal "SoftDeleted") and removes the
//     folders; inside Recoverable Items it is a HardDelete.
//   - MoveToDeletedItems moves the folder under deleteditems (renamed
//     "Name (n)" if the name is taken there); a folder already under
//     deleteditems is soft-deleted.
//
// A subtree holding a distinguished folder gives ErrDeleteDistinguished.
func (s *Store) DeleteFolder(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode) error {
	return s.write(ctx, "delete folder", a, []string{mbx}, false, func(w *wtx) error {
		t, err := loadTree(w.ctx, w.tx, mbx)
		if err != nil {
			return err
		}
		return w.deleteFolder(mbx, t, key, mode)
	})
}

func (w *wtx) deleteFolder(mbx string, t folderTree, key int64, mode DeleteMode) error {
	f := t[key]
	if f == nil {
		return fmt.Errorf("folder %d of %s: %w", key, mbx, ErrNotFound)
	}
	if f.Distinguished != "" || f.ParentKey == 0 {
		return fmt.Errorf("%s: %w", f.Distinguished, ErrDeleteDistinguished)
	}
	for _, d := range t.subtree(key) {
		if d.Distinguished != "" {
			return fmt.Errorf("%s: %w", d.Distinguished, ErrDeleteDistinguished)
		}
	}
	switch mode {
	case HardDelete:
		return w.purgeFolder(mbx, t, f, 0)
	case SoftDelete:
		if t.within(key, t.byName("recoverableitemsroot")) {
			return w.purgeFolder(mbx, t, f, 0)
		}
		return w.purgeFolder(mbx, t, f, t.byName("recoverableitemsdeletions"))
	case MoveToDeletedItems:
		del := t.byName("deleteditems")
		if del == 0 {
			return fmt.Errorf("deleteditems of %s: %w", mbx, ErrNotFound)
		}
		if t.within(key, del) {
			return w.deleteFolder(mbx, t, key, SoftDelete)
		}
		name, err := w.freeName(mbx, del, f.DisplayName, key)
		if err != nil {
			return err
		}
		return w.reparent(mbx, t, f, del, name)
	default:
		return fmt.Errorf("%w: delete mode %q", ErrInvalidArgument, mode)
	}
}

// purgeFolder removes f and its subtree. With keep != 0 their items move to
// folder keep (soft delete) first; otherwise they are deleted.
func (w *wtx) purgeFolder(mbx string, t folderTree, f *Folder, keep int64) error {
	all := append([]*Folder{f}, t.subtree(f.Key)...)
	for _, d := range all {
		keys, err := w.itemKeys(mbx, d.Key)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if keep != 0 {
				err = w.moveItem(mbx, k, d.Key, keep, d.Key)
			} else {
				_, err = w.log(mbx, OpDelete, k, d.Key, 0)
			}
			if err != nil {
				return err
			}
		}
	}
	for i := len(all) - 1; i >= 0; i-- {
		if _, err := w.log(mbx, OpFolderDelete, 0, all[i].Key, all[i].ParentKey); err != nil {
			return err
		}
	}
	// Subfolders, items, attachments and ACLs go by ON DELETE CASCADE.
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM mailbox_folders WHERE mailbox = $1 AND fkey = $2`, mbx, f.Key); err != nil {
		return fmt.Errorf("delete folder: %w", err)
	}
	for _, d := range all {
		delete(t, d.Key)
	}
	return nil
}

// EmptyFolder implements Mailboxes: it deletes the folder's items with mode
// (as DeleteItem does) and, with subfolders, its subfolders (as
// DeleteFolder does; ErrDeleteDistinguished if one is distinguished).
func (s *Store) EmptyFolder(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode, subfolders bool) error {
	return s.write(ctx, "empty folder", a, []string{mbx}, false, func(w *wtx) error {
		t, err := loadTree(w.ctx, w.tx, mbx)
		if err != nil {
			return err
		}
		if t[key] == nil {
			return fmt.Errorf("folder %d of %s: %w", key, mbx, ErrNotFound)
		}
		if subfolders {
			for _, d := range t.subtree(key) {
				if d.Distinguished != "" {
					return fmt.Errorf("%s: %w", d.Distinguished, ErrDeleteDistinguished)
				}
			}
		}
		keys, err := w.itemKeys(mbx, key)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := w.deleteItem(mbx, t, k, key, mode); err != nil {
				return err
			}
		}
		if subfolders {
			for _, c := range t.children(key) {
				if err := w.deleteFolder(mbx, t, c.Key, mode); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// itemKeys lists the keys of a folder's items, oldest key first.
func (w *wtx) itemKeys(mbx string, folder int64) ([]int64, error) {
	rows, err := w.tx.QueryContext(w.ctx,
		`SELECT ikey FROM mailbox_items WHERE mailbox = $1 AND folder = $2 ORDER BY ikey`, mbx, folder)
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	defer rows.Close()
	var keys []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("list items: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
