package cmdlet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// groupCmdlets are the distribution group, security group and room list
// cmdlets, and Get-Group.
func groupCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}
	reqID := id
	reqID.Required = true
	str := func(n string) Param { return Param{Name: n, Kind: adminapi.KindString} }
	strs := func(n string) Param { return Param{Name: n, Kind: adminapi.KindStrings} }
	sw := func(n string) Param { return Param{Name: n, Kind: adminapi.KindSwitch} }
	boolean := func(n string) Param { return Param{Name: n, Kind: adminapi.KindBool} }
	num := func(n string) Param { return Param{Name: n, Kind: adminapi.KindInt} }
	member := Param{Name: "Member", Kind: adminapi.KindString, Required: true}

	setGroup := []Param{reqID, str("Name"), str("DisplayName"), str("Alias"), str("PrimarySmtpAddress"), strs("EmailAddresses"),
		strs("ManagedBy"), str("MemberJoinRestriction"), str("MemberDepartRestriction"), sw("RoomList"),
		boolean("RequireSenderAuthenticationEnabled"), sw("BypassSecurityGroupManagerCheck"), sw("Force")}
	for i := 1; i <= 15; i++ {
		setGroup = append(setGroup, str("CustomAttribute"+strconv.Itoa(i)))
	}
	return []*Def{
		{Name: "New-DistributionGroup", Write: true, Run: newDistributionGroup,
			Params: []Param{{Name: "Name", Kind: adminapi.KindString, Position: 1, Required: true},
				str("Alias"), str("DisplayName"), str("PrimarySmtpAddress"), str("Type"), strs("Members"), strs("ManagedBy"),
				str("MemberJoinRestriction"), str("MemberDepartRestriction"), sw("RoomList"),
				boolean("RequireSenderAuthenticationEnabled"), sw("CopyOwnerToMember"), str("Description"), str("Notes"),
				str("OrganizationalUnit"), sw("IgnoreNamingPolicy"), sw("Force")}},
		{Name: "Get-DistributionGroup", Run: getDistributionGroup,
			Params: []Param{id, str("Filter"), strs("RecipientTypeDetails"), str("ManagedBy"), num("ResultSize"), str("Anr")}},
		{Name: "Set-DistributionGroup", Write: true, Run: setDistributionGroup, Params: setGroup},
		{Name: "Remove-DistributionGroup", Write: true, Run: removeDistributionGroup,
			Params: []Param{reqID, sw("BypassSecurityGroupManagerCheck"), sw("Force")}},
		{Name: "Add-DistributionGroupMember", Write: true, Run: func(c *Call) error { return changeGroupMember(c, true) },
			Params: []Param{reqID, member, sw("BypassSecurityGroupManagerCheck")}},
		{Name: "Remove-DistributionGroupMember", Write: true, Run: func(c *Call) error { return changeGroupMember(c, false) },
			Params: []Param{reqID, member, sw("BypassSecurityGroupManagerCheck")}},
		{Name: "Get-DistributionGroupMember", Run: getDistributionGroupMember,
			Params: []Param{reqID, num("ResultSize")}},
		{Name: "Get-Group", Run: getGroup,
			Params: []Param{id, str("Filter"), strs("RecipientTypeDetails"), num("ResultSize"), str("Anr")}},
	}
}

var (
	distributionGroupTypeDetails = []string{"MailNonUniversalGroup", "MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList"}
	groupTypeDetails             = []string{"MailNonUniversalGroup", "MailUniversalDistributionGroup", "MailUniversalSecurityGroup",
		"NonUniversalGroup", "RoleGroup", "RoomList", "UniversalDistributionGroup", "UniversalSecurityGroup"}
	groupTypeValues   = []string{"Distribution", "Security"}
	joinRestrictions  = []string{"Open", "Closed", "ApprovalRequired"}
	departRestriction = []string{"Open", "Closed"}
)

// ownerKinds are the recipients -ManagedBy accepts: mailboxes and
// mail-enabled security groups.
var ownerKinds d.Kinds = func(r *d.Recipient) bool { return r.IsMailbox() || r.Type == d.MailUniversalSecurityGroup }

// memberKinds are the recipients a distribution group can contain (role
// groups can't be members).
var memberKinds = d.AnyRecipient

// checkRoomListMember enforces that room lists hold only room mailboxes and room lists.
func checkRoomListMember(g, m *d.Recipient) error {
	if g.Type != d.RoomList || m.Type == d.RoomMailbox || m.Type == d.RoomList {
		return nil
	}
	return invalidOp("\"%s\" can't be added to the room list \"%s\". Room lists can only have room mailboxes or room lists as members. \"%s\" is a %s.", m.Name, g.Name, m.Name, m.Type)
}

// checkRestrictions validates the join and depart restrictions of a group.
func checkRestrictions(r *d.Recipient) error {
	if r.Type != d.MailUniversalSecurityGroup {
		return nil
	}
	if r.MemberJoinRestriction == "Open" {
		return invalidArg("The MemberJoinRestriction of a security group can't be Open: security groups control permissions, so members can't add themselves. Use Closed or ApprovalRequired.")
	}
	if r.MemberDepartRestriction == "Open" {
		return invalidArg("The MemberDepartRestriction of a security group can't be Open: security groups control permissions. Use Closed.")
	}
	return nil
}

// restrictionParams applies -MemberJoinRestriction and -MemberDepartRestriction.
func restrictionParams(c *Call, r *d.Recipient) error {
	if c.Has("MemberJoinRestriction") {
		v, ok := matchEnum(c.Str("MemberJoinRestriction"), joinRestrictions)
		if !ok {
			return enumError("MemberJoinRestriction", c.Str("MemberJoinRestriction"), "Microsoft.Exchange.Data.Directory.Recipient.MemberUpdateType", joinRestrictions)
		}
		r.MemberJoinRestriction = v
	}
	if c.Has("MemberDepartRestriction") {
		v, ok := matchEnum(c.Str("MemberDepartRestriction"), departRestriction)
		if !ok {
			if _, known := matchEnum(c.Str("MemberDepartRestriction"), joinRestrictions); known {
				return notInSet("MemberDepartRestriction", c.Str("MemberDepartRestriction"), departRestriction)
			}
			return enumError("MemberDepartRestriction", c.Str("MemberDepartRestriction"), "Microsoft.Exchange.Data.Directory.Recipient.MemberUpdateType", departRestriction)
		}
		r.MemberDepartRestriction = v
	}
	return checkRestrictions(r)
}

// isGroupManager reports whether the caller is in the group's ManagedBy,
// directly or through a security group that is.
func isGroupManager(s *d.State, caller, g *d.Recipient) bool {
	if contains(g.ManagedBy, caller.ID) {
		return true
	}
	for _, gid := range s.GroupsTransitive(caller.ID) {
		if contains(g.ManagedBy, gid) {
			return true
		}
	}
	return false
}

// checkGroupManager applies the write scope and Exchange's group owner
// check, which -BypassSecurityGroupManagerCheck skips for holders of the
// right to bypass it.
func checkGroupManager(c *Call, g *d.Recipient, cmdlet string) error {
	bypass := c.Bool("BypassSecurityGroupManagerCheck")
	if bypass && !rbac.MayRun(c.S, c.Caller, "BypassSecurityGroupManagerCheck") {
		return &adminapi.Error{
			Message:  fmt.Sprintf("You don't have permission to use -BypassSecurityGroupManagerCheck. (Actas: it requires the Security Group Creation and Membership or Role Management role, e.g. through Organization Management; %q has neither. In Exchange the parameter isn't even available to you.)", c.Caller.Name),
			Category: "PermissionDenied", Exception: "UnauthorizedAccessException", Target: g.Name,
		}
	}
	if err := rbac.CanWrite(c.S, c.Caller, cmdlet, g); err != nil {
		return err
	}
	if bypass || isGroupManager(c.S, c.Caller, g) {
		return nil
	}
	return &adminapi.Error{
		Message:  fmt.Sprintf("You don't have sufficient permissions. This operation can only be performed by a manager of the group. (Actas: %q isn't in ManagedBy of %q; an administrator can add -BypassSecurityGroupManagerCheck.)", c.Caller.Name, g.Name),
		Category: "NotSpecified", Exception: "OperationRequiresGroupManagerException", Target: g.Name,
	}
}

func newDistributionGroup(c *Call) error {
	name, err := checkRecipientName("Name", c.Str("Name"))
	if err != nil {
		return err
	}
	if err := checkNameFree(c.S, c.Org.ID, name, ""); err != nil {
		return err
	}
	typ := d.MailUniversalDistributionGroup
	if c.Has("Type") {
		t, ok := matchEnum(c.Str("Type"), groupTypeValues)
		if !ok {
			return enumError("Type", c.Str("Type"), "Microsoft.Exchange.Management.RecipientTasks.GroupType", groupTypeValues)
		}
		if t == "Security" {
			typ = d.MailUniversalSecurityGroup
		}
	}
	if c.Bool("RoomList") {
		if typ == d.MailUniversalSecurityGroup {
			return invalidArg("A room list is a distribution group; it can't be created with -Type Security.")
		}
		typ = d.RoomList
	}
	alias := strings.TrimSpace(c.Str("Alias"))
	if c.Has("Alias") {
		if err := checkAlias(alias); err != nil {
			return err
		}
	} else if alias = deriveAlias(name); alias == "" {
		return invalidArg("No alias can be derived from the name %q; specify -Alias.", name)
	}
	g := &d.Recipient{ID: newGUID(), Org: c.Org.ID, Type: typ, Name: name, Alias: alias, DisplayName: name,
		SID: uniqueSID(c.S, c.Org), LegacyExchangeDN: newLegacyDN(alias), EmailAddressPolicyEnabled: true,
		MemberJoinRestriction: "Closed", MemberDepartRestriction: "Open", RequireSenderAuthenticationEnabled: true,
		WhenCreated: c.Now(), WhenChanged: c.Now()}
	if typ == d.MailUniversalSecurityGroup {
		g.MemberDepartRestriction = "Closed"
	}
	if err := setDisplayName(c, g); err != nil {
		return err
	}
	var primary string
	if c.Has("PrimarySmtpAddress") {
		if primary, err = checkSMTP(c.S, c.Org, "PrimarySmtpAddress", c.Str("PrimarySmtpAddress"), ""); err != nil {
			return err
		}
		g.EmailAddressPolicyEnabled = false
	} else if primary, err = generateAddress(c.S, c.Org, alias, ""); err != nil {
		return err
	}
	g.PrimarySmtpAddress, g.EmailAddresses = primary, []string{"SMTP:" + primary}
	if err := restrictionParams(c, g); err != nil {
		return err
	}
	if c.Has("RequireSenderAuthenticationEnabled") {
		g.RequireSenderAuthenticationEnabled = c.Bool("RequireSenderAuthenticationEnabled")
	}
	if c.Has("Description") {
		if err := checkText("Description", c.Str("Description"), 1024); err != nil {
			return err
		}
		g.Description = c.Str("Description")
	}
	owners := []*d.Recipient{c.Caller}
	if c.Has("ManagedBy") {
		if owners, err = resolveRefs(c, c.List("ManagedBy"), ownerKinds); err != nil {
			return err
		}
		if len(owners) == 0 {
			return invalidArg("A group must have at least one owner: -ManagedBy can't be empty.")
		}
	}
	for _, o := range owners {
		g.ManagedBy = append(g.ManagedBy, o.ID)
	}
	vals := c.List("Members")
	if len(vals) > 10000 {
		return invalidArg("-Members accepts at most 10,000 recipients; add the others with Add-DistributionGroupMember.")
	}
	members, err := resolveRefs(c, vals, memberKinds)
	if err != nil {
		return err
	}
	if c.Bool("CopyOwnerToMember") {
		for _, o := range owners {
			if !containsRecipient(members, o) {
				members = append(members, o)
			}
		}
	}
	for _, m := range members {
		if err := checkRoomListMember(g, m); err != nil {
			return err
		}
	}
	if c.Str("Notes") != "" {
		c.Warn("Actas doesn't store group notes yet; -Notes was ignored.")
	}
	if c.Str("OrganizationalUnit") != "" {
		c.Warn("Actas organizations have no organizational units; -OrganizationalUnit %q was ignored.", c.Str("OrganizationalUnit"))
	}
	if err := c.Tx.PutRecipient(g); err != nil {
		return fmt.Errorf("store group %q: %w", g.Name, err)
	}
	for _, m := range members {
		c.Tx.AddMember(g.ID, m.ID)
	}
	gid := g.ID
	c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return renderDistributionGroup(s, s.Recipient(gid)) })
	return nil
}

func containsRecipient(list []*d.Recipient, r *d.Recipient) bool {
	for _, x := range list {
		if x.ID == r.ID {
			return true
		}
	}
	return false
}

func getDistributionGroup(c *Call) error {
	var extra func(*d.Recipient) bool
	if c.Has("ManagedBy") {
		if c.Str("Identity") != "" {
			return paramSetConflict("Identity", "ManagedBy")
		}
		if c.Has("Anr") {
			return paramSetConflict("Anr", "ManagedBy")
		}
		owner, err := c.S.Resolve(c.Org.ID, c.Str("ManagedBy"), d.UsersOrGroups, true)
		if err != nil {
			return err
		}
		extra = func(r *d.Recipient) bool { return contains(r.ManagedBy, owner.ID) }
	}
	return emitRecipients(c, listSpec{kinds: d.MailGroups, schema: d.MailboxSchema, details: distributionGroupTypeDetails, extra: extra}, renderDistributionGroup)
}

func getGroup(c *Call) error {
	return emitRecipients(c, listSpec{kinds: d.AllGroups, schema: d.RecipientSchema, details: groupTypeDetails}, renderGroup)
}

// roomListConversionError is Exchange's text for a group that can't become a room list.
func roomListConversionError(g, m *d.Recipient) error {
	return &adminapi.Error{
		Message:  fmt.Sprintf("Group \"%s\" can't be converted to a room list. Room lists can only have room mailboxes or room lists as members. \"%s\" is not a room mailbox or a room list.", g.Name, m.Name),
		Category: "InvalidOperation", Exception: "InvalidOperationException", Target: g.Name,
	}
}

func setDistributionGroup(c *Call) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.MailGroups, false)
	if err != nil {
		return err
	}
	if err := checkGroupManager(c, g, "Set-DistributionGroup"); err != nil {
		return err
	}
	r := g.Clone()
	if err := setName(c, r); err != nil {
		return err
	}
	if err := setDisplayName(c, r); err != nil {
		return err
	}
	if err := setAddresses(c, r); err != nil {
		return err
	}
	if c.Bool("RoomList") && r.Type != d.RoomList {
		if r.Type == d.MailUniversalSecurityGroup {
			return invalidOp("Group \"%s\" can't be converted to a room list because it's a security group; room lists are distribution groups.", r.Name)
		}
		var members []*d.Recipient
		for _, id := range c.S.Members(r.ID) {
			if m := c.S.Recipient(id); m != nil {
				members = append(members, m)
			}
		}
		sortByName(members)
		for _, m := range members {
			if m.Type != d.RoomMailbox && m.Type != d.RoomList {
				return roomListConversionError(r, m)
			}
		}
		r.Type = d.RoomList
	}
	if err := restrictionParams(c, r); err != nil {
		return err
	}
	if c.Has("RequireSenderAuthenticationEnabled") {
		r.RequireSenderAuthenticationEnabled = c.Bool("RequireSenderAuthenticationEnabled")
	}
	if m, ok := c.Multi("ManagedBy"); ok {
		ids, err := applyLinks(c, r.ManagedBy, m, ownerKinds)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return invalidArg("A group must have at least one owner: -ManagedBy can't leave the group without owners.")
		}
		r.ManagedBy = ids
	}
	for i := 1; i <= 15; i++ {
		p := "CustomAttribute" + strconv.Itoa(i)
		if c.Has(p) {
			if err := checkText(p, c.Str(p), 1024); err != nil {
				return err
			}
			r.CustomAttributes[i-1] = c.Str(p)
		}
	}
	return saveChanged(c, g, r)
}

func removeDistributionGroup(c *Call) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.MailGroups, false)
	if err != nil {
		return err
	}
	if err := checkGroupManager(c, g, "Remove-DistributionGroup"); err != nil {
		return err
	}
	if err := keepAdministrator(c, g, "remove"); err != nil {
		return err
	}
	if err := removeReferences(c, g); err != nil {
		return err
	}
	c.Tx.DeleteRecipient(g.ID)
	return nil
}

func changeGroupMember(c *Call, add bool) error {
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.MailGroups, false)
	if err != nil {
		return err
	}
	m, err := c.S.Resolve(c.Org.ID, c.Str("Member"), memberKinds, true)
	if err != nil {
		return err
	}
	cmdlet := "Add-DistributionGroupMember"
	if !add {
		cmdlet = "Remove-DistributionGroupMember"
	}
	if err := checkGroupManager(c, g, cmdlet); err != nil {
		return err
	}
	isMember := c.S.IsMember(g.ID, m.ID)
	if !add {
		if !isMember {
			return &adminapi.Error{Message: fmt.Sprintf("The recipient \"%s\" isn't a member of the group \"%s\".", m.Name, g.Name),
				Category: "NotSpecified", Exception: "MemberNotFoundException", Target: m.Name}
		}
		c.Tx.RemoveMember(g.ID, m.ID)
		return nil
	}
	if isMember {
		return &adminapi.Error{Message: fmt.Sprintf("The recipient \"%s\" is already a member of the group \"%s\".", m.Name, g.Name),
			Category: "NotSpecified", Exception: "MemberAlreadyExistsException", Target: m.Name}
	}
	if m.ID == g.ID {
		return invalidArg("The group \"%s\" can't be a member of itself.", g.Name)
	}
	if contains(c.S.GroupsTransitive(g.ID), m.ID) {
		return invalidArg("Adding \"%s\" to \"%s\" would make group membership circular: \"%s\" is already a member of \"%s\", directly or through other groups.", m.Name, g.Name, g.Name, m.Name)
	}
	if err := checkRoomListMember(g, m); err != nil {
		return err
	}
	c.Tx.AddMember(g.ID, m.ID)
	return nil
}

func getDistributionGroupMember(c *Call) error {
	limit, err := resultLimit(c)
	if err != nil {
		return err
	}
	g, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.MailGroups, false)
	if err != nil {
		return err
	}
	var members []*d.Recipient
	for _, id := range c.S.Members(g.ID) {
		if m := c.S.Recipient(id); m != nil {
			members = append(members, m)
		}
	}
	sortByName(members)
	for _, m := range limitResults(c, members, limit) {
		c.Emit(renderReducedRecipient(c.S, m))
	}
	return nil
}
