package shell

import (
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/adminapi"
)

func TestOutputFormatting(t *testing.T) {
	tests := []struct{ name, script, want string }{
		{"objects with a view print as one table", `Get-Mailbox`, `
Name  Alias RecipientTypeDetails
----  ----- --------------------
Room1 room1 RoomMailbox
Alice alice UserMailbox
Room2 room2 RoomMailbox

`},
		{"strings between tables", "'before'; Get-DistributionGroup RIDG; 'after'", `before

Name DisplayName GroupType PrimarySmtpAddress
---- ----------- --------- ------------------
RIDG RIDG        Universal RIDG@contoso.com

after
`},
		{"objects without a view print as a list", `Get-ManagementScope`, `
Name : Old1
Guid : g-old-1

Name     : Old2
Identity : Old2

`},
		{"Format-List with properties and wildcards", `Get-DistributionGroup RIDG | Format-List Name, *Smtp*, Missing`, `
Name               : RIDG
PrimarySmtpAddress : RIDG@contoso.com

`},
		{"Format-List *: arrays, numbers, $null, bools", `Get-Mailbox | select -First 1 Name, EmailAddresses, ProhibitSendQuota, @{n='Hidden';e={$false}}, @{n='None';e={$null}} | fl *`, `
Name              : Room1
EmailAddresses    : {SMTP:Room1@contoso.com, smtp:Room1@contoso.onmicrosoft.com}
ProhibitSendQuota : 50
Hidden            : False
None              :

`},
		{"Format-Table with properties; numbers right-aligned", `Get-Mailbox | Format-Table Name, ProhibitSendQuota -AutoSize`, `
Name  ProhibitSendQuota
----  -----------------
Room1                50
Alice                50
Room2                50

`},
		{"Format-Table of objects without a view shows all properties", `Get-ManagementScope | ft`, `
Name Guid
---- ----
Old1 g-old-1
Old2

`},
		{"Where-Object script block and Select-Object", `Get-Mailbox | Where-Object {$_.RecipientTypeDetails -eq "roommailbox"} | Select-Object Name, Alias`, `
Name  Alias
----  -----
Room1 room1
Room2 room2

`},
		{"simplified Where-Object and $PSItem", "Get-Mailbox | Where-Object RecipientTypeDetails -like 'User*' | % Name\nGet-Mailbox | ? Name -in 'Room2','x' | % { $PSItem.Alias }\nGet-Mailbox | Where ProhibitSendQuota -gt 49 | Measure-Object | % Count", "Alice\nroom2\n3\n"},
		{"Select-Object with more than four properties lists", `Get-Mailbox | select -Last 1 Name, Alias, Guid, RecipientTypeDetails, ProhibitSendQuota`, `
Name                 : Room2
Alias                : room2
Guid                 : 11111111-0000-0000-0000-000000000003
RecipientTypeDetails : RoomMailbox
ProhibitSendQuota    : 50

`},
		{"Select-Object -First -Skip -ExpandProperty", "Get-Mailbox | select -Skip 1 -First 1 -ExpandProperty EmailAddresses\nGet-Mailbox | select -ExpandProperty Name -Last 2", "SMTP:Alice@contoso.com\nsmtp:Alice@contoso.onmicrosoft.com\nAlice\nRoom2\n"},
		{"Select-Object wildcard", `Get-DistributionGroup RIDG | select *Name`, `
Name DisplayName DistinguishedName
---- ----------- -----------------
RIDG RIDG        CN=RIDG,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=prod...

`},
		{"Sort-Object", "Get-Mailbox | Sort-Object Name | % Name\nGet-Mailbox | sort RecipientTypeDetails, Name -Descending | % Name\n3,10,2 | sort\n'bb','a','ccc' | sort @{e={$_.Length}} -Descending", "Alice\nRoom1\nRoom2\nAlice\nRoom2\nRoom1\n2\n3\n10\nccc\nbb\na\n"},
		{"Format-Table with a calculated property", `Get-Mailbox | ft Name, @{Label='Addresses'; Expression={$_.EmailAddresses.Count}}`, `
Name  Addresses
----  ---------
Room1         2
Alice         2
Room2         2

`},
		{"Measure-Object", `Get-Mailbox | Measure-Object`, `
Count    : 3
Average  :
Sum      :
Maximum  :
Minimum  :
Property :

`},
		{"hashtable", `@{Add="a","b"; Remove="c"}`, `
Name   Value
----   -----
Add    {a, b}
Remove c

`},
		{"ConvertTo-Json", `Get-DistributionGroup RIDG | select Name, GroupType, @{n='Members';e={'a','b'}}, @{n='N';e={$null}} | ConvertTo-Json`, `{
  "Name": "RIDG",
  "GroupType": "Universal",
  "Members": [
    "a",
    "b"
  ],
  "N": null
}
`},
		{"ConvertTo-Json of several objects, compressed", `Get-Mailbox | select Name, ProhibitSendQuota | ConvertTo-Json -Compress`, `[{"Name":"Room1","ProhibitSendQuota":50},{"Name":"Alice","ProhibitSendQuota":50},{"Name":"Room2","ProhibitSendQuota":50}]` + "\n"},
		{"ConvertTo-Json depth and escaping", `@{a=@{b=@{c=@{d=1}}}; s='<"x">'; t=$true; e=@()} | ConvertTo-Json -Depth 1 -Compress`, `{"a":{"b":"System.Collections.Hashtable"},"s":"<\"x\">","t":true,"e":[]}` + "\n"},
		{"SecureString prints its type", `ConvertTo-SecureString 'x' -AsPlainText -Force`, "System.Security.SecureString\n"},
		{"Get-Command", `Get-Command *-ManagementScope`, `
CommandType Name                   Source
----------- ----                   ------
Cmdlet      Get-ManagementScope    Actas
Cmdlet      New-ManagementScope    Actas
Cmdlet      Remove-ManagementScope Actas

`},
		{"Get-Command -Verb and local cmdlets", `Get-Command -Verb ConvertTo | % Name`, "ConvertTo-Json\nConvertTo-SecureString\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runScript(t, tc.script)
			if r.stdout != tc.want || r.stderr != "" {
				t.Errorf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.stdout, tc.want, r.stderr)
			}
		})
	}
}

func TestTableWidth(t *testing.T) {
	long := strings.Repeat("0123456789", 8)
	var objs []*adminapi.Object
	for i := 0; i < 2; i++ {
		objs = append(objs, &adminapi.Object{Type: "T", Props: []adminapi.Prop{{Name: "Name", Value: "n"}, {Name: "A", Value: long}, {Name: "B", Value: long}}})
	}
	out := renderTable(objs, []string{"Name", "A", "B"}, 120)
	lines := strings.Split(strings.Trim(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", out)
	}
	for _, l := range lines {
		if runeLen(l) > 120 {
			t.Errorf("line longer than 120: %q", l)
		}
	}
	if want := "n    " + long[:54] + "... " + long[:54] + "..."; lines[2] != want {
		t.Errorf("row\n got %q\nwant %q", lines[2], want)
	}
}

func TestErrorRecordShape(t *testing.T) {
	rec := &errorRecord{apiError: adminapi.Error{Message: "Boom.", Category: "InvalidOperation", Exception: "TaskException", ErrorID: "X1", Target: "bob"}, Cmdlet: "Set-Mailbox"}
	want := "Boom.\n" +
		"    + CategoryInfo          : InvalidOperation: (bob:) [Set-Mailbox], TaskException\n" +
		"    + FullyQualifiedErrorId : X1,Set-Mailbox\n"
	if got := formatError(rec); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := formatError(&errorRecord{apiError: adminapi.Error{Message: "m"}}); !strings.Contains(got, "NotSpecified: (:) [], Exception") {
		t.Errorf("defaults: %s", got)
	}
}
