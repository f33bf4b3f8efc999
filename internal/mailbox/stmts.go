package mailbox

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// Prepared statements. Preparing dominated small reads (SQLite parses and
// plans every statement afresh), so the store keeps each statement text it
// runs prepared, up to maxStmts of them per database. A write transaction
// holds the writer's only connection, so a statement cannot be prepared on
// that database while one is open: a text seen for the first time runs
// unprepared and is prepared right after its transaction ends; later
// transactions bind the prepared statement to themselves
// (sql.Tx.StmtContext), which reuses it on a connection that has it and
// prepares it on one that has not. Texts built for a list of values
// (IN (...)) are not kept. One prepared statement serves one query at a
// time on a connection: a transaction must not run a text again while the
// rows of its previous run are still open (no code does; reads collect
// their rows first).

const maxStmts = 512

type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

// cachedTx is a transaction whose statements go through the cache.
type cachedTx struct {
	*sql.Tx
	c *stmtCache
}

func (c *stmtCache) get(q string) *sql.Stmt {
	if strings.Contains(q, " IN (") {
		return nil // built for a list of some length: each length would be one more text
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[q]
	if st == nil && len(c.stmts)+len(c.pending) < maxStmts {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[q] = true
	}
	return st
}

// prepare prepares the texts seen since the last call; the connection must
// be free (no transaction of this goroutine open).
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	texts := make([]string, 0, len(c.pending))
	for q := range c.pending {
		texts = append(texts, q)
	}
	c.pending = nil
	c.mu.Unlock()
	for _, q := range texts {
		st, err := db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue // it runs unprepared, as before
		}
		c.mu.Lock()
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		if c.stmts[q] == nil {
			c.stmts[q] = st
			st = nil
		}
		c.mu.Unlock()
		if st != nil {
			st.Close()
		}
	}
}

func (t cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.c.get(q); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t cachedTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.c.get(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.c.get(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// begin starts a transaction on db whose statements use the cache c (one
// cache per database).
func begin(ctx context.Context, db *sql.DB, c *stmtCache) (cachedTx, error) {
	tx, err := db.BeginTx(ctx, nil)
	return cachedTx{Tx: tx, c: c}, err
}

// afterTx prepares on db what a transaction ran for the first time.
func (c *stmtCache) afterTx(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n > 0 {
		c.prepare(ctx, db)
	}
}
