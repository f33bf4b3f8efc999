package cmdlet

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/calendar"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// Set-MailboxCalendarConfiguration and Get-MailboxCalendarConfiguration
// (issue 4): a mailbox's working hours — -WorkingHoursTimeZone (a Windows
// time zone name), -WorkingHoursStartTime and -WorkingHoursEndTime
// (TimeSpans such as 08:30:00, within one day, start before end) and
// -WorkDays (None, a day, Weekdays, WeekendDays, AllDays, or a
// comma-separated list of days). Kept on the directory recipient
// (Recipient.CalendarConfiguration; nil = d.DefaultCalendarConfiguration)
// and reported by GetUserAvailability's WorkingHours. Role entries of Mail
// Recipients (and Get also of View-Only Recipients); Set checks the
// caller's write scope on the mailbox. Only the working-hours parameters of
// Exchange's cmdlet are supported.

var weekdayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

var workDaysValues = append([]string{"None"}, append(append([]string(nil), weekdayNames...), "Weekdays", "WeekendDays", "AllDays")...)

func calendarConfigCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true}
	return []*Def{
		{Name: "Set-MailboxCalendarConfiguration", Write: true, Run: setMailboxCalendarConfiguration, Params: []Param{id,
			{Name: "WorkingHoursTimeZone", Kind: adminapi.KindString},
			{Name: "WorkingHoursStartTime", Kind: adminapi.KindString},
			{Name: "WorkingHoursEndTime", Kind: adminapi.KindString},
			{Name: "WorkDays", Kind: adminapi.KindStrings},
		}},
		{Name: "Get-MailboxCalendarConfiguration", Run: getMailboxCalendarConfiguration, Params: []Param{id}},
	}
}

func setMailboxCalendarConfiguration(c *Call) error {
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	if err := rbac.CanWrite(c.S, c.Caller, "Set-MailboxCalendarConfiguration", target); err != nil {
		return err
	}
	cfg := target.EffectiveCalendarConfiguration().Clone()
	if c.Has("WorkingHoursTimeZone") {
		name, ok := windowsZone(c.Str("WorkingHoursTimeZone"))
		if !ok {
			return &adminapi.Error{Message: fmt.Sprintf("Cannot process argument transformation on parameter 'WorkingHoursTimeZone'. The time zone ID '%s' was not found on the local computer.", c.Str("WorkingHoursTimeZone")),
				Category: "InvalidData", Exception: "ParameterBindingArgumentTransformationException"}
		}
		cfg.WorkingHoursTimeZone = name
	}
	for _, t := range []struct {
		name string
		dst  *int
	}{{"WorkingHoursStartTime", &cfg.WorkingHoursStartTime}, {"WorkingHoursEndTime", &cfg.WorkingHoursEndTime}} {
		if !c.Has(t.name) {
			continue
		}
		m, err := parseTimeOfDay(c.Str(t.name))
		if err != nil {
			return &adminapi.Error{Message: fmt.Sprintf("Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"System.TimeSpan\": %v", t.name, c.Str(t.name), err),
				Category: "InvalidData", Exception: "ParameterBindingArgumentTransformationException"}
		}
		*t.dst = m
	}
	if c.Has("WorkDays") {
		days, err := parseWorkDays(splitValues(c.List("WorkDays")))
		if err != nil {
			return err
		}
		cfg.WorkDays = days
	}
	if cfg.WorkingHoursStartTime >= cfg.WorkingHoursEndTime {
		return invalidArg("The working hours start time (%s) must be earlier than the end time (%s).", fmtTimeOfDay(cfg.WorkingHoursStartTime), fmtTimeOfDay(cfg.WorkingHoursEndTime))
	}
	r := target.Clone()
	r.CalendarConfiguration = cfg
	r.WhenChanged = c.Now()
	return c.Tx.PutRecipient(r)
}

func getMailboxCalendarConfiguration(c *Call) error {
	r, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	cfg := r.EffectiveCalendarConfiguration()
	c.Emit(&adminapi.Object{Type: "MailboxCalendarConfiguration", View: []string{"Identity", "WorkDays", "WorkingHoursStartTime", "WorkingHoursEndTime", "WorkingHoursTimeZone"},
		Props: []adminapi.Prop{
			{Name: "Identity", Value: r.Name},
			{Name: "WorkDays", Value: workDaysString(cfg.WorkDays)},
			{Name: "WorkingHoursStartTime", Value: fmtTimeOfDay(cfg.WorkingHoursStartTime)},
			{Name: "WorkingHoursEndTime", Value: fmtTimeOfDay(cfg.WorkingHoursEndTime)},
			{Name: "WorkingHoursTimeZone", Value: cfg.WorkingHoursTimeZone},
		}})
	return nil
}

// windowsZone returns the Windows time zone name matching s (any case).
func windowsZone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, w := range calendar.WindowsNames() {
		if strings.EqualFold(w, s) {
			return w, true
		}
	}
	return "", false
}

// parseTimeOfDay reads a TimeSpan within one day: hh:mm or hh:mm:ss
// (whole minutes), in minutes after midnight.
func parseTimeOfDay(s string) (int, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("use hh:mm:ss, such as 08:30:00")
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("use hh:mm:ss, such as 08:30:00")
		}
		v[i] = n
	}
	if v[1] > 59 || v[2] > 59 {
		return 0, fmt.Errorf("minutes and seconds must be below 60")
	}
	if v[2] != 0 {
		return 0, fmt.Errorf("working hours are whole minutes")
	}
	m := v[0]*60 + v[1]
	if m >= 24*60 {
		return 0, fmt.Errorf("the time must be within one day")
	}
	return m, nil
}

func fmtTimeOfDay(m int) string { return fmt.Sprintf("%02d:%02d:00", m/60, m%60) }

// parseWorkDays reads DaysOfWeek values into day names in week order.
func parseWorkDays(vals []string) ([]string, error) {
	set := map[time.Weekday]bool{}
	for _, v := range vals {
		name, ok := matchEnum(v, workDaysValues)
		if !ok {
			return nil, enumError("WorkDays", v, "Microsoft.Exchange.Data.Storage.Management.DaysOfWeek", workDaysValues)
		}
		switch name {
		case "None":
		case "Weekdays":
			for d := time.Monday; d <= time.Friday; d++ {
				set[d] = true
			}
		case "WeekendDays":
			set[time.Saturday], set[time.Sunday] = true, true
		case "AllDays":
			for d := time.Sunday; d <= time.Saturday; d++ {
				set[d] = true
			}
		default:
			for i, w := range weekdayNames {
				if w == name {
					set[time.Weekday(i)] = true
				}
			}
		}
	}
	out := []string{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if set[d] {
			out = append(out, weekdayNames[d])
		}
	}
	return out, nil
}

// workDaysString shows days as EMS shows the DaysOfWeek flags.
func workDaysString(days []string) string {
	switch strings.Join(days, ",") {
	case "":
		return "None"
	case "Monday,Tuesday,Wednesday,Thursday,Friday":
		return "Weekdays"
	case "Sunday,Saturday":
		return "WeekendDays"
	case "Sunday,Monday,Tuesday,Wednesday,Thursday,Friday,Saturday":
		return "AllDays"
	}
	return strings.Join(days, ", ")
}
