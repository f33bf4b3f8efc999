// Package loadgen measures Actas under load: it builds a throwaway Actas
// in-process (store, directory, mailboxes, EWS on a loopback listener),
// populates mailboxes, and drives the EWS endpoint over HTTP from simulated
// service accounts that impersonate the mailboxes, as a sync engine does:
// first the initial SyncFolderItems of every Inbox, then (stream.go)
// streaming subscriptions on the Inboxes while new mail is delivered, timing
// each event from delivery to the client and measuring resident memory.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/cmdlet"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/ews"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
	"github.com/actasmail/actas/internal/server"
	"github.com/actasmail/actas/internal/store"
)

// Config sizes a run.
type Config struct {
	Dir         string // data directory (a temporary one when empty)
	Mailboxes   int    // mailboxes to sync
	Items       int    // items per mailbox (in the Inbox)
	Accounts    int    // service accounts, each syncing its share of the mailboxes
	Concurrency int    // requests in flight per account
	PageSize    int    // MaxChangesReturned (1-512)
	// The streaming phase, after the initial sync (skipped when
	// Subscriptions is 0): Subscriptions streaming subscriptions on the
	// Inboxes, spread evenly over the mailboxes, then Deliveries new
	// messages at Rate per second (0: back to back).
	Subscriptions int
	Deliveries    int
	Rate          float64
	Log           io.Writer
}

// Result is what a run measured.
type Result struct {
	Mailboxes, ItemsPerMailbox, Accounts, Concurrency int
	Populate                                          time.Duration
	SyncElapsed                                       time.Duration
	ItemsSynced                                       int64
	Requests                                          int64
	ItemsPerSecond                                    float64
	RequestLatencyP50, RequestLatencyP99              time.Duration
	HeapAfterMB                                       float64
	Stream                                            *StreamResult // nil without the streaming phase
}

func (r *Result) String() string {
	s := r.syncString()
	if r.Stream != nil {
		s += "\n" + r.Stream.String()
	}
	return s
}

func (r *Result) syncString() string {
	return fmt.Sprintf("initial sync: %d mailboxes x %d items by %d service accounts (%d in flight each): %d items in %s = %.0f items/s; %d SyncFolderItems requests, latency p50 %s p99 %s; populate %s; heap after %.0f MB",
		r.Mailboxes, r.ItemsPerMailbox, r.Accounts, r.Concurrency, r.ItemsSynced, r.SyncElapsed.Round(time.Millisecond), r.ItemsPerSecond,
		r.Requests, r.RequestLatencyP50.Round(time.Microsecond), r.RequestLatencyP99.Round(time.Microsecond), r.Populate.Round(time.Millisecond), r.HeapAfterMB)
}

const benchPassword = "Bench-Passw0rd-2026"

// Run builds the server, populates it and measures the initial sync.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Mailboxes <= 0 || cfg.Items < 0 || cfg.Accounts <= 0 || cfg.Concurrency <= 0 {
		return nil, errors.New("mailboxes, accounts and concurrency must be positive")
	}
	if cfg.Subscriptions < 0 || cfg.Deliveries < 0 || cfg.Rate < 0 {
		return nil, errors.New("subscriptions, deliveries and rate must not be negative")
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 512 {
		cfg.PageSize = 512
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(logw, format+"\n", args...) }
	dir := cfg.Dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "actas-bench")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.OpenSQLiteThrowaway(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	directory, err := d.Open(ctx, st)
	if err != nil {
		return nil, err
	}
	reg := cmdlet.New(directory, log)
	boxes := mailbox.Open(st.DB()).WithReader(st.ReadDB())
	reg.SetMailboxes(boxes)
	srv := server.New(reg, log)
	ewsHandler := ews.New(directory, boxes, srv.Authenticate, log, ews.Options{AuthError: server.WriteAuthError})
	// Subscriptions are persisted as serve does.
	if _, err := ewsHandler.ResumeSubscriptions(ctx, notify.NewSQLPersister(st.DB())); err != nil {
		return nil, err
	}
	defer ewsHandler.Close()
	srv.EWS = ewsHandler
	// Each account holds its share of the streaming connections (200
	// subscriptions each), as a throttling policy's HangingConnectionLimit
	// would allow.
	perAccount := (cfg.Subscriptions/cfg.Accounts + maxIDsPerConnection) / maxIDsPerConnection
	ewsHandler.SetBudgets(func(string) notify.Budget {
		return notify.Budget{Streaming: max(perAccount+1, notify.DefaultBudget.Streaming)}
	})

	res := &Result{Mailboxes: cfg.Mailboxes, ItemsPerMailbox: cfg.Items, Accounts: cfg.Accounts, Concurrency: cfg.Concurrency}
	start := time.Now()
	_, admin, err := cmdlet.CreateOrganization(ctx, directory, "Bench", "bench.test", benchPassword)
	if err != nil {
		return nil, err
	}
	invoke := func(name string, params map[string]any) error {
		resp := reg.Invoke(ctx, admin.ID, adminapi.Request{Cmdlet: name, Params: params})
		if resp.Error != nil {
			return fmt.Errorf("%s: %s", name, resp.Error.Message)
		}
		return nil
	}
	for a := 0; a < cfg.Accounts; a++ {
		n := fmt.Sprintf("svc%03d", a)
		if err := invoke("New-Mailbox", map[string]any{"Name": n, "UserPrincipalName": n + "@bench.test", "Password": benchPassword}); err != nil {
			return nil, err
		}
		if err := invoke("New-ManagementRoleAssignment", map[string]any{"Role": "ApplicationImpersonation", "User": n}); err != nil {
			return nil, err
		}
	}
	mbxIDs := make([]string, cfg.Mailboxes)
	for m := 0; m < cfg.Mailboxes; m++ {
		n := fmt.Sprintf("user%05d", m)
		if err := invoke("New-Mailbox", map[string]any{"Name": n, "Alias": n, "Shared": true}); err != nil {
			return nil, err
		}
		_ = directory.Read(func(s *d.State) error { mbxIDs[m] = s.RecipientBySMTP(n + "@bench.test").ID; return nil })
	}
	say("directory: %d mailboxes, %d service accounts in %s", cfg.Mailboxes, cfg.Accounts, time.Since(start).Round(time.Millisecond))
	actor := mailbox.Actor{ID: admin.ID, Via: "owner"}
	now := time.Now().UTC()
	for m, id := range mbxIDs {
		if err := boxes.Ensure(ctx, id); err != nil {
			return nil, err
		}
		inbox, err := boxes.Distinguished(ctx, id, "inbox")
		if err != nil {
			return nil, err
		}
		for i := 0; i < cfg.Items; i++ {
			it := &mailbox.Item{Class: "IPM.Note", Subject: fmt.Sprintf("message %d of mailbox %d", i, m),
				Body: "Load test message body.", BodyType: "Text",
				From:             &mailbox.Address{Name: "Sender", Email: "sender@bench.test", RoutingType: "SMTP"},
				To:               []mailbox.Address{{Email: fmt.Sprintf("user%05d@bench.test", m), RoutingType: "SMTP"}},
				DateTimeReceived: now.Add(-time.Duration(i) * time.Minute), DateTimeSent: now.Add(-time.Duration(i) * time.Minute)}
			if _, err := boxes.CreateItem(ctx, actor, id, inbox.Key, it); err != nil {
				return nil, err
			}
		}
		if (m+1)%50 == 0 {
			say("populated %d/%d mailboxes (%s)", m+1, cfg.Mailboxes, time.Since(start).Round(time.Second))
		}
	}
	res.Populate = time.Since(start)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/EWS/Exchange.asmx"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Accounts * cfg.Concurrency, MaxConnsPerHost: cfg.Accounts * cfg.Concurrency}}
	var synced, requests atomic.Int64
	var latMu sync.Mutex
	var lats []time.Duration
	work := make(chan string, len(mbxIDs))
	for m := range mbxIDs {
		work <- fmt.Sprintf("user%05d@bench.test", m)
	}
	close(work)
	var firstErr error
	var errOnce sync.Once
	syncStart := time.Now()
	var wg sync.WaitGroup
	for a := 0; a < cfg.Accounts; a++ {
		svc := fmt.Sprintf("svc%03d@bench.test", a)
		for c := 0; c < cfg.Concurrency; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for smtp := range work {
					n, reqs, l, err := syncMailbox(ctx, client, url, svc, smtp, cfg.PageSize)
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
					synced.Add(int64(n))
					requests.Add(int64(reqs))
					latMu.Lock()
					lats = append(lats, l...)
					latMu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	res.SyncElapsed = time.Since(syncStart)
	res.ItemsSynced = synced.Load()
	res.Requests = requests.Load()
	res.ItemsPerSecond = float64(res.ItemsSynced) / res.SyncElapsed.Seconds()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		res.RequestLatencyP50 = lats[len(lats)/2]
		res.RequestLatencyP99 = lats[len(lats)*99/100]
	}
	if want := int64(cfg.Mailboxes * cfg.Items); res.ItemsSynced != want {
		return res, fmt.Errorf("synced %d items, want %d: the sync lost or repeated changes", res.ItemsSynced, want)
	}
	res.HeapAfterMB = mb(readMemory().Heap)
	say("%s", res.syncString())
	if cfg.Subscriptions > 0 {
		env := streamEnv{url: url, client: client, boxes: boxes, mbxIDs: mbxIDs, sender: actor,
			accounts: cfg.Accounts, concurrency: cfg.Concurrency, say: say}
		if res.Stream, err = runStreaming(ctx, env, cfg.Subscriptions, cfg.Deliveries, cfg.Rate); err != nil {
			return res, err
		}
	}
	return res, nil
}

// syncMailbox runs SyncFolderItems on a mailbox's Inbox until
// IncludesLastItemInRange, impersonating it, and returns the items created.
func syncMailbox(ctx context.Context, client *http.Client, url, svc, smtp string, page int) (int, int, []time.Duration, error) {
	state := ""
	total, reqs := 0, 0
	var lats []time.Duration
	for {
		stateEl := ""
		if state != "" {
			stateEl = "<m:SyncState>" + state + "</m:SyncState>"
		}
		body := envelope(smtp, `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId>`+
			stateEl+fmt.Sprintf("<m:MaxChangesReturned>%d</m:MaxChangesReturned></m:SyncFolderItems>", page))
		t0 := time.Now()
		data, status, err := post(ctx, client, url, svc, smtp, body)
		lats = append(lats, time.Since(t0))
		reqs++
		if err != nil {
			return 0, 0, nil, fmt.Errorf("SyncFolderItems for %s: %w", smtp, err)
		}
		if status != http.StatusOK || !bytes.Contains(data, []byte(`ResponseClass="Success"`)) {
			return 0, 0, nil, fmt.Errorf("SyncFolderItems for %s: HTTP %d: %.400s", smtp, status, data)
		}
		total += bytes.Count(data, []byte("<t:Create>"))
		state = between(data, "<m:SyncState>", "</m:SyncState>")
		if between(data, "<m:IncludesLastItemInRange>", "</m:IncludesLastItemInRange>") == "true" {
			return total, reqs, lats, nil
		}
		if state == "" {
			return 0, 0, nil, fmt.Errorf("SyncFolderItems for %s: no SyncState: %.400s", smtp, data)
		}
	}
}

// envelope wraps an EWS operation in a SOAP envelope impersonating smtp.
func envelope(smtp, op string) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
		`<soap:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + smtp + `</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>` +
		`<soap:Body>` + op + `</soap:Body></soap:Envelope>`
}

// newRequest is an EWS POST as svc, anchored on the impersonated mailbox.
func newRequest(ctx context.Context, url, svc, smtp, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(svc, benchPassword)
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("X-AnchorMailbox", smtp)
	return req, nil
}

// post sends one EWS request and reads the whole response.
func post(ctx context.Context, client *http.Client, url, svc, smtp, body string) ([]byte, int, error) {
	req, err := newRequest(ctx, url, svc, smtp, body)
	if err != nil {
		return nil, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return data, resp.StatusCode, nil
}

func between(b []byte, open, close string) string {
	i := bytes.Index(b, []byte(open))
	if i < 0 {
		return ""
	}
	rest := b[i+len(open):]
	j := bytes.Index(rest, []byte(close))
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
