package rbac

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/store"
)

// fixture builds directory state directly through transactions.
type fixture struct {
	t   testing.TB
	dir *d.Directory
	org *d.Org
	n   int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir, err := d.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir}
	f.org = f.newOrg("contoso.test")
	return f
}

func (f *fixture) id() string {
	f.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.n)
}

func (f *fixture) write(fn func(tx *d.Tx) error) {
	f.t.Helper()
	if err := f.dir.Write(context.Background(), fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) newOrg(domain string) *d.Org {
	o := &d.Org{ID: f.id(), Name: domain, Domains: []string{domain}, WhenCreated: time.Now()}
	f.write(func(tx *d.Tx) error { return tx.PutOrg(o) })
	return o
}

func (f *fixture) recipient(org *d.Org, name, typ string, mutate ...func(*d.Recipient)) *d.Recipient {
	r := &d.Recipient{ID: f.id(), Org: org.ID, Type: typ, Name: name, Alias: strings.ToLower(name),
		PrimarySmtpAddress: strings.ToLower(name) + "@" + org.DefaultDomain()}
	r.EmailAddresses = []string{"SMTP:" + r.PrimarySmtpAddress}
	for _, m := range mutate {
		m(r)
	}
	f.write(func(tx *d.Tx) error { return tx.PutRecipient(r) })
	return r
}

func (f *fixture) member(g, m *d.Recipient) {
	f.write(func(tx *d.Tx) error { tx.AddMember(g.ID, m.ID); return nil })
}

func (f *fixture) unmember(g, m *d.Recipient) {
	f.write(func(tx *d.Tx) error { tx.RemoveMember(g.ID, m.ID); return nil })
}

func (f *fixture) scope(name, filter string, exclusive bool) *d.Scope {
	sc := &d.Scope{ID: f.id(), Org: f.org.ID, Name: name, Filter: filter, Exclusive: exclusive}
	f.write(func(tx *d.Tx) error { return tx.PutScope(sc) })
	if _, err := sc.Compiled(); err != nil {
		f.t.Fatalf("scope %s: %v", name, err)
	}
	return sc
}

func (f *fixture) assign(name string, to *d.Recipient, role string, sc *d.Scope, mutate ...func(*d.Assignment)) *d.Assignment {
	a := &d.Assignment{ID: f.id(), Org: f.org.ID, Name: name, Role: role, Assignee: to.ID, AssigneeType: d.AssigneeUser,
		Enabled: true, WriteScope: d.ScopeOrganization}
	if to.Type == d.RoleGroup {
		a.AssigneeType = d.AssigneeRoleGroup
	}
	if sc != nil {
		a.ScopeID = sc.ID
		a.WriteScope = d.ScopeCustom
		if sc.Exclusive {
			a.WriteScope = d.ScopeExclusive
		}
	}
	for _, m := range mutate {
		m(a)
	}
	f.write(func(tx *d.Tx) error { return tx.PutAssignment(a) })
	return a
}

func (f *fixture) decide(caller, target *d.Recipient) Decision {
	var dec Decision
	_ = f.dir.Read(func(s *d.State) error { dec = Decide(s, s.Recipient(caller.ID), target); return nil })
	return dec
}

func TestDecide(t *testing.T) {
	f := newFixture(t)
	svc := f.recipient(f.org, "svc", d.UserMailbox)
	room := f.recipient(f.org, "room1", d.RoomMailbox)
	alice := f.recipient(f.org, "alice", d.UserMailbox)
	bob := f.recipient(f.org, "bob", d.UserMailbox)
	vip := f.recipient(f.org, "vip", d.UserMailbox, func(r *d.Recipient) { r.Title = "CEO" })
	ridg := f.recipient(f.org, "RIDG", d.MailUniversalDistributionGroup)
	other := f.newOrg("fabrikam.test")
	stranger := f.recipient(other, "stranger", d.UserMailbox)

	if dec := f.decide(svc, room); dec.Allowed || dec.Reason != NoAssignment {
		t.Fatalf("no assignment: got %+v", dec)
	}

	rooms := f.scope("Rooms", `RecipientTypeDetails -eq "RoomMailbox"`, false)
	f.assign("ResourceImpersonation", svc, ApplicationImpersonation, rooms)
	var ridgDN string
	_ = f.dir.Read(func(s *d.State) error { ridgDN = s.DN(ridg); return nil })
	riScope := f.scope("RIusersScope", fmt.Sprintf("MemberOfGroup -eq '%s'", ridgDN), false)
	master := f.recipient(f.org, "MasterImpersonation", d.UserMailbox)
	rg := f.recipient(f.org, "RIappImpersonation", d.RoleGroup)
	f.member(rg, master)
	f.assign("ApplicationImpersonation-RIappImpersonation", rg, ApplicationImpersonation, riScope)
	f.member(ridg, alice)

	tests := []struct {
		name    string
		caller  *d.Recipient
		target  *d.Recipient
		allowed bool
		reason  Reason
		msg     string
	}{
		{"room in rooms scope", svc, room, true, Allowed, `through role assignment "ResourceImpersonation" (management scope "Rooms")`},
		{"user outside rooms scope", svc, alice, false, OutOfScope, `does not match the filter of management scope "Rooms"`},
		{"group member via role group", master, alice, true, Allowed, "RIappImpersonation"},
		{"non-member via role group", master, bob, false, OutOfScope, "RIusersScope"},
		{"unknown target", svc, nil, false, TargetUnknown, "does not exist"},
		{"other organization", svc, stranger, false, TargetOtherOrg, "does not exist"},
		{"no assignment at all", alice, room, false, NoAssignment, "has no ApplicationImpersonation role assignment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec := f.decide(tc.caller, tc.target)
			if dec.Allowed != tc.allowed || dec.Reason != tc.reason || !strings.Contains(dec.Message, tc.msg) {
				t.Fatalf("got allowed=%v reason=%s msg=%q; want %v %s containing %q", dec.Allowed, dec.Reason, dec.Message, tc.allowed, tc.reason, tc.msg)
			}
			if tc.target != nil && tc.target.Org != tc.caller.Org && strings.Contains(dec.Message, tc.target.Name) {
				t.Fatalf("the decision reveals another organization's mailbox: %q", dec.Message)
			}
		})
	}

	// Membership changes apply at the very next decision.
	f.member(ridg, bob)
	if dec := f.decide(master, bob); !dec.Allowed {
		t.Fatalf("bob added to RIDG: still denied: %s", dec.Message)
	}
	f.unmember(ridg, bob)
	if dec := f.decide(master, bob); dec.Allowed {
		t.Fatal("bob removed from RIDG: still allowed")
	}

	// An org-wide assignment covers everyone, until an exclusive scope holds the VIP.
	orgwide := f.recipient(f.org, "archiver", d.UserMailbox)
	f.assign("Archiver", orgwide, ApplicationImpersonation, nil)
	if dec := f.decide(orgwide, vip); !dec.Allowed {
		t.Fatalf("org-wide: %s", dec.Message)
	}
	vipScope := f.scope("VIP", "Title -eq 'CEO'", true)
	if dec := f.decide(orgwide, vip); dec.Allowed || dec.Reason != ExclusiveScope || !strings.Contains(dec.Message, `"VIP"`) {
		t.Fatalf("exclusive VIP: got %+v", dec)
	}
	if dec := f.decide(orgwide, bob); !dec.Allowed {
		t.Fatalf("exclusive scope must not affect others: %s", dec.Message)
	}
	vipSvc := f.recipient(f.org, "vipsvc", d.UserMailbox)
	f.assign("VIP Impersonation", vipSvc, ApplicationImpersonation, vipScope)
	if dec := f.decide(vipSvc, vip); !dec.Allowed {
		t.Fatalf("exclusive assignment: %s", dec.Message)
	}

	// Disabled and delegating assignments do not allow.
	dis := f.recipient(f.org, "disabled", d.UserMailbox)
	f.assign("Disabled", dis, ApplicationImpersonation, nil, func(a *d.Assignment) { a.Enabled = false })
	if dec := f.decide(dis, bob); dec.Allowed || dec.Reason != AllDisabled {
		t.Fatalf("disabled: %+v", dec)
	}
	del := f.recipient(f.org, "delegator", d.UserMailbox)
	f.assign("Delegating", del, ApplicationImpersonation, nil, func(a *d.Assignment) { a.Delegating = true })
	if dec := f.decide(del, bob); dec.Allowed || dec.Reason != NoAssignment {
		t.Fatalf("delegating: %+v", dec)
	}

	// Nested groups: a security group inside a role group.
	nestedSvc := f.recipient(f.org, "nested", d.UserMailbox)
	usg := f.recipient(f.org, "Sync Services", d.MailUniversalSecurityGroup)
	f.member(usg, nestedSvc)
	f.member(rg, usg)
	if dec := f.decide(nestedSvc, alice); !dec.Allowed {
		t.Fatalf("nested: %+v", dec)
	}
	var ex Decision
	_ = f.dir.Read(func(s *d.State) error { ex = Explain(s, s.Recipient(nestedSvc.ID), alice); return nil })
	if !ex.Allowed || len(ex.Rows) != 1 || ex.Rows[0].Via != "RIappImpersonation" || !ex.Rows[0].InScope {
		t.Fatalf("explain nested: %+v", ex)
	}
}

// BenchmarkDecide: one decision for a caller reaching 100 ApplicationImpersonation
// assignments, the allowing one scoped to a 10,000-member group.
func BenchmarkDecide(b *testing.B) {
	f := newFixture(b)
	svc := f.recipient(f.org, "svc", d.UserMailbox)
	group := f.recipient(f.org, "Big Group", d.MailUniversalSecurityGroup)
	var target *d.Recipient
	f.write(func(tx *d.Tx) error {
		for i := 0; i < 10000; i++ {
			r := &d.Recipient{ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", i), Org: f.org.ID, Type: d.UserMailbox,
				Name: fmt.Sprintf("user%05d", i), PrimarySmtpAddress: fmt.Sprintf("user%05d@contoso.test", i)}
			r.EmailAddresses = []string{"SMTP:" + r.PrimarySmtpAddress}
			if err := tx.PutRecipient(r); err != nil {
				return err
			}
			tx.AddMember(group.ID, r.ID)
			if i == 7777 {
				target = r
			}
		}
		return nil
	})
	for i := 0; i < 99; i++ {
		sc := f.scope(fmt.Sprintf("scope%02d", i), fmt.Sprintf("CustomAttribute1 -eq 'tenant%02d'", i), false)
		f.assign(fmt.Sprintf("a%02d", i), svc, ApplicationImpersonation, sc)
	}
	var dn string
	_ = f.dir.Read(func(s *d.State) error { dn = s.DN(group); return nil })
	f.assign("group", svc, ApplicationImpersonation, f.scope("group scope", "MemberOfGroup -eq '"+dn+"'", false))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if dec := f.decide(svc, target); !dec.Allowed {
			b.Fatal(dec.Message)
		}
	}
}
