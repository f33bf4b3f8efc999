package ewsclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Recorded answers, as Exchange and Actas send them.
const (
	faultImpersonateUserDenied = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><t:ServerVersionInfo xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"/></s:Header><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorImpersonateUserDenied</faultcode><faultstring xml:lang="en-US">The account does not have permission to impersonate the requested user.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorImpersonateUserDenied</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The account does not have permission to impersonate the requested user.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="ActasReason">OutsideWriteScope</t:Value><t:Value Name="ActasExplanation">"Bob" is outside.</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`
	faultServerBusy            = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`
	getFolderOK                = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="7" MinorBuildNumber="1" Version="V2018_01_08" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="AAMk" ChangeKey="AQAA"/><t:DisplayName>Inbox</t:DisplayName><t:TotalCount>12</t:TotalCount><t:ChildFolderCount>1</t:ChildFolderCount><t:UnreadCount>3</t:UnreadCount></t:Folder></m:Folders></m:GetFolderResponseMessage></m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>`
	findItemDenied             = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Error"><m:MessageText>Access is denied. Check credentials and try again.</m:MessageText><m:ResponseCode>ErrorAccessDenied</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>`
)

func TestParseFaultWithValues(t *testing.T) {
	r := &Response{Status: 500, Header: http.Header{}, Body: []byte(faultImpersonateUserDenied)}
	parseSOAP(r)
	if !r.SOAP || r.Fault == nil {
		t.Fatalf("not parsed as a fault: %+v", r)
	}
	if r.Code() != "ErrorImpersonateUserDenied" || r.Fault.FaultCode != "ErrorImpersonateUserDenied" {
		t.Errorf("code %q faultcode %q", r.Code(), r.Fault.FaultCode)
	}
	if r.Value("ActasReason") != "OutsideWriteScope" || r.Value("actasexplanation") != `"Bob" is outside.` {
		t.Errorf("values %+v", r.Values())
	}
	if r.ServerVersion == nil || r.ServerVersion.String() != "15.1.2507.6 (V2017_07_11)" {
		t.Errorf("version %v", r.ServerVersion)
	}
	if r.OK() {
		t.Error("a fault is not OK")
	}
}

func TestBackOffAndRetryAfter(t *testing.T) {
	r := &Response{Status: 500, Header: http.Header{"Retry-After": {"120"}}, Body: []byte(faultServerBusy)}
	parseSOAP(r)
	if r.Code() != "ErrorServerBusy" || r.BackOff() != 297749*time.Millisecond {
		t.Errorf("code %q backoff %v", r.Code(), r.BackOff())
	}
	if r.RetryAfter() != 120*time.Second {
		t.Errorf("retry-after %v", r.RetryAfter())
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Errorf("date form: %v", d)
	}
	if d := ParseRetryAfter("soon", now); d != 0 {
		t.Errorf("garbage: %v", d)
	}
}

func TestParseMessagesAndNotSOAP(t *testing.T) {
	r := &Response{Status: 200, Header: http.Header{}, Body: []byte(findItemDenied)}
	parseSOAP(r)
	if r.Code() != "ErrorAccessDenied" || r.MessageText() != "Access is denied. Check credentials and try again." || r.OK() {
		t.Errorf("code %q text %q ok %v", r.Code(), r.MessageText(), r.OK())
	}
	html := &Response{Status: 200, Header: http.Header{}, Body: []byte("<html><body>Sign in</body></html>")}
	parseSOAP(html)
	if html.SOAP || html.Code() != "" {
		t.Errorf("HTML taken for SOAP: %+v", html)
	}
	dtd := &Response{Status: 200, Header: http.Header{}, Body: []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`)}
	parseSOAP(dtd)
	if dtd.SOAP {
		t.Error("a DTD was accepted")
	}
}

// TestRequestShape checks the envelope, the impersonation header in every
// ConnectingSID form, X-AnchorMailbox, Basic credentials, and that a
// redirect is reported rather than followed; the answer is gzipped.
func TestRequestShape(t *testing.T) {
	var got struct {
		body, anchor, ctype string
		user, pw            string
		authed              bool
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/ews/genericerrorpage.htm?aspxerrorpath=/ews/exchange.asmx", http.StatusFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		got.body, got.anchor, got.ctype = string(b), r.Header.Get("X-AnchorMailbox"), r.Header.Get("Content-Type")
		got.user, got.pw, got.authed = r.BasicAuth()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write([]byte(getFolderOK))
		zw.Close()
		w.Write(zb.Bytes())
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL + "/EWS/Exchange.asmx", User: "svc@contoso.test", Password: "p<w>", HTTP: srv.Client()}
	for _, typ := range IDTypes {
		f, resp, err := c.GetFolder(context.Background(), Options{Impersonate: &Impersonation{Type: typ, Value: "a&b@contoso.test"}, Anchor: "a@contoso.test"}, FolderRef{ID: "inbox"})
		if err != nil || f == nil {
			t.Fatalf("%s: %v %+v", typ, err, resp)
		}
		want := "<t:ExchangeImpersonation><t:ConnectingSID><t:" + string(typ) + ">a&amp;b@contoso.test</t:" + string(typ) + "></t:ConnectingSID></t:ExchangeImpersonation>"
		if !strings.Contains(got.body, want) || !strings.Contains(got.body, `<t:RequestServerVersion Version="Exchange2016"/>`) {
			t.Errorf("%s: body %s", typ, got.body)
		}
	}
	if got.anchor != "a@contoso.test" || !got.authed || got.user != "svc@contoso.test" || got.pw != "p<w>" || !strings.HasPrefix(got.ctype, "text/xml") {
		t.Errorf("headers: %+v", got)
	}
	f, _, _ := c.GetFolder(context.Background(), Options{}, FolderRef{ID: "inbox", Mailbox: "owner@contoso.test"})
	if f.DisplayName != "Inbox" || f.TotalCount != 12 || f.UnreadCount != 3 || !f.HasTotalCount {
		t.Errorf("folder %+v", f)
	}
	if strings.Contains(got.body, "ExchangeImpersonation") || !strings.Contains(got.body, "<t:Mailbox><t:EmailAddress>owner@contoso.test</t:EmailAddress></t:Mailbox>") {
		t.Errorf("delegate body %s", got.body)
	}
	if _, err := c.ConvertIdProbe(context.Background(), Options{Anonymous: true}); err != nil || got.authed {
		t.Errorf("anonymous probe sent credentials (%v)", err)
	}
	c.URL = srv.URL + "/moved"
	resp, err := c.ConvertIdProbe(context.Background(), Options{})
	if err != nil || resp.Status != http.StatusFound || !strings.Contains(resp.Location, "genericerrorpage.htm") {
		t.Errorf("redirect: %v %+v", err, resp)
	}
}

func TestParseIDType(t *testing.T) {
	for _, s := range []string{"smtpaddress", "PrimarySmtpAddress", "principalname", "sid"} {
		if _, ok := ParseIDType(s); !ok {
			t.Errorf("%s rejected", s)
		}
	}
	if _, ok := ParseIDType("Upn"); ok {
		t.Error("Upn accepted")
	}
}
