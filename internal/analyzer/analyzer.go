// Package analyzer is Actas's connectivity analyzer: the "Service Account
// Access" test of Microsoft's Remote Connectivity Analyzer as a library,
// usable against Actas and any EWS server, that says why a step failed and
// what to type to fix it.
//
// Run walks a fixed tree of steps: endpoint discovery (Autodiscover
// candidates in the documented order, or a given EWS URL), DNS, TCP and the
// TLS certificate, the authentication schemes offered and authentication as
// the service account, the impersonated (or delegate) GetFolder and
// FindItem on a distinguished folder with X-AnchorMailbox, then three
// checks Microsoft's test does not do (whether the server needs
// X-AnchorMailbox, a Subscribe/GetEvents round trip, throttling headroom),
// and, against Actas, the RBAC decision behind the result and a sample
// matrix. Every failure carries an entry of the diagnosis Table.
package analyzer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/ewsclient"
)

// Config is one test.
type Config struct {
	ServiceAccount string
	Password       string
	// Mailbox is the target ("act as") mailbox's SMTP address. It may be
	// empty only with Sample.
	Mailbox string
	// EwsURL skips Autodiscover when set.
	EwsURL string
	// Impersonation tests ExchangeImpersonation; false tests delegate
	// access (DistinguishedFolderId with Mailbox).
	Impersonation bool
	IDType        ewsclient.IDType // default SmtpAddress
	// ID is the ConnectingSID value when it is not Mailbox (a SID, or a
	// UPN that differs from the address).
	ID string
	// Folder is a distinguished folder id; default inbox.
	Folder string
	// Insecure accepts any certificate (reported as a warning).
	Insecure bool
	// RootCAs replaces the system roots (nil: system roots).
	RootCAs *x509.CertPool
	// Timeout bounds each network operation; default 30s.
	Timeout time.Duration
	// AdminUser and AdminPassword, when set, are used for the explain and
	// sample calls (Test-ApplicationImpersonation, Get-Recipient, ...).
	AdminUser, AdminPassword string
	// Sample checks the service account against this many mailboxes.
	Sample int

	// Resolve maps "host:port" to "address:port" (like curl --resolve).
	Resolve map[string]string
	// Resolver and Dial replace the system DNS and dialer (tests).
	Resolver Resolver
	Dial     DialFunc
	// Now is the clock for certificate checks; default time.Now.
	Now func() time.Time
}

// DistinguishedFolders are the DistinguishedFolderIdNameType values.
var DistinguishedFolders = []string{
	"inbox", "calendar", "contacts", "deleteditems", "drafts", "journal", "notes", "outbox", "sentitems", "tasks",
	"msgfolderroot", "root", "junkemail", "searchfolders", "voicemail", "publicfoldersroot",
	"recoverableitemsroot", "recoverableitemsdeletions", "recoverableitemsversions", "recoverableitemspurges",
	"archiveroot", "archivemsgfolderroot", "archivedeleteditems", "archiveinbox",
	"archiverecoverableitemsroot", "archiverecoverableitemsdeletions", "archiverecoverableitemsversions", "archiverecoverableitemspurges",
	"syncissues", "conflicts", "localfailures", "serverfailures", "recipientcache", "quickcontacts",
	"conversationhistory", "adminauditlogs", "todosearch", "mycontacts", "directory", "imcontactlist",
	"peopleconnect", "favorites",
}

// folderNames are the display names of the common distinguished folders,
// for Add-MailboxFolderPermission -Identity mailbox:\Name.
var folderNames = map[string]string{
	"inbox": "Inbox", "calendar": "Calendar", "contacts": "Contacts", "deleteditems": "Deleted Items",
	"drafts": "Drafts", "journal": "Journal", "notes": "Notes", "outbox": "Outbox", "sentitems": "Sent Items",
	"tasks": "Tasks", "junkemail": "Junk Email", "conversationhistory": "Conversation History",
}

// IsDistinguishedFolder reports whether id names a distinguished folder.
func IsDistinguishedFolder(id string) bool {
	for _, f := range DistinguishedFolders {
		if f == id {
			return true
		}
	}
	return false
}

type pending struct {
	step      *Step
	key, fb   string
	confirmed string
}

type run struct {
	cfg   Config
	rep   *Report
	env   *netEnv
	httpc *http.Client
	ews   *ewsclient.Client
	// stopped, when set, is why the remaining steps do not run.
	stopped string

	ewsURL     *url.URL
	seen       []*ewsclient.Response
	actas      bool
	diags      []pending
	ctxMap     map[string]string
	idValue    string
	folderName string // display name of the tested folder
	// access results
	getFolderResp *ewsclient.Response
	getFolderOK   bool
	authOK        bool
}

// Run performs the test. It never returns nil.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Folder == "" {
		cfg.Folder = "inbox"
	}
	if cfg.IDType == "" {
		cfg.IDType = ewsclient.SmtpAddress
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: cfg.Timeout}).DialContext
	}
	r := &run{cfg: cfg, ctxMap: map[string]string{}}
	r.env = &netEnv{resolver: cfg.Resolver, dial: cfg.Dial, overrides: map[string]string{}}
	for k, v := range cfg.Resolve {
		r.env.overrides[strings.ToLower(k)] = v
	}
	tlsConf := &tls.Config{InsecureSkipVerify: cfg.Insecure, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12} //nolint:gosec // --insecure is the operator's explicit choice, reported as a warning
	r.httpc = r.env.httpClient(tlsConf, cfg.Timeout)
	mode := "delegate"
	if cfg.Impersonation {
		mode = "impersonation"
	}
	r.rep = &Report{Input: Input{ServiceAccount: cfg.ServiceAccount, Mailbox: cfg.Mailbox, Mode: mode, Folder: cfg.Folder,
		EwsURL: cfg.EwsURL, Insecure: cfg.Insecure, Admin: cfg.AdminUser, Sample: cfg.Sample}}
	if cfg.Impersonation {
		r.rep.Input.IDType, r.rep.Input.ID = string(cfg.IDType), cfg.ID
	}
	r.ctxMap["ServiceAccount"] = cfg.ServiceAccount
	r.ctxMap["Mailbox"] = cfg.Mailbox
	r.ctxMap["FolderID"] = cfg.Folder
	r.folderName = folderNames[cfg.Folder]
	if r.folderName == "" {
		r.folderName = cfg.Folder
	}
	r.ctxMap["Folder"] = r.folderName
	r.ctxMap["FolderPath"] = cfg.Mailbox + `:\` + r.folderName

	start := time.Now()
	r.discover(ctx)
	r.connectivity(ctx)
	r.authentication(ctx)
	if cfg.Mailbox != "" {
		r.access(ctx)
		r.beyond(ctx)
		r.explain(ctx)
	}
	if cfg.Sample > 0 {
		r.sample(ctx)
	}
	r.renderDiagnoses()
	r.rep.finish()
	r.rep.Elapsed = float64(time.Since(start).Microseconds()) / 1000
	return r.rep
}

// --- step helpers ---

func (r *run) top(name string) *Step {
	s := &Step{Name: name, start: time.Now()}
	r.rep.Steps = append(r.rep.Steps, s)
	return s
}

func child(parent *Step, name string) *Step {
	s := &Step{Name: name, start: time.Now()}
	parent.Children = append(parent.Children, s)
	return s
}

func (s *Step) done(st Status) {
	s.Status = st
	if !s.start.IsZero() && s.Elapsed == 0 {
		s.Elapsed = time.Since(s.start)
	}
}

// skipped marks a stage as not run because of an earlier failure.
func (r *run) skipped(s *Step) bool {
	if r.stopped == "" {
		return false
	}
	s.detail("not run: %s", r.stopped)
	s.done(Skip)
	s.Elapsed = 0
	return true
}

func (r *run) stop(reason string) {
	if r.stopped == "" {
		r.stopped = reason
	}
}

// diag attaches a diagnosis, rendered at the end (when the explain step
// has filled in scope and group names).
func (r *run) diag(s *Step, key, fallback, confirmed string) {
	r.diags = append(r.diags, pending{step: s, key: key, fb: fallback, confirmed: confirmed})
}

func (r *run) renderDiagnoses() {
	for _, p := range r.diags {
		d := diagnose(p.key, r.ctxMap, p.fb)
		d.Confirmed = p.confirmed
		p.step.Diagnosis = d
	}
}

func (r *run) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.Timeout)
}

// --- 1. endpoint discovery ---

func (r *run) discover(ctx context.Context) {
	s := r.top("Endpoint discovery")
	if r.cfg.EwsURL != "" {
		u, err := url.Parse(r.cfg.EwsURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.detail("--ews-url %q is not an http(s) URL", r.cfg.EwsURL)
			s.done(Fail)
			r.diag(s, "HTTP 404", "", "")
			r.stop("no usable EWS URL")
			return
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/EWS/Exchange.asmx"
			s.detail("--ews-url has no path; using %s", u.Path)
		}
		r.setEwsURL(u)
		s.detail("EWS URL given with --ews-url: %s (Autodiscover not run)", u)
		s.done(Pass)
		return
	}
	addr := r.cfg.Mailbox
	if addr == "" {
		addr = r.cfg.ServiceAccount
	}
	s.Name = "Autodiscover for " + addr
	d := &ewsclient.Discoverer{User: r.cfg.ServiceAccount, Password: r.cfg.Password, HTTP: r.httpc,
		LookupSRV: r.cfg.Resolver.LookupSRV, Timeout: r.cfg.Timeout}
	res, err := d.Discover(ctx, addr)
	success := err == nil && res.EwsURL != ""
	for _, at := range res.Attempts {
		c := child(s, fmt.Sprintf("%s: %s %s", at.Via, at.Method, at.URL))
		c.start = time.Time{}
		c.Elapsed = at.Elapsed
		if at.Email != addr {
			c.detail("for %s", at.Email)
		}
		c.HTTPStatus = at.Status
		var key string
		switch {
		case at.EwsURL != "":
			c.detail("answered: EwsUrl %s", at.EwsURL)
			c.done(Pass)
			continue
		case at.Err != nil:
			k, text := classifyErr(at.Err, false)
			key = k
			c.detail("no answer: %s", text)
		case at.Method == "SRV":
			c.detail("%s", at.Outcome)
			if strings.Contains(at.Outcome, "→") {
				c.done(Pass)
				continue
			}
		case at.Location != "" && strings.HasPrefix(at.Outcome, "redirected"):
			c.detail("HTTP %d, %s", at.Status, at.Outcome)
			c.done(Pass)
			continue
		case at.RedirectAddr != "" || at.RedirectURL != "":
			c.detail("%s", at.Outcome)
			c.done(Pass)
			continue
		case at.ErrorCode != "":
			c.detail("%s", at.Outcome)
			key = "autodiscover-" + at.ErrorCode
			if _, ok := Lookup(key); !ok {
				key = "autodiscover-error"
			}
		default:
			c.detail("%s", at.Outcome)
			if at.Status != 0 && at.Status != 200 {
				key = fmt.Sprintf("HTTP %d", at.Status)
			}
			if ch := at.Header.Values("WWW-Authenticate"); at.Status == 401 && len(ch) > 0 {
				c.detail("WWW-Authenticate: %s", strings.Join(ch, ", "))
			}
		}
		if success {
			c.done(Warn) // failed, but a later candidate answered
		} else {
			c.done(Fail)
			if key != "" {
				r.diag(c, key, "HTTP unexpected", "")
			}
		}
	}
	s.start = time.Time{}
	if !success {
		s.Status = Fail
		if err != nil {
			s.detail("%s", err)
		}
		key := "autodiscover-failed"
		if err == ewsclient.ErrTooManyRedirects || strings.Contains(fmt.Sprint(err), "already tried") {
			key = "autodiscover-redirect-loop"
		}
		r.diag(s, key, "", "")
		r.ctxMap["Domain"] = addr[strings.LastIndexByte(addr, '@')+1:]
		r.stop("Autodiscover found no EWS URL")
		return
	}
	u, perr := url.Parse(res.EwsURL)
	if perr != nil || u.Host == "" {
		s.Status = Fail
		s.detail("Autodiscover returned an unusable EwsUrl %q", res.EwsURL)
		r.diag(s, "autodiscover-error", "", "")
		r.stop("no usable EWS URL")
		return
	}
	s.detail("EWS URL: %s", res.EwsURL)
	if res.Email != addr {
		s.detail("the address was redirected to %s", res.Email)
	}
	r.setEwsURL(u)
}

func (r *run) setEwsURL(u *url.URL) {
	r.ewsURL = u
	r.rep.Server.EwsURL = u.String()
	r.ctxMap["EwsURL"] = u.String()
	r.ctxMap["Host"] = u.Hostname()
	r.ews = &ewsclient.Client{URL: u.String(), User: r.cfg.ServiceAccount, Password: r.cfg.Password, HTTP: r.httpc,
		Observe: func(resp *ewsclient.Response) { r.seen = append(r.seen, resp) }}
}

// --- 2. DNS, TCP, TLS ---

func (r *run) connectivity(ctx context.Context) {
	if r.ewsURL == nil {
		r.skipped(r.top("Connectivity"))
		return
	}
	host := r.ewsURL.Hostname()
	port := r.ewsURL.Port()
	if port == "" {
		port = "443"
		if r.ewsURL.Scheme == "http" {
			port = "80"
		}
	}
	hostport := net.JoinHostPort(host, port)
	s := r.top("Connectivity to " + hostport)
	if r.skipped(s) {
		return
	}
	// DNS
	dns := child(s, "DNS lookup of "+host)
	var addrs []string
	if a, ok := r.env.override(hostport); ok {
		dns.detail("--resolve maps %s to %s; DNS not consulted", hostport, a)
		addrs = []string{a}
		dns.done(Pass)
	} else if net.ParseIP(host) != nil {
		dns.detail("%s is an IP address; no lookup needed", host)
		addrs = []string{hostport}
		dns.done(Pass)
	} else {
		cctx, cancel := r.callCtx(ctx)
		ips, err := r.cfg.Resolver.LookupIPAddr(cctx, host)
		cancel()
		if err != nil || len(ips) == 0 {
			if err == nil {
				err = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
			}
			key, text := classifyErr(err, false)
			dns.detail("%s", text)
			dns.done(Fail)
			r.diag(dns, key, "", "")
			r.stop("DNS lookup failed")
			child(s, "TCP connection").done(Skip)
			child(s, "TLS certificate").done(Skip)
			return
		}
		var list []string
		for _, ip := range ips {
			list = append(list, ip.IP.String())
			addrs = append(addrs, net.JoinHostPort(ip.IP.String(), port))
		}
		dns.detail("%s resolves to %s", host, strings.Join(list, ", "))
		dns.done(Pass)
	}
	// TCP
	tcp := child(s, "TCP connection to port "+port)
	var lastErr error
	connected := ""
	for _, a := range addrs {
		cctx, cancel := r.callCtx(ctx)
		c, err := r.cfg.Dial(cctx, "tcp", a)
		cancel()
		if err != nil {
			lastErr = err
			tcp.detail("%s: %s", a, shortErr(err))
			continue
		}
		connected = c.RemoteAddr().String()
		c.Close()
		break
	}
	if connected == "" {
		key, _ := classifyErr(lastErr, true)
		tcp.done(Fail)
		r.diag(tcp, key, "", "")
		r.stop("TCP connection failed")
		child(s, "TLS certificate").done(Skip)
		return
	}
	tcp.detail("connected to %s", connected)
	tcp.done(Pass)
	// TLS
	t := child(s, "TLS certificate")
	if r.ewsURL.Scheme != "https" {
		if isLoopbackHost(host) {
			t.detail("plain HTTP on a loopback address: no certificate to check")
			t.done(Pass)
		} else {
			t.detail("plain HTTP: no certificate, and the password crosses the network in clear text")
			t.done(Warn)
			r.diag(t, "plain-http", "", "")
		}
		return
	}
	r.checkTLS(ctx, t, host, hostport)
}

func shortErr(err error) string {
	_, text := classifyErr(err, true)
	return text
}

func (r *run) checkTLS(ctx context.Context, t *Step, host, hostport string) {
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	conn, err := r.env.dialContext(cctx, "tcp", hostport)
	if err != nil {
		key, text := classifyErr(err, true)
		t.detail("%s", text)
		t.done(Fail)
		r.diag(t, key, "", "")
		r.stop("TLS connection failed")
		return
	}
	defer conn.Close()
	sni := host
	if net.ParseIP(host) != nil {
		sni = ""
	}
	tc := tls.Client(conn, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // verified below by hand, to report why
	if err := tc.HandshakeContext(cctx); err != nil {
		key, text := classifyErr(err, false)
		if key == "transport" || key == "timeout" {
			key = "tls-handshake"
		}
		t.detail("handshake failed: %s", text)
		t.done(Fail)
		r.diag(t, key, "", "")
		r.stop("TLS handshake failed")
		return
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		t.detail("the server sent no certificate")
		t.done(Fail)
		r.diag(t, "tls-invalid", "", "")
		r.stop("no certificate")
		return
	}
	leaf := st.PeerCertificates[0]
	now := r.cfg.Now()
	var names []string
	seenName := map[string]bool{}
	for _, n := range leaf.DNSNames {
		if !seenName[n] {
			seenName[n] = true
			names = append(names, n)
		}
	}
	for _, ip := range leaf.IPAddresses {
		if n := ip.String(); !seenName[n] {
			seenName[n] = true
			names = append(names, n)
		}
	}
	t.detail("%s; subject %s; names %s", tls.VersionName(st.Version), leaf.Subject, strings.Join(names, ", "))
	left := fmt.Sprintf("%d days left", int(leaf.NotAfter.Sub(now).Hours()/24))
	if now.After(leaf.NotAfter) {
		left = "expired"
	} else if now.Before(leaf.NotBefore) {
		left = "not valid yet"
	}
	t.detail("issuer %s; valid %s to %s (%s)", leaf.Issuer, leaf.NotBefore.UTC().Format("2006-01-02 15:04"), leaf.NotAfter.UTC().Format("2006-01-02 15:04"), left)
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, verr := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: r.cfg.RootCAs, Intermediates: inter, CurrentTime: now})
	if verr == nil {
		var chain []string
		for _, c := range chains[0] {
			chain = append(chain, c.Subject.CommonName)
		}
		t.detail("chain trusted: %s", strings.Join(chain, " → "))
		if leaf.NotAfter.Sub(now) < 30*24*time.Hour {
			t.done(Warn)
			r.diag(t, "tls-expiring", "", "")
			return
		}
		t.done(Pass)
		return
	}
	key, text := classifyErr(verr, false)
	// Expiry and name problems are worth naming even when the chain is
	// also untrusted.
	switch {
	case now.After(leaf.NotAfter):
		key = "tls-expired"
	case now.Before(leaf.NotBefore):
		key = "tls-not-yet-valid"
	case leaf.VerifyHostname(host) != nil:
		key = "tls-name-mismatch"
	}
	t.detail("not trusted: %s", text)
	if r.cfg.Insecure {
		t.detail("ignored because of --insecure; real clients will refuse this certificate")
		t.done(Warn)
		r.diag(t, key, "", "")
		return
	}
	t.done(Fail)
	r.diag(t, key, "", "")
	r.stop("the server's certificate is not trusted (use --insecure to test anyway)")
}

// --- 3. authentication ---

// authSchemes splits WWW-Authenticate values into challenges, e.g.
// `Bearer client_id="x", trusted_issuers="y", Basic Realm=""` gives two.
func authSchemes(values []string) []string {
	var out []string
	for _, v := range values {
		var cur strings.Builder
		inQuote := false
		flush := func() {
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
		parts := []string{}
		var part strings.Builder
		for _, ch := range v {
			switch {
			case ch == '"':
				inQuote = !inQuote
				part.WriteRune(ch)
			case ch == ',' && !inQuote:
				parts = append(parts, part.String())
				part.Reset()
			default:
				part.WriteRune(ch)
			}
		}
		parts = append(parts, part.String())
		for _, p := range parts {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			// A new challenge starts with a token that is not a parameter
			// (no '=' before the first space).
			first := p
			if i := strings.IndexByte(p, ' '); i >= 0 {
				first = p[:i]
			}
			if !strings.Contains(first, "=") {
				flush()
				cur.WriteString(p)
			} else {
				if cur.Len() > 0 {
					cur.WriteString(", ")
				}
				cur.WriteString(p)
			}
		}
		flush()
	}
	return out
}

func schemeName(ch string) string {
	if i := strings.IndexByte(ch, ' '); i >= 0 {
		return ch[:i]
	}
	return ch
}

// httpKey is the diagnosis key for an HTTP answer that is not a usable EWS
// response.
func httpKey(resp *ewsclient.Response) (key, fallback string) {
	switch st := resp.Status; {
	case st == http.StatusUnauthorized:
		if d := resp.Diagnostics(); d != "" {
			code := d
			if i := strings.IndexByte(d, ';'); i >= 0 {
				code = d[:i]
			}
			return "x-ms-diagnostics " + strings.TrimSpace(code), "HTTP 401"
		}
		bearer, emptyBasic := false, false
		for _, ch := range authSchemes(resp.WWWAuthenticate()) {
			name := strings.ToLower(schemeName(ch))
			if name == "bearer" {
				bearer = true
			}
			if name == "basic" && strings.Contains(strings.ToLower(ch), `realm=""`) {
				emptyBasic = true
			}
		}
		if bearer && (emptyBasic || !offersBasic(resp)) {
			return "HTTP 401 Basic disabled", "HTTP 401"
		}
		return "HTTP 401", ""
	case st >= 300 && st < 400:
		if strings.Contains(strings.ToLower(resp.Location), "genericerrorpage") {
			return "HTTP 302 error page", "HTTP 3xx"
		}
		return "HTTP 3xx", ""
	case st == http.StatusOK && !resp.SOAP:
		return "not SOAP", ""
	case st == http.StatusInternalServerError && resp.Fault != nil:
		return resp.Fault.ResponseCode, "ews-unknown-code"
	}
	return fmt.Sprintf("HTTP %d", resp.Status), "HTTP unexpected"
}

func offersBasic(resp *ewsclient.Response) bool {
	for _, ch := range authSchemes(resp.WWWAuthenticate()) {
		if strings.EqualFold(schemeName(ch), "basic") {
			return true
		}
	}
	return false
}

// describe adds the answer's identifying lines to a step.
func describe(s *Step, resp *ewsclient.Response) {
	line := fmt.Sprintf("HTTP %d", resp.Status)
	if id := resp.Header.Get("request-id"); id != "" {
		line += "; request-id " + id
	}
	if fe := resp.Header.Get("X-FEServer"); fe != "" {
		line += "; X-FEServer " + fe
	}
	if be := resp.Header.Get("X-BEServer"); be != "" {
		line += "; X-BEServer " + be
	}
	s.detail("%s", line)
	if ch := resp.WWWAuthenticate(); len(ch) > 0 && resp.Status == http.StatusUnauthorized {
		s.detail("WWW-Authenticate: %s", strings.Join(ch, ", "))
	}
	if d := resp.Diagnostics(); d != "" {
		s.detail("x-ms-diagnostics: %s", d)
	}
	if resp.Location != "" {
		s.detail("Location: %s", resp.Location)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		s.detail("Retry-After: %s (back off %s)", ra, resp.RetryAfter())
	}
	if c := resp.Header.Get("X-CasErrorCode"); c != "" {
		s.detail("X-CasErrorCode: %s", c)
	}
}

// failWith marks a step failed (or warned) from an HTTP/EWS answer.
func (r *run) failWith(s *Step, resp *ewsclient.Response, st Status) {
	describe(s, resp)
	s.HTTPStatus = resp.Status
	code := resp.Code()
	confirmed := ""
	var key, fb string
	if resp.SOAP && code != "" && code != "NoError" {
		s.ResponseCode = code
		s.MessageText = resp.MessageText()
		for _, v := range resp.Values() {
			s.ServerValues = append(s.ServerValues, Value{Name: v.Name, Value: v.Value})
		}
		key, fb = code, "ews-unknown-code"
		if reason := resp.Value("ActasReason"); reason != "" {
			// Actas's reason refines the generic impersonation codes; a
			// specific code (an invalid UPN or SID) keeps its own entry.
			switch code {
			case "ErrorImpersonationDenied", "ErrorImpersonateUserDenied", "ErrorNonExistentMailbox", "ErrorImpersonationFailed":
				if _, ok := Lookup("Actas:" + reason); ok {
					key, fb = "Actas:"+reason, code
				}
			}
			confirmed = resp.Value("ActasExplanation")
		}
		if b := resp.BackOff(); b > 0 {
			s.detail("the server asks to back off %s (BackOffMilliseconds)", b)
		}
	} else {
		key, fb = httpKey(resp)
		if resp.Status == http.StatusOK && !resp.SOAP {
			s.detail("Content-Type: %s", resp.Header.Get("Content-Type"))
		}
	}
	s.done(st)
	r.diag(s, key, fb, confirmed)
}

// failErr marks a step failed from a transport error.
func (r *run) failErr(s *Step, err error) {
	key, text := classifyErr(err, false)
	if key == "transport" && r.ewsURL != nil && r.ewsURL.Scheme == "http" &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		key = "tls-expected"
	}
	s.detail("no answer: %s", text)
	s.done(Fail)
	r.diag(s, key, "", "")
}

func (r *run) authentication(ctx context.Context) {
	s := r.top("EWS endpoint and authentication")
	if r.skipped(s) {
		return
	}
	// Unauthenticated probe: which schemes does the server offer?
	a := child(s, "Authentication schemes offered")
	cctx, cancel := r.callCtx(ctx)
	resp, err := r.ews.ConvertIdProbe(cctx, ewsclient.Options{Anonymous: true})
	cancel()
	switch {
	case err != nil:
		r.failErr(a, err)
		r.stop("the EWS endpoint did not answer")
		return
	case resp.Status == http.StatusUnauthorized:
		chs := authSchemes(resp.WWWAuthenticate())
		if len(chs) == 0 {
			a.detail("HTTP 401 without a WWW-Authenticate challenge")
		}
		for _, ch := range chs {
			a.detail("offers %s", ch)
		}
		if !offersBasic(resp) {
			describe(a, resp)
			a.detail("this analyzer authenticates with Basic only")
			a.done(Fail)
			r.diag(a, "auth-no-basic", "", "")
			r.stop("the server does not offer Basic authentication")
			return
		}
		a.done(Pass)
	case resp.SOAP && (resp.Status == http.StatusOK || resp.Status == http.StatusInternalServerError):
		a.detail("the endpoint answered an unauthenticated request (HTTP %d)", resp.Status)
		a.done(Warn)
		r.diag(a, "auth-anonymous", "", "")
	default:
		r.failWith(a, resp, Fail)
		r.stop("the EWS endpoint does not work")
		return
	}
	if resp.ServerVersion != nil {
		r.rep.Server.Version = resp.ServerVersion.String()
	}

	// Authenticated probe as the service account, no impersonation.
	b := child(s, "Authenticate as "+r.cfg.ServiceAccount)
	cctx, cancel = r.callCtx(ctx)
	resp, err = r.ews.ConvertIdProbe(cctx, ewsclient.Options{})
	cancel()
	switch {
	case err != nil:
		r.failErr(b, err)
		r.stop("authentication did not complete")
		return
	case resp.SOAP && (resp.Status == http.StatusOK || resp.Status == http.StatusInternalServerError):
		if resp.ServerVersion != nil {
			r.rep.Server.Version = resp.ServerVersion.String()
			b.detail("authenticated; server version %s", resp.ServerVersion)
		} else {
			b.detail("authenticated; the server sent no ServerVersionInfo (exchangelib needs it)")
		}
		if resp.Fault != nil && (resp.Fault.ResponseCode == "ErrorInvalidServerVersion" || resp.Fault.ResponseCode == "ErrorSchemaValidation" || resp.Fault.ResponseCode == "ErrorInvalidRequest") {
			r.failWith(b, resp, Warn)
		} else if code := resp.Code(); code == "ErrorServerBusy" {
			r.failWith(b, resp, Warn)
		} else {
			b.done(Pass)
		}
	default:
		r.failWith(b, resp, Fail)
		r.stop("authentication as the service account failed")
		return
	}
	r.authOK = true
	r.detectActas(ctx, b)
}

// detectActas asks the admin API whether this is Actas.
func (r *run) detectActas(ctx context.Context, s *Step) {
	cl := r.adminClient(r.cfg.ServiceAccount, r.cfg.Password)
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	list, err := cl.Cmdlets(cctx)
	if err != nil {
		return
	}
	r.actas = true
	r.rep.Server.Actas = true
	names := make([]string, 0, len(list))
	for _, c := range list {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if len(names) > 6 {
		names = append(names[:6], fmt.Sprintf("… %d in all", len(list)))
	}
	s.detail("the server is Actas; this account may run: %s", strings.Join(names, ", "))
}

func (r *run) adminClient(user, password string) *adminapi.Client {
	base := r.ewsURL.Scheme + "://" + r.ewsURL.Host
	return &adminapi.Client{BaseURL: base, User: user, Password: password, HTTP: r.httpc}
}

// --- 4. mailbox access ---

func (r *run) opts(anchor bool) ewsclient.Options {
	o := ewsclient.Options{}
	if r.cfg.Impersonation {
		o.Impersonate = &ewsclient.Impersonation{Type: r.cfg.IDType, Value: r.idValue}
	}
	if anchor {
		o.Anchor = r.cfg.Mailbox
	}
	return o
}

func (r *run) folderRef() ewsclient.FolderRef {
	if r.cfg.Impersonation {
		return ewsclient.FolderRef{ID: r.cfg.Folder}
	}
	return ewsclient.FolderRef{ID: r.cfg.Folder, Mailbox: r.cfg.Mailbox}
}

func (r *run) access(ctx context.Context) {
	how := "delegate access"
	if r.cfg.Impersonation {
		how = "impersonation, " + string(r.cfg.IDType)
	}
	s := r.top(fmt.Sprintf("Access to %s of %s (%s)", r.cfg.Folder, r.cfg.Mailbox, how))
	if r.skipped(s) {
		return
	}
	if r.cfg.Impersonation && !r.resolveID(ctx, s) {
		r.stop("no identifier for the impersonation header")
		return
	}
	g := child(s, "GetFolder "+r.cfg.Folder)
	if r.cfg.Impersonation {
		g.detail("ExchangeImpersonation ConnectingSID %s %s; X-AnchorMailbox %s", r.cfg.IDType, r.idValue, r.cfg.Mailbox)
	} else {
		g.detail("DistinguishedFolderId %s with Mailbox %s, no impersonation; X-AnchorMailbox %s", r.cfg.Folder, r.cfg.Mailbox, r.cfg.Mailbox)
	}
	cctx, cancel := r.callCtx(ctx)
	f, resp, err := r.ews.GetFolder(cctx, r.opts(true), r.folderRef())
	cancel()
	r.getFolderResp = resp
	switch {
	case err != nil:
		r.failErr(g, err)
		r.stop("GetFolder did not complete")
		child(s, "FindItem in "+r.cfg.Folder).done(Skip)
		return
	case f == nil:
		r.failWith(g, resp, Fail)
		r.stop("GetFolder failed")
		fi := child(s, "FindItem in "+r.cfg.Folder)
		fi.detail("not run: GetFolder failed")
		fi.done(Skip)
		return
	}
	r.getFolderOK = true
	if f.DisplayName != "" {
		r.folderName = f.DisplayName
		r.ctxMap["Folder"] = f.DisplayName
		r.ctxMap["FolderPath"] = r.cfg.Mailbox + `:\` + f.DisplayName
	}
	line := fmt.Sprintf("folder %q", f.DisplayName)
	if f.HasTotalCount {
		line += fmt.Sprintf(": %d items, %d unread", f.TotalCount, f.UnreadCount)
	}
	g.detail("%s", line)
	g.HTTPStatus, g.ResponseCode = resp.Status, "NoError"
	g.done(Pass)

	fi := child(s, "FindItem in "+r.cfg.Folder)
	cctx, cancel = r.callCtx(ctx)
	total, ok, resp, err := r.ews.FindItemCount(cctx, r.opts(true), r.folderRef())
	cancel()
	switch {
	case err != nil:
		r.failErr(fi, err)
	case !ok:
		r.failWith(fi, resp, Fail)
	default:
		fi.detail("%d items in the folder (TotalItemsInView)", total)
		fi.HTTPStatus, fi.ResponseCode = resp.Status, "NoError"
		fi.done(Pass)
	}
}

// resolveID determines the ConnectingSID value.
func (r *run) resolveID(ctx context.Context, s *Step) bool {
	if r.cfg.ID != "" {
		r.idValue = r.cfg.ID
		return true
	}
	switch r.cfg.IDType {
	case ewsclient.SmtpAddress, ewsclient.PrimarySmtpAddress:
		r.idValue = r.cfg.Mailbox
		return true
	}
	c := child(s, "Identifier ("+string(r.cfg.IDType)+") of "+r.cfg.Mailbox)
	prop := "Sid"
	if r.cfg.IDType == ewsclient.PrincipalName {
		prop = "UserPrincipalName"
	}
	if r.actas && r.cfg.AdminUser != "" {
		cl := r.adminClient(r.cfg.AdminUser, r.cfg.AdminPassword)
		cctx, cancel := r.callCtx(ctx)
		resp, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-User", Params: map[string]any{"Identity": r.cfg.Mailbox}})
		cancel()
		if err == nil && resp.Error == nil && len(resp.Objects) > 0 {
			if v, ok := resp.Objects[0].Get(prop); ok && fmt.Sprint(v) != "" {
				r.idValue = fmt.Sprint(v)
				c.detail("Get-User %s (as %s): %s %s", r.cfg.Mailbox, r.cfg.AdminUser, prop, r.idValue)
				c.done(Pass)
				return true
			}
		}
		if err == nil && resp.Error != nil {
			c.detail("Get-User %s: %s", r.cfg.Mailbox, resp.Error.Message)
		} else if err != nil {
			c.detail("Get-User %s: %v", r.cfg.Mailbox, err)
		}
	}
	if r.cfg.IDType == ewsclient.PrincipalName {
		r.idValue = r.cfg.Mailbox
		c.detail("assuming the user principal name is the address %s (give --id if it differs)", r.cfg.Mailbox)
		c.done(Pass)
		return true
	}
	c.detail("--id-type SID needs the mailbox's SID: give --id, or --admin-user to look it up")
	c.done(Fail)
	r.diag(c, "id-unresolved", "", "")
	return false
}

// --- 5. beyond Microsoft's test ---

func (r *run) beyond(ctx context.Context) {
	s := r.top("Checks beyond Microsoft's test")
	if r.stopped != "" && r.ews == nil {
		r.skipped(s)
		return
	}
	// X-AnchorMailbox
	a := child(s, "GetFolder without X-AnchorMailbox")
	switch {
	case !r.getFolderOK:
		a.detail("not run: GetFolder with the header did not succeed")
		a.done(Skip)
	default:
		cctx, cancel := r.callCtx(ctx)
		f, resp, err := r.ews.GetFolder(cctx, r.opts(false), r.folderRef())
		cancel()
		switch {
		case err != nil:
			r.failErr(a, err)
			a.Status = Warn
		case f == nil:
			a.detail("without X-AnchorMailbox the same request failed: this server needs the header")
			r.failWith(a, resp, Warn)
			r.diags[len(r.diags)-1].key, r.diags[len(r.diags)-1].fb = "anchor-required", ""
		default:
			a.detail("succeeded without the header: this server does not need X-AnchorMailbox (send it anyway: Exchange 2013+ and Exchange Online route on it)")
			a.done(Pass)
		}
	}
	r.notifications(ctx, s)
	r.throttling(s)
}

func (r *run) notifications(ctx context.Context, s *Step) {
	n := child(s, "Pull notifications (Subscribe + GetEvents)")
	if !r.getFolderOK {
		n.detail("not run: GetFolder did not succeed")
		n.done(Skip)
		return
	}
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	sub, resp, err := r.ews.SubscribePull(cctx, r.opts(true), r.folderRef(), 1)
	switch {
	case err != nil:
		r.failErr(n, err)
		return
	case sub == nil:
		code := resp.Code()
		switch code {
		case "ErrorInvalidOperation":
			n.detail("server does not support pull notifications (ErrorInvalidOperation: %s)", resp.MessageText())
			r.failWith(n, resp, Warn)
			r.diags[len(r.diags)-1].key, r.diags[len(r.diags)-1].fb = "notifications-unsupported", ""
		case "ErrorSubscriptionDelegateAccessNotSupported":
			n.detail("delegates may not subscribe to another mailbox; use impersonation for notifications")
			r.failWith(n, resp, Warn)
		default:
			n.detail("Subscribe failed")
			r.failWith(n, resp, Fail)
		}
		return
	}
	n.detail("Subscribe: subscription %s, watermark %s", abbrev(sub.ID), abbrev(sub.Watermark))
	ev, resp, err := r.ews.GetEvents(cctx, r.opts(true), sub)
	switch {
	case err != nil:
		r.failErr(n, err)
	case ev == nil:
		n.detail("GetEvents failed")
		r.failWith(n, resp, Fail)
	default:
		n.detail("GetEvents: %d events, %d status events; notifications work for this pair", ev.Count, ev.Status)
		n.done(Pass)
	}
	if uresp, err := r.ews.Unsubscribe(cctx, r.opts(true), sub); err == nil && !uresp.OK() {
		n.detail("Unsubscribe answered %s (the subscription expires by itself)", uresp.Code())
	}
}

func abbrev(s string) string {
	if len(s) > 16 {
		return s[:12] + "…"
	}
	return s
}

// rateHeaders are the budget headers the analyzer understands.
var rateHeaders = []string{"RateLimit", "RateLimit-Policy", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
	"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

func (r *run) throttling(s *Step) {
	t := child(s, "Throttling budget")
	t.start = time.Time{}
	var backoff time.Duration
	var throttledBy string
	found := map[string]string{}
	for _, resp := range r.seen {
		for _, h := range rateHeaders {
			if v := resp.Header.Get(h); v != "" {
				found[h] = v
			}
		}
		if b := resp.BackOff(); b > backoff {
			backoff, throttledBy = b, "BackOffMilliseconds in "+resp.Code()
		}
		if ra := resp.RetryAfter(); (resp.Status == 503 || resp.Status == 429) && ra > backoff {
			backoff, throttledBy = ra, fmt.Sprintf("Retry-After on HTTP %d", resp.Status)
		}
	}
	if backoff > 0 {
		t.detail("the server asked to back off %s (%s)", backoff, throttledBy)
		t.done(Warn)
		r.diag(t, "throttled", "", "")
		return
	}
	if len(found) == 0 {
		t.detail("the server does not report a throttling budget (no RateLimit or X-RateLimit headers)")
		t.done(Skip)
		return
	}
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.detail("%s: %s", k, found[k])
	}
	limit, remaining, ok := headroom(found)
	if ok {
		t.detail("headroom: %d of %d requests left", remaining, limit)
		if limit > 0 && remaining*10 < limit {
			t.done(Warn)
			r.diag(t, "throttle-headroom", "", "")
			return
		}
	}
	t.done(Pass)
}

// headroom reads limit and remaining from X-RateLimit-*/RateLimit-* or
// the structured RateLimit (r=) and RateLimit-Policy (q=) headers.
func headroom(h map[string]string) (limit, remaining int, ok bool) {
	num := func(v string) (int, bool) {
		if i := strings.IndexAny(v, ",;"); i >= 0 {
			v = v[:i]
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return n, err == nil
	}
	param := func(v, name string) (int, bool) {
		for _, p := range strings.Split(v, ";") {
			p = strings.TrimSpace(p)
			if strings.HasPrefix(p, name+"=") {
				return num(p[len(name)+1:])
			}
		}
		return 0, false
	}
	var okL, okR bool
	for _, k := range []string{"X-RateLimit-Limit", "RateLimit-Limit"} {
		if v, has := h[k]; has && !okL {
			limit, okL = num(v)
		}
	}
	for _, k := range []string{"X-RateLimit-Remaining", "RateLimit-Remaining"} {
		if v, has := h[k]; has && !okR {
			remaining, okR = num(v)
		}
	}
	if v, has := h["RateLimit"]; has && !okR {
		remaining, okR = param(v, "r")
	}
	if v, has := h["RateLimit-Policy"]; has && !okL {
		limit, okL = param(v, "q")
	}
	return limit, remaining, okL && okR
}
