// Package adminapi is the wire contract between cmdlet front ends (the shell,
// later the admin center) and the server's cmdlet endpoint: the shapes of
// cmdlet metadata, parameters, result objects and errors, and an HTTP client.
package adminapi

import (
	"fmt"
	"strings"
)

// Paths served by the server (all require authentication).
const (
	PathCmdlets = "/admin/v1/cmdlets" // GET: []CmdletInfo
	PathInvoke  = "/admin/v1/invoke"  // POST Request -> Response
)

// ParamKind is how a parameter takes its value.
type ParamKind string

const (
	KindString  ParamKind = "string"       // one string
	KindStrings ParamKind = "strings"      // multi-valued: a list, or a hashtable @{Add=..;Remove=..}
	KindBool    ParamKind = "bool"         // $true/$false
	KindInt     ParamKind = "int"          // integer
	KindSwitch  ParamKind = "switch"       // present or -X:$false
	KindSecure  ParamKind = "securestring" // a password
)

// ParamInfo describes one parameter of a cmdlet.
type ParamInfo struct {
	Name     string    `json:"name"`
	Kind     ParamKind `json:"kind"`
	Position int       `json:"position,omitempty"` // 1-based positional slot; 0 = named only
	Pipeline bool      `json:"pipeline,omitempty"` // bound from a piped object's identity
}

// CmdletInfo describes one cmdlet the server offers to the caller.
type CmdletInfo struct {
	Name   string      `json:"name"`
	Params []ParamInfo `json:"params"`
}

// Request invokes one cmdlet. Param values are JSON values: string, bool,
// number, null, array of those, or an object for a hashtable
// (e.g. {"Add": [...], "Remove": [...]}). Names are the canonical parameter
// names from CmdletInfo.
type Request struct {
	Cmdlet string         `json:"cmdlet"`
	Params map[string]any `json:"params"`
}

// Response is the result of one invocation: objects on success, or an error.
// Warnings are printed by the front end ("WARNING: ...") even on success.
type Response struct {
	Objects  []*Object `json:"objects,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
	Error    *Error    `json:"error,omitempty"`
}

// Object is one result object with ordered properties, like a PowerShell
// deserialized object.
type Object struct {
	// Type is the object's type name, e.g. "Mailbox", "ManagementScope".
	Type string `json:"type"`
	// Props in display order. Values are string, bool, float64/int, nil, or
	// []any of those.
	Props []Prop `json:"props"`
	// View lists the property names shown when the object is written
	// without an explicit Format-* (EMS default table columns).
	View []string `json:"view,omitempty"`
}

// Prop is one named property value.
type Prop struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Get returns a property value by case-insensitive name.
func (o *Object) Get(name string) (any, bool) {
	for _, p := range o.Props {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}

// IdentityValue is the value a piped object binds to an -Identity parameter:
// its Guid when it has one, else its Identity, else its Name.
func (o *Object) IdentityValue() string {
	for _, n := range []string{"Guid", "Identity", "Name"} {
		if v, ok := o.Get(n); ok && v != nil && fmt.Sprint(v) != "" {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// Error is an Exchange-Management-Shell style error.
type Error struct {
	Message string `json:"message"`
	// Category is the PowerShell error category, e.g. "NotSpecified",
	// "InvalidArgument", "InvalidOperation", "PermissionDenied", "ObjectNotFound".
	Category string `json:"category"`
	// Exception is the exception type name, e.g. "ManagementObjectNotFoundException".
	Exception string `json:"exception"`
	// ErrorID is the FullyQualifiedErrorId.
	ErrorID string `json:"errorId,omitempty"`
	// Target is the object the error is about, when known.
	Target string `json:"target,omitempty"`
}

func (e *Error) Error() string { return e.Message }
