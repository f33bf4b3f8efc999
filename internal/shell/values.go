package shell

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
)

// Run-time values are nil ($null), string, bool, int64, float64 (server
// objects may also carry int), []any, *hashtable, *scriptBlock, *secureString,
// *adminapi.Object and rendered (text already formatted by Format-*).

// hashtable is @{…}: keys are case-insensitive and keep their insertion order.
type hashtable struct {
	keys []string
	vals map[string]any // by lower-case key
}

func newHashtable() *hashtable { return &hashtable{vals: map[string]any{}} }

func (h *hashtable) get(k string) (any, bool) {
	v, ok := h.vals[strings.ToLower(k)]
	return v, ok
}

func (h *hashtable) set(k string, v any) {
	lk := strings.ToLower(k)
	if _, ok := h.vals[lk]; !ok {
		h.keys = append(h.keys, k)
	}
	h.vals[lk] = v
}

// secureString is what ConvertTo-SecureString returns.
type secureString struct{ plain string }

// rendered is output already formatted by Format-List or Format-Table.
type rendered string

// collapse is PowerShell's rule for the value of a pipeline: no output is
// $null, one object is that object, several are an array.
func collapse(items []any) any {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return items[0]
	}
	return items
}

// enumerate is how a value enters a pipeline: arrays are unrolled, $null sends nothing.
func enumerate(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// flatten unrolls nested arrays completely.
func flatten(v any) []any {
	var out []any
	for _, e := range enumerate(v) {
		if a, ok := e.([]any); ok {
			out = append(out, flatten(a)...)
		} else {
			out = append(out, e)
		}
	}
	return out
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case rendered:
		return x != ""
	case []any:
		switch len(x) {
		case 0:
			return false
		case 1:
			return truthy(x[0])
		}
		return true
	}
	if f, ok := number(v); ok {
		return f != 0
	}
	return true
}

// number returns v as float64 when v has a numeric type.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// toNumber converts v to a number as PowerShell does for arithmetic and
// comparisons: numeric strings and booleans convert, "" is 0.
func toNumber(v any) (float64, bool) {
	if f, ok := number(v); ok {
		return f, true
	}
	switch x := v.(type) {
	case nil:
		return 0, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, true
		}
		if n, ok := parseNumber(s); ok {
			return number(n)
		}
	}
	return 0, false
}

// numberValue returns f as int64 when it is integral, else as float64.
func numberValue(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return int64(f)
	}
	return f
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// toString is PowerShell's conversion to string: arrays join with a space,
// objects show their identity.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case rendered:
		return string(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = toString(e)
		}
		return strings.Join(parts, " ")
	case *adminapi.Object:
		for _, n := range []string{"Identity", "Name"} {
			if v, ok := x.Get(n); ok && v != nil && toString(v) != "" {
				return toString(v)
			}
		}
		if id := x.IdentityValue(); id != "" {
			return id
		}
		return x.Type
	case *hashtable:
		return "System.Collections.Hashtable"
	case *scriptBlock:
		return x.text
	case *secureString:
		return "System.Security.SecureString"
	}
	if f, ok := number(v); ok {
		return formatNumber(f)
	}
	return fmt.Sprint(v)
}

// typeName is the .NET type name PowerShell messages use for v.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string, rendered:
		return "System.String"
	case bool:
		return "System.Boolean"
	case int64, int, int32:
		return "System.Int32"
	case float64, float32:
		return "System.Double"
	case []any:
		return "System.Object[]"
	case *hashtable:
		return "System.Collections.Hashtable"
	case *scriptBlock:
		return "System.Management.Automation.ScriptBlock"
	case *secureString:
		return "System.Security.SecureString"
	case *adminapi.Object:
		return x.Type
	}
	return fmt.Sprintf("%T", v)
}

// member is x.Name: a property, or for an array the property of each element
// (member enumeration). Count and Length work on everything.
func member(v any, name string) any {
	isCount := strings.EqualFold(name, "Count") || strings.EqualFold(name, "Length")
	switch x := v.(type) {
	case nil:
		if isCount {
			return int64(0)
		}
		return nil
	case *adminapi.Object:
		if val, ok := x.Get(name); ok {
			return val
		}
	case *hashtable:
		if val, ok := x.get(name); ok {
			return val
		}
		switch strings.ToLower(name) {
		case "count":
			return int64(len(x.keys))
		case "keys":
			keys := make([]any, len(x.keys))
			for i, k := range x.keys {
				keys[i] = k
			}
			return keys
		case "values":
			vals := make([]any, len(x.keys))
			for i, k := range x.keys {
				vals[i], _ = x.get(k)
			}
			return vals
		}
		return nil
	case []any:
		if isCount {
			return int64(len(x))
		}
		var out []any
		for _, e := range x {
			out = append(out, enumerate(member(e, name))...)
		}
		return collapse(out)
	case string:
		if strings.EqualFold(name, "Length") {
			return int64(len([]rune(x)))
		}
	}
	if isCount {
		return int64(1)
	}
	return nil
}

// hasMember reports whether x.Name is a real property (not $null by absence).
func hasMember(v any, name string) bool {
	switch x := v.(type) {
	case *adminapi.Object:
		_, ok := x.Get(name)
		return ok
	case *hashtable:
		_, ok := x.get(name)
		return ok
	}
	return false
}

func index(v, i any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, runtimeError("NullArray", "Cannot index into a null array.")
	case *hashtable:
		val, _ := x.get(toString(i))
		return val, nil
	}
	n, ok := toNumber(i)
	if !ok {
		return nil, runtimeError("InvalidIndex", fmt.Sprintf("Cannot convert value %q to type \"System.Int32\".", toString(i)))
	}
	k := int(n)
	switch x := v.(type) {
	case []any:
		if k < 0 {
			k += len(x)
		}
		if k < 0 || k >= len(x) {
			return nil, nil
		}
		return x[k], nil
	case string:
		r := []rune(x)
		if k < 0 {
			k += len(r)
		}
		if k < 0 || k >= len(r) {
			return nil, nil
		}
		return string(r[k]), nil
	}
	if k == 0 || k == -1 {
		return v, nil
	}
	return nil, nil
}

// callMethod supports the few .NET methods scripts commonly call on strings.
func callMethod(v any, name string, args []any) (any, error) {
	if strings.EqualFold(name, "ToString") && len(args) == 0 {
		return toString(v), nil
	}
	s, isString := v.(string)
	arg := func(i int) string {
		if i < len(args) {
			return toString(args[i])
		}
		return ""
	}
	if isString {
		switch strings.ToLower(name) {
		case "tolower":
			return strings.ToLower(s), nil
		case "toupper":
			return strings.ToUpper(s), nil
		case "trim":
			return strings.TrimSpace(s), nil
		case "contains":
			return strings.Contains(s, arg(0)), nil
		case "startswith":
			return strings.HasPrefix(s, arg(0)), nil
		case "endswith":
			return strings.HasSuffix(s, arg(0)), nil
		case "replace":
			return strings.ReplaceAll(s, arg(0), arg(1)), nil
		case "split":
			var out []any
			for _, part := range strings.Split(s, arg(0)) {
				out = append(out, part)
			}
			return out, nil
		}
	}
	return nil, runtimeError("MethodNotFound", fmt.Sprintf("Method invocation failed because [%s] does not contain a method named '%s'.", typeName(v), name))
}

// compare orders a and b as PowerShell's comparison operators do: b is
// converted to the type of a, strings compare case-insensitively. ok is false
// when b cannot be converted.
func compare(a, b any) (int, bool) {
	switch {
	case a == nil && b == nil:
		return 0, true
	case a == nil:
		return -1, true
	case b == nil:
		return 1, true
	}
	if fa, ok := number(a); ok {
		fb, ok := toNumber(b)
		if !ok {
			return 0, false
		}
		return cmpFloat(fa, fb), true
	}
	if ba, ok := a.(bool); ok {
		switch bb := truthy(b); {
		case ba == bb:
			return 0, true
		case ba:
			return 1, true
		}
		return -1, true
	}
	return strings.Compare(strings.ToLower(toString(a)), strings.ToLower(toString(b))), true
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func equal(a, b any) bool {
	c, ok := compare(a, b)
	return ok && c == 0
}

// compareOp applies a binary comparison operator. With an array on the left,
// -eq and friends filter the array, as in PowerShell.
func compareOp(op string, l, r any) (any, error) {
	switch op {
	case "-contains", "-notcontains":
		found := false
		for _, e := range enumerate(l) {
			if equal(e, r) {
				found = true
				break
			}
		}
		return found == (op == "-contains"), nil
	case "-in":
		return compareOp("-contains", r, l)
	case "-notin":
		return compareOp("-notcontains", r, l)
	case "-join":
		parts := make([]string, 0)
		for _, e := range enumerate(l) {
			parts = append(parts, toString(e))
		}
		return strings.Join(parts, toString(r)), nil
	case "-replace", "-split":
		return regexOp(op, l, r)
	}
	if arr, ok := l.([]any); ok {
		out := []any{}
		for _, e := range arr {
			ok, err := scalarCompare(op, e, r)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, e)
			}
		}
		return out, nil
	}
	return scalarCompare(op, l, r)
}

func scalarCompare(op string, l, r any) (bool, error) {
	switch op {
	case "-like", "-notlike":
		return wildcard(toString(r)).MatchString(toString(l)) == (op == "-like"), nil
	case "-match", "-notmatch":
		re, err := regexp.Compile("(?i)" + toString(r))
		if err != nil {
			return false, badRegex(toString(r), err)
		}
		return re.MatchString(toString(l)) == (op == "-match"), nil
	}
	c, ok := compare(l, r)
	switch op {
	case "-eq":
		return ok && c == 0, nil
	case "-ne":
		return !ok || c != 0, nil
	}
	if !ok {
		c = strings.Compare(strings.ToLower(toString(l)), strings.ToLower(toString(r)))
	}
	switch op {
	case "-lt":
		return c < 0, nil
	case "-le":
		return c <= 0, nil
	case "-gt":
		return c > 0, nil
	case "-ge":
		return c >= 0, nil
	}
	return false, runtimeError("OperatorNotSupported", "The operator '"+op+"' is not supported.")
}

// regexOp implements -replace (pattern or pattern,replacement) and -split,
// case-insensitively, element by element on arrays.
func regexOp(op string, l, r any) (any, error) {
	args := enumerate(r)
	pattern, repl := "", ""
	if len(args) > 0 {
		pattern = toString(args[0])
	}
	if len(args) > 1 {
		repl = toString(args[1])
	}
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		return nil, badRegex(pattern, err)
	}
	var out []any
	for _, e := range enumerate(l) {
		if op == "-replace" {
			out = append(out, re.ReplaceAllString(toString(e), repl))
			continue
		}
		for _, part := range re.Split(toString(e), -1) {
			out = append(out, part)
		}
	}
	if _, isArray := l.([]any); op == "-replace" && !isArray {
		return collapse(out), nil
	}
	return out, nil
}

func badRegex(pattern string, err error) error {
	return runtimeError("InvalidRegularExpression", fmt.Sprintf("The regular expression pattern %s is not valid: %v.", pattern, err))
}

// add is the + operator: numbers add, strings concatenate, arrays append.
func add(l, r any) (any, error) {
	switch x := l.(type) {
	case nil:
		return r, nil
	case string:
		return x + toString(r), nil
	case []any:
		out := append(append([]any{}, x...), enumerate(r)...)
		return out, nil
	}
	return arith("+", l, r)
}

func arith(op string, l, r any) (any, error) {
	a, ok1 := toNumber(l)
	b, ok2 := toNumber(r)
	if _, isNum := number(l); (!isNum && l != nil) || !ok1 || !ok2 {
		return nil, runtimeError("OperatorFailed", fmt.Sprintf("Cannot apply '%s' to values of type [%s] and [%s].", op, typeName(l), typeName(r)))
	}
	if op == "-" {
		b = -b
	}
	return numberValue(a + b), nil
}

// wildcard compiles a PowerShell wildcard pattern (* ? [abc], ` escapes) to
// a case-insensitive regular expression matching the whole string.
func wildcard(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '`':
			if i+1 < len(rs) {
				i++
				b.WriteString(regexp.QuoteMeta(string(rs[i])))
			}
		case '[':
			end := i + 1
			for end < len(rs) && rs[end] != ']' {
				end++
			}
			if end >= len(rs) || end == i+1 {
				b.WriteString(regexp.QuoteMeta("["))
				continue
			}
			b.WriteString("[")
			for _, c := range rs[i+1 : end] {
				if c == '\\' || c == '[' || c == '^' {
					b.WriteString(`\`)
				}
				b.WriteRune(c)
			}
			b.WriteString("]")
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil { // e.g. a reversed range [z-a]: match the text literally
		re = regexp.MustCompile("(?is)^" + regexp.QuoteMeta(pattern) + "$")
	}
	return re
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }
