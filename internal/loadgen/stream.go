package loadgen

// The streaming phase: after the initial sync, the service accounts open
// streaming subscriptions on the Inboxes they impersonate, hold them on
// GetStreamingEvents connections of up to 200 ids each, and new mail is
// delivered to the mailboxes while the tool times each NewMailEvent from the
// start of its delivery to the moment the client has read it.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// maxIDsPerConnection is GetStreamingEvents' limit of subscription ids.
const maxIDsPerConnection = 200

// StreamResult is what the streaming phase measured.
type StreamResult struct {
	Subscriptions, Connections int
	Subscribe                  time.Duration // creating every subscription (Subscribe over HTTP)
	// Memory of the whole process (server and simulated clients) after a
	// forced collection: before any subscription, with every subscription
	// created and idle (no connection), and with the connections open.
	Before, Idle, WithConnections memory

	Deliveries      int
	DeliveryRate    float64 // deliveries per second achieved
	Events          int64   // NewMailEvents read by the clients (the warm-up excluded)
	Elapsed         time.Duration
	EventsPerSecond float64
	LatencyP50      time.Duration
	LatencyP99      time.Duration
	LatencyMax      time.Duration
}

// PerIdleSubscription is the resident memory one idle subscription costs
// (bytes); 0 without /proc.
func (r *StreamResult) PerIdleSubscription() int64 {
	if r.Subscriptions == 0 || r.Before.RSS == 0 {
		return 0
	}
	return (r.Idle.RSS - r.Before.RSS) / int64(r.Subscriptions)
}

func (r *StreamResult) String() string {
	per := func(m memory) string {
		return fmt.Sprintf("%.1f MB resident (+%.1f MB, %d B/subscription), heap %.1f MB (+%d B/subscription)",
			mb(m.RSS), mb(m.RSS-r.Before.RSS), (m.RSS-r.Before.RSS)/int64(r.Subscriptions),
			mb(m.Heap), (m.Heap-r.Before.Heap)/int64(r.Subscriptions))
	}
	return fmt.Sprintf("streaming: %d subscriptions created in %s (%.0f/s); before: %.1f MB resident, heap %.1f MB\n"+
		"  idle: %s\n"+
		"  with %d GetStreamingEvents connections: %s\n"+
		"  %d deliveries at %.1f/s: %d NewMailEvents in %s = %.0f events/s; latency from delivery to event read p50 %s p99 %s max %s",
		r.Subscriptions, r.Subscribe.Round(time.Millisecond), float64(r.Subscriptions)/r.Subscribe.Seconds(), mb(r.Before.RSS), mb(r.Before.Heap),
		per(r.Idle), r.Connections, per(r.WithConnections),
		r.Deliveries, r.DeliveryRate, r.Events, r.Elapsed.Round(time.Millisecond), r.EventsPerSecond,
		r.LatencyP50.Round(time.Microsecond), r.LatencyP99.Round(time.Microsecond), r.LatencyMax.Round(time.Microsecond))
}

// streamEnv is what the streaming phase needs from the built server.
type streamEnv struct {
	url         string
	client      *http.Client // pooled requests (Subscribe)
	boxes       *mailbox.Store
	mbxIDs      []string
	sender      mailbox.Actor // who delivers the new mail (not the owners)
	accounts    int
	concurrency int
	say         func(string, ...any)
}

// subscription is one subscription as its client knows it.
type subscription struct {
	id      string
	mailbox int // index into mbxIDs
	account int
}

// arrival is one event a client read.
type arrival struct {
	sub, item string
	at        time.Time
}

// collector gathers the events every connection reads.
type collector struct {
	mu       sync.Mutex
	arrivals []arrival
	n        atomic.Int64
	failed   atomic.Pointer[error]
}

func (c *collector) fail(err error) { c.failed.CompareAndSwap(nil, &err) }

func (c *collector) err() error {
	if p := c.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// wait returns when n events arrived, a connection failed, or timeout.
func (c *collector) wait(ctx context.Context, n int64, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for c.n.Load() < n {
		if err := c.err(); err != nil {
			return err
		}
		if time.Now().After(end) {
			return fmt.Errorf("%d of %d events arrived within %s", c.n.Load(), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return c.err()
}

// runStreaming runs the phase: subscriptions subscriptions spread evenly
// over the mailboxes (subscription i watches mailbox i mod M, owned by the
// account syncing it), then deliveries messages to random subscribed
// mailboxes at rate per second (0: back to back).
func runStreaming(ctx context.Context, env streamEnv, subscriptions, deliveries int, rate float64) (*StreamResult, error) {
	r := &StreamResult{Subscriptions: subscriptions, Deliveries: deliveries}
	env.client.CloseIdleConnections()
	r.Before = readMemory()

	t0 := time.Now()
	subs, err := subscribeAll(ctx, env, subscriptions)
	if err != nil {
		return nil, err
	}
	r.Subscribe = time.Since(t0)
	env.client.CloseIdleConnections()
	r.Idle = readMemory()
	env.say("%d streaming subscriptions created; %.1f MB resident (+%.1f MB)", len(subs), mb(r.Idle.RSS), mb(r.Idle.RSS-r.Before.RSS))

	// Connections: each account puts its subscriptions on connections of
	// up to 200 ids.
	byAccount := make([][]subscription, env.accounts)
	for _, s := range subs {
		byAccount[s.account] = append(byAccount[s.account], s)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	streamClient := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer streamClient.CloseIdleConnections()
	col := &collector{}
	var readers sync.WaitGroup
	defer readers.Wait()
	defer stop()
	for a, own := range byAccount {
		for lo := 0; lo < len(own); lo += maxIDsPerConnection {
			chunk := own[lo:min(lo+maxIDsPerConnection, len(own))]
			body, err := openStream(sctx, streamClient, env, a, chunk)
			if err != nil {
				return nil, err
			}
			r.Connections++
			readers.Add(1)
			go func() {
				defer readers.Done()
				defer body.Close()
				readStream(body, col)
			}()
		}
	}

	// Warm-up: one message to every subscribed mailbox, and every
	// subscription must report it. This also waits out each connection's
	// first read of its subscriptions' journals.
	perMailbox := make([]int, len(env.mbxIDs))
	for _, s := range subs {
		perMailbox[s.mailbox]++
	}
	var targets []int
	for m, n := range perMailbox {
		if n > 0 {
			targets = append(targets, m)
		}
	}
	warmStart := time.Now()
	for lo := 0; lo < len(targets); lo += 100 {
		var to []string
		for _, m := range targets[lo:min(lo+100, len(targets))] {
			to = append(to, env.mbxIDs[m])
		}
		if _, err := env.boxes.Deliver(ctx, env.sender, to, newMail("warm-up")); err != nil {
			return nil, fmt.Errorf("streaming warm-up: %w", err)
		}
	}
	if err := col.wait(ctx, int64(len(subs)), 2*time.Minute+time.Duration(len(subs))*time.Millisecond); err != nil {
		return nil, fmt.Errorf("streaming warm-up: %w", err)
	}
	warm := col.n.Load()
	env.say("%d connections open, warm-up: %d events in %s", r.Connections, warm, time.Since(warmStart).Round(time.Millisecond))
	r.WithConnections = readMemory()

	// Measured deliveries.
	type delivery struct {
		at   time.Time
		want int
	}
	sent := make(map[string]delivery, deliveries)
	rnd := rand.New(rand.NewSource(1))
	var expect int64
	start := time.Now()
	for i := 0; i < deliveries; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		m := targets[rnd.Intn(len(targets))]
		t0 := time.Now()
		items, err := env.boxes.Deliver(ctx, env.sender, []string{env.mbxIDs[m]}, newMail(fmt.Sprintf("new mail %d", i)))
		if err != nil {
			return nil, fmt.Errorf("streaming: deliver: %w", err)
		}
		sent[items[0].ID()] = delivery{t0, perMailbox[m]}
		expect += int64(perMailbox[m])
	}
	if deliveries > 0 {
		r.DeliveryRate = float64(deliveries) / time.Since(start).Seconds()
	}
	if err := col.wait(ctx, warm+expect, time.Minute); err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	stop()
	readers.Wait()

	col.mu.Lock()
	defer col.mu.Unlock()
	seen := make(map[string]bool, len(col.arrivals))
	var lats []time.Duration
	var last time.Time
	for _, a := range col.arrivals {
		d, ok := sent[a.item]
		if !ok {
			continue // warm-up
		}
		if seen[a.sub+" "+a.item] {
			return nil, fmt.Errorf("streaming: subscription %s reported item %s twice", a.sub, a.item)
		}
		seen[a.sub+" "+a.item] = true
		lats = append(lats, a.at.Sub(d.at))
		if a.at.After(last) {
			last = a.at
		}
	}
	r.Events = int64(len(lats))
	if r.Events != expect {
		return nil, fmt.Errorf("streaming: %d NewMailEvents for the deliveries, want %d", r.Events, expect)
	}
	if len(lats) > 0 {
		slices.Sort(lats)
		r.LatencyP50, r.LatencyP99, r.LatencyMax = lats[len(lats)/2], lats[len(lats)*99/100], lats[len(lats)-1]
		r.Elapsed = last.Sub(start)
		r.EventsPerSecond = float64(r.Events) / r.Elapsed.Seconds()
	}
	return r, nil
}

func newMail(subject string) *mailbox.Item {
	return &mailbox.Item{Class: "IPM.Note", Subject: subject, Body: "Streaming load test.", BodyType: "Text",
		From: &mailbox.Address{Name: "Sender", Email: "sender@bench.test", RoutingType: "SMTP"}}
}

func smtpOf(m int) string { return fmt.Sprintf("user%05d@bench.test", m) }

// subscribeAll creates the subscriptions over HTTP, each account with its
// concurrency, impersonating the mailbox it subscribes to.
func subscribeAll(ctx context.Context, env streamEnv, n int) ([]subscription, error) {
	jobs := make([]chan subscription, env.accounts)
	for a := range jobs {
		jobs[a] = make(chan subscription, n) // filled before any worker starts
	}
	for i := 0; i < n; i++ {
		m := i % len(env.mbxIDs)
		s := subscription{mailbox: m, account: m % env.accounts}
		jobs[s.account] <- s
	}
	var mu sync.Mutex
	out := make([]subscription, 0, n)
	var firstErr error
	var wg sync.WaitGroup
	for a := range jobs {
		close(jobs[a])
		svc := fmt.Sprintf("svc%03d@bench.test", a)
		for c := 0; c < env.concurrency; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range jobs[a] {
					id, err := subscribe(ctx, env, svc, smtpOf(s.mailbox))
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					s.id = id
					out = append(out, s)
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func subscribe(ctx context.Context, env streamEnv, svc, smtp string) (string, error) {
	body := envelope(smtp, `<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds>`+
		`<t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`)
	data, status, err := post(ctx, env.client, env.url, svc, smtp, body)
	if err != nil {
		return "", fmt.Errorf("Subscribe for %s: %w", smtp, err)
	}
	id := between(data, "<m:SubscriptionId>", "</m:SubscriptionId>")
	if status != http.StatusOK || id == "" {
		return "", fmt.Errorf("Subscribe for %s: HTTP %d: %.400s", smtp, status, data)
	}
	return id, nil
}

// openStream starts one GetStreamingEvents connection (ConnectionTimeout
// 30 minutes) and returns its body once the response headers arrived.
func openStream(ctx context.Context, client *http.Client, env streamEnv, account int, subs []subscription) (io.ReadCloser, error) {
	var b strings.Builder
	for _, s := range subs {
		b.WriteString("<t:SubscriptionId>" + s.id + "</t:SubscriptionId>")
	}
	// Impersonate (and anchor on) the first subscription's mailbox, as
	// clients do for a connection's affinity.
	smtp := smtpOf(subs[0].mailbox)
	body := envelope(smtp, "<m:GetStreamingEvents><m:SubscriptionIds>"+b.String()+"</m:SubscriptionIds><m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>")
	req, err := newRequest(ctx, env.url, fmt.Sprintf("svc%03d@bench.test", account), smtp, body)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GetStreamingEvents: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("GetStreamingEvents: HTTP %d: %.400s", resp.StatusCode, data)
	}
	return resp.Body, nil
}

// readStream reads envelopes off one connection until it ends, recording
// every NewMailEvent with the time it was read. An error message in the
// stream fails the run (no event may be lost silently).
func readStream(body io.Reader, col *collector) {
	br := bufio.NewReaderSize(body, 64<<10)
	var env []byte
	for {
		chunk, err := br.ReadSlice('>')
		env = append(env, chunk...)
		if bytes.HasSuffix(env, []byte("</Envelope>")) {
			at := time.Now()
			events, perr := parseEnvelope(env)
			if perr != nil {
				col.fail(perr)
				return
			}
			if len(events) > 0 {
				col.mu.Lock()
				for i := range events {
					events[i].at = at
				}
				col.arrivals = append(col.arrivals, events...)
				col.mu.Unlock()
				col.n.Add(int64(len(events)))
			}
			env = env[:0]
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// parseEnvelope returns the NewMailEvents of one streaming envelope as
// (subscription, item id) pairs; an Error response message is an error.
func parseEnvelope(env []byte) ([]arrival, error) {
	if bytes.Contains(env, []byte(`ResponseClass="Error"`)) {
		return nil, fmt.Errorf("streaming connection reported an error: %.600s", env)
	}
	var out []arrival
	for _, n := range bytes.Split(env, []byte("<m:Notification>"))[1:] {
		sub := between(n, "<t:SubscriptionId>", "</t:SubscriptionId>")
		for _, ev := range bytes.Split(n, []byte("<t:NewMailEvent>"))[1:] {
			item := between(ev, `<t:ItemId Id="`, `"`)
			if sub == "" || item == "" {
				return nil, fmt.Errorf("streaming envelope without subscription or item id: %.600s", env)
			}
			out = append(out, arrival{sub: sub, item: item})
		}
	}
	return out, nil
}
