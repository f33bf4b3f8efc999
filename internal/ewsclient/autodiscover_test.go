package ewsclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func poxSettings(ews string) string {
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><User><DisplayName>Alice</DisplayName></User><Account><AccountType>email</AccountType><Action>settings</Action>` +
		`<Protocol><Type>EXCH</Type><ASUrl>https://internal/EWS/Exchange.asmx</ASUrl><EwsUrl>https://internal/EWS/Exchange.asmx</EwsUrl></Protocol>` +
		`<Protocol><Type>EXPR</Type><EwsUrl>` + ews + `</EwsUrl></Protocol></Account></Response></Autodiscover>`
}

func poxAccount(inner string) string {
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType>` + inner + `</Account></Response></Autodiscover>`
}

const poxNotFound = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="1" Id="2"><ErrorCode>500</ErrorCode><Message>The email address can't be found.</Message><DebugData /></Error></Response></Autodiscover>`

// world is a fake Internet on loopback: one TLS server and one plain HTTP
// server answer for every host name, dispatching on Host; "down" hosts
// refuse connections.
type world struct {
	tlsSrv, httpSrv *httptest.Server
	down            map[string]bool
	srv             map[string][]*net.SRV
	mu              sync.Mutex
	posts           []string // host+path of authenticated POSTs
	handle          func(w http.ResponseWriter, r *http.Request)
}

func newWorld(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *world {
	w := &world{down: map[string]bool{}, srv: map[string][]*net.SRV{}, handle: handle}
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if u, _, ok := r.BasicAuth(); !ok || u != "svc@contoso.test" {
				rw.Header().Set("WWW-Authenticate", `Basic realm="x"`)
				rw.WriteHeader(401)
				return
			}
			w.mu.Lock()
			w.posts = append(w.posts, r.Host+r.URL.Path)
			w.mu.Unlock()
		}
		w.handle(rw, r)
	})
	w.tlsSrv = httptest.NewTLSServer(h)
	w.httpSrv = httptest.NewServer(h)
	t.Cleanup(w.tlsSrv.Close)
	t.Cleanup(w.httpSrv.Close)
	return w
}

func (w *world) discoverer() *Discoverer {
	closed := func() string { // a loopback port nothing listens on
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		a := l.Addr().String()
		l.Close()
		return a
	}()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			target := closed
			switch {
			case w.down[host]:
			case port == "80":
				target = w.httpSrv.Listener.Addr().String()
			default:
				target = w.tlsSrv.Listener.Addr().String()
			}
			return (&net.Dialer{}).DialContext(ctx, network, target)
		},
	}
	return &Discoverer{User: "svc@contoso.test", Password: "pw", HTTP: &http.Client{Transport: tr},
		LookupSRV: func(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
			if s, ok := w.srv[name]; ok {
				return "", s, nil
			}
			return "", nil, &net.DNSError{Err: "no such host", Name: "_" + service + "._" + proto + "." + name, IsNotFound: true}
		}}
}

func xmlOK(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, body)
}

func TestDiscoverRootDomain(t *testing.T) {
	w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		xmlOK(rw, poxSettings("https://mail.contoso.test/EWS/Exchange.asmx"))
	})
	res, err := w.discoverer().Discover(context.Background(), "alice@contoso.test")
	if err != nil || res.EwsURL != "https://mail.contoso.test/EWS/Exchange.asmx" {
		t.Fatalf("%v %+v", err, res)
	}
	if len(res.Attempts) != 1 || res.Attempts[0].Via != ViaRootDomain || res.Attempts[0].URL != "https://contoso.test/autodiscover/autodiscover.xml" {
		t.Errorf("attempts %+v", res.Attempts[0])
	}
}

// TestDiscoverCandidateOrder walks every step of the documented order: the
// root domain is down, the autodiscover host refuses the credentials (401
// is not final), the HTTP redirect method sends us to mail, which
// redirects (302) to mail2, whose POX answer is redirectUrl to mail3, which
// answers the settings.
func TestDiscoverCandidateOrder(t *testing.T) {
	w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "autodiscover.contoso.test" && r.TLS != nil:
			rw.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			rw.WriteHeader(401)
		case r.Host == "autodiscover.contoso.test" && r.Method == http.MethodGet:
			http.Redirect(rw, r, "https://mail.contoso.test/autodiscover/autodiscover.xml", http.StatusFound)
		case r.Host == "mail.contoso.test":
			http.Redirect(rw, r, "https://mail2.contoso.test/Autodiscover/Autodiscover.xml", http.StatusFound)
		case r.Host == "mail2.contoso.test":
			xmlOK(rw, poxAccount(`<Action>redirectUrl</Action><RedirectUrl>https://mail3.contoso.test/autodiscover/autodiscover.xml</RedirectUrl>`))
		case r.Host == "mail3.contoso.test":
			xmlOK(rw, poxSettings("https://mail3.contoso.test/EWS/Exchange.asmx"))
		default:
			http.NotFound(rw, r)
		}
	})
	w.down["contoso.test"] = true
	res, err := w.discoverer().Discover(context.Background(), "alice@contoso.test")
	if err != nil || res.EwsURL != "https://mail3.contoso.test/EWS/Exchange.asmx" {
		t.Fatalf("%v %+v", err, res)
	}
	var got []string
	for _, a := range res.Attempts {
		got = append(got, fmt.Sprintf("%s %s %s %d", a.Via, a.Method, a.URL, a.Status))
	}
	want := []string{
		"root domain POST https://contoso.test/autodiscover/autodiscover.xml 0",
		"autodiscover host POST https://autodiscover.contoso.test/autodiscover/autodiscover.xml 401",
		"HTTP redirect GET http://autodiscover.contoso.test/autodiscover/autodiscover.xml 302",
		"redirect POST https://mail.contoso.test/autodiscover/autodiscover.xml 302",
		"redirect POST https://mail2.contoso.test/Autodiscover/Autodiscover.xml 200",
		"redirect POST https://mail3.contoso.test/autodiscover/autodiscover.xml 200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("attempts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Attempts[0].Err == nil {
		t.Error("the root domain's connection error was not recorded")
	}
}

func TestDiscoverSRVAndAddressRedirect(t *testing.T) {
	w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case "ad.hoster.test:8443":
			b, _ := io.ReadAll(r.Body)
			if strings.Contains(string(b), "alice@contoso.test") {
				xmlOK(rw, poxAccount(`<Action>redirectAddr</Action><RedirectAddr>alice@fabrikam.test</RedirectAddr>`))
				return
			}
			xmlOK(rw, poxNotFound)
		case "fabrikam.test":
			xmlOK(rw, poxSettings("https://mail.fabrikam.test/EWS/Exchange.asmx"))
		default:
			http.NotFound(rw, r)
		}
	})
	w.down["contoso.test"] = true
	w.down["autodiscover.contoso.test"] = true
	w.srv["contoso.test"] = []*net.SRV{{Target: "low.hoster.test.", Port: 443, Priority: 20, Weight: 100}, {Target: "ad.hoster.test.", Port: 8443, Priority: 10, Weight: 5}}
	res, err := w.discoverer().Discover(context.Background(), "alice@contoso.test")
	if err != nil || res.EwsURL != "https://mail.fabrikam.test/EWS/Exchange.asmx" || res.Email != "alice@fabrikam.test" {
		t.Fatalf("%v %+v", err, res)
	}
	var srv *Attempt
	for _, a := range res.Attempts {
		if a.Via == ViaSRV && a.Method == http.MethodPost {
			srv = a
		}
	}
	if srv == nil || srv.URL != "https://ad.hoster.test:8443/autodiscover/autodiscover.xml" || srv.RedirectAddr != "alice@fabrikam.test" {
		t.Errorf("SRV attempt %+v", srv)
	}
}

func TestDiscoverFailures(t *testing.T) {
	w := newWorld(t, func(rw http.ResponseWriter, r *http.Request) { xmlOK(rw, poxNotFound) })
	res, err := w.discoverer().Discover(context.Background(), "nobody@contoso.test")
	if !errors.Is(err, ErrDiscoveryFailed) || res.EwsURL != "" {
		t.Fatalf("%v %+v", err, res)
	}
	if a := res.Attempts[0]; a.ErrorCode != "500" || !strings.Contains(a.ErrorMessage, "can't be found") {
		t.Errorf("POX error not recorded: %+v", a)
	}
	loop := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "https://"+r.Host+"/again"+r.URL.Path, http.StatusFound)
	})
	if _, err := loop.discoverer().Discover(context.Background(), "alice@contoso.test"); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("redirect loop: %v", err)
	}
	back := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		to := "a@one.test"
		if strings.HasSuffix(r.Host, "one.test") {
			to = "a@two.test"
		}
		xmlOK(rw, poxAccount(`<Action>redirectAddr</Action><RedirectAddr>`+to+`</RedirectAddr>`))
	})
	if _, err := back.discoverer().Discover(context.Background(), "a@one.test"); err == nil || !strings.Contains(err.Error(), "already tried") {
		t.Errorf("address loop: %v", err)
	}
	plain := newWorld(t, func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "http://insecure.contoso.test/autodiscover/autodiscover.xml", http.StatusFound)
	})
	res, err = plain.discoverer().Discover(context.Background(), "alice@contoso.test")
	if !errors.Is(err, ErrDiscoveryFailed) || !strings.Contains(res.Attempts[0].Outcome, "non-HTTPS") || len(plain.posts) != 2 {
		t.Errorf("redirect to http followed: %v %+v posts %v", err, res.Attempts[0], plain.posts)
	}
}
