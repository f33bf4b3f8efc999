package cmdlet

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
)

// seedGroupOrg creates mailboxes for the group tests.
func seedGroupOrg(o *testOrg) {
	o.t.Helper()
	seedMailboxes(o) // Kim Akers (kim), Room Everest (everest), Help Desk (helpdesk)
	o.ok("New-Mailbox", map[string]any{"Name": "Room Kilimanjaro", "Alias": "kilimanjaro", "Room": true})
	o.ok("New-Mailbox", map[string]any{"Name": "Lee Gu", "Alias": "leeg", "Shared": true})
}

func TestNewDistributionGroup(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)

	tests := []struct {
		name        string
		params      map[string]any
		want        map[string]any
		members     []string
		managedBy   []string
		typeDetails string
	}{
		{"defaults", map[string]any{"Name": "Sales Team"},
			map[string]any{"Alias": "SalesTeam", "DisplayName": "Sales Team", "PrimarySmtpAddress": "SalesTeam@contoso.test", "GroupType": "Universal",
				"RecipientType": "MailUniversalDistributionGroup", "MemberJoinRestriction": "Closed", "MemberDepartRestriction": "Open",
				"RequireSenderAuthenticationEnabled": true, "Identity": "Sales Team", "EmailAddressPolicyEnabled": true,
				"DistinguishedName": "CN=Sales Team,OU=contoso.test,OU=Actas Organizations,DC=actas,DC=local"},
			nil, []string{"Administrator"}, d.MailUniversalDistributionGroup},
		{"security", map[string]any{"Name": "Sync Users", "Type": "security", "Members": []any{"kim", "leeg"}, "MemberJoinRestriction": "ApprovalRequired"},
			map[string]any{"GroupType": "Universal, SecurityEnabled", "RecipientType": "MailUniversalSecurityGroup", "MemberJoinRestriction": "ApprovalRequired",
				"MemberDepartRestriction": "Closed"},
			[]string{"Kim Akers", "Lee Gu"}, []string{"Administrator"}, d.MailUniversalSecurityGroup},
		{"explicit owners and settings", map[string]any{"Name": "Marketing", "Alias": "mkt", "DisplayName": "Marketing Dept", "PrimarySmtpAddress": "marketing@contoso.example",
			"ManagedBy": []any{"kim", "Sync Users"}, "MemberJoinRestriction": "open", "MemberDepartRestriction": "Closed",
			"RequireSenderAuthenticationEnabled": false, "Description": "All of marketing", "Members": "helpdesk"},
			map[string]any{"Alias": "mkt", "DisplayName": "Marketing Dept", "PrimarySmtpAddress": "marketing@contoso.example", "EmailAddressPolicyEnabled": false,
				"MemberJoinRestriction": "Open", "MemberDepartRestriction": "Closed", "RequireSenderAuthenticationEnabled": false, "Description": []any{"All of marketing"}},
			[]string{"Help Desk"}, []string{"Kim Akers", "Sync Users"}, d.MailUniversalDistributionGroup},
		{"copy owner to member", map[string]any{"Name": "Owners Too", "ManagedBy": "kim", "Members": "leeg", "CopyOwnerToMember": true},
			nil, []string{"Kim Akers", "Lee Gu"}, []string{"Kim Akers"}, d.MailUniversalDistributionGroup},
		{"room list", map[string]any{"Name": "Building 1 Rooms", "RoomList": true, "Members": []any{"everest", "kilimanjaro"}},
			map[string]any{"RecipientTypeDetails": "RoomList", "RecipientType": "MailUniversalDistributionGroup"},
			[]string{"Room Everest", "Room Kilimanjaro"}, []string{"Administrator"}, d.RoomList},
		{"nested groups", map[string]any{"Name": "All Staff", "Members": []any{"Sales Team", "Sync Users", "kim", "KIM"}},
			nil, []string{"Kim Akers", "Sales Team", "Sync Users"}, []string{"Administrator"}, d.MailUniversalDistributionGroup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := o.ok("New-DistributionGroup", tc.params)
			if len(objs) != 1 || objs[0].Type != "DistributionGroup" || !slices.Equal(objs[0].View, []string{"Name", "DisplayName", "GroupType", "PrimarySmtpAddress"}) {
				t.Fatalf("objects %+v", objs)
			}
			g := objs[0]
			for k, v := range tc.want {
				if got := propOf(t, g, k); fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("%s = %#v, want %#v", k, got, v)
				}
			}
			if got := propStrings(t, propOf(t, g, "ManagedBy")); !slices.Equal(got, tc.managedBy) {
				t.Errorf("ManagedBy = %v, want %v", got, tc.managedBy)
			}
			if _, has := g.Get("Members"); has {
				t.Errorf("Get-DistributionGroup output has a member list")
			}
			if got := propOf(t, g, "RecipientTypeDetails"); got != tc.typeDetails {
				t.Errorf("RecipientTypeDetails = %v", got)
			}
			members := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": propOf(t, g, "Name")}))
			if !slices.Equal(members, tc.members) && !(len(members) == 0 && len(tc.members) == 0) {
				t.Errorf("members = %v, want %v", members, tc.members)
			}
		})
	}

	failures := []struct {
		name      string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"duplicate name of a mailbox", map[string]any{"Name": "kim akers"}, "ADObjectAlreadyExistsException", []string{`"kim akers" is already being used`, "mailbox"}},
		{"duplicate name of a group", map[string]any{"Name": "SALES TEAM"}, "ADObjectAlreadyExistsException", []string{"group"}},
		{"address taken", map[string]any{"Name": "Dup", "PrimarySmtpAddress": "kim@contoso.test"}, "ProxyAddressExistsException", nil},
		{"unknown member", map[string]any{"Name": "New One", "Members": []any{"kim", "ghost"}}, "ManagementObjectNotFoundException",
			[]string{`Couldn't find object "ghost". Please make sure that it was spelled correctly or specify a different object.`}},
		{"role group member", map[string]any{"Name": "New One", "Members": "Organization Management"}, "ManagementObjectNotFoundException", []string{"Couldn't find object"}},
		{"unknown owner", map[string]any{"Name": "New One", "ManagedBy": "ghost"}, "ManagementObjectNotFoundException", []string{`Couldn't find object "ghost"`}},
		{"distribution group as owner", map[string]any{"Name": "New One", "ManagedBy": "Sales Team"}, "ManagementObjectNotFoundException", nil},
		{"no owner", map[string]any{"Name": "New One", "ManagedBy": []any{}}, "ArgumentException", []string{"at least one owner"}},
		{"open security group", map[string]any{"Name": "New One", "Type": "Security", "MemberJoinRestriction": "Open"}, "ArgumentException", []string{"can't be Open"}},
		{"open depart security group", map[string]any{"Name": "New One", "Type": "Security", "MemberDepartRestriction": "Open"}, "ArgumentException", []string{"can't be Open"}},
		{"bad type", map[string]any{"Name": "New One", "Type": "Dynamic"}, "ParameterBindingException", []string{"Distribution, Security"}},
		{"bad join restriction", map[string]any{"Name": "New One", "MemberJoinRestriction": "Sometimes"}, "ParameterBindingException", []string{"Open, Closed, ApprovalRequired"}},
		{"approval to leave", map[string]any{"Name": "New One", "MemberDepartRestriction": "ApprovalRequired"}, "ParameterBindingValidationException", nil},
		{"security room list", map[string]any{"Name": "New One", "RoomList": true, "Type": "Security"}, "ArgumentException", []string{"room list"}},
		{"room list with a user", map[string]any{"Name": "New One", "RoomList": true, "Members": []any{"everest", "kim"}}, "InvalidOperationException",
			[]string{"Room lists can only have room mailboxes or room lists as members", `"Kim Akers"`}},
		{"room list copying its owner", map[string]any{"Name": "New One", "RoomList": true, "CopyOwnerToMember": true}, "InvalidOperationException", []string{`"Administrator"`}},
		{"bad alias", map[string]any{"Name": "New One", "Alias": "a b"}, "DataValidationException", nil},
		{"name not derivable to an alias", map[string]any{"Name": "(((  )))"}, "ArgumentException", []string{"-Alias"}},
	}
	for _, tc := range failures {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			o.fails(o.adminID, "New-DistributionGroup", tc.params, tc.exception, tc.msg...)
			if o.recipient("New One") != nil {
				t.Errorf("a failed New-DistributionGroup created the group")
			}
		})
	}

	// Warnings for accepted-but-ignored parameters.
	resp := o.run("New-DistributionGroup", map[string]any{"Name": "Noted", "Notes": "x", "OrganizationalUnit": "contoso.test/Groups"})
	if resp.Error != nil || len(resp.Warnings) != 2 {
		t.Fatalf("resp %+v", resp)
	}

	o.reopen()
	if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Marketing"})); !slices.Equal(got, []string{"Help Desk"}) {
		t.Errorf("after reopen: %v", got)
	}
	g := o.ok("Get-DistributionGroup", map[string]any{"Identity": "mkt"})
	if got := propStrings(t, propOf(t, g[0], "ManagedBy")); !slices.Equal(got, []string{"Kim Akers", "Sync Users"}) {
		t.Errorf("ManagedBy after reopen: %v", got)
	}
}

func TestGroupOwnerChecks(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)
	// helpdesk admins hold Distribution Groups (organization-wide) but not the bypass right.
	dgAdmin := o.addUser("DG Admin", map[string]string{"Distribution Groups": d.ScopeOrganization})
	// a membership admin holds Security Group Creation and Membership.
	sgAdmin := o.addUser("SG Admin", map[string]string{"Security Group Creation and Membership": d.ScopeOrganization})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "Alias": "sales", "ManagedBy": "kim", "Members": "leeg"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Owners", "Type": "Security", "Members": "DG Admin"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Owned By Group", "ManagedBy": "Owners"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Mine", "ManagedBy": "DG Admin"})

	notManager := "You don't have sufficient permissions. This operation can only be performed by a manager of the group."
	cases := []struct {
		name      string
		caller    string
		cmdlet    string
		params    map[string]any
		exception string // "" = success
		msg       string
	}{
		{"non-owner adds", dgAdmin, "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "helpdesk"}, "OperationRequiresGroupManagerException", notManager},
		{"non-owner removes", dgAdmin, "Remove-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "leeg"}, "OperationRequiresGroupManagerException", notManager},
		{"non-owner changes", dgAdmin, "Set-DistributionGroup", map[string]any{"Identity": "Sales", "DisplayName": "x"}, "OperationRequiresGroupManagerException", notManager},
		{"non-owner deletes", dgAdmin, "Remove-DistributionGroup", map[string]any{"Identity": "Sales"}, "OperationRequiresGroupManagerException", notManager},
		{"bypass without the right", dgAdmin, "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "helpdesk", "BypassSecurityGroupManagerCheck": true},
			"UnauthorizedAccessException", "BypassSecurityGroupManagerCheck"},
		{"bypass without the right even as owner", dgAdmin, "Add-DistributionGroupMember", map[string]any{"Identity": "Mine", "Member": "helpdesk", "BypassSecurityGroupManagerCheck": true},
			"UnauthorizedAccessException", "BypassSecurityGroupManagerCheck"},
		{"owner adds", dgAdmin, "Add-DistributionGroupMember", map[string]any{"Identity": "Mine", "Member": "helpdesk"}, "", ""},
		{"owner through a security group", dgAdmin, "Add-DistributionGroupMember", map[string]any{"Identity": "Owned By Group", "Member": "kim"}, "", ""},
		{"admin without bypass", o.adminID, "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "helpdesk"}, "OperationRequiresGroupManagerException", notManager},
		{"admin with bypass", o.adminID, "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "helpdesk", "BypassSecurityGroupManagerCheck": true}, "", ""},
		{"membership admin with bypass", sgAdmin, "Remove-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "helpdesk", "BypassSecurityGroupManagerCheck": true}, "", ""},
		{"membership admin can't Set", sgAdmin, "Set-DistributionGroup", map[string]any{"Identity": "Sales", "DisplayName": "x", "BypassSecurityGroupManagerCheck": true}, "CommandNotFoundException", "not recognized"},
		{"admin changes with bypass", o.adminID, "Set-DistributionGroup", map[string]any{"Identity": "Sales", "DisplayName": "Sales Team", "BypassSecurityGroupManagerCheck": true}, "", ""},
		{"owner deletes", dgAdmin, "Remove-DistributionGroup", map[string]any{"Identity": "Mine"}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.exception != "" {
				o.fails(tc.caller, tc.cmdlet, tc.params, tc.exception, tc.msg)
				return
			}
			if resp := o.runAs(tc.caller, tc.cmdlet, tc.params); resp.Error != nil {
				t.Fatalf("%s: %s (%s)", tc.cmdlet, resp.Error.Message, resp.Error.Exception)
			}
		})
	}
	if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Sales"})); !slices.Equal(got, []string{"Lee Gu"}) {
		t.Errorf("Sales members = %v", got)
	}
	if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Owned By Group"})); !slices.Equal(got, []string{"Kim Akers"}) {
		t.Errorf("Owned By Group members = %v", got)
	}
	if r := o.recipient("Sales"); r.DisplayName != "Sales Team" {
		t.Errorf("Sales DisplayName = %q", r.DisplayName)
	}
	if o.recipient("Mine") != nil {
		t.Errorf("Mine wasn't removed")
	}

	// Write scope: MyDistributionGroups lets a user manage only the groups it owns.
	mine := o.addUser("Group Owner", map[string]string{"Distribution Groups": d.ScopeMyDistributionGroups})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Theirs", "ManagedBy": "Group Owner"})
	if resp := o.runAs(mine, "Add-DistributionGroupMember", map[string]any{"Identity": "Theirs", "Member": "kim"}); resp.Error != nil {
		t.Fatalf("owner with MyDistributionGroups: %s", resp.Error.Message)
	}
	o.fails(mine, "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "kim"}, "OperationRequiresWriteScopeException", "write scope")
}

func TestGroupMembership(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "Alias": "sales", "Members": "kim"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Building 1", "Alias": "b1", "RoomList": true})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Campus", "RoomList": true})

	for _, tc := range []struct{ group, member string }{
		{"Sales", "leeg"}, {"Sales", "Room Everest"}, {"b1", "everest"}, {"Campus", "b1"}, {"sales@contoso.test", "helpdesk@contoso.test"},
	} {
		if resp := o.run("Add-DistributionGroupMember", map[string]any{"Identity": tc.group, "Member": tc.member}); resp.Error != nil || len(resp.Objects) != 0 {
			t.Fatalf("Add %s to %s: %+v", tc.member, tc.group, resp.Error)
		}
	}
	failures := []struct {
		name      string
		cmdlet    string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"already a member", "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "kim@contoso.test"}, "MemberAlreadyExistsException",
			[]string{`The recipient "Kim Akers" is already a member of the group "Sales".`}},
		{"not a member", "Remove-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "kilimanjaro"}, "MemberNotFoundException",
			[]string{`The recipient "Room Kilimanjaro" isn't a member of the group "Sales".`}},
		{"user into a room list", "Add-DistributionGroupMember", map[string]any{"Identity": "b1", "Member": "kim"}, "InvalidOperationException",
			[]string{"Room lists can only have room mailboxes or room lists as members"}},
		{"shared mailbox into a room list", "Add-DistributionGroupMember", map[string]any{"Identity": "b1", "Member": "helpdesk"}, "InvalidOperationException", nil},
		{"group into a room list", "Add-DistributionGroupMember", map[string]any{"Identity": "Campus", "Member": "Sales"}, "InvalidOperationException", nil},
		{"group into itself", "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "Sales"}, "ArgumentException", []string{"member of itself"}},
		{"circular nesting", "Add-DistributionGroupMember", map[string]any{"Identity": "b1", "Member": "Campus"}, "ArgumentException", []string{"circular"}},
		{"role group as the group", "Add-DistributionGroupMember", map[string]any{"Identity": "Organization Management", "Member": "kim"}, "ManagementObjectNotFoundException",
			[]string{fmt.Sprintf("The operation couldn't be performed because object 'Organization Management' couldn't be found on '%s'.", d.ServerName)}},
		{"role group as the member", "Add-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "Organization Management"}, "ManagementObjectNotFoundException",
			[]string{`Couldn't find object "Organization Management"`}},
		{"unknown group", "Remove-DistributionGroupMember", map[string]any{"Identity": "ghost", "Member": "kim"}, "ManagementObjectNotFoundException", []string{"object 'ghost'"}},
		{"unknown member", "Remove-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "ghost"}, "ManagementObjectNotFoundException", []string{`Couldn't find object "ghost"`}},
		{"member is required", "Add-DistributionGroupMember", map[string]any{"Identity": "Sales"}, "ParameterBindingException", []string{"Member"}},
		{"mailbox as the group", "Add-DistributionGroupMember", map[string]any{"Identity": "kim", "Member": "leeg"}, "ManagementObjectNotFoundException", nil},
		{"role group members via Get-DistributionGroupMember", "Get-DistributionGroupMember", map[string]any{"Identity": "Organization Management"}, "ManagementObjectNotFoundException", nil},
	}
	for _, tc := range failures {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			o.fails(o.adminID, tc.cmdlet, tc.params, tc.exception, tc.msg...)
		})
	}

	members := o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Sales"})
	if got := objNames(members); !slices.Equal(got, []string{"Help Desk", "Kim Akers", "Lee Gu", "Room Everest"}) {
		t.Fatalf("Sales members = %v", got)
	}
	for _, m := range members {
		if m.Type != "ReducedRecipient" || !slices.Equal(m.View, []string{"Name", "RecipientType"}) {
			t.Errorf("member object %q: type %q view %v", propOf(t, m, "Name"), m.Type, m.View)
		}
		for _, p := range []string{"Alias", "RecipientType", "RecipientTypeDetails", "PrimarySmtpAddress", "DisplayName", "DistinguishedName", "Guid", "Identity"} {
			propOf(t, m, p)
		}
	}
	if got := propOf(t, members[3], "RecipientTypeDetails"); got != "RoomMailbox" {
		t.Errorf("Room Everest RecipientTypeDetails = %v", got)
	}
	resp := o.run("Get-DistributionGroupMember", map[string]any{"Identity": "Sales", "ResultSize": float64(2)})
	if len(resp.Objects) != 2 || len(resp.Warnings) != 1 {
		t.Errorf("ResultSize 2: %d objects, warnings %q", len(resp.Objects), resp.Warnings)
	}
	// Direct members only.
	if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Campus"})); !slices.Equal(got, []string{"Building 1"}) {
		t.Errorf("Campus members = %v", got)
	}

	o.ok("Remove-DistributionGroupMember", map[string]any{"Identity": "Sales", "Member": "Room Everest"})
	o.reopen()
	if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Sales"})); !slices.Equal(got, []string{"Help Desk", "Kim Akers", "Lee Gu"}) {
		t.Errorf("after reopen: %v", got)
	}
	// Get-Group shows the member names.
	g := o.ok("Get-Group", map[string]any{"Identity": "Sales"})
	if got := propStrings(t, propOf(t, g[0], "Members")); !slices.Equal(got, []string{"Help Desk", "Kim Akers", "Lee Gu"}) {
		t.Errorf("Get-Group Members = %v", got)
	}
}

func TestSetDistributionGroup(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Rooms A", "Alias": "roomsa", "Members": []any{"everest", "kilimanjaro"}})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Mixed", "Members": []any{"everest", "kim", "leeg"}})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sec", "Type": "Security"})

	t.Run("room list conversion", func(t *testing.T) {
		o.ok("Set-DistributionGroup", map[string]any{"Identity": "roomsa", "RoomList": true})
		if r := o.recipient("Rooms A"); r.Type != d.RoomList {
			t.Errorf("type = %s", r.Type)
		}
		o.fails(o.adminID, "Set-DistributionGroup", map[string]any{"Identity": "Mixed", "RoomList": true}, "InvalidOperationException",
			`Group "Mixed" can't be converted to a room list. Room lists can only have room mailboxes or room lists as members. "Kim Akers" is not a room mailbox or a room list.`)
		o.fails(o.adminID, "Set-DistributionGroup", map[string]any{"Identity": "Sec", "RoomList": true}, "InvalidOperationException", "security group")
		if r := o.recipient("Mixed"); r.Type != d.MailUniversalDistributionGroup {
			t.Errorf("Mixed type = %s", r.Type)
		}
	})
	t.Run("settings", func(t *testing.T) {
		o.ok("Set-DistributionGroup", map[string]any{"Identity": "Mixed", "Name": "Mixed Bag", "DisplayName": "Mixed bag", "Alias": "mixed",
			"MemberJoinRestriction": "ApprovalRequired", "MemberDepartRestriction": "Closed", "RequireSenderAuthenticationEnabled": false,
			"ManagedBy": map[string]any{"Add": []any{"kim", "Sec"}}, "CustomAttribute2": "x"})
		g := o.ok("Get-DistributionGroup", map[string]any{"Identity": "Mixed Bag"})[0]
		for k, v := range map[string]any{"DisplayName": "Mixed bag", "Alias": "mixed", "PrimarySmtpAddress": "mixed@contoso.test",
			"MemberJoinRestriction": "ApprovalRequired", "MemberDepartRestriction": "Closed", "RequireSenderAuthenticationEnabled": false, "CustomAttribute2": "x"} {
			if got := propOf(t, g, k); got != v {
				t.Errorf("%s = %#v, want %#v", k, got, v)
			}
		}
		if got := propStrings(t, propOf(t, g, "ManagedBy")); !slices.Equal(got, []string{"Administrator", "Kim Akers", "Sec"}) {
			t.Errorf("ManagedBy = %v", got)
		}
		// The old generated address differs only in case: it is the same address.
		if got := propStrings(t, propOf(t, g, "EmailAddresses")); !slices.Equal(got, []string{"SMTP:mixed@contoso.test"}) {
			t.Errorf("EmailAddresses = %v", got)
		}
		o.ok("Set-DistributionGroup", map[string]any{"Identity": "mixed", "ManagedBy": []any{"kim"}})
		if got := propStrings(t, propOf(t, o.ok("Get-DistributionGroup", map[string]any{"Identity": "mixed"})[0], "ManagedBy")); !slices.Equal(got, []string{"Kim Akers"}) {
			t.Errorf("ManagedBy = %v", got)
		}
		resp := o.run("Set-DistributionGroup", map[string]any{"Identity": "mixed", "DisplayName": "Mixed bag", "BypassSecurityGroupManagerCheck": true})
		if resp.Error != nil || len(resp.Warnings) != 1 || resp.Warnings[0] != "The command completed successfully but no settings of 'Mixed Bag' have been modified." {
			t.Errorf("unchanged: %+v", resp)
		}
	})
	failures := []struct {
		name      string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"unknown", map[string]any{"Identity": "ghost", "DisplayName": "x"}, "ManagementObjectNotFoundException", []string{"'ghost'"}},
		{"role group", map[string]any{"Identity": "Organization Management", "DisplayName": "x"}, "ManagementObjectNotFoundException", nil},
		{"no owners left", map[string]any{"Identity": "Sec", "ManagedBy": map[string]any{"Remove": "admin"}}, "ArgumentException", []string{"at least one owner"}},
		{"security group open to join", map[string]any{"Identity": "Sec", "MemberJoinRestriction": "Open"}, "ArgumentException", []string{"can't be Open"}},
		{"owner must be a principal", map[string]any{"Identity": "Sec", "ManagedBy": map[string]any{"Add": "Rooms A"}}, "ManagementObjectNotFoundException", nil},
		{"rename onto a mailbox", map[string]any{"Identity": "Sec", "Name": "Kim Akers"}, "ADObjectAlreadyExistsException", nil},
		{"address of a mailbox", map[string]any{"Identity": "Sec", "PrimarySmtpAddress": "kim@contoso.test"}, "ProxyAddressExistsException", nil},
	}
	for _, tc := range failures {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			o.fails(o.adminID, "Set-DistributionGroup", tc.params, tc.exception, tc.msg...)
		})
	}
	o.reopen()
	if r := o.recipient("Mixed Bag"); r == nil || r.MemberJoinRestriction != "ApprovalRequired" || r.RequireSenderAuthenticationEnabled {
		t.Errorf("after reopen: %+v", r)
	}
	if r := o.recipient("Rooms A"); r.Type != d.RoomList {
		t.Errorf("Rooms A after reopen: %s", r.Type)
	}
}

func TestGetGroups(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "Members": "kim", "ManagedBy": "kim"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sec", "Type": "Security", "Members": "leeg"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Building 1", "RoomList": true})

	var salesDN, kimDN string
	_ = o.dir.Read(func(s *d.State) error {
		salesDN, kimDN = s.DN(o.recipient("Sales")), s.DN(o.recipient("Kim Akers"))
		return nil
	})
	dg := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"all mail groups, no role groups", nil, []string{"Building 1", "Sales", "Sec"}},
		{"by alias", map[string]any{"Identity": "sec"}, []string{"Sec"}},
		{"wildcard", map[string]any{"Identity": "S*"}, []string{"Sales", "Sec"}},
		{"type details", map[string]any{"RecipientTypeDetails": "RoomList"}, []string{"Building 1"}},
		{"managed by", map[string]any{"ManagedBy": "kim"}, []string{"Sales"}},
		{"filter on restriction", map[string]any{"Filter": "MemberDepartRestriction -eq 'Closed'"}, []string{"Sec"}},
		{"filter on links by DN", map[string]any{"Filter": fmt.Sprintf("Members -eq '%s' -or ManagedBy -eq '%s'", kimDN, kimDN)}, []string{"Sales"}},
		{"anr", map[string]any{"Anr": "bu"}, []string{"Building 1"}},
	}
	for _, tc := range dg {
		t.Run("Get-DistributionGroup/"+tc.name, func(t *testing.T) {
			if got := objNames(o.ok("Get-DistributionGroup", tc.params)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	o.fails(o.adminID, "Get-DistributionGroup", map[string]any{"Identity": "Organization Management"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Get-DistributionGroup", map[string]any{"Identity": "Sales", "ManagedBy": "kim"}, "ParameterBindingException", "Parameter set")
	o.fails(o.adminID, "Get-DistributionGroup", map[string]any{"ManagedBy": "ghost"}, "ManagementObjectNotFoundException", `Couldn't find object "ghost"`)
	o.fails(o.adminID, "Get-DistributionGroup", map[string]any{"RecipientTypeDetails": "UserMailbox"}, "ParameterBindingValidationException")
	o.fails(o.adminID, "Get-DistributionGroup", map[string]any{"Filter": "Department -eq 'x'"}, "ParameterBindingException", "is not a recognized filterable property")

	g := o.ok("Get-DistributionGroup", map[string]any{"Identity": "Sales"})[0]
	for _, p := range []string{"Name", "DisplayName", "Alias", "DistinguishedName", "Guid", "Identity", "GroupType", "ManagedBy", "MemberJoinRestriction",
		"MemberDepartRestriction", "PrimarySmtpAddress", "EmailAddresses", "RecipientTypeDetails", "RequireSenderAuthenticationEnabled", "WhenCreated"} {
		propOf(t, g, p)
	}
	if propOf(t, g, "DistinguishedName") != salesDN || propOf(t, g, "Identity") != "Sales" || propOf(t, g, "Guid") != o.recipient("Sales").ID {
		t.Errorf("identity properties: %v %v %v", propOf(t, g, "DistinguishedName"), propOf(t, g, "Identity"), propOf(t, g, "Guid"))
	}

	groups := o.ok("Get-Group", nil)
	if got := objNames(groups); !slices.Equal(got, []string{"Building 1", "Organization Management", "Sales", "Sec"}) {
		t.Fatalf("Get-Group = %v", got)
	}
	for _, g := range groups {
		if g.Type != "Group" || !slices.Equal(g.View, []string{"Name", "DisplayName", "GroupType", "PrimarySmtpAddress"}) {
			t.Errorf("%v: type %q view %v", propOf(t, g, "Name"), g.Type, g.View)
		}
	}
	om := groups[1]
	if propOf(t, om, "RecipientTypeDetails") != "RoleGroup" || propOf(t, om, "GroupType") != "Universal, SecurityEnabled" ||
		!slices.Equal(propStrings(t, propOf(t, om, "Members")), []string{"Administrator"}) ||
		!strings.Contains(propOf(t, om, "DistinguishedName").(string), "OU=Microsoft Exchange Security Groups") {
		t.Errorf("Organization Management = %+v", om.Props)
	}
	if got := objNames(o.ok("Get-Group", map[string]any{"RecipientTypeDetails": "RoleGroup"})); !slices.Equal(got, []string{"Organization Management"}) {
		t.Errorf("Get-Group -RecipientTypeDetails RoleGroup = %v", got)
	}
	if got := objNames(o.ok("Get-Group", map[string]any{"Identity": "Organization Management"})); !slices.Equal(got, []string{"Organization Management"}) {
		t.Errorf("Get-Group role group = %v", got)
	}
	if got := objNames(o.ok("Get-Group", map[string]any{"Filter": fmt.Sprintf("Members -eq '%s'", kimDN)})); !slices.Equal(got, []string{"Sales"}) {
		t.Errorf("Get-Group -Filter Members = %v", got)
	}
	o.fails(o.adminID, "Get-Group", map[string]any{"Identity": "kim"}, "ManagementObjectNotFoundException")
}

func TestRemoveDistributionGroup(t *testing.T) {
	o := newTestOrg(t)
	seedGroupOrg(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Owners", "Type": "Security", "Members": "kim"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "ManagedBy": []any{"admin", "Owners"}, "Members": []any{"Owners", "leeg"}})
	o.ok("New-DistributionGroup", map[string]any{"Name": "All", "Members": "Sales"})
	o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "GrantSendOnBehalfTo": "Owners"})

	o.fails(o.adminID, "Remove-DistributionGroup", map[string]any{"Identity": "ghost"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Remove-DistributionGroup", map[string]any{"Identity": "Organization Management"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Remove-DistributionGroup", map[string]any{"Identity": "kim"}, "ManagementObjectNotFoundException")

	o.ok("Remove-DistributionGroup", map[string]any{"Identity": "Owners"})
	check := func() {
		t.Helper()
		if o.recipient("Owners") != nil {
			t.Fatal("Owners still exists")
		}
		if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Sales"})); !slices.Equal(got, []string{"Lee Gu"}) {
			t.Errorf("Sales members = %v", got)
		}
		if r := o.recipient("Sales"); len(r.ManagedBy) != 1 {
			t.Errorf("Sales ManagedBy = %v", r.ManagedBy)
		}
		if r := o.recipient("Help Desk"); len(r.GrantSendOnBehalfTo) != 0 {
			t.Errorf("Help Desk GrantSendOnBehalfTo = %v", r.GrantSendOnBehalfTo)
		}
		o.fails(o.adminID, "Get-Recipient", map[string]any{"Identity": "Owners@contoso.test"}, "ManagementObjectNotFoundException")
	}
	check()
	o.ok("Remove-DistributionGroup", map[string]any{"Identity": "Sales"})
	if got := o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "All"}); len(got) != 0 {
		t.Errorf("All members = %v", objNames(got))
	}
	o.reopen()
	if o.recipient("Sales") != nil || o.recipient("Owners") != nil {
		t.Fatal("removed groups came back")
	}
	if got := o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "All"}); len(got) != 0 {
		t.Errorf("All members after reopen = %v", objNames(got))
	}
	// The name is free again.
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales"})
}
