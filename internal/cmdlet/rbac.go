package cmdlet

import (
	"fmt"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/opath"
	"github.com/actasmail/actas/internal/rbac"
)

const orgManagement = "Organization Management"

func rbacCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}
	reqID := id
	reqID.Required = true
	name := Param{Name: "Name", Kind: adminapi.KindString, Position: 1, Required: true}
	sw := func(n string) Param { return Param{Name: n, Kind: adminapi.KindSwitch} }
	str := func(n string) Param { return Param{Name: n, Kind: adminapi.KindString} }
	strs := func(n string) Param { return Param{Name: n, Kind: adminapi.KindStrings} }
	boolean := func(n string) Param { return Param{Name: n, Kind: adminapi.KindBool} }
	configOnly := []Param{str("DatabaseRestrictionFilter"), str("ServerRestrictionFilter"), strs("DatabaseList"), strs("ServerList")}
	return []*Def{
		{Name: "New-ManagementScope", Write: true, Run: newManagementScope,
			Params: append([]Param{name, str("RecipientRestrictionFilter"), str("RecipientRoot"), sw("Exclusive"), sw("Force")}, configOnly...)},
		{Name: "Get-ManagementScope", Run: getManagementScope,
			Params: []Param{id, boolean("Exclusive"), sw("Orphan")}},
		{Name: "Set-ManagementScope", Write: true, Run: setManagementScope,
			Params: append([]Param{reqID, str("Name"), str("RecipientRestrictionFilter"), str("RecipientRoot"), sw("Force")}, configOnly...)},
		{Name: "Remove-ManagementScope", Write: true, Run: removeManagementScope,
			Params: []Param{reqID, sw("Force")}},
		{Name: "New-ManagementRoleAssignment", Write: true, Run: newRoleAssignment,
			Params: []Param{{Name: "Name", Kind: adminapi.KindString, Position: 1}, {Name: "Role", Kind: adminapi.KindString, Required: true},
				str("User"), str("SecurityGroup"), str("Policy"), str("App"), str("Computer"),
				str("CustomRecipientWriteScope"), str("ExclusiveRecipientWriteScope"), str("RecipientRelativeWriteScope"),
				str("RecipientOrganizationalUnitScope"), str("RecipientGroupScope"), str("RecipientAdministrativeUnitScope"),
				str("CustomConfigWriteScope"), str("ExclusiveConfigWriteScope"), str("CustomResourceScope"),
				sw("Delegating"), sw("Force"), sw("UnScopedTopLevel")}},
		{Name: "Get-ManagementRoleAssignment", Run: getRoleAssignment,
			Params: []Param{id, str("Role"), str("RoleAssignee"), strs("AssignmentMethod"), sw("GetEffectiveUsers"), str("WritableRecipient"),
				boolean("Delegating"), boolean("Enabled"), boolean("Exclusive"), str("RecipientWriteScope"),
				str("CustomRecipientWriteScope"), str("ExclusiveRecipientWriteScope"), strs("RoleAssigneeType")}},
		{Name: "Set-ManagementRoleAssignment", Write: true, Run: setRoleAssignment,
			Params: []Param{reqID, boolean("Enabled"), str("CustomRecipientWriteScope"), str("ExclusiveRecipientWriteScope"),
				str("RecipientRelativeWriteScope"), str("RecipientOrganizationalUnitScope"), sw("Force")}},
		{Name: "Remove-ManagementRoleAssignment", Write: true, Run: removeRoleAssignment,
			Params: []Param{reqID, sw("Force")}},
		{Name: "New-RoleGroup", Write: true, Run: newRoleGroup,
			Params: []Param{name, strs("Roles"), strs("Members"), strs("ManagedBy"), str("CustomRecipientWriteScope"),
				str("RecipientOrganizationalUnitScope"), str("Description"), str("DisplayName"), sw("Force")}},
		{Name: "Get-RoleGroup", Run: getRoleGroup,
			Params: []Param{id, str("Filter"), {Name: "ResultSize", Kind: adminapi.KindInt}}},
		{Name: "Remove-RoleGroup", Write: true, Run: removeRoleGroup,
			Params: []Param{reqID, sw("BypassSecurityGroupManagerCheck"), sw("Force")}},
		{Name: "Add-RoleGroupMember", Write: true, Run: func(c *Call) error { return changeRoleGroupMember(c, true) },
			Params: []Param{reqID, {Name: "Member", Kind: adminapi.KindString, Required: true}, sw("BypassSecurityGroupManagerCheck")}},
		{Name: "Remove-RoleGroupMember", Write: true, Run: func(c *Call) error { return changeRoleGroupMember(c, false) },
			Params: []Param{reqID, {Name: "Member", Kind: adminapi.KindString, Required: true}, sw("BypassSecurityGroupManagerCheck")}},
		{Name: "Get-RoleGroupMember", Run: getRoleGroupMember,
			Params: []Param{reqID, {Name: "ResultSize", Kind: adminapi.KindInt}}},
		{Name: "Get-ManagementRole", Run: getManagementRole,
			Params: []Param{id, strs("Cmdlet"), str("RoleType")}},
		{Name: "Test-ApplicationImpersonation", Run: testApplicationImpersonation, SelfService: selfImpersonationTest,
			Params: []Param{reqID, {Name: "Resource", Kind: adminapi.KindString, Position: 2}}},
	}
}

// --- management scopes ---

func rejectConfigScopes(c *Call) error {
	for _, p := range []string{"DatabaseRestrictionFilter", "ServerRestrictionFilter", "DatabaseList", "ServerList"} {
		if c.Has(p) {
			return invalidArg("The parameter -%s is for server and database scopes of on-premises Exchange; Actas has one server and supports only recipient scopes (-RecipientRestrictionFilter).", p)
		}
	}
	if c.Str("RecipientRoot") != "" {
		return invalidArg("-RecipientRoot is not supported: Actas organizations have no organizational units. Express the restriction in -RecipientRestrictionFilter instead.")
	}
	return nil
}

func checkName(kind, n string) error {
	n = strings.TrimSpace(n)
	switch {
	case n == "":
		return invalidArg("The %s name can't be empty.", kind)
	case len([]rune(n)) > 64:
		return invalidArg("The length of the property is too long. The maximum length is 64 and the length of the value provided is %d. (Name)", len([]rune(n)))
	}
	return nil
}

func parseScopeFilter(c *Call, f string) error {
	if strings.TrimSpace(f) == "" {
		return invalidArg("A recipient scope needs -RecipientRestrictionFilter.")
	}
	if _, err := opath.Parse(f, d.RecipientSchema); err != nil {
		return bindFilterError("RecipientRestrictionFilter", err)
	}
	return nil
}

// previewScope warns when a scope matches nothing: Exchange silently
// accepts e.g. a MemberOfGroup filter naming a group by name, which never matches.
func previewScope(c *Call, sc *d.Scope) {
	f, err := opath.Parse(sc.Filter, d.RecipientSchema)
	if err != nil {
		return
	}
	n := 0
	for _, r := range c.S.Recipients(c.Org.ID) {
		if f.Match(d.Record{S: c.S, R: r}) {
			n++
		}
	}
	if n == 0 {
		hint := ""
		for _, p := range f.Properties() {
			switch p {
			case "MemberOfGroup", "ManagedBy", "Members", "GrantSendOnBehalfTo":
				hint = fmt.Sprintf(" %s compares distinguished names: use e.g. (Get-DistributionGroup <name>).DistinguishedName.", p)
			}
		}
		c.Warn("The management scope %q matches no recipient right now.%s", sc.Name, hint)
	}
}

func newManagementScope(c *Call) error {
	if err := rejectConfigScopes(c); err != nil {
		return err
	}
	n := strings.TrimSpace(c.Str("Name"))
	if err := checkName("management scope", n); err != nil {
		return err
	}
	f := c.Str("RecipientRestrictionFilter")
	if err := parseScopeFilter(c, f); err != nil {
		return err
	}
	if c.S.ScopeByName(c.Org.ID, n) != nil {
		return duplicate("management scope", n)
	}
	sc := &d.Scope{ID: newGUID(), Org: c.Org.ID, Name: n, Filter: f, Exclusive: c.Bool("Exclusive"), WhenCreated: c.Now(), WhenChanged: c.Now()}
	if sc.Exclusive && !c.Bool("Force") {
		c.Warn("Exclusive scopes take effect immediately: from now on, recipients matching %q can be changed (and impersonated) only through assignments that use an exclusive scope matching them.", n)
	}
	previewScope(c, sc)
	if err := c.Tx.PutScope(sc); err != nil {
		return err
	}
	c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return renderScope(s, sc) })
	return nil
}

func getManagementScope(c *Call) error {
	idv := c.Str("Identity")
	for _, sc := range c.S.Scopes(c.Org.ID) {
		if idv != "" && !d.WildcardMatch(idv, sc.Name) && sc.ID != strings.ToLower(idv) && !strings.EqualFold(d.ScopeDN(sc, c.Org), idv) {
			continue
		}
		if c.Has("Exclusive") && sc.Exclusive != c.Bool("Exclusive") {
			continue
		}
		if c.Bool("Orphan") && len(c.S.AssignmentsUsingScope(sc.ID)) > 0 {
			continue
		}
		c.Emit(renderScope(c.S, sc))
	}
	if idv != "" && !strings.Contains(idv, "*") && len(c.out) == 0 {
		return &d.NotFoundError{Identity: idv}
	}
	return nil
}

func setManagementScope(c *Call) error {
	if err := rejectConfigScopes(c); err != nil {
		return err
	}
	old, err := c.S.ResolveScope(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	sc := *old
	if c.Has("Name") {
		n := strings.TrimSpace(c.Str("Name"))
		if err := checkName("management scope", n); err != nil {
			return err
		}
		if other := c.S.ScopeByName(c.Org.ID, n); other != nil && other.ID != sc.ID {
			return duplicate("management scope", n)
		}
		sc.Name = n
	}
	if c.Has("RecipientRestrictionFilter") {
		if err := parseScopeFilter(c, c.Str("RecipientRestrictionFilter")); err != nil {
			return err
		}
		sc.Filter = c.Str("RecipientRestrictionFilter")
	}
	if sc.Name == old.Name && sc.Filter == old.Filter {
		c.Warn("The command completed successfully but no settings of '%s' have been modified.", old.Name)
		return nil
	}
	sc.WhenChanged = c.Now()
	previewScope(c, &sc)
	return c.Tx.PutScope(&sc)
}

func removeManagementScope(c *Call) error {
	sc, err := c.S.ResolveScope(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	if used := c.S.AssignmentsUsingScope(sc.ID); len(used) > 0 {
		names := make([]string, len(used))
		for i, id := range used {
			names[i] = fmt.Sprintf("%q", c.S.Assignment(id).Name)
		}
		return &adminapi.Error{
			Message:   fmt.Sprintf("Management scope %q can't be removed because it's used by role assignment(s) %s. Remove or change those role assignments first (Get-ManagementScope -Orphan lists unused scopes).", sc.Name, strings.Join(names, ", ")),
			Category:  "InvalidOperation",
			Exception: "InvalidOperationException",
			Target:    sc.Name,
		}
	}
	c.Tx.DeleteScope(sc.ID)
	return nil
}

func renderScope(s *d.State, sc *d.Scope) *adminapi.Object {
	o := s.Org(sc.Org)
	return &adminapi.Object{Type: "ManagementScope",
		View: []string{"Name", "ScopeRestrictionType", "Exclusive", "RecipientRoot", "RecipientFilter", "ServerFilter"},
		Props: []adminapi.Prop{
			{Name: "Name", Value: sc.Name},
			{Name: "ScopeRestrictionType", Value: "RecipientScope"},
			{Name: "Exclusive", Value: sc.Exclusive},
			{Name: "RecipientRoot", Value: nil},
			{Name: "RecipientFilter", Value: sc.Filter},
			{Name: "ServerFilter", Value: nil},
			{Name: "DatabaseFilter", Value: nil},
			{Name: "Identity", Value: sc.Name},
			{Name: "DistinguishedName", Value: d.ScopeDN(sc, o)},
			{Name: "Guid", Value: sc.ID},
			{Name: "WhenCreatedUTC", Value: fmtTime(sc.WhenCreated)},
			{Name: "WhenChangedUTC", Value: fmtTime(sc.WhenChanged)},
		}}
}

// --- role assignments ---

var relativeScopes = []string{d.ScopeNone, d.ScopeOrganization, d.ScopeMyGAL, d.ScopeSelf, d.ScopeMyDistributionGroups}

// scopeArgs reads the recipient scope parameters of New-/Set-ManagementRoleAssignment
// (or New-RoleGroup) into an assignment, enforcing one recipient scope per assignment.
func scopeArgs(c *Call, a *d.Assignment, set bool) error {
	for _, p := range []string{"RecipientOrganizationalUnitScope", "RecipientGroupScope", "RecipientAdministrativeUnitScope", "CustomConfigWriteScope", "ExclusiveConfigWriteScope", "CustomResourceScope"} {
		if c.Has(p) && c.Str(p) != "" {
			return invalidArg("-%s is not supported by Actas (no organizational units, administrative units, configuration scopes or service principals yet). Use -CustomRecipientWriteScope with a management scope instead; a MemberOfGroup filter replaces a group scope.", p)
		}
	}
	given := 0
	for _, p := range []string{"CustomRecipientWriteScope", "ExclusiveRecipientWriteScope", "RecipientRelativeWriteScope"} {
		if c.Has(p) {
			given++
		}
	}
	if given > 1 {
		return invalidArg("A role assignment can have only one recipient scope: use one of -CustomRecipientWriteScope, -ExclusiveRecipientWriteScope and -RecipientRelativeWriteScope. To give a role several scopes, create several role assignments.")
	}
	switch {
	case c.Has("CustomRecipientWriteScope"):
		if c.Str("CustomRecipientWriteScope") == "" {
			if set {
				a.WriteScope, a.ScopeID = d.ScopeOrganization, ""
				return nil
			}
			return invalidArg("-CustomRecipientWriteScope needs a management scope name.")
		}
		sc, err := c.S.ResolveScope(c.Org.ID, c.Str("CustomRecipientWriteScope"))
		if err != nil {
			return refNotFound(err)
		}
		if sc.Exclusive {
			return invalidArg("The management scope %q is exclusive. Use -ExclusiveRecipientWriteScope to assign an exclusive scope.", sc.Name)
		}
		a.WriteScope, a.ScopeID = d.ScopeCustom, sc.ID
	case c.Has("ExclusiveRecipientWriteScope"):
		if c.Str("ExclusiveRecipientWriteScope") == "" {
			if set {
				a.WriteScope, a.ScopeID = d.ScopeOrganization, ""
				return nil
			}
			return invalidArg("-ExclusiveRecipientWriteScope needs a management scope name.")
		}
		sc, err := c.S.ResolveScope(c.Org.ID, c.Str("ExclusiveRecipientWriteScope"))
		if err != nil {
			return refNotFound(err)
		}
		if !sc.Exclusive {
			return invalidArg("The management scope %q isn't exclusive. Use -CustomRecipientWriteScope to assign a regular scope.", sc.Name)
		}
		a.WriteScope, a.ScopeID = d.ScopeExclusive, sc.ID
	case c.Has("RecipientRelativeWriteScope"):
		v := c.Str("RecipientRelativeWriteScope")
		for _, r := range relativeScopes {
			if strings.EqualFold(r, v) {
				a.WriteScope, a.ScopeID = r, ""
				return nil
			}
		}
		return invalidArg("Cannot bind parameter 'RecipientRelativeWriteScope'. Cannot convert value %q to type \"Microsoft.Exchange.Data.Directory.SystemConfiguration.RecipientWriteScopeType\". Valid values are: %s.", v, strings.Join(relativeScopes, ", "))
	}
	return nil
}

// refNotFound turns a not-found on a referenced object into Exchange's
// "Couldn't find object" wording.
func refNotFound(err error) error {
	if nf, ok := err.(*d.NotFoundError); ok {
		return &d.NotFoundError{Identity: nf.Identity, Referenced: true}
	}
	return err
}

func resolveRole(name string) (*rbac.Role, error) {
	r := rbac.RoleByName(name)
	if r == nil {
		return nil, &adminapi.Error{Message: fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found on '%s'. (Actas: Get-ManagementRole lists the roles.)", name, d.ServerName),
			Category: "NotSpecified", Exception: "ManagementObjectNotFoundException", Target: name}
	}
	return r, nil
}

func requireDelegating(c *Call, role *rbac.Role) error {
	if rbac.MayDelegate(c.S, c.Caller, role.Name) {
		return nil
	}
	return &adminapi.Error{
		Message:   fmt.Sprintf("%q can't assign the role %q because it has no delegating role assignment for that role. (Members of Organization Management hold delegating assignments for every role; New-ManagementRoleAssignment -Delegating grants one.)", c.Caller.Name, role.Name),
		Category:  "PermissionDenied",
		Exception: "ADScopeException",
		Target:    role.Name,
	}
}

func uniqueAssignmentName(c *Call, base string, taken map[string]bool) string {
	n := base
	if len([]rune(n)) > 64 {
		n = string([]rune(n)[:64])
	}
	for i := 1; c.S.AssignmentByName(c.Org.ID, n) != nil || taken[strings.ToLower(n)]; i++ {
		suffix := fmt.Sprintf("-%d", i)
		r := []rune(base)
		if len(r)+len(suffix) > 64 {
			r = r[:64-len(suffix)]
		}
		n = string(r) + suffix
	}
	if taken != nil {
		taken[strings.ToLower(n)] = true
	}
	return n
}

func assigneeType(r *d.Recipient) string {
	switch r.Type {
	case d.RoleGroup:
		return d.AssigneeRoleGroup
	case d.MailUniversalSecurityGroup:
		return d.AssigneeSecurityGroup
	}
	return d.AssigneeUser
}

func newRoleAssignment(c *Call) error {
	for _, p := range []string{"Policy", "App", "Computer"} {
		if c.Has(p) {
			return invalidArg("-%s assignees are not supported by Actas yet; assign the role to a user (-User) or a role group or security group (-SecurityGroup).", p)
		}
	}
	if c.Bool("UnScopedTopLevel") {
		return invalidArg("Unscoped top-level roles don't exist in Actas.")
	}
	role, err := resolveRole(c.Str("Role"))
	if err != nil {
		return err
	}
	var assignee *d.Recipient
	switch {
	case c.Has("User") && c.Has("SecurityGroup"):
		return invalidArg("Parameter set cannot be resolved using the specified named parameters: use either -User or -SecurityGroup.")
	case c.Has("User"):
		assignee, err = c.S.Resolve(c.Org.ID, c.Str("User"), d.Mailboxes, true)
	case c.Has("SecurityGroup"):
		assignee, err = c.S.Resolve(c.Org.ID, c.Str("SecurityGroup"), d.AllGroups, true)
		if err == nil && assignee.Type != d.RoleGroup && assignee.Type != d.MailUniversalSecurityGroup {
			return invalidArg("%q is a %s. Roles can be assigned only to users, role groups and mail-enabled security groups: distribution groups aren't security principals.", assignee.Name, assignee.Type)
		}
	default:
		return invalidArg("Specify who receives the role: -User, or -SecurityGroup for a role group or security group.")
	}
	if err != nil {
		return err
	}
	if err := requireDelegating(c, role); err != nil {
		return err
	}
	a := &d.Assignment{ID: newGUID(), Org: c.Org.ID, Role: role.Name, Assignee: assignee.ID, AssigneeType: assigneeType(assignee),
		Delegating: c.Bool("Delegating"), Enabled: true, WriteScope: d.ScopeOrganization, WhenCreated: c.Now(), WhenChanged: c.Now()}
	if err := scopeArgs(c, a, false); err != nil {
		return err
	}
	if n := strings.TrimSpace(c.Str("Name")); n != "" {
		if err := checkName("role assignment", n); err != nil {
			return err
		}
		if c.S.AssignmentByName(c.Org.ID, n) != nil {
			return duplicate("role assignment", n)
		}
		a.Name = n
	} else {
		base := role.Name + "-" + assignee.Name
		if a.Delegating {
			base += "-Delegating"
		}
		a.Name = uniqueAssignmentName(c, base, nil)
	}
	if err := c.Tx.PutAssignment(a); err != nil {
		return err
	}
	c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return renderAssignment(s, a, assignmentRow{Method: "Direct"}) })
	return nil
}

// assignmentRow carries how an assignment reaches a particular user, for
// -RoleAssignee and -GetEffectiveUsers output.
type assignmentRow struct {
	Method        string // Direct, RoleGroup, SecurityGroup
	EffectiveUser string
	Chain         string
}

func getRoleAssignment(c *Call) error {
	if c.Has("Identity") && c.Has("RoleAssignee") {
		return invalidArg("Parameter set cannot be resolved using the specified named parameters: -Identity and -RoleAssignee can't be used together.")
	}
	type item struct {
		a   *d.Assignment
		row assignmentRow
	}
	var items []item
	switch {
	case c.Str("Identity") != "":
		idv := c.Str("Identity")
		for _, a := range c.S.Assignments(c.Org.ID) {
			if d.WildcardMatch(idv, a.Name) || a.ID == strings.ToLower(idv) {
				items = append(items, item{a: a, row: assignmentRow{Method: "Direct"}})
			}
		}
		if len(items) == 0 && !strings.Contains(idv, "*") {
			return &d.NotFoundError{Identity: idv}
		}
	case c.Has("RoleAssignee"):
		r, err := c.S.Resolve(c.Org.ID, c.Str("RoleAssignee"), d.Principals, true)
		if err != nil {
			return err
		}
		for _, a := range c.S.AssignmentsOf(r.ID) {
			items = append(items, item{a: a, row: assignmentRow{Method: "Direct"}})
		}
		for _, g := range c.S.GroupsTransitive(r.ID) {
			gr := c.S.Recipient(g)
			method := d.AssigneeSecurityGroup
			if gr.Type == d.RoleGroup {
				method = d.AssigneeRoleGroup
			}
			for _, a := range c.S.AssignmentsOf(g) {
				items = append(items, item{a: a, row: assignmentRow{Method: method, EffectiveUser: r.Name, Chain: gr.Name}})
			}
		}
	default:
		for _, a := range c.S.Assignments(c.Org.ID) {
			items = append(items, item{a: a, row: assignmentRow{Method: "Direct"}})
		}
	}
	var target *d.Recipient
	if c.Has("WritableRecipient") {
		var err error
		if target, err = c.S.Resolve(c.Org.ID, c.Str("WritableRecipient"), d.AnyRecipient, true); err != nil {
			return err
		}
	}
	var scopeFilter *d.Scope
	for _, p := range []string{"CustomRecipientWriteScope", "ExclusiveRecipientWriteScope"} {
		if c.Has(p) {
			sc, err := c.S.ResolveScope(c.Org.ID, c.Str(p))
			if err != nil {
				return refNotFound(err)
			}
			scopeFilter = sc
		}
	}
	methods := c.List("AssignmentMethod")
	types := c.List("RoleAssigneeType")
	for _, it := range items {
		a := it.a
		switch {
		case c.Has("Role") && !d.WildcardMatch(c.Str("Role"), a.Role),
			c.Has("Delegating") && a.Delegating != c.Bool("Delegating"),
			c.Has("Enabled") && a.Enabled != c.Bool("Enabled"),
			c.Has("Exclusive") && (a.WriteScope == d.ScopeExclusive) != c.Bool("Exclusive"),
			c.Has("RecipientWriteScope") && !strings.EqualFold(c.Str("RecipientWriteScope"), a.WriteScope),
			scopeFilter != nil && a.ScopeID != scopeFilter.ID,
			len(methods) > 0 && !containsFold(methods, it.row.Method),
			len(types) > 0 && !containsFold(types, a.AssigneeType),
			target != nil && !rbac.WritableBy(c.S, a, target):
			continue
		}
		if c.Bool("GetEffectiveUsers") {
			for _, u := range rbac.EffectiveUsers(c.S, a) {
				if it.row.EffectiveUser != "" && u.Name != it.row.EffectiveUser {
					continue
				}
				row := it.row
				row.EffectiveUser = u.Name
				if u.ID != a.Assignee {
					if row.Method == "Direct" {
						row.Method = a.AssigneeType
					}
					if as := c.S.Recipient(a.Assignee); as != nil {
						row.Chain = as.Name
					}
				}
				c.Emit(renderAssignment(c.S, a, row))
			}
			continue
		}
		c.Emit(renderAssignment(c.S, a, it.row))
	}
	return nil
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func setRoleAssignment(c *Call) error {
	if c.Has("RecipientOrganizationalUnitScope") {
		return invalidArg("-RecipientOrganizationalUnitScope is not supported by Actas: there are no organizational units.")
	}
	old, err := c.S.ResolveAssignment(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	role, err := resolveRole(old.Role)
	if err != nil {
		return err
	}
	if err := requireDelegating(c, role); err != nil {
		return err
	}
	a := old.Clone()
	if c.Has("Enabled") {
		a.Enabled = c.Bool("Enabled")
	}
	if err := scopeArgs(c, a, true); err != nil {
		return err
	}
	if *a == *old {
		c.Warn("The command completed successfully but no settings of '%s' have been modified.", old.Name)
		return nil
	}
	if err := protectOrgManagement(c, old, "change"); err != nil {
		return err
	}
	a.WhenChanged = c.Now()
	return c.Tx.PutAssignment(a)
}

// protectOrgManagement keeps the organization administrable: Organization
// Management's delegating and Role Management assignments can't be removed
// or changed, as in Exchange.
func protectOrgManagement(c *Call, a *d.Assignment, verb string) error {
	g := c.S.Recipient(a.Assignee)
	if g == nil || g.Type != d.RoleGroup || g.Name != orgManagement {
		return nil
	}
	if a.Delegating || a.Role == "Role Management" {
		return invalidOp("You can't %s the role assignment %q: Organization Management must keep its delegating and Role Management assignments so that the organization stays manageable.", verb, a.Name)
	}
	return nil
}

func removeRoleAssignment(c *Call) error {
	a, err := c.S.ResolveAssignment(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	role, err := resolveRole(a.Role)
	if err != nil {
		return err
	}
	if err := requireDelegating(c, role); err != nil {
		return err
	}
	if err := protectOrgManagement(c, a, "remove"); err != nil {
		return err
	}
	c.Tx.DeleteAssignment(a.ID)
	return nil
}

func renderAssignment(s *d.State, a *d.Assignment, row assignmentRow) *adminapi.Object {
	o := s.Org(a.Org)
	assigneeName := ""
	assigneeDN := ""
	if r := s.Recipient(a.Assignee); r != nil {
		assigneeName = r.Name
		assigneeDN = d.DN(r, o)
	}
	var custom any
	if a.ScopeID != "" {
		if sc := s.Scope(a.ScopeID); sc != nil {
			custom = sc.Name
		}
	}
	delegation := "Regular"
	if a.Delegating {
		delegation = "Delegating"
	}
	eff := row.EffectiveUser
	if eff == "" {
		eff = "All Group Members"
		if a.AssigneeType == d.AssigneeUser {
			eff = assigneeName
		}
	}
	recipRead := "Organization"
	configRead, configWrite := "OrganizationConfig", "OrganizationConfig"
	if a.Role == rbac.ApplicationImpersonation {
		configRead, configWrite = "None", "None"
	}
	return &adminapi.Object{Type: "ManagementRoleAssignment",
		View: []string{"Name", "Role", "RoleAssigneeName", "RoleAssigneeType", "AssignmentMethod", "EffectiveUserName"},
		Props: []adminapi.Prop{
			{Name: "Name", Value: a.Name},
			{Name: "Role", Value: a.Role},
			{Name: "RoleAssigneeName", Value: assigneeName},
			{Name: "RoleAssigneeType", Value: a.AssigneeType},
			{Name: "AssignmentMethod", Value: row.Method},
			{Name: "EffectiveUserName", Value: eff},
			{Name: "AssignmentChain", Value: row.Chain},
			{Name: "RoleAssignee", Value: assigneeDN},
			{Name: "CustomRecipientWriteScope", Value: custom},
			{Name: "CustomConfigWriteScope", Value: nil},
			{Name: "RecipientReadScope", Value: recipRead},
			{Name: "ConfigReadScope", Value: configRead},
			{Name: "RecipientWriteScope", Value: a.WriteScope},
			{Name: "ConfigWriteScope", Value: configWrite},
			{Name: "Enabled", Value: a.Enabled},
			{Name: "RoleAssignmentDelegationType", Value: delegation},
			{Name: "IsValid", Value: true},
			{Name: "Identity", Value: a.Name},
			{Name: "DistinguishedName", Value: d.AssignmentDN(a, o)},
			{Name: "Guid", Value: a.ID},
			{Name: "WhenCreatedUTC", Value: fmtTime(a.WhenCreated)},
			{Name: "WhenChangedUTC", Value: fmtTime(a.WhenChanged)},
		}}
}

// --- role groups ---

func newRoleGroup(c *Call) error {
	if c.Has("RecipientOrganizationalUnitScope") {
		return invalidArg("-RecipientOrganizationalUnitScope is not supported by Actas: there are no organizational units.")
	}
	n := strings.TrimSpace(c.Str("Name"))
	if err := checkName("role group", n); err != nil {
		return err
	}
	if c.S.RecipientByName(c.Org.ID, n) != nil {
		return duplicate("recipient or group", n)
	}
	var roles []*rbac.Role
	for _, rn := range c.List("Roles") {
		role, err := resolveRole(rn)
		if err != nil {
			return err
		}
		if err := requireDelegating(c, role); err != nil {
			return err
		}
		roles = append(roles, role)
	}
	g := &d.Recipient{ID: newGUID(), Org: c.Org.ID, Type: d.RoleGroup, Name: n, DisplayName: n, Description: c.Str("Description"),
		SID: newSID(c.Org), WhenCreated: c.Now(), WhenChanged: c.Now()}
	if dn := c.Str("DisplayName"); dn != "" {
		g.DisplayName = dn
	}
	owners := c.List("ManagedBy")
	for _, o := range owners {
		r, err := c.S.Resolve(c.Org.ID, o, d.Principals, true)
		if err != nil {
			return err
		}
		g.ManagedBy = append(g.ManagedBy, r.ID)
	}
	if err := c.Tx.PutRecipient(g); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range c.List("Members") {
		r, err := c.S.Resolve(c.Org.ID, m, d.Principals, true)
		if err != nil {
			return err
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			c.Tx.AddMember(g.ID, r.ID)
		}
	}
	taken := map[string]bool{}
	for _, role := range roles {
		a := &d.Assignment{ID: newGUID(), Org: c.Org.ID, Role: role.Name, Assignee: g.ID, AssigneeType: d.AssigneeRoleGroup,
			Enabled: true, WriteScope: d.ScopeOrganization, WhenCreated: c.Now(), WhenChanged: c.Now()}
		a.Name = uniqueAssignmentName(c, role.Name+"-"+n, taken)
		if err := scopeArgs(c, a, false); err != nil {
			return err
		}
		if err := c.Tx.PutAssignment(a); err != nil {
			return err
		}
	}
	if c.Has("CustomRecipientWriteScope") && len(roles) == 0 {
		c.Warn("-CustomRecipientWriteScope applies to the role assignments created with the group; without -Roles it has no effect.")
	}
	c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return renderRoleGroup(s, s.Recipient(g.ID)) })
	return nil
}

func findRoleGroups(c *Call, idv string) ([]*d.Recipient, error) {
	if idv == "" || strings.Contains(idv, "*") {
		var out []*d.Recipient
		for _, r := range c.S.Recipients(c.Org.ID) {
			if r.Type == d.RoleGroup && (idv == "" || d.WildcardMatch(idv, r.Name)) {
				out = append(out, r)
			}
		}
		return out, nil
	}
	r, err := c.S.Resolve(c.Org.ID, idv, d.RoleGroups, false)
	if err != nil {
		return nil, err
	}
	return []*d.Recipient{r}, nil
}

func getRoleGroup(c *Call) error {
	if c.Has("Filter") {
		return invalidArg("Get-RoleGroup -Filter is not supported yet; use Get-RoleGroup | Where-Object {...}.")
	}
	gs, err := findRoleGroups(c, c.Str("Identity"))
	if err != nil {
		return err
	}
	for i, g := range gs {
		if n, ok := c.Int("ResultSize"); ok && n >= 0 && i >= n {
			break
		}
		c.Emit(renderRoleGroup(c.S, g))
	}
	return nil
}

func renderRoleGroup(s *d.State, g *d.Recipient) *adminapi.Object {
	var roles, assigns []any
	seen := map[string]bool{}
	for _, a := range s.AssignmentsOf(g.ID) {
		assigns = append(assigns, a.Name)
		if !a.Delegating && !seen[a.Role] {
			seen[a.Role] = true
			roles = append(roles, a.Role)
		}
	}
	return &adminapi.Object{Type: "RoleGroup",
		View: []string{"Name", "AssignedRoles", "RoleAssignments", "ManagedBy"},
		Props: []adminapi.Prop{
			{Name: "Name", Value: g.Name},
			{Name: "AssignedRoles", Value: roles},
			{Name: "RoleAssignments", Value: assigns},
			{Name: "ManagedBy", Value: linkNames(s, g.ManagedBy)},
			{Name: "Roles", Value: roles},
			{Name: "Members", Value: linkNames(s, s.Members(g.ID))},
			{Name: "RoleGroupType", Value: "Standard"},
			{Name: "Description", Value: g.Description},
			{Name: "DisplayName", Value: g.DisplayName},
			{Name: "Identity", Value: g.Name},
			{Name: "DistinguishedName", Value: s.DN(g)},
			{Name: "Guid", Value: g.ID},
			{Name: "WhenCreatedUTC", Value: fmtTime(g.WhenCreated)},
			{Name: "WhenChangedUTC", Value: fmtTime(g.WhenChanged)},
		}}
}

func removeRoleGroup(c *Call) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.RoleGroups, false)
	if err != nil {
		return err
	}
	if g.Name == orgManagement {
		return invalidOp("The role group %q can't be removed: it holds the organization's delegating role assignments.", g.Name)
	}
	for _, a := range c.S.AssignmentsOf(g.ID) {
		c.Tx.DeleteAssignment(a.ID)
	}
	c.Tx.DeleteRecipient(g.ID)
	return nil
}

func changeRoleGroupMember(c *Call, add bool) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.RoleGroups, false)
	if err != nil {
		return err
	}
	m, err := c.S.Resolve(c.Org.ID, c.Str("Member"), d.Principals, true)
	if err != nil {
		return err
	}
	if m.ID == g.ID {
		return invalidArg("A role group can't be a member of itself.")
	}
	isMember := c.S.IsMember(g.ID, m.ID)
	switch {
	case add && isMember:
		return &adminapi.Error{Message: fmt.Sprintf("The recipient %q is already a member of the group %q.", m.Name, g.Name),
			Category: "NotSpecified", Exception: "MemberAlreadyExistsException", Target: m.Name}
	case !add && !isMember:
		return &adminapi.Error{Message: fmt.Sprintf("The recipient %q isn't a member of the group %q.", m.Name, g.Name),
			Category: "NotSpecified", Exception: "MemberNotFoundException", Target: m.Name}
	}
	if add {
		for _, anc := range c.S.GroupsTransitive(g.ID) {
			if anc == m.ID {
				return invalidArg("Adding %q to %q would make group membership circular.", m.Name, g.Name)
			}
		}
		c.Tx.AddMember(g.ID, m.ID)
		return nil
	}
	if g.Name == orgManagement && c.S.MemberCount(g.ID) == 1 {
		return invalidOp("%q is the last member of Organization Management; removing it would leave the organization without an administrator.", m.Name)
	}
	c.Tx.RemoveMember(g.ID, m.ID)
	return nil
}

func getRoleGroupMember(c *Call) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.RoleGroups, false)
	if err != nil {
		return err
	}
	for i, id := range c.S.Members(g.ID) {
		if n, ok := c.Int("ResultSize"); ok && n >= 0 && i >= n {
			break
		}
		if r := c.S.Recipient(id); r != nil {
			c.Emit(renderReducedRecipient(c.S, r))
		}
	}
	return nil
}

// --- roles ---

func getManagementRole(c *Call) error {
	idv := c.Str("Identity")
	found := false
	for _, r := range rbac.Roles() {
		if idv != "" && !d.WildcardMatch(idv, r.Name) {
			continue
		}
		if c.Has("RoleType") && !strings.EqualFold(c.Str("RoleType"), r.RoleType) {
			continue
		}
		if cm := c.List("Cmdlet"); len(cm) > 0 {
			ok := false
			for _, x := range cm {
				ok = ok || r.Has(x)
			}
			if !ok {
				continue
			}
		}
		found = true
		entries := make([]any, len(r.Cmdlets))
		for i, x := range r.Cmdlets {
			entries[i] = "(Microsoft.Exchange.Management.PowerShell.E2010) " + x
		}
		configScope := "OrganizationConfig"
		if r.Name == rbac.ApplicationImpersonation {
			configScope = "None"
		}
		c.Emit(&adminapi.Object{Type: "ManagementRole", View: []string{"Name", "RoleType"},
			Props: []adminapi.Prop{
				{Name: "Name", Value: r.Name},
				{Name: "RoleType", Value: r.RoleType},
				{Name: "ImplicitRecipientReadScope", Value: "Organization"},
				{Name: "ImplicitRecipientWriteScope", Value: r.ImplicitWrite},
				{Name: "ImplicitConfigReadScope", Value: configScope},
				{Name: "ImplicitConfigWriteScope", Value: configScope},
				{Name: "IsRootRole", Value: true},
				{Name: "IsEndUserRole", Value: false},
				{Name: "Description", Value: r.Description},
				{Name: "RoleEntries", Value: entries},
				{Name: "Identity", Value: r.Name},
			}})
	}
	if idv != "" && !strings.Contains(idv, "*") && !found {
		return &d.NotFoundError{Identity: idv}
	}
	return nil
}

// --- Test-ApplicationImpersonation ---

// selfImpersonationTest lets a service account test its own rights
// without any admin role.
func selfImpersonationTest(c *Call) bool {
	r, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	return err == nil && r.ID == c.Caller.ID
}

func testApplicationImpersonation(c *Call) error {
	acct, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	var target *d.Recipient
	if c.Str("Resource") != "" {
		if target, err = c.S.Resolve(c.Org.ID, c.Str("Resource"), d.Mailboxes, true); err != nil {
			return err
		}
	}
	dec := rbac.Explain(c.S, acct, target)
	resource := ""
	if target != nil {
		resource = target.Name
	}
	// Admins see the recipient's values in the clause trace; a service
	// account testing itself sees only which clauses held.
	admin := rbac.MayRun(c.S, c.Caller, "Test-ApplicationImpersonation")
	trace := func(a *d.Assignment) []any {
		sc := c.S.Scope(a.ScopeID)
		if target == nil || sc == nil {
			return nil
		}
		f, err := sc.Compiled()
		if err != nil {
			return []any{"the filter cannot be used: " + err.Error()}
		}
		_, steps := f.Explain(d.Record{S: c.S, R: target})
		out := make([]any, len(steps))
		for i, st := range steps {
			if admin {
				out[i] = st.String()
			} else {
				out[i] = fmt.Sprintf("%s%s: %t", strings.Repeat("  ", st.Depth), st.Clause, st.Result)
			}
		}
		return out
	}
	var rowTrace []any
	row := func(assignment, scope, scopeType, via, filter string, inScope any, reason string) {
		c.Emit(&adminapi.Object{Type: "ImpersonationTestResult",
			View: []string{"RoleName", "AssignmentName", "AllowedResourceScope", "ScopeType", "InScope"},
			Props: []adminapi.Prop{
				{Name: "RoleName", Value: rbac.ApplicationImpersonation},
				{Name: "AssignmentName", Value: assignment},
				{Name: "AllowedResourceScope", Value: scope},
				{Name: "ScopeType", Value: scopeType},
				{Name: "InScope", Value: inScope},
				{Name: "Reason", Value: reason},
				{Name: "Identity", Value: acct.Name},
				{Name: "Resource", Value: resource},
				{Name: "AssignedThrough", Value: via},
				{Name: "RecipientFilter", Value: filter},
				{Name: "FilterTrace", Value: rowTrace},
				{Name: "Decision", Value: dec.Message},
			}})
	}
	if len(dec.Rows) == 0 {
		inScope := any("Not Run")
		if target != nil {
			inScope = false
		}
		row("", "", "", "", "", inScope, dec.Message)
		return nil
	}
	for _, r := range dec.Rows {
		var inScope any = "Not Run"
		reason := ""
		if target != nil {
			inScope = r.InScope
			reason = r.Why
		} else if !r.Assignment.Enabled {
			reason = "the assignment is disabled"
		}
		rowTrace = trace(r.Assignment)
		row(r.Assignment.Name, r.ScopeName, r.ScopeType, r.Via, r.Filter, inScope, reason)
	}
	return nil
}
