package notify

import "errors"

// Budget is what one account may hold, in the spirit of Exchange's
// throttling policies (EWSMaxConcurrency, EWSMaxSubscriptions,
// HangingConnectionLimit, EWSFindCountLimit). Zero fields take the
// defaults.
type Budget struct {
	Concurrency   int // concurrent EWS requests per authenticated account (EWSMaxConcurrency)
	Subscriptions int // subscriptions per target mailbox (EWSMaxSubscriptions, charged to the target)
	Streaming     int // open GetStreamingEvents connections per account (HangingConnectionLimit)
	FindCount     int // items per FindItem/FindFolder page (EWSFindCountLimit)
}

// DefaultBudget is Exchange Online's policy where it has one, and a
// generous subscription limit (Actas holds subscriptions cheaply).
var DefaultBudget = Budget{Concurrency: 27, Subscriptions: 5000, Streaming: 10, FindCount: 1000}

// Fill returns b with zero fields taken from DefaultBudget.
func (b Budget) Fill() Budget {
	if b.Concurrency <= 0 {
		b.Concurrency = DefaultBudget.Concurrency
	}
	if b.Subscriptions <= 0 {
		b.Subscriptions = DefaultBudget.Subscriptions
	}
	if b.Streaming <= 0 {
		b.Streaming = DefaultBudget.Streaming
	}
	if b.FindCount <= 0 {
		b.FindCount = DefaultBudget.FindCount
	}
	return b
}

// Budget errors.
var (
	ErrTooManySubscriptions = errors.New("notify: subscription budget exceeded")         // ErrorExceededSubscriptionCount
	ErrTooManyStreams       = errors.New("notify: streaming connection budget exceeded") // ErrorExceededConnectionCount
)

// OpenStream reserves one of owner's streaming connections; release with
// CloseStream.
func (h *Hub) OpenStream(owner string, limit int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams == nil {
		h.streams = map[string]int{}
	}
	if h.streams[owner] >= limit {
		return ErrTooManyStreams
	}
	h.streams[owner]++
	return nil
}

// CloseStream releases a connection OpenStream reserved.
func (h *Hub) CloseStream(owner string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[owner]--; h.streams[owner] <= 0 {
		delete(h.streams, owner)
	}
}
