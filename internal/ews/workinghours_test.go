package ews

import (
	"testing"

	d "github.com/actasmail/actas/internal/directory"
)

// TestAvailabilityWorkingHours: GetUserAvailability reports each mailbox's
// Set-MailboxCalendarConfiguration working hours in its own zone, and the
// defaults for a mailbox nobody configured.
func TestAvailabilityWorkingHours(t *testing.T) {
	w := newWorld(t)
	pacific := w.recipient(w.org, "pacific", d.RoomMailbox, func(r *d.Recipient) {
		r.CalendarConfiguration = &d.CalendarConfiguration{WorkingHoursTimeZone: "Pacific Standard Time", WorkingHoursStartTime: 7*60 + 30,
			WorkingHoursEndTime: 16 * 60, WorkDays: []string{"Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}}
	})
	sydney := w.recipient(w.org, "sydney", d.RoomMailbox, func(r *d.Recipient) {
		r.CalendarConfiguration = &d.CalendarConfiguration{WorkingHoursTimeZone: "AUS Eastern Standard Time", WorkingHoursStartTime: 9 * 60,
			WorkingHoursEndTime: 18 * 60, WorkDays: []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}}
	})
	tokyo := w.recipient(w.org, "tokyo", d.RoomMailbox, func(r *d.Recipient) {
		r.CalendarConfiguration = &d.CalendarConfiguration{WorkingHoursTimeZone: "Tokyo Standard Time", WorkingHoursStartTime: 8 * 60,
			WorkingHoursEndTime: 17 * 60}
	})
	r := w.post(w.alice, envelope("Exchange2016", "", availRequestXML("FreeBusy", "2026-06-01T00:00:00", "2026-06-02T00:00:00",
		pacific.PrimarySmtpAddress, sydney.PrimarySmtpAddress, tokyo.PrimarySmtpAddress, w.room.PrimarySmtpAddress)))
	views := findAll(r.root, "FreeBusyView")
	if r.status != 200 || len(views) != 4 {
		t.Fatalf("%d views: %s", len(views), r.body)
	}
	type transition struct{ bias, time, order, month, day string }
	tr := func(n *node) transition {
		if n == nil {
			return transition{}
		}
		return transition{n.childText("Bias"), n.childText("Time"), n.childText("DayOrder"), n.childText("Month"), n.childText("DayOfWeek")}
	}
	tests := []struct {
		name       string
		bias       string
		std, dst   transition
		days       string
		start, end string
		periods    int
	}{
		{"pacific", "480", transition{"0", "02:00:00", "1", "11", "Sunday"}, transition{"-60", "02:00:00", "2", "3", "Sunday"},
			"Tuesday Wednesday Thursday Friday Saturday", "450", "960", 1},
		{"sydney (daylight time across the new year)", "-600", transition{"0", "03:00:00", "1", "4", "Sunday"}, transition{"-60", "02:00:00", "1", "10", "Sunday"},
			"Monday Tuesday Wednesday Thursday Friday", "540", "1080", 1},
		{"tokyo, no working days", "-540", transition{"0", "00:00:00", "1", "1", "Sunday"}, transition{"0", "00:00:00", "1", "1", "Sunday"}, "", "", "", 0},
		{"not configured: Monday–Friday 08:00–17:00 UTC", "0", transition{"0", "00:00:00", "1", "1", "Sunday"}, transition{"0", "00:00:00", "1", "1", "Sunday"},
			"Monday Tuesday Wednesday Thursday Friday", "480", "1020", 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := find(views[i], "WorkingHours")
			tz := wh.child("TimeZone")
			if got := tz.childText("Bias"); got != tc.bias {
				t.Errorf("bias %s, want %s", got, tc.bias)
			}
			if got := tr(tz.child("StandardTime")); got != tc.std {
				t.Errorf("standard %+v, want %+v", got, tc.std)
			}
			if got := tr(tz.child("DaylightTime")); got != tc.dst {
				t.Errorf("daylight %+v, want %+v", got, tc.dst)
			}
			ps := findAll(wh, "WorkingPeriod")
			if len(ps) != tc.periods {
				t.Fatalf("%d periods", len(ps))
			}
			if tc.periods == 1 && (ps[0].childText("DayOfWeek") != tc.days || ps[0].childText("StartTimeInMinutes") != tc.start || ps[0].childText("EndTimeInMinutes") != tc.end) {
				t.Errorf("period %s %s–%s, want %s %s–%s", ps[0].childText("DayOfWeek"), ps[0].childText("StartTimeInMinutes"), ps[0].childText("EndTimeInMinutes"), tc.days, tc.start, tc.end)
			}
		})
	}
}
