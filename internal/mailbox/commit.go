package mailbox

import "sync"

// commitHooks are called after every committed write with the mailboxes
// the write touched (their journals grew), so notifications can follow the
// journal without polling it. Hooks run on the writer's goroutine after the
// commit: they must be quick and must not write to the store.
type commitHooks struct {
	mu  sync.RWMutex
	fns []func(mbxs []string)
}

// OnCommit registers fn to run after each committed write with the ids of
// the mailboxes whose journal it appended to (also a write that appended
// nothing may call it).
func (s *Store) OnCommit(fn func(mbxs []string)) {
	s.hooks.mu.Lock()
	s.hooks.fns = append(s.hooks.fns, fn)
	s.hooks.mu.Unlock()
}

func (s *Store) committed(mbxs []string) {
	s.hooks.mu.RLock()
	fns := s.hooks.fns
	s.hooks.mu.RUnlock()
	for _, fn := range fns {
		fn(mbxs)
	}
}
