package directory

import (
	"fmt"
	"strings"
)

// NotFoundError is Exchange's ManagementObjectNotFoundException. Referenced
// is true for an object named by a parameter other than -Identity (e.g.
// -Member, -User), which Exchange words differently.
type NotFoundError struct {
	Identity   string
	Referenced bool
}

func (e *NotFoundError) Error() string {
	if e.Referenced {
		return fmt.Sprintf("Couldn't find object %q. Please make sure that it was spelled correctly or specify a different object.", e.Identity)
	}
	return fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on '%s'.", e.Identity, ServerName)
}

// AmbiguousError is Exchange's ManagementObjectAmbiguousException.
type AmbiguousError struct {
	Identity string
	Matches  []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("The operation couldn't be performed because '%s' matches multiple entries.", e.Identity)
}

// ServerName is the name shown as the directory server in not-found errors.
var ServerName = "actas.local"

// Kinds selects which recipients an identity parameter accepts.
type Kinds func(*Recipient) bool

// Predicates for common identity parameter types.
var (
	AnyRecipient  Kinds = func(r *Recipient) bool { return r.Type != RoleGroup }
	Mailboxes     Kinds = (*Recipient).IsMailbox
	MailGroups    Kinds = func(r *Recipient) bool { return r.IsGroup() && r.Type != RoleGroup }
	AllGroups     Kinds = (*Recipient).IsGroup
	RoleGroups    Kinds = func(r *Recipient) bool { return r.Type == RoleGroup }
	Principals    Kinds = (*Recipient).IsSecurityPrincipal
	UsersOrGroups Kinds = func(r *Recipient) bool { return true }
)

// Find returns every recipient of the org that an identity string names,
// by Guid, distinguished name, canonical name, DOMAIN\name, SMTP address (any
// proxy), user principal name, SID, LegacyExchangeDN, name or alias.
// A '*' in the identity matches names and aliases as a wildcard.
func (s *State) Find(org, id string, kinds Kinds) []*Recipient {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil
	}
	seen := map[string]bool{}
	var out []*Recipient
	add := func(r *Recipient) {
		if r != nil && r.Org == org && kinds(r) && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	if strings.Contains(id, "*") {
		for rid := range s.byOrg[org] {
			r := s.recips[rid]
			if WildcardMatch(id, r.Name) || WildcardMatch(id, r.Alias) || WildcardMatch(id, r.PrimarySmtpAddress) {
				add(r)
			}
		}
		return out
	}
	add(s.recips[strings.ToLower(strings.Trim(id, "{}"))])
	lower := strings.ToLower(id)
	add(s.byDN[lower])
	if strings.HasPrefix(strings.ToUpper(id), "S-1-") {
		add(s.bySID[strings.ToUpper(id)])
	}
	if strings.Contains(id, "@") {
		add(s.bySMTP[lower])
		add(s.byUPN[lower])
	}
	if strings.HasPrefix(lower, "/o=") {
		for rid := range s.byOrg[org] {
			if r := s.recips[rid]; strings.EqualFold(r.LegacyExchangeDN, id) {
				add(r)
			}
		}
	}
	if i := strings.LastIndexByte(id, '/'); i > 0 {
		if r := s.byName[nameKey(org, id[i+1:])]; r != nil && strings.EqualFold(CanonicalName(r, s.orgs[org]), id) {
			add(r)
		}
	}
	if i := strings.IndexByte(id, '\\'); i > 0 && !strings.HasPrefix(strings.ToUpper(id), "CN=") {
		name := id[i+1:]
		add(s.byName[nameKey(org, name)])
		for _, r := range s.byAlias[nameKey(org, name)] {
			add(r)
		}
	}
	add(s.byName[nameKey(org, id)])
	for _, r := range s.byAlias[nameKey(org, id)] {
		add(r)
	}
	return out
}

// Resolve returns the single recipient an identity names, or a
// NotFoundError or AmbiguousError.
func (s *State) Resolve(org, id string, kinds Kinds, referenced bool) (*Recipient, error) {
	m := s.Find(org, id, kinds)
	switch len(m) {
	case 0:
		return nil, &NotFoundError{Identity: id, Referenced: referenced}
	case 1:
		return m[0], nil
	}
	names := make([]string, len(m))
	for i, r := range m {
		names[i] = r.Name
	}
	return nil, &AmbiguousError{Identity: id, Matches: names}
}

// ResolveScope finds a management scope by name, DN or Guid.
func (s *State) ResolveScope(org, id string) (*Scope, error) {
	if sc := s.scopes[strings.ToLower(strings.Trim(id, "{}"))]; sc != nil && sc.Org == org {
		return sc, nil
	}
	if sc := s.scopeByName[nameKey(org, id)]; sc != nil {
		return sc, nil
	}
	for _, sc := range s.scopes {
		if sc.Org == org && strings.EqualFold(ScopeDN(sc, s.orgs[org]), id) {
			return sc, nil
		}
	}
	return nil, &NotFoundError{Identity: id}
}

// ResolveAssignment finds a role assignment by name, DN or Guid.
func (s *State) ResolveAssignment(org, id string) (*Assignment, error) {
	if a := s.assignments[strings.ToLower(strings.Trim(id, "{}"))]; a != nil && a.Org == org {
		return a, nil
	}
	if a := s.assignByName[nameKey(org, id)]; a != nil {
		return a, nil
	}
	for _, a := range s.assignments {
		if a.Org == org && strings.EqualFold(AssignmentDN(a, s.orgs[org]), id) {
			return a, nil
		}
	}
	return nil, &NotFoundError{Identity: id}
}

// WildcardMatch reports whether s matches pattern, where '*' matches any
// run of characters; comparison is case-insensitive.
func WildcardMatch(pattern, s string) bool {
	p, t := strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == t
	}
	if !strings.HasPrefix(t, parts[0]) {
		return false
	}
	t = t[len(parts[0]):]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(t, part)
		if i < 0 {
			return false
		}
		t = t[i+len(part):]
	}
	return strings.HasSuffix(t, parts[len(parts)-1])
}
