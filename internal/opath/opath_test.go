package opath

import (
	"errors"
	"strings"
	"testing"
)

var recipientTypeDetails = []string{
	"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox",
	"MailUniversalDistributionGroup", "MailUniversalSecurityGroup", "RoomList", "MailUser", "MailContact",
}

var testSchema = NewSchema(
	Property{Name: "RecipientTypeDetails", Kind: Enum, Enum: recipientTypeDetails},
	Property{Name: "ResourceType", Kind: Enum, Enum: []string{"Room", "Equipment"}},
	Property{Name: "Name", Kind: String},
	Property{Name: "Alias", Kind: String},
	Property{Name: "Department", Kind: String},
	Property{Name: "City", Kind: String},
	Property{Name: "Title", Kind: String},
	Property{Name: "PrimarySmtpAddress", Kind: String},
	Property{Name: "EmailAddresses", Kind: MultiString},
	Property{Name: "MemberOfGroup", Kind: Link},
	Property{Name: "ManagedBy", Kind: Link},
	Property{Name: "HiddenFromAddressListsEnabled", Kind: Bool},
	Property{Name: "SCLDeleteThresholdInt", Kind: Int},
	Property{Name: "ResourceCapacity", Kind: Int},
	Property{Name: "Guid", Kind: Guid},
	Property{Name: "WhenCreated", Kind: Date},
)

const ridgDN = "CN=RIDG,OU=contoso.test,DC=actas,DC=local"

var (
	room = MapRecord{
		"RecipientTypeDetails":          {"RoomMailbox"},
		"ResourceType":                  {"Room"},
		"Name":                          {"Conf Room 1"},
		"Alias":                         {"conf1"},
		"Department":                    {""},
		"PrimarySmtpAddress":            {"conf1@contoso.test"},
		"EmailAddresses":                {"SMTP:conf1@contoso.test", "smtp:room1@contoso.test"},
		"MemberOfGroup":                 {ridgDN, "CN=AllRooms,OU=contoso.test,DC=actas,DC=local"},
		"HiddenFromAddressListsEnabled": {"False"},
		"ResourceCapacity":              {"12"},
		"Guid":                          {"6B29FC40-CA47-1067-B31D-00DD010662DA"},
		"WhenCreated":                   {"2017-08-01T14:00:00Z"},
	}
	user = MapRecord{
		"RecipientTypeDetails":          {"UserMailbox"},
		"Name":                          {"Dario O'Brien"},
		"Alias":                         {"dario"},
		"Department":                    {"Sales East"},
		"City":                          {"Vancouver"},
		"Title":                         {"Regional Sales Manager"},
		"PrimarySmtpAddress":            {"dario@contoso.test", "dario2@contoso.test"},
		"EmailAddresses":                {"SMTP:dario@contoso.test", "smtp:dario2@contoso.test"},
		"HiddenFromAddressListsEnabled": {"True"},
		"SCLDeleteThresholdInt":         {"-2147483640"},
		"WhenCreated":                   {"2020-01-15T09:30:00Z"},
	}
	empty = MapRecord{}
)

func mustParse(t testing.TB, text string) *Filter {
	t.Helper()
	f, err := Parse(text, testSchema)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return f
}

func TestMatch(t *testing.T) {
	tests := []struct {
		filter            string
		room, user, empty bool
	}{
		// Seed filters.
		{`RecipientTypeDetails -eq "RoomMailbox"`, true, false, false},
		{`MemberOfGroup -eq 'CN=RIDG,OU=contoso.test,DC=actas,DC=local'`, true, false, false},
		{`MemberOfGroup -eq 'cn=ridg,ou=CONTOSO.test,dc=actas,dc=local'`, true, false, false},
		{`MemberOfGroup -eq 'RIDG'`, false, false, false}, // names are accepted but match nothing

		// Every operator.
		{`Alias -eq 'dario'`, false, true, false},
		{`Alias -ne 'dario'`, true, false, true},
		{`Alias -lt 'd'`, true, false, false},
		{`Alias -gt 'd'`, false, true, false},
		{`Alias -le 'conf1'`, true, false, false},
		{`Alias -ge 'DARIO'`, false, true, false},
		{`Alias -like 'dar*'`, false, true, false},
		{`Alias -notlike 'dar*'`, true, false, true},
		{`ResourceCapacity -lt 20`, true, false, false},
		{`ResourceCapacity -gt 9`, true, false, false}, // numeric, not "12" < "9"
		{`ResourceCapacity -le 12`, true, false, false},
		{`ResourceCapacity -ge 13`, false, false, false},
		{`ResourceCapacity -eq '12'`, true, false, false},
		{`SCLDeleteThresholdInt -ge -2147483640`, false, true, false},
		{`SCLDeleteThresholdInt -lt –2147483639`, false, true, false}, // en dash as minus

		// Operator and keyword case.
		{`alias -EQ 'DARIO'`, false, true, false},
		{`Alias -Like 'D*' -AND City -Eq 'vancouver'`, false, true, false},

		// Precedence: -and binds tighter than -or.
		{`Alias -eq 'conf1' -or Alias -eq 'dario' -and City -eq 'Nowhere'`, true, false, false},
		{`(Alias -eq 'conf1' -or Alias -eq 'dario') -and City -eq 'Nowhere'`, false, false, false},
		{`Alias -eq 'dario' -and City -eq 'Nowhere' -or Alias -eq 'conf1'`, true, false, false},
		{`Alias -eq 'dario' -and (City -eq 'Nowhere' -or Alias -eq 'conf1')`, false, false, false},
		{`((City -eq "Vancouver") -and (Department -eq "Sales East")) -or (Title -like "*Manager*")`, false, true, false},

		// -not, with and without a space, and doubled.
		{`-not(Alias -eq 'dario')`, true, false, true},
		{`-not (Alias -eq 'dario')`, true, false, true},
		{`-not Alias -eq 'dario'`, true, false, true},
		{`-not -not Alias -eq 'dario'`, false, true, false},
		{`-not(Alias -eq 'dario') -and -not(Alias -eq 'conf1')`, false, false, true},
		{`(RecipientTypeDetails -eq 'UserMailbox') -and (-not(Name -like 'SystemMailbox{*'))`, false, true, false},

		// Quoting forms.
		{`Name -eq 'Dario O''Brien'`, false, true, false},
		{`Name -eq "Dario O'Brien"`, false, true, false},
		{`Name -eq "Conf ""Room"" 1"`, false, false, false},
		{"Name -eq \"Conf `\"Room`\" 1\"", false, false, false},
		{`Name -eq "Conf Room 1"`, true, false, false},
		{"Name -eq \"Conf` Room` 1\"", true, false, false},
		{`RecipientTypeDetails -eq RoomMailbox`, true, false, false}, // bare word
		{`ResourceCapacity -eq 12`, true, false, false},

		// $null, $true, $false.
		{`Department -eq $null`, true, false, true}, // "" counts as unset
		{`Department -ne $null`, false, true, false},
		{`City -eq $NULL`, true, false, true},
		{`City -eq ''`, true, false, true}, // '' with -eq is $null
		{`City -ne ""`, false, true, false},
		{`HiddenFromAddressListsEnabled -eq $true`, false, true, false},
		{`HiddenFromAddressListsEnabled -eq $False`, true, false, false},
		{`HiddenFromAddressListsEnabled -eq 'true'`, false, true, false},
		{`HiddenFromAddressListsEnabled -ne $true`, true, false, true},

		// Wildcards.
		{`Title -like 'Regional*'`, false, true, false},
		{`Title -like '*Manager'`, false, true, false},
		{`Title -like '*sales*'`, false, true, false},
		{`Title -like 'Reg*Man*'`, false, true, false},
		{`Title -like 'Reg*al*Manager'`, false, true, false},
		{`Title -like 'R*r'`, false, true, false},
		{`Title -like 'R*x'`, false, false, false},
		{`Title -like '*'`, false, true, false}, // present
		{`Title -notlike '*'`, true, false, true},
		{`Title -like 'regional sales manager'`, false, true, false},
		{`Title -eq 'Regional*'`, false, false, false}, // '*' is literal with -eq
		{`Title -like 'Manager*'`, false, false, false},
		{`RecipientTypeDetails -like 'Room*'`, true, false, false}, // string form of an enum
		{`RecipientTypeDetails -like '*mailbox'`, true, true, false},
		{`ResourceCapacity -like '1*'`, true, false, false},
		{`HiddenFromAddressListsEnabled -like 'T*'`, false, true, false},

		// Multi-valued: -eq contains, -ne contains none.
		{`EmailAddresses -eq 'smtp:room1@contoso.test'`, true, false, false},
		{`EmailAddresses -ne 'smtp:room1@contoso.test'`, false, true, true},
		{`EmailAddresses -like 'smtp:dario*'`, false, true, false},
		{`EmailAddresses -notlike 'SMTP:*@contoso.test'`, false, false, true},
		{`PrimarySmtpAddress -eq 'dario2@contoso.test'`, false, true, false}, // the record returns proxies
		{`MemberOfGroup -ne 'CN=AllRooms,OU=contoso.test,DC=actas,DC=local'`, false, true, true},

		// Enums are case-insensitive; ordering follows the declared order.
		{`RecipientTypeDetails -eq 'roommailbox'`, true, false, false},
		{`RecipientTypeDetails -ne 'RoomMailbox'`, false, true, true},
		{`ResourceType -lt 'Equipment'`, true, false, false},
		{`RecipientTypeDetails -lt 'RoomMailbox'`, false, true, false},

		// GUIDs in any common form.
		{`Guid -eq '{6b29fc40-ca47-1067-b31d-00dd010662da}'`, true, false, false},
		{`Guid -eq '6b29fc40ca471067b31d00dd010662da'`, true, false, false},
		{`Guid -ne '00000000-0000-0000-0000-000000000000'`, true, true, true},
		{`Guid -gt '00000000-0000-0000-0000-000000000000'`, true, false, false},
		{`Guid -lt '00000000-0000-0000-0000-000000000000'`, false, false, false},

		// Dates.
		{`WhenCreated -eq '8/1/2017 2:00:00 PM'`, true, false, false},
		{`WhenCreated -eq '08/01/2017 2:00 pm'`, true, false, false},
		{`WhenCreated -eq '2017-08-01 14:00'`, true, false, false},
		{`WhenCreated -lt '2018-01-01'`, true, false, false},
		{`WhenCreated -gt '1/1/2018'`, false, true, false},
		{`WhenCreated -ge '2020-01-15T09:30:00Z'`, false, true, false},
		{`WhenCreated -le '2020-01-15T10:30:00+01:00'`, true, true, false},

		// En dash, em dash and horizontal bar as the operator hyphen.
		{"RecipientTypeDetails \u2013eq 'RoomMailbox'", true, false, false},
		{"Alias \u2014eq 'dario' \u2015or Alias \u2013eq 'conf1'", true, true, false},
		{"\u2013not(Alias -eq 'dario')", true, false, true},

		// Whitespace, including non-breaking spaces and newlines.
		{"\u00a0Alias\t-eq\n'dario' ", false, true, false},
	}
	for _, tc := range tests {
		f := mustParse(t, tc.filter)
		for _, rc := range []struct {
			name string
			rec  Record
			want bool
		}{{"room", room, tc.room}, {"user", user, tc.user}, {"empty", empty, tc.empty}} {
			if got := f.Match(rc.rec); got != rc.want {
				t.Errorf("%s: Match(%s) = %v, want %v", tc.filter, rc.name, got, rc.want)
			}
			if got, _ := f.Explain(rc.rec); got != rc.want {
				t.Errorf("%s: Explain(%s) = %v, want %v", tc.filter, rc.name, got, rc.want)
			}
		}
		g := mustParse(t, f.String())
		for _, rec := range []Record{room, user, empty} {
			if f.Match(rec) != g.Match(rec) {
				t.Errorf("%s: re-parsed %s matches differently", tc.filter, f.String())
			}
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		filter string
		pos    int
		reason string
	}{
		{``, 1, "expected a property name"},
		{`   `, 4, "expected a property name"},
		{`Alias`, 6, "expected a comparison operator"},
		{`Alias -eq`, 10, "expected a value"},
		{`Alias eq 'x'`, 7, "expected a comparison operator"},
		{`Alias -equals 'x'`, 7, "unknown operator -equals"},
		{`Alias - 'x'`, 7, "expected an operator name"},
		{`Alias -eq 'x`, 11, "missing closing quote"},
		{`Alias -eq "x`, 11, "missing closing quote"},
		{"Alias -eq \"x`\"", 11, "missing closing quote"},
		{`Alias -eq 'x' -and`, 19, "expected a property name"},
		{`Alias -eq 'x' Alias -eq 'y'`, 15, "after a complete expression"},
		{`Alias -eq 'x' -eq 'y'`, 15, "after a complete expression"},
		{`(Alias -eq 'x'`, 15, "expected ')'"},
		{`Alias -eq 'x')`, 14, "after a complete expression"},
		{`()`, 2, "expected a property name"},
		{`Alias -and 'x'`, 7, "expected a comparison operator"},
		{`Alias -eq -and`, 11, "expected a value"},
		{`Alias -eq ('x')`, 11, "expected a value"},
		{`Alias -eq $dn`, 11, "unsupported variable $dn"},
		{`Alias -like $null`, 13, "$null can only be used"},
		{`Alias -eq 'x' -or -not`, 23, "expected a property name"},
		{`Alias -eq x.y`, 12, "unexpected character '.'"},
		{`{Alias -eq 'x'}`, 1, "unexpected character '{'"},
		{`Älias -eq 'x' -and Ö = 1`, 22, "unexpected character '='"}, // positions count characters
		{"Alias -eq 'é' \u2013xx", 15, "unknown operator -xx"},
		{"Alias -eq 'x' \x00", 15, "unexpected character U+0000"},
		{"Alias -eq '\xff'", 12, "invalid UTF-8"},
		{`MailboxContent_recipients:contoso.com`, 26, "unexpected character ':'"},
		{`((RecipientType -eq 'UserMailbox' -or 'MailUser' -or 'MailContact'))`, 39, "expected a property name"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.filter, testSchema)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want *SyntaxError", tc.filter, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Reason, tc.reason) || se.Filter != tc.filter {
			t.Errorf("Parse(%q): pos %d reason %q, want pos %d reason ~%q", tc.filter, se.Pos, se.Reason, tc.pos, tc.reason)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := Parse(`Alias -eq`, testSchema)
	want := `Invalid filter syntax. For a description of the filter parameter syntax see the command help. "Alias -eq" at position 10.`
	if err == nil || err.Error() != want {
		t.Errorf("syntax error = %v\nwant %s", err, want)
	}

	small := NewSchema(Property{Name: "Name"}, Property{Name: "Alias"}, Property{Name: "City"})
	_, err = Parse(`Department -eq 'Sales'`, small)
	var ue *UnknownPropertyError
	want = `"Department" is not a recognized filterable property. Valid property names are: Alias, City, Name.`
	if !errors.As(err, &ue) || err.Error() != want || ue.Pos != 1 {
		t.Errorf("unknown property error = %v\nwant %s", err, want)
	}

	_, err = Parse(`ResourceType -eq 'Rom'`, testSchema)
	var ve *ValueError
	want = `Cannot convert value "Rom" to type Enum for filterable property "ResourceType". Valid values are: Room, Equipment.`
	if !errors.As(err, &ve) || err.Error() != want || ve.Pos != 18 {
		t.Errorf("value error = %v\nwant %s", err, want)
	}
}

func TestBindErrors(t *testing.T) {
	tests := []struct {
		filter string
		want   string // "syntax", "property" or "value:<Value>"
	}{
		{`Foo -eq 'x'`, "property"},
		{`alias -eq 'x' -and Foo -eq 'x'`, "property"},
		{`Foo -eq 'x' -and Alias -eq`, "syntax"}, // syntax errors win
		{`RecipientTypeDetails -eq 'RomMailbox'`, "value:RomMailbox"},
		{`RecipientTypeDetails -eq $true`, "value:True"},
		{`ResourceCapacity -eq 'ten'`, "value:ten"},
		{`ResourceCapacity -eq 99999999999999999999`, "value:99999999999999999999"},
		{`ResourceCapacity -eq $true`, "value:True"},
		{`HiddenFromAddressListsEnabled -eq 'yes'`, "value:yes"},
		{`HiddenFromAddressListsEnabled -eq 1`, "value:1"},
		{`Guid -eq 'not-a-guid'`, "value:not-a-guid"},
		{`Guid -eq '6b29fc40-ca47-1067-b31d-00dd010662dz'`, "value:6b29fc40-ca47-1067-b31d-00dd010662dz"},
		{`WhenCreated -gt 'yesterday'`, "value:yesterday"},
		{`ResourceCapacity -eq 'ten' -and RecipientTypeDetails -eq 'x'`, "value:ten"}, // leftmost
	}
	for _, tc := range tests {
		_, err := Parse(tc.filter, testSchema)
		var (
			se *SyntaxError
			ue *UnknownPropertyError
			ve *ValueError
		)
		got := "nil"
		switch {
		case errors.As(err, &se):
			got = "syntax"
		case errors.As(err, &ue):
			got = "property"
		case errors.As(err, &ve):
			got = "value:" + ve.Value
		case err != nil:
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("Parse(%q) error = %s (%v), want %s", tc.filter, got, err, tc.want)
		}
	}
	// Wildcard patterns are not converted, so any text is fine with -like.
	for _, f := range []string{`RecipientTypeDetails -like 'Rom*'`, `ResourceCapacity -like 'x*'`, `Guid -notlike 'zz*'`} {
		mustParse(t, f)
	}
	// A nil schema knows no properties.
	if _, err := Parse(`Alias -eq 'x'`, nil); err == nil {
		t.Error("Parse with nil schema succeeded")
	}
}

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`RecipientTypeDetails -eq "RoomMailbox"`, `(RecipientTypeDetails -eq 'RoomMailbox')`},
		{`recipienttypedetails -EQ roommailbox`, `(RecipientTypeDetails -eq 'RoomMailbox')`},
		{`MemberOfGroup -eq 'CN=RIDG,OU=contoso.test,DC=actas,DC=local'`, `(MemberOfGroup -eq 'CN=RIDG,OU=contoso.test,DC=actas,DC=local')`},
		{`Name -eq "O'Brien"`, `(Name -eq 'O''Brien')`},
		{`Alias -eq 1 -or Alias -eq 2 -and City -ne $null`, `((Alias -eq '1') -or ((Alias -eq '2') -and (City -ne $null)))`},
		{`((((Alias -eq 'a'))))`, `(Alias -eq 'a')`},
		{`-not(Alias -eq 'a') -and -not -not City -like 'V*'`, `(-not(Alias -eq 'a') -and (City -like 'V*'))`},
		{`-not (Alias -eq 'a' -or City -eq 'b')`, `-not((Alias -eq 'a') -or (City -eq 'b'))`},
		{`ResourceCapacity -ge "007"`, `(ResourceCapacity -ge 7)`},
		{`HiddenFromAddressListsEnabled -eq 'TRUE'`, `(HiddenFromAddressListsEnabled -eq $true)`},
		{`City -eq ''`, `(City -eq $null)`},
		{`Guid -eq '{6B29FC40-CA47-1067-B31D-00DD010662DA}'`, `(Guid -eq '6b29fc40-ca47-1067-b31d-00dd010662da')`},
		{`WhenCreated -lt '8/1/2017 2:00:00 PM'`, `(WhenCreated -lt '8/1/2017 2:00:00 PM')`},
		{`Title -like "*Sales*"`, `(Title -like '*Sales*')`},
		{"Alias \u2013eq 'x'", `(Alias -eq 'x')`},
	}
	for _, tc := range tests {
		f := mustParse(t, tc.in)
		if got := f.String(); got != tc.want {
			t.Errorf("String(%q) = %s, want %s", tc.in, got, tc.want)
		}
		if got := mustParse(t, f.String()).String(); got != tc.want {
			t.Errorf("String is not a fixed point for %q: %s", tc.in, got)
		}
		if f.Text() != tc.in {
			t.Errorf("Text() = %q, want %q", f.Text(), tc.in)
		}
	}
}

func TestProperties(t *testing.T) {
	f := mustParse(t, `(memberofgroup -eq 'x' -or Alias -eq 'y') -and -not(MEMBEROFGROUP -eq 'z')`)
	got := strings.Join(f.Properties(), ",")
	if got != "MemberOfGroup,Alias" {
		t.Errorf("Properties() = %s", got)
	}
}

func TestExplain(t *testing.T) {
	f := mustParse(t, `RecipientTypeDetails -eq 'RoomMailbox'`)
	ok, steps := f.Explain(user)
	if ok || len(steps) != 1 || steps[0].String() != `RecipientTypeDetails -eq 'RoomMailbox': false (value: UserMailbox)` {
		t.Errorf("Explain = %v %q", ok, steps)
	}

	f = mustParse(t, `(RecipientTypeDetails -eq 'RoomMailbox') -or (Department -like 'Sales*' -and -not(EmailAddresses -eq 'smtp:dario2@contoso.test'))`)
	ok, steps = f.Explain(user)
	var lines []string
	for _, s := range steps {
		lines = append(lines, s.String())
	}
	want := []string{
		`((RecipientTypeDetails -eq 'RoomMailbox') -or ((Department -like 'Sales*') -and -not(EmailAddresses -eq 'smtp:dario2@contoso.test'))): false`,
		`  RecipientTypeDetails -eq 'RoomMailbox': false (value: UserMailbox)`,
		`  ((Department -like 'Sales*') -and -not(EmailAddresses -eq 'smtp:dario2@contoso.test')): false`,
		`    Department -like 'Sales*': true (value: Sales East)`,
		`    -not(EmailAddresses -eq 'smtp:dario2@contoso.test'): false`,
		`      EmailAddresses -eq 'smtp:dario2@contoso.test': true (values: SMTP:dario@contoso.test; smtp:dario2@contoso.test)`,
	}
	if ok || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("Explain = %v\n%s\nwant\n%s", ok, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	_, steps = mustParse(t, `City -eq 'x'`).Explain(nil)
	if len(steps) != 1 || steps[0].String() != `City -eq 'x': false (no value)` {
		t.Errorf("Explain(nil) = %q", steps)
	}
}

func TestNilSafety(t *testing.T) {
	var f *Filter
	if f.Match(room) || f.String() != "" || f.Properties() != nil {
		t.Error("nil Filter misbehaves")
	}
	if ok, steps := f.Explain(room); ok || steps != nil {
		t.Error("nil Filter Explain misbehaves")
	}
	g := mustParse(t, `Alias -ne 'x'`)
	if !g.Match(nil) {
		t.Error("nil Record should behave as an empty one")
	}
	var s *MapSchema
	if _, ok := s.Lookup("x"); ok || s.Names() != nil {
		t.Error("nil MapSchema misbehaves")
	}
	// Odd record values never panic and never match typed comparisons.
	odd := MapRecord{"ResourceCapacity": {"abc", "\xff"}, "Guid": {"{}"}, "WhenCreated": {"soon"},
		"HiddenFromAddressListsEnabled": {"maybe"}, "ResourceType": {"Cave"}}
	for _, text := range []string{`ResourceCapacity -ge 0`, `Guid -eq '6b29fc40ca471067b31d00dd010662da'`,
		`WhenCreated -lt '2030-01-01'`, `HiddenFromAddressListsEnabled -le $true`, `ResourceType -ge 'Room'`} {
		if mustParse(t, text).Match(odd) {
			t.Errorf("%s matched an unreadable value", text)
		}
	}
}

func TestSchema(t *testing.T) {
	s := NewSchema(Property{Name: "Name"}, Property{Name: "NAME", Kind: Int}, Property{Name: "Alias"})
	if p, ok := s.Lookup("name"); !ok || p.Name != "Name" || p.Kind != String {
		t.Errorf("Lookup(name) = %+v %v (first duplicate should win)", p, ok)
	}
	if got := strings.Join(s.Names(), ","); got != "Alias,Name" {
		t.Errorf("Names() = %s", got)
	}
	if Kind(42).String() != "Kind(42)" || Date.String() != "Date" {
		t.Error("Kind.String")
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth) + "Alias -eq 'x'" + strings.Repeat(")", MaxDepth)
	mustParse(t, deep)
	_, err := Parse("("+deep+")", testSchema)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != MaxDepth+1 {
		t.Errorf("depth %d: %v", MaxDepth+1, err)
	}

	// Very deep nesting is rejected quickly, without recursion trouble.
	_, err = Parse(strings.Repeat("(", MaxFilterBytes), testSchema)
	if !errors.As(err, &se) {
		t.Errorf("deep parens: %v", err)
	}

	long := "Alias -eq '" + strings.Repeat("x", MaxFilterBytes) + "'"
	_, err = Parse(long, testSchema)
	if !errors.As(err, &se) || se.Pos != MaxFilterBytes+1 {
		t.Errorf("long filter: %v", err)
	}

	// Long -not runs and long -and chains are iterative.
	nots := strings.Repeat("-not ", 6000) + "Alias -eq 'x'"
	if f := mustParse(t, nots); f.String() != "(Alias -eq 'x')" {
		t.Errorf("even -not run = %s", f.String())
	}
	chain := "Alias -eq 'x'" + strings.Repeat(" -and Alias -eq 'x'", 1500)
	if !mustParse(t, chain).Match(MapRecord{"Alias": {"x"}}) {
		t.Error("long chain did not match")
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"abc", "ABC", true},
		{"abc", "abcd", false},
		{"a*", "a", true},
		{"*c", "abc", true},
		{"*c", "cb", false},
		{"a*c", "ac", true},
		{"a*c", "a", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"*b*", "abc", true},
		{"*b*", "ac", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXcYb", false},
		{"a**b", "ab", true},
		{"**", "x", true},
		{"*ab", "aab", true},
		{"*aab", "aaab", true},
		{"ÄR*", "ärger", true},
		{"*ñO", "AÑO", true},
		{"*k", "\u212a", true},       // Kelvin sign folds to k
		{"*\u212a", "k", true},       // and the other way
		{"*s*", "\u017f", true},      // long s folds to s
		{"*ß", "STRASSE", false},     // no full case folding
		{"*é", "caf\u00c9", true},    // non-ASCII suffix
		{"x*é", "x\xff\u00e9", true}, // invalid byte in the value
	}
	for _, tc := range tests {
		p := compilePattern(tc.pat)
		if got := p.match(tc.s); got != tc.want {
			t.Errorf("%q -like %q = %v, want %v", tc.s, tc.pat, got, tc.want)
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	for _, text := range []string{
		`RecipientTypeDetails -eq 'RoomMailbox'`,
		`RecipientTypeDetails -ge 'RoomMailbox'`,
		`Title -like '*sales*' -and City -ne $null`,
		`Title -like 'R*al*ger'`,
		`EmailAddresses -notlike '*@contoso.test'`,
		`MemberOfGroup -eq 'cn=ridg,ou=contoso.test,dc=actas,dc=local'`,
		`ResourceCapacity -gt 5`,
		`WhenCreated -lt '2018-01-01'`,
		`Guid -ge '6b29fc40ca471067b31d00dd010662da'`,
		`HiddenFromAddressListsEnabled -eq $true`,
		`-not(Department -eq $null)`,
	} {
		f := mustParse(t, text)
		if n := testing.AllocsPerRun(100, func() { f.Match(user); f.Match(room); f.Match(empty) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per run", text, n)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	f := mustParse(t, benchFilter)
	done := make(chan bool)
	for range 4 {
		go func() {
			for range 200 {
				f.Match(user)
				f.Explain(room)
				_ = f.String()
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
}
