package shell

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`New-ManagementScope -Name "ResourceMailboxes" -RecipientRestrictionFilter {RecipientTypeDetails -eq "RoomMailbox"}`,
		"New-ManagementRoleAssignment –Name \"ResourceImpersonation\" –Role ApplicationImpersonation –User \"x\" –CustomRecipientWriteScope \"ResourceMailboxes\"",
		"$groupidentity = $(Get-DistributionGroup RIDG).DistinguishedName\nNew-ManagementScope -Name:\"RIusersScope\" -RecipientRestrictionFilter \"MemberOfGroup -eq '$groupidentity'\"",
		"Get-Mailbox | ? { $_.Name -like 'a*' -and !$_.X } | select Name, @{n='A';e={$_.B[0]}} | fl *",
		"Set-Mailbox x -GrantSendOnBehalfTo @{Add=\"a\",\"b\"; Remove='c'} -Confirm:$false `\n -Force",
		"if ($a -eq 1) { 'x' } elseif ($b) { \"y$($c.D)\" } else { @(1,2)[-1] }\nforeach ($m in $list) { $m.ToString() }",
		"<# c #> $x += 1,2 # d\n$y = \"`$a ``b ${c} $(\"$(1)\")\"; exit 1",
		"“smart” ‘quotes’ –dash —dash ―bar",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		runes := []rune(src)
		_, err := parse(runes)
		if err == nil {
			return
		}
		var pe *parseError
		if !errors.As(err, &pe) {
			t.Fatalf("parse returned %T: %v", err, err)
		}
		if rec := parseErrorRecord(pe, runes); !strings.Contains(rec.Message, pe.msg) {
			t.Fatalf("error record %q lacks %q", rec.Message, pe.msg)
		}
	})
}

func TestParseDepthLimit(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("(", 100000),
		strings.Repeat("!", 100000) + "$x",
		strings.Repeat("{", 100000),
		strings.Repeat("@{a=", 100000),
		strings.Repeat(`"$(`, 100000),
		strings.Repeat("$x[", 100000),
		"Write-Output " + strings.Repeat("$(", 100000),
	} {
		_, err := parse([]rune(src))
		var pe *parseError
		if !errors.As(err, &pe) || pe.id != "ScriptTooDeep" {
			t.Errorf("%.10q…: got %v, want ScriptTooDeep", src, err)
		}
	}
}
