package ews

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
	body := envelope("Exchange2016", imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>`+sub+`</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	req, _ := http.NewRequest("POST", srv.URL+"/EWS/Exchange.asmx", strings.NewReader(body))
	req.SetBasicAuth(w.svc.UserPrincipalName, "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	envs := make(chan string, 10)
	go func() {
		defer close(envs)
		br := bufio.NewReader(res.Body)
		var cur strings.Builder
		for {
			b, err := br.ReadString('>')
			cur.WriteString(b)
			if strings.HasSuffix(cur.String(), "</s:Envelope>") {
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
	body := envelope("Exchange2016", imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>`+sub+`</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	req, _ := http.NewRequest("POST", srv.URL+"/EWS/Exchange.asmx", strings.NewReader(body))
	req.SetBasicAuth(w.svc.UserPrincipalName, "pw")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r = w.call(w.svc, imp, `<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>`+sub+`</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>`)
	if m := r.messages(); len(m) != 1 || code(m[0]) != "ErrorExceededConnectionCount" {
		t.Fatalf("second stream: %s", r.body)
	}
	// The open stream does not hold the concurrency budget.
	w.mustOK(w.call(w.svc, imp, `<m:Unsubscribe><m:SubscriptionId>`+sub+`</m:SubscriptionId></m:Unsubscribe>`))
}
