package ews

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/rbac"
	"github.com/actasmail/actas/internal/store"
)

// world is a directory on a temp SQLite store, a fake mailbox store and an
// EWS handler, with the accounts the tests use.
type world struct {
	t     testing.TB
	dir   *d.Directory
	mbx   mailbox.Mailboxes
	h     *Handler
	org   *d.Org
	other *d.Org
	n     int

	svc, alice, bob, carol, vip, room, stranger, group *d.Recipient
	execs                                              *d.Scope
}

// newWorld uses the real mailbox store on the directory's SQLite database.
func newWorld(t testing.TB) *world {
	return newWorldWith(t, func(st *store.SQLite) mailbox.Mailboxes { return mailbox.Open(st.DB()).WithReader(st.ReadDB()) })
}

// newFakeWorld uses the in-memory fake (fuzzing, fault injection).
func newFakeWorld(t testing.TB) *world {
	return newWorldWith(t, func(*store.SQLite) mailbox.Mailboxes { return newFake() })
}

func newWorldWith(t testing.TB, mk func(*store.SQLite) mailbox.Mailboxes) *world {
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
	mbx := mk(st)
	w := &world{t: t, dir: dir, mbx: mbx}
	w.org = w.newOrg("contoso.test")
	w.other = w.newOrg("fabrikam.test")
	w.svc = w.recipient(w.org, "svc", d.UserMailbox)
	w.alice = w.recipient(w.org, "alice", d.UserMailbox, func(r *d.Recipient) {
		r.EmailAddresses = append(r.EmailAddresses, "smtp:alice.proxy@contoso.test")
		r.DisplayName, r.FirstName, r.LastName = "Alice Archer", "Alice", "Archer"
	})
	w.bob = w.recipient(w.org, "bob", d.UserMailbox, func(r *d.Recipient) { r.DisplayName = "Bob Baker" })
	w.carol = w.recipient(w.org, "carol", d.UserMailbox)
	w.vip = w.recipient(w.org, "vip", d.UserMailbox, func(r *d.Recipient) { r.Title = "CEO" })
	w.room = w.recipient(w.org, "room1", d.RoomMailbox)
	w.stranger = w.recipient(w.other, "stranger", d.UserMailbox)
	w.group = w.recipient(w.org, "team", d.MailUniversalDistributionGroup)
	w.write(func(tx *d.Tx) error {
		tx.AddMember(w.group.ID, w.bob.ID)
		tx.AddMember(w.group.ID, w.carol.ID)
		return nil
	})
	// svc may impersonate everyone but the VIPs.
	w.execs = w.scope("Execs", "Title -eq 'CEO'", true)
	w.assign("svc-impersonation", w.svc, nil)
	w.h = New(dir, mbx, w.authn, slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), Options{})
	return w
}

func (w *world) id() string {
	w.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", w.n)
}

func (w *world) write(fn func(tx *d.Tx) error) {
	w.t.Helper()
	if err := w.dir.Write(context.Background(), fn); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) newOrg(domain string) *d.Org {
	o := &d.Org{ID: w.id(), Name: domain, Domains: []string{domain}, WhenCreated: time.Now()}
	w.write(func(tx *d.Tx) error { return tx.PutOrg(o) })
	return o
}

func (w *world) recipient(org *d.Org, name, typ string, mutate ...func(*d.Recipient)) *d.Recipient {
	r := &d.Recipient{ID: w.id(), Org: org.ID, Type: typ, Name: name, Alias: strings.ToLower(name),
		PrimarySmtpAddress: strings.ToLower(name) + "@" + org.DefaultDomain(),
		UserPrincipalName:  strings.ToLower(name) + "@" + org.DefaultDomain(),
		SID:                fmt.Sprintf("S-1-5-21-1000-2000-3000-%d", w.n+1000)}
	r.EmailAddresses = []string{"SMTP:" + r.PrimarySmtpAddress}
	for _, m := range mutate {
		m(r)
	}
	w.write(func(tx *d.Tx) error { return tx.PutRecipient(r) })
	return r
}

func (w *world) update(r *d.Recipient, mutate func(*d.Recipient)) *d.Recipient {
	var c *d.Recipient
	w.write(func(tx *d.Tx) error {
		c = tx.State().Recipient(r.ID).Clone()
		mutate(c)
		return tx.PutRecipient(c)
	})
	return c
}

func (w *world) scope(name, filter string, exclusive bool) *d.Scope {
	sc := &d.Scope{ID: w.id(), Org: w.org.ID, Name: name, Filter: filter, Exclusive: exclusive}
	w.write(func(tx *d.Tx) error { return tx.PutScope(sc) })
	return sc
}

func (w *world) assign(name string, to *d.Recipient, sc *d.Scope, mutate ...func(*d.Assignment)) *d.Assignment {
	a := &d.Assignment{ID: w.id(), Org: to.Org, Name: name, Role: rbac.ApplicationImpersonation, Assignee: to.ID,
		AssigneeType: d.AssigneeUser, Enabled: true, WriteScope: d.ScopeOrganization}
	if sc != nil {
		a.ScopeID, a.WriteScope = sc.ID, d.ScopeCustom
		if sc.Exclusive {
			a.WriteScope = d.ScopeExclusive
		}
	}
	for _, m := range mutate {
		m(a)
	}
	w.write(func(tx *d.Tx) error { return tx.PutAssignment(a) })
	return a
}

var errNoAuth = errors.New("no credentials")

// authn accepts Basic credentials "<upn>:pw" for any recipient.
func (w *world) authn(r *http.Request) (string, error) {
	user, pw, ok := r.BasicAuth()
	if !ok || pw != "pw" {
		return "", errNoAuth
	}
	var id string
	_ = w.dir.Read(func(s *d.State) error {
		if rec := s.RecipientByUPN(user); rec != nil {
			id = rec.ID
		}
		return nil
	})
	if id == "" {
		return "", errNoAuth
	}
	return id, nil
}

// resp is a response: status, body and the parsed tree.
type resp struct {
	status int
	body   string
	hdr    http.Header
	root   *node
}

func (w *world) post(as *d.Recipient, soap string, hdrs ...string) resp {
	w.t.Helper()
	req := httptest.NewRequest("POST", "/EWS/Exchange.asmx", strings.NewReader(soap))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if as != nil {
		req.SetBasicAuth(as.UserPrincipalName, "pw")
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header.Set(hdrs[i], hdrs[i+1])
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	out := resp{status: rec.Code, body: rec.Body.String(), hdr: rec.Header()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
		root, err := parseXML(rec.Body.Bytes(), limits{maxDepth: 1000, maxElements: 1 << 30})
		if err != nil {
			w.t.Fatalf("response is not well-formed XML: %v\n%s", err, rec.Body.String())
		}
		out.root = root
	}
	return out
}

// call wraps a body in an envelope with an optional impersonation target.
func (w *world) call(as *d.Recipient, impersonate string, body string) resp {
	w.t.Helper()
	return w.post(as, envelope("Exchange2016", impersonate, body))
}

func envelope(version, impersonate, body string) string {
	var hdr strings.Builder
	if version != "" {
		hdr.WriteString(`<t:RequestServerVersion Version="` + version + `"/>`)
	}
	if impersonate != "" {
		hdr.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID>` + impersonate + `</t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` +
		`<s:Header>` + hdr.String() + `</s:Header><s:Body>` + body + `</s:Body></s:Envelope>`
}

func primary(r *d.Recipient) string {
	return `<t:PrimarySmtpAddress>` + r.PrimarySmtpAddress + `</t:PrimarySmtpAddress>`
}

// body returns the first element of soap:Body.
func (r resp) bodyEl() *node {
	b := r.root.child("Body")
	if b == nil || len(b.Children) == 0 {
		return nil
	}
	return b.Children[0]
}

// messages returns the response messages of a ResponseMessages response.
func (r resp) messages() []*node {
	if b := r.bodyEl(); b != nil {
		if rm := b.child("ResponseMessages"); rm != nil {
			return rm.Children
		}
	}
	return nil
}

func (r resp) faultCode() string {
	if b := r.bodyEl(); b != nil && b.Local == "Fault" {
		return b.path("detail", "ResponseCode").textOr("")
	}
	return ""
}

func (r resp) faultValue(name string) string {
	if b := r.bodyEl(); b != nil && b.Local == "Fault" {
		for _, v := range b.path("detail", "MessageXml").all("Value") {
			if v.attr("Name") == name {
				return v.Text
			}
		}
	}
	return ""
}

func code(m *node) string { return m.childText("ResponseCode") }

// find walks the tree for the first element with that local name.
func find(n *node, local string) *node {
	if n == nil {
		return nil
	}
	if n.Local == local {
		return n
	}
	for _, c := range n.Children {
		if f := find(c, local); f != nil {
			return f
		}
	}
	return nil
}

func findAll(n *node, local string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(n *node) {
		if n.Local == local {
			out = append(out, n)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

func (w *world) mustOK(r resp) resp {
	w.t.Helper()
	if r.status != 200 {
		w.t.Fatalf("status %d\n%s", r.status, r.body)
	}
	for _, m := range r.messages() {
		if m.attr("ResponseClass") != "Success" {
			w.t.Fatalf("response message %s: %s %s\n%s", m.attr("ResponseClass"), code(m), m.childText("MessageText"), r.body)
		}
	}
	return r
}

func folderIDOf(r resp) string { return find(r.root, "FolderId").attr("Id") }

func distFolder(name string, owner *d.Recipient) string {
	if owner == nil {
		return `<t:DistinguishedFolderId Id="` + name + `"/>`
	}
	return `<t:DistinguishedFolderId Id="` + name + `"><t:Mailbox><t:EmailAddress>` + owner.PrimarySmtpAddress + `</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
}

type d_Recipient = d.Recipient
type d_Assignment = d.Assignment
type d_Tx = d.Tx
type d_State = d.State

// panicky is a mailbox store whose Distinguished panics.
type panicky struct{ *fakeMailboxes }

func (p panicky) Distinguished(ctx context.Context, mbx, name string) (*mailbox.Folder, error) {
	panic("boom")
}

var t0ctx = context.Background()

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
