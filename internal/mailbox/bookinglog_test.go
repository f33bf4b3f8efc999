package mailbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

func TestBookingLog(t *testing.T) {
	ctx := context.Background()
	s, room := newMailbox(t)
	other := newGUID()
	if err := s.Ensure(ctx, other); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for i, outcome := range []string{mailbox.BookingAccepted, mailbox.BookingDeclined, mailbox.BookingRefused} {
		d := &mailbox.BookingDecision{Mailbox: room, At: at.Add(time.Duration(i) * time.Minute), Source: mailbox.BookingSourceMeetingRequest,
			ActorID: "alice-id", ActorAddress: "alice@contoso.test", Subject: "Planning", Start: at, End: at.Add(time.Hour),
			Outcome: outcome, Reason: "reason " + outcome, RequestID: "req"}
		if err := s.RecordBookingDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		if d.Seq != int64(i+1) {
			t.Fatalf("seq %d, want %d", d.Seq, i+1)
		}
	}
	if err := s.RecordBookingDecision(ctx, &mailbox.BookingDecision{Mailbox: other, Outcome: mailbox.BookingAccepted}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{{0, []string{"Refused", "Declined", "Accepted"}}, {2, []string{"Refused", "Declined"}}} {
		got, err := s.BookingDecisions(ctx, room, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("limit %d: %d decisions", tc.limit, len(got))
		}
		for i, d := range got {
			if d.Outcome != tc.want[i] || d.Mailbox != room || !d.Start.Equal(at) || !d.End.Equal(at.Add(time.Hour)) || d.Reason != "reason "+d.Outcome {
				t.Fatalf("limit %d: decision %d = %+v", tc.limit, i, d)
			}
		}
	}
	if err := s.RecordBookingDecision(ctx, &mailbox.BookingDecision{Mailbox: "no-such-mailbox"}); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("unknown mailbox: %v", err)
	}
	if _, err := s.BookingDecisions(ctx, "no-such-mailbox", 0); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("unknown mailbox: %v", err)
	}
}
