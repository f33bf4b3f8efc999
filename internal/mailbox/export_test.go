package mailbox

import "time"

// Test hooks.

// SetBeforeCommit makes every write run f after its last statement and
// before its commit.
func SetBeforeCommit(s *Store, f func(what string) error) { s.beforeCommit = f }

// SetClock replaces the store's clock.
func SetClock(s *Store, now func() time.Time) { s.now = now }
