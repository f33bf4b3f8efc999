package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/actasmail/actas/internal/opath"
	"github.com/actasmail/actas/internal/store"
)

// Link kinds.
const linkMember = "member" // group -> member

// Document kinds and name namespaces.
const (
	kindOrg        = "org"
	kindRecipient  = "recipient"
	kindScope      = "scope"
	kindAssignment = "assignment"
)

type set map[string]struct{}

// State is one consistent view of the whole directory. Readers get it under
// Directory.Read; it must not be retained after the callback returns.
type State struct {
	orgs        map[string]*Org
	orgByDomain map[string]*Org

	recips   map[string]*Recipient
	byOrg    map[string]set
	byName   map[string]*Recipient   // org + "\x00" + lower(name)
	byAlias  map[string][]*Recipient // org + "\x00" + lower(alias)
	bySMTP   map[string]*Recipient   // lower(address), any proxy address
	byUPN    map[string]*Recipient
	byDN     map[string]*Recipient // lower(DN)
	names    map[string][2]string  // id -> DN, canonical name (for link-valued filter properties)
	bySID    map[string]*Recipient
	members  map[string]set // group id -> member ids
	memberOf map[string]set // member id -> group ids

	scopes          map[string]*Scope
	scopeByName     map[string]*Scope   // org + "\x00" + lower(name)
	exclusive       map[string][]*Scope // org -> exclusive scopes
	assignments     map[string]*Assignment
	assignByName    map[string]*Assignment
	assignsByAssign map[string][]*Assignment // assignee id -> assignments ordered by name
	assignsByScope  map[string]set           // scope id -> assignment ids
	throttling      map[string]*ThrottlingPolicy

	// version increases with every committed transaction.
	version uint64
}

func newState() *State {
	return &State{
		orgs: map[string]*Org{}, orgByDomain: map[string]*Org{},
		recips: map[string]*Recipient{}, byOrg: map[string]set{}, byName: map[string]*Recipient{},
		byAlias: map[string][]*Recipient{}, bySMTP: map[string]*Recipient{}, byUPN: map[string]*Recipient{},
		byDN: map[string]*Recipient{}, names: map[string][2]string{}, bySID: map[string]*Recipient{},
		members: map[string]set{}, memberOf: map[string]set{},
		scopes: map[string]*Scope{}, scopeByName: map[string]*Scope{}, exclusive: map[string][]*Scope{},
		assignments: map[string]*Assignment{}, assignByName: map[string]*Assignment{},
		assignsByAssign: map[string][]*Assignment{}, assignsByScope: map[string]set{},
		throttling: map[string]*ThrottlingPolicy{},
	}
}

func nameKey(org, name string) string { return org + "\x00" + strings.ToLower(name) }

func addTo(m map[string]set, k, v string) {
	s := m[k]
	if s == nil {
		s = set{}
		m[k] = s
	}
	s[v] = struct{}{}
}

func removeFrom(m map[string]set, k, v string) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

// Version is the number of transactions committed since start; every
// directory or RBAC change increases it.
func (s *State) Version() uint64 { return s.version }

// Org returns an organization by id.
func (s *State) Org(id string) *Org { return s.orgs[id] }

// OrgByDomain returns the organization that owns an accepted domain.
func (s *State) OrgByDomain(domain string) *Org { return s.orgByDomain[strings.ToLower(domain)] }

// Orgs returns all organizations ordered by name.
func (s *State) Orgs() []*Org {
	out := make([]*Org, 0, len(s.orgs))
	for _, o := range s.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Recipient returns a recipient by id.
func (s *State) Recipient(id string) *Recipient { return s.recips[id] }

// Recipients returns the organization's recipients ordered by name.
func (s *State) Recipients(org string) []*Recipient {
	ids := s.byOrg[org]
	out := make([]*Recipient, 0, len(ids))
	for id := range ids {
		out = append(out, s.recips[id])
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// RecipientByName returns the recipient with that exact name in the org.
func (s *State) RecipientByName(org, name string) *Recipient { return s.byName[nameKey(org, name)] }

// RecipientBySMTP returns the recipient owning an SMTP address (primary or proxy).
func (s *State) RecipientBySMTP(addr string) *Recipient { return s.bySMTP[strings.ToLower(addr)] }

// RecipientByUPN returns the recipient with that user principal name.
func (s *State) RecipientByUPN(upn string) *Recipient { return s.byUPN[strings.ToLower(upn)] }

// RecipientBySID returns the recipient with that security identifier.
func (s *State) RecipientBySID(sid string) *Recipient { return s.bySID[strings.ToUpper(sid)] }

// DN returns a recipient's distinguished name.
func (s *State) DN(r *Recipient) string {
	if n, ok := s.names[r.ID]; ok && s.recips[r.ID] == r {
		return n[0]
	}
	return DN(r, s.orgs[r.Org])
}

// Members returns a group's direct member ids.
func (s *State) Members(groupID string) []string {
	out := make([]string, 0, len(s.members[groupID]))
	for id := range s.members[groupID] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// IsMember reports direct membership.
func (s *State) IsMember(groupID, memberID string) bool {
	_, ok := s.members[groupID][memberID]
	return ok
}

// MemberCount is the number of direct members of a group.
func (s *State) MemberCount(groupID string) int { return len(s.members[groupID]) }

// MemberOf returns the ids of the groups a recipient is a direct member of.
func (s *State) MemberOf(id string) []string {
	out := make([]string, 0, len(s.memberOf[id]))
	for g := range s.memberOf[id] {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// GroupsTransitive returns every group a recipient belongs to directly or
// through nested groups (used for role group and security group assignees).
func (s *State) GroupsTransitive(id string) []string {
	if len(s.memberOf[id]) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	stack := []string{id}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for g := range s.memberOf[cur] {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
				stack = append(stack, g)
			}
		}
	}
	return out
}

// Scope returns a management scope by id.
func (s *State) Scope(id string) *Scope { return s.scopes[id] }

// ScopeByName returns a management scope by exact name.
func (s *State) ScopeByName(org, name string) *Scope { return s.scopeByName[nameKey(org, name)] }

// Scopes returns the organization's scopes ordered by name.
func (s *State) Scopes(org string) []*Scope {
	var out []*Scope
	for _, sc := range s.scopes {
		if sc.Org == org {
			out = append(out, sc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// AssignmentsUsingScope returns the ids of assignments that reference a scope.
func (s *State) AssignmentsUsingScope(scopeID string) []string {
	var out []string
	for id := range s.assignsByScope[scopeID] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Assignment returns a role assignment by id.
func (s *State) Assignment(id string) *Assignment { return s.assignments[id] }

// AssignmentByName returns a role assignment by exact name.
func (s *State) AssignmentByName(org, name string) *Assignment {
	return s.assignByName[nameKey(org, name)]
}

// Assignments returns the organization's assignments ordered by name.
func (s *State) Assignments(org string) []*Assignment {
	var out []*Assignment
	for _, a := range s.assignments {
		if a.Org == org {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// AssignmentsOf returns the assignments whose assignee is exactly id,
// ordered by name. The slice is shared: callers must not modify it.
func (s *State) AssignmentsOf(id string) []*Assignment { return s.assignsByAssign[id] }

// --- mutation (only through Tx.Commit) ---

func (s *State) putOrg(o *Org) {
	if old := s.orgs[o.ID]; old != nil {
		for _, d := range old.Domains {
			delete(s.orgByDomain, strings.ToLower(d))
		}
	}
	s.orgs[o.ID] = o
	for _, d := range o.Domains {
		s.orgByDomain[strings.ToLower(d)] = o
	}
}

func (s *State) indexRecipient(r *Recipient, add bool) {
	o := s.orgs[r.Org]
	keys := []struct {
		m map[string]*Recipient
		k string
	}{
		{s.byName, nameKey(r.Org, r.Name)},
		{s.byDN, strings.ToLower(DN(r, o))},
	}
	if r.UserPrincipalName != "" {
		keys = append(keys, struct {
			m map[string]*Recipient
			k string
		}{s.byUPN, strings.ToLower(r.UserPrincipalName)})
	}
	if r.SID != "" {
		keys = append(keys, struct {
			m map[string]*Recipient
			k string
		}{s.bySID, strings.ToUpper(r.SID)})
	}
	for _, a := range r.EmailAddresses {
		if addr, ok := SMTPAddress(a); ok {
			keys = append(keys, struct {
				m map[string]*Recipient
				k string
			}{s.bySMTP, strings.ToLower(addr)})
		}
	}
	for _, k := range keys {
		if add {
			k.m[k.k] = r
		} else if k.m[k.k] == r {
			delete(k.m, k.k)
		}
	}
	if r.Alias != "" {
		ak := nameKey(r.Org, r.Alias)
		list := s.byAlias[ak]
		var nl []*Recipient
		for _, x := range list {
			if x.ID != r.ID {
				nl = append(nl, x)
			}
		}
		if add {
			nl = append(nl, r)
		}
		if len(nl) == 0 {
			delete(s.byAlias, ak)
		} else {
			s.byAlias[ak] = nl
		}
	}
	if add {
		addTo(s.byOrg, r.Org, r.ID)
		s.names[r.ID] = [2]string{DN(r, o), CanonicalName(r, o)}
	} else {
		removeFrom(s.byOrg, r.Org, r.ID)
		delete(s.names, r.ID)
	}
}

func (s *State) putRecipient(r *Recipient) {
	if old := s.recips[r.ID]; old != nil {
		s.indexRecipient(old, false)
	}
	s.recips[r.ID] = r
	s.indexRecipient(r, true)
}

func (s *State) deleteRecipient(id string) {
	r := s.recips[id]
	if r == nil {
		return
	}
	s.indexRecipient(r, false)
	delete(s.recips, id)
	for m := range s.members[id] {
		removeFrom(s.memberOf, m, id)
	}
	delete(s.members, id)
	for g := range s.memberOf[id] {
		removeFrom(s.members, g, id)
	}
	delete(s.memberOf, id)
}

func (s *State) putScope(sc *Scope) {
	sc.compiled, sc.compileErr = opath.Parse(sc.Filter, RecipientSchema)
	s.deleteScope(sc.ID)
	s.scopes[sc.ID] = sc
	s.scopeByName[nameKey(sc.Org, sc.Name)] = sc
	if sc.Exclusive {
		s.exclusive[sc.Org] = append(s.exclusive[sc.Org], sc)
	}
}

func (s *State) deleteScope(id string) {
	old := s.scopes[id]
	if old == nil {
		return
	}
	delete(s.scopeByName, nameKey(old.Org, old.Name))
	delete(s.scopes, id)
	if old.Exclusive {
		var keep []*Scope
		for _, x := range s.exclusive[old.Org] {
			if x.ID != id {
				keep = append(keep, x)
			}
		}
		s.exclusive[old.Org] = keep
	}
}

// ExclusiveScopes returns the organization's exclusive scopes.
func (s *State) ExclusiveScopes(org string) []*Scope { return s.exclusive[org] }

func (s *State) putAssignment(a *Assignment) {
	s.deleteAssignment(a.ID)
	s.assignments[a.ID] = a
	s.assignByName[nameKey(a.Org, a.Name)] = a
	list := append(append([]*Assignment(nil), s.assignsByAssign[a.Assignee]...), a)
	sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name) })
	s.assignsByAssign[a.Assignee] = list
	if a.ScopeID != "" {
		addTo(s.assignsByScope, a.ScopeID, a.ID)
	}
}

func (s *State) deleteAssignment(id string) {
	old := s.assignments[id]
	if old == nil {
		return
	}
	delete(s.assignByName, nameKey(old.Org, old.Name))
	var keep []*Assignment
	for _, x := range s.assignsByAssign[old.Assignee] {
		if x.ID != id {
			keep = append(keep, x)
		}
	}
	if len(keep) == 0 {
		delete(s.assignsByAssign, old.Assignee)
	} else {
		s.assignsByAssign[old.Assignee] = keep
	}
	if old.ScopeID != "" {
		removeFrom(s.assignsByScope, old.ScopeID, id)
	}
	delete(s.assignments, id)
}

func (s *State) addMember(g, m string) {
	addTo(s.members, g, m)
	addTo(s.memberOf, m, g)
}

func (s *State) removeMember(g, m string) {
	removeFrom(s.members, g, m)
	removeFrom(s.memberOf, m, g)
}

// --- the directory and its transactions ---

// Directory owns the State and the store behind it. Reads run concurrently;
// writes are serialized and applied to memory only after the store commits.
type Directory struct {
	mu      sync.RWMutex
	st      *State
	store   store.Store
	version atomic.Uint64
}

// Open loads the directory from a store.
func Open(ctx context.Context, st store.Store) (*Directory, error) {
	c, err := st.Load(ctx)
	if err != nil {
		return nil, err
	}
	s := newState()
	// Orgs first: recipients' DNs need them.
	for _, d := range c.Docs {
		if d.Kind == kindOrg {
			var o Org
			if err := json.Unmarshal(d.Data, &o); err != nil {
				return nil, fmt.Errorf("decode org %s: %w", d.ID, err)
			}
			s.putOrg(&o)
		}
	}
	for _, d := range c.Docs {
		switch d.Kind {
		case kindRecipient:
			var r Recipient
			if err := json.Unmarshal(d.Data, &r); err != nil {
				return nil, fmt.Errorf("decode recipient %s: %w", d.ID, err)
			}
			s.putRecipient(&r)
		case kindScope:
			var sc Scope
			if err := json.Unmarshal(d.Data, &sc); err != nil {
				return nil, fmt.Errorf("decode scope %s: %w", d.ID, err)
			}
			s.putScope(&sc)
		case kindThrottling:
			var p ThrottlingPolicy
			if err := json.Unmarshal(d.Data, &p); err != nil {
				return nil, fmt.Errorf("decode throttling policy %s: %w", d.ID, err)
			}
			s.throttling[p.ID] = &p
		case kindAssignment:
			var a Assignment
			if err := json.Unmarshal(d.Data, &a); err != nil {
				return nil, fmt.Errorf("decode assignment %s: %w", d.ID, err)
			}
			s.putAssignment(&a)
		}
	}
	for _, l := range c.Links {
		if l.Kind == linkMember {
			s.addMember(l.From, l.To)
		}
	}
	return &Directory{st: s, store: st}, nil
}

// Read runs fn with a consistent view of the directory.
func (d *Directory) Read(fn func(*State) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return fn(d.st)
}

// Version returns the current state version without locking.
func (d *Directory) Version() uint64 { return d.version.Load() }

// Write runs fn in a transaction. fn reads the committed state through
// tx.State() and records changes on tx; if fn returns an error nothing is
// written. Changes reach memory only after the store has committed them, so
// a failure at any point leaves both unchanged.
func (d *Directory) Write(ctx context.Context, fn func(tx *Tx) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	tx := &Tx{st: d.st}
	if err := fn(tx); err != nil {
		return err
	}
	if len(tx.changes) == 0 {
		for _, f := range tx.after {
			f(d.st)
		}
		return nil
	}
	if err := d.store.Apply(ctx, tx.changes); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("the change conflicts with an existing object: %w", err)
		}
		return fmt.Errorf("save changes: %w", err)
	}
	for _, f := range tx.mem {
		f(d.st)
	}
	d.st.version++
	d.version.Store(d.st.version)
	for _, f := range tx.after {
		f(d.st)
	}
	return nil
}

// Tx records the changes of one transaction.
type Tx struct {
	st      *State
	changes []store.Change
	mem     []func(*State)
	after   []func(*State)
}

// OnCommit registers fn to run with the new state after a successful
// commit, still inside the transaction's lock (to render results that
// reflect the change). fn must not fail.
func (tx *Tx) OnCommit(fn func(*State)) { tx.after = append(tx.after, fn) }

// State is the committed state the transaction reads. It does not include
// the transaction's own pending changes.
func (tx *Tx) State() *State { return tx.st }

func (tx *Tx) put(kind, id, org, ns, key string, v any, apply func(*State)) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	tx.changes = append(tx.changes, store.Change{Put: &store.Doc{Kind: kind, ID: id, Org: org, NS: ns, Key: key, Data: data}})
	tx.mem = append(tx.mem, apply)
	return nil
}

// PutOrg creates or replaces an organization.
func (tx *Tx) PutOrg(o *Org) error {
	return tx.put(kindOrg, o.ID, "", "org", strings.ToLower(o.Name), o, func(s *State) { s.putOrg(o) })
}

// PutRecipient creates or replaces a recipient (pass a Clone when modifying).
func (tx *Tx) PutRecipient(r *Recipient) error {
	return tx.put(kindRecipient, r.ID, r.Org, "recipient", strings.ToLower(r.Name), r, func(s *State) { s.putRecipient(r) })
}

// DeleteRecipient removes a recipient and its memberships.
func (tx *Tx) DeleteRecipient(id string) {
	tx.deleteDoc(id, func(s *State) { s.deleteRecipient(id) })
}

func (tx *Tx) deleteDoc(id string, apply func(*State)) {
	tx.changes = append(tx.changes, store.Change{DeleteID: id})
	tx.mem = append(tx.mem, apply)
}

// PutScope creates or replaces a management scope.
func (tx *Tx) PutScope(sc *Scope) error {
	return tx.put(kindScope, sc.ID, sc.Org, "scope", strings.ToLower(sc.Name), sc, func(s *State) { s.putScope(sc) })
}

// DeleteScope removes a management scope.
func (tx *Tx) DeleteScope(id string) {
	tx.changes = append(tx.changes, store.Change{DeleteID: id})
	tx.mem = append(tx.mem, func(s *State) { s.deleteScope(id) })
}

// PutAssignment creates or replaces a role assignment.
func (tx *Tx) PutAssignment(a *Assignment) error {
	return tx.put(kindAssignment, a.ID, a.Org, "assignment", strings.ToLower(a.Name), a, func(s *State) { s.putAssignment(a) })
}

// DeleteAssignment removes a role assignment.
func (tx *Tx) DeleteAssignment(id string) {
	tx.changes = append(tx.changes, store.Change{DeleteID: id})
	tx.mem = append(tx.mem, func(s *State) { s.deleteAssignment(id) })
}

// AddMember adds a direct member to a group.
func (tx *Tx) AddMember(group, member string) {
	tx.changes = append(tx.changes, store.Change{AddLink: &store.Link{Kind: linkMember, From: group, To: member}})
	tx.mem = append(tx.mem, func(s *State) { s.addMember(group, member) })
}

// RemoveMember removes a direct member from a group.
func (tx *Tx) RemoveMember(group, member string) {
	tx.changes = append(tx.changes, store.Change{RemoveLink: &store.Link{Kind: linkMember, From: group, To: member}})
	tx.mem = append(tx.mem, func(s *State) { s.removeMember(group, member) })
}

// SMTPAddress extracts the address from an EmailAddresses entry
// ("SMTP:a@b", "smtp:a@b" or a bare address).
func SMTPAddress(entry string) (string, bool) {
	if i := strings.IndexByte(entry, ':'); i >= 0 {
		if !strings.EqualFold(entry[:i], "smtp") {
			return "", false
		}
		entry = entry[i+1:]
	}
	return entry, strings.Contains(entry, "@")
}
