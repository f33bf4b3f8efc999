package directory

import (
	"context"
	"errors"
	"testing"

	"github.com/actasmail/actas/internal/store"
)

func TestResolveAndTransactions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	org := &Org{ID: "00000000-0000-4000-8000-000000000001", Name: "Contoso", Domains: []string{"contoso.test"}}
	other := &Org{ID: "00000000-0000-4000-8000-000000000002", Name: "Fabrikam", Domains: []string{"fabrikam.test"}}
	mk := func(id, org, name, alias, smtp, typ string) *Recipient {
		return &Recipient{ID: id, Org: org, Name: name, Alias: alias, Type: typ, PrimarySmtpAddress: smtp,
			UserPrincipalName: smtp, SID: "S-1-5-21-1-2-3-" + id[len(id)-4:], EmailAddresses: []string{"SMTP:" + smtp, "smtp:x." + smtp}}
	}
	jane := mk("00000000-0000-4000-8000-000000001001", org.ID, "Jane, Doe", "jane", "jane@contoso.test", UserMailbox)
	jdoe := mk("00000000-0000-4000-8000-000000001002", org.ID, "jdoe", "jd", "jd@contoso.test", UserMailbox)
	john := mk("00000000-0000-4000-8000-000000001003", org.ID, "John", "jdoe", "john@contoso.test", UserMailbox)
	group := mk("00000000-0000-4000-8000-000000001004", org.ID, "Sales", "sales", "sales@contoso.test", MailUniversalDistributionGroup)
	twin := mk("00000000-0000-4000-8000-000000002001", other.ID, "Jane, Doe", "jane", "jane@fabrikam.test", UserMailbox)
	err = d.Write(ctx, func(tx *Tx) error {
		for _, o := range []*Org{org, other} {
			if err := tx.PutOrg(o); err != nil {
				return err
			}
		}
		for _, r := range []*Recipient{jane, jdoe, john, group, twin} {
			if err := tx.PutRecipient(r); err != nil {
				return err
			}
		}
		tx.AddMember(group.ID, jane.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failing transaction changes neither memory nor disk.
	v := d.Version()
	boom := errors.New("boom")
	if err := d.Write(ctx, func(tx *Tx) error {
		tx.DeleteRecipient(jane.ID)
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if d.Version() != v {
		t.Fatal("a failed transaction bumped the version")
	}

	check := func(d *Directory) {
		t.Helper()
		_ = d.Read(func(s *State) error {
			dn := s.DN(jane)
			if dn != `CN=Jane\, Doe,OU=contoso.test,OU=Actas Organizations,DC=actas,DC=local` {
				t.Errorf("DN = %q", dn)
			}
			for _, tc := range []struct {
				id    string
				want  *Recipient
				amb   bool
				kinds Kinds
			}{
				{jane.ID, jane, false, AnyRecipient},
				{"{" + jane.ID + "}", jane, false, AnyRecipient},
				{dn, jane, false, AnyRecipient},
				{"Jane, Doe", jane, false, AnyRecipient},
				{"JANE", jane, false, AnyRecipient},
				{"x.jane@contoso.test", jane, false, AnyRecipient},
				{"CONTOSO\\jane", jane, false, AnyRecipient},
				{"contoso.test/Users/Jane, Doe", jane, false, AnyRecipient},
				{jane.SID, jane, false, AnyRecipient},
				{"jdoe", nil, true, AnyRecipient}, // name of one, alias of another
				{"Sales", nil, false, Mailboxes},  // wrong kind: not found
				{"jane@fabrikam.test", nil, false, AnyRecipient},
				{twin.ID, nil, false, AnyRecipient},
			} {
				r, err := s.Resolve(org.ID, tc.id, tc.kinds, false)
				var amb *AmbiguousError
				var nf *NotFoundError
				switch {
				case tc.amb && !errors.As(err, &amb):
					t.Errorf("%q: want ambiguity, got %v %v", tc.id, r, err)
				case tc.want == nil && !tc.amb && !errors.As(err, &nf):
					t.Errorf("%q: want not found, got %v %v", tc.id, r, err)
				case tc.want != nil && (err != nil || r.ID != tc.want.ID):
					t.Errorf("%q: got %v %v", tc.id, r, err)
				}
			}
			if got := s.Find(org.ID, "j*", AnyRecipient); len(got) != 3 {
				t.Errorf("wildcard j*: %d matches", len(got))
			}
			if !s.IsMember(group.ID, jane.ID) || len(s.MemberOf(jane.ID)) != 1 {
				t.Error("membership lost")
			}
			if vals := (Record{S: s, R: jane}).Values("MemberOfGroup"); len(vals) != 2 || vals[0] != s.DN(group) {
				t.Errorf("MemberOfGroup values: %v", vals)
			}
			if vals := (Record{S: s, R: jane}).Values("PrimarySmtpAddress"); len(vals) != 2 {
				t.Errorf("PrimarySmtpAddress must include proxies: %v", vals)
			}
			return nil
		})
	}
	check(d)
	// Reload from disk: the same state.
	st.Close()
	st2, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	d2, err := Open(ctx, st2)
	if err != nil {
		t.Fatal(err)
	}
	check(d2)
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		ok   bool
	}{
		{"a*", "abc", true}, {"*c", "abc", true}, {"*b*", "abc", true}, {"a*c", "abc", true},
		{"a*c", "ab", false}, {"abc", "ABC", true}, {"*", "", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "acb", false},
	} {
		if got := WildcardMatch(tc.p, tc.s); got != tc.ok {
			t.Errorf("WildcardMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}
