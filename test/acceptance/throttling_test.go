package acceptance

import (
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
		return ewsAsSyncSvc(t, s, `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`)
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
