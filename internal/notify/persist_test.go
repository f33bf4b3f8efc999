package notify

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/store"
)

func newStoreDB(t *testing.T) (*mailbox.Store, *sql.DB) {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return mailbox.Open(st.DB()), st.DB()
}

// TestRestore: subscriptions written by one hub are served by the next
// (a restart) with the same ids, definitions and cursors; ended ones do not
// come back; a removed mailbox takes its subscriptions with it.
func TestRestore(t *testing.T) {
	ctx := context.Background()
	st, db := newStoreDB(t)
	if err := st.Ensure(ctx, mbx); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Distinguished(ctx, mbx, "inbox")
	p := NewSQLPersister(db)

	h1 := NewHub(st, nil)
	if subs, err := h1.Restore(ctx, p, nil); err != nil || len(subs) != 0 {
		t.Fatalf("first start: %v %v", subs, err)
	}
	defs := []*Subscription{
		{Kind: Pull, Owner: "svc", Mailbox: mbx, Folders: map[int64]bool{inbox.Key: true}, Types: map[string]bool{"NewMailEvent": true, "MovedEvent": true}, Timeout: 7 * time.Minute},
		{Kind: Streaming, Owner: "svc", Mailbox: mbx, Types: map[string]bool{"CreatedEvent": true}},
		{Kind: Push, Owner: "svc2", Mailbox: mbx, Folders: map[int64]bool{}, Types: map[string]bool{"CopiedEvent": true}, URL: "http://127.0.0.1:1/cb", StatusFrequency: 3 * time.Minute, CallerData: "ctx-1"},
	}
	for _, s := range defs {
		if _, err := h1.Add(ctx, s, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	pull, streaming, push := defs[0], defs[1], defs[2]
	sender := mailbox.Actor{ID: "someone-else", Via: "owner"}
	for i := 0; i < 3; i++ {
		if _, err := st.Deliver(ctx, sender, []string{mbx}, &mailbox.Item{Subject: "restart"}); err != nil {
			t.Fatal(err)
		}
	}
	// The streaming client got the first two creations before the restart.
	b, err := h1.Read(ctx, streaming, streaming.Cursor(), 100)
	if err != nil || len(b.Events) != 3 {
		t.Fatalf("before restart: %+v %v", b, err)
	}
	streaming.Advance(b.Events[1].Seq)
	h1.Close() // writes the cursor

	h2 := NewHub(st, nil)
	defer h2.Close()
	subs, err := h2.Restore(ctx, p, nil)
	if err != nil || len(subs) != 3 {
		t.Fatalf("restore: %d %v", len(subs), err)
	}
	byID := map[string]*Subscription{}
	for _, s := range subs {
		byID[s.ID] = s
	}
	for _, want := range defs {
		got := byID[want.ID]
		if got == nil {
			t.Fatalf("%s subscription %s not restored", want.Kind, want.ID)
		}
		if got.Kind != want.Kind || got.Owner != want.Owner || got.Mailbox != want.Mailbox || got.Timeout != want.Timeout ||
			got.URL != want.URL || got.StatusFrequency != want.StatusFrequency || got.CallerData != want.CallerData {
			t.Errorf("%s restored as %+v", want.Kind, got)
		}
		if (got.Folders == nil) != (want.Folders == nil) || len(got.Folders) != len(want.Folders) {
			t.Errorf("%s folders %v, want %v", want.Kind, got.Folders, want.Folders)
		}
		for k := range want.Folders {
			if !got.Folders[k] {
				t.Errorf("%s folders %v, want %v", want.Kind, got.Folders, want.Folders)
			}
		}
		if len(got.Types) != len(want.Types) {
			t.Errorf("%s types %v, want %v", want.Kind, got.Types, want.Types)
		}
		if got.Cursor() != want.Cursor() {
			t.Errorf("%s cursor %d, want %d", want.Kind, got.Cursor(), want.Cursor())
		}
	}
	// The streaming subscription resumes after the events it delivered.
	s2, err := h2.Get(streaming.ID, "svc")
	if err != nil {
		t.Fatal(err)
	}
	b2, err := h2.Read(ctx, s2, s2.Cursor(), 100)
	if err != nil || len(b2.Events) != 1 || b2.Events[0].Seq != b.Events[2].Seq {
		t.Fatalf("after restart: %+v %v", b2, err)
	}
	// Pull keeps its owner check; Unsubscribe is final.
	if _, err := h2.Get(pull.ID, "other"); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("other owner: %v", err)
	}
	h2.Remove(push.ID)
	recs, err := p.LoadSubscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	want := []string{pull.ID, streaming.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("after Unsubscribe: %v, want %v", ids, want)
	}
	// A removed mailbox takes its subscriptions.
	if err := st.Remove(ctx, mbx); err != nil {
		t.Fatal(err)
	}
	if recs, err := p.LoadSubscriptions(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("after the mailbox was removed: %+v %v", recs, err)
	}
}

// TestFlushRetries: cursors that could not be written stay pending and are
// written by the next flush.
func TestFlushRetries(t *testing.T) {
	ctx := context.Background()
	st, db := newStoreDB(t)
	st.Ensure(ctx, mbx)
	fp := &failingPersister{SQLPersister: NewSQLPersister(db)}
	h := NewHub(st, nil)
	defer h.Close()
	if _, err := h.Restore(ctx, fp, nil); err != nil {
		t.Fatal(err)
	}
	s, err := h.Add(ctx, &Subscription{Kind: Streaming, Owner: "svc", Mailbox: mbx}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Deliver(ctx, mailbox.Actor{ID: "x", Via: "owner"}, []string{mbx}, &mailbox.Item{Subject: "a"})
	head, _ := h.Head(ctx, mbx)
	s.Advance(head)
	fp.fail = true
	h.Flush(ctx)
	fp.fail = false
	h.Flush(ctx)
	recs, err := fp.LoadSubscriptions(ctx)
	if err != nil || len(recs) != 1 || recs[0].Cursor != head {
		t.Fatalf("after a failed then a good flush: %+v %v (want cursor %d)", recs, err, head)
	}
}

type failingPersister struct {
	*SQLPersister
	fail bool
}

func (f *failingPersister) SaveProgress(ctx context.Context, p map[string]Progress) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.SQLPersister.SaveProgress(ctx, p)
}

// TestSweepForgetsRecords: a subscription that expires is deleted from the
// store too, so it does not come back after a restart.
func TestSweepForgetsRecords(t *testing.T) {
	ctx := context.Background()
	st, db := newStoreDB(t)
	st.Ensure(ctx, mbx)
	p := NewSQLPersister(db)
	h := NewHub(st, nil)
	defer h.Close()
	now := time.Now()
	h.now = func() time.Time { return now }
	if _, err := h.Restore(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	pull, _ := h.Add(ctx, &Subscription{Kind: Pull, Owner: "svc", Mailbox: mbx, Timeout: time.Minute}, "", 0)
	kept, _ := h.Add(ctx, &Subscription{Kind: Pull, Owner: "svc", Mailbox: mbx, Timeout: time.Hour}, "", 0)
	now = now.Add(2 * time.Minute)
	h.sweep()
	recs, err := p.LoadSubscriptions(ctx)
	if err != nil || len(recs) != 1 || recs[0].ID != kept.ID {
		t.Fatalf("after %s expired: %+v %v", pull.ID, recs, err)
	}
}
