package ewsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// POX Autodiscover namespaces.
const (
	NSPOXRequest  = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	NSPOXResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

// MaxRedirects is how many redirects (HTTP or Autodiscover) one discovery
// follows, as Microsoft's algorithm prescribes.
const MaxRedirects = 10

// Candidate kinds, in the order they are tried.
const (
	ViaRootDomain   = "root domain"       // https://<domain>/autodiscover/autodiscover.xml
	ViaAutodiscover = "autodiscover host" // https://autodiscover.<domain>/autodiscover/autodiscover.xml
	ViaHTTPRedirect = "HTTP redirect"     // GET http://autodiscover.<domain>/autodiscover/autodiscover.xml, follow its 302
	ViaSRV          = "SRV record"        // _autodiscover._tcp.<domain>
	ViaRedirect     = "redirect"          // a 301/302 or an Autodiscover redirectUrl
	ViaRedirectAddr = "address redirect"  // redirectAddr: the whole process restarts for a new address
)

// Attempt is one request of a discovery.
type Attempt struct {
	Via     string        `json:"via"`
	Method  string        `json:"method"`
	URL     string        `json:"url"`
	Email   string        `json:"email"`
	Status  int           `json:"status,omitempty"`
	Elapsed time.Duration `json:"-"`
	// Err is the transport error (DNS, TCP, TLS), when no HTTP answer came.
	Err error `json:"-"`
	// Location of a 3xx answer.
	Location string `json:"location,omitempty"`
	// POX answer.
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Action       string `json:"action,omitempty"`
	RedirectAddr string `json:"redirectAddr,omitempty"`
	RedirectURL  string `json:"redirectUrl,omitempty"`
	EwsURL       string `json:"ewsUrl,omitempty"`
	// Outcome says in words what this attempt established.
	Outcome string `json:"outcome"`
	// Header of the HTTP answer (WWW-Authenticate, ...).
	Header http.Header `json:"-"`
}

// Discovery is the result of Discover.
type Discovery struct {
	EwsURL   string
	Email    string // the address finally discovered (after redirectAddr)
	Attempts []*Attempt
}

// ErrDiscoveryFailed means every candidate failed.
var ErrDiscoveryFailed = errors.New("all Autodiscover candidates failed")

// ErrTooManyRedirects means a discovery exceeded MaxRedirects.
var ErrTooManyRedirects = errors.New("too many Autodiscover redirects")

// Discoverer finds the EWS URL of a mailbox with POX Autodiscover, trying
// the candidates of Microsoft's documented algorithm in order: the root
// domain, the autodiscover host, the unauthenticated HTTP redirect method,
// then the DNS SRV record. SCP lookup (Active Directory) is not done.
type Discoverer struct {
	User, Password string
	// HTTP is the transport (its redirect policy is replaced: redirects are
	// followed by the Discoverer itself, HTTPS only).
	HTTP *http.Client
	// LookupSRV resolves _autodiscover._tcp.<domain>; nil uses
	// net.DefaultResolver.
	LookupSRV func(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	// Timeout bounds each request; default 30s.
	Timeout time.Duration
}

// Candidates returns the first two candidate URLs for a domain.
func Candidates(domain string) []string {
	return []string{
		"https://" + domain + "/autodiscover/autodiscover.xml",
		"https://autodiscover." + domain + "/autodiscover/autodiscover.xml",
	}
}

func (d *Discoverer) client() *http.Client {
	base := d.HTTP
	if base == nil {
		base = &http.Client{}
	}
	cp := *base
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func (d *Discoverer) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 30 * time.Second
}

type discovery struct {
	d         *Discoverer
	res       *Discovery
	redirects int
}

// outcome of trying one candidate
type outcome int

const (
	next outcome = iota
	found
	restart
	abort
)

// Discover runs the algorithm for an email address. The returned Discovery
// always lists the attempts, also on error.
func (d *Discoverer) Discover(ctx context.Context, email string) (*Discovery, error) {
	st := &discovery{d: d, res: &Discovery{}}
	seen := map[string]bool{}
	addr := email
	for {
		seen[strings.ToLower(addr)] = true
		st.res.Email = addr
		at := strings.LastIndexByte(addr, '@')
		if at < 0 || at == len(addr)-1 {
			return st.res, fmt.Errorf("%q is not an email address", addr)
		}
		domain := addr[at+1:]
		o, newAddr := st.run(ctx, addr, domain)
		switch o {
		case found:
			return st.res, nil
		case restart:
			if seen[strings.ToLower(newAddr)] {
				return st.res, fmt.Errorf("Autodiscover redirected to %s, which was already tried", newAddr)
			}
			st.redirects++
			if st.redirects > MaxRedirects {
				return st.res, ErrTooManyRedirects
			}
			addr = newAddr
			continue
		case abort:
			return st.res, ErrTooManyRedirects
		}
		return st.res, ErrDiscoveryFailed
	}
}

func (st *discovery) run(ctx context.Context, addr, domain string) (outcome, string) {
	for i, u := range Candidates(domain) {
		via := ViaRootDomain
		if i == 1 {
			via = ViaAutodiscover
		}
		if o, a := st.post(ctx, via, u, addr); o != next {
			return o, a
		}
	}
	// The HTTP redirect method: an unauthenticated GET over plain HTTP,
	// whose 302 (to HTTPS only) names the endpoint to POST to.
	u := "http://autodiscover." + domain + "/autodiscover/autodiscover.xml"
	at := &Attempt{Via: ViaHTTPRedirect, Method: http.MethodGet, URL: u, Email: addr}
	st.res.Attempts = append(st.res.Attempts, at)
	hr, err := st.do(ctx, http.MethodGet, u, "", false, at)
	if err == nil {
		hr.Body.Close()
		switch {
		case isRedirect(hr.StatusCode) && at.Location != "":
			if !strings.HasPrefix(strings.ToLower(at.Location), "https://") {
				at.Outcome = "redirect to a non-HTTPS URL, not followed: " + at.Location
			} else {
				at.Outcome = "redirected to " + at.Location
				st.redirects++
				if st.redirects > MaxRedirects {
					return abort, ""
				}
				if o, a := st.post(ctx, ViaRedirect, at.Location, addr); o != next {
					return o, a
				}
			}
		default:
			at.Outcome = fmt.Sprintf("HTTP %d, no redirect", hr.StatusCode)
		}
	}
	// SRV: the record with the highest priority (lowest number), then weight.
	at = &Attempt{Via: ViaSRV, Method: "SRV", URL: "_autodiscover._tcp." + domain, Email: addr}
	st.res.Attempts = append(st.res.Attempts, at)
	lookup := st.d.LookupSRV
	if lookup == nil {
		lookup = net.DefaultResolver.LookupSRV
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, st.d.timeout())
	_, srvs, err := lookup(sctx, "autodiscover", "tcp", domain)
	cancel()
	at.Elapsed = time.Since(start)
	if err != nil || len(srvs) == 0 {
		at.Err = err
		at.Outcome = "no SRV record"
		if err != nil {
			at.Outcome = "no SRV record: " + err.Error()
		}
		return next, ""
	}
	sort.SliceStable(srvs, func(i, j int) bool {
		if srvs[i].Priority != srvs[j].Priority {
			return srvs[i].Priority < srvs[j].Priority
		}
		return srvs[i].Weight > srvs[j].Weight
	})
	best := srvs[0]
	host := strings.TrimSuffix(best.Target, ".")
	if best.Port != 443 && best.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(int(best.Port)))
	}
	target := "https://" + host + "/autodiscover/autodiscover.xml"
	at.Outcome = fmt.Sprintf("%s port %d → %s", strings.TrimSuffix(best.Target, "."), best.Port, target)
	return st.post(ctx, ViaSRV, target, addr)
}

func isRedirect(code int) bool {
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308
}

// do sends one request and records status, headers and timing in at.
func (st *discovery) do(ctx context.Context, method, u, body string, auth bool, at *Attempt) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, st.d.timeout())
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		cancel()
		at.Err = err
		at.Outcome = "bad URL: " + err.Error()
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	}
	req.Header.Set("User-Agent", "actas-check/1")
	if auth {
		req.SetBasicAuth(st.d.User, st.d.Password)
	}
	start := time.Now()
	hr, err := st.d.client().Do(req)
	at.Elapsed = time.Since(start)
	if err != nil {
		cancel()
		at.Err = err
		at.Outcome = err.Error()
		return nil, err
	}
	hr.Body = &cancelBody{ReadCloser: hr.Body, cancel: cancel}
	at.Status = hr.StatusCode
	at.Header = hr.Header
	if isRedirect(hr.StatusCode) {
		at.Location = hr.Header.Get("Location")
		if l, err := hr.Location(); err == nil {
			at.Location = l.String()
		}
	}
	return hr, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

// post POSTs the POX request to one URL, following HTTP redirects and
// redirectUrl answers (HTTPS only).
func (st *discovery) post(ctx context.Context, via, u, addr string) (outcome, string) {
	for {
		at := &Attempt{Via: via, Method: http.MethodPost, URL: u, Email: addr}
		st.res.Attempts = append(st.res.Attempts, at)
		if pu, err := url.Parse(u); err != nil || !strings.EqualFold(pu.Scheme, "https") {
			at.Outcome = "not an HTTPS URL; Autodiscover with credentials is sent over HTTPS only"
			return next, ""
		}
		body := `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="` + NSPOXRequest + `"><Request><EMailAddress>` + escape(addr) +
			`</EMailAddress><AcceptableResponseSchema>` + NSPOXResponse + `</AcceptableResponseSchema></Request></Autodiscover>`
		hr, err := st.do(ctx, http.MethodPost, u, body, true, at)
		if err != nil {
			return next, ""
		}
		data, rerr := io.ReadAll(io.LimitReader(hr.Body, 1<<20))
		hr.Body.Close()
		switch {
		case isRedirect(hr.StatusCode):
			if at.Location == "" || !strings.HasPrefix(strings.ToLower(at.Location), "https://") {
				at.Outcome = "redirect to a non-HTTPS URL, not followed: " + at.Location
				return next, ""
			}
			st.redirects++
			if st.redirects > MaxRedirects {
				at.Outcome = "too many redirects"
				return abort, ""
			}
			at.Outcome = "redirected to " + at.Location
			u, via = at.Location, ViaRedirect
			continue
		case hr.StatusCode != http.StatusOK:
			at.Outcome = fmt.Sprintf("HTTP %d", hr.StatusCode)
			if hr.StatusCode == http.StatusUnauthorized {
				at.Outcome = "HTTP 401: credentials refused here (not final: trying the next candidate)"
			}
			return next, ""
		case rerr != nil:
			at.Outcome = "reading the answer failed: " + rerr.Error()
			return next, ""
		}
		pox, perr := parsePOX(data)
		if perr != nil {
			at.Outcome = "HTTP 200 but not a POX Autodiscover answer"
			return next, ""
		}
		at.ErrorCode, at.ErrorMessage = pox.errorCode, pox.errorMessage
		at.Action, at.RedirectAddr, at.RedirectURL, at.EwsURL = pox.action, pox.redirectAddr, pox.redirectURL, pox.ewsURL
		switch {
		case pox.errorCode != "":
			at.Outcome = fmt.Sprintf("Autodiscover error %s: %s", pox.errorCode, pox.errorMessage)
			return next, ""
		case strings.EqualFold(pox.action, "redirectAddr") && pox.redirectAddr != "":
			at.Outcome = "redirected to the address " + pox.redirectAddr
			return restart, pox.redirectAddr
		case strings.EqualFold(pox.action, "redirectUrl") && pox.redirectURL != "":
			if !strings.HasPrefix(strings.ToLower(pox.redirectURL), "https://") {
				at.Outcome = "redirectUrl to a non-HTTPS URL, not followed: " + pox.redirectURL
				return next, ""
			}
			st.redirects++
			if st.redirects > MaxRedirects {
				at.Outcome = "too many redirects"
				return abort, ""
			}
			at.Outcome = "redirectUrl " + pox.redirectURL
			u, via = pox.redirectURL, ViaRedirect
			continue
		case pox.ewsURL != "":
			at.Outcome = "EwsUrl " + pox.ewsURL
			st.res.EwsURL = pox.ewsURL
			return found, ""
		}
		at.Outcome = "settings without an EwsUrl (EWS not published for this mailbox)"
		return next, ""
	}
}

type poxAnswer struct {
	errorCode, errorMessage           string
	action, redirectAddr, redirectURL string
	ewsURL                            string
}

// parsePOX reads a POX Autodiscover response: an Error, or an Account with
// Action settings (Protocol EwsUrl, EXPR first, then EXCH, then any;
// ASUrl as a fallback), redirectAddr or redirectUrl.
func parsePOX(b []byte) (*poxAnswer, error) {
	root, err := ParseXML(b)
	if err != nil || root.Local != "Autodiscover" {
		return nil, ErrNotXML
	}
	resp := root.Child("Response")
	if resp == nil {
		return nil, ErrNotXML
	}
	out := &poxAnswer{}
	if e := resp.Child("Error"); e != nil {
		out.errorCode, out.errorMessage = e.TextOf("ErrorCode"), e.TextOf("Message")
		if out.errorCode == "" {
			out.errorCode = "unknown"
		}
		return out, nil
	}
	acct := resp.Child("Account")
	if acct == nil {
		return nil, ErrNotXML
	}
	if e := acct.Child("Error"); e != nil {
		out.errorCode, out.errorMessage = e.TextOf("ErrorCode"), e.TextOf("Message")
		return out, nil
	}
	out.action = acct.TextOf("Action")
	out.redirectAddr = acct.TextOf("RedirectAddr")
	out.redirectURL = acct.TextOf("RedirectUrl")
	protos := acct.ChildrenNamed("Protocol")
	pick := func(typ string) string {
		for _, p := range protos {
			if typ == "" || strings.EqualFold(p.TextOf("Type"), typ) {
				if v := p.TextOf("EwsUrl"); v != "" {
					return v
				}
			}
		}
		return ""
	}
	for _, t := range []string{"EXPR", "EXCH", ""} {
		if out.ewsURL = pick(t); out.ewsURL != "" {
			break
		}
	}
	if out.ewsURL == "" {
		for _, p := range protos {
			if v := p.TextOf("ASUrl"); v != "" {
				out.ewsURL = v
				break
			}
		}
	}
	return out, nil
}
