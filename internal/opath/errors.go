package opath

import (
	"strconv"
	"strings"
)

// SyntaxError reports a filter that does not follow the OPATH grammar, or that
// exceeds the size or nesting limits.
//
// Pos is the 1-based character (rune, not byte) position of the first
// character of the offending token; when the filter ends too early it is one
// past the last character. Exchange's own numbering is not documented; this
// is the choice an admin can count on a screen.
type SyntaxError struct {
	Filter string
	Pos    int
	Reason string // for logs and tests; not part of Error()
}

func (e *SyntaxError) Error() string {
	return "Invalid filter syntax. For a description of the filter parameter syntax see the command help. \"" +
		e.Filter + "\" at position " + strconv.Itoa(e.Pos) + "."
}

// UnknownPropertyError reports a property the schema does not allow.
type UnknownPropertyError struct {
	Name  string   // as written in the filter
	Valid []string // the schema's names
	Pos   int      // 1-based character position of the name; not part of Error()
}

func (e *UnknownPropertyError) Error() string {
	return "\"" + e.Name + "\" is not a recognized filterable property. Valid property names are: " +
		strings.Join(e.Valid, ", ") + "."
}

// ValueError reports a value that cannot be converted to its property's type.
type ValueError struct {
	Property string   // canonical property name
	Value    string   // the value as written (unquoted)
	Kind     Kind     // the property's type
	Valid    []string // allowed values, for Enum and Bool properties
	Pos      int      // 1-based character position of the value; not part of Error()
}

func (e *ValueError) Error() string {
	msg := "Cannot convert value \"" + e.Value + "\" to type " + e.Kind.String() +
		" for filterable property \"" + e.Property + "\"."
	if len(e.Valid) > 0 {
		msg += " Valid values are: " + strings.Join(e.Valid, ", ") + "."
	}
	return msg
}
