package mailbox

import (
	"context"
	"strings"
	"time"
)

// Meeting tracking: an organizer's record of each attendee's response to a
// meeting (by the meeting's UID). It lives beside the organizer's calendar
// item rather than in it, so a response arriving never changes that item's
// ChangeKey under a client that is editing it.

// MeetingResponse is one attendee's tracked response.
type MeetingResponse struct {
	Response string // Accept, Tentative, Decline
	At       time.Time
}

// MeetingResponses returns the responses tracked for uid in mbx, keyed by
// the attendee's lower-case SMTP address.
func (s *Store) MeetingResponses(ctx context.Context, mbx, uid string) (map[string]MeetingResponse, error) {
	out := map[string]MeetingResponse{}
	err := s.read(ctx, "meeting responses", func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT attendee, response, at FROM mailbox_meeting_responses WHERE mailbox = $1 AND uid = $2`, mbx, uid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, r string
			var at int64
			if err := rows.Scan(&a, &r, &at); err != nil {
				return err
			}
			out[a] = MeetingResponse{Response: r, At: fromMicro(at)}
		}
		return rows.Err()
	})
	return out, err
}

// SetMeetingResponse records attendee's response to uid in mbx; an empty
// attendee clears every response to uid (a full update asks again).
func (s *Store) SetMeetingResponse(ctx context.Context, a Actor, mbx, uid, attendee, response string) error {
	return s.write(ctx, "set meeting response", a, []string{mbx}, false, func(w *wtx) error {
		if attendee == "" {
			_, err := w.tx.ExecContext(w.ctx, `DELETE FROM mailbox_meeting_responses WHERE mailbox = $1 AND uid = $2`, mbx, uid)
			return err
		}
		_, err := w.tx.ExecContext(w.ctx,
			`INSERT INTO mailbox_meeting_responses (mailbox, uid, attendee, response, at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (mailbox, uid, attendee) DO UPDATE SET response = excluded.response, at = excluded.at`,
			mbx, uid, strings.ToLower(attendee), response, micro(w.now))
		return err
	})
}
