package ews

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
)

func subscribeReq(kind, folder, extra string) string {
	return `<m:Subscribe><m:` + kind + `><t:FolderIds>` + folder + `</t:FolderIds><t:EventTypes>` +
		`<t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType><t:EventType>MovedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType>` +
		`</t:EventTypes>` + extra + `</m:` + kind + `></m:Subscribe>`
}

func eventTypes(n *node) []string {
	var out []string
	for _, c := range find(n, "Notification").Children {
		if strings.HasSuffix(c.Local, "Event") {
			out = append(out, c.Local)
		}
	}
	return out
}

func TestPullSubscription(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	r := w.mustOK(w.call(w.svc, imp, subscribeReq("PullSubscriptionRequest", distFolder("inbox", w.alice), `<t:Timeout>5</t:Timeout>`)))
	m := r.messages()[0]
	sub, wm := m.childText("SubscriptionId"), m.childText("Watermark")
	if sub == "" || wm == "" {
		t.Fatalf("subscribe: %s", r.body)
	}
	items, err := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	trash, _ := w.mbx.Distinguished(t0ctx, w.alice.ID, "deleteditems")
	w.mbx.MoveItem(t0ctx, mailbox.Actor{ID: w.alice.ID, Via: "owner"}, w.alice.ID, items[0].Key, trash.Key)
	get := func(as *d_Recipient, wm string) resp {
		return w.call(as, imp, `<m:GetEvents><m:SubscriptionId>`+sub+`</m:SubscriptionId><m:Watermark>`+wm+`</m:Watermark></m:GetEvents>`)
	}
	r = w.mustOK(get(w.svc, wm))
	got := strings.Join(eventTypes(r.root), ",")
	if got != "CreatedEvent,NewMailEvent,MovedEvent" {
		t.Fatalf("events %s\n%s", got, r.body)
	}
	mv := find(r.root, "MovedEvent")
	if find(mv, "ItemId").attr("Id") != itemID(items[0]) || find(mv, "OldItemId").attr("Id") != itemID(items[0]) {
		t.Fatalf("moved event ids:\n%s", r.body)
	}
	// Resume from the last event's watermark: only a status event.
	last := findAll(r.root, "Watermark")
	r = w.mustOK(get(w.svc, last[len(last)-1].Text))
	if got := strings.Join(eventTypes(r.root), ","); got != "StatusEvent" {
		t.Fatalf("after resume: %s", got)
	}
	// Errors: another account, a corrupt or future watermark, unknown id.
	if c := code(w.call(w.alice, "", `<m:GetEvents><m:SubscriptionId>`+sub+`</m:SubscriptionId><m:Watermark>`+wm+`</m:Watermark></m:GetEvents>`).messages()[0]); c != "ErrorSubscriptionAccessDenied" {
		t.Errorf("other account: %s", c)
	}
	if c := code(get(w.svc, "garbage").messages()[0]); c != "ErrorInvalidWatermark" {
		t.Errorf("garbage watermark: %s", c)
	}
	// Unsubscribe, then the id is unknown.
	w.mustOK(w.call(w.svc, imp, `<m:Unsubscribe><m:SubscriptionId>`+sub+`</m:SubscriptionId></m:Unsubscribe>`))
	if c := code(get(w.svc, wm).messages()[0]); c != "ErrorSubscriptionNotFound" {
		t.Errorf("after unsubscribe: %s", c)
	}
}

func TestSubscribeDelegateRefused(t *testing.T) {
	w := newWorld(t)
	// bob names alice's inbox without impersonation: delegate access.
	r := w.call(w.bob, "", subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), ""))
	if m := r.messages(); len(m) != 1 || code(m[0]) != "ErrorSubscriptionDelegateAccessNotSupported" {
		t.Fatalf("%s", r.body)
	}
}

func TestStreamingSubscription(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	r := w.mustOK(w.post(w.svc, envelope("Exchange2016", imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), "")), "X-PreferServerAffinity", "true"))
	sub := r.messages()[0].childText("SubscriptionId")
	if !strings.Contains(r.hdr.Get("Set-Cookie"), "X-BackEndOverrideCookie=") {
		t.Errorf("no affinity cookie: %v", r.hdr)
	}
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	res := streamRequest(t, srv.URL, w.svc, imp, 1, sub)
	defer res.Body.Close()
	envs := make(chan string, 10)
	go func() {
		defer close(envs)
		br := bufio.NewReader(res.Body)
		var cur strings.Builder
		for {
			b, err := br.ReadString('>')
			cur.WriteString(b)
			if strings.HasSuffix(cur.String(), "</Envelope>") {
				envs <- cur.String()
				cur.Reset()
			}
			if err == io.EOF || err != nil {
				return
			}
		}
	}()
	t0 := time.Now()
	if _, err := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: "stream"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-envs:
		if !strings.Contains(e, "<t:NewMailEvent>") || !strings.Contains(e, "<t:CreatedEvent>") || !strings.Contains(e, "<m:ConnectionStatus>OK</m:ConnectionStatus>") {
			t.Fatalf("envelope: %s", e)
		}
		t.Logf("delivery to streamed event: %s", time.Since(t0))
	case <-time.After(5 * time.Second):
		t.Fatal("no event envelope")
	}
	// Unsubscribe from another request ends the stream with Closed.
	w.mustOK(w.call(w.svc, imp, `<m:Unsubscribe><m:SubscriptionId>`+sub+`</m:SubscriptionId></m:Unsubscribe>`))
	select {
	case e := <-envs:
		if !strings.Contains(e, "<m:ConnectionStatus>Closed</m:ConnectionStatus>") {
			t.Fatalf("final envelope: %s", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Closed envelope")
	}
	// Bad requests.
	for _, bad := range []string{`<m:ConnectionTimeout>31</m:ConnectionTimeout>`, `<m:ConnectionTimeout>0</m:ConnectionTimeout>`} {
		r := w.call(w.svc, imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>x</t:SubscriptionId></m:SubscriptionIds>`+bad+`</m:GetStreamingEvents>`)
		if r.faultCode() != "ErrorSchemaValidation" {
			t.Errorf("%s: %s", bad, r.body)
		}
	}
	r = w.call(w.svc, imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>nope</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	if m := r.messages(); len(m) != 1 || code(m[0]) != "ErrorSubscriptionNotFound" || m[0].childText("ConnectionStatus") != "Closed" {
		t.Errorf("unknown id: %s", r.body)
	}
}

func TestPushSubscription(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	type got struct {
		body string
		at   time.Time
	}
	posts := make(chan got, 10)
	reply := make(chan string, 10)
	cb := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- got{string(b), time.Now()}
		status := <-reply
		if status == "500" {
			http.Error(rw, "busy", 500)
			return
		}
		io.WriteString(rw, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SendNotificationResult xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:SubscriptionStatus>`+status+`</m:SubscriptionStatus></m:SendNotificationResult></s:Body></s:Envelope>`)
	}))
	defer cb.Close()
	old := pushFirstRetry
	pushFirstRetry = 20 * time.Millisecond
	defer func() { pushFirstRetry = old }()
	r := w.mustOK(w.call(w.svc, imp, subscribeReq("PushSubscriptionRequest", distFolder("inbox", w.alice), `<t:StatusFrequency>1</t:StatusFrequency><t:URL>`+cb.URL+`/cb</t:URL>`)))
	if r.messages()[0].childText("Watermark") == "" {
		t.Fatalf("no watermark: %s", r.body)
	}
	deliver := func() time.Time {
		t0 := time.Now()
		if _, err := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: "push"}); err != nil {
			t.Fatal(err)
		}
		return t0
	}
	next := func() got {
		select {
		case p := <-posts:
			return p
		case <-time.After(5 * time.Second):
			t.Fatal("no push")
		}
		return got{}
	}
	t0 := deliver()
	// First attempt fails: the same events are sent again.
	p := next()
	reply <- "500"
	if !strings.Contains(p.body, "<t:NewMailEvent>") || !strings.Contains(p.body, "<m:SendNotification>") {
		t.Fatalf("push body: %s", p.body)
	}
	t.Logf("delivery to push POST: %s", p.at.Sub(t0))
	p2 := next()
	reply <- "OK"
	if !strings.Contains(p2.body, "<t:NewMailEvent>") {
		t.Fatalf("retry lost the events: %s", p2.body)
	}
	// Next delivery; the client unsubscribes.
	deliver()
	p3 := next()
	reply <- "Unsubscribe"
	if strings.Count(p3.body, "<t:NewMailEvent>") != 1 {
		t.Fatalf("second push (events repeated?): %s", p3.body)
	}
	deadline := time.Now().Add(2 * time.Second)
	for w.h.notifyHub().Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := w.h.notifyHub().Len(); n != 0 {
		t.Fatalf("%d subscriptions after Unsubscribe reply", n)
	}
}

func TestPushUnreachableDropped(t *testing.T) {
	w := newWorld(t)
	oldG, oldR := pushGiveUp, pushFirstRetry
	pushGiveUp, pushFirstRetry = 200*time.Millisecond, 10*time.Millisecond
	defer func() { pushGiveUp, pushFirstRetry = oldG, oldR }()
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	w.mustOK(w.call(w.svc, primary(w.alice), subscribeReq("PushSubscriptionRequest", distFolder("inbox", w.alice), `<t:StatusFrequency>1</t:StatusFrequency><t:URL>`+url+`</t:URL>`)))
	w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: "x"})
	deadline := time.Now().Add(5 * time.Second)
	for w.h.notifyHub().Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := w.h.notifyHub().Len(); n != 0 {
		t.Fatal("an unreachable push subscription was kept")
	}
	r := w.call(w.svc, primary(w.alice), subscribeReq("PushSubscriptionRequest", distFolder("inbox", w.alice), `<t:URL>ftp://x</t:URL>`))
	if code(r.messages()[0]) != "ErrorInvalidPushSubscriptionUrl" {
		t.Fatalf("%s", r.body)
	}
}

func TestBudgets(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	w.h.SetBudgets(func(caller string) notify.Budget {
		if caller == w.svc.ID {
			return notify.Budget{Concurrency: 1, Subscriptions: 1, Streaming: 1}
		}
		return notify.Budget{}
	})
	// Concurrency: one request in flight, the next is told to back off.
	release, busy := w.h.admit(w.svc.ID)
	if busy != nil {
		t.Fatal(busy)
	}
	r := w.call(w.svc, imp, `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+distFolder("inbox", nil)+`</m:FolderIds></m:GetFolder>`)
	if r.status != 500 || r.faultCode() != "ErrorServerBusy" || r.faultValue("BackOffMilliseconds") == "" {
		t.Fatalf("over concurrency: %d %s", r.status, r.body)
	}
	// Other accounts have their own budget.
	w.mustOK(w.call(w.alice, "", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+distFolder("inbox", nil)+`</m:FolderIds></m:GetFolder>`))
	release()
	// Subscriptions, charged to the target mailbox.
	sub := w.mustOK(w.call(w.svc, imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), ""))).messages()[0].childText("SubscriptionId")
	r = w.call(w.svc, imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), ""))
	if c := code(r.messages()[0]); c != "ErrorExceededSubscriptionCount" {
		t.Fatalf("second subscription: %s", r.body)
	}
	// Streaming connections: the second one is refused while the first is open.
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	res := streamRequest(t, srv.URL, w.svc, imp, 1, sub)
	defer res.Body.Close()
	r = w.call(w.svc, imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>`+sub+`</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	if m := r.messages(); len(m) != 1 || code(m[0]) != "ErrorExceededConnectionCount" {
		t.Fatalf("second stream: %s", r.body)
	}
	// The open stream does not hold the concurrency budget.
	w.mustOK(w.call(w.svc, imp, `<m:Unsubscribe><m:SubscriptionId>`+sub+`</m:SubscriptionId></m:Unsubscribe>`))
}

// TestStreamingScale measures, when ACTAS_SCALE is set: memory per idle
// subscription and delivery-to-event latency with many subscriptions on
// streaming connections of 200 ids each, all in one process over HTTP.
//
//	ACTAS_SCALE=1 go test -run TestStreamingScale -v ./internal/ews/
//	ACTAS_SCALE_MAILBOXES=500 ACTAS_SCALE_PER_MAILBOX=20 (defaults)
func TestStreamingScale(t *testing.T) {
	if os.Getenv("ACTAS_SCALE") == "" {
		t.Skip("set ACTAS_SCALE=1 to measure")
	}
	nMbx, per := envInt("ACTAS_SCALE_MAILBOXES", 500), envInt("ACTAS_SCALE_PER_MAILBOX", 20)
	w := newWorld(t)
	w.h.SetBudgets(func(string) notify.Budget { return notify.Budget{Streaming: 1000, Concurrency: 1000} })
	var mbxs []*d_Recipient
	for i := 0; i < nMbx; i++ {
		r := w.recipient(w.org, fmt.Sprintf("load%04d", i), "UserMailbox")
		if err := w.mbx.Ensure(t0ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		mbxs = append(mbxs, r)
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	w.h.notifyHub() // the hub itself is not counted
	before := heap()
	t0 := time.Now()
	var ids []string
	owner := map[string]string{} // subscription -> mailbox id
	for _, r := range mbxs {
		for j := 0; j < per; j++ {
			res := w.call(w.svc, primary(r), subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", r), ""))
			id := res.messages()[0].childText("SubscriptionId")
			if id == "" {
				t.Fatalf("subscribe: %s", res.body)
			}
			ids = append(ids, id)
			owner[id] = r.ID
		}
	}
	n := len(ids)
	after := heap()
	t.Logf("%d subscriptions over %d mailboxes created in %s; heap per idle subscription: %d bytes",
		n, nMbx, time.Since(t0).Round(time.Millisecond), int64(after-before)/int64(n))

	srv := httptest.NewServer(w.h)
	defer srv.Close()
	type arrival struct {
		body string
		at   time.Time
	}
	arrivals := make(chan arrival, 10000)
	var conns []*http.Response
	for lo := 0; lo < n; lo += maxStreamingIDs {
		hi := min(lo+maxStreamingIDs, n)
		res := streamRequest(t, srv.URL, w.svc, "", 5, ids[lo:hi]...)
		conns = append(conns, res)
		go func() {
			br := bufio.NewReaderSize(res.Body, 64<<10)
			var cur strings.Builder
			for {
				s, err := br.ReadString('>')
				cur.WriteString(s)
				if strings.HasSuffix(s, "</Envelope>") {
					arrivals <- arrival{cur.String(), time.Now()}
					cur.Reset()
				}
				if err != nil {
					return
				}
			}
		}()
	}
	// Let the connections' first reads (every subscription once) finish.
	time.Sleep(3 * time.Second)
	withConns := heap()
	t.Logf("%d streaming connections open; heap per subscription including connections: %d bytes", len(conns), int64(withConns-before)/int64(n))

	const deliveries = 200
	sent := map[string]time.Time{}
	var sentMu sync.Mutex
	var lat []time.Duration
	done := make(chan struct{})
	expect := deliveries * per
	go func() {
		defer close(done)
		for a := range arrivals {
			sentMu.Lock()
			for id, t0 := range sent {
				if strings.Contains(a.body, id) {
					// One NewMailEvent per subscription of that mailbox in this envelope.
					for _, nm := range strings.Split(a.body, "<t:NewMailEvent>")[1:] {
						if end := strings.Index(nm, "</t:NewMailEvent>"); end > 0 && strings.Contains(nm[:end], id) {
							lat = append(lat, a.at.Sub(t0))
						}
					}
				}
			}
			got := len(lat)
			sentMu.Unlock()
			if got >= expect {
				return
			}
		}
	}()
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < deliveries; i++ {
		r := mbxs[rnd.Intn(len(mbxs))]
		sentMu.Lock()
		t0 := time.Now()
		items, err := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{r.ID}, &mailbox.Item{Subject: "load"})
		if err != nil {
			t.Fatal(err)
		}
		sent[itemID(items[0])] = t0
		sentMu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	sentMu.Lock()
	defer sentMu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		t.Fatal("no events")
	}
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	t.Logf("%d deliveries at ~50/s, %d NewMail events (want %d): latency from Deliver to event read by the client p50 %s, p99 %s, max %s",
		deliveries, len(lat), expect, p(0.50), p(0.99), lat[len(lat)-1])
	for _, c := range conns {
		c.Body.Close()
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// openStream starts GetStreamingEvents and returns its envelopes as they
// arrive (the channel closes with the response).
func openStream(t *testing.T, srv *httptest.Server, w *world, imp string, ids ...string) <-chan string {
	t.Helper()
	res := streamRequest(t, srv.URL, w.svc, imp, 1, ids...)
	out := make(chan string, 100)
	go func() {
		defer close(out)
		defer res.Body.Close()
		br := bufio.NewReader(res.Body)
		var cur strings.Builder
		for {
			s, err := br.ReadString('>')
			cur.WriteString(s)
			if strings.HasSuffix(cur.String(), "</Envelope>") {
				out <- cur.String()
				cur.Reset()
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func TestStreamingServerCloseAndResume(t *testing.T) {
	w := newWorld(t)
	old := streamMinute
	streamMinute = 300 * time.Millisecond
	defer func() { streamMinute = old }()
	imp := primary(w.alice)
	sub := w.mustOK(w.call(w.svc, imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), ""))).messages()[0].childText("SubscriptionId")
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	var all []string
	for e := range openStream(t, srv, w, imp, sub) {
		all = append(all, e)
	}
	if len(all) != 1 || !strings.Contains(all[0], "<m:ConnectionStatus>Closed</m:ConnectionStatus>") {
		t.Fatalf("server close: %v", all)
	}
	// Mail arrives while no connection is open; the next connection gets it.
	items, _ := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: "while away"})
	all = nil
	for e := range openStream(t, srv, w, imp, sub) {
		all = append(all, e)
	}
	joined := strings.Join(all, "")
	if strings.Count(joined, "<t:NewMailEvent>") != 1 || !strings.Contains(joined, itemID(items[0])) {
		t.Fatalf("resumed stream: %v", all)
	}
	// A third connection repeats nothing.
	all = nil
	for e := range openStream(t, srv, w, imp, sub) {
		all = append(all, e)
	}
	if strings.Contains(strings.Join(all, ""), "Event>") {
		t.Fatalf("events repeated: %v", all)
	}
}

func TestStreamingGapIsReported(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	sub := w.mustOK(w.call(w.svc, imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), ""))).messages()[0].childText("SubscriptionId")
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	envs := openStream(t, srv, w, imp, sub)
	time.Sleep(50 * time.Millisecond)
	// The mailbox's journal disappears under the subscription.
	if err := w.mbx.Remove(t0ctx, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	w.h.notifyHub().Signal([]string{w.alice.ID})
	var all []string
	for e := range envs {
		all = append(all, e)
	}
	joined := strings.Join(all, "")
	if !strings.Contains(joined, "ErrorMissedNotificationEvents") || !strings.Contains(joined, "<m:ErrorSubscriptionIds><m:SubscriptionId>"+sub) ||
		!strings.HasSuffix(strings.TrimSpace(all[len(all)-1]), "</Envelope>") || !strings.Contains(all[len(all)-1], "Closed") {
		t.Fatalf("gap: %v", all)
	}
}

// TestCopiedEvent: CopyItem within a mailbox is a CopiedEvent for pull and
// streaming subscriptions on the source or the target folder, naming the
// copy (ItemId, ParentFolderId) and its source (OldItemId,
// OldParentFolderId); SyncFolderItems of the target still sees a Create.
func TestCopiedEvent(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	src := w.seed(w.alice.ID, "inbox", 1, nil)[0]
	inboxF, _ := w.mbx.Distinguished(t0ctx, w.alice.ID, "inbox")
	trashF, _ := w.mbx.Distinguished(t0ctx, w.alice.ID, "deleteditems")
	deleted := distFolder("deleteditems", w.alice)
	sc := &syncClient{w: w, as: w.svc, imp: imp, folder: deleted, items: map[string]bool{}, reads: map[string]bool{}}
	for !sc.page(t, 512) {
	}
	types := `<t:EventTypes><t:EventType>CopiedEvent</t:EventType><t:EventType>CreatedEvent</t:EventType></t:EventTypes>`
	r := w.mustOK(w.call(w.svc, imp, `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds>`+distFolder("inbox", w.alice)+`</t:FolderIds>`+types+`<t:Timeout>5</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`))
	pull, wm := r.messages()[0].childText("SubscriptionId"), r.messages()[0].childText("Watermark")
	r = w.mustOK(w.call(w.svc, imp, `<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds>`+deleted+`</t:FolderIds>`+types+`</m:StreamingSubscriptionRequest></m:Subscribe>`))
	streaming := r.messages()[0].childText("SubscriptionId")

	srv := httptest.NewServer(w.h)
	defer srv.Close()
	res := streamRequest(t, srv.URL, w.svc, imp, 1, streaming)
	defer res.Body.Close()

	r = w.mustOK(w.call(w.svc, imp, `<m:CopyItem><m:ToFolderId>`+deleted+`</m:ToFolderId><m:ItemIds><t:ItemId Id="`+itemID(src)+`"/></m:ItemIds></m:CopyItem>`))
	copyID := find(r.root, "ItemId").attr("Id")
	if copyID == "" || copyID == itemID(src) {
		t.Fatalf("CopyItem: %s", r.body)
	}
	check := func(via string, ev *node) {
		t.Helper()
		for _, c := range []struct{ el, want string }{
			{"ItemId", copyID},
			{"ParentFolderId", trashF.ID()},
			{"OldItemId", itemID(src)},
			{"OldParentFolderId", inboxF.ID()},
		} {
			if got := find(ev, c.el).attr("Id"); got != c.want {
				t.Errorf("%s: CopiedEvent %s = %q, want %q", via, c.el, got, c.want)
			}
		}
	}

	// Pull, on the source folder: one CopiedEvent, no CreatedEvent.
	r = w.mustOK(w.call(w.svc, imp, `<m:GetEvents><m:SubscriptionId>`+pull+`</m:SubscriptionId><m:Watermark>`+wm+`</m:Watermark></m:GetEvents>`))
	if got := strings.Join(eventTypes(r.root), ","); got != "CopiedEvent" {
		t.Fatalf("pull events %s\n%s", got, r.body)
	}
	check("pull", find(r.root, "CopiedEvent"))

	// Streaming, on the target folder.
	br := bufio.NewReader(res.Body)
	env := readEnvelope(t, br)
	root, err := parseXML([]byte(env), limits{maxDepth: 50, maxElements: 1000})
	if err != nil {
		t.Fatalf("envelope: %v: %s", err, env)
	}
	if got := strings.Join(eventTypes(root), ","); got != "CopiedEvent" {
		t.Fatalf("streaming events %s\n%s", got, env)
	}
	check("streaming", find(root, "CopiedEvent"))

	// SyncFolderItems of the target: the copy is a Create.
	sc.seen = nil
	sc.page(t, 512)
	if len(sc.seen) != 1 || sc.seen[0] != "Create "+copyID {
		t.Fatalf("sync of the target folder: %v", sc.seen)
	}
}

// TestSubscriptionRevoked: a subscription made through impersonation stops
// delivering as soon as the right is removed, whether or not the client
// sends the impersonation header again.
func TestSubscriptionRevoked(t *testing.T) {
	w := newWorld(t)
	imp := primary(w.alice)
	r := w.mustOK(w.call(w.svc, imp, subscribeReq("PullSubscriptionRequest", distFolder("inbox", w.alice), `<t:Timeout>5</t:Timeout>`)))
	sub, wm := r.messages()[0].childText("SubscriptionId"), r.messages()[0].childText("Watermark")
	get := `<m:GetEvents><m:SubscriptionId>` + sub + `</m:SubscriptionId><m:Watermark>` + wm + `</m:Watermark></m:GetEvents>`
	w.mustOK(w.call(w.svc, "", get))
	var ids []string
	_ = w.dir.Read(func(s *d_State) error {
		for _, a := range s.Assignments(w.org.ID) {
			if a.Assignee == w.svc.ID {
				ids = append(ids, a.ID)
			}
		}
		return nil
	})
	w.write(func(tx *d_Tx) error {
		for _, id := range ids {
			tx.DeleteAssignment(id)
		}
		return nil
	})
	if c := code(w.call(w.svc, "", get).messages()[0]); c != "ErrorAccessDenied" {
		t.Fatalf("GetEvents after the right was removed: %s", c)
	}
	// The refused subscription is gone (it no longer holds a budget place).
	if c := code(w.call(w.svc, "", get).messages()[0]); c != "ErrorSubscriptionNotFound" {
		t.Fatalf("GetEvents again: %s", c)
	}
}

// streamRequest opens a GetStreamingEvents connection for ids as account as
// (impersonating imp when set) with a ConnectionTimeout in minutes.
func streamRequest(t testing.TB, url string, as *d_Recipient, imp string, minutes int, ids ...string) *http.Response {
	t.Helper()
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(`<t:SubscriptionId>` + id + `</t:SubscriptionId>`)
	}
	body := envelope("Exchange2016", imp, `<m:GetStreamingEvents><m:SubscriptionIds>`+b.String()+`</m:SubscriptionIds><m:ConnectionTimeout>`+itoa(minutes)+`</m:ConnectionTimeout></m:GetStreamingEvents>`)
	req, _ := http.NewRequest("POST", url+"/EWS/Exchange.asmx", strings.NewReader(body))
	req.SetBasicAuth(as.UserPrincipalName, "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// readEnvelope reads the next whole envelope of a stream.
func readEnvelope(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	var env strings.Builder
	for !strings.HasSuffix(env.String(), "</Envelope>") {
		s, err := br.ReadString('>')
		env.WriteString(s)
		if err != nil {
			t.Fatalf("stream ended: %v: %s", err, env.String())
		}
	}
	return env.String()
}
