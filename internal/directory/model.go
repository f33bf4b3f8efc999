// Package directory is Actas's in-memory directory: organizations,
// recipients, groups, management scopes and role assignments, with their
// indexes and identity resolution, kept in step with the store through
// all-or-nothing transactions.
package directory

import (
	"fmt"

	"github.com/actasmail/actas/internal/opath"
	"strings"
	"time"
)

// RecipientTypeDetails values Actas creates.
const (
	UserMailbox                    = "UserMailbox"
	RoomMailbox                    = "RoomMailbox"
	EquipmentMailbox               = "EquipmentMailbox"
	SharedMailbox                  = "SharedMailbox"
	MailUniversalDistributionGroup = "MailUniversalDistributionGroup"
	MailUniversalSecurityGroup     = "MailUniversalSecurityGroup"
	RoomList                       = "RoomList"
	RoleGroup                      = "RoleGroup"
)

// Org is an organization (tenant). Domains[0] is the default accepted domain.
type Org struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Domains     []string  `json:"domains"`
	WhenCreated time.Time `json:"whenCreated"`
}

// DefaultDomain is the organization's first accepted domain.
func (o *Org) DefaultDomain() string { return o.Domains[0] }

// Recipient is any directory object that can be addressed or hold
// permissions: mailboxes of every kind, distribution and security groups,
// room lists and role groups. Recipient values are never modified after
// they are committed: a change stores a modified Clone.
type Recipient struct {
	ID                  string     `json:"id"` // the Guid
	Org                 string     `json:"org"`
	Type                string     `json:"type"` // RecipientTypeDetails
	Name                string     `json:"name"`
	Alias               string     `json:"alias,omitempty"`
	DisplayName         string     `json:"displayName,omitempty"`
	FirstName           string     `json:"firstName,omitempty"`
	LastName            string     `json:"lastName,omitempty"`
	PrimarySmtpAddress  string     `json:"primarySmtpAddress,omitempty"`
	EmailAddresses      []string   `json:"emailAddresses,omitempty"` // "SMTP:primary", "smtp:proxy"
	UserPrincipalName   string     `json:"upn,omitempty"`
	SID                 string     `json:"sid,omitempty"`
	LegacyExchangeDN    string     `json:"legacyExchangeDN,omitempty"`
	Department          string     `json:"department,omitempty"`
	Company             string     `json:"company,omitempty"`
	City                string     `json:"city,omitempty"`
	Office              string     `json:"office,omitempty"`
	Title               string     `json:"title,omitempty"`
	CustomAttributes    [15]string `json:"customAttributes"`
	ManagedBy           []string   `json:"managedBy,omitempty"` // recipient ids
	GrantSendOnBehalfTo []string   `json:"grantSendOnBehalfTo,omitempty"`
	FullAccess          []string   `json:"fullAccess,omitempty"`       // Add-MailboxPermission -AccessRights FullAccess
	SendAs              []string   `json:"sendAs,omitempty"`           // Add-RecipientPermission -AccessRights SendAs
	ThrottlingPolicy    string     `json:"throttlingPolicy,omitempty"` // Set-ThrottlingPolicyAssociation: a policy id
	PasswordHash        string     `json:"passwordHash,omitempty"`
	AccountDisabled     bool       `json:"accountDisabled,omitempty"`
	ResourceCapacity    int        `json:"resourceCapacity,omitempty"`
	// CalendarProcessing holds Set-CalendarProcessing's settings (issue 4,
	// internal/cmdlet/calendarprocessing.go); nil until the cmdlet first
	// sets one, meaning Exchange's defaults (DefaultCalendarProcessing).
	CalendarProcessing *CalendarProcessing `json:"calendarProcessing,omitempty"`
	// CalendarConfiguration holds Set-MailboxCalendarConfiguration's
	// working hours (issue 4); nil until a cmdlet sets one, meaning the
	// defaults (DefaultCalendarConfiguration).
	CalendarConfiguration *CalendarConfiguration `json:"calendarConfiguration,omitempty"`
	// Group settings.
	MemberJoinRestriction              string    `json:"memberJoinRestriction,omitempty"`
	MemberDepartRestriction            string    `json:"memberDepartRestriction,omitempty"`
	RequireSenderAuthenticationEnabled bool      `json:"requireSenderAuthenticationEnabled,omitempty"`
	Description                        string    `json:"description,omitempty"`
	EmailAddressPolicyEnabled          bool      `json:"emailAddressPolicyEnabled,omitempty"`
	WhenCreated                        time.Time `json:"whenCreated"`
	WhenChanged                        time.Time `json:"whenChanged"`
}

// Clone returns a deep copy for modification.
func (r *Recipient) Clone() *Recipient {
	c := *r
	c.EmailAddresses = append([]string(nil), r.EmailAddresses...)
	c.ManagedBy = append([]string(nil), r.ManagedBy...)
	c.GrantSendOnBehalfTo = append([]string(nil), r.GrantSendOnBehalfTo...)
	c.FullAccess = append([]string(nil), r.FullAccess...)
	c.SendAs = append([]string(nil), r.SendAs...)
	if r.CalendarProcessing != nil {
		c.CalendarProcessing = r.CalendarProcessing.Clone()
	}
	if r.CalendarConfiguration != nil {
		c.CalendarConfiguration = r.CalendarConfiguration.Clone()
	}
	return &c
}

// CalendarConfiguration is a mailbox's working hours
// (Set-MailboxCalendarConfiguration): a Windows time zone name, the start
// and end of the working day in minutes after midnight in that zone, and the
// working days (time.Weekday names, Sunday first).
type CalendarConfiguration struct {
	WorkingHoursTimeZone  string   `json:"workingHoursTimeZone"`
	WorkingHoursStartTime int      `json:"workingHoursStartTime"`
	WorkingHoursEndTime   int      `json:"workingHoursEndTime"`
	WorkDays              []string `json:"workDays"`
}

// Clone returns a deep copy.
func (c *CalendarConfiguration) Clone() *CalendarConfiguration {
	x := *c
	x.WorkDays = append([]string(nil), c.WorkDays...)
	return &x
}

// DefaultCalendarConfiguration is the working hours of a mailbox nobody
// configured: Monday to Friday, 08:00 to 17:00, as Exchange's, in UTC
// (Exchange takes the zone from the mailbox's regional settings, which
// Actas does not keep).
func DefaultCalendarConfiguration() *CalendarConfiguration {
	return &CalendarConfiguration{WorkingHoursTimeZone: "UTC", WorkingHoursStartTime: 8 * 60, WorkingHoursEndTime: 17 * 60,
		WorkDays: []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}}
}

// EffectiveCalendarConfiguration is r's working hours, defaults included.
func (r *Recipient) EffectiveCalendarConfiguration() *CalendarConfiguration {
	if r.CalendarConfiguration != nil {
		return r.CalendarConfiguration
	}
	return DefaultCalendarConfiguration()
}

// CalendarProcessing is a mailbox's resource booking policy
// (Set-CalendarProcessing, rbac-shell.md §2.6). Recipient lists hold
// recipient ids.
type CalendarProcessing struct {
	AutomateProcessing       string   `json:"automateProcessing"` // None, AutoUpdate, AutoAccept
	AllowConflicts           bool     `json:"allowConflicts"`
	BookingWindowInDays      int      `json:"bookingWindowInDays"`      // 0–1080; 0 = today only
	MaximumDurationInMinutes int      `json:"maximumDurationInMinutes"` // 0 = unlimited
	AllowRecurringMeetings   bool     `json:"allowRecurringMeetings"`
	AllBookInPolicy          bool     `json:"allBookInPolicy"`
	BookInPolicy             []string `json:"bookInPolicy,omitempty"`
	ResourceDelegates        []string `json:"resourceDelegates,omitempty"`
	// Requests that need a resource delegate's approval (issue 4).
	AllRequestInPolicy    bool     `json:"allRequestInPolicy,omitempty"`
	AllRequestOutOfPolicy bool     `json:"allRequestOutOfPolicy,omitempty"`
	RequestInPolicy       []string `json:"requestInPolicy,omitempty"`
	RequestOutOfPolicy    []string `json:"requestOutOfPolicy,omitempty"`
	// NoForwardToDelegates is -ForwardRequestsToDelegates $false (stored
	// inverted so that settings saved before it keep Exchange's default,
	// $true).
	NoForwardToDelegates  bool `json:"noForwardToDelegates,omitempty"`
	AddOrganizerToSubject bool `json:"addOrganizerToSubject"`
	DeleteSubject         bool `json:"deleteSubject"`
	DeleteComments        bool `json:"deleteComments"`
	RemovePrivateProperty bool `json:"removePrivateProperty"`
}

// Clone returns a deep copy.
func (p *CalendarProcessing) Clone() *CalendarProcessing {
	c := *p
	c.BookInPolicy = append([]string(nil), p.BookInPolicy...)
	c.ResourceDelegates = append([]string(nil), p.ResourceDelegates...)
	c.RequestInPolicy = append([]string(nil), p.RequestInPolicy...)
	c.RequestOutOfPolicy = append([]string(nil), p.RequestOutOfPolicy...)
	return &c
}

// DefaultCalendarProcessing is Exchange's policy for a recipient without
// settings: resources created in PowerShell are AutoUpdate, as are user
// mailboxes (which cannot change it); the rest as documented.
func DefaultCalendarProcessing() *CalendarProcessing {
	return &CalendarProcessing{AutomateProcessing: "AutoUpdate", BookingWindowInDays: 180, MaximumDurationInMinutes: 1440,
		AllowRecurringMeetings: true, AllBookInPolicy: true, AddOrganizerToSubject: true, DeleteSubject: true,
		DeleteComments: true, RemovePrivateProperty: true}
}

// EffectiveCalendarProcessing is r's policy, defaults included.
func (r *Recipient) EffectiveCalendarProcessing() *CalendarProcessing {
	if r.CalendarProcessing != nil {
		return r.CalendarProcessing
	}
	return DefaultCalendarProcessing()
}

// IsMailbox reports whether the recipient has a mailbox.
func (r *Recipient) IsMailbox() bool {
	switch r.Type {
	case UserMailbox, RoomMailbox, EquipmentMailbox, SharedMailbox:
		return true
	}
	return false
}

// IsGroup reports whether the recipient has members.
func (r *Recipient) IsGroup() bool {
	switch r.Type {
	case MailUniversalDistributionGroup, MailUniversalSecurityGroup, RoomList, RoleGroup:
		return true
	}
	return false
}

// IsSecurityPrincipal reports whether the recipient can hold permissions
// (users and security groups; distribution groups cannot).
func (r *Recipient) IsSecurityPrincipal() bool {
	return r.IsMailbox() || r.Type == MailUniversalSecurityGroup || r.Type == RoleGroup
}

// RecipientType is the coarse type Exchange reports: every mailbox kind is a
// UserMailbox; room lists are distribution groups.
func (r *Recipient) RecipientType() string {
	switch r.Type {
	case UserMailbox, RoomMailbox, EquipmentMailbox, SharedMailbox:
		return "UserMailbox"
	case MailUniversalDistributionGroup, RoomList:
		return "MailUniversalDistributionGroup"
	case MailUniversalSecurityGroup:
		return "MailUniversalSecurityGroup"
	case RoleGroup:
		return "Group"
	}
	return r.Type
}

// Scope is a management scope.
type Scope struct {
	ID          string    `json:"id"`
	Org         string    `json:"org"`
	Name        string    `json:"name"`
	Filter      string    `json:"filter"`
	Exclusive   bool      `json:"exclusive,omitempty"`
	WhenCreated time.Time `json:"whenCreated"`
	WhenChanged time.Time `json:"whenChanged"`

	// compiled is the parsed filter, set when the scope enters the State.
	compiled   *opath.Filter
	compileErr error
}

// Compiled returns the parsed recipient filter, or the error that made it
// unusable (a scope loaded from an older version with a filter this version
// rejects).
func (sc *Scope) Compiled() (*opath.Filter, error) { return sc.compiled, sc.compileErr }

// Matches reports whether a recipient is inside the scope. A scope whose
// filter cannot be used matches nothing when regular (a wrong allow is worse
// than a wrong deny) and everything when exclusive (an exclusive scope is a
// deny rule).
func (sc *Scope) Matches(s *State, r *Recipient) bool {
	return sc.MatchesRecord(Record{S: s, R: r})
}

// MatchesRecord is Matches for a record built once and tested against many
// scopes (converting a Record to the interface allocates).
func (sc *Scope) MatchesRecord(rec opath.Record) bool {
	if sc.compiled == nil {
		return sc.Exclusive
	}
	return sc.compiled.Match(rec)
}

// Assignee types of a role assignment.
const (
	AssigneeUser          = "User"
	AssigneeSecurityGroup = "SecurityGroup"
	AssigneeRoleGroup     = "RoleGroup"
)

// Recipient write scope types of a role assignment.
const (
	ScopeOrganization         = "Organization"
	ScopeSelf                 = "Self"
	ScopeMyGAL                = "MyGAL"
	ScopeMyDistributionGroups = "MyDistributionGroups"
	ScopeNone                 = "None"
	ScopeCustom               = "CustomRecipientScope"
	ScopeExclusive            = "ExclusiveRecipientScope"
)

// Assignment is a management role assignment: one role to one assignee,
// with at most one recipient write scope.
type Assignment struct {
	ID           string    `json:"id"`
	Org          string    `json:"org"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Assignee     string    `json:"assignee"` // recipient id
	AssigneeType string    `json:"assigneeType"`
	Delegating   bool      `json:"delegating,omitempty"`
	Enabled      bool      `json:"enabled"`
	WriteScope   string    `json:"writeScope"`        // one of the Scope* constants
	ScopeID      string    `json:"scopeId,omitempty"` // for Custom and Exclusive
	WhenCreated  time.Time `json:"whenCreated"`
	WhenChanged  time.Time `json:"whenChanged"`
}

// Clone returns a copy for modification.
func (a *Assignment) Clone() *Assignment { c := *a; return &c }

const dnSuffix = "OU=Actas Organizations,DC=actas,DC=local"

// escapeRDN escapes a relative distinguished name value (RFC 4514).
func escapeRDN(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r), r == '#' && i == 0, r == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DN is the distinguished name of a recipient in its organization.
func DN(r *Recipient, o *Org) string {
	if r.Type == RoleGroup {
		return fmt.Sprintf("CN=%s,OU=Microsoft Exchange Security Groups,OU=%s,%s", escapeRDN(r.Name), o.DefaultDomain(), dnSuffix)
	}
	return fmt.Sprintf("CN=%s,OU=%s,%s", escapeRDN(r.Name), o.DefaultDomain(), dnSuffix)
}

// CanonicalName is the canonical form of the DN, e.g. contoso.test/Users/Kim.
func CanonicalName(r *Recipient, o *Org) string {
	if r.Type == RoleGroup {
		return o.DefaultDomain() + "/Microsoft Exchange Security Groups/" + r.Name
	}
	return o.DefaultDomain() + "/Users/" + r.Name
}

// ScopeDN and AssignmentDN follow Exchange's RBAC container layout.
func ScopeDN(s *Scope, o *Org) string {
	return fmt.Sprintf("CN=%s,CN=Scopes,CN=RBAC,OU=%s,%s", escapeRDN(s.Name), o.DefaultDomain(), dnSuffix)
}

// AssignmentDN is the distinguished name of a role assignment.
func AssignmentDN(a *Assignment, o *Org) string {
	return fmt.Sprintf("CN=%s,CN=Role Assignments,CN=RBAC,OU=%s,%s", escapeRDN(a.Name), o.DefaultDomain(), dnSuffix)
}
