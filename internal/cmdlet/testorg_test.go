package cmdlet

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/store"
)

// testAdminPassword is the password of the test organization's administrator.
const testAdminPassword = "Adm1n-Passw0rd!"

// testOrg is an organization on a real SQLite store, with an administrator
// in an "Organization Management" role group, driven through the registry.
type testOrg struct {
	t       *testing.T
	ctx     context.Context
	dataDir string
	st      *store.SQLite
	dir     *d.Directory
	reg     *Registry
	org     *d.Org
	adminID string
	omID    string // the Organization Management role group
}

// orgManagementRoles are the roles the test's Organization Management holds.
var orgManagementRoles = []string{"Mail Recipients", "Mail Recipient Creation", "Distribution Groups",
	"Security Group Creation and Membership", "Role Management"}

// newTestOrg creates the organization Contoso (contoso.test, plus the
// accepted domain contoso.example) with admin@contoso.test.
func newTestOrg(t *testing.T) *testOrg {
	t.Helper()
	o := &testOrg{t: t, ctx: context.Background(), dataDir: t.TempDir()}
	o.open()
	now := time.Now().UTC().Truncate(time.Second)
	o.org = &d.Org{ID: newGUID(), Name: "Contoso", Domains: []string{"contoso.test", "contoso.example"}, WhenCreated: now}
	err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		if err := tx.PutOrg(o.org); err != nil {
			return err
		}
		admin, err := buildMailbox(tx.State(), o.org, MailboxSpec{Name: "Administrator", Alias: "admin", UPN: "admin@contoso.test",
			Password: testAdminPassword, Type: d.UserMailbox}, now)
		if err != nil {
			return err
		}
		if err := tx.PutRecipient(admin); err != nil {
			return err
		}
		g := &d.Recipient{ID: newGUID(), Org: o.org.ID, Type: d.RoleGroup, Name: "Organization Management",
			DisplayName: "Organization Management", SID: newSID(o.org), WhenCreated: now, WhenChanged: now}
		if err := tx.PutRecipient(g); err != nil {
			return err
		}
		tx.AddMember(g.ID, admin.ID)
		for _, role := range orgManagementRoles {
			if err := tx.PutAssignment(&d.Assignment{ID: newGUID(), Org: o.org.ID, Name: role + "-Organization Management", Role: role,
				Assignee: g.ID, AssigneeType: d.AssigneeRoleGroup, Enabled: true, WriteScope: d.ScopeOrganization,
				WhenCreated: now, WhenChanged: now}); err != nil {
				return err
			}
		}
		o.adminID, o.omID = admin.ID, g.ID
		return nil
	})
	if err != nil {
		t.Fatalf("bootstrap test organization: %v", err)
	}
	return o
}

func (o *testOrg) open() {
	o.t.Helper()
	st, err := store.OpenSQLite(o.ctx, o.dataDir)
	if err != nil {
		o.t.Fatalf("open store: %v", err)
	}
	dir, err := d.Open(o.ctx, st)
	if err != nil {
		st.Close()
		o.t.Fatalf("open directory: %v", err)
	}
	o.st, o.dir = st, dir
	o.reg = New(dir, slog.New(slog.DiscardHandler))
	o.t.Cleanup(func() { st.Close() })
}

// reopen closes the store and loads everything again from disk.
func (o *testOrg) reopen() {
	o.t.Helper()
	if err := o.st.Close(); err != nil {
		o.t.Fatalf("close store: %v", err)
	}
	o.open()
}

// addUser creates a user mailbox that can run cmdlets, with direct role
// assignments (role -> recipient write scope). It skips password hashing:
// the registry trusts the caller id it is given.
func (o *testOrg) addUser(name string, roles map[string]string) string {
	o.t.Helper()
	var id string
	err := o.dir.Write(o.ctx, func(tx *d.Tx) error {
		now := time.Now().UTC().Truncate(time.Second)
		r, err := buildMailbox(tx.State(), o.org, MailboxSpec{Name: name, Type: d.SharedMailbox}, now)
		if err != nil {
			return err
		}
		r.Type, r.AccountDisabled = d.UserMailbox, false
		if err := tx.PutRecipient(r); err != nil {
			return err
		}
		for role, scope := range roles {
			if err := tx.PutAssignment(&d.Assignment{ID: newGUID(), Org: o.org.ID, Name: role + "-" + name, Role: role,
				Assignee: r.ID, AssigneeType: d.AssigneeUser, Enabled: true, WriteScope: scope,
				WhenCreated: now, WhenChanged: now}); err != nil {
				return err
			}
		}
		id = r.ID
		return nil
	})
	if err != nil {
		o.t.Fatalf("add user %s: %v", name, err)
	}
	return id
}

// runAs invokes a cmdlet as the given caller.
func (o *testOrg) runAs(caller, cmdlet string, params map[string]any) *adminapi.Response {
	o.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	return o.reg.Invoke(o.ctx, caller, adminapi.Request{Cmdlet: cmdlet, Params: params})
}

// run invokes a cmdlet as the administrator.
func (o *testOrg) run(cmdlet string, params map[string]any) *adminapi.Response {
	o.t.Helper()
	return o.runAs(o.adminID, cmdlet, params)
}

// ok invokes a cmdlet as the administrator and fails the test on error.
func (o *testOrg) ok(cmdlet string, params map[string]any) []*adminapi.Object {
	o.t.Helper()
	resp := o.run(cmdlet, params)
	if resp.Error != nil {
		o.t.Fatalf("%s %v: %s (%s)", cmdlet, params, resp.Error.Message, resp.Error.Exception)
	}
	return resp.Objects
}

// fails checks that a response is an error of the given exception whose
// message contains every substring, and that nothing was written.
func (o *testOrg) fails(caller, cmdlet string, params map[string]any, exception string, substrs ...string) *adminapi.Error {
	o.t.Helper()
	before := o.dir.Version()
	resp := o.runAs(caller, cmdlet, params)
	if resp.Error == nil {
		o.t.Fatalf("%s %v succeeded; want %s", cmdlet, params, exception)
	}
	if exception != "" && resp.Error.Exception != exception {
		o.t.Errorf("%s %v: exception %q, want %q (message %q)", cmdlet, params, resp.Error.Exception, exception, resp.Error.Message)
	}
	for _, s := range substrs {
		if !strings.Contains(resp.Error.Message, s) {
			o.t.Errorf("%s %v: message %q does not contain %q", cmdlet, params, resp.Error.Message, s)
		}
	}
	if after := o.dir.Version(); after != before {
		o.t.Errorf("%s %v failed but the directory changed (version %d -> %d)", cmdlet, params, before, after)
	}
	if len(resp.Objects) != 0 {
		o.t.Errorf("%s %v failed but returned %d objects", cmdlet, params, len(resp.Objects))
	}
	return resp.Error
}

// recipient returns the committed recipient with that exact name, or nil.
func (o *testOrg) recipient(name string) *d.Recipient {
	var r *d.Recipient
	_ = o.dir.Read(func(s *d.State) error {
		r = s.RecipientByName(o.org.ID, name)
		return nil
	})
	return r
}

// get returns a property value of a result object.
func propOf(t *testing.T, obj *adminapi.Object, name string) any {
	t.Helper()
	v, ok := obj.Get(name)
	if !ok {
		t.Fatalf("%s object has no property %s", obj.Type, name)
	}
	return v
}

// names returns the Name of each object.
func objNames(objs []*adminapi.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		v, _ := o.Get("Name")
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// strList converts a []any property to strings.
func propStrings(t *testing.T, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("value %#v is not a list", v)
	}
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
