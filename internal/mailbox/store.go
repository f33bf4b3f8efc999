package mailbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Store is the SQL implementation of Mailboxes. Its tables (mailboxes,
// mailbox_folders, mailbox_items, mailbox_attachments, mailbox_permissions,
// mailbox_oof, mailbox_journal) come from the store's migrations; the SQL it
// runs is portable between SQLite and PostgreSQL ($n placeholders, ON
// CONFLICT, RETURNING, LIMIT/OFFSET, no engine-specific functions).
//
// Concurrency: every write transaction starts by updating the mailbox's row
// in the mailboxes table (its sequence and key counters), which serializes
// writers of one mailbox on any engine, so journal sequence numbers commit
// in order and Journal(after) never skips a row that commits later.
// Transactions touching several mailboxes lock them in id order.
type Store struct {
	db  *sql.DB // writes (and reads when rdb is nil)
	rdb *sql.DB // reads (WithReader)
	now func() time.Time
	// beforeCommit, when set (tests), runs after every statement of a write
	// and before its commit; an error rolls the whole write back.
	beforeCommit func(what string) error
	hooks        commitHooks // OnCommit (commit.go)
	stmts        stmtCache   // prepared statements on db (stmts.go)
	rstmts       stmtCache   // and on rdb
}

var _ Mailboxes = (*Store)(nil)

// Open returns a Store on db, which must already carry the store migrations
// (store.OpenSQLite does that).
func Open(db *sql.DB) *Store {
	return &Store{db: db, now: time.Now}
}

// WithReader makes reads use rdb, read-only connections to the same
// database (store.SQLite.ReadDB), so that they neither wait for the writer
// nor make it wait. It returns s.
func (s *Store) WithReader(rdb *sql.DB) *Store {
	s.rdb = rdb
	return s
}

// Journal operations (Change.Op).
const (
	OpCreate       = "create"
	OpUpdate       = "update"
	OpDelete       = "delete"
	OpMove         = "move"
	OpCopy         = "copy"
	OpReadFlag     = "readflag"
	OpFolderCreate = "folder-create"
	OpFolderUpdate = "folder-update"
	OpFolderDelete = "folder-delete"
	// OpOof records SetOof (no item or folder), for the audit trail; sync
	// ignores it.
	OpOof = "oof"
)

// SystemActor is the actor recorded for writes nobody asked for directly
// (Ensure creating the default folders).
var SystemActor = Actor{Via: "system"}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micro and fromMicro convert times to and from the stored form: Unix
// microseconds, 0 for the zero time.
func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicro(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// normTime is the precision and zone every stored time has.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ---------------------------------------------------------------------------
// Transactions

// wtx is one write transaction: the locked mailboxes with their counters
// (written back at commit), the actor, and the time of the write.
type wtx struct {
	ctx context.Context
	tx  cachedTx
	a   Actor
	now time.Time
	mbx map[string]*counters
}

type counters struct{ seq, folder, item int64 }

// write runs fn in one transaction after locking mbxs (which must exist:
// ErrNotFound otherwise). With create, missing mailboxes rows are inserted
// first (Ensure).
func (s *Store) write(ctx context.Context, what string, a Actor, mbxs []string, create bool, fn func(w *wtx) error) error {
	tx, err := begin(ctx, s.db, &s.stmts)
	if err != nil {
		return fmt.Errorf("mailbox: %s: begin: %w", what, err)
	}
	defer s.stmts.afterTx(ctx, s.db)
	defer tx.Rollback()
	w := &wtx{ctx: ctx, tx: tx, a: a, now: normTime(s.now()), mbx: map[string]*counters{}}
	sorted := slices.Clone(mbxs)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	for _, m := range sorted {
		if create {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO mailboxes (id, last_seq, last_folder, last_item, created) VALUES ($1, 0, 0, 0, $2)
				 ON CONFLICT (id) DO NOTHING`, m, micro(w.now)); err != nil {
				return fmt.Errorf("mailbox: %s: create mailbox %s: %w", what, m, err)
			}
		}
		if err := w.lock(m); err != nil {
			return fmt.Errorf("mailbox: %s: %w", what, err)
		}
	}
	if err := fn(w); err != nil {
		return fmt.Errorf("mailbox: %s: %w", what, err)
	}
	for _, m := range sorted {
		c := w.mbx[m]
		if _, err := tx.ExecContext(ctx,
			`UPDATE mailboxes SET last_seq = $2, last_folder = $3, last_item = $4 WHERE id = $1`,
			m, c.seq, c.folder, c.item); err != nil {
			return fmt.Errorf("mailbox: %s: save counters: %w", what, err)
		}
	}
	if s.beforeCommit != nil {
		if err := s.beforeCommit(what); err != nil {
			return fmt.Errorf("mailbox: %s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mailbox: %s: commit: %w", what, err)
	}
	s.committed(sorted)
	return nil
}

// lock takes the mailbox's row lock and reads its counters.
func (w *wtx) lock(mbx string) error {
	c := &counters{}
	err := w.tx.QueryRowContext(w.ctx,
		`UPDATE mailboxes SET last_seq = last_seq WHERE id = $1 RETURNING last_seq, last_folder, last_item`,
		mbx).Scan(&c.seq, &c.folder, &c.item)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("mailbox %s: %w", mbx, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock mailbox %s: %w", mbx, err)
	}
	w.mbx[mbx] = c
	return nil
}

func (w *wtx) counters(mbx string) *counters {
	c := w.mbx[mbx]
	if c == nil {
		panic("mailbox: internal error: mailbox " + mbx + " not locked")
	}
	return c
}

func (w *wtx) nextFolder(mbx string) int64 { c := w.counters(mbx); c.folder++; return c.folder }
func (w *wtx) nextItem(mbx string) int64   { c := w.counters(mbx); c.item++; return c.item }

// log appends a journal row and returns its sequence number.
func (w *wtx) log(mbx, op string, item, folder, oldFolder int64) (int64, error) {
	return w.logFrom(mbx, op, item, folder, oldFolder, 0)
}

// logFrom is log with the source item of a copy.
func (w *wtx) logFrom(mbx, op string, item, folder, oldFolder, oldItem int64) (int64, error) {
	c := w.counters(mbx)
	c.seq++
	if _, err := w.tx.ExecContext(w.ctx,
		`INSERT INTO mailbox_journal (mailbox, seq, op, item, folder, old_folder, old_item, actor, via, at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		mbx, c.seq, op, item, folder, oldFolder, oldItem, w.a.ID, w.a.Via, micro(w.now)); err != nil {
		return 0, fmt.Errorf("journal: %w", err)
	}
	return c.seq, nil
}

// read runs fn in one transaction, so a read's several queries see one
// state.
func (s *Store) read(ctx context.Context, what string, fn func(q querier) error) error {
	db, c := s.db, &s.stmts
	if s.rdb != nil {
		db, c = s.rdb, &s.rstmts
	}
	tx, err := begin(ctx, db, c)
	if err != nil {
		return fmt.Errorf("mailbox: %s: begin: %w", what, err)
	}
	defer c.afterTx(ctx, db)
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("mailbox: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mailbox: %s: commit: %w", what, err)
	}
	return nil
}

// mailboxExists reports ErrNotFound for an unknown mailbox.
func mailboxExists(ctx context.Context, q querier, mbx string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM mailboxes WHERE id = $1`, mbx).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("mailbox %s: %w", mbx, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("mailbox %s: %w", mbx, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Mailboxes

// defaultFolders are the folders Ensure creates, parents first.
var defaultFolders = []struct{ name, parent, display, class string }{
	{"root", "", "", "IPF.Note"},
	{"msgfolderroot", "root", "Top of Information Store", "IPF.Note"},
	{"inbox", "msgfolderroot", "Inbox", "IPF.Note"},
	{"drafts", "msgfolderroot", "Drafts", "IPF.Note"},
	{"sentitems", "msgfolderroot", "Sent Items", "IPF.Note"},
	{"deleteditems", "msgfolderroot", "Deleted Items", "IPF.Note"},
	{"outbox", "msgfolderroot", "Outbox", "IPF.Note"},
	{"junkemail", "msgfolderroot", "Junk Email", "IPF.Note"},
	{"calendar", "msgfolderroot", "Calendar", "IPF.Appointment"},
	{"contacts", "msgfolderroot", "Contacts", "IPF.Contact"},
	{"tasks", "msgfolderroot", "Tasks", "IPF.Task"},
	{"notes", "msgfolderroot", "Notes", "IPF.StickyNote"},
	{"journal", "msgfolderroot", "Journal", "IPF.Journal"},
	{"recoverableitemsroot", "root", "Recoverable Items", "IPF.Note"},
	{"recoverableitemsdeletions", "recoverableitemsroot", "Deletions", "IPF.Note"},
}

// DistinguishedNames lists the distinguished folder names Ensure creates,
// parents before children.
func DistinguishedNames() []string {
	names := make([]string, len(defaultFolders))
	for i, d := range defaultFolders {
		names[i] = d.name
	}
	return names
}

// Ensure implements Mailboxes. mbx must be a canonical lower-case GUID
// (an error wrapping ErrNoMailbox otherwise). When every default folder
// exists it only reads; the folders it creates are journaled as
// "folder-create" by SystemActor.
func (s *Store) Ensure(ctx context.Context, mbx string) error {
	if !ValidMailboxID(mbx) {
		return fmt.Errorf("mailbox: ensure %q: not a recipient GUID: %w", mbx, ErrNoMailbox)
	}
	var n int
	if err := s.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM mailbox_folders WHERE mailbox = $1 AND distinguished <> ''`, mbx).Scan(&n); err != nil {
		return fmt.Errorf("mailbox: ensure %s: %w", mbx, err)
	}
	if n >= len(defaultFolders) {
		return nil
	}
	return s.write(ctx, "ensure "+mbx, SystemActor, []string{mbx}, true, func(w *wtx) error {
		have := map[string]int64{}
		rows, err := w.tx.QueryContext(w.ctx,
			`SELECT distinguished, fkey FROM mailbox_folders WHERE mailbox = $1 AND distinguished <> ''`, mbx)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var key int64
			if err := rows.Scan(&name, &key); err != nil {
				rows.Close()
				return err
			}
			have[name] = key
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range defaultFolders {
			if _, ok := have[d.name]; ok {
				continue
			}
			var parent int64
			if d.parent != "" {
				parent = have[d.parent]
			}
			name := d.display
			if parent != 0 {
				// A user folder may already hold the name (a default folder
				// added by a later version): take the next free "Name (n)".
				if name, err = w.freeName(mbx, parent, name, 0); err != nil {
					return err
				}
			}
			f, err := w.insertFolder(mbx, parent, d.name, name, d.class)
			if err != nil {
				return fmt.Errorf("create %s: %w", d.name, err)
			}
			have[d.name] = f.Key
		}
		return nil
	})
}

// Remove implements Mailboxes: it deletes the mailbox's folders, items,
// attachments, permissions, OOF settings and journal. Removing a mailbox
// that does not exist is not an error.
func (s *Store) Remove(ctx context.Context, mbx string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM mailboxes WHERE id = $1`, mbx); err != nil {
		return fmt.Errorf("mailbox: remove %s: %w", mbx, err)
	}
	return nil
}

// JournalHead returns the sequence of mbx's last journal row (0: none);
// notifications start new subscriptions there.
func (s *Store) JournalHead(ctx context.Context, mbx string) (int64, error) {
	var seq int64
	err := s.read(ctx, "journal head", func(q querier) error {
		err := q.QueryRowContext(ctx, `SELECT last_seq FROM mailboxes WHERE id = $1`, mbx).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %s: %w", mbx, ErrNotFound)
		}
		return err
	})
	return seq, err
}

// Journal implements Mailboxes. A limit <= 0 means no limit.
func (s *Store) Journal(ctx context.Context, mbx string, after int64, limit int) ([]Change, error) {
	var out []Change
	err := s.read(ctx, "journal "+mbx, func(q querier) error {
		if err := mailboxExists(ctx, q, mbx); err != nil {
			return err
		}
		query := `SELECT seq, op, item, folder, old_folder, old_item, actor, via, at FROM mailbox_journal
			WHERE mailbox = $1 AND seq > $2 ORDER BY seq`
		args := []any{mbx, after}
		if limit > 0 {
			query += ` LIMIT $3`
			args = append(args, limit)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := Change{Mailbox: mbx}
			var at int64
			if err := rows.Scan(&c.Seq, &c.Op, &c.ItemKey, &c.FolderKey, &c.OldFolderKey, &c.OldItemKey, &c.Actor.ID, &c.Actor.Via, &at); err != nil {
				return err
			}
			c.At = fromMicro(at)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}
