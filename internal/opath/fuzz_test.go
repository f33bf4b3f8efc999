package opath

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzRecords = []Record{room, user, empty, MapRecord{
	"ResourceCapacity": {"abc", "\xff", "-3"}, "Guid": {"{}"}, "WhenCreated": {"soon", "1/2/2003"},
	"HiddenFromAddressListsEnabled": {"maybe"}, "ResourceType": {"Cave", "Equipment"},
	"Name": {"", "ÄrGer \u212a", "*"}, "Alias": {"a'b\"c"},
}}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`RecipientTypeDetails -eq "RoomMailbox"`,
		`MemberOfGroup -eq 'CN=RIDG,OU=contoso.test,DC=actas,DC=local'`,
		`(RecipientTypeDetails -eq 'RoomMailbox') -or (Department -like 'Sales*' -and City -ne $null)`,
		`-not(Name -like 'a*b*c') -and ResourceCapacity -ge -5`,
		"Alias \u2013eq \"x`\"y\"\"z\" -or Title -notlike '*O''B*'",
		`HiddenFromAddressListsEnabled -eq $true -and Guid -ne '{6b29fc40-ca47-1067-b31d-00dd010662da}'`,
		`WhenCreated -gt '8/1/2017 2:00:00 PM' -or WhenCreated -le '2017-08-01'`,
		`((City -eq ''))`,
		`ResourceType -lt Equipment`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		flt, err := Parse(text, testSchema)
		if err != nil {
			var (
				se *SyntaxError
				ue *UnknownPropertyError
				ve *ValueError
			)
			switch {
			case errors.As(err, &se):
				if n := utf8.RuneCountInString(text); se.Pos < 1 || se.Pos > n+1 {
					t.Fatalf("position %d outside 1..%d for %q", se.Pos, n+1, text)
				}
			case errors.As(err, &ue), errors.As(err, &ve):
			default:
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			_ = err.Error()
			return
		}
		s := flt.String()
		again, err := Parse(s, testSchema)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && (len(s) > MaxFilterBytes || strings.Contains(se.Reason, "nested deeper")) {
				return // normalization pushed a filter near the limits past them
			}
			t.Fatalf("String() of %q does not re-parse: %q: %v", text, s, err)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() is not stable for %q:\n%s\n%s", text, s, s2)
		}
		if strings.Join(flt.Properties(), ",") != strings.Join(again.Properties(), ",") {
			t.Fatalf("Properties differ after re-parse of %q", text)
		}
		for i, r := range fuzzRecords {
			m := flt.Match(r)
			if again.Match(r) != m {
				t.Fatalf("record %d: %q and %q disagree", i, text, s)
			}
			if e, _ := flt.Explain(r); e != m {
				t.Fatalf("record %d: Explain disagrees with Match for %q", i, text)
			}
		}
	})
}

// benchRecord is a typical directory object: fixed fields, no per-call allocation.
type benchRecord struct {
	rtd, dept, city, name []string
}

func (r *benchRecord) Values(prop string) []string {
	switch prop {
	case "RecipientTypeDetails":
		return r.rtd
	case "Department":
		return r.dept
	case "City":
		return r.city
	case "Name":
		return r.name
	}
	return nil
}

func benchRecords(n int) []Record {
	types := []string{"UserMailbox", "UserMailbox", "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox"}
	depts := []string{"Sales", "Sales EMEA", "Engineering", "Finance", "", "sales support", "Marketing"}
	cities := []string{"Vancouver", "", "Berlin", "Paris", "Zürich"}
	recs := make([]Record, n)
	for i := range recs {
		r := &benchRecord{
			rtd:  []string{types[i%len(types)]},
			city: []string{cities[i%len(cities)]},
			name: []string{"user" + strconv.Itoa(i)},
		}
		if d := depts[i%len(depts)]; d != "" {
			r.dept = []string{d}
		}
		recs[i] = r
	}
	return recs
}

const benchFilter = `(RecipientTypeDetails -eq 'RoomMailbox') -or (Department -like 'Sales*' -and City -ne $null)`

func BenchmarkMatch10k(b *testing.B) {
	f := mustParse(b, benchFilter)
	recs := benchRecords(10000)
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for b.Loop() {
		matched = 0
		for _, r := range recs {
			if f.Match(r) {
				matched++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(recs)), "ns/record")
	if matched == 0 {
		b.Fatal("nothing matched")
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchFilter, testSchema); err != nil {
			b.Fatal(err)
		}
	}
}
