// Package cmdlet is Actas's one admin API: a registry of Exchange cmdlets
// with typed parameters, RBAC checks and typed results. The shell and any
// other front end only call Registry.Invoke; nothing else modifies the
// directory.
package cmdlet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/opath"
	"github.com/actasmail/actas/internal/rbac"
)

// Param declares one parameter of a cmdlet.
type Param struct {
	Name     string
	Kind     adminapi.ParamKind
	Position int  // 1-based positional slot, 0 = named only
	Pipeline bool // bound from piped objects
	Required bool
}

// Def defines a cmdlet.
type Def struct {
	Name   string
	Params []Param
	// Write cmdlets run in a directory transaction; others under a read lock.
	Write bool
	// Role is the role-entry name checked for authorization; empty means Name.
	Role string
	// SelfService, when set, allows a caller without the role if it returns true
	// (e.g. a service account testing its own impersonation rights).
	SelfService func(c *Call) bool
	Run         func(c *Call) error
}

func (def *Def) param(name string) *Param {
	for i := range def.Params {
		if strings.EqualFold(def.Params[i].Name, name) {
			return &def.Params[i]
		}
	}
	return nil
}

// Registry holds every cmdlet and runs them against a directory.
type Registry struct {
	dir       *d.Directory
	mailboxes mailbox.Mailboxes // nil until SetMailboxes
	defs      map[string]*Def
	log       *slog.Logger
	now       func() time.Time
}

// New returns a registry with every Actas cmdlet.
func New(dir *d.Directory, log *slog.Logger) *Registry {
	r := &Registry{dir: dir, defs: map[string]*Def{}, log: log, now: time.Now}
	for _, group := range [][]*Def{recipientCmdlets(), groupCmdlets(), rbacCmdlets(), permissionCmdlets(), folderPermissionCmdlets(), throttlingCmdlets(), calendarProcessingCmdlets(), calendarLogCmdlets(), calendarConfigCmdlets()} {
		for _, def := range group {
			r.defs[strings.ToLower(def.Name)] = def
		}
	}
	return r
}

// SetMailboxes gives the cmdlets that touch mailbox contents (folder
// permissions, mailbox removal) the mailbox store.
func (r *Registry) SetMailboxes(m mailbox.Mailboxes) { r.mailboxes = m }

// Directory returns the directory the registry works on.
func (r *Registry) Directory() *d.Directory { return r.dir }

// List returns the cmdlets the caller may run, like the cmdlets an EMS
// session loads for the caller's roles.
func (r *Registry) List(callerID string) []adminapi.CmdletInfo {
	var out []adminapi.CmdletInfo
	_ = r.dir.Read(func(s *d.State) error {
		caller := s.Recipient(callerID)
		for _, def := range r.defs {
			if caller == nil || !(rbac.MayRun(s, caller, def.roleName()) || def.SelfService != nil) {
				continue
			}
			info := adminapi.CmdletInfo{Name: def.Name}
			for _, p := range def.Params {
				info.Params = append(info.Params, adminapi.ParamInfo{Name: p.Name, Kind: p.Kind, Position: p.Position, Pipeline: p.Pipeline})
			}
			out = append(out, info)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (def *Def) roleName() string {
	if def.Role != "" {
		return def.Role
	}
	return def.Name
}

// Invoke runs one cmdlet as the caller. Every failure comes back as an
// EMS-style error in the response; nothing is written unless the whole
// cmdlet succeeds.
func (r *Registry) Invoke(ctx context.Context, callerID string, req adminapi.Request) (resp *adminapi.Response) {
	def := r.defs[strings.ToLower(strings.TrimSpace(req.Cmdlet))]
	if def == nil {
		return &adminapi.Response{Error: notRecognized(req.Cmdlet, "")}
	}
	c := &Call{ctx: ctx, reg: r, def: def, args: map[string]any{}, now: r.now().UTC().Truncate(time.Second), log: r.log}
	if err := c.bind(req.Params); err != nil {
		return &adminapi.Response{Error: toAPIError(def.Name, err, r.log)}
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.ErrorContext(ctx, "cmdlet panic", "cmdlet", def.Name, "panic", p)
			resp = &adminapi.Response{Error: &adminapi.Error{Message: "An internal error occurred; nothing was changed. The server log has the details.",
				Category: "NotSpecified", Exception: "InternalServerErrorException", ErrorID: def.Name}}
		}
	}()
	run := func(s *d.State, tx *d.Tx) error {
		c.S, c.Tx = s, tx
		c.Caller = s.Recipient(callerID)
		if c.Caller == nil || c.Caller.AccountDisabled {
			return &adminapi.Error{Message: "Access is denied: the account no longer exists or is disabled.", Category: "PermissionDenied", Exception: "UnauthorizedAccessException"}
		}
		c.Org = s.Org(c.Caller.Org)
		if !rbac.MayRun(s, c.Caller, def.roleName()) && (def.SelfService == nil || !def.SelfService(c)) {
			return notRecognized(def.Name, fmt.Sprintf(" (Actas: no management role assigned to %q includes %s.)", c.Caller.Name, def.Name))
		}
		return def.Run(c)
	}
	var err error
	if def.Write {
		err = r.dir.Write(ctx, func(tx *d.Tx) error { return run(tx.State(), tx) })
	} else {
		err = r.dir.Read(func(s *d.State) error { return run(s, nil) })
	}
	if err != nil {
		return &adminapi.Response{Error: toAPIError(def.Name, err, r.log), Warnings: c.warnings}
	}
	return &adminapi.Response{Objects: c.out, Warnings: c.warnings}
}

func notRecognized(name, extra string) *adminapi.Error {
	return &adminapi.Error{
		Message:   fmt.Sprintf("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.%s", name, extra),
		Category:  "ObjectNotFound",
		Exception: "CommandNotFoundException",
		ErrorID:   "CommandNotFoundException",
		Target:    name,
	}
}

// Call is one cmdlet invocation: its bound arguments, the caller, the state
// it reads and, for write cmdlets, the transaction it writes.
type Call struct {
	ctx      context.Context
	reg      *Registry
	def      *Def
	args     map[string]any
	Caller   *d.Recipient
	Org      *d.Org
	S        *d.State
	Tx       *d.Tx
	out      []*adminapi.Object
	warnings []string
	now      time.Time
	log      *slog.Logger
}

// bind validates and normalizes the request parameters against the
// definition: unknown names, wrong types and missing required parameters
// are binding errors.
func (c *Call) bind(params map[string]any) error {
	for name, v := range params {
		p := c.def.param(name)
		if p == nil {
			return &adminapi.Error{Message: fmt.Sprintf("A parameter cannot be found that matches parameter name '%s'.", name),
				Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "NamedParameterNotFound"}
		}
		nv, err := convert(p, v)
		if err != nil {
			return &adminapi.Error{Message: fmt.Sprintf("Cannot bind parameter '%s'. %v", p.Name, err),
				Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "CannotConvertArgument"}
		}
		c.args[p.Name] = nv
	}
	for _, p := range c.def.Params {
		if _, ok := c.args[p.Name]; p.Required && !ok {
			return &adminapi.Error{Message: fmt.Sprintf("Cannot process command because of one or more missing mandatory parameters: %s.", p.Name),
				Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "MissingMandatoryParameter"}
		}
	}
	return nil
}

// multi is a bound multi-valued parameter: either a replacement list or
// incremental Add/Remove lists.
type multi struct {
	Replace     []string
	IsReplace   bool
	Add, Remove []string
}

func scalarString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		if x {
			return "True", nil
		}
		return "False", nil
	case float64:
		if x == math.Trunc(x) {
			return fmt.Sprintf("%d", int64(x)), nil
		}
		return fmt.Sprint(x), nil
	case int, int64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("cannot convert value of type %T to a string", v)
}

func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, err := scalarString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalarString(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func convert(p *Param, v any) (any, error) {
	switch p.Kind {
	case adminapi.KindString, adminapi.KindSecure:
		if v == nil {
			return nil, nil
		}
		if l, ok := v.([]any); ok && len(l) == 1 {
			v = l[0]
		}
		return scalarString(v)
	case adminapi.KindStrings:
		if m, ok := v.(map[string]any); ok {
			var mv multi
			for k, val := range m {
				list, err := stringList(val)
				if err != nil {
					return nil, err
				}
				switch strings.ToLower(k) {
				case "add":
					mv.Add = append(mv.Add, list...)
				case "remove":
					mv.Remove = append(mv.Remove, list...)
				default:
					return nil, fmt.Errorf("the hashtable key %q is not valid; use Add and Remove", k)
				}
			}
			return mv, nil
		}
		list, err := stringList(v)
		if err != nil {
			return nil, err
		}
		return multi{Replace: list, IsReplace: true}, nil
	case adminapi.KindBool, adminapi.KindSwitch:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimPrefix(x, "$")) {
			case "true", "1":
				return true, nil
			case "false", "0":
				return false, nil
			}
		case float64:
			return x != 0, nil
		}
		return nil, fmt.Errorf("cannot convert %v to System.Boolean; use $true or $false", v)
	case adminapi.KindInt:
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) {
				return nil, fmt.Errorf("cannot convert %v to System.Int32", v)
			}
			return int(x), nil
		case string:
			if strings.EqualFold(x, "Unlimited") {
				return -1, nil
			}
			var n int
			if _, err := fmt.Sscanf(x, "%d", &n); err != nil {
				return nil, fmt.Errorf("cannot convert %q to System.Int32", x)
			}
			return n, nil
		}
		return nil, fmt.Errorf("cannot convert %v to System.Int32", v)
	}
	return v, nil
}

// Has reports whether a parameter was given.
func (c *Call) Has(name string) bool { _, ok := c.args[name]; return ok }

// Str returns a string parameter ("" when absent or $null).
func (c *Call) Str(name string) string {
	s, _ := c.args[name].(string)
	return s
}

// Bool returns a bool or switch parameter, false when absent.
func (c *Call) Bool(name string) bool {
	b, _ := c.args[name].(bool)
	return b
}

// Int returns an int parameter and whether it was given (-1 = Unlimited).
func (c *Call) Int(name string) (int, bool) {
	n, ok := c.args[name].(int)
	return n, ok
}

// Multi returns a multi-valued parameter.
func (c *Call) Multi(name string) (multi, bool) {
	m, ok := c.args[name].(multi)
	return m, ok
}

// List returns a multi-valued parameter given as a plain list (add-only
// hashtables are accepted as a list too).
func (c *Call) List(name string) []string {
	m, _ := c.args[name].(multi)
	if m.IsReplace {
		return m.Replace
	}
	return m.Add
}

// Emit appends a result object.
func (c *Call) Emit(o *adminapi.Object) { c.out = append(c.out, o) }

// EmitAfterCommit renders a result from the committed state (write cmdlets).
func (c *Call) EmitAfterCommit(fn func(s *d.State) *adminapi.Object) {
	if c.Tx == nil {
		c.Emit(fn(c.S))
		return
	}
	c.Tx.OnCommit(func(s *d.State) { c.Emit(fn(s)) })
}

// Warn records a warning shown to the admin.
func (c *Call) Warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// Now is the invocation time.
func (c *Call) Now() time.Time { return c.now }

// Errors.

func invalidArg(format string, args ...any) error {
	return &adminapi.Error{Message: fmt.Sprintf(format, args...), Category: "InvalidArgument", Exception: "ArgumentException"}
}

func invalidOp(format string, args ...any) error {
	return &adminapi.Error{Message: fmt.Sprintf(format, args...), Category: "InvalidOperation", Exception: "InvalidOperationException"}
}

func duplicate(kind, name string) error {
	return &adminapi.Error{Message: fmt.Sprintf("The name \"%s\" is already being used. Please try another name. (Actas: a %s named %q already exists in this organization.)", name, kind, name),
		Category: "NotSpecified", Exception: "ADObjectAlreadyExistsException", Target: name}
}

// bindFilterError wraps an OPATH error as PowerShell's parameter binding error.
func bindFilterError(param string, err error) error {
	return &adminapi.Error{
		Message:   fmt.Sprintf("Cannot bind parameter '%s' to the target. Exception setting \"%s\": \"%s\"", param, param, err.Error()),
		Category:  "InvalidArgument",
		Exception: "ParameterBindingException",
		ErrorID:   "ParameterBindingFailed",
	}
}

func toAPIError(cmdlet string, err error, log *slog.Logger) *adminapi.Error {
	var ae *adminapi.Error
	var nf *d.NotFoundError
	var amb *d.AmbiguousError
	var ws *rbac.WriteScopeError
	var e *adminapi.Error
	switch {
	case errors.As(err, &ae):
		e = ae
	case errors.As(err, &nf):
		e = &adminapi.Error{Message: nf.Error(), Category: "NotSpecified", Exception: "ManagementObjectNotFoundException", Target: nf.Identity}
	case errors.As(err, &amb):
		e = &adminapi.Error{Message: amb.Error() + " (Actas: matches " + strings.Join(amb.Matches, ", ") + "; use the SMTP address or Guid.)",
			Category: "NotSpecified", Exception: "ManagementObjectAmbiguousException", Target: amb.Identity}
	case errors.As(err, &ws):
		e = &adminapi.Error{Message: ws.Error(), Category: "PermissionDenied", Exception: "OperationRequiresWriteScopeException", Target: ws.Target}
	case isFilterError(err):
		e = bindFilterError("Filter", err).(*adminapi.Error)
	default:
		log.Error("cmdlet failed", "cmdlet", cmdlet, "err", err)
		e = &adminapi.Error{Message: "The operation failed and nothing was changed: " + err.Error(), Category: "NotSpecified", Exception: "OperationFailedException"}
	}
	if e.ErrorID == "" {
		e.ErrorID = e.Exception
	}
	return e
}

func isFilterError(err error) bool {
	var se *opath.SyntaxError
	var ue *opath.UnknownPropertyError
	var ve *opath.ValueError
	return errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &ve)
}
