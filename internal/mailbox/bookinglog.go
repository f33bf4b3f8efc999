package mailbox

import (
	"context"
	"fmt"
	"time"
)

// The booking log of resource mailboxes (issue 4): every decision a room or
// equipment mailbox's booking policy took, whether on a meeting request, a
// calendar item written straight into its calendar, or a resource
// delegate's decision. Rows live in mailbox_booking_log (store migration 5),
// numbered per mailbox; the newest bookingLogKeep of a mailbox are kept.

// Booking decision sources.
const (
	BookingSourceMeetingRequest = "MeetingRequest"
	BookingSourceDirectWrite    = "DirectWrite"
	BookingSourceDelegate       = "Delegate"
)

// Booking decision outcomes.
const (
	BookingAccepted  = "Accepted"
	BookingDeclined  = "Declined"
	BookingTentative = "Tentative"
	BookingForwarded = "Forwarded" // sent to the resource delegates
	BookingRefused   = "Refused"   // a direct write the policy did not allow
	BookingCancelled = "Cancelled" // the organizer cancelled a booked meeting
)

// bookingLogKeep is how many decisions a mailbox keeps.
const bookingLogKeep = 10000

// BookingDecision is one decision of a resource mailbox.
type BookingDecision struct {
	Seq     int64  // per mailbox, assigned by RecordBookingDecision
	Mailbox string // the resource's recipient id
	At      time.Time
	Source  string // BookingSource…
	// Actor is the organizer (meeting requests) or the account that acted
	// (direct writes, delegates): recipient id and address at the time.
	ActorID, ActorAddress string
	Subject               string
	Start, End            time.Time
	Outcome               string // Booking…
	Reason                string
	RequestID             string // the EWS request's id, as logged
}

// BookingLog is implemented by *Store. It is not part of Mailboxes:
// callers type-assert for it, and stores without it keep no log.
type BookingLog interface {
	// RecordBookingDecision appends d to d.Mailbox's log and sets d.Seq.
	RecordBookingDecision(ctx context.Context, d *BookingDecision) error
	// BookingDecisions returns a mailbox's newest decisions first, at most
	// limit (all when limit <= 0).
	BookingDecisions(ctx context.Context, mbx string, limit int) ([]BookingDecision, error)
}

var _ BookingLog = (*Store)(nil)

// RecordBookingDecision implements BookingLog.
func (s *Store) RecordBookingDecision(ctx context.Context, d *BookingDecision) error {
	if d.At.IsZero() {
		d.At = s.now()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mailbox: record booking decision: begin: %w", err)
	}
	defer tx.Rollback()
	if err := mailboxExists(ctx, tx, d.Mailbox); err != nil {
		return fmt.Errorf("mailbox: record booking decision: %w", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM mailbox_booking_log WHERE mailbox = $1`, d.Mailbox).Scan(&seq); err != nil {
		return fmt.Errorf("mailbox: record booking decision: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO mailbox_booking_log (mailbox, seq, at, source, actor_id, actor_address, subject, start_at, end_at, outcome, reason, request_id)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.Mailbox, seq, micro(d.At), d.Source, d.ActorID, d.ActorAddress, d.Subject, micro(d.Start), micro(d.End), d.Outcome, d.Reason, d.RequestID); err != nil {
		return fmt.Errorf("mailbox: record booking decision: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox_booking_log WHERE mailbox = $1 AND seq <= $2`, d.Mailbox, seq-bookingLogKeep); err != nil {
		return fmt.Errorf("mailbox: record booking decision: prune: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mailbox: record booking decision: commit: %w", err)
	}
	d.Seq = seq
	return nil
}

// BookingDecisions implements BookingLog.
func (s *Store) BookingDecisions(ctx context.Context, mbx string, limit int) ([]BookingDecision, error) {
	if limit <= 0 {
		limit = bookingLogKeep
	}
	var out []BookingDecision
	err := s.read(ctx, "booking decisions", func(q querier) error {
		if err := mailboxExists(ctx, q, mbx); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx,
			`SELECT seq, at, source, actor_id, actor_address, subject, start_at, end_at, outcome, reason, request_id
			 FROM mailbox_booking_log WHERE mailbox = $1 ORDER BY seq DESC LIMIT $2`, mbx, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d := BookingDecision{Mailbox: mbx}
			var at, start, end int64
			if err := rows.Scan(&d.Seq, &at, &d.Source, &d.ActorID, &d.ActorAddress, &d.Subject, &start, &end, &d.Outcome, &d.Reason, &d.RequestID); err != nil {
				return err
			}
			d.At, d.Start, d.End = fromMicro(at), fromMicro(start), fromMicro(end)
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, err
}
