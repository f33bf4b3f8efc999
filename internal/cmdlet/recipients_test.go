package cmdlet

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/auth"
	d "github.com/actasmail/actas/internal/directory"
)

const userPassword = "Us3r-Passw0rd!"

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewGUIDAndSID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		g := newGUID()
		if !guidRE.MatchString(g) || seen[g] {
			t.Fatalf("newGUID() = %q (duplicate: %v)", g, seen[g])
		}
		seen[g] = true
	}
	org := &d.Org{ID: "11111111-2222-4333-8444-555555555555"}
	a, b := newSID(org), newSID(org)
	sidRE := regexp.MustCompile(`^S-1-5-21-\d+-\d+-\d+-\d+$`)
	if !sidRE.MatchString(a) || !sidRE.MatchString(b) {
		t.Fatalf("newSID = %q, %q", a, b)
	}
	if a[:strings.LastIndexByte(a, '-')] != b[:strings.LastIndexByte(b, '-')] {
		t.Errorf("SIDs of one organization have different domain parts: %q %q", a, b)
	}
	if other := newSID(&d.Org{ID: "other"}); other[:strings.LastIndexByte(other, '-')] == a[:strings.LastIndexByte(a, '-')] {
		t.Errorf("SIDs of two organizations share a domain part: %q %q", a, other)
	}
}

func TestBuildMailboxForBootstrap(t *testing.T) {
	o := newTestOrg(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var r *d.Recipient
	err := o.dir.Read(func(s *d.State) error {
		var err error
		r, err = buildMailbox(s, o.org, MailboxSpec{Name: "Kim Akers", UPN: "kim@contoso.test", Password: userPassword, Type: d.UserMailbox}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !guidRE.MatchString(r.ID):
		t.Errorf("ID %q is not a lower-case v4 UUID", r.ID)
	case r.Alias != "kim" || r.PrimarySmtpAddress != "kim@contoso.test" || !slices.Equal(r.EmailAddresses, []string{"SMTP:kim@contoso.test"}):
		t.Errorf("alias/addresses = %q %q %v", r.Alias, r.PrimarySmtpAddress, r.EmailAddresses)
	case r.DisplayName != "Kim Akers" || r.Org != o.org.ID || r.Type != d.UserMailbox || !r.EmailAddressPolicyEnabled:
		t.Errorf("unexpected recipient %+v", r)
	case !strings.HasPrefix(r.LegacyExchangeDN, "/o=Actas/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=") ||
		!regexp.MustCompile(`/cn=[0-9a-f]{32}-kim$`).MatchString(r.LegacyExchangeDN):
		t.Errorf("LegacyExchangeDN %q", r.LegacyExchangeDN)
	case !r.WhenCreated.Equal(now) || !r.WhenChanged.Equal(now):
		t.Errorf("times %v %v", r.WhenCreated, r.WhenChanged)
	case r.AccountDisabled || !auth.CheckPassword(r.PasswordHash, userPassword) || strings.Contains(r.PasswordHash, userPassword):
		t.Errorf("password not hashed correctly")
	}
	// A resource without a password has no usable account.
	err = o.dir.Read(func(s *d.State) error {
		var err error
		r, err = buildMailbox(s, o.org, MailboxSpec{Name: "Board Room", Type: d.RoomMailbox, ResourceCapacity: 10}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.AccountDisabled || r.PasswordHash != "" || r.Alias != "BoardRoom" || r.ResourceCapacity != 10 {
		t.Errorf("room = %+v", r)
	}
	// The bootstrap's administrator was built the same way and can sign in.
	admin := o.recipient("Administrator")
	if admin == nil || !auth.CheckPassword(admin.PasswordHash, testAdminPassword) || admin.UserPrincipalName != "admin@contoso.test" {
		t.Fatalf("administrator = %+v", admin)
	}
}

func TestNewMailbox(t *testing.T) {
	o := newTestOrg(t)
	tests := []struct {
		name   string
		params map[string]any
		want   map[string]any // property -> value
	}{
		{"user", map[string]any{"Name": "Kim Akers", "FirstName": "Kim", "LastName": "Akers", "UserPrincipalName": "kim.akers@contoso.test", "Password": userPassword},
			map[string]any{"Alias": "kim.akers", "DisplayName": "Kim Akers", "PrimarySmtpAddress": "kim.akers@contoso.test", "RecipientTypeDetails": "UserMailbox",
				"RecipientType": "UserMailbox", "EmailAddressPolicyEnabled": true, "AccountDisabled": false, "UserPrincipalName": "kim.akers@contoso.test",
				"Identity": "Kim Akers", "DistinguishedName": "CN=Kim Akers,OU=contoso.test,OU=Actas Organizations,DC=actas,DC=local"}},
		{"user with Microsoft Online Services ID and explicit address", map[string]any{"Name": "Ben Smith", "MicrosoftOnlineServicesID": "ben@contoso.test",
			"Password": userPassword, "PrimarySmtpAddress": "ben.smith@contoso.example", "DisplayName": "Ben S."},
			map[string]any{"Alias": "ben", "PrimarySmtpAddress": "ben.smith@contoso.example", "EmailAddressPolicyEnabled": false, "DisplayName": "Ben S.",
				"UserPrincipalName": "ben@contoso.test"}},
		{"room", map[string]any{"Name": "Conf Room (1st floor)", "Room": true, "ResourceCapacity": float64(12)},
			map[string]any{"Alias": "ConfRoom1stfloor", "PrimarySmtpAddress": "ConfRoom1stfloor@contoso.test", "RecipientTypeDetails": "RoomMailbox",
				"RecipientType": "UserMailbox", "ResourceCapacity": 12, "ResourceType": "Room", "AccountDisabled": true, "IsResource": true}},
		{"equipment", map[string]any{"Name": "Projector 2", "Equipment": true},
			map[string]any{"Alias": "Projector2", "RecipientTypeDetails": "EquipmentMailbox", "AccountDisabled": true, "ResourceCapacity": nil}},
		{"shared with a password can sign in", map[string]any{"Name": "Help Desk", "Shared": true, "Password": userPassword, "Alias": "helpdesk"},
			map[string]any{"Alias": "helpdesk", "RecipientTypeDetails": "SharedMailbox", "AccountDisabled": false, "IsShared": true}},
		{"second alias gets a numbered address", map[string]any{"Name": "Kim Other", "Alias": "kim.akers", "Shared": true},
			map[string]any{"Alias": "kim.akers", "PrimarySmtpAddress": "kim.akers2@contoso.test"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := o.run("New-Mailbox", tc.params)
			if resp.Error != nil {
				t.Fatalf("New-Mailbox: %s", resp.Error.Message)
			}
			if len(resp.Objects) != 1 {
				t.Fatalf("got %d objects", len(resp.Objects))
			}
			mb := resp.Objects[0]
			if mb.Type != "Mailbox" || !slices.Equal(mb.View, []string{"Name", "Alias", "RecipientTypeDetails", "PrimarySmtpAddress"}) {
				t.Errorf("type %q view %v", mb.Type, mb.View)
			}
			for k, v := range tc.want {
				if got := propOf(t, mb, k); fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("%s = %#v, want %#v", k, got, v)
				}
			}
			if guid := propOf(t, mb, "Guid").(string); !guidRE.MatchString(guid) {
				t.Errorf("Guid %q", guid)
			}
			if wc := propOf(t, mb, "WhenCreated").(string); !regexp.MustCompile(`^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M$`).MatchString(wc) {
				t.Errorf("WhenCreated %q", wc)
			}
			js := toJSON(t, resp)
			if strings.Contains(js, userPassword) || strings.Contains(js, "$2a$") || strings.Contains(js, "PasswordHash") {
				t.Errorf("the response leaks the password or its hash: %s", js)
			}
		})
	}
	r := o.recipient("Help Desk")
	if !auth.CheckPassword(r.PasswordHash, userPassword) {
		t.Errorf("the shared mailbox's password was not stored as a hash")
	}

	other := &d.Org{ID: newGUID(), Name: "Fabrikam", Domains: []string{"fabrikam.test"}}
	if err := o.dir.Write(o.ctx, func(tx *d.Tx) error { return tx.PutOrg(other) }); err != nil {
		t.Fatal(err)
	}
	failures := []struct {
		name      string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"user without password", map[string]any{"Name": "No Pw", "UserPrincipalName": "nopw@contoso.test"},
			"ParameterBindingException", []string{"missing mandatory parameters: Password"}},
		{"user without UPN", map[string]any{"Name": "No Upn", "Password": userPassword},
			"ParameterBindingException", []string{"missing mandatory parameters: UserPrincipalName"}},
		{"duplicate name", map[string]any{"Name": "kim akers", "Shared": true},
			"ADObjectAlreadyExistsException", []string{`The name "kim akers" is already being used`}},
		{"name of a role group", map[string]any{"Name": "Organization Management", "Shared": true},
			"ADObjectAlreadyExistsException", []string{"role group"}},
		{"duplicate primary address", map[string]any{"Name": "Dup Addr", "Shared": true, "PrimarySmtpAddress": "KIM.AKERS@contoso.test"},
			"ProxyAddressExistsException", []string{`"SMTP:KIM.AKERS@contoso.test" is already being used`}},
		{"duplicate UPN", map[string]any{"Name": "Dup Upn", "UserPrincipalName": "kim.akers@contoso.test", "Password": userPassword},
			"ADObjectAlreadyExistsException", []string{"user principal name"}},
		{"address in another organization's domain", map[string]any{"Name": "Squatter", "Shared": true, "PrimarySmtpAddress": "ceo@fabrikam.test"},
			"DataValidationException", []string{`"fabrikam.test", which isn't an accepted domain`}},
		{"UPN in a foreign domain", map[string]any{"Name": "Foreign", "UserPrincipalName": "x@fabrikam.test", "Password": userPassword},
			"ArgumentException", []string{"isn't an accepted domain"}},
		{"malformed address", map[string]any{"Name": "Bad Addr", "Shared": true, "PrimarySmtpAddress": "not an address"},
			"DataValidationException", []string{"isn't correct"}},
		{"invalid alias", map[string]any{"Name": "Bad Alias", "Shared": true, "Alias": "has space"},
			"DataValidationException", []string{`Property expression "has space" isn't valid`}},
		{"alias with leading period", map[string]any{"Name": "Bad Alias", "Shared": true, "Alias": ".x"},
			"DataValidationException", []string{"isn't valid"}},
		{"short password", map[string]any{"Name": "Weak", "UserPrincipalName": "weak@contoso.test", "Password": "abc"},
			"PasswordComplexityException", []string{"password policy"}},
		{"two kinds", map[string]any{"Name": "Both", "Room": true, "Shared": true},
			"ParameterBindingException", []string{"Parameter set cannot be resolved"}},
		{"capacity without -Room", map[string]any{"Name": "Cap", "Shared": true, "ResourceCapacity": float64(3)},
			"ArgumentException", []string{"-ResourceCapacity"}},
		{"negative capacity", map[string]any{"Name": "Cap", "Room": true, "ResourceCapacity": float64(-3)},
			"ParameterBindingValidationException", []string{"ResourceCapacity"}},
		{"name too long", map[string]any{"Name": strings.Repeat("n", 65), "Shared": true},
			"ParameterBindingValidationException", []string{"Name", `"64"`}},
		{"empty name", map[string]any{"Name": "  ", "Shared": true},
			"ParameterBindingValidationException", []string{"null or empty"}},
		{"unknown parameter", map[string]any{"Name": "X", "Shared": true, "Databse": "DB1"},
			"ParameterBindingException", []string{"'Databse'"}},
	}
	for _, tc := range failures {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			e := o.fails(o.adminID, "New-Mailbox", tc.params, tc.exception, tc.msg...)
			if strings.Contains(e.Message, userPassword) || (tc.name == "short password" && strings.Contains(e.Message, "abc")) {
				t.Errorf("error message echoes the password: %q", e.Message)
			}
		})
	}

	// Warnings for accepted-but-ignored parameters.
	resp := o.run("New-Mailbox", map[string]any{"Name": "Warn Me", "UserPrincipalName": "warn@contoso.test", "Password": userPassword,
		"OrganizationalUnit": "contoso.test/Sales", "ResetPasswordOnNextLogon": true})
	if resp.Error != nil || len(resp.Warnings) != 2 {
		t.Fatalf("resp = %+v", resp)
	}

	// Everything survives a restart.
	o.reopen()
	objs := o.ok("Get-Mailbox", map[string]any{"Identity": "kim.akers@contoso.test"})
	if len(objs) != 1 || propOf(t, objs[0], "Name") != "Kim Akers" {
		t.Fatalf("after reopen: %v", objNames(objs))
	}
	if r := o.recipient("Help Desk"); r == nil || !auth.CheckPassword(r.PasswordHash, userPassword) {
		t.Fatalf("Help Desk after reopen = %+v", r)
	}
}

// seedMailboxes creates mailboxes used by the listing tests.
func seedMailboxes(o *testOrg) {
	o.t.Helper()
	o.ok("New-Mailbox", map[string]any{"Name": "Kim Akers", "Alias": "kim", "FirstName": "Kim", "LastName": "Akers",
		"UserPrincipalName": "kim@contoso.test", "Password": userPassword})
	o.ok("New-Mailbox", map[string]any{"Name": "Room Everest", "Alias": "everest", "Room": true, "ResourceCapacity": float64(12)})
	o.ok("New-Mailbox", map[string]any{"Name": "Help Desk", "Alias": "helpdesk", "Shared": true})
}

func TestGetMailboxIdentityAndFilters(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	o.ok("Set-Mailbox", map[string]any{"Identity": "kim", "EmailAddresses": map[string]any{"Add": []any{"kim.proxy@contoso.example"}}})
	o.ok("Set-User", map[string]any{"Identity": "kim", "Department": "Sales"})
	kim := o.recipient("Kim Akers")
	var dn string
	_ = o.dir.Read(func(s *d.State) error { dn = s.DN(kim); return nil })

	tests := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"all", nil, []string{"Administrator", "Help Desk", "Kim Akers", "Room Everest"}},
		{"by name", map[string]any{"Identity": "kim akers"}, []string{"Kim Akers"}},
		{"by alias", map[string]any{"Identity": "KIM"}, []string{"Kim Akers"}},
		{"by proxy address", map[string]any{"Identity": "kim.proxy@contoso.example"}, []string{"Kim Akers"}},
		{"by UPN", map[string]any{"Identity": "kim@contoso.test"}, []string{"Kim Akers"}},
		{"by guid", map[string]any{"Identity": kim.ID}, []string{"Kim Akers"}},
		{"by DN", map[string]any{"Identity": dn}, []string{"Kim Akers"}},
		{"by canonical name", map[string]any{"Identity": "contoso.test/Users/Kim Akers"}, []string{"Kim Akers"}},
		{"by legacy DN", map[string]any{"Identity": kim.LegacyExchangeDN}, []string{"Kim Akers"}},
		{"wildcard", map[string]any{"Identity": "*k*"}, []string{"Help Desk", "Kim Akers"}},
		{"wildcard on address", map[string]any{"Identity": "*@contoso.test"}, []string{"Administrator", "Help Desk", "Kim Akers", "Room Everest"}},
		{"wildcard without match", map[string]any{"Identity": "zz*"}, nil},
		{"$null identity returns all", map[string]any{"Identity": nil}, []string{"Administrator", "Help Desk", "Kim Akers", "Room Everest"}},
		{"type details", map[string]any{"RecipientTypeDetails": []any{"RoomMailbox", "SharedMailbox"}}, []string{"Help Desk", "Room Everest"}},
		{"type details comma string", map[string]any{"RecipientTypeDetails": "roommailbox,sharedmailbox"}, []string{"Help Desk", "Room Everest"}},
		{"filter", map[string]any{"Filter": "RecipientTypeDetails -eq 'RoomMailbox' -or Alias -like 'kim*'"}, []string{"Kim Akers", "Room Everest"}},
		{"PrimarySmtpAddress filter also matches proxies", map[string]any{"Filter": "PrimarySmtpAddress -eq 'kim.proxy@contoso.example'"}, []string{"Kim Akers"}},
		{"EmailAddresses filter", map[string]any{"Filter": "EmailAddresses -eq 'smtp:kim.proxy@contoso.example'"}, []string{"Kim Akers"}},
		{"filter and identity", map[string]any{"Identity": "*", "Filter": "ResourceType -eq 'Room'"}, []string{"Room Everest"}},
		{"anr on first name", map[string]any{"Anr": "ki"}, []string{"Kim Akers"}},
		{"anr on last name first", map[string]any{"Anr": "akers k"}, []string{"Kim Akers"}},
		{"role groups and groups are not mailboxes", map[string]any{"Identity": "Organization*"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := o.ok("Get-Mailbox", tc.params)
			if got := objNames(objs); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// Department is a Get-User/Get-Recipient property, not a Get-Mailbox one.
	o.fails(o.adminID, "Get-Mailbox", map[string]any{"Filter": "Department -eq 'Sales'"}, "ParameterBindingException",
		`Cannot bind parameter 'Filter' to the target. Exception setting "Filter": ""Department" is not a recognized filterable property.`)
	for _, cmdlet := range []string{"Get-Recipient", "Get-User"} {
		if got := objNames(o.ok(cmdlet, map[string]any{"Filter": "Department -eq 'Sales'"})); !slices.Equal(got, []string{"Kim Akers"}) {
			t.Errorf("%s -Filter Department: %v", cmdlet, got)
		}
	}
	o.fails(o.adminID, "Get-Mailbox", map[string]any{"Filter": "Name -eq 'x' -and"}, "ParameterBindingException", "Invalid filter syntax")
	o.fails(o.adminID, "Get-Mailbox", map[string]any{"Filter": "RecipientTypeDetails -eq 'Rooom'"}, "ParameterBindingException", `Cannot convert value "Rooom"`)

	errs := []struct {
		name      string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"unknown identity", map[string]any{"Identity": "nobody"}, "ManagementObjectNotFoundException",
			[]string{fmt.Sprintf("The operation couldn't be performed because object 'nobody' couldn't be found on '%s'.", d.ServerName)}},
		{"group is not a mailbox", map[string]any{"Identity": "Organization Management"}, "ManagementObjectNotFoundException", []string{"couldn't be found"}},
		{"identity matching but filtered out", map[string]any{"Identity": "kim", "RecipientTypeDetails": "RoomMailbox"}, "ManagementObjectNotFoundException", nil},
		{"unknown type detail", map[string]any{"RecipientTypeDetails": "Mailbox"}, "ParameterBindingException", []string{"Unable to match the identifier name Mailbox"}},
		{"type detail of another cmdlet", map[string]any{"RecipientTypeDetails": "MailUser"}, "ParameterBindingValidationException", []string{`"MailUser" does not belong to the set`}},
		{"identity and anr", map[string]any{"Identity": "kim", "Anr": "kim"}, "ParameterBindingException", []string{"Parameter set cannot be resolved"}},
		{"zero result size", map[string]any{"ResultSize": float64(0)}, "ParameterBindingValidationException", []string{"ResultSize"}},
	}
	for _, tc := range errs {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			o.fails(o.adminID, "Get-Mailbox", tc.params, tc.exception, tc.msg...)
		})
	}
}

func TestResultSize(t *testing.T) {
	o := newTestOrg(t)
	// 1001 rooms (no passwords, so no hashing), written directly.
	err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		for i := 0; i < 1001; i++ {
			r, err := buildMailbox(tx.State(), o.org, MailboxSpec{Name: fmt.Sprintf("Room %04d", i), Type: d.RoomMailbox}, time.Now())
			if err != nil {
				return err
			}
			if err := tx.PutRecipient(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	resp := o.run("Get-Mailbox", nil)
	if resp.Error != nil || len(resp.Objects) != 1000 || len(resp.Warnings) != 1 ||
		!strings.HasPrefix(resp.Warnings[0], "By default, only the first 1000 items are returned. Use the ResultSize parameter") ||
		!strings.Contains(resp.Warnings[0], `"-ResultSize Unlimited"`) {
		t.Fatalf("default: %d objects, warnings %q, error %v", len(resp.Objects), resp.Warnings, resp.Error)
	}
	resp = o.run("Get-Mailbox", map[string]any{"ResultSize": "Unlimited"})
	if len(resp.Objects) != 1002 || len(resp.Warnings) != 0 {
		t.Fatalf("unlimited: %d objects, warnings %q", len(resp.Objects), resp.Warnings)
	}
	resp = o.run("Get-Recipient", map[string]any{"ResultSize": float64(5)})
	if len(resp.Objects) != 5 || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "increase the value for the ResultSize parameter") {
		t.Fatalf("5: %d objects, warnings %q", len(resp.Objects), resp.Warnings)
	}
	resp = o.run("Get-User", map[string]any{"ResultSize": float64(2000)})
	if len(resp.Objects) != 1002 || len(resp.Warnings) != 0 {
		t.Fatalf("2000: %d objects, warnings %q", len(resp.Objects), resp.Warnings)
	}
}

func TestAmbiguousIdentity(t *testing.T) {
	o := newTestOrg(t)
	// "pat" is the name of one mailbox and the alias of another.
	o.ok("New-Mailbox", map[string]any{"Name": "pat", "Alias": "patricia", "Shared": true})
	o.ok("New-Mailbox", map[string]any{"Name": "Pat Smith", "Alias": "pat", "Shared": true})
	// A wildcard returns every match.
	if got := objNames(o.ok("Get-Mailbox", map[string]any{"Identity": "pat*"})); !slices.Equal(got, []string{"pat", "Pat Smith"}) {
		t.Errorf("Get-Mailbox pat* = %v", got)
	}
	for _, tc := range []struct {
		cmdlet string
		params map[string]any
	}{
		{"Get-Mailbox", map[string]any{"Identity": "pat"}},
		{"Get-Recipient", map[string]any{"Identity": "pat"}},
		{"Get-User", map[string]any{"Identity": "pat"}},
		{"Set-Mailbox", map[string]any{"Identity": "pat", "DisplayName": "X"}},
		{"Set-User", map[string]any{"Identity": "pat", "Department": "X"}},
		{"Remove-Mailbox", map[string]any{"Identity": "pat"}},
	} {
		o.fails(o.adminID, tc.cmdlet, tc.params, "ManagementObjectAmbiguousException", "The operation couldn't be performed because 'pat' matches multiple entries.")
	}
	// Referenced too: -GrantSendOnBehalfTo pat is ambiguous.
	o.fails(o.adminID, "Set-Mailbox", map[string]any{"Identity": "admin", "GrantSendOnBehalfTo": "pat"}, "ManagementObjectAmbiguousException", "matches multiple entries")
	// The SMTP address is unique.
	o.ok("Set-Mailbox", map[string]any{"Identity": "pat@contoso.test", "DisplayName": "Pat S."})
	if r := o.recipient("Pat Smith"); r.DisplayName != "Pat S." {
		t.Errorf("DisplayName = %q", r.DisplayName)
	}
}

func TestSetMailbox(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "Alias": "sales"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sync Users", "Type": "Security"})

	t.Run("simple properties", func(t *testing.T) {
		resp := o.run("Set-Mailbox", map[string]any{"Identity": "kim", "DisplayName": "Kim A.", "CustomAttribute1": "VIP",
			"CustomAttribute15": "x", "Office": "B1"})
		if resp.Error != nil || len(resp.Objects) != 0 || len(resp.Warnings) != 0 {
			t.Fatalf("resp %+v", resp)
		}
		r := o.recipient("Kim Akers")
		if r.DisplayName != "Kim A." || r.CustomAttributes[0] != "VIP" || r.CustomAttributes[14] != "x" || r.Office != "B1" || !r.WhenChanged.After(r.WhenCreated.Add(-time.Second)) {
			t.Errorf("kim = %+v", r)
		}
		mb := o.ok("Get-Mailbox", map[string]any{"Identity": "kim", "Filter": "CustomAttribute1 -eq 'VIP'"})
		if len(mb) != 1 || propOf(t, mb[0], "CustomAttribute1") != "VIP" {
			t.Errorf("filter on CustomAttribute1: %v", objNames(mb))
		}
	})
	t.Run("no change warns", func(t *testing.T) {
		before := o.dir.Version()
		resp := o.run("Set-Mailbox", map[string]any{"Identity": "kim", "DisplayName": "Kim A."})
		if resp.Error != nil || len(resp.Warnings) != 1 || resp.Warnings[0] != "The command completed successfully but no settings of 'Kim Akers' have been modified." {
			t.Fatalf("resp %+v", resp)
		}
		if o.dir.Version() != before {
			t.Errorf("an unchanged Set-Mailbox wrote")
		}
	})
	t.Run("alias change under the address policy", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "kim", "Alias": "kakers"})
		r := o.recipient("Kim Akers")
		if r.Alias != "kakers" || r.PrimarySmtpAddress != "kakers@contoso.test" ||
			!slices.Equal(r.EmailAddresses, []string{"SMTP:kakers@contoso.test", "smtp:kim@contoso.test"}) || !r.EmailAddressPolicyEnabled {
			t.Errorf("kim = %q %q %v %v", r.Alias, r.PrimarySmtpAddress, r.EmailAddresses, r.EmailAddressPolicyEnabled)
		}
		// The old address still resolves.
		o.ok("Get-Mailbox", map[string]any{"Identity": "kim@contoso.test"})
	})
	t.Run("primary address", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "kakers", "PrimarySmtpAddress": "kim@contoso.example"})
		r := o.recipient("Kim Akers")
		if r.PrimarySmtpAddress != "kim@contoso.example" || r.EmailAddressPolicyEnabled ||
			!slices.Equal(r.EmailAddresses, []string{"SMTP:kim@contoso.example", "smtp:kakers@contoso.test", "smtp:kim@contoso.test"}) {
			t.Errorf("kim = %q %v %v", r.PrimarySmtpAddress, r.EmailAddresses, r.EmailAddressPolicyEnabled)
		}
	})
	t.Run("email addresses add and remove", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "kakers", "EmailAddresses": map[string]any{"Add": "SMTP:kim.akers@contoso.test", "Remove": []any{"kakers@contoso.test"}}})
		r := o.recipient("Kim Akers")
		if r.PrimarySmtpAddress != "kim.akers@contoso.test" ||
			!slices.Equal(r.EmailAddresses, []string{"SMTP:kim.akers@contoso.test", "smtp:kim@contoso.example", "smtp:kim@contoso.test"}) {
			t.Errorf("kim = %q %v", r.PrimarySmtpAddress, r.EmailAddresses)
		}
		// The removed address is free again.
		o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "EmailAddresses": map[string]any{"Add": "kakers@contoso.test"}})
	})
	t.Run("email addresses replace", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "kim.akers@contoso.test", "EmailAddresses": []any{"kim@contoso.test", "smtp:k@contoso.example", "X500:/o=Old/cn=kim"}})
		r := o.recipient("Kim Akers")
		if r.PrimarySmtpAddress != "kim@contoso.test" || !slices.Equal(r.EmailAddresses, []string{"SMTP:kim@contoso.test", "smtp:k@contoso.example", "X500:/o=Old/cn=kim"}) {
			t.Errorf("kim = %q %v", r.PrimarySmtpAddress, r.EmailAddresses)
		}
		o.fails(o.adminID, "Get-Recipient", map[string]any{"Identity": "kim.akers@contoso.test"}, "ManagementObjectNotFoundException")
	})
	t.Run("send on behalf", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "everest", "GrantSendOnBehalfTo": []any{"Kim Akers", "helpdesk"}})
		o.ok("Set-Mailbox", map[string]any{"Identity": "everest", "GrantSendOnBehalfTo": map[string]any{"Add": "Sync Users", "Remove": "helpdesk"}})
		mb := o.ok("Get-Mailbox", map[string]any{"Identity": "everest"})
		if got := propStrings(t, propOf(t, mb[0], "GrantSendOnBehalfTo")); !slices.Equal(got, []string{"Kim Akers", "Sync Users"}) {
			t.Errorf("GrantSendOnBehalfTo = %v", got)
		}
		// A distribution group isn't a security principal.
		o.fails(o.adminID, "Set-Mailbox", map[string]any{"Identity": "everest", "GrantSendOnBehalfTo": map[string]any{"Add": "Sales"}},
			"ManagementObjectNotFoundException", `Couldn't find object "Sales". Please make sure that it was spelled correctly or specify a different object.`)
	})
	t.Run("conversion", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "Type": "Room", "ResourceCapacity": float64(4)})
		r := o.recipient("Help Desk")
		if r.Type != d.RoomMailbox || r.ResourceCapacity != 4 || !r.AccountDisabled {
			t.Errorf("help desk = %+v", r)
		}
		o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "Type": "Regular", "Password": userPassword})
		r = o.recipient("Help Desk")
		if r.Type != d.UserMailbox || r.ResourceCapacity != 0 || r.AccountDisabled || !auth.CheckPassword(r.PasswordHash, userPassword) {
			t.Errorf("help desk = %+v", r)
		}
		o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "Type": "shared"})
		if r = o.recipient("Help Desk"); r.Type != d.SharedMailbox || !r.AccountDisabled || r.PasswordHash != "" {
			t.Errorf("help desk = %+v", r)
		}
	})
	t.Run("rename", func(t *testing.T) {
		o.ok("Set-Mailbox", map[string]any{"Identity": "helpdesk", "Name": "Service Desk"})
		if o.recipient("Help Desk") != nil || o.recipient("Service Desk") == nil {
			t.Fatalf("rename failed")
		}
		o.ok("Get-Mailbox", map[string]any{"Identity": "contoso.test/Users/Service Desk"})
	})

	kimBefore := *o.recipient("Kim Akers")
	failures := []struct {
		name      string
		params    map[string]any
		exception string
		msg       []string
	}{
		{"unknown identity", map[string]any{"Identity": "ghost", "DisplayName": "x"}, "ManagementObjectNotFoundException", []string{"object 'ghost' couldn't be found"}},
		{"identity is required", map[string]any{"DisplayName": "x"}, "ParameterBindingException", []string{"missing mandatory parameters: Identity"}},
		{"group identity", map[string]any{"Identity": "Sales", "DisplayName": "x"}, "ManagementObjectNotFoundException", nil},
		{"address taken, nothing else applied", map[string]any{"Identity": "Kim Akers", "DisplayName": "Changed", "PrimarySmtpAddress": "everest@contoso.test"},
			"ProxyAddressExistsException", []string{"everest@contoso.test"}},
		{"address and list together", map[string]any{"Identity": "Kim Akers", "PrimarySmtpAddress": "a@contoso.test", "EmailAddresses": "b@contoso.test"},
			"ParameterBindingException", []string{"Parameter set cannot be resolved"}},
		{"remove the primary", map[string]any{"Identity": "Kim Akers", "EmailAddresses": map[string]any{"Remove": "kim@contoso.test"}},
			"InvalidOperationException", []string{"primary SMTP address"}},
		{"two primaries", map[string]any{"Identity": "Kim Akers", "EmailAddresses": []any{"SMTP:a@contoso.test", "SMTP:b@contoso.test"}},
			"ArgumentException", []string{"Only one"}},
		{"foreign proxy domain", map[string]any{"Identity": "Kim Akers", "EmailAddresses": map[string]any{"Add": "kim@elsewhere.test"}},
			"DataValidationException", []string{"isn't an accepted domain"}},
		{"unsupported address type", map[string]any{"Identity": "Kim Akers", "EmailAddresses": map[string]any{"Add": "SIP:kim@contoso.test"}},
			"ArgumentException", []string{"SMTP and X500"}},
		{"rename to an existing name", map[string]any{"Identity": "Kim Akers", "Name": "room everest"}, "ADObjectAlreadyExistsException", nil},
		{"bad type", map[string]any{"Identity": "Kim Akers", "Type": "Workspace"}, "ParameterBindingException", []string{"Regular, Room, Equipment, Shared"}},
		{"convert yourself", map[string]any{"Identity": "admin", "Type": "Shared"}, "InvalidOperationException", []string{"your own mailbox"}},
		{"capacity on a user", map[string]any{"Identity": "Kim Akers", "ResourceCapacity": float64(3)}, "ArgumentException", nil},
		{"weak password", map[string]any{"Identity": "Kim Akers", "Password": "short"}, "PasswordComplexityException", nil},
		{"custom attribute too long", map[string]any{"Identity": "Kim Akers", "CustomAttribute3": strings.Repeat("x", 1025)}, "ParameterBindingValidationException", nil},
		{"Department is a Set-User parameter", map[string]any{"Identity": "Kim Akers", "Department": "Sales"}, "ParameterBindingException", []string{"'Department'"}},
	}
	for _, tc := range failures {
		t.Run("fails/"+tc.name, func(t *testing.T) {
			o.fails(o.adminID, "Set-Mailbox", tc.params, tc.exception, tc.msg...)
		})
	}
	if after := o.recipient("Kim Akers"); after.DisplayName != kimBefore.DisplayName || !slices.Equal(after.EmailAddresses, kimBefore.EmailAddresses) {
		t.Errorf("failed commands changed kim: %+v", after)
	}

	o.reopen()
	r := o.recipient("Kim Akers")
	if r.DisplayName != "Kim A." || r.CustomAttributes[0] != "VIP" || r.PrimarySmtpAddress != "kim@contoso.test" || len(r.EmailAddresses) != 3 {
		t.Errorf("after reopen: %+v", r)
	}
	if got := propStrings(t, propOf(t, o.ok("Get-Mailbox", map[string]any{"Identity": "everest"})[0], "GrantSendOnBehalfTo")); !slices.Equal(got, []string{"Kim Akers", "Sync Users"}) {
		t.Errorf("GrantSendOnBehalfTo after reopen = %v", got)
	}
}

func TestWriteScope(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	self := o.addUser("Self Service", map[string]string{"Mail Recipients": d.ScopeSelf})
	o.fails(self, "Set-Mailbox", map[string]any{"Identity": "kim", "DisplayName": "x"}, "OperationRequiresWriteScopeException",
		`The operation on mailbox "Kim Akers" failed because it's out of the current user's write scope.`)
	o.fails(self, "Set-User", map[string]any{"Identity": "kim", "Title": "x"}, "OperationRequiresWriteScopeException")
	if resp := o.runAs(self, "Set-Mailbox", map[string]any{"Identity": "Self Service", "DisplayName": "Me"}); resp.Error != nil {
		t.Fatalf("self: %s", resp.Error.Message)
	}
	// No role at all: the cmdlet doesn't exist for the caller.
	nobody := o.addUser("Nobody", nil)
	o.fails(nobody, "Get-Mailbox", nil, "CommandNotFoundException", "is not recognized")
	// A read-only role can list but not change.
	viewer := o.addUser("Viewer", map[string]string{"View-Only Recipients": d.ScopeOrganization})
	if resp := o.runAs(viewer, "Get-Mailbox", nil); resp.Error != nil || len(resp.Objects) == 0 {
		t.Fatalf("viewer Get-Mailbox: %+v", resp)
	}
	o.fails(viewer, "Set-Mailbox", map[string]any{"Identity": "kim", "DisplayName": "x"}, "CommandNotFoundException")
}

func TestRemoveMailbox(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	o.ok("New-Mailbox", map[string]any{"Name": "Lee Gu", "Alias": "leeg", "Shared": true})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales", "ManagedBy": []any{"kim", "admin"}, "Members": []any{"kim", "leeg"}})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Kim's Team", "Alias": "kimsteam", "ManagedBy": "kim"})
	o.ok("Set-Mailbox", map[string]any{"Identity": "everest", "GrantSendOnBehalfTo": []any{"kim", "leeg"}})
	kim := o.recipient("Kim Akers")

	o.fails(o.adminID, "Remove-Mailbox", map[string]any{"Identity": "admin"}, "InvalidOperationException", "your own mailbox")
	// Another recipient administrator can't remove or convert the last member of Organization Management.
	recipAdmin := o.addUser("Recipient Admin", map[string]string{"Mail Recipients": d.ScopeOrganization, "Mail Recipient Creation": d.ScopeOrganization})
	o.fails(recipAdmin, "Remove-Mailbox", map[string]any{"Identity": "admin"}, "InvalidOperationException", "last member of Organization Management")
	o.fails(recipAdmin, "Set-Mailbox", map[string]any{"Identity": "admin", "Type": "Shared"}, "InvalidOperationException", "last member of Organization Management")
	if resp := o.runAs(recipAdmin, "Set-Mailbox", map[string]any{"Identity": "admin", "Office": "HQ"}); resp.Error != nil {
		t.Fatalf("other changes are allowed: %s", resp.Error.Message)
	}
	// Nor take over a privileged account by resetting its password; an ordinary user's is fine.
	o.fails(recipAdmin, "Set-Mailbox", map[string]any{"Identity": "admin", "Password": userPassword}, "UnauthorizedAccessException", "Role Management")
	if resp := o.runAs(recipAdmin, "Set-Mailbox", map[string]any{"Identity": "leeg", "Password": userPassword}); resp.Error != nil {
		t.Fatalf("reset an ordinary password: %s", resp.Error.Message)
	}
	if resp := o.runAs(recipAdmin, "Set-Mailbox", map[string]any{"Identity": "Recipient Admin", "Password": userPassword}); resp.Error != nil {
		t.Fatalf("reset one's own password: %s", resp.Error.Message)
	}
	if resp := o.run("Set-Mailbox", map[string]any{"Identity": "Recipient Admin", "Password": "An0ther-Passw0rd"}); resp.Error != nil {
		t.Fatalf("Role Management resets a privileged password: %s", resp.Error.Message)
	}
	o.fails(o.adminID, "Remove-Mailbox", map[string]any{"Identity": "ghost"}, "ManagementObjectNotFoundException", "'ghost'")
	o.fails(o.adminID, "Remove-Mailbox", map[string]any{"Identity": "Sales"}, "ManagementObjectNotFoundException")

	resp := o.run("Remove-Mailbox", map[string]any{"Identity": "kim", "Permanent": true})
	if resp.Error != nil || len(resp.Objects) != 0 {
		t.Fatalf("Remove-Mailbox: %+v", resp.Error)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], `"Kim's Team" has no owner`) {
		t.Errorf("warnings %q", resp.Warnings)
	}
	check := func() {
		t.Helper()
		if o.recipient("Kim Akers") != nil {
			t.Fatal("kim still exists")
		}
		o.fails(o.adminID, "Get-Mailbox", map[string]any{"Identity": "kim@contoso.test"}, "ManagementObjectNotFoundException")
		if got := objNames(o.ok("Get-DistributionGroupMember", map[string]any{"Identity": "Sales"})); !slices.Equal(got, []string{"Lee Gu"}) {
			t.Errorf("Sales members = %v", got)
		}
		_ = o.dir.Read(func(s *d.State) error {
			for _, r := range s.Recipients(o.org.ID) {
				if contains(r.ManagedBy, kim.ID) || contains(r.GrantSendOnBehalfTo, kim.ID) {
					t.Errorf("%s still references the removed mailbox", r.Name)
				}
			}
			if len(s.MemberOf(kim.ID)) != 0 {
				t.Errorf("memberships remain")
			}
			return nil
		})
		if got := propStrings(t, propOf(t, o.ok("Get-DistributionGroup", map[string]any{"Identity": "Sales"})[0], "ManagedBy")); !slices.Equal(got, []string{"Administrator"}) {
			t.Errorf("Sales ManagedBy = %v", got)
		}
	}
	check()
	o.reopen()
	check()
	// Its addresses and name are free again.
	o.ok("New-Mailbox", map[string]any{"Name": "Kim Akers", "Alias": "kim", "Shared": true})
	if r := o.recipient("Kim Akers"); r.PrimarySmtpAddress != "kim@contoso.test" || r.ID == kim.ID {
		t.Errorf("recreated kim = %+v", r)
	}
}

func TestUser(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	o.ok("Set-User", map[string]any{"Identity": "kim", "Department": "Sales", "Company": "Contoso", "City": "Seattle", "Office": "B1",
		"Title": "Account Manager", "FirstName": "Kimberly", "DisplayName": "Kimberly Akers"})
	u := o.ok("Get-User", map[string]any{"Identity": "kim"})
	if len(u) != 1 || u[0].Type != "User" || !slices.Equal(u[0].View, []string{"Name", "RecipientType"}) {
		t.Fatalf("Get-User = %+v", u)
	}
	for k, v := range map[string]any{"Department": "Sales", "Company": "Contoso", "City": "Seattle", "Office": "B1", "Title": "Account Manager",
		"FirstName": "Kimberly", "LastName": "Akers", "DisplayName": "Kimberly Akers", "RecipientType": "UserMailbox", "UserPrincipalName": "kim@contoso.test"} {
		if got := propOf(t, u[0], k); got != v {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	if sid := propOf(t, u[0], "Sid").(string); !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Errorf("Sid %q", sid)
	}
	if got := objNames(o.ok("Get-User", map[string]any{"Filter": "City -eq 'Seattle' -and Title -like '*Manager'"})); !slices.Equal(got, []string{"Kim Akers"}) {
		t.Errorf("Get-User -Filter = %v", got)
	}
	if got := objNames(o.ok("Get-User", map[string]any{"RecipientTypeDetails": "SharedMailbox"})); !slices.Equal(got, []string{"Help Desk"}) {
		t.Errorf("Get-User -RecipientTypeDetails = %v", got)
	}
	resp := o.run("Set-User", map[string]any{"Identity": "kim", "Department": "Sales"})
	if resp.Error != nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "no settings of 'Kim Akers' have been modified") {
		t.Errorf("unchanged Set-User: %+v", resp)
	}
	o.fails(o.adminID, "Set-User", map[string]any{"Identity": "kim", "Department": "HR", "Manager": "admin"}, "ArgumentException", "Manager")
	o.fails(o.adminID, "Set-User", map[string]any{"Identity": "kim", "CustomAttribute1": "x"}, "ParameterBindingException", "'CustomAttribute1'")
	o.fails(o.adminID, "Set-User", map[string]any{"Identity": "kim", "Department": strings.Repeat("d", 65)}, "ParameterBindingValidationException")
	o.fails(o.adminID, "Set-User", map[string]any{"Identity": "nobody", "Department": "HR"}, "ManagementObjectNotFoundException")
	o.reopen()
	if r := o.recipient("Kim Akers"); r.Department != "Sales" || r.Title != "Account Manager" {
		t.Errorf("after reopen: %+v", r)
	}
}

func TestGetRecipient(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sales"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Sync Users", "Type": "Security"})
	o.ok("New-DistributionGroup", map[string]any{"Name": "Building 1", "RoomList": true, "Members": "everest"})
	o.ok("Set-User", map[string]any{"Identity": "kim", "Department": "Sales"})

	tests := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"all but role groups", nil, []string{"Administrator", "Building 1", "Help Desk", "Kim Akers", "Room Everest", "Sales", "Sync Users"}},
		{"recipient type", map[string]any{"RecipientType": "MailUniversalDistributionGroup"}, []string{"Building 1", "Sales"}},
		{"recipient types", map[string]any{"RecipientType": []any{"MailUniversalSecurityGroup", "UserMailbox"}},
			[]string{"Administrator", "Help Desk", "Kim Akers", "Room Everest", "Sync Users"}},
		{"type and details", map[string]any{"RecipientType": "UserMailbox", "RecipientTypeDetails": []any{"RoomMailbox", "RoomList"}}, []string{"Room Everest"}},
		{"details", map[string]any{"RecipientTypeDetails": "RoomList"}, []string{"Building 1"}},
		{"filter on Department", map[string]any{"Filter": "Department -eq 'Sales'"}, []string{"Kim Akers"}},
		{"preview filter", map[string]any{"RecipientPreviewFilter": "RecipientTypeDetails -eq 'RoomMailbox' -or Alias -eq 'Sales'"}, []string{"Room Everest", "Sales"}},
		{"anr", map[string]any{"Anr": "s"}, []string{"Sales", "Sync Users"}},
		{"by address", map[string]any{"Identity": "sales@contoso.test"}, []string{"Sales"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := o.ok("Get-Recipient", tc.params)
			if got := objNames(objs); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			for _, obj := range objs {
				if obj.Type != "ReducedRecipient" || !slices.Equal(obj.View, []string{"Name", "RecipientType"}) {
					t.Errorf("object %s: type %q view %v", propOf(t, obj, "Name"), obj.Type, obj.View)
				}
			}
		})
	}
	// MemberOfGroup compares distinguished names, as in Exchange.
	var dn string
	_ = o.dir.Read(func(s *d.State) error { dn = s.DN(o.recipient("Building 1")); return nil })
	if got := objNames(o.ok("Get-Recipient", map[string]any{"Filter": fmt.Sprintf("MemberOfGroup -eq '%s'", dn)})); !slices.Equal(got, []string{"Room Everest"}) {
		t.Errorf("MemberOfGroup by DN = %v", got)
	}
	if got := o.ok("Get-Recipient", map[string]any{"Filter": "MemberOfGroup -eq 'Building 1'"}); len(got) != 0 {
		t.Errorf("MemberOfGroup by name matched %v", objNames(got))
	}

	o.fails(o.adminID, "Get-Recipient", map[string]any{"RecipientType": "MailUniversalDistributionGroup", "RecipientTypeDetails": "RoomMailbox"},
		"ArgumentException", "None of the specified RecipientTypeDetails are included in any specified recipient type.")
	o.fails(o.adminID, "Get-Recipient", map[string]any{"RecipientPreviewFilter": "Departmnt -eq 'x'"}, "ParameterBindingException",
		`Cannot bind parameter 'RecipientPreviewFilter' to the target. Exception setting "RecipientPreviewFilter": ""Departmnt" is not a recognized filterable property.`)
	o.fails(o.adminID, "Get-Recipient", map[string]any{"RecipientType": "Mailbox"}, "ParameterBindingException", "Unable to match the identifier name Mailbox")
	o.fails(o.adminID, "Get-Recipient", map[string]any{"Identity": "Organization Management"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Get-Recipient", map[string]any{"RecipientTypeDetails": "RoleGroup"}, "ParameterBindingValidationException")
	o.fails(o.adminID, "Get-Recipient", map[string]any{"Identity": "kim", "RecipientPreviewFilter": "Name -eq 'x'"}, "ParameterBindingException", "Parameter set")
}

func TestOtherOrganizationIsInvisible(t *testing.T) {
	o := newTestOrg(t)
	seedMailboxes(o)
	other := &d.Org{ID: newGUID(), Name: "Fabrikam", Domains: []string{"fabrikam.test"}}
	err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		if err := tx.PutOrg(other); err != nil {
			return err
		}
		r, err := buildMailbox(tx.State(), other, MailboxSpec{Name: "Kim Akers", Alias: "kim", Type: d.SharedMailbox}, time.Now())
		if err != nil {
			return err
		}
		return tx.PutRecipient(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Same name in another organization: no ambiguity, no leak.
	if got := o.ok("Get-Mailbox", map[string]any{"Identity": "kim"}); len(got) != 1 || propOf(t, got[0], "PrimarySmtpAddress") != "kim@contoso.test" {
		t.Fatalf("Get-Mailbox kim = %v", objNames(got))
	}
	o.fails(o.adminID, "Get-Mailbox", map[string]any{"Identity": "kim@fabrikam.test"}, "ManagementObjectNotFoundException")
	o.fails(o.adminID, "Set-Mailbox", map[string]any{"Identity": "kim", "EmailAddresses": map[string]any{"Add": "kim2@fabrikam.test"}}, "DataValidationException", "accepted domain")
	if n := len(o.ok("Get-Recipient", map[string]any{"ResultSize": "Unlimited"})); n != 4 {
		t.Errorf("Get-Recipient returned %d recipients", n)
	}
}
