package analyzer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/ewsclient"
)

func TestPassAgainstExchangeLikeServer(t *testing.T) {
	f := newFakeEWS(t, nil)
	rep := Run(context.Background(), f.config())
	verdict(t, rep, true)
	if rep.Verdict != Pass || rep.Summary != "PASSED" {
		t.Errorf("verdict %s %q", rep.Verdict, rep.Summary)
	}
	expect(t, rep, "Endpoint discovery", Pass, "")
	expect(t, rep, "DNS lookup of 127.0.0.1", Pass, "")
	expect(t, rep, "TLS certificate", Pass, "") // plain HTTP on loopback
	s := expect(t, rep, "Authentication schemes offered", Pass, "")
	mustContain(t, s, "offers Negotiate", "offers NTLM", `offers Basic realm="mail.contoso.test"`)
	mustContain(t, expect(t, rep, "Authenticate as", Pass, ""), "15.20.7452.28 (V2018_01_08)")
	mustContain(t, expect(t, rep, "GetFolder inbox", Pass, ""), `folder "Inbox": 7 items, 2 unread`)
	mustContain(t, expect(t, rep, "FindItem in inbox", Pass, ""), "7 items")
	expect(t, rep, "GetFolder without X-AnchorMailbox", Pass, "")
	mustContain(t, expect(t, rep, "Pull notifications", Pass, ""), "GetEvents: 0 events, 1 status events")
	expect(t, rep, "Throttling budget", Skip, "")
	mustContain(t, expect(t, rep, "Explain", Skip, ""), "not Actas")
	if rep.Server.Actas || rep.Server.Version != "15.20.7452.28 (V2018_01_08)" {
		t.Errorf("server %+v", rep.Server)
	}
	var ops []string
	for _, q := range f.requests() {
		ops = append(ops, q.op)
		switch q.op {
		case "GetFolder", "FindItem", "Subscribe", "GetEvents", "Unsubscribe":
			if q.impersonating != "SmtpAddress:"+target {
				t.Errorf("%s impersonating %q", q.op, q.impersonating)
			}
		}
	}
	want := "ConvertId ConvertId GetFolder FindItem GetFolder Subscribe GetEvents Unsubscribe"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("operations %q, want %q", got, want)
	}
	reqs := f.requests()
	if reqs[0].authed || !reqs[1].authed || reqs[2].anchor != target || reqs[4].anchor != "" {
		t.Errorf("auth/anchor sequence wrong: %+v", reqs)
	}
}

func TestEachIDType(t *testing.T) {
	f := newFakeEWS(t, nil)
	for _, tc := range []struct {
		typ      ewsclient.IDType
		id, want string
	}{
		{ewsclient.SmtpAddress, "", "SmtpAddress:" + target},
		{ewsclient.PrimarySmtpAddress, "", "PrimarySmtpAddress:" + target},
		{ewsclient.PrincipalName, "", "PrincipalName:" + target},
		{ewsclient.PrincipalName, "alice.adams@corp.contoso.test", "PrincipalName:alice.adams@corp.contoso.test"},
		{ewsclient.SID, "S-1-5-21-1-2-3-1001", "SID:S-1-5-21-1-2-3-1001"},
	} {
		cfg := f.config()
		cfg.IDType, cfg.ID = tc.typ, tc.id
		rep := Run(context.Background(), cfg)
		verdict(t, rep, true)
		reqs := f.requests()
		var last fakeReq
		for _, q := range reqs {
			if q.op == "GetFolder" {
				last = q
			}
		}
		if last.impersonating != tc.want {
			t.Errorf("%s %s: header %q, want %q", tc.typ, tc.id, last.impersonating, tc.want)
		}
	}
	cfg := f.config()
	cfg.IDType = ewsclient.SID
	rep := Run(context.Background(), cfg)
	verdict(t, rep, false)
	expect(t, rep, "Identifier (SID)", Fail, "id-unresolved")
}

// An Exchange Online style 401: Basic is disabled, the server wants a
// bearer token, and says why in x-ms-diagnostics.
func TestRecordedExchangeOnline401(t *testing.T) {
	for _, tc := range []struct {
		diag, key string
	}{
		{`2000008;reason="The token contains no permissions, or permissions can not be understood.";error_category="invalid_grant"`, "x-ms-diagnostics 2000008"},
		{"", "HTTP 401 Basic disabled"},
	} {
		f := newFakeEWS(t, nil)
		f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
			w.Header().Set("WWW-Authenticate", `Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"`)
			w.Header().Add("WWW-Authenticate", `Basic Realm=""`)
			if q.authed && tc.diag != "" {
				w.Header().Set("X-Ms-Diagnostics", tc.diag)
			}
			w.Header().Set("request-id", "7b1c5f0e-6a8e-4b4e-9f7b-2a4e1c9d3f11")
			w.Header().Set("X-FEServer", "AM0PR01CA0001")
			w.WriteHeader(401)
			return true
		}
		rep := Run(context.Background(), f.config())
		verdict(t, rep, false)
		s := expect(t, rep, "Authentication schemes offered", Pass, "")
		mustContain(t, s, `offers Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers=`, `offers Basic Realm=""`)
		a := expect(t, rep, "Authenticate as", Fail, tc.key)
		mustContain(t, a, "request-id 7b1c5f0e", "X-FEServer AM0PR01CA0001")
		if tc.diag != "" {
			mustContain(t, a, "x-ms-diagnostics: 2000008")
			if !strings.Contains(strings.Join(a.Diagnosis.Causes, " "), "full_access_as_app") {
				t.Errorf("causes %v", a.Diagnosis.Causes)
			}
		}
		expect(t, rep, "Access to", Skip, "")
		if !strings.HasPrefix(rep.Summary, "FAILED at Authenticate as") {
			t.Errorf("summary %q", rep.Summary)
		}
	}
}

// HTTP 503 with Retry-After: the server is unavailable or throttling.
func TestRecorded503WithBackOff(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if !q.authed {
			return false
		}
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(503)
		io.WriteString(w, "<html><body><h1>Service Unavailable</h1></body></html>")
		return true
	}
	rep := Run(context.Background(), f.config())
	verdict(t, rep, false)
	a := expect(t, rep, "Authenticate as", Fail, "HTTP 503")
	mustContain(t, a, "Retry-After: 120 (back off 2m0s)")
	mustContain(t, expect(t, rep, "Throttling budget", Warn, "throttled"), "back off 2m0s (Retry-After on HTTP 503)")
}

// A 302 to Exchange's generic error page on the mailbox call.
func TestRecorded302ToErrorPage(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.op == "GetFolder" {
			w.Header().Set("Location", "/ews/genericerrorpage.htm?aspxerrorpath=/ews/exchange.asmx")
			w.WriteHeader(302)
			return true
		}
		return false
	}
	rep := Run(context.Background(), f.config())
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", Fail, "HTTP 302 error page")
	mustContain(t, g, "Location: "+f.srv.URL+"/ews/genericerrorpage.htm?aspxerrorpath=/ews/exchange.asmx")
	expect(t, rep, "FindItem in inbox", Skip, "")
}

func TestServerBusyFault(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.op == "GetFolder" {
			soapFault(w, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", "BackOffMilliseconds", "297749")
			return true
		}
		return false
	}
	rep := Run(context.Background(), f.config())
	verdict(t, rep, false)
	g := expect(t, rep, "GetFolder inbox", Fail, "ErrorServerBusy")
	if g.ResponseCode != "ErrorServerBusy" || g.HTTPStatus != 500 || len(g.ServerValues) != 1 || g.ServerValues[0].Value != "297749" {
		t.Errorf("step %+v", g)
	}
	mustContain(t, expect(t, rep, "Throttling budget", Warn, "throttled"), "4m57.749s")
}

func TestAnchorRequired(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.impersonating != "" && q.anchor == "" {
			msgError(w, q.op, "ErrorNoRespondingCASInDestinationSite", "The request couldn't be processed because none of the Client Access Servers in the destination site could process the request.")
			return true
		}
		return false
	}
	rep := Run(context.Background(), f.config())
	verdict(t, rep, true)
	a := expect(t, rep, "GetFolder without X-AnchorMailbox", Warn, "anchor-required")
	if a.ResponseCode != "ErrorNoRespondingCASInDestinationSite" {
		t.Errorf("code %q", a.ResponseCode)
	}
	expect(t, rep, "Pull notifications", Pass, "")
}

func TestNotificationPaths(t *testing.T) {
	t.Run("unsupported", func(t *testing.T) {
		f := newFakeEWS(t, nil)
		f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
			if q.op == "Subscribe" {
				msgError(w, "Subscribe", "ErrorInvalidOperation", "The operation Subscribe is not supported by this server.")
				return true
			}
			return false
		}
		rep := Run(context.Background(), f.config())
		verdict(t, rep, true)
		n := expect(t, rep, "Pull notifications", Warn, "notifications-unsupported")
		mustContain(t, n, "server does not support pull notifications (ErrorInvalidOperation: The operation Subscribe is not supported by this server.)")
		if rep.Summary != "PASSED with 1 warning" {
			t.Errorf("summary %q", rep.Summary)
		}
	})
	t.Run("lost subscription", func(t *testing.T) {
		f := newFakeEWS(t, nil)
		f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
			if q.op == "GetEvents" {
				msgError(w, "GetEvents", "ErrorSubscriptionNotFound", "The specified subscription was not found.")
				return true
			}
			return false
		}
		rep := Run(context.Background(), f.config())
		verdict(t, rep, false)
		expect(t, rep, "Pull notifications", Fail, "ErrorSubscriptionNotFound")
	})
	t.Run("delegate", func(t *testing.T) {
		f := newFakeEWS(t, nil)
		f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
			if q.op == "Subscribe" {
				msgError(w, "Subscribe", "ErrorSubscriptionDelegateAccessNotSupported", "Subscriptions are not supported for delegate user access.")
				return true
			}
			return false
		}
		cfg := f.config()
		cfg.Impersonation = false
		rep := Run(context.Background(), cfg)
		verdict(t, rep, true)
		expect(t, rep, "Pull notifications", Warn, "ErrorSubscriptionDelegateAccessNotSupported")
		for _, q := range f.requests() {
			if q.impersonating != "" {
				t.Errorf("delegate mode impersonated in %s", q.op)
			}
		}
	})
}

func TestThrottlingHeadroom(t *testing.T) {
	for _, tc := range []struct {
		headers map[string]string
		st      Status
		key     string
		detail  string
	}{
		{map[string]string{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "95"}, Pass, "", "95 of 100"},
		{map[string]string{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "4"}, Warn, "throttle-headroom", "4 of 100"},
		{map[string]string{"RateLimit-Policy": `"ews";q=60;w=60`, "RateLimit": `"ews";r=50;t=30`}, Pass, "", "50 of 60"},
	} {
		f := newFakeEWS(t, nil)
		for k, v := range tc.headers {
			f.extra.Set(k, v)
		}
		rep := Run(context.Background(), f.config())
		verdict(t, rep, true)
		mustContain(t, expect(t, rep, "Throttling budget", tc.st, tc.key), tc.detail)
	}
}

func TestTLSCertificates(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	for _, tc := range []struct {
		name      string
		cert      func() *tls.Certificate
		roots     bool
		insecure  bool
		st        Status
		key       string
		passed    bool
		detailHas string
	}{
		{"trusted", func() *tls.Certificate { return ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "127.0.0.1") }, true, false, Pass, "", true, "chain trusted: 127.0.0.1 → Test Root CA"},
		{"untrusted", func() *tls.Certificate { return ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "127.0.0.1") }, false, false, Fail, "tls-untrusted", false, "not trusted"},
		{"untrusted insecure", func() *tls.Certificate { return ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "127.0.0.1") }, false, true, Warn, "tls-untrusted", true, "ignored because of --insecure"},
		{"expired", func() *tls.Certificate { return ca.leaf(t, now.Add(-48*time.Hour), now.Add(-time.Hour), "127.0.0.1") }, true, false, Fail, "tls-expired", false, "(expired)"},
		{"name mismatch", func() *tls.Certificate {
			return ca.leaf(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), "mail.contoso.test")
		}, true, false, Fail, "tls-name-mismatch", false, "names mail.contoso.test"},
		{"expiring", func() *tls.Certificate { return ca.leaf(t, now.Add(-time.Hour), now.Add(10*24*time.Hour), "127.0.0.1") }, true, false, Warn, "tls-expiring", true, "9 days left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEWS(t, tc.cert())
			cfg := f.config()
			cfg.Insecure = tc.insecure
			if tc.roots {
				cfg.RootCAs = ca.pool
			}
			rep := Run(context.Background(), cfg)
			verdict(t, rep, tc.passed)
			mustContain(t, expect(t, rep, "TLS certificate", tc.st, tc.key), tc.detailHas)
			if !tc.passed {
				mustContain(t, expect(t, rep, "EWS endpoint and authentication", Skip, ""), "not run: the server's certificate is not trusted")
			}
		})
	}
	t.Run("plain HTTP on the HTTPS URL", func(t *testing.T) {
		f := newFakeEWS(t, nil)
		cfg := f.config()
		cfg.EwsURL = strings.Replace(f.url(), "http://", "https://", 1)
		rep := Run(context.Background(), cfg)
		verdict(t, rep, false)
		expect(t, rep, "TLS certificate", Fail, "tls-handshake")
	})
}

func TestDNSAndTCP(t *testing.T) {
	f := newFakeEWS(t, nil)
	_, port, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	cfg := f.config()
	cfg.EwsURL = "http://mail.contoso.test:" + port + "/EWS/Exchange.asmx"
	rep := Run(context.Background(), cfg)
	verdict(t, rep, false)
	mustContain(t, expect(t, rep, "DNS lookup of mail.contoso.test", Fail, "dns-not-found"), `no such host "mail.contoso.test"`)
	expect(t, rep, "TCP connection", Skip, "")

	cfg.Resolve = map[string]string{"mail.contoso.test:" + port: f.srv.Listener.Addr().String()}
	rep = Run(context.Background(), cfg)
	verdict(t, rep, true)
	mustContain(t, expect(t, rep, "DNS lookup of mail.contoso.test", Pass, ""), "--resolve maps")
	expect(t, rep, "TLS certificate", Warn, "plain-http") // plain HTTP to a name that is not loopback

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	cfg = f.config()
	cfg.EwsURL = "http://" + closed + "/EWS/Exchange.asmx"
	rep = Run(context.Background(), cfg)
	verdict(t, rep, false)
	expect(t, rep, "TCP connection", Fail, "tcp-refused")
	if rep.Summary != "FAILED at TCP connection to port "+closed[strings.LastIndexByte(closed, ':')+1:]+": tcp-refused" {
		t.Errorf("summary %q", rep.Summary)
	}
}

func TestHTTPFailures(t *testing.T) {
	f := newFakeEWS(t, nil)
	cfg := f.config()
	cfg.EwsURL = f.srv.URL + "/EWS/Exchnge.asmx"
	rep := Run(context.Background(), cfg)
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", Fail, "HTTP 404")

	cfg = f.config()
	cfg.Password = "wrong"
	rep = Run(context.Background(), cfg)
	verdict(t, rep, false)
	expect(t, rep, "Authenticate as", Fail, "HTTP 401")

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Sign in to Outlook</body></html>")
	}))
	defer page.Close()
	cfg.EwsURL, cfg.Password = page.URL+"/owa/", svcPass
	rep = Run(context.Background(), cfg)
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", Fail, "not SOAP")

	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if !q.authed {
			w.Header().Set("WWW-Authenticate", "Negotiate")
			w.Header().Add("WWW-Authenticate", "NTLM")
			w.WriteHeader(401)
			return true
		}
		return false
	}
	rep = Run(context.Background(), f.config())
	verdict(t, rep, false)
	expect(t, rep, "Authentication schemes offered", Fail, "auth-no-basic")
}

// Impersonation faults from a non-Actas server carry no ActasReason: the
// diagnosis is the generic entry for the code, with its ordered causes.
func TestImpersonationFaults(t *testing.T) {
	for _, code := range []string{"ErrorImpersonateUserDenied", "ErrorImpersonationDenied", "ErrorNonExistentMailbox", "ErrorInvalidUserPrincipalName", "ErrorFutureCode"} {
		f := newFakeEWS(t, nil)
		f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
			if q.authed && q.impersonating != "" {
				soapFault(w, code, "text of "+code)
				return true
			}
			return false
		}
		rep := Run(context.Background(), f.config())
		verdict(t, rep, false)
		g := expect(t, rep, "GetFolder inbox", Fail, code)
		if g.ResponseCode != code || g.MessageText != "text of "+code {
			t.Errorf("%s: %+v", code, g)
		}
		if code == "ErrorFutureCode" && !strings.Contains(g.Diagnosis.Meaning, "no entry") {
			t.Errorf("unknown code meaning %q", g.Diagnosis.Meaning)
		}
		if code == "ErrorImpersonateUserDenied" && (len(g.Diagnosis.Causes) < 4 || !strings.Contains(g.Diagnosis.Causes[0], "outside the management scope")) {
			t.Errorf("causes %v", g.Diagnosis.Causes)
		}
	}
	// With ActasReason, the Actas entry wins and the explanation is kept.
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.impersonating != "" {
			soapFault(w, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.",
				"ActasReason", "HeldByExclusiveScope", "ActasExplanation", `"Vera" is held by the exclusive management scope "VIP"; only assignments that use it may act on it.`)
			return true
		}
		return false
	}
	rep := Run(context.Background(), f.config())
	g := expect(t, rep, "GetFolder inbox", Fail, "Actas:HeldByExclusiveScope")
	if g.ResponseCode != "ErrorImpersonateUserDenied" || !strings.Contains(g.Diagnosis.Confirmed, "exclusive management scope") {
		t.Errorf("%+v %+v", g, g.Diagnosis)
	}
}

func TestAutodiscoverThroughAnalyzer(t *testing.T) {
	ca := newCA(t)
	ews := newFakeEWS(t, nil)
	pox := quietServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != svcUser || p != svcPass {
			w.WriteHeader(401)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if !bytes.Contains(b, []byte("<EMailAddress>"+target+"</EMailAddress>")) {
			t.Errorf("POX request %s", b)
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXPR</Type><EwsUrl>`+ews.url()+`</EwsUrl></Protocol></Account></Response></Autodiscover>`)
	}))
	c := ca.leaf(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour), "autodiscover.contoso.test")
	pox.TLS = &tls.Config{Certificates: []tls.Certificate{*c}}
	pox.StartTLS()
	defer pox.Close()

	cfg := ews.config()
	cfg.EwsURL = ""
	cfg.RootCAs = ca.pool
	cfg.Resolve = map[string]string{"autodiscover.contoso.test:443": pox.Listener.Addr().String()}
	rep := Run(context.Background(), cfg)
	verdict(t, rep, true)
	d := expect(t, rep, "Autodiscover for alice@contoso.test", Warn, "")
	mustContain(t, d, "EWS URL: "+ews.url())
	if len(d.Children) != 2 {
		t.Fatalf("children %d", len(d.Children))
	}
	mustContain(t, expect(t, rep, "root domain: POST https://contoso.test/autodiscover/autodiscover.xml", Warn, ""), `no such host "contoso.test"`)
	mustContain(t, expect(t, rep, "autodiscover host: POST https://autodiscover.contoso.test/autodiscover/autodiscover.xml", Pass, ""), "EwsUrl "+ews.url())
	expect(t, rep, "GetFolder inbox", Pass, "")
	if rep.Server.EwsURL != ews.url() {
		t.Errorf("server %+v", rep.Server)
	}

	// Nothing answers: every candidate fails, in order, and nothing after runs.
	cfg.Resolve = nil
	rep = Run(context.Background(), cfg)
	verdict(t, rep, false)
	d = expect(t, rep, "Autodiscover for alice@contoso.test", Fail, "autodiscover-failed")
	var names []string
	for _, c := range d.Children {
		names = append(names, c.Name)
		if c.Status != Fail {
			t.Errorf("%s: %s", c.Name, c.Status)
		}
	}
	want := []string{
		"root domain: POST https://contoso.test/autodiscover/autodiscover.xml",
		"autodiscover host: POST https://autodiscover.contoso.test/autodiscover/autodiscover.xml",
		"HTTP redirect: GET http://autodiscover.contoso.test/autodiscover/autodiscover.xml",
		"SRV record: SRV _autodiscover._tcp.contoso.test",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("candidates:\n%s", strings.Join(names, "\n"))
	}
	expect(t, rep, "Connectivity", Skip, "")
}

func TestRenderers(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.impersonating != "" {
			soapFault(w, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.")
			return true
		}
		return false
	}
	rep := Run(context.Background(), f.config())
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Service account: svc@contoso.test",
		"Target mailbox:  alice@contoso.test (impersonation, ConnectingSID SmtpAddress)",
		"[FAIL] Access to inbox of alice@contoso.test",
		"  [FAIL] GetFolder inbox",
		"Response: HTTP 500, ErrorImpersonateUserDenied: The account does not have permission to impersonate the requested user.",
		"Likely causes, in the order to check them:",
		"  1. The mailbox is outside the management scope",
		"PS> Test-ApplicationImpersonation -Identity svc@contoso.test -Resource alice@contoso.test",
		"[SKIP] FindItem in inbox",
		"Result: FAILED at GetFolder inbox: ErrorImpersonateUserDenied",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Verdict string `json:"verdict"`
		Passed  bool   `json:"passed"`
		Input   struct {
			Mode, IDType string
		} `json:"input"`
		Steps []struct {
			Name     string  `json:"name"`
			Status   string  `json:"status"`
			Elapsed  float64 `json:"elapsedMs"`
			Children []struct {
				Name         string `json:"name"`
				Status       string `json:"status"`
				HTTPStatus   int    `json:"httpStatus"`
				ResponseCode string `json:"responseCode"`
				Diagnosis    *struct {
					Key      string   `json:"key"`
					Meaning  string   `json:"meaning"`
					Causes   []string `json:"causes"`
					Fix      string   `json:"fix"`
					Commands []string `json:"commands"`
				} `json:"diagnosis"`
			} `json:"children"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Verdict != "fail" || doc.Passed || doc.Input.Mode != "impersonation" || doc.Input.IDType != "SmtpAddress" {
		t.Errorf("doc %+v", doc)
	}
	found := false
	for _, s := range doc.Steps {
		for _, c := range s.Children {
			if c.Name == "GetFolder inbox" {
				found = true
				if c.Status != "fail" || c.HTTPStatus != 500 || c.ResponseCode != "ErrorImpersonateUserDenied" || c.Diagnosis == nil ||
					c.Diagnosis.Key != "ErrorImpersonateUserDenied" || c.Diagnosis.Fix == "" || len(c.Diagnosis.Causes) == 0 || len(c.Diagnosis.Commands) == 0 {
					t.Errorf("GetFolder in JSON: %+v", c)
				}
			}
		}
	}
	if !found {
		t.Errorf("no GetFolder step in JSON:\n%s", js.String())
	}
}

// A fake Actas admin API whose RBAC answer disagrees with what EWS does:
// the explain step and the sample flag it.
func TestExplainMismatch(t *testing.T) {
	f := newFakeEWS(t, nil)
	f.admin = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/admin/v1/cmdlets" {
			io.WriteString(w, `[{"name":"Test-ApplicationImpersonation","params":[]},{"name":"Get-Mailbox","params":[]}]`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"Get-Mailbox"`) {
			io.WriteString(w, `{"objects":[{"type":"Mailbox","props":[{"name":"PrimarySmtpAddress","value":"alice@contoso.test"}]},{"type":"Mailbox","props":[{"name":"PrimarySmtpAddress","value":"bob@contoso.test"}]}]}`)
			return
		}
		io.WriteString(w, `{"objects":[{"type":"ImpersonationTestResult","props":[{"name":"AssignmentName","value":"Imp"},{"name":"AllowedResourceScope","value":"All"},{"name":"ScopeType","value":"Organization"},{"name":"InScope","value":true},{"name":"Reason","value":""},{"name":"AssignedThrough","value":"Direct"},{"name":"RecipientFilter","value":""},{"name":"Decision","value":"svc may impersonate"}]}]}`)
	}
	f.hook = func(w http.ResponseWriter, r *http.Request, q fakeReq) bool {
		if q.authed && q.impersonating != "" && q.op == "GetFolder" {
			soapFault(w, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.")
			return true
		}
		return false
	}
	cfg := f.config()
	cfg.Sample = 2
	rep := Run(context.Background(), cfg)
	verdict(t, rep, false)
	if !rep.Server.Actas {
		t.Fatal("Actas not detected")
	}
	mustContain(t, expect(t, rep, "Explain", Warn, "explain-mismatch"), "EWS denied, but Test-ApplicationImpersonation says allowed")
	expect(t, rep, "Sample:", Warn, "explain-mismatch")
	if rep.Sample == nil || len(rep.Sample.Rows) != 2 || !rep.Sample.Rows[0].Mismatch || rep.Sample.Rows[0].RBAC != "allowed" || rep.Sample.Rows[0].EWS != "denied" {
		t.Errorf("sample %+v", rep.Sample)
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	if !strings.Contains(b.String(), "denied (!)") {
		t.Errorf("matrix does not flag the disagreement:\n%s", b.String())
	}
}
