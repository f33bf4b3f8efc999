package opath

import (
	"bytes"
	"cmp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// node is one compiled expression. eval with a nil trace short-circuits;
// with a trace it evaluates every comparison and appends Steps in pre-order.
type node interface {
	eval(r Record, tr *trace) bool
	format(b *strings.Builder)
}

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ kid node }

// cmpNode is a compiled comparison: Property op Value.
type cmpNode struct {
	prop  string // canonical name
	kind  Kind
	op    opcode
	null  bool   // value is $null (or '' with -eq/-ne)
	raw   string // value as written, unquoted; rendered by format
	str   string // case-folded constant for string-like comparisons
	num   int64  // Int constant
	tm    time.Time
	guid  [32]byte // Guid constant, lower-case hex digits
	enum  []string // allowed values of an Enum property (for ordering)
	enumI int      // position of the constant in enum
	pat   pattern  // -like / -notlike
	text  bool     // -eq is a case-insensitive text comparison with str
}

// Match reports whether r satisfies the filter. A nil Filter matches nothing;
// a nil Record behaves as one with no values.
//
// Text, enum, link and GUID comparisons ignore case; Int and Date compare as
// numbers and times. On a multi-valued property -eq, -lt, -gt, -le, -ge and
// -like hold if ANY value satisfies them, while -ne and -notlike hold if NO
// value equals (matches) the constant, so they also hold on an unset property.
// "P -eq $null" holds when P has no non-empty value. Record values that cannot
// be read as the property's kind satisfy no comparison.
func (f *Filter) Match(r Record) bool {
	if f == nil || f.root == nil {
		return false
	}
	if r == nil {
		r = MapRecord(nil)
	}
	return f.root.eval(r, nil)
}

// Step is one line of an Explain trace.
type Step struct {
	Clause string   // the comparison, or the normalized text of a -and/-or/-not group
	Result bool     // what the clause evaluated to for this record
	Values []string // the record's values for a comparison's property; nil for groups
	Depth  int      // nesting level, 0 for the whole filter
	leaf   bool
}

// String renders the step as a line indented by two spaces per Depth, e.g.
//
//	RecipientTypeDetails -eq 'RoomMailbox': false (value: UserMailbox)
func (s Step) String() string {
	var b strings.Builder
	for range s.Depth {
		b.WriteString("  ")
	}
	b.WriteString(s.Clause)
	b.WriteString(": ")
	b.WriteString(strconv.FormatBool(s.Result))
	if s.leaf || s.Values != nil {
		switch len(s.Values) {
		case 0:
			b.WriteString(" (no value)")
		case 1:
			b.WriteString(" (value: " + s.Values[0] + ")")
		default:
			b.WriteString(" (values: " + strings.Join(s.Values, "; ") + ")")
		}
	}
	return b.String()
}

type trace struct {
	steps []Step
	depth int
}

// Explain evaluates like Match, but evaluates every comparison (no
// short-circuit) and returns a trace in pre-order: each group comes before
// its members, so the lines read as an indented tree.
func (f *Filter) Explain(r Record) (bool, []Step) {
	if f == nil || f.root == nil {
		return false, nil
	}
	if r == nil {
		r = MapRecord(nil)
	}
	tr := &trace{}
	ok := f.root.eval(r, tr)
	return ok, tr.steps
}

// group opens a Step for a group node; the returned func records its result.
func (tr *trace) group(n node) func(bool) {
	i := len(tr.steps)
	tr.steps = append(tr.steps, Step{Clause: nodeString(n), Depth: tr.depth})
	tr.depth++
	return func(res bool) {
		tr.depth--
		tr.steps[i].Result = res
	}
}

func (n *andNode) eval(r Record, tr *trace) bool {
	if tr == nil {
		for _, k := range n.kids {
			if !k.eval(r, nil) {
				return false
			}
		}
		return true
	}
	done := tr.group(n)
	res := true
	for _, k := range n.kids {
		res = k.eval(r, tr) && res
	}
	done(res)
	return res
}

func (n *orNode) eval(r Record, tr *trace) bool {
	if tr == nil {
		for _, k := range n.kids {
			if k.eval(r, nil) {
				return true
			}
		}
		return false
	}
	done := tr.group(n)
	res := false
	for _, k := range n.kids {
		res = k.eval(r, tr) || res
	}
	done(res)
	return res
}

func (n *notNode) eval(r Record, tr *trace) bool {
	if tr == nil {
		return !n.kid.eval(r, nil)
	}
	done := tr.group(n)
	res := !n.kid.eval(r, tr)
	done(res)
	return res
}

func (c *cmpNode) eval(r Record, tr *trace) bool {
	vals := r.Values(c.prop)
	res := c.test(vals)
	if tr != nil {
		var b strings.Builder
		c.formatBare(&b)
		tr.steps = append(tr.steps, Step{Clause: b.String(), Result: res,
			Values: append([]string{}, vals...), Depth: tr.depth, leaf: true})
	}
	return res
}

// test applies the comparison to a property's values. Empty strings count as
// no value. -eq, -lt, -gt, -le, -ge and -like are true if ANY value satisfies
// them; -ne and -notlike are their negations, true if NO value equals (or
// matches) the constant, hence also true for an unset property.
func (c *cmpNode) test(vals []string) bool {
	if c.null {
		for _, v := range vals {
			if v != "" {
				return c.op == opNe
			}
		}
		return c.op == opEq
	}
	op, want := c.op, true
	switch op {
	case opNe:
		op, want = opEq, false
	case opNotLike:
		op, want = opLike, false
	}
	for _, v := range vals {
		if v == "" {
			continue
		}
		var hit bool
		switch {
		case op == opLike:
			hit = c.pat.match(v)
		case op == opEq && c.text:
			hit = compareFold(v, c.str) == 0
		default:
			hit = c.one(v, op)
		}
		if hit {
			return want
		}
	}
	return !want
}

func (c *cmpNode) one(v string, op opcode) bool {
	d, ok := c.compare(v)
	if !ok {
		return false
	}
	switch op {
	case opEq:
		return d == 0
	case opLt:
		return d < 0
	case opGt:
		return d > 0
	case opLe:
		return d <= 0
	case opGe:
		return d >= 0
	}
	return false
}

// compare orders a record value against the constant. ok is false when the
// value cannot be read as the property's kind; such a value satisfies no
// comparison.
func (c *cmpNode) compare(v string) (d int, ok bool) {
	switch c.kind {
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, false
		}
		return cmp.Compare(n, c.num), true
	case Date:
		t, ok := parseDate(v)
		if !ok {
			return 0, false
		}
		return t.Compare(c.tm), true
	case Guid:
		g, ok := parseGUID(v)
		if !ok {
			return 0, false
		}
		return bytes.Compare(g[:], c.guid[:]), true
	case Bool:
		var b, k int
		switch {
		case strings.EqualFold(v, "True"):
			b = 1
		case !strings.EqualFold(v, "False"):
			return 0, false
		}
		if c.str == "true" {
			k = 1
		}
		return b - k, true
	case Enum:
		if c.op != opEq && c.op != opNe && len(c.enum) > 0 {
			for i, e := range c.enum {
				if strings.EqualFold(e, v) {
					return cmp.Compare(i, c.enumI), true
				}
			}
			return 0, false
		}
	}
	return compareFold(v, c.str), true
}

// bind resolves a comparison against the schema and compiles its constant.
func bind(schema Schema, propTok token, op opcode, val token) (*cmpNode, error) {
	var (
		p  Property
		ok bool
	)
	if schema != nil {
		p, ok = schema.Lookup(propTok.text)
	}
	if !ok {
		e := &UnknownPropertyError{Name: propTok.text, Pos: propTok.pos}
		if schema != nil {
			e.Valid = schema.Names()
		}
		return nil, e
	}
	if p.Name == "" {
		p.Name = propTok.text
	}
	c := &cmpNode{prop: p.Name, kind: p.Kind, op: op, raw: val.text, enum: p.Enum}
	switch val.kind {
	case tVar:
		switch val.text {
		case "null":
			c.null = true
			return c, nil
		case "true":
			c.raw = "True"
		case "false":
			c.raw = "False"
		}
	case tString, tWord:
		if c.raw == "" && (op == opEq || op == opNe) {
			c.null = true
			return c, nil
		}
	}
	if op == opLike || op == opNotLike {
		// Wildcards work on the string form of every kind.
		c.pat = compilePattern(c.raw)
		return c, nil
	}
	bad := func(valid ...string) error {
		return &ValueError{Property: p.Name, Value: c.raw, Kind: p.Kind, Valid: valid, Pos: val.pos}
	}
	switch p.Kind {
	case Int:
		n, err := strconv.ParseInt(strings.TrimSpace(c.raw), 10, 64)
		if err != nil {
			return nil, bad()
		}
		c.num = n
		c.raw = strconv.FormatInt(n, 10)
	case Bool:
		switch {
		case strings.EqualFold(c.raw, "True"):
			c.raw, c.str = "True", "true"
		case strings.EqualFold(c.raw, "False"):
			c.raw, c.str = "False", "false"
		default:
			return nil, bad("$true", "$false")
		}
	case Enum:
		if len(p.Enum) > 0 {
			i := -1
			for j, e := range p.Enum {
				if strings.EqualFold(e, c.raw) {
					i = j
					break
				}
			}
			if i < 0 {
				return nil, bad(p.Enum...)
			}
			c.enumI, c.raw = i, p.Enum[i]
		}
		c.str = foldString(c.raw)
		c.text = true
	case Guid:
		g, ok := parseGUID(c.raw)
		if !ok {
			return nil, bad()
		}
		c.guid = g
		c.raw = formatGUID(g)
	case Date:
		t, ok := parseDate(c.raw)
		if !ok {
			return nil, bad()
		}
		c.tm = t
	default:
		c.str, c.text = foldString(c.raw), true
	}
	return c, nil
}

// ---- rendering ----

// String returns the normalized filter: canonical property names, lower-case
// operators, single-quoted values, every comparison and group in parentheses,
// e.g. "(RecipientTypeDetails -eq 'RoomMailbox')". It parses back to an
// equivalent filter (unless normalizing pushed it past MaxFilterBytes or
// MaxDepth, which needs a filter already near those limits).
func (f *Filter) String() string {
	if f == nil || f.root == nil {
		return ""
	}
	return nodeString(f.root)
}

func nodeString(n node) string {
	var b strings.Builder
	n.format(&b)
	return b.String()
}

func formatList(b *strings.Builder, kids []node, op string) {
	b.WriteByte('(')
	for i, k := range kids {
		if i > 0 {
			b.WriteString(op)
		}
		k.format(b)
	}
	b.WriteByte(')')
}

func (n *andNode) format(b *strings.Builder) { formatList(b, n.kids, " -and ") }
func (n *orNode) format(b *strings.Builder)  { formatList(b, n.kids, " -or ") }

func (n *notNode) format(b *strings.Builder) {
	b.WriteString("-not")
	n.kid.format(b)
}

func (c *cmpNode) format(b *strings.Builder) {
	b.WriteByte('(')
	c.formatBare(b)
	b.WriteByte(')')
}

func (c *cmpNode) formatBare(b *strings.Builder) {
	b.WriteString(c.prop)
	b.WriteByte(' ')
	b.WriteString(c.op.String())
	b.WriteByte(' ')
	like := c.op == opLike || c.op == opNotLike
	switch {
	case c.null:
		b.WriteString("$null")
	case c.kind == Int && !like:
		b.WriteString(c.raw)
	case c.kind == Bool && !like:
		b.WriteString("$" + c.str)
	default:
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(c.raw, "'", "''"))
		b.WriteByte('\'')
	}
}

// ---- case-insensitive text ----

// foldRune maps r to a canonical case, so that two runes are equal ignoring
// case exactly when their folds are equal (for all but a few exotic runes).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

func foldString(s string) string {
	return strings.Map(foldRune, s)
}

// nextFold decodes the first rune of s and folds it.
func nextFold(s string) (rune, int) {
	if c := s[0]; c < utf8.RuneSelf {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		return rune(c), 1
	}
	r, n := utf8.DecodeRuneInString(s)
	return foldRune(r), n
}

// compareFold compares s, folded on the fly, with the already folded f.
func compareFold(s, f string) int {
	i := 0
	for ; i < len(s) && i < len(f); i++ {
		a, b := s[i], f[i]
		if a|b >= utf8.RuneSelf {
			return compareFoldRunes(s[i:], f[i:])
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return cmp.Compare(a, b)
		}
	}
	return cmp.Compare(len(s)-i, len(f)-i)
}

func compareFoldRunes(s, f string) int {
	for s != "" && f != "" {
		a, n := nextFold(s)
		b, m := utf8.DecodeRuneInString(f)
		if a != b {
			return cmp.Compare(a, b)
		}
		s, f = s[n:], f[m:]
	}
	return cmp.Compare(len(s), len(f))
}

// prefixFold reports whether s starts with the folded f, and how many bytes
// of s that prefix takes.
func prefixFold(s, f string) (int, bool) {
	i := 0
	for ; i < len(f); i++ {
		if i >= len(s) {
			return 0, false
		}
		a, b := s[i], f[i]
		if a|b >= utf8.RuneSelf {
			n, ok := prefixFoldRunes(s[i:], f[i:])
			return i + n, ok
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return 0, false
		}
	}
	return i, true
}

func prefixFoldRunes(s, f string) (int, bool) {
	i := 0
	for f != "" {
		if i >= len(s) {
			return 0, false
		}
		a, n := nextFold(s[i:])
		b, m := utf8.DecodeRuneInString(f)
		if a != b {
			return 0, false
		}
		i += n
		f = f[m:]
	}
	return i, true
}

// pattern is a compiled -like pattern: '*' matches any run of characters
// (including none) anywhere in the pattern; every other character is literal.
type pattern struct {
	segs     []string // folded text between the stars
	anchorL  bool     // no leading '*': segs[0] must be a prefix
	anchorR  bool     // no trailing '*': the last seg must be a suffix
	wildcard bool     // the pattern has at least one '*'
}

func compilePattern(raw string) pattern {
	f := foldString(raw)
	if !strings.Contains(f, "*") {
		return pattern{segs: []string{f}}
	}
	p := pattern{wildcard: true, anchorL: f[0] != '*', anchorR: f[len(f)-1] != '*'}
	for _, s := range strings.Split(f, "*") {
		if s != "" {
			p.segs = append(p.segs, s)
		}
	}
	return p
}

func (p *pattern) match(s string) bool {
	if !p.wildcard {
		return compareFold(s, p.segs[0]) == 0
	}
	segs := p.segs
	if len(segs) == 0 {
		return true // only stars
	}
	if p.anchorL {
		n, ok := prefixFold(s, segs[0])
		if !ok {
			return false
		}
		s, segs = s[n:], segs[1:]
	}
	var last string
	if p.anchorR {
		if len(segs) == 0 {
			return true // unreachable: a star between two anchors leaves two segments
		}
		last, segs = segs[len(segs)-1], segs[:len(segs)-1]
	}
	for _, seg := range segs {
		i, n, ok := indexFold(s, seg)
		if !ok {
			return false
		}
		s = s[i+n:]
	}
	if p.anchorR {
		return hasSuffixFold(s, last)
	}
	return true
}

// indexFold finds the first occurrence of the folded f in s.
func indexFold(s, f string) (at, n int, ok bool) {
	for i := 0; i < len(s); {
		if n, ok := prefixFold(s[i:], f); ok {
			return i, n, true
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return 0, 0, false
}

// hasSuffixFold reports whether s ends with the folded f.
func hasSuffixFold(s, f string) bool {
	if k := len(s) - len(f); k >= 0 && (k == len(s) || utf8.RuneStart(s[k])) {
		if n, ok := prefixFold(s[k:], f); ok && n == len(f) {
			return true
		}
	}
	if isASCII(s) && isASCII(f) {
		return false // only the byte-aligned candidate above could match
	}
	for i := 0; i < len(s); {
		if n, ok := prefixFold(s[i:], f); ok && i+n == len(s) {
			return true
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return f == ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// ---- GUIDs and dates ----

// parseGUID reads 32 hex digits, optionally hyphenated 8-4-4-4-12 and in braces.
func parseGUID(s string) (g [32]byte, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	switch len(s) {
	case 32:
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return g, false
		}
	default:
		return g, false
	}
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case len(s) == 36 && (i == 8 || i == 13 || i == 18 || i == 23):
			continue
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			return g, false
		}
		g[j] = c
		j++
	}
	return g, true
}

func formatGUID(g [32]byte) string {
	s := string(g[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

var (
	slashLayouts = []string{"1/2/2006 3:04:05 PM", "1/2/2006 3:04 PM", "1/2/2006 3:04:05 pm", "1/2/2006 3:04 pm",
		"1/2/2006 15:04:05", "1/2/2006 15:04", "1/2/2006"}
	isoLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}
)

// parseDate reads the date forms admins type: US "8/1/2017 2:00:00 PM" (as
// Exchange shows it in en-US), RFC 3339, and ISO "2017-08-01[ 14:00[:00]]".
// A time without a zone is UTC.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	layouts := isoLayouts
	if strings.IndexByte(s, '/') >= 0 {
		layouts = slashLayouts
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
