package cmdlet

import (
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
)

func TestMailboxCalendarConfiguration(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o) // kim (user), everest (room), helpdesk (shared)
	get := func(id string) map[string]any {
		t.Helper()
		got := o.ok("Get-MailboxCalendarConfiguration", map[string]any{"Identity": id})
		if len(got) != 1 {
			t.Fatalf("%d objects", len(got))
		}
		out := map[string]any{}
		for _, p := range got[0].Props {
			out[p.Name] = p.Value
		}
		return out
	}
	want := func(id string, props map[string]any) {
		t.Helper()
		got := get(id)
		for k, v := range props {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", id, k, got[k], v)
			}
		}
	}
	want("everest", map[string]any{"Identity": "Room Everest", "WorkDays": "Weekdays", "WorkingHoursStartTime": "08:00:00",
		"WorkingHoursEndTime": "17:00:00", "WorkingHoursTimeZone": "UTC"})

	steps := []struct {
		params map[string]any
		want   map[string]any
	}{
		{map[string]any{"WorkingHoursTimeZone": "pacific standard time", "WorkingHoursStartTime": "07:30:00", "WorkingHoursEndTime": "16:00"},
			map[string]any{"WorkingHoursTimeZone": "Pacific Standard Time", "WorkingHoursStartTime": "07:30:00", "WorkingHoursEndTime": "16:00:00", "WorkDays": "Weekdays"}},
		{map[string]any{"WorkDays": "Tuesday,Wednesday"}, map[string]any{"WorkDays": "Tuesday, Wednesday", "WorkingHoursTimeZone": "Pacific Standard Time"}},
		{map[string]any{"WorkDays": []any{"WeekendDays", "Monday"}}, map[string]any{"WorkDays": "Sunday, Monday, Saturday"}},
		{map[string]any{"WorkDays": "AllDays"}, map[string]any{"WorkDays": "AllDays"}},
		{map[string]any{"WorkDays": "None"}, map[string]any{"WorkDays": "None"}},
	}
	for _, s := range steps {
		s.params["Identity"] = "everest"
		o.ok("Set-MailboxCalendarConfiguration", s.params)
		want("everest", s.want)
	}
	r := o.recipient("Room Everest")
	if r.CalendarConfiguration == nil || r.Clone().CalendarConfiguration == r.CalendarConfiguration || r.CalendarConfiguration.WorkingHoursStartTime != 450 {
		t.Fatalf("stored %+v (Clone must copy)", r.CalendarConfiguration)
	}
	o.reopen() // survives a restart
	want("everest", map[string]any{"WorkingHoursTimeZone": "Pacific Standard Time", "WorkingHoursStartTime": "07:30:00", "WorkDays": "None"})
	want("kim", map[string]any{"WorkDays": "Weekdays", "WorkingHoursTimeZone": "UTC"})

	for _, tc := range []struct {
		name      string
		params    map[string]any
		exception string
		substr    string
	}{
		{"unknown zone", map[string]any{"WorkingHoursTimeZone": "Mars Standard Time"}, "ParameterBindingArgumentTransformationException", "Mars Standard Time"},
		{"IANA names are not Exchange's", map[string]any{"WorkingHoursTimeZone": "Europe/Berlin"}, "ParameterBindingArgumentTransformationException", "was not found"},
		{"not a time", map[string]any{"WorkingHoursStartTime": "eight"}, "ParameterBindingArgumentTransformationException", "hh:mm:ss"},
		{"a day or more", map[string]any{"WorkingHoursEndTime": "24:00:00"}, "ParameterBindingArgumentTransformationException", "within one day"},
		{"seconds", map[string]any{"WorkingHoursEndTime": "17:00:30"}, "ParameterBindingArgumentTransformationException", "whole minutes"},
		{"start after end", map[string]any{"WorkingHoursStartTime": "18:00:00"}, "ArgumentException", "earlier than the end time"},
		{"bad day", map[string]any{"WorkDays": "Funday"}, "", "Funday"},
		{"unknown mailbox", map[string]any{"Identity": "nobody", "WorkDays": "Monday"}, "ManagementObjectNotFoundException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.params["Identity"]; !ok {
				tc.params["Identity"] = "everest"
			}
			o.fails(o.adminID, "Set-MailboxCalendarConfiguration", tc.params, tc.exception, tc.substr)
		})
	}

	// Another organization's mailbox is not found; a caller without the role
	// is refused; View-Only Recipients may read but not write.
	other := &d.Org{ID: newGUID(), Name: "Fabrikam", Domains: []string{"fabrikam.test"}}
	if err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		if err := tx.PutOrg(other); err != nil {
			return err
		}
		r, err := buildMailbox(tx.State(), other, MailboxSpec{Name: "Boardroom", Alias: "boardroom", Type: d.RoomMailbox}, time.Now())
		if err != nil {
			return err
		}
		return tx.PutRecipient(r)
	}); err != nil {
		t.Fatal(err)
	}
	o.fails(o.adminID, "Get-MailboxCalendarConfiguration", map[string]any{"Identity": "boardroom@fabrikam.test"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Set-MailboxCalendarConfiguration", map[string]any{"Identity": "boardroom", "WorkDays": "Monday"}, "ManagementObjectNotFoundException")
	viewer := o.addUser("Viewer", map[string]string{"View-Only Recipients": ""})
	if resp := o.runAs(viewer, "Get-MailboxCalendarConfiguration", map[string]any{"Identity": "everest"}); resp.Error != nil {
		t.Fatalf("View-Only Recipients: %s", resp.Error.Message)
	}
	o.fails(viewer, "Set-MailboxCalendarConfiguration", map[string]any{"Identity": "everest", "WorkDays": "Monday"}, "CommandNotFoundException")
}
