package acceptance

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// ewsAsSyncSvc posts one EWS operation to s as syncsvc@contoso.test impersonating
// jane@contoso.test (the fixture of the sync tests) and returns the body.
func ewsAsSyncSvc(t *testing.T, s *server, op string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
		`<soap:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>jane@contoso.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>` +
		`<soap:Body>` + op + `</soap:Body></soap:Envelope>`
	req, _ := http.NewRequest(http.MethodPost, s.url+"/EWS/Exchange.asmx", strings.NewReader(body))
	req.SetBasicAuth("syncsvc@contoso.test", "Passw0rd!2026")
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
