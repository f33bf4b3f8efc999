package mailbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/actasmail/actas/internal/mailbox"
)

// TestUpdateDelegatesConcurrent: concurrent changes of one delegate list
// are each a read-modify-write in one transaction, so none is lost, and
// every delegate's calendar entry is written with the list.
func TestUpdateDelegatesConcurrent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const mbx = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	if err := s.Ensure(ctx, mbx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprint("user", i)
			if _, err := s.UpdateDelegates(ctx, mailbox.Actor{}, mbx, func(d *mailbox.DelegateSettings) error {
				d.Delegates = append(d.Delegates, mailbox.Delegate{User: user, Levels: map[string]string{"calendar": "Editor"}})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	set, err := s.Delegates(ctx, mbx)
	if err != nil || len(set.Delegates) != 8 {
		t.Fatalf("delegates %+v %v", set, err)
	}
	cal, _ := s.Distinguished(ctx, mbx, "calendar")
	perms, _ := s.Permissions(ctx, mbx, cal.Key)
	if len(perms) != 9 { // Default and the eight delegates
		t.Fatalf("calendar ACL %+v", perms)
	}
	// A failing change changes nothing.
	if _, err := s.UpdateDelegates(ctx, mailbox.Actor{}, mbx, func(d *mailbox.DelegateSettings) error {
		d.Delegates = nil
		d.DeliverMeetingRequests = "Sometimes"
		return nil
	}); err == nil {
		t.Fatal("an invalid DeliverMeetingRequests was stored")
	}
	if set, _ := s.Delegates(ctx, mbx); len(set.Delegates) != 8 {
		t.Fatalf("a failed change removed delegates: %d left", len(set.Delegates))
	}
}
