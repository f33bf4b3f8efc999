package notify

// Subscriptions survive a restart: the hub writes each subscription to a
// Persister when it is created, deletes it when it ends, and writes the
// cursors (and idle clocks) that moved every FlushEvery and on Close. A
// restarted hub loads them with Restore, so GetEvents and
// GetStreamingEvents with the same id go on from where they were and push
// subscriptions post again. After a crash a streaming or push cursor may be
// up to FlushEvery behind: those events are sent again (at least once),
// never lost.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Record is a subscription as it is persisted.
type Record struct {
	ID              string
	Kind            string
	Owner           string
	Mailbox         string
	Folders         []int64 // nil: every folder
	Types           []string
	Timeout         time.Duration
	URL             string
	StatusFrequency time.Duration
	CallerData      string
	Cursor          int64
	LastUsed        time.Time
}

// Progress is the part of a record that changes while it is used.
type Progress struct {
	Cursor   int64
	LastUsed time.Time
}

// Persister keeps subscription records (SQLPersister in this package).
type Persister interface {
	SaveSubscription(ctx context.Context, r Record) error
	DeleteSubscriptions(ctx context.Context, ids []string) error
	SaveProgress(ctx context.Context, p map[string]Progress) error
	LoadSubscriptions(ctx context.Context) ([]Record, error)
}

// FlushEvery is how often moved cursors are written.
var FlushEvery = 5 * time.Second

func (s *Subscription) record() Record {
	r := Record{ID: s.ID, Kind: s.Kind, Owner: s.Owner, Mailbox: s.Mailbox, Timeout: s.Timeout,
		URL: s.URL, StatusFrequency: s.StatusFrequency, CallerData: s.CallerData}
	if s.Folders != nil {
		r.Folders = []int64{}
		for k := range s.Folders {
			r.Folders = append(r.Folders, k)
		}
	}
	for t := range s.Types {
		r.Types = append(r.Types, t)
	}
	s.mu.Lock()
	r.Cursor, r.LastUsed = s.cursor, s.lastUsed
	s.mu.Unlock()
	return r
}

func fromRecord(r Record) *Subscription {
	s := &Subscription{ID: r.ID, Kind: r.Kind, Owner: r.Owner, Mailbox: r.Mailbox, Timeout: r.Timeout,
		URL: r.URL, StatusFrequency: r.StatusFrequency, CallerData: r.CallerData, cursor: r.Cursor, lastUsed: r.LastUsed}
	if r.Folders != nil {
		s.Folders = map[int64]bool{}
		for _, k := range r.Folders {
			s.Folders[k] = true
		}
	}
	if r.Types != nil {
		s.Types = map[string]bool{}
		for _, t := range r.Types {
			s.Types[t] = true
		}
	}
	return s
}

// Restore makes the hub persist its subscriptions to p and loads those p
// holds (call it once, before serving). It returns the restored
// subscriptions; the caller restarts push deliveries. A streaming
// subscription's idle clock restarts now: the restart is not the client's
// absence.
func (h *Hub) Restore(ctx context.Context, p Persister, log *slog.Logger) ([]*Subscription, error) {
	recs, err := p.LoadSubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: restore subscriptions: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := h.now()
	var out []*Subscription
	h.mu.Lock()
	h.persist, h.plog = p, log
	h.dirty = map[string]bool{}
	for _, r := range recs {
		s := fromRecord(r)
		if s.Kind == Streaming || s.lastUsed.IsZero() {
			s.lastUsed = now
		}
		s.hub = h
		h.track(s)
		out = append(out, s)
	}
	h.mu.Unlock()
	go h.flusher()
	return out, nil
}

// saved writes a new subscription; without a persister it does nothing.
func (h *Hub) saved(ctx context.Context, s *Subscription) error {
	h.mu.Lock()
	p := h.persist
	h.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.SaveSubscription(ctx, s.record())
}

// deleted forgets ended subscriptions.
func (h *Hub) deleted(ids ...string) {
	h.mu.Lock()
	p, log := h.persist, h.plog
	for _, id := range ids {
		delete(h.dirty, id)
	}
	h.mu.Unlock()
	if p == nil || len(ids) == 0 {
		return
	}
	if err := p.DeleteSubscriptions(context.Background(), ids); err != nil {
		log.Warn("notify: cannot delete ended subscriptions; they come back after a restart", "subscriptions", ids, "error", err)
	}
}

// touched notes that a subscription's cursor or idle clock moved.
func (h *Hub) touched(id string) {
	h.mu.Lock()
	if h.dirty != nil && h.subs[id] != nil {
		h.dirty[id] = true
	}
	h.mu.Unlock()
}

func (h *Hub) flusher() {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.Flush(context.Background())
	}
}

// Flush writes the cursors and idle clocks that moved since the last
// flush.
func (h *Hub) Flush(ctx context.Context) {
	h.mu.Lock()
	p, log := h.persist, h.plog
	if p == nil || len(h.dirty) == 0 {
		h.mu.Unlock()
		return
	}
	batch := make(map[string]Progress, len(h.dirty))
	for id := range h.dirty {
		if s := h.subs[id]; s != nil {
			s.mu.Lock()
			batch[id] = Progress{Cursor: s.cursor, LastUsed: s.lastUsed}
			s.mu.Unlock()
		}
	}
	h.dirty = map[string]bool{}
	h.mu.Unlock()
	if err := p.SaveProgress(ctx, batch); err != nil {
		log.Warn("notify: cannot save subscription cursors; retrying at the next flush", "subscriptions", len(batch), "error", err)
		h.mu.Lock()
		for id := range batch {
			if h.subs[id] != nil {
				h.dirty[id] = true
			}
		}
		h.mu.Unlock()
	}
}

// --- SQL ---

// SQLPersister keeps subscriptions in the store's ews_subscriptions table
// (portable SQL: $n placeholders, ON CONFLICT). A subscription row goes
// with its mailbox (foreign key, ON DELETE CASCADE).
type SQLPersister struct{ db *sql.DB }

// NewSQLPersister returns a Persister over db, which carries the store's
// migrations.
func NewSQLPersister(db *sql.DB) *SQLPersister { return &SQLPersister{db: db} }

// recordDoc is the JSON of the fixed part of a record.
type recordDoc struct {
	Kind            string   `json:"kind"`
	Owner           string   `json:"owner"`
	Folders         []int64  `json:"folders,omitempty"`
	AllFolders      bool     `json:"allFolders,omitempty"`
	Types           []string `json:"types,omitempty"`
	TimeoutSeconds  int64    `json:"timeoutSeconds,omitempty"`
	URL             string   `json:"url,omitempty"`
	StatusFrequency int64    `json:"statusFrequencySeconds,omitempty"`
	CallerData      string   `json:"callerData,omitempty"`
}

// SaveSubscription implements Persister.
func (p *SQLPersister) SaveSubscription(ctx context.Context, r Record) error {
	doc, err := json.Marshal(recordDoc{Kind: r.Kind, Owner: r.Owner, Folders: r.Folders, AllFolders: r.Folders == nil, Types: r.Types,
		TimeoutSeconds: int64(r.Timeout / time.Second), URL: r.URL, StatusFrequency: int64(r.StatusFrequency / time.Second), CallerData: r.CallerData})
	if err != nil {
		return fmt.Errorf("notify: save subscription: %w", err)
	}
	if _, err := p.db.ExecContext(ctx,
		`INSERT INTO ews_subscriptions (id, mailbox, doc, cursor, last_used) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, cursor = excluded.cursor, last_used = excluded.last_used`,
		r.ID, r.Mailbox, string(doc), r.Cursor, r.LastUsed.UnixMicro()); err != nil {
		return fmt.Errorf("notify: save subscription %s: %w", r.ID, err)
	}
	return nil
}

// DeleteSubscriptions implements Persister.
func (p *SQLPersister) DeleteSubscriptions(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if _, err := p.db.ExecContext(ctx, `DELETE FROM ews_subscriptions WHERE id = $1`, id); err != nil {
			return fmt.Errorf("notify: delete subscription %s: %w", id, err)
		}
	}
	return nil
}

// SaveProgress implements Persister: one transaction for the batch. Rows
// already deleted are left deleted.
func (p *SQLPersister) SaveProgress(ctx context.Context, batch map[string]Progress) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("notify: save cursors: %w", err)
	}
	defer tx.Rollback()
	for id, pr := range batch {
		if _, err := tx.ExecContext(ctx, `UPDATE ews_subscriptions SET cursor = $2, last_used = $3 WHERE id = $1`,
			id, pr.Cursor, pr.LastUsed.UnixMicro()); err != nil {
			return fmt.Errorf("notify: save cursor of %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("notify: save cursors: %w", err)
	}
	return nil
}

// LoadSubscriptions implements Persister.
func (p *SQLPersister) LoadSubscriptions(ctx context.Context) ([]Record, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT id, mailbox, doc, cursor, last_used FROM ews_subscriptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("notify: load subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var doc string
		var last int64
		if err := rows.Scan(&r.ID, &r.Mailbox, &doc, &r.Cursor, &last); err != nil {
			return nil, fmt.Errorf("notify: load subscriptions: %w", err)
		}
		var d recordDoc
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("notify: load subscription %s: %w", r.ID, err)
		}
		if d.Kind != Pull && d.Kind != Push && d.Kind != Streaming {
			return nil, fmt.Errorf("notify: load subscription %s: %w", r.ID, errors.New("unknown kind "+d.Kind))
		}
		r.Kind, r.Owner, r.Types, r.URL, r.CallerData = d.Kind, d.Owner, d.Types, d.URL, d.CallerData
		r.Timeout, r.StatusFrequency = time.Duration(d.TimeoutSeconds)*time.Second, time.Duration(d.StatusFrequency)*time.Second
		if !d.AllFolders {
			r.Folders = d.Folders
			if r.Folders == nil {
				r.Folders = []int64{}
			}
		}
		r.LastUsed = time.UnixMicro(last)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: load subscriptions: %w", err)
	}
	return out, nil
}
