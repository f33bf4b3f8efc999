package cmdlet

import (
	"testing"
)

func TestCalendarProcessing(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o) // kim (user), everest (room), helpdesk (shared)

	// Defaults before anything is set.
	got := o.ok("Get-CalendarProcessing", map[string]any{"Identity": "everest"})
	if len(got) != 1 {
		t.Fatalf("%d objects", len(got))
	}
	for name, want := range map[string]any{"AutomateProcessing": "AutoUpdate", "AllowConflicts": false, "BookingWindowInDays": 180,
		"MaximumDurationInMinutes": 1440, "AllowRecurringMeetings": true, "AllBookInPolicy": true, "AddOrganizerToSubject": true,
		"DeleteSubject": true, "DeleteComments": true, "RemovePrivateProperty": true} {
		if v := propOf(t, got[0], name); v != want {
			t.Errorf("default %s = %v, want %v", name, v, want)
		}
	}

	o.ok("Set-CalendarProcessing", map[string]any{"Identity": "everest", "AutomateProcessing": "autoaccept", "BookingWindowInDays": float64(30),
		"MaximumDurationInMinutes": float64(120), "AllowConflicts": true, "ResourceDelegates": []any{"kim"}, "DeleteSubject": false})
	got = o.ok("Get-CalendarProcessing", map[string]any{"Identity": "Room Everest"})
	for name, want := range map[string]any{"AutomateProcessing": "AutoAccept", "AllowConflicts": true, "BookingWindowInDays": 30,
		"MaximumDurationInMinutes": 120, "DeleteSubject": false, "DeleteComments": true} {
		if v := propOf(t, got[0], name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if d := propStrings(t, propOf(t, got[0], "ResourceDelegates")); len(d) != 1 || d[0] != "Kim Akers" {
		t.Errorf("delegates %v", d)
	}
	r := o.recipient("Room Everest")
	if r.CalendarProcessing == nil || r.Clone().CalendarProcessing == r.CalendarProcessing {
		t.Fatalf("stored %+v (Clone must copy)", r.CalendarProcessing)
	}

	o.fails(o.adminID, "Set-CalendarProcessing", map[string]any{"Identity": "everest", "AutomateProcessing": "Sometimes"}, "")
	o.fails(o.adminID, "Set-CalendarProcessing", map[string]any{"Identity": "everest", "BookingWindowInDays": float64(1081)}, "ArgumentException", "1080")
	o.fails(o.adminID, "Set-CalendarProcessing", map[string]any{"Identity": "kim", "AutomateProcessing": "AutoAccept"}, "InvalidOperationException", "AutoUpdate")
	o.fails(o.adminID, "Set-CalendarProcessing", map[string]any{"Identity": "everest", "ResourceDelegates": []any{"nobody"}}, "")
	o.fails(o.adminID, "Get-CalendarProcessing", map[string]any{"Identity": "nobody"}, "")
}
