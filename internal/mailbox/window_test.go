package mailbox_test

import (
	"context"
	"slices"
	"testing"

	"github.com/actasmail/actas/internal/mailbox"
)

// TestItemsWindow: Query.Window narrows by string-valued Extended times in
// SQL; items with AlwaysKey or without the time keys are always kept, and
// Filter and paging apply to what is kept.
func TestItemsWindow(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	cal := must[*mailbox.Folder](t)(s.Distinguished(ctx, m, "calendar"))
	put := func(subject string, ext map[string]string) {
		must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, cal.Key, &mailbox.Item{Class: "IPM.Appointment", Subject: subject, Extended: ext}))
	}
	put("before", map[string]string{"s": "2026-06-01T08:00:00Z", "e": "2026-06-01T09:00:00Z"})
	put("touching start", map[string]string{"s": "2026-06-01T09:00:00Z", "e": "2026-06-01T10:00:00Z"})
	put("inside", map[string]string{"s": "2026-06-01T11:00:00Z", "e": "2026-06-01T12:00:00Z"})
	put("at end", map[string]string{"s": "2026-06-01T13:00:00Z", "e": "2026-06-01T14:00:00Z"})
	put("series", map[string]string{"s": "2025-01-01T08:00:00Z", "e": "2025-01-01T09:00:00Z", "r": "{}"})
	put("no times", nil)
	win := &mailbox.Window{StartKey: "s", EndKey: "e", AlwaysKey: "r", From: "2026-06-01T09:30:00Z", To: "2026-06-01T13:00:00Z"}
	for _, tc := range []struct {
		name string
		q    mailbox.Query
		want []string
	}{
		{"window", mailbox.Query{Window: win}, []string{"inside", "no times", "series", "touching start"}},
		{"window and filter", mailbox.Query{Window: win, Filter: func(it *mailbox.Item) bool { return it.Subject != "series" }},
			[]string{"inside", "no times", "touching start"}},
		{"no window", mailbox.Query{}, []string{"at end", "before", "inside", "no times", "series", "touching start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, total, err := s.Items(ctx, m, cal.Key, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Subject)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Fatalf("got %v (total %d), want %v", got, total, tc.want)
			}
		})
	}
}
