package cmdlet

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Get-CalendarProcessingLog (issue 4, an Actas cmdlet; Exchange has no
// equivalent): the booking decision log of a room or equipment mailbox,
// newest first — meeting requests accepted or declined, calendar items
// written straight into its calendar and accepted or refused, resource
// delegates' decisions (mailbox.BookingLog). Authorized like
// Get-CalendarProcessing (role entries of Mail Recipients and View-Only
// Recipients); a mailbox of another organization is not found.
// -ResultSize defaults to 1000, with EMS's warnings when more exist.

func calendarLogCmdlets() []*Def {
	return []*Def{{Name: "Get-CalendarProcessingLog", Run: getCalendarProcessingLog, Params: []Param{
		{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true},
		{Name: "ResultSize", Kind: adminapi.KindInt},
	}}}
}

func getCalendarProcessingLog(c *Call) error {
	r, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	limit, err := resultLimit(c)
	if err != nil {
		return err
	}
	bl, ok := c.reg.mailboxes.(mailbox.BookingLog)
	if !ok {
		return invalidOp("This server keeps no booking decision log (no mailbox store).")
	}
	fetch := 0 // all
	if limit > 0 {
		fetch = limit + 1 // one more, to know whether to warn
	}
	log, err := bl.BookingDecisions(c.ctx, r.ID, fetch)
	if errors.Is(err, mailbox.ErrNotFound) {
		return nil // the mailbox was never opened: nothing was decided
	}
	if err != nil {
		return fmt.Errorf("read the booking log of %s: %w", r.Name, err)
	}
	for _, e := range limitResults(c, log, limit) {
		organizer := e.ActorAddress
		if x := c.S.Recipient(e.ActorID); x != nil && x.Org == r.Org {
			organizer = x.PrimarySmtpAddress
		}
		c.Emit(&adminapi.Object{Type: "CalendarProcessingLogEntry", View: []string{"Time", "Source", "Outcome", "Organizer", "Subject", "Reason"},
			Props: []adminapi.Prop{
				{Name: "Identity", Value: r.Name + `\` + strconv.FormatInt(e.Seq, 10)},
				{Name: "Mailbox", Value: r.Name},
				{Name: "Time", Value: fmtTime(e.At)},
				{Name: "Source", Value: e.Source},
				{Name: "Outcome", Value: e.Outcome},
				{Name: "Organizer", Value: organizer},
				{Name: "Subject", Value: e.Subject},
				{Name: "Start", Value: fmtTime(e.Start)},
				{Name: "End", Value: fmtTime(e.End)},
				{Name: "Reason", Value: e.Reason},
				{Name: "RequestId", Value: e.RequestID},
			}})
	}
	return nil
}
