package acceptance

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestThrottlingPolicy: a throttling policy associated with a service
// account limits it at the very next request, with the documented error.
func TestThrottlingPolicy(t *testing.T) {
	s := startServer(t, t.TempDir(), "--domain", "contoso.test")
	s.ok(`New-Mailbox -Name "Sync Service" -Alias syncsvc -UserPrincipalName syncsvc@contoso.test -Password ` + pw + `
New-Mailbox -Name "Jane Doe" -Alias jane -UserPrincipalName jane@contoso.test -Password ` + pw + `
New-ManagementRoleAssignment -Name SyncImp -Role ApplicationImpersonation -User syncsvc`)
	subscribe := func() string {
		t.Helper()
		body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
			`<soap:Header><t:RequestServerVersion Version="Exchange2016"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>jane@contoso.test</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>` +
			`<soap:Body><m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe></soap:Body></soap:Envelope>`
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
	if r := subscribe(); !strings.Contains(r, "<m:ResponseCode>NoError</m:ResponseCode>") {
		t.Fatalf("first subscription: %s", r)
	}
	s.ok(`New-ThrottlingPolicy -Name "Sync Engine" -EwsMaxSubscriptions 1 -EwsMaxConcurrency 10
Set-ThrottlingPolicyAssociation -Identity syncsvc -ThrottlingPolicy "Sync Engine"`)
	if out := s.ok(`(Get-ThrottlingPolicyAssociation syncsvc).ThrottlingPolicy`); strings.TrimSpace(out) != "Sync Engine" {
		t.Fatalf("association: %q", out)
	}
	if r := subscribe(); !strings.Contains(r, "ErrorExceededSubscriptionCount") {
		t.Fatalf("second subscription over a budget of one: %s", r)
	}
	s.fails(`Remove-ThrottlingPolicy "Sync Engine"`, "is associated with it")
	s.ok(`Set-ThrottlingPolicy "Sync Engine" -EwsMaxSubscriptions Unlimited`)
	if r := subscribe(); !strings.Contains(r, "<m:ResponseCode>NoError</m:ResponseCode>") {
		t.Fatalf("after raising the budget: %s", r)
	}
	s.fails(`New-ThrottlingPolicy -Name Bad -EwsMaxConcurrency 0`, "positive number")
}
