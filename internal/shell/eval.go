package shell

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
)

// errorRecord is an error as PowerShell shows it: adminapi's fields plus the
// cmdlet that raised it.
type errorRecord struct {
	apiError
	Cmdlet string
}

// apiError names the embedded adminapi.Error so that its Error method, not
// a field, is what errorRecord promotes.
type apiError = adminapi.Error

func runtimeError(id, msg string) *errorRecord {
	return &errorRecord{apiError: adminapi.Error{Message: msg, Category: "InvalidOperation", Exception: "RuntimeException", ErrorID: id}}
}

// stopError ends the whole script: an error under -ErrorAction Stop or
// $ErrorActionPreference = 'Stop', or a cancelled context.
type stopError struct{ rec *errorRecord }

func (e *stopError) Error() string { return e.rec.Message }

// exitError is the exit statement.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func isFatal(err error) bool {
	var se *stopError
	var ee *exitError
	return errors.As(err, &se) || errors.As(err, &ee)
}

func stopped() *stopError {
	return &stopError{rec: &errorRecord{apiError: adminapi.Error{Message: "The pipeline has been stopped.", Category: "OperationStopped", Exception: "PipelineStoppedException", ErrorID: "PipelineStopped"}}}
}

func asRecord(err error) *errorRecord {
	var rec *errorRecord
	if errors.As(err, &rec) {
		return rec
	}
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		return &errorRecord{apiError: *ae}
	}
	return &errorRecord{apiError: adminapi.Error{Message: err.Error(), Category: "NotSpecified", Exception: "RuntimeException", ErrorID: "RuntimeException"}}
}

// runStatements runs statements in order, passing each one's output to emit.
// An error ends only its statement: it is printed and the next statement
// runs, unless it is fatal or $ErrorActionPreference is Stop.
func (s *Shell) runStatements(ctx context.Context, stmts []stmt, emit func([]any)) error {
	for _, st := range stmts {
		if ctx.Err() != nil {
			return stopped()
		}
		out, err := s.runStatement(ctx, st)
		if len(out) > 0 {
			emit(out)
		}
		switch {
		case err == nil:
		case isFatal(err):
			return err
		case s.preference() == "stop":
			return &stopError{rec: asRecord(err)}
		default:
			s.writeError(asRecord(err))
		}
	}
	return nil
}

func (s *Shell) runBlock(ctx context.Context, body []stmt) ([]any, error) {
	var out []any
	err := s.runStatements(ctx, body, func(v []any) { out = append(out, v...) })
	return out, err
}

func (s *Shell) runStatement(ctx context.Context, st stmt) ([]any, error) {
	switch st := st.(type) {
	case *pipeline:
		return s.runPipeline(ctx, st)
	case *assignStmt:
		v, err := s.pipelineValue(ctx, st.value)
		if err != nil {
			return nil, err
		}
		if st.add {
			if v, err = add(s.getVar(st.name), v); err != nil {
				return nil, err
			}
		}
		return nil, s.setVar(st.name, v)
	case *ifStmt:
		for i, c := range st.conds {
			v, err := s.pipelineValue(ctx, c)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				return s.runBlock(ctx, st.blocks[i])
			}
		}
		return s.runBlock(ctx, st.elseBlock)
	case *foreachStmt:
		coll, err := s.pipelineValue(ctx, st.coll)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, item := range enumerate(coll) {
			if err := s.setVar(st.name, item); err != nil {
				return out, err
			}
			o, err := s.runBlock(ctx, st.body)
			out = append(out, o...)
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case *exitStmt:
		code := 0
		if st.code != nil {
			v, err := s.eval(ctx, st.code)
			if err != nil {
				return nil, err
			}
			f, _ := toNumber(v)
			code = int(f)
		}
		return nil, &exitError{code: code}
	}
	return nil, fmt.Errorf("unknown statement %T", st)
}

// pipelineValue is the value of a pipeline used as an expression: a lone
// expression keeps its value (so @() stays an empty array); command output
// collapses to $null, one object or an array.
func (s *Shell) pipelineValue(ctx context.Context, p *pipeline) (any, error) {
	if len(p.cmds) == 0 {
		return s.eval(ctx, p.first)
	}
	out, err := s.runPipeline(ctx, p)
	return collapse(out), err
}

// runPipeline runs the stages one after the other, each on all the output
// of the previous one.
func (s *Shell) runPipeline(ctx context.Context, p *pipeline) ([]any, error) {
	var items []any
	hasInput := false
	if p.first != nil {
		v, err := s.eval(ctx, p.first)
		if err != nil {
			return nil, err
		}
		items, hasInput = enumerate(v), true
	}
	for _, c := range p.cmds {
		out, err := s.runCommand(ctx, c, items, hasInput)
		if err != nil {
			return out, err
		}
		items, hasInput = out, true
	}
	return items, nil
}

var aliases = map[string]string{
	"?": "Where-Object", "where": "Where-Object",
	"%": "ForEach-Object", "foreach": "ForEach-Object",
	"select": "Select-Object", "sort": "Sort-Object", "measure": "Measure-Object",
	"fl": "Format-List", "ft": "Format-Table",
	"echo": "Write-Output", "write": "Write-Output",
	"gcm": "Get-Command", "ipmo": "Import-Module",
}

func (s *Shell) runCommand(ctx context.Context, c *command, input []any, hasInput bool) ([]any, error) {
	name := c.name
	if full, ok := aliases[strings.ToLower(name)]; ok {
		name = full
	}
	lc, local := localCmdlets[strings.ToLower(name)]
	info := &adminapi.CmdletInfo{}
	if local {
		info.Name, info.Params = lc.name, lc.params
	} else {
		var err error
		if info, err = s.cmdlet(ctx, name); err != nil {
			return nil, err
		}
	}
	args, err := s.evalArgs(ctx, c.args)
	if err != nil {
		return nil, err
	}
	b, err := bind(info.Name, info.Params, args, local && lc.acceptAny)
	if err != nil {
		return nil, err
	}
	var out []any
	if local {
		out, err = s.runLocal(ctx, lc, b, input)
	} else {
		out, err = s.invoke(ctx, info, b, input, hasInput)
	}
	s.setOutVar(b, out)
	return out, err
}

// runLocal runs a shell-local cmdlet; an error it returns is non-terminating.
func (s *Shell) runLocal(ctx context.Context, lc *localCmdlet, b *binding, input []any) ([]any, error) {
	out, err := lc.run(s, ctx, &localCall{args: b.values, input: input})
	if err == nil || isFatal(err) {
		return out, err
	}
	rec := asRecord(err)
	rec.Cmdlet = lc.name
	return out, s.cmdError(rec, b)
}

func (s *Shell) evalArgs(ctx context.Context, args []cmdArg) ([]argValue, error) {
	out := make([]argValue, len(args))
	for i, a := range args {
		out[i] = argValue{param: a.param, colon: a.colon, hasValue: a.value != nil}
		if a.value != nil {
			v, err := s.eval(ctx, a.value)
			if err != nil {
				return nil, err
			}
			out[i].value = v
		}
	}
	return out, nil
}

// cmdlet returns a server cmdlet by name; the list is fetched on first use.
func (s *Shell) cmdlet(ctx context.Context, name string) (*adminapi.CmdletInfo, error) {
	list, err := s.cmdletList(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if strings.EqualFold(list[i].Name, name) {
			return &list[i], nil
		}
	}
	return nil, commandNotFound(name)
}

func commandNotFound(name string) *errorRecord {
	return &errorRecord{apiError: adminapi.Error{
		Message:  fmt.Sprintf("The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", name),
		Category: "ObjectNotFound", Exception: "CommandNotFoundException", ErrorID: "CommandNotFoundException", Target: name,
	}}
}

func (s *Shell) cmdletList(ctx context.Context) ([]adminapi.CmdletInfo, error) {
	if s.cmdlets != nil {
		return s.cmdlets, nil
	}
	list, err := s.backend.Cmdlets(ctx)
	if err != nil {
		return nil, s.transportError(ctx, "", err)
	}
	if list == nil {
		list = []adminapi.CmdletInfo{}
	}
	s.cmdlets = list
	return list, nil
}

// transportError is a failed call to the server: it ends the statement.
func (s *Shell) transportError(ctx context.Context, cmdlet string, err error) error {
	if ctx.Err() != nil {
		return stopped()
	}
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		return &errorRecord{apiError: *ae, Cmdlet: cmdlet}
	}
	return &errorRecord{apiError: adminapi.Error{Message: err.Error(), Category: "ConnectionError", Exception: "PSRemotingTransportException", ErrorID: "JobFailure"}, Cmdlet: cmdlet}
}

// invoke runs a server cmdlet: once, or once per pipeline input object with
// the object's identity bound to the cmdlet's pipeline parameter.
func (s *Shell) invoke(ctx context.Context, info *adminapi.CmdletInfo, b *binding, input []any, hasInput bool) ([]any, error) {
	params, err := convertParams(info, b.values)
	if err != nil {
		return nil, err
	}
	// Each request, with what -WhatIf names as its target.
	type call struct {
		params map[string]any
		target any
	}
	calls := []call{{params, params["Identity"]}}
	if calls[0].target == nil {
		calls[0].target = params["Name"]
	}
	if hasInput {
		calls = nil
		var pp *adminapi.ParamInfo
		for i := range info.Params {
			if info.Params[i].Pipeline {
				pp = &info.Params[i]
				break
			}
		}
		for _, obj := range input {
			if obj == nil {
				continue
			}
			bound := pp == nil
			if pp != nil {
				_, bound = b.values[pp.Name]
			}
			if bound {
				rec := bindingError(info.Name, "InputObjectNotBound", "The input object cannot be bound to any parameters for the command either because the command does not take pipeline input or the input and its properties do not match any of the parameters that take pipeline input.")
				rec.Target = toString(obj)
				if err := s.cmdError(rec, b); err != nil {
					return nil, err
				}
				continue
			}
			v, err := convertValue(info.Name, *pp, stringArg(obj))
			if err != nil {
				return nil, err
			}
			p := make(map[string]any, len(params)+1)
			for k, v := range params {
				p[k] = v
			}
			p[pp.Name] = v
			calls = append(calls, call{p, obj})
		}
	}
	var out []any
	for _, c := range calls {
		if b.common.whatIf {
			target := ""
			if c.target != nil {
				target = fmt.Sprintf(" on target \"%s\"", toString(c.target))
			}
			fmt.Fprintf(s.stdout, "What if: Performing the operation \"%s\"%s.\n", info.Name, target)
			continue
		}
		resp, err := s.backend.Invoke(ctx, adminapi.Request{Cmdlet: info.Name, Params: c.params})
		if err != nil {
			return out, s.transportError(ctx, info.Name, err)
		}
		if b.common.warningAction != "silentlycontinue" && b.common.warningAction != "ignore" {
			for _, w := range resp.Warnings {
				fmt.Fprintf(s.stderr, "WARNING: %s\n", w)
			}
		}
		for _, o := range resp.Objects {
			if o != nil {
				out = append(out, o)
			}
		}
		if resp.Error != nil {
			if err := s.cmdError(&errorRecord{apiError: *resp.Error, Cmdlet: info.Name}, b); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// cmdError handles a non-terminating error of a command according to its
// -ErrorAction (or $ErrorActionPreference): print it, ignore it, or return a
// stopError that ends the script.
func (s *Shell) cmdError(rec *errorRecord, b *binding) error {
	if b.common.errorVar != "" {
		name := strings.TrimPrefix(b.common.errorVar, "+")
		var prev []any
		if strings.HasPrefix(b.common.errorVar, "+") {
			prev = enumerate(s.getVar(name))
		}
		_ = s.setVar(name, append(prev, errorObject(rec)))
	}
	action := b.common.errorAction
	if action == "" {
		action = s.preference()
	}
	switch action {
	case "stop":
		return &stopError{rec: rec}
	case "silentlycontinue", "ignore":
		return nil
	}
	s.writeError(rec)
	return nil
}

// errorObject is an error record as a value ($err from -ErrorVariable).
func errorObject(rec *errorRecord) *adminapi.Object {
	return &adminapi.Object{Type: "ErrorRecord", Props: []adminapi.Prop{
		{Name: "Exception", Value: &adminapi.Object{Type: rec.Exception, Props: []adminapi.Prop{{Name: "Message", Value: rec.Message}}}},
		{Name: "Message", Value: rec.Message},
		{Name: "CategoryInfo", Value: rec.Category},
		{Name: "FullyQualifiedErrorId", Value: rec.ErrorID},
		{Name: "TargetObject", Value: rec.Target},
	}}
}

func (s *Shell) setOutVar(b *binding, out []any) {
	if b.common.outVar == "" {
		return
	}
	_ = s.setVar(strings.TrimPrefix(b.common.outVar, "+"), append([]any{}, out...))
}

func (s *Shell) preference() string {
	return strings.ToLower(toString(s.getVar("ErrorActionPreference")))
}

func (s *Shell) getVar(name string) any {
	switch lname := strings.ToLower(name); lname {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	default:
		return s.vars[lname]
	}
}

func (s *Shell) setVar(name string, v any) error {
	switch lname := strings.ToLower(name); lname {
	case "true", "false", "null":
		return &errorRecord{apiError: adminapi.Error{
			Message:  fmt.Sprintf("Cannot overwrite variable %s because it is read-only or constant.", lname),
			Category: "WriteError", Exception: "SessionStateUnauthorizedAccessException", ErrorID: "VariableNotWritable", Target: lname,
		}}
	default:
		s.vars[lname] = v
		return nil
	}
}

// invokeBlock runs a script block with $_ and $PSItem set to item.
func (s *Shell) invokeBlock(ctx context.Context, sb *scriptBlock, item any) ([]any, error) {
	old, had := s.vars["_"]
	s.vars["_"], s.vars["psitem"] = item, item
	defer func() {
		if had {
			s.vars["_"], s.vars["psitem"] = old, old
		} else {
			delete(s.vars, "_")
			delete(s.vars, "psitem")
		}
	}()
	return s.runBlock(ctx, sb.body)
}

func (s *Shell) eval(ctx context.Context, e expr) (any, error) {
	switch e := e.(type) {
	case *literal:
		return e.val, nil
	case *varRef:
		return s.getVar(e.name), nil
	case *scriptBlock:
		return e, nil
	case *expandString:
		var b strings.Builder
		for _, part := range e.parts {
			v, err := s.eval(ctx, part)
			if err != nil {
				return nil, err
			}
			b.WriteString(toString(v))
		}
		return b.String(), nil
	case *arrayExpr:
		out := make([]any, len(e.elems))
		for i, el := range e.elems {
			v, err := s.eval(ctx, el)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *subExpr:
		out, err := s.runBlock(ctx, e.body)
		if err != nil {
			return nil, err
		}
		if e.array {
			return append([]any{}, out...), nil
		}
		return collapse(out), nil
	case *parenExpr:
		return s.pipelineValue(ctx, e.p)
	case *hashExpr:
		return s.evalHash(ctx, e)
	case *memberExpr:
		v, err := s.eval(ctx, e.target)
		if err != nil {
			return nil, err
		}
		return member(v, e.name), nil
	case *indexExpr:
		v, err := s.eval(ctx, e.target)
		if err != nil {
			return nil, err
		}
		i, err := s.eval(ctx, e.index)
		if err != nil {
			return nil, err
		}
		return index(v, i)
	case *methodCall:
		v, err := s.eval(ctx, e.target)
		if err != nil {
			return nil, err
		}
		args := make([]any, len(e.args))
		for i, a := range e.args {
			if args[i], err = s.eval(ctx, a); err != nil {
				return nil, err
			}
		}
		return callMethod(v, e.name, args)
	case *unaryExpr:
		v, err := s.eval(ctx, e.x)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "!", "-not":
			return !truthy(v), nil
		case "-":
			return arith("-", int64(0), v)
		}
		return arith("+", int64(0), v)
	case *binaryExpr:
		return s.evalBinary(ctx, e)
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func (s *Shell) evalBinary(ctx context.Context, e *binaryExpr) (any, error) {
	l, err := s.eval(ctx, e.x)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "-and", "-or":
		if truthy(l) == (e.op == "-or") {
			return e.op == "-or", nil
		}
		r, err := s.eval(ctx, e.y)
		return truthy(r), err
	}
	r, err := s.eval(ctx, e.y)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "-xor":
		return truthy(l) != truthy(r), nil
	case "+":
		return add(l, r)
	case "-":
		return arith("-", l, r)
	}
	return compareOp(e.op, l, r)
}

func (s *Shell) evalHash(ctx context.Context, e *hashExpr) (any, error) {
	h := newHashtable()
	for i, k := range e.keys {
		kv, err := s.eval(ctx, k)
		if err != nil {
			return nil, err
		}
		key := toString(kv)
		if _, dup := h.get(key); dup {
			return nil, runtimeError("DuplicateKeyInHashLiteral", fmt.Sprintf("Duplicate keys '%s' are not allowed in hash literals.", key))
		}
		v, err := s.pipelineValue(ctx, e.vals[i])
		if err != nil {
			return nil, err
		}
		h.set(key, v)
	}
	return h, nil
}
