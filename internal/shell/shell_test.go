package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/adminapi"
)

// fakeBackend records requests and answers them from a handler.
type fakeBackend struct {
	cmdlets  []adminapi.CmdletInfo
	handle   func(req adminapi.Request) (*adminapi.Response, error)
	requests []adminapi.Request
	fetches  int
}

func (f *fakeBackend) Cmdlets(context.Context) ([]adminapi.CmdletInfo, error) {
	f.fetches++
	return f.cmdlets, nil
}

func (f *fakeBackend) Invoke(_ context.Context, req adminapi.Request) (*adminapi.Response, error) {
	f.requests = append(f.requests, req)
	if f.handle != nil {
		return f.handle(req)
	}
	return &adminapi.Response{}, nil
}

func str(name string, pos int) adminapi.ParamInfo {
	return adminapi.ParamInfo{Name: name, Kind: adminapi.KindString, Position: pos}
}
func identity() adminapi.ParamInfo {
	return adminapi.ParamInfo{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}
}
func kind(name string, k adminapi.ParamKind) adminapi.ParamInfo {
	return adminapi.ParamInfo{Name: name, Kind: k}
}

// testCmdlets is a slice of the server's cmdlets, with their real parameter shapes.
var testCmdlets = []adminapi.CmdletInfo{
	{Name: "New-ManagementScope", Params: []adminapi.ParamInfo{str("Name", 1), str("RecipientRestrictionFilter", 0), str("RecipientRoot", 0), kind("Exclusive", adminapi.KindSwitch), kind("Force", adminapi.KindSwitch)}},
	{Name: "Get-ManagementScope", Params: []adminapi.ParamInfo{identity(), kind("Exclusive", adminapi.KindBool), kind("Orphan", adminapi.KindSwitch)}},
	{Name: "Remove-ManagementScope", Params: []adminapi.ParamInfo{identity(), kind("Force", adminapi.KindSwitch)}},
	{Name: "New-ManagementRoleAssignment", Params: []adminapi.ParamInfo{str("Name", 1), str("Role", 0), str("User", 0), str("SecurityGroup", 0), str("CustomRecipientWriteScope", 0), kind("Delegating", adminapi.KindSwitch)}},
	{Name: "Set-ManagementRoleAssignment", Params: []adminapi.ParamInfo{identity(), str("CustomRecipientWriteScope", 0), kind("Enabled", adminapi.KindBool)}},
	{Name: "Get-DistributionGroup", Params: []adminapi.ParamInfo{identity(), kind("ResultSize", adminapi.KindInt)}},
	{Name: "Get-Group", Params: []adminapi.ParamInfo{identity()}},
	{Name: "New-DistributionGroup", Params: []adminapi.ParamInfo{str("Name", 1), str("Type", 0), kind("Members", adminapi.KindStrings), kind("ManagedBy", adminapi.KindStrings), kind("RoomList", adminapi.KindSwitch)}},
	{Name: "Get-Mailbox", Params: []adminapi.ParamInfo{identity(), kind("RecipientTypeDetails", adminapi.KindStrings), kind("ResultSize", adminapi.KindInt), str("Filter", 0)}},
	{Name: "Set-Mailbox", Params: []adminapi.ParamInfo{identity(), str("CustomAttribute1", 0), kind("GrantSendOnBehalfTo", adminapi.KindStrings), kind("HiddenFromAddressListsEnabled", adminapi.KindBool)}},
	{Name: "New-Mailbox", Params: []adminapi.ParamInfo{str("Name", 1), kind("Password", adminapi.KindSecure), str("MicrosoftOnlineServicesID", 0), kind("Room", adminapi.KindSwitch)}},
	{Name: "Get-ManagementRoleAssignment", Params: []adminapi.ParamInfo{identity(), str("Role", 0), str("RoleAssignee", 0), str("RoleAssigneeType", 0), kind("GetEffectiveUsers", adminapi.KindSwitch), kind("Delegating", adminapi.KindBool)}},
}

var ridg = &adminapi.Object{Type: "DistributionGroup", View: []string{"Name", "DisplayName", "GroupType", "PrimarySmtpAddress"}, Props: []adminapi.Prop{
	{Name: "Name", Value: "RIDG"},
	{Name: "DisplayName", Value: "RIDG"},
	{Name: "GroupType", Value: "Universal"},
	{Name: "PrimarySmtpAddress", Value: "RIDG@contoso.com"},
	{Name: "DistinguishedName", Value: "CN=RIDG,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=prod,DC=outlook,DC=com"},
	{Name: "Guid", Value: "0b1c2d3e-0000-0000-0000-000000000001"},
}}

func mailbox(name, details string, guid string) *adminapi.Object {
	return &adminapi.Object{Type: "Mailbox", View: []string{"Name", "Alias", "RecipientTypeDetails"}, Props: []adminapi.Prop{
		{Name: "Name", Value: name}, {Name: "Alias", Value: strings.ToLower(name)},
		{Name: "RecipientTypeDetails", Value: details}, {Name: "Guid", Value: guid},
		{Name: "EmailAddresses", Value: []any{"SMTP:" + name + "@contoso.com", "smtp:" + name + "@contoso.onmicrosoft.com"}},
		{Name: "ProhibitSendQuota", Value: float64(50)},
	}}
}

var mailboxes = []*adminapi.Object{
	mailbox("Room1", "RoomMailbox", "11111111-0000-0000-0000-000000000001"),
	mailbox("Alice", "UserMailbox", "11111111-0000-0000-0000-000000000002"),
	mailbox("Room2", "RoomMailbox", "11111111-0000-0000-0000-000000000003"),
}

// defaultHandler serves Get-DistributionGroup RIDG, Get-Mailbox and
// Get-ManagementScope -Orphan; everything else succeeds with no output.
func defaultHandler(req adminapi.Request) (*adminapi.Response, error) {
	switch req.Cmdlet {
	case "Get-DistributionGroup", "Get-Group":
		if id, _ := req.Params["Identity"].(string); strings.EqualFold(id, "RIDG") || id == "" {
			return &adminapi.Response{Objects: []*adminapi.Object{ridg}}, nil
		}
		return &adminapi.Response{Error: &adminapi.Error{
			Message:  "The operation couldn't be performed because object '" + req.Params["Identity"].(string) + "' couldn't be found on 'NAMPR01A001.PROD.OUTLOOK.COM'.",
			Category: "NotSpecified", Exception: "ManagementObjectNotFoundException", ErrorID: "ManagementObjectNotFoundException", Target: req.Params["Identity"].(string),
		}}, nil
	case "Get-Mailbox":
		var out []*adminapi.Object
		for _, m := range mailboxes {
			d, _ := m.Get("RecipientTypeDetails")
			if want, ok := req.Params["RecipientTypeDetails"].([]any); ok && !strings.EqualFold(want[0].(string), d.(string)) {
				continue
			}
			out = append(out, m)
		}
		return &adminapi.Response{Objects: out}, nil
	case "Get-ManagementScope":
		return &adminapi.Response{Objects: []*adminapi.Object{
			{Type: "ManagementScope", Props: []adminapi.Prop{{Name: "Name", Value: "Old1"}, {Name: "Guid", Value: "g-old-1"}}},
			{Type: "ManagementScope", Props: []adminapi.Prop{{Name: "Name", Value: "Old2"}, {Name: "Identity", Value: "Old2"}}},
		}}, nil
	}
	return &adminapi.Response{}, nil
}

type run struct {
	ok             bool
	stdout, stderr string
	requests       []adminapi.Request
}

func runScript(t *testing.T, script string) run {
	t.Helper()
	fb := &fakeBackend{cmdlets: testCmdlets, handle: defaultHandler}
	var stdout, stderr bytes.Buffer
	ok := New(fb, &stdout, &stderr).Run(context.Background(), script)
	return run{ok: ok, stdout: stdout.String(), stderr: stderr.String(), requests: fb.requests}
}

// reqJSON renders requests compactly for comparison.
func reqJSON(t *testing.T, reqs []adminapi.Request) string {
	t.Helper()
	var lines []string
	for _, r := range reqs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return strings.Join(lines, "\n")
}

func TestSeedGuides(t *testing.T) {
	const dn = "CN=RIDG,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=prod,DC=outlook,DC=com"
	tests := []struct {
		name, script string
		want         []string // requests, as JSON
	}{
		{
			name:   "000 resource scope with a script-block filter",
			script: `New-ManagementScope -Name "ResourceMailboxes" -RecipientRestrictionFilter {RecipientTypeDetails -eq "RoomMailbox"}`,
			want:   []string{`{"cmdlet":"New-ManagementScope","params":{"Name":"ResourceMailboxes","RecipientRestrictionFilter":"RecipientTypeDetails -eq \"RoomMailbox\""}}`},
		},
		{
			name:   "000 assignment with en dashes",
			script: "New-ManagementRoleAssignment –Name \"ResourceImpersonation\" –Role ApplicationImpersonation –User \"YOURSERVICEACCOUNTUSERNAMEHERE\" –CustomRecipientWriteScope \"ResourceMailboxes\"",
			want:   []string{`{"cmdlet":"New-ManagementRoleAssignment","params":{"CustomRecipientWriteScope":"ResourceMailboxes","Name":"ResourceImpersonation","Role":"ApplicationImpersonation","User":"YOURSERVICEACCOUNTUSERNAMEHERE"}}`},
		},
		{
			name: "002 connect preamble is a no-op",
			script: "Import-Module ExchangeOnlineManagement \n" +
				"Connect-ExchangeOnline -UserPrincipalName na[email protected] -ShowProgress $true\n",
		},
		{
			name: "002 case A: distribution group DN into a scope filter",
			script: "$groupidentity = $(Get-DistributionGroup RIDG).DistinguishedName\n" +
				"New-ManagementScope -Name:\"RIusersScope\" -RecipientRestrictionFilter \"MemberOfGroup -eq '$groupidentity'\"\n",
			want: []string{
				`{"cmdlet":"Get-DistributionGroup","params":{"Identity":"RIDG"}}`,
				`{"cmdlet":"New-ManagementScope","params":{"Name":"RIusersScope","RecipientRestrictionFilter":"MemberOfGroup -eq '` + dn + `'"}}`,
			},
		},
		{
			name: "002 case B: security group",
			script: "$groupidentity = $(Get-Group RISG).DistinguishedName\r\n" +
				"New-ManagementScope -Name:\"RIusersScope\" -RecipientRestrictionFilter \"MemberOfGroup -eq '$groupidentity'\"\r\n",
			want: []string{
				`{"cmdlet":"Get-Group","params":{"Identity":"RISG"}}`,
				`{"cmdlet":"New-ManagementScope","params":{"Name":"RIusersScope","RecipientRestrictionFilter":"MemberOfGroup -eq ''"}}`,
			},
		},
		{
			name:   "002 disconnect",
			script: `Disconnect-ExchangeOnline -Confirm:$false`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, tc.script)
			if got, want := reqJSON(t, r.requests), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("requests:\n got %s\nwant %s", got, want)
			}
			if strings.Contains(tc.name, "case B") { // RISG does not exist in the fake: the error is shown, the next line still runs
				if r.ok || !strings.Contains(r.stderr, "couldn't be found") {
					t.Errorf("want a not-found error, got ok=%v stderr=%q", r.ok, r.stderr)
				}
				return
			}
			if !r.ok || r.stderr != "" || r.stdout != "" {
				t.Errorf("ok=%v stdout=%q stderr=%q", r.ok, r.stdout, r.stderr)
			}
		})
	}
}

func TestCmdletListFetchedOnce(t *testing.T) {
	fb := &fakeBackend{cmdlets: testCmdlets}
	s := New(fb, &bytes.Buffer{}, &bytes.Buffer{})
	if !s.Run(context.Background(), `Write-Output x`) || fb.fetches != 0 {
		t.Fatalf("a local cmdlet must not fetch the list: fetches=%d", fb.fetches)
	}
	s.Run(context.Background(), "Get-Mailbox; Get-Mailbox")
	s.Run(context.Background(), "Get-Mailbox")
	if fb.fetches != 1 {
		t.Errorf("fetches = %d, want 1", fb.fetches)
	}
}

type failingBackend struct{ fakeBackend }

func (f *failingBackend) Invoke(context.Context, adminapi.Request) (*adminapi.Response, error) {
	return nil, errors.New("connect to http://127.0.0.1:1: connection refused")
}

func TestTransportError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	s := New(&failingBackend{fakeBackend{cmdlets: testCmdlets}}, &stdout, &stderr)
	ok := s.Run(context.Background(), "Get-Mailbox\nWrite-Output after")
	if ok || !strings.Contains(stderr.String(), "connection refused") || stdout.String() != "after\n" {
		t.Errorf("ok=%v stdout=%q stderr=%q", ok, stdout.String(), stderr.String())
	}
}
