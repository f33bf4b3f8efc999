// Package notify holds EWS notification subscriptions (pull, streaming,
// push) over the per-mailbox change journal. A subscription is a mailbox,
// a folder filter, event types and a cursor: a journal sequence number.
// Watermarks are journal sequence numbers (opaque and checksummed on the
// wire), so a client resumes from any watermark it was given without
// losing or repeating events, and an event is derived from one journal row.
//
// The hub learns about new rows from the mailbox store's commit hook
// (Store.OnCommit) and wakes the streaming connections that watch the
// mailbox; a store without the hook is polled. With a Persister
// (persist.go) subscriptions survive a restart.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// Errors, named after the EWS response codes callers map them to.
var (
	ErrNotFound     = errors.New("notify: subscription not found")              // ErrorSubscriptionNotFound
	ErrAccessDenied = errors.New("notify: subscription of another account")     // ErrorSubscriptionAccessDenied
	ErrExpired      = errors.New("notify: subscription expired")                // ErrorExpiredSubscription
	ErrWatermark    = errors.New("notify: invalid watermark")                   // ErrorInvalidWatermark
	ErrGap          = errors.New("notify: events are missing from the journal") // ErrorMissedNotificationEvents
)

// Kinds of subscription.
const (
	Pull      = "pull"
	Streaming = "streaming"
	Push      = "push"
)

// Event type names, as EWS spells them in t:EventType.
var EventTypes = []string{"CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent", "MovedEvent", "NewMailEvent", "FreeBusyChangedEvent"}

// Source is what the hub reads: the mailbox journal and distinguished
// folders (for NewMail: a create in the inbox).
type Source interface {
	Journal(ctx context.Context, mbx string, after int64, limit int) ([]mailbox.Change, error)
	Distinguished(ctx context.Context, mbx, name string) (*mailbox.Folder, error)
	Folder(ctx context.Context, mbx string, key int64) (*mailbox.Folder, error)
}

// Subscription is one subscription. Fields other than Cursor and the
// timestamps are fixed at creation.
type Subscription struct {
	ID      string
	Kind    string
	Owner   string // the authenticated account that created it
	Mailbox string // the mailbox it watches (the impersonated target)
	// Folders is the folder filter; nil means every folder.
	Folders map[int64]bool
	Types   map[string]bool
	Timeout time.Duration // pull: expires after this long without GetEvents
	// Push
	URL             string
	StatusFrequency time.Duration
	CallerData      string

	hub      *Hub // set when the hub holds it (persistence of progress)
	mu       sync.Mutex
	cursor   int64 // journal sequence delivered up to (streaming, push)
	lastUsed time.Time
	conn     *Conn // streaming: the connection serving it
}

// Cursor returns the journal sequence the subscription has delivered up to.
func (s *Subscription) Cursor() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.cursor }

// Hub holds the subscriptions of one process.
type Hub struct {
	src Source
	now func() time.Time

	mu      sync.Mutex
	subs    map[string]*Subscription
	perMbx  map[string]int            // mailbox -> subscriptions (the budget check)
	watch   map[string]map[*Conn]bool // mailbox -> streaming connections
	streams map[string]int            // owner -> open streaming connections (budget.go)
	persist Persister                 // nil: subscriptions live in memory only (persist.go)
	plog    *slog.Logger
	dirty   map[string]bool // subscriptions whose cursor or idle clock moved since the last Flush

	inbox sync.Map // "mailbox/name" -> distinguished folder key (inbox, calendar)
	head  sync.Map // mailbox -> a journal sequence known to exist (lower bound of the head)

	polling bool
	stop    chan struct{}
}

// NewHub returns a hub over src. When src has OnCommit (the SQL store),
// commits wake streaming connections at once; otherwise watched mailboxes
// are polled every poll interval.
func NewHub(src Source, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	h := &Hub{src: src, now: now, subs: map[string]*Subscription{}, perMbx: map[string]int{}, watch: map[string]map[*Conn]bool{}, stop: make(chan struct{})}
	if oc, ok := src.(interface{ OnCommit(func([]string)) }); ok {
		oc.OnCommit(h.Signal)
	} else {
		h.polling = true
		go h.poll(250 * time.Millisecond)
	}
	go h.janitor(time.Minute)
	return h
}

// Close stops the hub's goroutines, after writing the cursors that moved
// when the subscriptions are persisted.
func (h *Hub) Close() {
	select {
	case <-h.stop:
	default:
		h.Flush(context.Background())
		close(h.stop)
	}
}

// Done is closed when the hub is closed: background work on its
// subscriptions (push deliveries) stops.
func (h *Hub) Done() <-chan struct{} { return h.stop }

func (h *Hub) poll(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		var mbxs []string
		for m := range h.watch {
			mbxs = append(mbxs, m)
		}
		h.mu.Unlock()
		h.Signal(mbxs)
	}
}

// janitor drops pull subscriptions that expired.
func (h *Hub) janitor(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.sweep()
	}
}

// StreamingIdle is how long a streaming subscription survives without a
// connection (Exchange keeps them about 30 minutes).
var StreamingIdle = 30 * time.Minute

// sweep drops pull subscriptions past their Timeout and streaming ones
// that had no connection for StreamingIdle.
func (h *Hub) sweep() {
	now := h.now()
	var gone []string
	h.mu.Lock()
	for id, s := range h.subs {
		s.mu.Lock()
		idle := now.Sub(s.lastUsed)
		expired := s.Kind == Pull && idle > s.Timeout || s.Kind == Streaming && s.conn == nil && idle > StreamingIdle
		s.mu.Unlock()
		if expired {
			h.untrack(id)
			gone = append(gone, id)
		}
	}
	h.mu.Unlock()
	h.deleted(gone...)
}

// Signal wakes the streaming connections watching any of mbxs. The store
// calls it after every commit.
func (h *Hub) Signal(mbxs []string) {
	type hit struct {
		c   *Conn
		mbx string
	}
	var hits []hit
	h.mu.Lock()
	for _, m := range mbxs {
		for c := range h.watch[m] {
			hits = append(hits, hit{c, m})
		}
	}
	h.mu.Unlock()
	for _, x := range hits {
		x.c.Mark(x.mbx)
	}
}

// Head returns the mailbox's last journal sequence.
func (h *Hub) Head(ctx context.Context, mbx string) (int64, error) {
	if hs, ok := h.src.(interface {
		JournalHead(ctx context.Context, mbx string) (int64, error)
	}); ok { // the SQL store knows its last sequence
		if seq, err := hs.JournalHead(ctx, mbx); err == nil {
			return seq, nil
		}
	}
	// Otherwise page to the end from a cached lower bound. Rows are
	// contiguous, so the bound is cheap to keep.
	var after int64
	if v, ok := h.head.Load(mbx); ok {
		after = v.(int64)
	}
	for {
		rows, err := h.src.Journal(ctx, mbx, after, 5000)
		if err != nil {
			return 0, err
		}
		if len(rows) == 0 {
			if after > 0 {
				h.head.Store(mbx, after)
			}
			return after, nil
		}
		after = rows[len(rows)-1].Seq
		if len(rows) < 5000 {
			h.head.Store(mbx, after)
			return after, nil
		}
	}
}

// Add creates a subscription whose cursor is at the mailbox's head (or at
// from, a watermark the client passed, for pull). limit > 0 bounds the
// subscriptions watching the mailbox (ErrTooManySubscriptions).
func (h *Hub) Add(ctx context.Context, s *Subscription, from string, limit int) (*Subscription, error) {
	head, err := h.Head(ctx, s.Mailbox)
	if err != nil {
		return nil, err
	}
	s.cursor = head
	if from != "" {
		seq, err := h.CheckWatermark(ctx, s.Mailbox, from)
		if err != nil {
			return nil, err
		}
		s.cursor = seq
	}
	var b [16]byte
	rand.Read(b[:])
	s.ID = base64.StdEncoding.EncodeToString(append([]byte("AS"), b[:]...))
	s.lastUsed = h.now()
	s.hub = h
	h.mu.Lock()
	if limit > 0 && h.perMbx[s.Mailbox] >= limit {
		h.mu.Unlock()
		return nil, ErrTooManySubscriptions
	}
	h.track(s)
	h.mu.Unlock()
	if err := h.saved(ctx, s); err != nil {
		h.mu.Lock()
		h.untrack(s.ID)
		h.mu.Unlock()
		return nil, err
	}
	return s, nil
}

// track adds s to the hub; h.mu must be held.
func (h *Hub) track(s *Subscription) {
	if _, ok := h.subs[s.ID]; !ok {
		h.perMbx[s.Mailbox]++
	}
	h.subs[s.ID] = s
}

// untrack removes a subscription and returns it (nil if unknown); h.mu must
// be held.
func (h *Hub) untrack(id string) *Subscription {
	s := h.subs[id]
	if s == nil {
		return nil
	}
	delete(h.subs, id)
	if h.perMbx[s.Mailbox]--; h.perMbx[s.Mailbox] <= 0 {
		delete(h.perMbx, s.Mailbox)
	}
	return s
}

// Get returns a subscription for its owner, refreshing its expiry.
func (h *Hub) Get(id, owner string) (*Subscription, error) {
	h.mu.Lock()
	s := h.subs[id]
	h.mu.Unlock()
	if s == nil {
		return nil, ErrNotFound
	}
	if s.Owner != owner {
		return nil, ErrAccessDenied
	}
	s.mu.Lock()
	now := h.now()
	expired := s.Kind == Pull && now.Sub(s.lastUsed) > s.Timeout
	if !expired {
		s.lastUsed = now
	}
	s.mu.Unlock()
	if expired {
		h.Remove(id)
		return nil, ErrExpired
	}
	if s.Kind == Pull {
		h.touched(id) // its expiry clock
	}
	return s, nil
}

// Remove drops a subscription (Unsubscribe); its streaming connection, if
// any, stops serving it.
func (h *Hub) Remove(id string) {
	h.mu.Lock()
	s := h.untrack(id)
	h.mu.Unlock()
	if s != nil {
		h.deleted(id)
		s.mu.Lock()
		c := s.conn
		s.mu.Unlock()
		if c != nil {
			c.poke()
		}
	}
}

// Count returns the number of subscriptions an account owns.
func (h *Hub) Count(owner string) (n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs {
		if s.Owner == owner {
			n++
		}
	}
	return n
}

// Len returns the number of subscriptions.
func (h *Hub) Len() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.subs) }

// --- watermarks ---

// Watermark wire format: standard base64 of version (1), 'W', the
// mailbox GUID (16 bytes), uvarint sequence, 4-byte SHA-256 prefix.
func Watermark(mbx string, seq int64) string {
	g, err := guidBytes(mbx)
	if err != nil {
		return ""
	}
	b := append([]byte{1, 'W'}, g...)
	b = binary.AppendUvarint(b, uint64(seq))
	b = append(b, sum(b)...)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseWatermark returns the mailbox and sequence of a watermark.
func ParseWatermark(v string) (string, int64, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(v) > 64 || len(b) < 2+16+1+4 || b[0] != 1 || b[1] != 'W' {
		return "", 0, ErrWatermark
	}
	body, s := b[:len(b)-4], b[len(b)-4:]
	if string(sum(body)) != string(s) {
		return "", 0, ErrWatermark
	}
	seq, n := binary.Uvarint(body[18:])
	if n <= 0 || n != len(body)-18 || seq > 1<<62 {
		return "", 0, ErrWatermark
	}
	return guidText(body[2:18]), int64(seq), nil
}

// CheckWatermark validates a watermark for mbx: it must be of that
// mailbox and not beyond the journal's head (a mailbox recreated since, or
// a forged value).
func (h *Hub) CheckWatermark(ctx context.Context, mbx, v string) (int64, error) {
	m, seq, err := ParseWatermark(v)
	if err != nil || m != mbx {
		return 0, ErrWatermark
	}
	head, err := h.Head(ctx, mbx)
	if err != nil {
		return 0, err
	}
	if seq > head {
		h.head.Delete(mbx)
		if head, err = h.Head(ctx, mbx); err != nil {
			return 0, err
		}
		if seq > head {
			return 0, ErrWatermark
		}
	}
	return seq, nil
}

func sum(b []byte) []byte {
	h := sha256.Sum256(append([]byte("actas-watermark\x00"), b...))
	return h[:4]
}

func guidBytes(g string) ([]byte, error) {
	if len(g) != 36 {
		return nil, ErrWatermark
	}
	b, err := hex.DecodeString(g[0:8] + g[9:13] + g[14:18] + g[19:23] + g[24:36])
	if err != nil {
		return nil, ErrWatermark
	}
	return b, nil
}

func guidText(b []byte) string {
	s := hex.EncodeToString(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
