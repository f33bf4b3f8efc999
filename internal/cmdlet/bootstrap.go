package cmdlet

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// CreateOrganization creates an organization with its accepted domain, the
// built-in role groups and their role assignments, and an administrator
// admin@DOMAIN in Organization Management, in one transaction. It returns
// the organization and the administrator.
func CreateOrganization(ctx context.Context, dir *d.Directory, name, domain, adminPassword string) (*d.Org, *d.Recipient, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	name = strings.TrimSpace(name)
	if err := validDomain(domain); err != nil {
		return nil, nil, err
	}
	if name == "" {
		name = domain
	}
	now := time.Now().UTC().Truncate(time.Second)
	// The organization keeps full precision: the first-created one is the
	// server's default for `actas shell --data`.
	org := &d.Org{ID: newGUID(), Name: name, Domains: []string{domain}, WhenCreated: time.Now().UTC()}
	var admin *d.Recipient
	err := dir.Write(ctx, func(tx *d.Tx) error {
		s := tx.State()
		if s.OrgByDomain(domain) != nil {
			return fmt.Errorf("the domain %s is already an accepted domain of an organization", domain)
		}
		for _, o := range s.Orgs() {
			if strings.EqualFold(o.Name, name) {
				return fmt.Errorf("an organization named %q already exists", name)
			}
		}
		if err := tx.PutOrg(org); err != nil {
			return err
		}
		var err error
		// buildMailbox reads the org from its argument, not from the state.
		admin, err = buildMailbox(s, org, MailboxSpec{Name: "Administrator", Alias: "admin", DisplayName: "Administrator",
			UPN: "admin@" + domain, Password: adminPassword, Type: d.UserMailbox}, now)
		if err != nil {
			return fmt.Errorf("create administrator: %w", err)
		}
		if err := tx.PutRecipient(admin); err != nil {
			return err
		}
		for _, bg := range rbac.BuiltinRoleGroups {
			g := &d.Recipient{ID: newGUID(), Org: org.ID, Type: d.RoleGroup, Name: bg.Name, DisplayName: bg.Name,
				Description: bg.Description, SID: newSID(org), WhenCreated: now, WhenChanged: now}
			if err := tx.PutRecipient(g); err != nil {
				return err
			}
			put := func(role string, delegating bool) error {
				n := role + "-" + bg.Name
				if delegating {
					n += "-Delegating"
				}
				return tx.PutAssignment(&d.Assignment{ID: newGUID(), Org: org.ID, Name: n, Role: role, Assignee: g.ID,
					AssigneeType: d.AssigneeRoleGroup, Delegating: delegating, Enabled: true, WriteScope: d.ScopeOrganization,
					WhenCreated: now, WhenChanged: now})
			}
			for _, role := range bg.Roles {
				if err := put(role, false); err != nil {
					return err
				}
			}
			if bg.Delegating {
				for _, role := range rbac.Roles() {
					if err := put(role.Name, true); err != nil {
						return err
					}
				}
			}
			if bg.Name == orgManagement {
				tx.AddMember(g.ID, admin.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return org, admin, nil
}

func validDomain(domain string) error {
	if domain == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, " @/\\") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return fmt.Errorf("%q is not a valid domain name", domain)
	}
	return nil
}

// demoStep is one cmdlet call of the demo, run through the registry.
type demoStep struct {
	cmdlet string
	params map[string]any
}

// CreateDemo creates the contoso.test demo organization through the cmdlet
// registry, as its administrator, and returns the administrator.
func CreateDemo(ctx context.Context, reg *Registry, adminPassword, userPassword, svcPassword string) (*d.Recipient, error) {
	_, admin, err := CreateOrganization(ctx, reg.dir, "Contoso", "contoso.test", adminPassword)
	if err != nil {
		return nil, err
	}
	user := func(name, alias, first, last, pw string) demoStep {
		return demoStep{"New-Mailbox", map[string]any{"Name": name, "Alias": alias, "FirstName": first, "LastName": last,
			"UserPrincipalName": alias + "@contoso.test", "Password": pw}}
	}
	steps := []demoStep{
		user("Alex Wilber", "alexw", "Alex", "Wilber", userPassword),
		user("Megan Bowen", "meganb", "Megan", "Bowen", userPassword),
		user("Lee Gu", "leeg", "Lee", "Gu", userPassword),
		{"New-Mailbox", map[string]any{"Name": "Room Everest", "Alias": "everest", "Room": true, "ResourceCapacity": float64(12)}},
		{"New-Mailbox", map[string]any{"Name": "Room Kilimanjaro", "Alias": "kilimanjaro", "Room": true, "ResourceCapacity": float64(6)}},
		{"New-Mailbox", map[string]any{"Name": "Projector 1", "Alias": "projector1", "Equipment": true}},
		{"New-Mailbox", map[string]any{"Name": "Help Desk", "Alias": "helpdesk", "Shared": true}},
		{"New-Mailbox", map[string]any{"Name": "Room Booking Service", "Alias": "roomsvc", "DisplayName": "Room Booking Service",
			"UserPrincipalName": "roomsvc@contoso.test", "Password": svcPassword}},
		{"Set-User", map[string]any{"Identity": "alexw", "Department": "Sales", "City": "Seattle", "Title": "Account Manager"}},
		{"Set-User", map[string]any{"Identity": "meganb", "Department": "Marketing", "City": "Redmond"}},
		{"Set-User", map[string]any{"Identity": "leeg", "Department": "Engineering", "City": "Redmond"}},
		{"New-DistributionGroup", map[string]any{"Name": "Building 1 Rooms", "Alias": "building1rooms", "RoomList": true, "Members": []any{"everest", "kilimanjaro"}}},
		{"New-DistributionGroup", map[string]any{"Name": "Sales", "Alias": "sales", "Members": []any{"alexw"}}},
		{"New-DistributionGroup", map[string]any{"Name": "Sync Users", "Alias": "syncusers", "Type": "Security", "Members": []any{"alexw", "meganb"}}},
		{"New-ManagementScope", map[string]any{"Name": "Rooms", "RecipientRestrictionFilter": `RecipientTypeDetails -eq "RoomMailbox"`}},
		{"New-ManagementRoleAssignment", map[string]any{"Name": "Room Booking Impersonation", "Role": "ApplicationImpersonation",
			"User": "roomsvc", "CustomRecipientWriteScope": "Rooms"}},
	}
	for _, st := range steps {
		resp := reg.Invoke(ctx, admin.ID, adminapi.Request{Cmdlet: st.cmdlet, Params: st.params})
		if resp.Error != nil {
			return nil, fmt.Errorf("demo: %s: %s", st.cmdlet, resp.Error.Message)
		}
	}
	return admin, nil
}
