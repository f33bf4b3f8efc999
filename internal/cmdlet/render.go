package cmdlet

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
)

// Renderers turn directory objects into result objects shaped like the
// objects EMS returns: ordered properties and the default table columns.
// They never output password hashes.

// timeLayout is how EMS prints dates (en-US), here always in UTC.
const timeLayout = "1/2/2006 3:04:05 PM"

// fmtTime formats a time like EMS; the zero time is $null.
func fmtTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// anyStrings converts a string list to a result list (never nil).
func anyStrings(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// linkNames returns the names of linked recipients, sorted; ids of
// recipients that no longer exist are skipped.
func linkNames(s *d.State, ids []string) []any {
	var names []string
	for _, id := range ids {
		if r := s.Recipient(id); r != nil {
			names = append(names, r.Name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	return anyStrings(names)
}

// orgUnit is the canonical name of the container holding the recipient.
func orgUnit(s *d.State, r *d.Recipient) string {
	cn := d.CanonicalName(r, s.Org(r.Org))
	return cn[:strings.LastIndexByte(cn, '/')]
}

func nilIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func customAttributeProps(r *d.Recipient) []adminapi.Prop {
	out := make([]adminapi.Prop, 0, 15)
	for i, v := range r.CustomAttributes {
		out = append(out, adminapi.Prop{Name: "CustomAttribute" + strconv.Itoa(i+1), Value: v})
	}
	return out
}

func timeProps(r *d.Recipient) []adminapi.Prop {
	return []adminapi.Prop{
		{Name: "WhenChanged", Value: fmtTime(r.WhenChanged)},
		{Name: "WhenCreated", Value: fmtTime(r.WhenCreated)},
		{Name: "WhenChangedUTC", Value: fmtTime(r.WhenChanged)},
		{Name: "WhenCreatedUTC", Value: fmtTime(r.WhenCreated)},
	}
}

func identityProps(s *d.State, r *d.Recipient) []adminapi.Prop {
	return []adminapi.Prop{
		{Name: "Identity", Value: r.Name},
		{Name: "DistinguishedName", Value: s.DN(r)},
		{Name: "OrganizationalUnit", Value: orgUnit(s, r)},
		{Name: "Guid", Value: r.ID},
		{Name: "ExternalDirectoryObjectId", Value: r.ID},
	}
}

func groupType(r *d.Recipient) string {
	if r.Type == d.MailUniversalSecurityGroup || r.Type == d.RoleGroup {
		return "Universal, SecurityEnabled"
	}
	return "Universal"
}

func resourceType(r *d.Recipient) any {
	switch r.Type {
	case d.RoomMailbox:
		return "Room"
	case d.EquipmentMailbox:
		return "Equipment"
	}
	return nil
}

// renderMailbox renders Get-Mailbox output.
func renderMailbox(s *d.State, r *d.Recipient) *adminapi.Object {
	var capacity any // $null unless set, as in EMS
	if r.ResourceCapacity > 0 {
		capacity = r.ResourceCapacity
	}
	props := []adminapi.Prop{
		{Name: "Name", Value: r.Name},
		{Name: "Alias", Value: r.Alias},
		{Name: "DisplayName", Value: r.DisplayName},
		{Name: "RecipientType", Value: r.RecipientType()},
		{Name: "RecipientTypeDetails", Value: r.Type},
		{Name: "PrimarySmtpAddress", Value: r.PrimarySmtpAddress},
		{Name: "EmailAddresses", Value: anyStrings(r.EmailAddresses)},
		{Name: "WindowsEmailAddress", Value: r.PrimarySmtpAddress},
		{Name: "UserPrincipalName", Value: r.UserPrincipalName},
		{Name: "EmailAddressPolicyEnabled", Value: r.EmailAddressPolicyEnabled},
		{Name: "GrantSendOnBehalfTo", Value: linkNames(s, r.GrantSendOnBehalfTo)},
		{Name: "Office", Value: r.Office},
		{Name: "IsResource", Value: r.Type == d.RoomMailbox || r.Type == d.EquipmentMailbox},
		{Name: "IsShared", Value: r.Type == d.SharedMailbox},
		{Name: "ResourceType", Value: resourceType(r)},
		{Name: "ResourceCapacity", Value: capacity},
		{Name: "AccountDisabled", Value: r.AccountDisabled},
		{Name: "HiddenFromAddressListsEnabled", Value: false},
	}
	props = append(props, customAttributeProps(r)...)
	props = append(props, adminapi.Prop{Name: "LegacyExchangeDN", Value: r.LegacyExchangeDN})
	props = append(props, identityProps(s, r)...)
	props = append(props, timeProps(r)...)
	return &adminapi.Object{Type: "Mailbox", Props: props,
		View: []string{"Name", "Alias", "RecipientTypeDetails", "PrimarySmtpAddress"}}
}

// renderUser renders Get-User output.
func renderUser(s *d.State, r *d.Recipient) *adminapi.Object {
	props := []adminapi.Prop{
		{Name: "Name", Value: r.Name},
		{Name: "DisplayName", Value: r.DisplayName},
		{Name: "FirstName", Value: r.FirstName},
		{Name: "LastName", Value: r.LastName},
		{Name: "UserPrincipalName", Value: r.UserPrincipalName},
		{Name: "WindowsEmailAddress", Value: r.PrimarySmtpAddress},
		{Name: "RecipientType", Value: r.RecipientType()},
		{Name: "RecipientTypeDetails", Value: r.Type},
		{Name: "Department", Value: r.Department},
		{Name: "Company", Value: r.Company},
		{Name: "City", Value: r.City},
		{Name: "Office", Value: r.Office},
		{Name: "Title", Value: r.Title},
		{Name: "Manager", Value: nil},
		{Name: "AccountDisabled", Value: r.AccountDisabled},
		{Name: "Sid", Value: r.SID},
	}
	props = append(props, identityProps(s, r)...)
	props = append(props, timeProps(r)...)
	return &adminapi.Object{Type: "User", Props: props, View: []string{"Name", "RecipientType"}}
}

// renderReducedRecipient renders Get-Recipient and Get-DistributionGroupMember
// (and Get-RoleGroupMember) output.
func renderReducedRecipient(s *d.State, r *d.Recipient) *adminapi.Object {
	props := []adminapi.Prop{
		{Name: "Name", Value: r.Name},
		{Name: "Alias", Value: nilIfEmpty(r.Alias)},
		{Name: "DisplayName", Value: r.DisplayName},
		{Name: "RecipientType", Value: r.RecipientType()},
		{Name: "RecipientTypeDetails", Value: r.Type},
		{Name: "PrimarySmtpAddress", Value: nilIfEmpty(r.PrimarySmtpAddress)},
		{Name: "EmailAddresses", Value: anyStrings(r.EmailAddresses)},
		{Name: "FirstName", Value: r.FirstName},
		{Name: "LastName", Value: r.LastName},
		{Name: "Department", Value: r.Department},
		{Name: "Company", Value: r.Company},
		{Name: "City", Value: r.City},
		{Name: "Office", Value: r.Office},
		{Name: "Title", Value: r.Title},
		{Name: "ManagedBy", Value: linkNames(s, r.ManagedBy)},
	}
	props = append(props, customAttributeProps(r)...)
	props = append(props, identityProps(s, r)...)
	props = append(props, timeProps(r)...)
	return &adminapi.Object{Type: "ReducedRecipient", Props: props, View: []string{"Name", "RecipientType"}}
}

// renderDistributionGroup renders Get-DistributionGroup output (no members,
// as in Exchange).
func renderDistributionGroup(s *d.State, r *d.Recipient) *adminapi.Object {
	props := []adminapi.Prop{
		{Name: "Name", Value: r.Name},
		{Name: "DisplayName", Value: r.DisplayName},
		{Name: "Alias", Value: r.Alias},
		{Name: "GroupType", Value: groupType(r)},
		{Name: "RecipientType", Value: r.RecipientType()},
		{Name: "RecipientTypeDetails", Value: r.Type},
		{Name: "PrimarySmtpAddress", Value: r.PrimarySmtpAddress},
		{Name: "EmailAddresses", Value: anyStrings(r.EmailAddresses)},
		{Name: "WindowsEmailAddress", Value: r.PrimarySmtpAddress},
		{Name: "EmailAddressPolicyEnabled", Value: r.EmailAddressPolicyEnabled},
		{Name: "ManagedBy", Value: linkNames(s, r.ManagedBy)},
		{Name: "MemberJoinRestriction", Value: r.MemberJoinRestriction},
		{Name: "MemberDepartRestriction", Value: r.MemberDepartRestriction},
		{Name: "RequireSenderAuthenticationEnabled", Value: r.RequireSenderAuthenticationEnabled},
		{Name: "HiddenFromAddressListsEnabled", Value: false},
		{Name: "GrantSendOnBehalfTo", Value: linkNames(s, r.GrantSendOnBehalfTo)},
		{Name: "Description", Value: descriptionValue(r)},
	}
	props = append(props, customAttributeProps(r)...)
	props = append(props, adminapi.Prop{Name: "LegacyExchangeDN", Value: r.LegacyExchangeDN})
	props = append(props, identityProps(s, r)...)
	props = append(props, timeProps(r)...)
	return &adminapi.Object{Type: "DistributionGroup", Props: props,
		View: []string{"Name", "DisplayName", "GroupType", "PrimarySmtpAddress"}}
}

func descriptionValue(r *d.Recipient) []any {
	if r.Description == "" {
		return []any{}
	}
	return []any{r.Description}
}

// renderGroup renders Get-Group output: every group, role groups included,
// with its member names.
func renderGroup(s *d.State, r *d.Recipient) *adminapi.Object {
	props := []adminapi.Prop{
		{Name: "Name", Value: r.Name},
		{Name: "DisplayName", Value: r.DisplayName},
		{Name: "GroupType", Value: groupType(r)},
		{Name: "PrimarySmtpAddress", Value: nilIfEmpty(r.PrimarySmtpAddress)},
		{Name: "WindowsEmailAddress", Value: nilIfEmpty(r.PrimarySmtpAddress)},
		{Name: "RecipientType", Value: r.RecipientType()},
		{Name: "RecipientTypeDetails", Value: r.Type},
		{Name: "Members", Value: linkNames(s, s.Members(r.ID))},
		{Name: "ManagedBy", Value: linkNames(s, r.ManagedBy)},
		{Name: "Description", Value: descriptionValue(r)},
		{Name: "Sid", Value: nilIfEmpty(r.SID)},
	}
	props = append(props, identityProps(s, r)...)
	props = append(props, timeProps(r)...)
	return &adminapi.Object{Type: "Group", Props: props,
		View: []string{"Name", "DisplayName", "GroupType", "PrimarySmtpAddress"}}
}
