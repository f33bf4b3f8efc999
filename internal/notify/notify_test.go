package notify

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/store"
)

func newStore(t *testing.T) *mailbox.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return mailbox.Open(st.DB())
}

const mbx = "0b7e3c1a-1111-4222-8333-944455556666"

func TestWatermark(t *testing.T) {
	for _, seq := range []int64{0, 1, 300, 1 << 40} {
		v := Watermark(mbx, seq)
		m, s, err := ParseWatermark(v)
		if err != nil || m != mbx || s != seq {
			t.Fatalf("%d: %q -> %s %d %v", seq, v, m, s, err)
		}
		b := []byte(v)
		b[3] ^= 1
		if _, _, err := ParseWatermark(string(b)); err == nil {
			t.Fatalf("corrupt watermark accepted")
		}
	}
	for _, bad := range []string{"", "AAAA", "not base64!"} {
		if _, _, err := ParseWatermark(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPullResumeAndEvents(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := st.Ensure(ctx, mbx); err != nil {
		t.Fatal(err)
	}
	inbox, _ := st.Distinguished(ctx, mbx, "inbox")
	trash, _ := st.Distinguished(ctx, mbx, "deleteditems")
	h := NewHub(st, nil)
	defer h.Close()
	s, err := h.Add(ctx, &Subscription{Kind: Pull, Owner: "svc", Mailbox: mbx, Folders: map[int64]bool{inbox.Key: true}, Timeout: time.Minute}, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	start := s.Cursor()
	sender := mailbox.Actor{ID: "someone-else", Via: "owner"}
	items, err := st.Deliver(ctx, sender, []string{mbx}, &mailbox.Item{Subject: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MoveItem(ctx, mailbox.Actor{ID: mbx, Via: "owner"}, mbx, items[0].Key, trash.Key); err != nil {
		t.Fatal(err)
	}
	// Something the subscription does not watch.
	st.CreateFolder(ctx, mailbox.Actor{ID: mbx, Via: "owner"}, mbx, trash.Key, "x", "IPF.Note")
	b, err := h.Read(ctx, s, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range b.Events {
		types = append(types, e.Type)
	}
	if len(types) != 3 || types[0] != "CreatedEvent" || types[1] != "NewMailEvent" || types[2] != "MovedEvent" {
		t.Fatalf("events %v", types)
	}
	if mv := b.Events[2]; mv.Key != items[0].Key || mv.Parent != trash.Key || mv.OldParent != inbox.Key {
		t.Fatalf("moved %+v", mv)
	}
	// Resume from each event's watermark: the rest, nothing repeated.
	b2, err := h.Read(ctx, s, b.Events[1].Seq, 100)
	if err != nil || len(b2.Events) != 1 || b2.Events[0].Type != "MovedEvent" {
		t.Fatalf("resume: %+v %v", b2, err)
	}
	// Paging by rows: MoreEvents.
	b3, _ := h.Read(ctx, s, start, 1)
	if !b3.More || b3.Next != start+1 {
		t.Fatalf("limit 1: %+v", b3)
	}
	// A watermark beyond the head, or of another mailbox, is invalid.
	if _, err := h.CheckWatermark(ctx, mbx, Watermark(mbx, b.Next+10)); !errors.Is(err, ErrWatermark) {
		t.Fatalf("future watermark: %v", err)
	}
	if _, err := h.CheckWatermark(ctx, mbx, Watermark("0b7e3c1a-1111-4222-8333-944455556667", 1)); !errors.Is(err, ErrWatermark) {
		t.Fatalf("foreign watermark: %v", err)
	}
	// Ownership and expiry.
	if _, err := h.Get(s.ID, "other"); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("other owner: %v", err)
	}
	if _, err := h.Get("nope", "svc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	now := time.Now()
	h.now = func() time.Time { return now.Add(2 * time.Minute) }
	if _, err := h.Get(s.ID, "svc"); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	// A mailbox removed under a subscription is a gap, not silence.
	st.Remove(ctx, mbx)
	if _, err := h.Read(ctx, s, start, 10); !errors.Is(err, ErrGap) {
		t.Fatalf("removed mailbox: %v", err)
	}
}

func TestStreamingWakeLatency(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	st.Ensure(ctx, mbx)
	inbox, _ := st.Distinguished(ctx, mbx, "inbox")
	h := NewHub(st, nil)
	defer h.Close()
	s, _ := h.Add(ctx, &Subscription{Kind: Streaming, Owner: "svc", Mailbox: mbx}, "", 0)
	c := h.Attach([]*Subscription{s})
	defer c.Detach()
	<-c.Wake() // the initial poke
	var worst time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if _, err := st.CreateItem(ctx, mailbox.Actor{ID: mbx, Via: "owner"}, mbx, inbox.Key, &mailbox.Item{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.Wake():
		case <-time.After(2 * time.Second):
			t.Fatal("no wake after a commit")
		}
		if d := time.Since(t0); d > worst {
			worst = d
		}
		b, err := h.Read(ctx, s, s.Cursor(), 100)
		if err != nil || len(b.Events) != 1 {
			t.Fatalf("read %+v %v", b, err)
		}
		s.Advance(b.Next)
	}
	t.Logf("worst commit-to-wake (including the commit): %s", worst)
	// A newer connection takes the subscription over.
	c2 := h.Attach([]*Subscription{s})
	defer c2.Detach()
	if len(c.Serving()) != 0 || len(c2.Serving()) != 1 {
		t.Fatal("takeover")
	}
	h.Remove(s.ID)
	if len(c2.Serving()) != 0 {
		t.Fatal("unsubscribed subscription still served")
	}
}

func TestFreeBusyChanged(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	st.Ensure(ctx, mbx)
	cal, _ := st.Distinguished(ctx, mbx, "calendar")
	h := NewHub(st, nil)
	defer h.Close()
	s, _ := h.Add(ctx, &Subscription{Kind: Pull, Owner: "svc", Mailbox: mbx, Types: map[string]bool{"FreeBusyChangedEvent": true}, Timeout: time.Minute}, "", 0)
	start := s.Cursor()
	inbox, _ := st.Distinguished(ctx, mbx, "inbox")
	st.CreateItem(ctx, mailbox.Actor{ID: mbx, Via: "owner"}, mbx, inbox.Key, &mailbox.Item{Subject: "mail"})
	st.CreateItem(ctx, mailbox.Actor{ID: mbx, Via: "owner"}, mbx, cal.Key, &mailbox.Item{Subject: "meeting", Class: "IPM.Appointment"})
	b, err := h.Read(ctx, s, start, 10)
	if err != nil || len(b.Events) != 1 || b.Events[0].Type != "FreeBusyChangedEvent" || b.Events[0].Parent != cal.Key {
		t.Fatalf("%+v %v", b.Events, err)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	st.Ensure(ctx, mbx)
	h := NewHub(st, nil)
	defer h.Close()
	now := time.Now()
	h.now = func() time.Time { return now }
	pull, _ := h.Add(ctx, &Subscription{Kind: Pull, Owner: "svc", Mailbox: mbx, Timeout: time.Minute}, "", 0)
	idle, _ := h.Add(ctx, &Subscription{Kind: Streaming, Owner: "svc", Mailbox: mbx}, "", 0)
	busy, _ := h.Add(ctx, &Subscription{Kind: Streaming, Owner: "svc", Mailbox: mbx}, "", 0)
	c := h.Attach([]*Subscription{busy})
	defer c.Detach()
	now = now.Add(StreamingIdle + time.Minute)
	h.sweep()
	for _, x := range []*Subscription{pull, idle} {
		if _, err := h.Get(x.ID, "svc"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s subscription kept: %v", x.Kind, err)
		}
	}
	if _, err := h.Get(busy.ID, "svc"); err != nil {
		t.Errorf("connected streaming subscription dropped: %v", err)
	}
}

// TestCopyEvents: a copy within a mailbox is a CopiedEvent naming the copy,
// its folder, the source item and the source's folder, for subscriptions on
// either folder; a copy from another mailbox is a creation there.
func TestCopyEvents(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	const other = "0b7e3c1a-1111-4222-8333-944455556667"
	for _, m := range []string{mbx, other} {
		if err := st.Ensure(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	inbox, _ := st.Distinguished(ctx, mbx, "inbox")
	trash, _ := st.Distinguished(ctx, mbx, "deleteditems")
	drafts, _ := st.Distinguished(ctx, mbx, "drafts")
	otherInbox, _ := st.Distinguished(ctx, other, "inbox")
	h := NewHub(st, nil)
	defer h.Close()
	tests := []struct {
		name    string
		mailbox string
		folders []int64 // nil: every folder
		types   []string
		want    string // event type, "" for none
	}{
		{"target folder", mbx, []int64{trash.Key}, nil, "CopiedEvent"},
		{"source folder", mbx, []int64{inbox.Key}, nil, "CopiedEvent"},
		{"all folders", mbx, nil, nil, "CopiedEvent"},
		{"unrelated folder", mbx, []int64{drafts.Key}, nil, ""},
		{"created events only", mbx, nil, []string{"CreatedEvent"}, ""},
		{"other mailbox", other, []int64{otherInbox.Key}, nil, "CreatedEvent"},
	}
	subs := make([]*Subscription, len(tests))
	for i, tt := range tests {
		s := &Subscription{Kind: Pull, Owner: "svc", Mailbox: tt.mailbox, Timeout: time.Minute}
		if tt.folders != nil {
			s.Folders = map[int64]bool{}
			for _, f := range tt.folders {
				s.Folders[f] = true
			}
		}
		if tt.types != nil {
			s.Types = map[string]bool{}
			for _, ty := range tt.types {
				s.Types[ty] = true
			}
		}
		var err error
		if subs[i], err = h.Add(ctx, s, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	owner := mailbox.Actor{ID: mbx, Via: "owner"}
	src, err := st.CreateItem(ctx, owner, mbx, inbox.Key, &mailbox.Item{Subject: "original"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := st.CopyItem(ctx, owner, mbx, src.Key, mbx, trash.Key)
	if err != nil {
		t.Fatal(err)
	}
	cross, err := st.CopyItem(ctx, owner, mbx, src.Key, other, otherInbox.Key)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := subs[i]
			b, err := h.Read(ctx, s, s.Cursor(), 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []Event
			for _, e := range b.Events {
				if !(e.Type == "CreatedEvent" && e.Mailbox == mbx && e.Key == src.Key) { // the original's creation is not under test
					got = append(got, e)
				}
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("events %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Type != tt.want {
				t.Fatalf("events %+v, want one %s", got, tt.want)
			}
			e := got[0]
			switch tt.want {
			case "CopiedEvent":
				if e.Key != cp.Key || e.Parent != trash.Key || e.OldKey != src.Key || e.OldParent != inbox.Key {
					t.Fatalf("copied event %+v: want copy %d in %d from %d in %d", e, cp.Key, trash.Key, src.Key, inbox.Key)
				}
			case "CreatedEvent":
				if e.Mailbox != other || e.Key != cross.Key || e.Parent != otherInbox.Key || e.OldKey != 0 || e.OldParent != 0 {
					t.Fatalf("created event %+v", e)
				}
			}
		})
	}
	// The journal row carries the source for copies within the mailbox only.
	rows, err := st.Journal(ctx, mbx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last.Op != mailbox.OpCopy || last.ItemKey != cp.Key || last.OldItemKey != src.Key || last.OldFolderKey != inbox.Key {
		t.Fatalf("journal row %+v", last)
	}
	rows, _ = st.Journal(ctx, other, 0, 0)
	if last := rows[len(rows)-1]; last.Op != mailbox.OpCopy || last.OldItemKey != 0 {
		t.Fatalf("cross-mailbox journal row %+v", last)
	}
}
