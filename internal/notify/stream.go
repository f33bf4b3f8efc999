package notify

import "sync"

// Conn is one streaming connection (GetStreamingEvents) serving up to 200
// subscriptions. A subscription is served by one connection at a time: a
// new connection takes it over and the old one stops serving it.
type Conn struct {
	h    *Hub
	wake chan struct{}
	subs []*Subscription

	mu    sync.Mutex
	dirty map[string]bool // mailboxes signalled since the last Dirty
	all   bool            // everything is dirty (start, takeover, unsubscribe)
}

// Attach registers a connection for subs and wakes it once, so pending
// events (since the subscriptions' cursors) go out at once.
func (h *Hub) Attach(subs []*Subscription) *Conn {
	c := &Conn{h: h, wake: make(chan struct{}, 1), subs: subs, dirty: map[string]bool{}, all: true}
	var old []*Conn
	for _, s := range subs {
		s.mu.Lock()
		if s.conn != nil {
			old = append(old, s.conn)
		}
		s.conn = c
		s.mu.Unlock()
	}
	h.mu.Lock()
	for _, s := range subs {
		w := h.watch[s.Mailbox]
		if w == nil {
			w = map[*Conn]bool{}
			h.watch[s.Mailbox] = w
		}
		w[c] = true
	}
	h.mu.Unlock()
	for _, o := range old {
		o.poke()
	}
	c.poke()
	return c
}

// Detach unregisters the connection.
func (c *Conn) Detach() {
	c.h.mu.Lock()
	for _, s := range c.subs {
		if w := c.h.watch[s.Mailbox]; w != nil {
			delete(w, c)
			if len(w) == 0 {
				delete(c.h.watch, s.Mailbox)
			}
		}
	}
	c.h.mu.Unlock()
	now := c.h.now()
	for _, s := range c.subs {
		s.mu.Lock()
		mine := s.conn == c
		if mine {
			s.conn = nil
			s.lastUsed = now // the idle time of a streaming subscription starts here
		}
		s.mu.Unlock()
		if mine {
			c.h.touched(s.ID)
		}
	}
}

func (c *Conn) poke() {
	c.mu.Lock()
	c.all = true
	c.mu.Unlock()
	c.signal()
}

// Mark records that mbx committed (or has more to read) and wakes the connection.
func (c *Conn) Mark(mbx string) {
	c.mu.Lock()
	c.dirty[mbx] = true
	c.mu.Unlock()
	c.signal()
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wake is signalled when a watched mailbox committed a write, or when a
// subscription was removed or taken over.
func (c *Conn) Wake() <-chan struct{} { return c.wake }

// Dirty returns the subscriptions to read now: those whose mailbox
// committed since the last call (all of them after a poke), among those
// the connection still serves. A connection of 200 subscriptions reads
// one mailbox's journal when one mailbox changes.
func (c *Conn) Dirty() []*Subscription {
	c.mu.Lock()
	all, dirty := c.all, c.dirty
	c.all, c.dirty = false, map[string]bool{}
	c.mu.Unlock()
	serving := c.Serving()
	if all {
		return serving
	}
	out := serving[:0]
	for _, s := range serving {
		if dirty[s.Mailbox] {
			out = append(out, s)
		}
	}
	return out
}

// Serving returns the subscriptions this connection still serves (not
// unsubscribed, not taken over by a newer connection).
func (c *Conn) Serving() []*Subscription {
	var out []*Subscription
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	for _, s := range c.subs {
		if c.h.subs[s.ID] != s {
			continue
		}
		s.mu.Lock()
		mine := s.conn == c
		s.mu.Unlock()
		if mine {
			out = append(out, s)
		}
	}
	return out
}

// Advance moves a subscription's cursor after its events were written.
func (s *Subscription) Advance(seq int64) {
	s.mu.Lock()
	moved := seq > s.cursor
	if moved {
		s.cursor = seq
	}
	s.mu.Unlock()
	if moved && s.hub != nil {
		s.hub.touched(s.ID)
	}
}
