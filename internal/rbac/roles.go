// Package rbac is Exchange's role-based access control over the directory:
// the built-in roles and role groups, which cmdlets a caller may run and on
// which recipients, and the one impersonation decision every front end asks.
package rbac

import (
	"sort"
	"strings"
)

// Role is a built-in management role: a named set of cmdlets (its role
// entries) and its implicit recipient write scope.
type Role struct {
	Name          string
	RoleType      string
	Description   string
	ImplicitWrite string // "Organization" or "None"
	Cmdlets       []string
}

// ApplicationImpersonation is the role that allows the EWS ExchangeImpersonation header.
const ApplicationImpersonation = "ApplicationImpersonation"

var builtinRoles = []*Role{
	{Name: ApplicationImpersonation, RoleType: "ApplicationImpersonation", ImplicitWrite: "Organization",
		Description: "This role enables applications to impersonate users in an organization in order to perform tasks on behalf of the user.",
		Cmdlets:     []string{"Impersonate-ExchangeUser"}},
	{Name: "Mail Recipients", RoleType: "MailRecipients", ImplicitWrite: "Organization",
		Description: "This role enables administrators to manage existing mailboxes, mail users, and mail contacts.",
		Cmdlets: []string{"Get-Mailbox", "Set-Mailbox", "Get-Recipient", "Get-User", "Set-User",
			"Get-MailboxPermission", "Add-MailboxPermission", "Remove-MailboxPermission",
			"Get-MailboxFolderPermission", "Add-MailboxFolderPermission", "Set-MailboxFolderPermission", "Remove-MailboxFolderPermission",
			"Get-RecipientPermission", "Add-RecipientPermission", "Remove-RecipientPermission",
			"Get-CalendarProcessing", "Set-CalendarProcessing", "Get-CalendarProcessingLog",
			"Get-MailboxCalendarConfiguration", "Set-MailboxCalendarConfiguration"}},
	{Name: "Mail Recipient Creation", RoleType: "MailRecipientCreation", ImplicitWrite: "Organization",
		Description: "This role enables administrators to create mailboxes, mail users, and mail contacts.",
		Cmdlets:     []string{"New-Mailbox", "Remove-Mailbox", "Get-Mailbox", "Get-Recipient", "Get-User"}},
	{Name: "Distribution Groups", RoleType: "DistributionGroups", ImplicitWrite: "Organization",
		Description: "This role enables administrators to create and manage distribution groups and distribution group members.",
		Cmdlets: []string{"New-DistributionGroup", "Get-DistributionGroup", "Set-DistributionGroup", "Remove-DistributionGroup",
			"Add-DistributionGroupMember", "Remove-DistributionGroupMember", "Get-DistributionGroupMember", "Get-Group", "Get-Recipient"}},
	{Name: "Security Group Creation and Membership", RoleType: "SecurityGroupCreationAndMembership", ImplicitWrite: "Organization",
		Description: "This role enables administrators to create and maintain security groups and their membership, bypassing the group manager check.",
		Cmdlets: []string{"New-DistributionGroup", "Remove-DistributionGroup", "Add-DistributionGroupMember", "Remove-DistributionGroupMember",
			"Get-DistributionGroup", "Get-DistributionGroupMember", "Get-Group", "BypassSecurityGroupManagerCheck"}},
	{Name: "Role Management", RoleType: "RoleManagement", ImplicitWrite: "Organization",
		Description: "This role enables administrators to manage management role groups, management roles, role assignments and management scopes.",
		Cmdlets: []string{"Get-ManagementRole", "New-ManagementScope", "Get-ManagementScope", "Set-ManagementScope", "Remove-ManagementScope",
			"New-ManagementRoleAssignment", "Get-ManagementRoleAssignment", "Set-ManagementRoleAssignment", "Remove-ManagementRoleAssignment",
			"New-RoleGroup", "Get-RoleGroup", "Remove-RoleGroup", "Add-RoleGroupMember", "Remove-RoleGroupMember", "Get-RoleGroupMember",
			"Test-ApplicationImpersonation", "Get-Group", "BypassSecurityGroupManagerCheck"}},
	{Name: "Organization Client Access", RoleType: "OrganizationClientAccess", ImplicitWrite: "Organization",
		Description: "This role enables administrators to manage client access settings, including EWS throttling policies.",
		Cmdlets: []string{"New-ThrottlingPolicy", "Set-ThrottlingPolicy", "Get-ThrottlingPolicy", "Remove-ThrottlingPolicy",
			"Set-ThrottlingPolicyAssociation", "Get-ThrottlingPolicyAssociation"}},
	{Name: "View-Only Recipients", RoleType: "ViewOnlyRecipients", ImplicitWrite: "None",
		Description: "This role enables administrators to view recipient configuration.",
		Cmdlets: []string{"Get-Mailbox", "Get-Recipient", "Get-User", "Get-DistributionGroup", "Get-DistributionGroupMember", "Get-Group",
			"Get-MailboxPermission", "Get-MailboxFolderPermission", "Get-RecipientPermission", "Get-CalendarProcessing",
			"Get-CalendarProcessingLog", "Get-MailboxCalendarConfiguration"}},
	{Name: "View-Only Configuration", RoleType: "ViewOnlyConfiguration", ImplicitWrite: "None",
		Description: "This role enables administrators to view organization configuration, including RBAC.",
		Cmdlets: []string{"Get-ManagementRole", "Get-ManagementScope", "Get-ManagementRoleAssignment", "Get-RoleGroup", "Get-RoleGroupMember",
			"Test-ApplicationImpersonation"}},
}

var roleByName = func() map[string]*Role {
	m := map[string]*Role{}
	for _, r := range builtinRoles {
		m[strings.ToLower(r.Name)] = r
	}
	return m
}()

// Roles returns every built-in role ordered by name.
func Roles() []*Role {
	out := append([]*Role(nil), builtinRoles...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RoleByName finds a role by case-insensitive name.
func RoleByName(name string) *Role { return roleByName[strings.ToLower(strings.TrimSpace(name))] }

// Has reports whether the role has an entry for a cmdlet.
func (r *Role) Has(cmdlet string) bool {
	for _, c := range r.Cmdlets {
		if strings.EqualFold(c, cmdlet) {
			return true
		}
	}
	return false
}

// BuiltinRoleGroup is a role group created with every organization.
type BuiltinRoleGroup struct {
	Name        string
	Description string
	Roles       []string
	Delegating  bool // also holds a delegating assignment for every role
}

// BuiltinRoleGroups are created with every organization.
var BuiltinRoleGroups = []BuiltinRoleGroup{
	{Name: "Organization Management", Delegating: true,
		Description: "Members of this management role group have permissions to manage Exchange objects and their properties in the Exchange organization.",
		Roles: []string{"Mail Recipients", "Mail Recipient Creation", "Distribution Groups", "Security Group Creation and Membership",
			"Role Management", "Organization Client Access", "View-Only Recipients", "View-Only Configuration"}},
	{Name: "Recipient Management",
		Description: "Members of this management role group have rights to create, manage, and remove Exchange recipient objects.",
		Roles:       []string{"Mail Recipients", "Mail Recipient Creation", "Distribution Groups"}},
	{Name: "View-Only Organization Management",
		Description: "Members of this management role group can view recipient and configuration objects and their properties.",
		Roles:       []string{"View-Only Recipients", "View-Only Configuration"}},
}
