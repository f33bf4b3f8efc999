package ews

import (
	"bufio"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
	"github.com/actasmail/actas/internal/store"
)

// TestSubscriptionsSurviveRestart: pull, streaming and push subscriptions
// made before a restart (a new Handler over the same database) are served
// after it with the same ids: GetEvents from the client's watermark and
// GetStreamingEvents from the subscription's cursor lose and repeat
// nothing, and the push subscription posts again from where it was.
func TestSubscriptionsSurviveRestart(t *testing.T) {
	var db *sql.DB
	w := newWorldWith(t, func(st *store.SQLite) mailbox.Mailboxes { db = st.DB(); return mailbox.Open(st.DB()) })
	p := notify.NewSQLPersister(db)
	if n, err := w.h.ResumeSubscriptions(t0ctx, p); err != nil || n != 0 {
		t.Fatalf("first start: %d %v", n, err)
	}
	imp := primary(w.alice)
	posts := make(chan string, 10)
	cb := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- string(b)
		io.WriteString(rw, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SendNotificationResult xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:SubscriptionStatus>OK</m:SubscriptionStatus></m:SendNotificationResult></s:Body></s:Envelope>`)
	}))
	defer cb.Close()
	r := w.mustOK(w.call(w.svc, imp, subscribeReq("PullSubscriptionRequest", distFolder("inbox", w.alice), `<t:Timeout>5</t:Timeout>`)))
	pull, wm := r.messages()[0].childText("SubscriptionId"), r.messages()[0].childText("Watermark")
	r = w.mustOK(w.call(w.svc, imp, subscribeReq("StreamingSubscriptionRequest", distFolder("inbox", w.alice), "")))
	streaming := r.messages()[0].childText("SubscriptionId")
	r = w.mustOK(w.call(w.svc, imp, subscribeReq("PushSubscriptionRequest", distFolder("inbox", w.alice), `<t:StatusFrequency>30</t:StatusFrequency><t:URL>`+cb.URL+`/cb</t:URL>`)))
	push := r.messages()[0].childText("SubscriptionId")
	next := func(what string) string {
		t.Helper()
		select {
		case b := <-posts:
			return b
		case <-time.After(10 * time.Second):
			t.Fatalf("no push: %s", what)
		}
		return ""
	}
	deliver := func(subject string) string {
		t.Helper()
		items, err := w.mbx.Deliver(t0ctx, mailbox.Actor{ID: w.bob.ID, Via: "owner"}, []string{w.alice.ID}, &mailbox.Item{Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		return itemID(items[0])
	}
	before := deliver("before the restart")
	if b := next("before the restart"); !strings.Contains(b, before) {
		t.Fatalf("push before the restart: %s", b)
	}
	// The push cursor moves once the callback's reply was read.
	ps, err := w.h.notifyHub().Get(push, w.svc.ID)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := w.h.notifyHub().Head(t0ctx, w.alice.ID)
	for deadline := time.Now().Add(10 * time.Second); ps.Cursor() != head && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}

	// Restart: the old handler stops (writing cursors), a new one resumes.
	w.h.Close()
	w.h = New(w.dir, w.mbx, w.authn, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), Options{})
	defer w.h.Close()
	if n, err := w.h.ResumeSubscriptions(t0ctx, p); err != nil || n != 3 {
		t.Fatalf("resumed %d subscriptions (%v), want 3", n, err)
	}
	after := deliver("after the restart")

	// Push: only the new mail, nothing repeated.
	if b := next("after the restart"); !strings.Contains(b, after) || strings.Contains(b, before) {
		t.Fatalf("push after the restart: %s", b)
	}
	// Pull, from the watermark the client had: both, in order.
	r = w.mustOK(w.call(w.svc, imp, `<m:GetEvents><m:SubscriptionId>`+pull+`</m:SubscriptionId><m:Watermark>`+wm+`</m:Watermark></m:GetEvents>`))
	var got []string
	for _, e := range findAll(r.root, "NewMailEvent") {
		got = append(got, find(e, "ItemId").attr("Id"))
	}
	if strings.Join(got, ",") != before+","+after {
		t.Fatalf("pull after the restart: %v\n%s", got, r.body)
	}
	// Streaming, never connected: everything since it was made.
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	res := streamRequest(t, srv.URL, w.svc, imp, 1, streaming)
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	env := readEnvelope(t, br)
	e := env
	if strings.Contains(e, `ResponseClass="Error"`) || strings.Count(e, "<t:NewMailEvent>") != 2 || strings.Index(e, before) > strings.Index(e, after) {
		t.Fatalf("streaming after the restart: %s", e)
	}
}
