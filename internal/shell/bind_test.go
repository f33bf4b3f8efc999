package shell

import (
	"strings"
	"testing"
)

// TestRequests checks the exact request each command line produces.
func TestRequests(t *testing.T) {
	tests := []struct {
		name, script string
		want         []string
	}{
		{"positional identity", `Set-Mailbox bob -CustomAttribute1 x`,
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"x","Identity":"bob"}}`}},
		{"command names are case-insensitive", `set-MAILBOX bob -customattribute1:x`,
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"x","Identity":"bob"}}`}},
		{"prefix matching", `New-ManagementScope -Na s1 -RecipientRestriction 'Name -like ''a*'''`,
			[]string{`{"cmdlet":"New-ManagementScope","params":{"Name":"s1","RecipientRestrictionFilter":"Name -like 'a*'"}}`}},
		{"exact match wins over prefix", `Get-ManagementRoleAssignment -Role ApplicationImpersonation -RoleAssignee svc -GetEffectiveUsers`,
			[]string{`{"cmdlet":"Get-ManagementRoleAssignment","params":{"GetEffectiveUsers":true,"Role":"ApplicationImpersonation","RoleAssignee":"svc"}}`}},
		{"em dash and horizontal bar", "New-ManagementScope —Name s1 ―RecipientRestrictionFilter \"Alias -eq 'x'\"",
			[]string{`{"cmdlet":"New-ManagementScope","params":{"Name":"s1","RecipientRestrictionFilter":"Alias -eq 'x'"}}`}},
		{"colon values", `New-ManagementScope -Name:"s1" -RecipientRestrictionFilter: 'a' -Exclusive:$true -Force:$false`,
			[]string{`{"cmdlet":"New-ManagementScope","params":{"Exclusive":true,"Force":false,"Name":"s1","RecipientRestrictionFilter":"a"}}`}},
		{"switch alone", `Get-ManagementScope -Orphan`,
			[]string{`{"cmdlet":"Get-ManagementScope","params":{"Orphan":true}}`}},
		{"bool takes the next argument", `Set-ManagementRoleAssignment ri -Enabled $false; Set-ManagementRoleAssignment ri -Enabled:1; Set-ManagementRoleAssignment ri -Enabled 'True'`,
			[]string{
				`{"cmdlet":"Set-ManagementRoleAssignment","params":{"Enabled":false,"Identity":"ri"}}`,
				`{"cmdlet":"Set-ManagementRoleAssignment","params":{"Enabled":true,"Identity":"ri"}}`,
				`{"cmdlet":"Set-ManagementRoleAssignment","params":{"Enabled":true,"Identity":"ri"}}`,
			}},
		{"ints and Unlimited", `Get-Mailbox -ResultSize 10; Get-Mailbox -ResultSize unlimited; Get-Mailbox -ResultSize "25"`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{"ResultSize":10}}`,
				`{"cmdlet":"Get-Mailbox","params":{"ResultSize":"Unlimited"}}`,
				`{"cmdlet":"Get-Mailbox","params":{"ResultSize":25}}`,
			}},
		{"multi-valued: scalar, array, hashtable", "New-DistributionGroup g -Members a -ManagedBy 'b', \"c\"\nSet-Mailbox bob -GrantSendOnBehalfTo @{Add=\"a\",\"b\"; Remove=\"c\"}\nSet-Mailbox bob -GrantSendOnBehalfTo @{ add = 'x' }",
			[]string{
				`{"cmdlet":"New-DistributionGroup","params":{"ManagedBy":["b","c"],"Members":["a"],"Name":"g"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"GrantSendOnBehalfTo":{"Add":["a","b"],"Remove":["c"]},"Identity":"bob"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"GrantSendOnBehalfTo":{"Add":["x"]},"Identity":"bob"}}`,
			}},
		{"$null clears", `Set-ManagementRoleAssignment ri -CustomRecipientWriteScope $null; Set-Mailbox bob -GrantSendOnBehalfTo $null`,
			[]string{
				`{"cmdlet":"Set-ManagementRoleAssignment","params":{"CustomRecipientWriteScope":null,"Identity":"ri"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"GrantSendOnBehalfTo":null,"Identity":"bob"}}`,
			}},
		{"Get with $null identity", `Get-Mailbox $null; Get-Mailbox -Identity $nosuchvariable`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{"Identity":null}}`,
				`{"cmdlet":"Get-Mailbox","params":{"Identity":null}}`,
			}},
		{"script block passes its text", "New-ManagementScope s1 -RecipientRestrictionFilter {  (RecipientTypeDetails -eq 'RoomMailbox') -and\n (Name -like \"B32*\")  }",
			[]string{`{"cmdlet":"New-ManagementScope","params":{"Name":"s1","RecipientRestrictionFilter":"(RecipientTypeDetails -eq 'RoomMailbox') -and\n (Name -like \"B32*\")"}}`}},
		{"server object passes its identity", `$g = Get-DistributionGroup RIDG; New-ManagementRoleAssignment -Name a -Role r -SecurityGroup $g`,
			[]string{
				`{"cmdlet":"Get-DistributionGroup","params":{"Identity":"RIDG"}}`,
				`{"cmdlet":"New-ManagementRoleAssignment","params":{"Name":"a","Role":"r","SecurityGroup":"0b1c2d3e-0000-0000-0000-000000000001"}}`,
			}},
		{"member enumeration into a list", `New-DistributionGroup rooms -Members (Get-Mailbox -RecipientTypeDetails RoomMailbox).Name -RoomList`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{"RecipientTypeDetails":["RoomMailbox"]}}`,
				`{"cmdlet":"New-DistributionGroup","params":{"Members":["Room1","Room2"],"Name":"rooms","RoomList":true}}`,
			}},
		{"secure string", `New-Mailbox svc -Password (ConvertTo-SecureString -String 'P@ss w0rd' -AsPlainText -Force) -MicrosoftOnlineServicesID svc@contoso.com`,
			[]string{`{"cmdlet":"New-Mailbox","params":{"MicrosoftOnlineServicesID":"svc@contoso.com","Name":"svc","Password":"P@ss w0rd"}}`}},
		{"common parameters are not sent", `Set-Mailbox bob -CustomAttribute1 x -Confirm:$false -Verbose -Debug -ErrorAction SilentlyContinue -WarningAction SilentlyContinue -ErrorVariable e -OutVariable o; Set-Mailbox bob -ea 0 -ev e -ov o -wa Ignore -wi:$false -cf:$false -vb`,
			[]string{
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"x","Identity":"bob"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"Identity":"bob"}}`,
			}},
		{"expanding strings", "$n = 'Bob'; $o = Get-DistributionGroup RIDG\nSet-Mailbox \"$n\" -CustomAttribute1 \"${n}: $($o.Name) `$n $o.Name `\"q`\" tab`t'$n'\"",
			[]string{
				`{"cmdlet":"Get-DistributionGroup","params":{"Identity":"RIDG"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"Bob: RIDG $n RIDG.Name \"q\" tab\t'Bob'","Identity":"Bob"}}`,
			}},
		{"single quotes do not expand", `Set-Mailbox bob -CustomAttribute1 '$n "x" it''s'`,
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"$n \"x\" it's","Identity":"bob"}}`}},
		{"typographic quotes", "Set-Mailbox “Bob Smith” -CustomAttribute1 ‘it’’s’",
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"it’s","Identity":"Bob Smith"}}`}},
		{"bare words with punctuation", `Set-Mailbox contoso.com/Users/Bob -CustomAttribute1 a=b@c.d\e*[1]`,
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"a=b@c.d\\e*[1]","Identity":"contoso.com/Users/Bob"}}`}},
		{"numbers as strings", `Set-Mailbox 42 -CustomAttribute1 1.5`,
			[]string{`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"1.5","Identity":"42"}}`}},
		{"pipeline by identity", `Get-ManagementScope -Orphan | Remove-ManagementScope -Confirm:$false`,
			[]string{
				`{"cmdlet":"Get-ManagementScope","params":{"Orphan":true}}`,
				`{"cmdlet":"Remove-ManagementScope","params":{"Identity":"g-old-1"}}`,
				`{"cmdlet":"Remove-ManagementScope","params":{"Identity":"Old2"}}`,
			}},
		{"pipeline with other parameters", `Get-Mailbox -RecipientTypeDetails RoomMailbox | Set-Mailbox -CustomAttribute1 x`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{"RecipientTypeDetails":["RoomMailbox"]}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"x","Identity":"11111111-0000-0000-0000-000000000001"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"x","Identity":"11111111-0000-0000-0000-000000000003"}}`,
			}},
		{"strings piped", `'Alice', 'Room1' | Get-Mailbox | Out-Null`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{"Identity":"Alice"}}`,
				`{"cmdlet":"Get-Mailbox","params":{"Identity":"Room1"}}`,
			}},
		{"empty pipeline input runs nothing", `Get-Mailbox | Where-Object { $false } | Set-Mailbox -CustomAttribute1 x`,
			[]string{`{"cmdlet":"Get-Mailbox","params":{}}`}},
		{"filtered pipeline", `Get-Mailbox | ? { $_.RecipientTypeDetails -eq 'UserMailbox' } | Set-Mailbox -HiddenFromAddressListsEnabled $true`,
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{}}`,
				`{"cmdlet":"Set-Mailbox","params":{"HiddenFromAddressListsEnabled":true,"Identity":"11111111-0000-0000-0000-000000000002"}}`,
			}},
		{"foreach and if", "foreach ($m in Get-Mailbox) {\n if ($m.RecipientTypeDetails -like 'Room*') { Set-Mailbox $m -CustomAttribute1 \"room $($m.Alias)\" }\n}",
			[]string{
				`{"cmdlet":"Get-Mailbox","params":{}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"room room1","Identity":"11111111-0000-0000-0000-000000000001"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"room room2","Identity":"11111111-0000-0000-0000-000000000003"}}`,
			}},
		{"ForEach-Object runs commands", `'a','b' | ForEach-Object { Set-Mailbox $_ -CustomAttribute1 $PSItem.ToUpper() }`,
			[]string{
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"A","Identity":"a"}}`,
				`{"cmdlet":"Set-Mailbox","params":{"CustomAttribute1":"B","Identity":"b"}}`,
			}},
		{"backtick continuation and comments", "New-ManagementScope `\n  -Name s1 `  \n  -RecipientRestrictionFilter 'x' # trailing\n<# block\ncomment #>",
			[]string{`{"cmdlet":"New-ManagementScope","params":{"Name":"s1","RecipientRestrictionFilter":"x"}}`}},
		{"WhatIf does not call the server", `Remove-ManagementScope old -WhatIf; Get-ManagementScope -Orphan | Remove-ManagementScope -WhatIf`,
			[]string{`{"cmdlet":"Get-ManagementScope","params":{"Orphan":true}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, tc.script)
			if got, want := reqJSON(t, r.requests), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("requests:\n got %s\nwant %s", got, want)
			}
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
		})
	}
}

func TestWhatIfOutput(t *testing.T) {
	r := runScript(t, `Remove-ManagementScope old -WhatIf; Get-ManagementScope -Orphan | Remove-ManagementScope -WhatIf; New-ManagementScope -WhatIf`)
	want := "What if: Performing the operation \"Remove-ManagementScope\" on target \"old\".\n" +
		"What if: Performing the operation \"Remove-ManagementScope\" on target \"Old1\".\n" +
		"What if: Performing the operation \"Remove-ManagementScope\" on target \"Old2\".\n" +
		"What if: Performing the operation \"New-ManagementScope\".\n"
	if r.stdout != want || !r.ok {
		t.Errorf("ok=%v stdout:\n%s\nwant:\n%s", r.ok, r.stdout, want)
	}
}

// TestBindingErrors checks PowerShell's binding errors: printed, nothing
// sent, the script goes on, and Run reports failure.
func TestBindingErrors(t *testing.T) {
	tests := []struct{ script, msg, id string }{
		{`Set-Mailbox bob -Bogus x`, "A parameter cannot be found that matches parameter name 'Bogus'.", "NamedParameterNotFound,Set-Mailbox"},
		{`Set-Mailbox bob extra`, "A positional parameter cannot be found that accepts argument 'extra'.", "PositionalParameterNotFound,Set-Mailbox"},
		{`Set-Mailbox John Smith`, "A positional parameter cannot be found that accepts argument 'Smith'.", "PositionalParameterNotFound,Set-Mailbox"},
		{`Get-ManagementRoleAssignment -RoleA x`, "Parameter cannot be processed because the parameter name 'RoleA' is ambiguous. Possible matches include: -RoleAssignee -RoleAssigneeType.", "AmbiguousParameter,Get-ManagementRoleAssignment"},
		{`New-ManagementScope -Name`, "Missing an argument for parameter 'Name'. Specify a parameter of type 'System.String' and try again.", "MissingArgument,New-ManagementScope"},
		{`New-ManagementScope -Name -Force`, "Missing an argument for parameter 'Name'. Specify a parameter of type 'System.String' and try again.", "MissingArgument,New-ManagementScope"},
		{`Get-Mailbox -ResultSize:`, "Missing an argument for parameter 'ResultSize'. Specify a parameter of type 'System.Int32' and try again.", "MissingArgument,Get-Mailbox"},
		{`Set-Mailbox bob -CustomAttribute1 a -CustomAttribute1 b`, "Cannot bind parameter because parameter 'CustomAttribute1' is specified more than once.", "ParameterAlreadyBound,Set-Mailbox"},
		{`New-ManagementScope -Name s1 -Force $false`, "A positional parameter cannot be found that accepts argument 'False'.", "PositionalParameterNotFound,New-ManagementScope"},
		{`Set-ManagementRoleAssignment ri -Enabled yes`, "Cannot process argument transformation on parameter 'Enabled'. Cannot convert value \"System.String\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.", "ParameterArgumentTransformationError,Set-ManagementRoleAssignment"},
		{`Get-Mailbox -ResultSize lots`, `Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value "lots" to type "System.Int32".`, "ParameterArgumentTransformationError,Get-Mailbox"},
		{`New-Mailbox svc -Password 'P@ss'`, `Cannot process argument transformation on parameter 'Password'. Cannot convert the "P@ss" value of type "System.String" to type "System.Security.SecureString".`, "ParameterArgumentTransformationError,New-Mailbox"},
		{`Set-Mailbox a,b -CustomAttribute1 x`, "Cannot convert 'System.Object[]' to the type 'System.String' required by parameter 'Identity'. Specified method is not supported.", "CannotConvertArgument,Set-Mailbox"},
		{`Set-Mailbox bob -ErrorAction Maybe`, `Cannot bind parameter 'ErrorAction'. Cannot convert value "Maybe" to type "System.Management.Automation.ActionPreference".`, "CannotConvertArgumentNoMessage,Set-Mailbox"},
		{`Foo-Bar -X 1`, "The term 'Foo-Bar' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", "CommandNotFoundException"},
		{`'x' | New-ManagementScope -Name y`, "The input object cannot be bound to any parameters for the command", "InputObjectNotBound,New-ManagementScope"},
		{`Get-Mailbox | Get-Mailbox Alice`, "The input object cannot be bound to any parameters for the command", "InputObjectNotBound,Get-Mailbox"},
		{`Select-Object -Bogus`, "A parameter cannot be found that matches parameter name 'Bogus'.", "NamedParameterNotFound,Select-Object"},
	}
	for _, tc := range tests {
		t.Run(tc.script, func(t *testing.T) {
			r := runScript(t, tc.script+"\nWrite-Output next")
			if r.ok {
				t.Error("Run returned true")
			}
			if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "+ FullyQualifiedErrorId : "+tc.id+"\n") {
				t.Errorf("stderr:\n%s\nwant message %q and id %q", r.stderr, tc.msg, tc.id)
			}
			if !strings.HasSuffix(r.stdout, "next\n") {
				t.Errorf("the next statement did not run: stdout %q", r.stdout)
			}
			for _, req := range r.requests {
				if req.Cmdlet != "Get-Mailbox" || strings.Contains(tc.script, "ResultSize") {
					t.Errorf("unexpected request %+v", req)
				}
			}
		})
	}
}

// Connect-ExchangeOnline and friends accept any parameters.
func TestNoOpCmdlets(t *testing.T) {
	r := runScript(t, "Import-Module ExchangeOnlineManagement -Verbose\n"+
		"Connect-ExchangeOnline -UserPrincipalName admin@contoso.com -ShowProgress $true -ExchangeEnvironmentName O365Default -Device\n"+
		"Connect-ExchangeOnline -ShowProgress:$false -ShowBanner:$false\n"+
		"Disconnect-ExchangeOnline -Confirm:$false")
	if !r.ok || r.stdout != "" || r.stderr != "" || len(r.requests) != 0 {
		t.Errorf("ok=%v stdout=%q stderr=%q requests=%v", r.ok, r.stdout, r.stderr, r.requests)
	}
}
