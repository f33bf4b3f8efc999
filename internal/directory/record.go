package directory

import (
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/opath"
)

// RecipientTypeDetailsValues are the values Exchange defines; filters may
// name any of them even where Actas creates only some.
var RecipientTypeDetailsValues = []string{
	"DiscoveryMailbox", "DynamicDistributionGroup", "EquipmentMailbox", "GroupMailbox", "GuestMailUser",
	"LegacyMailbox", "LinkedMailbox", "LinkedRoomMailbox", "MailContact", "MailForestContact",
	"MailNonUniversalGroup", "MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "MailUser",
	"PublicFolder", "PublicFolderMailbox", "RemoteEquipmentMailbox", "RemoteRoomMailbox",
	"RemoteSharedMailbox", "RemoteTeamMailbox", "RemoteUserMailbox", "RoleGroup", "RoomList", "RoomMailbox",
	"SchedulingMailbox", "SharedMailbox", "SharedWithMailUser", "TeamMailbox", "UserMailbox",
}

// RecipientTypeValues are the coarse recipient types.
var RecipientTypeValues = []string{
	"DynamicDistributionGroup", "MailContact", "MailNonUniversalGroup", "MailUniversalDistributionGroup",
	"MailUniversalSecurityGroup", "MailUser", "PublicFolder", "UserMailbox", "Group",
}

func props(names []string, kind opath.Kind) []opath.Property {
	out := make([]opath.Property, len(names))
	for i, n := range names {
		out[i] = opath.Property{Name: n, Kind: kind}
	}
	return out
}

var customAttrNames = func() []string {
	var n []string
	for i := 1; i <= 15; i++ {
		n = append(n, "CustomAttribute"+strconv.Itoa(i))
	}
	return n
}()

func baseProps() []opath.Property {
	p := []opath.Property{
		{Name: "RecipientType", Kind: opath.Enum, Enum: RecipientTypeValues},
		{Name: "RecipientTypeDetails", Kind: opath.Enum, Enum: RecipientTypeDetailsValues},
		{Name: "ResourceType", Kind: opath.Enum, Enum: []string{"Room", "Equipment"}},
		{Name: "Guid", Kind: opath.Guid},
		{Name: "ExternalDirectoryObjectId", Kind: opath.String},
		{Name: "EmailAddresses", Kind: opath.MultiString},
		{Name: "ManagedBy", Kind: opath.Link},
		{Name: "MemberOfGroup", Kind: opath.Link},
		{Name: "Members", Kind: opath.Link},
		{Name: "GrantSendOnBehalfTo", Kind: opath.Link},
		{Name: "HiddenFromAddressListsEnabled", Kind: opath.Bool},
		{Name: "WhenCreated", Kind: opath.Date},
		{Name: "WhenChanged", Kind: opath.Date},
		{Name: "WhenCreatedUTC", Kind: opath.Date},
		{Name: "WhenChangedUTC", Kind: opath.Date},
		{Name: "MemberJoinRestriction", Kind: opath.Enum, Enum: []string{"Closed", "Open", "ApprovalRequired"}},
		{Name: "MemberDepartRestriction", Kind: opath.Enum, Enum: []string{"Closed", "Open", "ApprovalRequired"}},
	}
	p = append(p, props([]string{"Name", "Alias", "DisplayName", "PrimarySmtpAddress", "WindowsEmailAddress",
		"UserPrincipalName", "DistinguishedName", "Id", "LegacyExchangeDN", "Office", "Sid"}, opath.String)...)
	return append(p, props(customAttrNames, opath.String)...)
}

// userOnly are the properties filterable on Get-User/Get-Recipient and in
// scope filters, but not on Get-Mailbox or Get-DistributionGroup.
var userOnly = []string{"FirstName", "LastName", "Department", "Company", "City", "Title"}

// RecipientSchema is the schema of RecipientRestrictionFilter, and of
// -Filter on Get-Recipient and Get-User.
var RecipientSchema = opath.NewSchema(append(baseProps(), props(userOnly, opath.String)...)...)

// MailboxSchema is the schema of -Filter on Get-Mailbox and
// Get-DistributionGroup: Department, Company, City, Title, FirstName and
// LastName are not filterable there, as in Exchange.
var MailboxSchema = opath.NewSchema(baseProps()...)

// Record adapts a recipient to an OPATH record. It is cheap to create.
type Record struct {
	S *State
	R *Recipient
}

// Values implements opath.Record.
func (rec Record) Values(prop string) []string {
	r, s := rec.R, rec.S
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	switch prop {
	case "Name":
		return one(r.Name)
	case "Alias":
		return one(r.Alias)
	case "DisplayName":
		return one(r.DisplayName)
	case "FirstName":
		return one(r.FirstName)
	case "LastName":
		return one(r.LastName)
	case "Department":
		return one(r.Department)
	case "Company":
		return one(r.Company)
	case "City":
		return one(r.City)
	case "Office":
		return one(r.Office)
	case "Title":
		return one(r.Title)
	case "UserPrincipalName":
		return one(r.UserPrincipalName)
	case "LegacyExchangeDN":
		return one(r.LegacyExchangeDN)
	case "Sid":
		return one(r.SID)
	case "Guid", "ExternalDirectoryObjectId":
		return one(r.ID)
	case "RecipientType":
		return one(r.RecipientType())
	case "RecipientTypeDetails":
		return one(r.Type)
	case "ResourceType":
		switch r.Type {
		case RoomMailbox:
			return []string{"Room"}
		case EquipmentMailbox:
			return []string{"Equipment"}
		}
		return nil
	case "DistinguishedName", "Id":
		return one(s.DN(r))
	case "WindowsEmailAddress":
		return one(r.PrimarySmtpAddress)
	case "PrimarySmtpAddress":
		// Exchange quirk: a PrimarySmtpAddress filter also matches proxies.
		var out []string
		for _, a := range r.EmailAddresses {
			if addr, ok := SMTPAddress(a); ok {
				out = append(out, addr)
			}
		}
		return out
	case "EmailAddresses":
		out := make([]string, 0, 2*len(r.EmailAddresses))
		for _, a := range r.EmailAddresses {
			out = append(out, a)
			if addr, ok := SMTPAddress(a); ok && addr != a {
				out = append(out, addr)
			}
		}
		return out
	case "ManagedBy":
		return s.linkValues(r.ManagedBy)
	case "GrantSendOnBehalfTo":
		return s.linkValues(r.GrantSendOnBehalfTo)
	case "MemberOfGroup":
		return s.linkSet(s.memberOf[r.ID])
	case "Members":
		return s.linkSet(s.members[r.ID])
	case "HiddenFromAddressListsEnabled":
		return []string{"False"}
	case "MemberJoinRestriction":
		return one(r.MemberJoinRestriction)
	case "MemberDepartRestriction":
		return one(r.MemberDepartRestriction)
	case "WhenCreated", "WhenCreatedUTC":
		return []string{r.WhenCreated.UTC().Format("2006-01-02T15:04:05Z")}
	case "WhenChanged", "WhenChangedUTC":
		return []string{r.WhenChanged.UTC().Format("2006-01-02T15:04:05Z")}
	}
	if strings.HasPrefix(prop, "CustomAttribute") {
		if n, err := strconv.Atoi(prop[len("CustomAttribute"):]); err == nil && n >= 1 && n <= 15 && r.CustomAttributes[n-1] != "" {
			return r.CustomAttributes[n-1 : n : n] // no allocation: scope filters hit this often
		}
	}
	return nil
}

func (s *State) linkSet(m set) []string {
	out := make([]string, 0, 2*len(m))
	for id := range m {
		if n, ok := s.names[id]; ok {
			out = append(out, n[0], n[1])
		}
	}
	return out
}

// linkValues returns the DN and the canonical name of each linked
// recipient: link-valued filter properties match by DN (or canonical DN),
// never by name or address, as in Exchange.
func (s *State) linkValues(ids []string) []string {
	out := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		if n, ok := s.names[id]; ok {
			out = append(out, n[0], n[1])
		}
	}
	return out
}
