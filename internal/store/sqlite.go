package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// migrations are applied in order; each entry runs in its own transaction
// and bumps PRAGMA user_version to its 1-based index. Never edit a released
// entry: append a new one.
var migrations = []string{
	`CREATE TABLE docs (
		id   TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		org  TEXT NOT NULL,
		ns   TEXT NOT NULL,
		key  TEXT NOT NULL,
		data TEXT NOT NULL
	);
	CREATE UNIQUE INDEX docs_name ON docs(org, ns, key);
	CREATE INDEX docs_kind ON docs(kind);
	CREATE TABLE links (
		kind TEXT NOT NULL,
		src  TEXT NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
		dst  TEXT NOT NULL REFERENCES docs(id) ON DELETE CASCADE,
		PRIMARY KEY (kind, src, dst)
	);
	CREATE INDEX links_dst ON links(dst);`,
	// 2: mailbox contents (internal/mailbox). Keys are per mailbox; times are
	// Unix microseconds (0 = unset); the mailboxes row holds the counters and
	// is the per-mailbox write lock.
	`CREATE TABLE mailboxes (
		id          TEXT PRIMARY KEY,
		last_seq    BIGINT NOT NULL,
		last_folder BIGINT NOT NULL,
		last_item   BIGINT NOT NULL,
		created     BIGINT NOT NULL
	);
	CREATE TABLE mailbox_folders (
		mailbox       TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
		fkey          BIGINT NOT NULL,
		parent        BIGINT,
		distinguished TEXT NOT NULL,
		name          TEXT NOT NULL,
		name_key      TEXT NOT NULL,
		class         TEXT NOT NULL,
		seq           BIGINT NOT NULL,
		PRIMARY KEY (mailbox, fkey),
		FOREIGN KEY (mailbox, parent) REFERENCES mailbox_folders(mailbox, fkey) ON DELETE CASCADE
	);
	CREATE UNIQUE INDEX mailbox_folders_name ON mailbox_folders(mailbox, parent, name_key);
	CREATE UNIQUE INDEX mailbox_folders_distinguished ON mailbox_folders(mailbox, distinguished) WHERE distinguished <> '';
	CREATE TABLE mailbox_items (
		mailbox     TEXT NOT NULL,
		ikey        BIGINT NOT NULL,
		folder      BIGINT NOT NULL,
		from_folder BIGINT NOT NULL,
		class       TEXT NOT NULL,
		subject     TEXT NOT NULL,
		received    BIGINT NOT NULL,
		is_read     BOOLEAN NOT NULL,
		size        BIGINT NOT NULL,
		seq         BIGINT NOT NULL,
		last_att    BIGINT NOT NULL,
		data        TEXT NOT NULL,
		mime        BLOB,
		PRIMARY KEY (mailbox, ikey),
		FOREIGN KEY (mailbox, folder) REFERENCES mailbox_folders(mailbox, fkey) ON DELETE CASCADE
	);
	CREATE INDEX mailbox_items_folder ON mailbox_items(mailbox, folder, received, ikey);
	CREATE TABLE mailbox_attachments (
		mailbox      TEXT NOT NULL,
		item         BIGINT NOT NULL,
		num          BIGINT NOT NULL,
		name         TEXT NOT NULL,
		content_type TEXT NOT NULL,
		content_id   TEXT NOT NULL,
		is_inline    BOOLEAN NOT NULL,
		size         BIGINT NOT NULL,
		modified     BIGINT NOT NULL,
		content      BLOB NOT NULL,
		PRIMARY KEY (mailbox, item, num),
		FOREIGN KEY (mailbox, item) REFERENCES mailbox_items(mailbox, ikey) ON DELETE CASCADE
	);
	CREATE TABLE mailbox_permissions (
		mailbox               TEXT NOT NULL,
		folder                BIGINT NOT NULL,
		pos                   INTEGER NOT NULL,
		principal             TEXT NOT NULL,
		can_create_items      BOOLEAN NOT NULL,
		can_create_subfolders BOOLEAN NOT NULL,
		is_folder_owner       BOOLEAN NOT NULL,
		is_folder_visible     BOOLEAN NOT NULL,
		is_folder_contact     BOOLEAN NOT NULL,
		edit_items            TEXT NOT NULL,
		delete_items          TEXT NOT NULL,
		read_items            TEXT NOT NULL,
		level                 TEXT NOT NULL,
		PRIMARY KEY (mailbox, folder, principal),
		FOREIGN KEY (mailbox, folder) REFERENCES mailbox_folders(mailbox, fkey) ON DELETE CASCADE
	);
	CREATE INDEX mailbox_permissions_principal ON mailbox_permissions(principal);
	CREATE TABLE mailbox_oof (
		mailbox           TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
		state             TEXT NOT NULL,
		external_audience TEXT NOT NULL,
		start_at          BIGINT NOT NULL,
		end_at            BIGINT NOT NULL,
		internal_reply    TEXT NOT NULL,
		external_reply    TEXT NOT NULL
	);
	CREATE TABLE mailbox_journal (
		mailbox    TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
		seq        BIGINT NOT NULL,
		op         TEXT NOT NULL,
		item       BIGINT NOT NULL,
		folder     BIGINT NOT NULL,
		old_folder BIGINT NOT NULL,
		actor      TEXT NOT NULL,
		via        TEXT NOT NULL,
		at         BIGINT NOT NULL,
		PRIMARY KEY (mailbox, seq)
	);`,
	// 3: item bodies in their own column (decoding them out of the JSON blob
	// dominated folder listings); rows written before keep theirs in data.
	`ALTER TABLE mailbox_items ADD COLUMN body TEXT NOT NULL DEFAULT '';`,
	// 4: delegates of a mailbox (GetDelegate/AddDelegate/...): one JSON
	// document per mailbox with DeliverMeetingRequests and the delegate list.
	`CREATE TABLE mailbox_delegates (
		mailbox TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
		doc     TEXT NOT NULL
	);`,
	// 5: attendees' responses to a meeting, as its organizer tracks them
	// (kept beside the organizer's calendar item so a response arriving
	// never changes that item's ChangeKey under a client).
	`CREATE TABLE mailbox_meeting_responses (
		mailbox  TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
		uid      TEXT NOT NULL,
		attendee TEXT NOT NULL,
		response TEXT NOT NULL,
		at       BIGINT NOT NULL,
		PRIMARY KEY (mailbox, uid, attendee)
	);`,
	// 6: the booking decision log of resource mailboxes
	// (internal/mailbox/bookinglog.go, Get-CalendarProcessingLog); seq is
	// per mailbox; times are Unix microseconds.
	`CREATE TABLE mailbox_booking_log (
		mailbox       TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
		seq           BIGINT NOT NULL,
		at            BIGINT NOT NULL,
		source        TEXT NOT NULL,
		actor_id      TEXT NOT NULL,
		actor_address TEXT NOT NULL,
		subject       TEXT NOT NULL,
		start_at      BIGINT NOT NULL,
		end_at        BIGINT NOT NULL,
		outcome       TEXT NOT NULL,
		reason        TEXT NOT NULL,
		request_id    TEXT NOT NULL,
		PRIMARY KEY (mailbox, seq)
	);`,
	// 7: the source item of a copy within one mailbox, for CopiedEvent's
	// OldItemId (rows written before keep 0 and are reported as created).
	`ALTER TABLE mailbox_journal ADD COLUMN old_item BIGINT NOT NULL DEFAULT 0;`,
	// 8: folder counts without reading item rows (GetFolder, every
	// distinguished-folder lookup), and a meeting's copy found by its UID
	// (mailbox.Query.Match on actas:cal:uid) without scanning the calendar.
	`CREATE INDEX mailbox_items_unread ON mailbox_items(mailbox, folder, is_read);
	CREATE INDEX mailbox_items_caluid ON mailbox_items(mailbox, json_extract(data, '$.extended."actas:cal:uid"'));`,
	// 9: EWS subscriptions, so they survive a restart (internal/notify,
	// persist.go): the fixed part as JSON, the journal cursor and the idle
	// clock (Unix microseconds); a subscription goes with its mailbox.
	`CREATE TABLE ews_subscriptions (
		id        TEXT PRIMARY KEY,
		mailbox   TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
		doc       TEXT NOT NULL,
		cursor    BIGINT NOT NULL,
		last_used BIGINT NOT NULL
	);`,
	// 10: calendar windows (mailbox.Query.Window via windowRows): items by
	// their end time, and recurring masters, found through indexes.
	`CREATE INDEX mailbox_items_calend ON mailbox_items(mailbox, folder, json_extract(data, '$.extended."actas:cal:end"'), json_extract(data, '$.extended."actas:cal:start"'));
	CREATE INDEX mailbox_items_calrecur ON mailbox_items(mailbox, folder, json_extract(data, '$.extended."actas:cal:recur"'));`,
}

// SQLite is the embedded store: one database file in the data directory,
// WAL journal, foreign keys enforced.
type SQLite struct {
	db  *sql.DB // the one writer connection
	rdb *sql.DB // read-only connections (ReadDB)
}

// OpenSQLite opens (creating if needed) DIR/actas.db and runs migrations.
// Every commit is synced to disk before it returns.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	return openSQLite(ctx, dir, "FULL")
}

// OpenSQLiteThrowaway is OpenSQLite without syncing commits to disk: a crash
// may lose recent transactions (never corrupt the database). Only for data
// that is rebuilt anyway, such as `actas bench`'s.
func OpenSQLiteThrowaway(ctx context.Context, dir string) (*SQLite, error) {
	return openSQLite(ctx, dir, "OFF")
}

func openSQLite(ctx context.Context, dir, synchronous string) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "actas.db")
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(" + synchronous + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and the directory is served
	// from memory.
	db.SetMaxOpenConns(1)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Readers (mailbox contents): WAL lets them read committed data while
	// the writer writes, each transaction on its own snapshot.
	rdb, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	s.rdb = rdb
	return s, nil
}

// readers is how many read-only connections the store keeps.
var readers = max(2, runtime.GOMAXPROCS(0))

func (s *SQLite) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// Load reads every document and link.
func (s *SQLite) Load(ctx context.Context) (*Contents, error) {
	c := &Contents{}
	rows, err := s.db.QueryContext(ctx, "SELECT id, kind, org, ns, key, data FROM docs ORDER BY rowid")
	if err != nil {
		return nil, fmt.Errorf("load docs: %w", err)
	}
	for rows.Next() {
		var d Doc
		var data string
		if err := rows.Scan(&d.ID, &d.Kind, &d.Org, &d.NS, &d.Key, &data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load docs: %w", err)
		}
		d.Data = []byte(data)
		c.Docs = append(c.Docs, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load docs: %w", err)
	}
	rows, err = s.db.QueryContext(ctx, "SELECT kind, src, dst FROM links")
	if err != nil {
		return nil, fmt.Errorf("load links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l Link
		if err := rows.Scan(&l.Kind, &l.From, &l.To); err != nil {
			return nil, fmt.Errorf("load links: %w", err)
		}
		c.Links = append(c.Links, l)
	}
	return c, rows.Err()
}

// Apply writes all changes in one transaction.
func (s *SQLite) Apply(ctx context.Context, changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for _, ch := range changes {
		var err error
		switch {
		case ch.Put != nil:
			d := ch.Put
			_, err = tx.ExecContext(ctx,
				`INSERT INTO docs (id, kind, org, ns, key, data) VALUES ($1, $2, $3, $4, $5, $6)
				 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, org = excluded.org, ns = excluded.ns, key = excluded.key, data = excluded.data`,
				d.ID, d.Kind, d.Org, d.NS, d.Key, string(d.Data))
		case ch.DeleteID != "":
			_, err = tx.ExecContext(ctx, "DELETE FROM docs WHERE id = $1", ch.DeleteID)
		case ch.AddLink != nil:
			l := ch.AddLink
			_, err = tx.ExecContext(ctx, "INSERT INTO links (kind, src, dst) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", l.Kind, l.From, l.To)
		case ch.RemoveLink != nil:
			l := ch.RemoveLink
			_, err = tx.ExecContext(ctx, "DELETE FROM links WHERE kind = $1 AND src = $2 AND dst = $3", l.Kind, l.From, l.To)
		default:
			err = errors.New("empty change")
		}
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint") {
				return fmt.Errorf("%w: %v", ErrConflict, err)
			}
			return fmt.Errorf("apply: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// DB returns the underlying database, for packages that keep their own
// tables in it (internal/mailbox). Its tables come from the migrations above.
func (s *SQLite) DB() *sql.DB { return s.db }

// ReadDB returns read-only connections to the same database, for readers
// that must not wait for the writer (mailbox contents).
func (s *SQLite) ReadDB() *sql.DB { return s.rdb }

// Close closes the database.
func (s *SQLite) Close() error {
	err := s.rdb.Close()
	if e := s.db.Close(); e != nil {
		err = e
	}
	return err
}
