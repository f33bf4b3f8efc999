package rbac

import (
	"fmt"
	"strings"

	d "github.com/actasmail/actas/internal/directory"
)

// grants returns the enabled regular assignments reaching caller whose role
// has an entry for cmdlet.
func grants(s *d.State, caller *d.Recipient, cmdlet string) []*d.Assignment {
	var out []*d.Assignment
	consider := func(list []*d.Assignment) {
		for _, a := range list {
			if a.Enabled && !a.Delegating {
				if r := RoleByName(a.Role); r != nil && r.Has(cmdlet) {
					out = append(out, a)
				}
			}
		}
	}
	consider(s.AssignmentsOf(caller.ID))
	for _, g := range s.GroupsTransitive(caller.ID) {
		consider(s.AssignmentsOf(g))
	}
	return out
}

// MayRun reports whether some role reaching caller has an entry for cmdlet.
func MayRun(s *d.State, caller *d.Recipient, cmdlet string) bool {
	return caller != nil && len(grants(s, caller, cmdlet)) > 0
}

// WriteScopeError is Exchange's "out of the current user's write scope"
// error, with the reason Actas knows.
type WriteScopeError struct {
	Kind   string // "mailbox", "group", ...
	Target string
	Cmdlet string
	Why    string
}

func (e *WriteScopeError) Error() string {
	return fmt.Sprintf("The operation on %s %q failed because it's out of the current user's write scope. The action '%s' can't be performed on the object '%s' (%s).",
		e.Kind, e.Target, e.Cmdlet, e.Target, e.Why)
}

// CanWrite checks that some assignment granting cmdlet to caller has target
// inside its write scope, applying exclusive scopes as deny rules.
func CanWrite(s *d.State, caller *d.Recipient, cmdlet string, target *d.Recipient) error {
	as := grants(s, caller, cmdlet)
	excl := exclusiveHits(s, target)
	var whys []string
	for _, a := range as {
		if r := RoleByName(a.Role); a.WriteScope == d.ScopeOrganization && r.ImplicitWrite == "None" {
			whys = append(whys, fmt.Sprintf("role %q is read-only", r.Name))
			continue
		}
		ok, why := inWriteScope(s, a, caller, target, excl)
		if ok {
			return nil
		}
		whys = append(whys, fmt.Sprintf("assignment %q: %s", a.Name, why))
	}
	kind := "object"
	switch {
	case target.IsMailbox():
		kind = "mailbox"
	case target.IsGroup():
		kind = "group"
	}
	if len(whys) == 0 {
		whys = append(whys, "no role assignment grants "+cmdlet)
	}
	return &WriteScopeError{Kind: kind, Target: target.Name, Cmdlet: cmdlet, Why: strings.Join(whys, "; ")}
}

// MayDelegate reports whether caller holds an enabled delegating assignment
// for the role, which is what allows assigning it to others.
func MayDelegate(s *d.State, caller *d.Recipient, role string) bool {
	as, _ := reachable(s, caller, role, true)
	for _, a := range as {
		if a.Enabled {
			return true
		}
	}
	return false
}

// ReachingAssignments returns every assignment (regular and delegating,
// enabled or not) that reaches a recipient directly or through groups.
func ReachingAssignments(s *d.State, r *d.Recipient) []*d.Assignment {
	out := append([]*d.Assignment(nil), s.AssignmentsOf(r.ID)...)
	for _, g := range s.GroupsTransitive(r.ID) {
		out = append(out, s.AssignmentsOf(g)...)
	}
	return out
}

// EffectiveUsers expands an assignment to the users it reaches: the assignee
// itself when it is a user, else the transitive user members of the group.
func EffectiveUsers(s *d.State, a *d.Assignment) []*d.Recipient {
	var out []*d.Recipient
	seen := map[string]bool{}
	var walk func(id string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		r := s.Recipient(id)
		if r == nil {
			return
		}
		if r.IsMailbox() {
			out = append(out, r)
			return
		}
		for _, m := range s.Members(id) {
			walk(m)
		}
	}
	walk(a.Assignee)
	return out
}

// WritableBy reports whether the assignment (regular, enabled) can modify target.
func WritableBy(s *d.State, a *d.Assignment, target *d.Recipient) bool {
	if !a.Enabled || a.Delegating {
		return false
	}
	r := RoleByName(a.Role)
	if r == nil || (a.WriteScope == d.ScopeOrganization && r.ImplicitWrite == "None") {
		return false
	}
	assignee := s.Recipient(a.Assignee)
	if assignee == nil {
		return false
	}
	ok, _ := inWriteScope(s, a, assignee, target, exclusiveHits(s, target))
	return ok
}
