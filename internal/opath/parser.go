// Package opath parses and evaluates Exchange OPATH filters (the text of -Filter, -RecipientFilter and -RecipientRestrictionFilter).
package opath

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a filter's text. Both give a SyntaxError.
const (
	MaxFilterBytes = 32 << 10 // longest accepted filter, in bytes
	MaxDepth       = 100      // deepest accepted parenthesis nesting
)

// Kind is the type of a filterable property. It decides how values are
// converted and compared.
type Kind int

const (
	String      Kind = iota // text, compared case-insensitively
	MultiString             // multi-valued text (e.g. EmailAddresses)
	Enum                    // one of Property.Enum, matched case-insensitively by name
	Bool                    // "True" / "False"
	Int                     // 64-bit integer, compared numerically
	Link                    // distinguished name of another object; may be multi-valued
	Guid                    // GUID, with or without braces and hyphens
	Date                    // date and time
)

var kindNames = [...]string{"String", "MultiString", "Enum", "Bool", "Int", "Link", "Guid", "Date"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Property describes one filterable property.
type Property struct {
	Name string // canonical name, as records are asked for it
	Kind Kind
	// Enum lists the allowed values of an Enum property in canonical case.
	// Order matters for -lt/-gt/-le/-ge, which compare positions in this list,
	// so list values in their numeric order. An empty list accepts any value.
	Enum []string
}

// Schema says which properties a filter may use (it differs per cmdlet).
// Lookup is case-insensitive.
type Schema interface {
	Lookup(name string) (Property, bool)
	Names() []string
}

// MapSchema is a simple Schema built from a list of properties.
type MapSchema struct {
	byName map[string]Property
	names  []string
}

// NewSchema returns a *MapSchema holding props. When two properties have the
// same name ignoring case, the first wins.
func NewSchema(props ...Property) Schema {
	s := &MapSchema{byName: make(map[string]Property, len(props))}
	for _, p := range props {
		key := strings.ToLower(p.Name)
		if _, dup := s.byName[key]; dup {
			continue
		}
		p.Enum = slices.Clone(p.Enum)
		s.byName[key] = p
		s.names = append(s.names, p.Name)
	}
	slices.Sort(s.names)
	return s
}

// Lookup finds a property by name, ignoring case.
func (s *MapSchema) Lookup(name string) (Property, bool) {
	if s == nil {
		return Property{}, false
	}
	p, ok := s.byName[strings.ToLower(name)]
	return p, ok
}

// Names returns the canonical property names in ordinal order.
func (s *MapSchema) Names() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.names)
}

// Record is the object being tested. Values returns the values of a property
// by its canonical name (Property.Name), as strings: a bool is "True"/"False",
// an int in decimal, a date preferably in RFC 3339, a multi-valued property
// returns every value, and an unset property returns nil or empty strings
// (empty strings are ignored everywhere). The record decides quirks such as
// PrimarySmtpAddress also returning proxy addresses, or link properties
// returning DNs.
type Record interface {
	Values(prop string) []string
}

// MapRecord is a Record backed by a map from canonical property name to values.
type MapRecord map[string][]string

// Values returns m[prop].
func (m MapRecord) Values(prop string) []string { return m[prop] }

// Filter is a parsed, compiled filter. It is immutable and safe for
// concurrent use.
type Filter struct {
	text  string
	root  node
	props []string
}

// Text returns the filter as it was given to Parse.
func (f *Filter) Text() string {
	if f == nil {
		return ""
	}
	return f.text
}

// Properties returns the canonical names of the properties the filter
// references, each once, in order of first appearance.
func (f *Filter) Properties() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.props)
}

// Parse parses and compiles a filter against schema.
//
// Syntax is checked over the whole text first, so a *SyntaxError wins over
// the *UnknownPropertyError or *ValueError of an earlier comparison; among
// those two kinds, the leftmost problem is reported. An empty filter is a
// syntax error at position 1.
func Parse(text string, schema Schema) (*Filter, error) {
	if len(text) > MaxFilterBytes {
		return nil, &SyntaxError{Filter: text, Pos: utf8.RuneCountInString(text[:MaxFilterBytes]) + 1,
			Reason: "filter longer than " + strconv.Itoa(MaxFilterBytes) + " bytes"}
	}
	if !utf8.ValidString(text) {
		i := 0
		for i < len(text) {
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, &SyntaxError{Filter: text, Pos: utf8.RuneCountInString(text[:i]) + 1, Reason: "invalid UTF-8"}
	}
	p := &parser{lx: lexer{src: text, col: 1}, schema: schema}
	p.advance()
	root := p.parseOr()
	if p.err == nil && p.tok.kind != tEOF {
		p.fail(p.tok.pos, "unexpected "+p.tok.describe()+" after a complete expression")
	}
	if p.err != nil {
		p.err.Filter = text
		return nil, p.err
	}
	if p.bindErr != nil {
		return nil, p.bindErr
	}
	return &Filter{text: text, root: root, props: p.props}, nil
}

type parser struct {
	lx      lexer
	tok     token // current token
	depth   int
	schema  Schema
	err     *SyntaxError // first syntax error; parsing stops
	bindErr error        // first schema error; parsing goes on to find syntax errors
	props   []string
}

func (p *parser) fail(pos int, reason string) {
	if p.err == nil {
		p.err = &SyntaxError{Pos: pos, Reason: reason}
	}
}

func (p *parser) advance() {
	if p.err != nil {
		return
	}
	t, le := p.lx.next()
	if le != nil {
		p.fail(le.pos, le.reason)
		p.tok = token{kind: tEOF, pos: le.pos}
		return
	}
	p.tok = t
}

func (p *parser) isOp(op opcode) bool { return p.tok.kind == tOp && p.tok.op == op }

// parseOr parses andExpr (-or andExpr)*.
func (p *parser) parseOr() node {
	first := p.parseAnd()
	if p.err != nil || !p.isOp(opOr) {
		return first
	}
	kids := []node{first}
	for p.err == nil && p.isOp(opOr) {
		p.advance()
		kids = append(kids, p.parseAnd())
	}
	return &orNode{kids: kids}
}

// parseAnd parses unary (-and unary)*.
func (p *parser) parseAnd() node {
	first := p.parseUnary()
	if p.err != nil || !p.isOp(opAnd) {
		return first
	}
	kids := []node{first}
	for p.err == nil && p.isOp(opAnd) {
		p.advance()
		kids = append(kids, p.parseUnary())
	}
	return &andNode{kids: kids}
}

// parseUnary parses -not* primary. A run of -not is read in a loop (not by
// recursion) and pairs cancel out.
func (p *parser) parseUnary() node {
	neg := false
	for p.err == nil && p.isOp(opNot) {
		neg = !neg
		p.advance()
	}
	n := p.parsePrimary()
	if neg && p.err == nil {
		return &notNode{kid: n}
	}
	return n
}

// parsePrimary parses '(' orExpr ')' or a comparison.
func (p *parser) parsePrimary() node {
	if p.err != nil {
		return nil
	}
	switch p.tok.kind {
	case tLParen:
		if p.depth >= MaxDepth {
			p.fail(p.tok.pos, "parentheses nested deeper than "+strconv.Itoa(MaxDepth))
			return nil
		}
		p.depth++
		p.advance()
		n := p.parseOr()
		if p.err != nil {
			return nil
		}
		if p.tok.kind != tRParen {
			p.fail(p.tok.pos, "expected ')' but found "+p.tok.describe())
			return nil
		}
		p.depth--
		p.advance()
		return n
	case tWord:
		return p.parseComparison()
	}
	p.fail(p.tok.pos, "expected a property name or '(' but found "+p.tok.describe())
	return nil
}

// parseComparison parses Property op Value and binds it to the schema.
func (p *parser) parseComparison() node {
	prop := p.tok
	p.advance()
	if p.err != nil {
		return nil
	}
	if p.tok.kind != tOp || !p.tok.op.isComparison() {
		p.fail(p.tok.pos, "expected a comparison operator after "+prop.text+" but found "+p.tok.describe())
		return nil
	}
	op := p.tok
	p.advance()
	if p.err != nil {
		return nil
	}
	val := p.tok
	switch val.kind {
	case tString, tWord, tNumber, tVar:
	default:
		p.fail(val.pos, "expected a value after "+op.op.String()+" but found "+val.describe())
		return nil
	}
	if val.kind == tVar && val.text == "null" && op.op != opEq && op.op != opNe {
		p.fail(val.pos, "$null can only be used with -eq and -ne")
		return nil
	}
	p.advance()
	if p.bindErr != nil {
		return nil
	}
	c, err := bind(p.schema, prop, op.op, val)
	if err != nil {
		p.bindErr = err
		return nil
	}
	if !slices.Contains(p.props, c.prop) {
		p.props = append(p.props, c.prop)
	}
	return c
}
