package acceptance

import (
	"regexp"
	"strings"
	"testing"
)

// TestSubscriptionsSurviveRestart: a pull subscription made before a clean
// stop and one made before a kill -9 both answer GetEvents with the same id
// after `actas serve` starts again, and see mail that arrived after the
// restart from the watermark the client had.
func TestSubscriptionsSurviveRestart(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--domain", "contoso.test")
	s.ok(`New-Mailbox -Name "Sync Service" -Alias syncsvc -UserPrincipalName syncsvc@contoso.test -Password ` + pw + `
New-Mailbox -Name "Jane Doe" -Alias jane -UserPrincipalName jane@contoso.test -Password ` + pw + `
New-ManagementRoleAssignment -Name SyncImp -Role ApplicationImpersonation -User syncsvc`)
	call := func(s *server, op string) string { return ewsAsSyncSvc(t, s, op) }
	text := func(xml, el string) string {
		m := regexp.MustCompile(`<m:` + el + `>([^<]*)</m:` + el + `>`).FindStringSubmatch(xml)
		if m == nil {
			t.Fatalf("no %s in %s", el, xml)
		}
		return m[1]
	}
	subscribe := func(s *server) (id, watermark string) {
		t.Helper()
		r := call(s, `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="inbox"/></t:FolderIds><t:EventTypes><t:EventType>NewMailEvent</t:EventType></t:EventTypes><t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`)
		return text(r, "SubscriptionId"), text(r, "Watermark")
	}
	newMail := func(s *server, subject string) {
		t.Helper()
		r := call(s, `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message><t:Subject>`+subject+`</t:Subject></t:Message></m:Items></m:CreateItem>`)
		if !strings.Contains(r, "<m:ResponseCode>NoError</m:ResponseCode>") {
			t.Fatalf("CreateItem: %s", r)
		}
	}
	getEvents := func(s *server, id, wm string) string {
		t.Helper()
		return call(s, `<m:GetEvents><m:SubscriptionId>`+id+`</m:SubscriptionId><m:Watermark>`+wm+`</m:Watermark></m:GetEvents>`)
	}

	clean, cleanWM := subscribe(s)
	s.stop()
	s = startServer(t, data)
	crash, crashWM := subscribe(s)
	s.kill9()
	s = startServer(t, data)
	newMail(s, "after the restarts")
	for _, c := range []struct{ name, id, wm string }{{"clean stop", clean, cleanWM}, {"kill -9", crash, crashWM}} {
		r := getEvents(s, c.id, c.wm)
		if !strings.Contains(r, "<m:ResponseCode>NoError</m:ResponseCode>") || strings.Count(r, "<t:NewMailEvent>") != 1 {
			t.Errorf("%s: GetEvents after the restart: %s", c.name, r)
		}
	}
	s.stop() // its output is complete once it exited
	if !strings.Contains(s.out.String(), "subscriptions resumed") {
		t.Errorf("serve did not log the resumed subscriptions:\n%s", s.out)
	}
}
