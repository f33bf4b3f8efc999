package cmdlet

import (
	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// Set-CalendarProcessing and Get-CalendarProcessing (issue 4): a mailbox's
// resource booking policy, kept on the directory recipient
// (Recipient.CalendarProcessing; nil = Exchange's defaults,
// d.DefaultCalendarProcessing). Parameters and defaults per rbac-shell.md
// §2.6. Both are entries of the Mail Recipients role; Set checks the
// caller's write scope on the mailbox. User mailboxes stay AutoUpdate.

var automateProcessingValues = []string{"None", "AutoUpdate", "AutoAccept"}

var calendarProcessingBools = []string{"AllowConflicts", "AllowRecurringMeetings", "AllBookInPolicy", "AddOrganizerToSubject",
	"DeleteSubject", "DeleteComments", "RemovePrivateProperty", "AllRequestInPolicy", "AllRequestOutOfPolicy", "ForwardRequestsToDelegates"}

func calendarProcessingCmdlets() []*Def {
	set := []Param{
		{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true},
		{Name: "AutomateProcessing", Kind: adminapi.KindString},
		{Name: "BookingWindowInDays", Kind: adminapi.KindInt},
		{Name: "MaximumDurationInMinutes", Kind: adminapi.KindInt},
		{Name: "BookInPolicy", Kind: adminapi.KindStrings},
		{Name: "ResourceDelegates", Kind: adminapi.KindStrings},
		{Name: "RequestInPolicy", Kind: adminapi.KindStrings},
		{Name: "RequestOutOfPolicy", Kind: adminapi.KindStrings},
	}
	for _, b := range calendarProcessingBools {
		set = append(set, Param{Name: b, Kind: adminapi.KindBool})
	}
	return []*Def{
		{Name: "Set-CalendarProcessing", Write: true, Run: setCalendarProcessing, Params: set},
		{Name: "Get-CalendarProcessing", Run: getCalendarProcessing,
			Params: []Param{{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true}}},
	}
}

func setCalendarProcessing(c *Call) error {
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	if err := rbac.CanWrite(c.S, c.Caller, "Set-CalendarProcessing", target); err != nil {
		return err
	}
	p := target.EffectiveCalendarProcessing().Clone()
	if c.Has("AutomateProcessing") {
		v, ok := matchEnum(c.Str("AutomateProcessing"), automateProcessingValues)
		if !ok {
			return enumError("AutomateProcessing", c.Str("AutomateProcessing"), "Microsoft.Exchange.Data.Storage.CalendarProcessingFlags", automateProcessingValues)
		}
		if target.Type == d.UserMailbox && v != "AutoUpdate" {
			return invalidOp("The calendar processing of user mailbox '%s' is AutoUpdate and can't be changed; -AutomateProcessing %s applies to room and equipment mailboxes.", target.Name, v)
		}
		p.AutomateProcessing = v
	}
	if n, ok := c.Int("BookingWindowInDays"); ok {
		if n < 0 || n > 1080 {
			return invalidArg("-BookingWindowInDays must be between 0 and 1080.")
		}
		p.BookingWindowInDays = n
	}
	if n, ok := c.Int("MaximumDurationInMinutes"); ok {
		if n < 0 {
			return invalidArg("-MaximumDurationInMinutes must be between 0 (unlimited) and 2147483647.")
		}
		p.MaximumDurationInMinutes = n
	}
	flags := map[string]*bool{"AllowConflicts": &p.AllowConflicts, "AllowRecurringMeetings": &p.AllowRecurringMeetings,
		"AllBookInPolicy": &p.AllBookInPolicy, "AddOrganizerToSubject": &p.AddOrganizerToSubject, "DeleteSubject": &p.DeleteSubject,
		"DeleteComments": &p.DeleteComments, "RemovePrivateProperty": &p.RemovePrivateProperty,
		"AllRequestInPolicy": &p.AllRequestInPolicy, "AllRequestOutOfPolicy": &p.AllRequestOutOfPolicy}
	for _, name := range calendarProcessingBools {
		if !c.Has(name) {
			continue
		}
		if name == "ForwardRequestsToDelegates" {
			p.NoForwardToDelegates = !c.Bool(name)
			continue
		}
		*flags[name] = c.Bool(name)
	}
	for _, l := range []struct {
		name  string
		dst   *[]string
		kinds d.Kinds
	}{{"BookInPolicy", &p.BookInPolicy, d.UsersOrGroups}, {"ResourceDelegates", &p.ResourceDelegates, d.Mailboxes},
		{"RequestInPolicy", &p.RequestInPolicy, d.UsersOrGroups}, {"RequestOutOfPolicy", &p.RequestOutOfPolicy, d.UsersOrGroups}} {
		m, ok := c.Multi(l.name)
		if !ok {
			continue
		}
		ids, err := applyRecipientList(c, *l.dst, m, l.kinds)
		if err != nil {
			return err
		}
		*l.dst = ids
	}
	r := target.Clone()
	r.CalendarProcessing = p
	r.WhenChanged = c.Now()
	return c.Tx.PutRecipient(r)
}

// applyRecipientList applies a list or @{Add=…;Remove=…} of recipient
// identities to a list of recipient ids.
func applyRecipientList(c *Call, cur []string, m multi, kinds d.Kinds) ([]string, error) {
	resolve := func(vals []string) ([]string, error) {
		var out []string
		for _, v := range splitValues(vals) {
			r, err := c.S.Resolve(c.Org.ID, v, kinds, true)
			if err != nil {
				return nil, err
			}
			out = append(out, r.ID)
		}
		return out, nil
	}
	if m.IsReplace {
		ids, err := resolve(m.Replace)
		if err != nil {
			return nil, err
		}
		return dedupe(ids), nil
	}
	add, err := resolve(m.Add)
	if err != nil {
		return nil, err
	}
	remove, err := resolve(m.Remove)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, id := range remove {
		drop[id] = true
	}
	var out []string
	for _, id := range append(append([]string(nil), cur...), add...) {
		if !drop[id] {
			out = append(out, id)
		}
	}
	return dedupe(out), nil
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func getCalendarProcessing(c *Call) error {
	r, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	p := r.EffectiveCalendarProcessing()
	names := func(ids []string) []any {
		out := []any{}
		for _, id := range ids {
			if x := c.S.Recipient(id); x != nil {
				out = append(out, x.Name)
			}
		}
		return out
	}
	c.Emit(&adminapi.Object{Type: "CalendarConfiguration", View: []string{"Identity", "AutomateProcessing"},
		Props: []adminapi.Prop{
			{Name: "Identity", Value: r.Name},
			{Name: "AutomateProcessing", Value: p.AutomateProcessing},
			{Name: "AllowConflicts", Value: p.AllowConflicts},
			{Name: "BookingWindowInDays", Value: p.BookingWindowInDays},
			{Name: "MaximumDurationInMinutes", Value: p.MaximumDurationInMinutes},
			{Name: "AllowRecurringMeetings", Value: p.AllowRecurringMeetings},
			{Name: "AllBookInPolicy", Value: p.AllBookInPolicy},
			{Name: "BookInPolicy", Value: names(p.BookInPolicy)},
			{Name: "ResourceDelegates", Value: names(p.ResourceDelegates)},
			{Name: "ForwardRequestsToDelegates", Value: !p.NoForwardToDelegates},
			{Name: "AllRequestInPolicy", Value: p.AllRequestInPolicy},
			{Name: "RequestInPolicy", Value: names(p.RequestInPolicy)},
			{Name: "AllRequestOutOfPolicy", Value: p.AllRequestOutOfPolicy},
			{Name: "RequestOutOfPolicy", Value: names(p.RequestOutOfPolicy)},
			{Name: "AddOrganizerToSubject", Value: p.AddOrganizerToSubject},
			{Name: "DeleteSubject", Value: p.DeleteSubject},
			{Name: "DeleteComments", Value: p.DeleteComments},
			{Name: "RemovePrivateProperty", Value: p.RemovePrivateProperty},
		}})
	return nil
}
