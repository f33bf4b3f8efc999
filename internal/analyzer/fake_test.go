package analyzer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/ewsclient"
)

// A recorded-response EWS server: it answers like Exchange, and each test
// replaces the answers it is about (Exchange Online 401s, 503 with
// Retry-After, 302 to the error page, throttling faults, notifications).

const (
	svcUser = "svc@contoso.test"
	svcPass = "Passw0rd!"
	target  = "alice@contoso.test"
)

type fakeReq struct {
	op, anchor, impersonating string
	authed                    bool
}

type fakeEWS struct {
	t   *testing.T
	srv *httptest.Server
	mu  sync.Mutex
	log []fakeReq
	// hook may answer a request itself (return true).
	hook func(w http.ResponseWriter, r *http.Request, q fakeReq) bool
	// headers added to every EWS answer.
	extra http.Header
	// admin, when set, serves /admin/... (a fake Actas admin API).
	admin http.HandlerFunc
}

const soapHead = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header><t:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="7452" MinorBuildNumber="28" Version="V2018_01_08"/></s:Header><s:Body>`
const soapTail = `</s:Body></s:Envelope>`

func soapOK(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, soapHead+body+soapTail)
}

func soapFault(w http.ResponseWriter, code, msg string, values ...string) {
	var mx string
	if len(values) > 0 {
		mx = `<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">`
		for i := 0; i+1 < len(values); i += 2 {
			mx += `<t:Value Name="` + values[i] + `">` + values[i+1] + `</t:Value>`
		}
		mx += `</t:MessageXml>`
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(500)
	io.WriteString(w, soapHead+`<s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:`+code+`</faultcode><faultstring xml:lang="en-US">`+msg+`</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`+code+`</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`+msg+`</e:Message>`+mx+`</detail></s:Fault>`+soapTail)
}

func msgError(w http.ResponseWriter, op, code, text string) {
	soapOK(w, `<m:`+op+`Response><m:ResponseMessages><m:`+op+`ResponseMessage ResponseClass="Error"><m:MessageText>`+text+`</m:MessageText><m:ResponseCode>`+code+`</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:`+op+`ResponseMessage></m:ResponseMessages></m:`+op+`Response>`)
}

func newFakeEWS(t *testing.T, tlsCert *tls.Certificate) *fakeEWS {
	f := &fakeEWS{t: t, extra: http.Header{}}
	f.srv = quietServer(http.HandlerFunc(f.serve))
	if tlsCert != nil {
		f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEWS) url() string { return f.srv.URL + "/EWS/Exchange.asmx" }

func (f *fakeEWS) requests() []fakeReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeReq(nil), f.log...)
}

func (f *fakeEWS) serve(w http.ResponseWriter, r *http.Request) {
	if f.admin != nil && strings.HasPrefix(r.URL.Path, "/admin/") {
		f.admin(w, r)
		return
	}
	if !strings.EqualFold(r.URL.Path, "/EWS/Exchange.asmx") {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	q := fakeReq{anchor: r.Header.Get("X-AnchorMailbox")}
	if root, err := ewsclient.ParseXML(b); err == nil {
		if body := root.Child("Body"); body != nil && len(body.Children) > 0 {
			q.op = body.Children[0].Local
		}
		if imp := root.Path("Header", "ExchangeImpersonation", "ConnectingSID"); imp != nil && len(imp.Children) == 1 {
			q.impersonating = imp.Children[0].Local + ":" + imp.Children[0].Text
		}
	}
	u, p, ok := r.BasicAuth()
	q.authed = ok && u == svcUser && p == svcPass
	f.mu.Lock()
	f.log = append(f.log, q)
	f.mu.Unlock()
	for k, vs := range f.extra {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.hook != nil && f.hook(w, r, q) {
		return
	}
	if !q.authed {
		w.Header().Set("WWW-Authenticate", `Negotiate`)
		w.Header().Add("WWW-Authenticate", `NTLM`)
		w.Header().Add("WWW-Authenticate", `Basic realm="mail.contoso.test"`)
		w.WriteHeader(401)
		return
	}
	switch q.op {
	case "ConvertId":
		msgError(w, "ConvertId", "ErrorInvalidIdMalformed", "Id is malformed.")
	case "GetFolder":
		soapOK(w, `<m:GetFolderResponse><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="AAMk" ChangeKey="AQ"/><t:DisplayName>Inbox</t:DisplayName><t:TotalCount>7</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount><t:UnreadCount>2</t:UnreadCount></t:Folder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse>`)
	case "FindItem":
		soapOK(w, `<m:FindItemResponse><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="1" TotalItemsInView="7" IncludesLastItemInRange="false"><t:Items><t:Message><t:ItemId Id="x" ChangeKey="y"/></t:Message></t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse>`)
	case "Subscribe":
		soapOK(w, `<m:SubscribeResponse><m:ResponseMessages><m:SubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SubscriptionId>JgBiYXkxcHIwNm1iMjM0MS5uYW1wcmQwNi5wcm9k</m:SubscriptionId><m:Watermark>AQAAAGXHY3M=</m:Watermark></m:SubscribeResponseMessage></m:ResponseMessages></m:SubscribeResponse>`)
	case "GetEvents":
		soapOK(w, `<m:GetEventsResponse><m:ResponseMessages><m:GetEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notification><t:SubscriptionId>JgBi</t:SubscriptionId><t:PreviousWatermark>AQAAAGXHY3M=</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents><t:StatusEvent><t:Watermark>AQAAAGbHY3M=</t:Watermark></t:StatusEvent></m:Notification></m:GetEventsResponseMessage></m:ResponseMessages></m:GetEventsResponse>`)
	case "Unsubscribe":
		soapOK(w, `<m:UnsubscribeResponse><m:ResponseMessages><m:UnsubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:UnsubscribeResponseMessage></m:ResponseMessages></m:UnsubscribeResponse>`)
	default:
		msgError(w, q.op, "ErrorInvalidOperation", "not supported")
	}
}

// config is a test against the fake, with DNS that knows nothing (every
// name is "no such host") so that no lookup leaves the machine.
func (f *fakeEWS) config() Config {
	return Config{ServiceAccount: svcUser, Password: svcPass, Mailbox: target, EwsURL: f.url(),
		Impersonation: true, Resolver: noDNS{}, Timeout: 10 * time.Second}
}

type noDNS struct{}

func (noDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (noDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return "", nil, &net.DNSError{Err: "no such host", Name: "_" + service + "._" + proto + "." + name, IsNotFound: true}
}

// --- certificates ---

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &testCA{cert: c, key: key, pool: pool}
}

// leaf issues a server certificate for names (DNS names or IPs).
func (ca *testCA) leaf(t *testing.T, notBefore, notAfter time.Time, names ...string) *tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// --- assertions ---

func mustStep(t *testing.T, rep *Report, prefix string) *Step {
	t.Helper()
	s := rep.Find(prefix)
	if s == nil {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("no step %q in:\n%s", prefix, b.String())
	}
	return s
}

// expect asserts a step's status and, when key is set, its diagnosis key.
func expect(t *testing.T, rep *Report, prefix string, st Status, key string) *Step {
	t.Helper()
	s := mustStep(t, rep, prefix)
	got := ""
	if s.Diagnosis != nil {
		got = s.Diagnosis.Key
	}
	if s.Status != st || got != key {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("step %q: status %s diagnosis %q, want %s %q\n%s", s.Name, s.Status, got, st, key, b.String())
	}
	return s
}

func verdict(t *testing.T, rep *Report, passed bool) {
	t.Helper()
	if rep.Passed != passed {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("passed = %v, want %v\n%s", rep.Passed, passed, b.String())
	}
}

func details(s *Step) string { return strings.Join(s.Detail, "\n") }

func mustContain(t *testing.T, s *Step, want ...string) {
	t.Helper()
	d := details(s)
	for _, w := range want {
		if !strings.Contains(d, w) {
			t.Errorf("step %q: detail lacks %q:\n%s", s.Name, w, d)
		}
	}
}

var _ = fmt.Sprintf

// quietServer is an unstarted test server that does not log the handshake
// errors the TLS tests provoke on purpose.
func quietServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}
