package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
}

// SQLite is the embedded store: one database file in the data directory,
// WAL journal, foreign keys enforced.
type SQLite struct {
	db *sql.DB
}

// OpenSQLite opens (creating if needed) DIR/actas.db and runs migrations.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "actas.db")
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and reads are served from memory.
	db.SetMaxOpenConns(1)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

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

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }
