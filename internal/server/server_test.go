package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/auth"
	"github.com/actasmail/actas/internal/cmdlet"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/store"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	auth.Cost = bcrypt.MinCost
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := cmdlet.New(dir, log)
	if _, _, err := cmdlet.CreateOrganization(ctx, dir, "Contoso", "contoso.test", "Admin-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	srv := New(reg, log)
	srv.EWS = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ews") })
	srv.Autodiscover = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, url, user, pw, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestServer(t *testing.T) {
	ts := newServer(t)
	if resp, body := do(t, "GET", ts.URL+"/healthz", "", "", ""); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	resp, _ := do(t, "GET", ts.URL+adminapi.PathCmdlets, "", "", "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="Actas"` {
		t.Fatalf("no credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := do(t, "GET", ts.URL+adminapi.PathCmdlets, "admin@contoso.test", "Admin-Passw0rd", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "New-ManagementScope") {
		t.Fatalf("cmdlets: %d %.200s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", ts.URL+adminapi.PathInvoke, "admin@contoso.test", "Admin-Passw0rd", "{not json")
	var r adminapi.Response
	if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &r) != nil || r.Error == nil {
		t.Fatalf("bad JSON: %d %q", resp.StatusCode, body)
	}
	req, _ := json.Marshal(adminapi.Request{Cmdlet: "Get-Mailbox", Params: map[string]any{"Identity": "admin"}})
	resp, body = do(t, "POST", ts.URL+adminapi.PathInvoke, "admin@contoso.test", "Admin-Passw0rd", string(req))
	if err := json.Unmarshal([]byte(body), &r); err != nil || resp.StatusCode != 200 || len(r.Objects) != 1 {
		t.Fatalf("invoke: %d %q", resp.StatusCode, body)
	}
	// Case-insensitive EWS and Autodiscover paths; a panic is a JSON 500, not a bare page.
	if _, body := do(t, "POST", ts.URL+"/ews/EXCHANGE.asmx", "", "", ""); body != "ews" {
		t.Fatalf("EWS path: %q", body)
	}
	if resp, body := do(t, "GET", ts.URL+"/AutoDiscover/autodiscover.xml", "", "", ""); resp.StatusCode != 500 || !strings.Contains(body, "nothing was changed") {
		t.Fatalf("panic: %d %q", resp.StatusCode, body)
	}
	// Failed logins are limited per account: the 11th try is refused even
	// with the right password, with Retry-After.
	for i := 0; i < 10; i++ {
		if resp, _ := do(t, "GET", ts.URL+adminapi.PathCmdlets, "admin@contoso.test", "wrong", ""); resp.StatusCode != 401 {
			t.Fatalf("try %d: %d", i, resp.StatusCode)
		}
	}
	resp, _ = do(t, "GET", ts.URL+adminapi.PathCmdlets, "admin@contoso.test", "Admin-Passw0rd", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, body := do(t, "POST", ts.URL+"/admin/v1/system/orgs", "", "", `{}`); !strings.Contains(body, "Forbidden") {
		t.Fatalf("system endpoint without token: %q", body)
	}
}
