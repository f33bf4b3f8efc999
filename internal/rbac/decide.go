package rbac

import (
	"fmt"
	"strings"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/opath"
)

// Reason says why an impersonation decision came out as it did.
type Reason string

// Decision reasons. Every deny has exactly one.
const (
	Allowed        Reason = "Allowed"
	NoAssignment   Reason = "NoApplicationImpersonationAssignment"
	AllDisabled    Reason = "AssignmentDisabled"
	OutOfScope     Reason = "OutsideWriteScope"
	ExclusiveScope Reason = "HeldByExclusiveScope"
	TargetUnknown  Reason = "TargetUnknown"
	TargetOtherOrg Reason = "TargetInAnotherOrganization"
	CallerUnknown  Reason = "CallerUnknown"
)

// Row is the evaluation of one ApplicationImpersonation assignment that
// reaches the caller.
type Row struct {
	Assignment *d.Assignment
	Via        string // "Direct" or the name of the group it reaches the caller through
	ScopeType  string // Organization, Self, CustomRecipientScope, ExclusiveRecipientScope, ...
	ScopeName  string // the management scope's name, or the relative scope
	Filter     string // the scope's filter, when it has one
	// InScope is set only when a target was evaluated.
	InScope bool
	Why     string // when not in scope
}

// Decision is the answer to "may caller act as target". When Allowed,
// Assignment and Scope say what allowed it; otherwise Reason and Message
// say precisely why not.
type Decision struct {
	Allowed    bool
	Reason     Reason
	Message    string
	Assignment *d.Assignment
	Scope      *d.Scope // nil for Organization and other relative scopes
	Rows       []Row
	// Exclusive lists the exclusive scopes that hold the target.
	Exclusive []*d.Scope
}

// reachable returns the assignments for a role that reach a recipient
// directly or through any group it belongs to (transitively), with the
// name of the group each comes through.
func reachable(s *d.State, caller *d.Recipient, role string, delegating bool) (as []*d.Assignment, via []string) {
	add := func(list []*d.Assignment, through string) {
		for _, a := range list {
			if strings.EqualFold(a.Role, role) && a.Delegating == delegating {
				as = append(as, a)
				via = append(via, through)
			}
		}
	}
	add(s.AssignmentsOf(caller.ID), "Direct")
	for _, g := range s.GroupsTransitive(caller.ID) {
		if gr := s.Recipient(g); gr != nil {
			add(s.AssignmentsOf(g), gr.Name)
		}
	}
	return as, via
}

// exclusiveHits returns the exclusive scopes of the org that match r.
func exclusiveHits(s *d.State, r *d.Recipient) []*d.Scope {
	var hits []*d.Scope
	for _, sc := range s.ExclusiveScopes(r.Org) {
		if sc.Matches(s, r) {
			hits = append(hits, sc)
		}
	}
	return hits
}

// inWriteScope evaluates one assignment's recipient write scope for a target,
// given the exclusive scopes holding the target. It returns whether the
// target is in scope and, if not, why.
func inWriteScope(s *d.State, a *d.Assignment, caller, target *d.Recipient, excl []*d.Scope) (bool, string) {
	if len(excl) > 0 {
		if a.WriteScope == d.ScopeExclusive {
			for _, x := range excl {
				if x.ID == a.ScopeID {
					return true, ""
				}
			}
		}
		names := make([]string, len(excl))
		for i, x := range excl {
			names[i] = x.Name
		}
		return false, fmt.Sprintf("%q is held by the exclusive scope %s, which this assignment does not use", target.Name, strings.Join(quoteAll(names), ", "))
	}
	switch a.WriteScope {
	case d.ScopeOrganization, d.ScopeMyGAL:
		return true, ""
	case d.ScopeSelf:
		if target.ID == caller.ID {
			return true, ""
		}
		return false, "the assignment's write scope is Self"
	case d.ScopeMyDistributionGroups:
		for _, m := range target.ManagedBy {
			if m == caller.ID {
				return true, ""
			}
		}
		return false, "the assignment's write scope is MyDistributionGroups and the caller does not manage this recipient"
	case d.ScopeCustom, d.ScopeExclusive:
		sc := s.Scope(a.ScopeID)
		if sc == nil {
			return false, "the assignment's management scope no longer exists"
		}
		if _, err := sc.Compiled(); err != nil {
			return false, fmt.Sprintf("the filter of management scope %q cannot be used: %v", sc.Name, err)
		}
		if sc.Matches(s, target) {
			return true, ""
		}
		return false, fmt.Sprintf("%q does not match the filter of management scope %q: %s", target.Name, sc.Name, sc.Filter)
	}
	return false, fmt.Sprintf("the assignment's write scope is %s", a.WriteScope)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func scopeInfo(s *d.State, a *d.Assignment) (typ, name, filter string) {
	switch a.WriteScope {
	case d.ScopeCustom, d.ScopeExclusive:
		if sc := s.Scope(a.ScopeID); sc != nil {
			return a.WriteScope, sc.Name, sc.Filter
		}
		return a.WriteScope, "(deleted scope)", ""
	}
	return a.WriteScope, a.WriteScope, ""
}

// Decide is the one impersonation decision: may caller act as target through
// ApplicationImpersonation? target may be nil (unknown mailbox). It reads
// only s, so a change committed before the call is always seen. On allow it
// stops at the first assignment that admits the target (assignments are
// ordered by name) and leaves Rows empty; a deny always carries every row.
func Decide(s *d.State, caller, target *d.Recipient) Decision {
	return decide(s, caller, target, false)
}

// Explain is Decide with every assignment evaluated and reported in Rows,
// for Test-ApplicationImpersonation and diagnostics.
func Explain(s *d.State, caller, target *d.Recipient) Decision {
	return decide(s, caller, target, true)
}

func decide(s *d.State, caller, target *d.Recipient, explain bool) Decision {
	if caller == nil {
		return Decision{Reason: CallerUnknown, Message: "The caller is not a known account."}
	}
	dec := Decision{}
	sameOrg := target != nil && target.Org == caller.Org
	var excl []*d.Scope
	if sameOrg {
		excl = exclusiveHits(s, target)
		dec.Exclusive = excl
		if !explain {
			// Fast path: no allocation or string building unless the answer is no.
			var rec opath.Record = d.Record{S: s, R: target}
			try := func(list []*d.Assignment) bool {
				for _, a := range list {
					if a.Enabled && !a.Delegating && a.Role == ApplicationImpersonation && inScopeFast(s, a, caller, target, rec, excl) {
						dec.Allowed, dec.Reason, dec.Assignment = true, Allowed, a
						if a.ScopeID != "" {
							dec.Scope = s.Scope(a.ScopeID)
						}
						return true
					}
				}
				return false
			}
			found := try(s.AssignmentsOf(caller.ID))
			for _, g := range s.GroupsTransitive(caller.ID) {
				found = found || try(s.AssignmentsOf(g))
			}
			if found {
				dec.Message = allowMessage(caller, target, dec.Assignment, dec.Scope)
				return dec
			}
		}
	}
	as, via := reachable(s, caller, ApplicationImpersonation, false)
	enabled := 0
	for i, a := range as {
		typ, name, filter := scopeInfo(s, a)
		row := Row{Assignment: a, Via: via[i], ScopeType: typ, ScopeName: name, Filter: filter}
		if sameOrg {
			if !a.Enabled {
				row.Why = "the assignment is disabled"
			} else {
				row.InScope, row.Why = inWriteScope(s, a, caller, target, excl)
				if row.InScope && !dec.Allowed {
					dec.Allowed, dec.Reason, dec.Assignment = true, Allowed, a
					if a.ScopeID != "" {
						dec.Scope = s.Scope(a.ScopeID)
					}
				}
			}
		}
		if a.Enabled {
			enabled++
		}
		dec.Rows = append(dec.Rows, row)
	}
	switch {
	case dec.Allowed:
		dec.Message = allowMessage(caller, target, dec.Assignment, dec.Scope)
	case len(as) == 0:
		dec.Reason = NoAssignment
		dec.Message = fmt.Sprintf("The account %q has no ApplicationImpersonation role assignment, directly or through a group.", caller.Name)
	case enabled == 0:
		dec.Reason = AllDisabled
		dec.Message = fmt.Sprintf("Every ApplicationImpersonation role assignment of %q is disabled (%s).", caller.Name, assignmentNames(as))
	case target == nil:
		dec.Reason = TargetUnknown
		dec.Message = "The mailbox to impersonate does not exist."
	case target.Org != caller.Org:
		// Said exactly like an unknown mailbox: nothing reveals another organization.
		dec.Reason = TargetOtherOrg
		dec.Message = "The mailbox to impersonate does not exist."
	case len(excl) > 0:
		dec.Reason = ExclusiveScope
		dec.Message = fmt.Sprintf("%q is held by the exclusive management scope %s; only assignments that use it may act on it, and none of %q's ApplicationImpersonation assignments (%s) does.",
			target.Name, strings.Join(quoteAll(scopeNames(excl)), ", "), caller.Name, assignmentNames(as))
	default:
		dec.Reason = OutOfScope
		dec.Message = fmt.Sprintf("%q is outside the write scope of every ApplicationImpersonation role assignment of %q: %s.", target.Name, caller.Name, rowReasons(dec.Rows))
	}
	return dec
}

func allowMessage(caller, target *d.Recipient, a *d.Assignment, sc *d.Scope) string {
	scope := a.WriteScope
	if sc != nil {
		scope = fmt.Sprintf("management scope %q", sc.Name)
	}
	return fmt.Sprintf("%q may impersonate %q through role assignment %q (%s).", caller.Name, target.Name, a.Name, scope)
}

// inScopeFast is inWriteScope without the explanation.
func inScopeFast(s *d.State, a *d.Assignment, caller, target *d.Recipient, rec opath.Record, excl []*d.Scope) bool {
	if len(excl) > 0 {
		if a.WriteScope != d.ScopeExclusive {
			return false
		}
		for _, x := range excl {
			if x.ID == a.ScopeID {
				return true
			}
		}
		return false
	}
	switch a.WriteScope {
	case d.ScopeOrganization, d.ScopeMyGAL:
		return true
	case d.ScopeSelf:
		return target.ID == caller.ID
	case d.ScopeCustom:
		sc := s.Scope(a.ScopeID)
		return sc != nil && sc.MatchesRecord(rec)
	}
	ok, _ := inWriteScope(s, a, caller, target, excl)
	return ok
}

func assignmentNames(as []*d.Assignment) string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return strings.Join(quoteAll(names), ", ")
}

func scopeNames(ss []*d.Scope) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

func rowReasons(rows []Row) string {
	var parts []string
	for _, r := range rows {
		if r.Assignment.Enabled {
			parts = append(parts, fmt.Sprintf("%q: %s", r.Assignment.Name, r.Why))
		}
	}
	return strings.Join(parts, "; ")
}
