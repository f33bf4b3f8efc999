package shell

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
)

// localCmdlet is a cmdlet the shell implements itself.
type localCmdlet struct {
	name      string
	params    []adminapi.ParamInfo
	acceptAny bool // unknown parameters and surplus arguments are ignored
	run       func(s *Shell, ctx context.Context, c *localCall) ([]any, error)
}

// localCall is one invocation: bound values by canonical parameter name, as
// evaluated, and the pipeline input.
type localCall struct {
	args  map[string]any
	input []any
}

func (c *localCall) has(name string) bool { _, ok := c.args[name]; return ok }
func (c *localCall) on(name string) bool  { return truthy(c.args[name]) }

func (c *localCall) int(name string, def int) (int, error) {
	v, ok := c.args[name]
	if !ok {
		return def, nil
	}
	n, err := convertValue("", adminapi.ParamInfo{Name: name, Kind: adminapi.KindInt}, v)
	if err != nil {
		return 0, err
	}
	if i, ok := n.(int64); ok {
		return int(i), nil
	}
	return math.MaxInt32, nil // Unlimited
}

func (c *localCall) names(name string) []string {
	var out []string
	for _, v := range flatten(c.args[name]) {
		out = append(out, toString(v))
	}
	return out
}

func param(name string, kind adminapi.ParamKind, position int) adminapi.ParamInfo {
	return adminapi.ParamInfo{Name: name, Kind: kind, Position: position}
}

func switches(names ...string) []adminapi.ParamInfo {
	out := make([]adminapi.ParamInfo, len(names))
	for i, n := range names {
		out[i] = param(n, adminapi.KindSwitch, 0)
	}
	return out
}

// whereOperators are Where-Object's switches for its simplified syntax
// (Where-Object Prop -eq value), in declaration order.
var whereOperators = []struct{ param, op string }{
	{"EQ", "-eq"}, {"NE", "-ne"}, {"GT", "-gt"}, {"GE", "-ge"}, {"LT", "-lt"}, {"LE", "-le"},
	{"Like", "-like"}, {"NotLike", "-notlike"}, {"Match", "-match"}, {"NotMatch", "-notmatch"},
	{"Contains", "-contains"}, {"NotContains", "-notcontains"}, {"In", "-in"}, {"NotIn", "-notin"},
}

var localCmdlets map[string]*localCmdlet

func init() {
	whereParams := []adminapi.ParamInfo{param("FilterScript", kindAny, 1), param("Property", kindAny, 0), param("Value", kindAny, 2)}
	for _, w := range whereOperators {
		whereParams = append(whereParams, param(w.param, adminapi.KindSwitch, 0))
	}
	list := []*localCmdlet{
		{name: "ConvertTo-SecureString", params: append([]adminapi.ParamInfo{param("String", kindAny, 1)}, switches("AsPlainText", "Force")...), run: convertToSecureString},
		{name: "Format-List", params: []adminapi.ParamInfo{param("Property", kindAny, 1)}, run: formatListCmd},
		{name: "Format-Table", params: append([]adminapi.ParamInfo{param("Property", kindAny, 1)}, switches("AutoSize", "Wrap")...), run: formatTableCmd},
		{name: "Select-Object", params: []adminapi.ParamInfo{param("Property", kindAny, 1), param("ExpandProperty", kindAny, 0), param("First", kindAny, 0), param("Last", kindAny, 0), param("Skip", kindAny, 0)}, run: selectObject},
		{name: "Where-Object", params: whereParams, run: whereObject},
		{name: "ForEach-Object", params: []adminapi.ParamInfo{param("Process", kindAny, 1), param("Begin", kindAny, 0), param("End", kindAny, 0)}, run: forEachObject},
		{name: "ConvertTo-Json", params: append([]adminapi.ParamInfo{param("InputObject", kindAny, 1), param("Depth", kindAny, 0)}, switches("Compress")...), run: convertToJSON},
		{name: "Sort-Object", params: append([]adminapi.ParamInfo{param("Property", kindAny, 1)}, switches("Descending")...), run: sortObject},
		{name: "Measure-Object", run: measureObject},
		{name: "Write-Host", params: append([]adminapi.ParamInfo{param("Object", kindRemaining, 1), param("Separator", kindAny, 0), param("ForegroundColor", kindAny, 0), param("BackgroundColor", kindAny, 0)}, switches("NoNewline")...), run: writeHost},
		{name: "Write-Output", params: append([]adminapi.ParamInfo{param("InputObject", kindRemaining, 1)}, switches("NoEnumerate")...), run: writeOutput},
		{name: "Out-Null", params: []adminapi.ParamInfo{param("InputObject", kindAny, 1)}, run: noop},
		{name: "Get-Command", params: []adminapi.ParamInfo{param("Name", kindAny, 1), param("Verb", kindAny, 0), param("Noun", kindAny, 0)}, run: getCommand},
	}
	// Session plumbing that vendor guides include: the shell is already
	// connected and authenticated, so these do nothing.
	for _, name := range []string{
		"Import-Module", "Connect-ExchangeOnline", "Disconnect-ExchangeOnline",
		"Install-Module", "Set-ExecutionPolicy", "Add-PSSnapin",
		"New-PSSession", "Import-PSSession", "Remove-PSSession", "Get-Credential",
	} {
		list = append(list, &localCmdlet{name: name, acceptAny: true, run: noop})
	}
	localCmdlets = make(map[string]*localCmdlet, len(list))
	for _, lc := range list {
		localCmdlets[strings.ToLower(lc.name)] = lc
	}
}

func noop(*Shell, context.Context, *localCall) ([]any, error) { return nil, nil }

func nonNil(items []any) []any {
	out := make([]any, 0, len(items))
	for _, v := range items {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

func convertToSecureString(_ *Shell, _ context.Context, c *localCall) ([]any, error) {
	values := c.input
	if c.has("String") {
		values = []any{c.args["String"]}
	}
	if len(values) == 0 {
		return nil, bindingError("", "MissingMandatoryParameter", "Cannot process command because of one or more missing mandatory parameters: String.")
	}
	if !c.on("AsPlainText") {
		return nil, runtimeError("ImportSecureString", "This shell converts only plain text to a SecureString: use ConvertTo-SecureString -String <text> -AsPlainText -Force.")
	}
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = &secureString{plain: toString(v)}
	}
	return out, nil
}

func formatListCmd(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	return s.formatCmd(ctx, c, formatList)
}

func formatTableCmd(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	return s.formatCmd(ctx, c, formatTable)
}

// formatCmd is Format-List and Format-Table. Calculated properties are
// evaluated first, as Select-Object does.
func (s *Shell) formatCmd(ctx context.Context, c *localCall, mode formatMode) ([]any, error) {
	items, props := c.input, c.names("Property")
	specs := flatten(c.args["Property"])
	for _, spec := range specs {
		if _, ok := spec.(*hashtable); ok {
			var err error
			if items, err = s.selectProperties(ctx, nonNil(items), specs); err != nil {
				return nil, err
			}
			props = nil
			break
		}
	}
	text := s.render(items, mode, props)
	if text == "" {
		return nil, nil
	}
	return []any{rendered(text)}, nil
}

func selectObject(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	items := nonNil(c.input)
	skip, err := c.int("Skip", 0)
	if err != nil {
		return nil, err
	}
	items = items[min(max(skip, 0), len(items)):]
	if c.has("First") {
		n, err := c.int("First", 0)
		if err != nil {
			return nil, err
		}
		items = items[:min(max(n, 0), len(items))]
	}
	if c.has("Last") {
		n, err := c.int("Last", 0)
		if err != nil {
			return nil, err
		}
		items = items[len(items)-min(max(n, 0), len(items)):]
	}
	if c.has("ExpandProperty") {
		name := toString(c.args["ExpandProperty"])
		var out []any
		var missing error
		for _, it := range items {
			if !hasMember(it, name) {
				missing = &errorRecord{apiError: adminapi.Error{Message: fmt.Sprintf("Property \"%s\" cannot be found.", name), Category: "InvalidArgument", Exception: "PSArgumentException", ErrorID: "ExpandPropertyNotFound", Target: toString(it)}}
				continue
			}
			out = append(out, enumerate(member(it, name))...)
		}
		return out, missing
	}
	if !c.has("Property") {
		return items, nil
	}
	return s.selectProperties(ctx, items, flatten(c.args["Property"]))
}

// selectProperties projects items onto property specs: names, wildcard
// patterns and calculated properties @{Name=…; Expression={…}}.
func (s *Shell) selectProperties(ctx context.Context, items, specs []any) ([]any, error) {
	out := make([]any, 0, len(items))
	for _, it := range items {
		obj := &adminapi.Object{Type: "Selected." + typeName(it)}
		for _, spec := range specs {
			if h, ok := spec.(*hashtable); ok {
				name, v, err := s.calculated(ctx, h, it)
				if err != nil {
					return out, err
				}
				obj.Props = append(obj.Props, adminapi.Prop{Name: name, Value: v})
				continue
			}
			for _, name := range matchProps(it, toString(spec)) {
				obj.Props = append(obj.Props, adminapi.Prop{Name: name, Value: member(it, name)})
			}
		}
		if len(obj.Props) <= 4 { // PowerShell shows up to four properties as a table
			for _, p := range obj.Props {
				obj.View = append(obj.View, p.Name)
			}
		}
		out = append(out, obj)
	}
	return out, nil
}

// propNames lists the property names of an object or the keys of a hashtable.
func propNames(v any) []string {
	switch x := v.(type) {
	case *adminapi.Object:
		names := make([]string, len(x.Props))
		for i, p := range x.Props {
			names[i] = p.Name
		}
		return names
	case *hashtable:
		return append([]string{}, x.keys...)
	}
	return nil
}

// matchProps expands a property name or wildcard pattern against v's
// properties, returning their real names. A plain name that v lacks is
// returned as written (its value is $null).
func matchProps(v any, pattern string) []string {
	if !hasWildcard(pattern) {
		for _, n := range propNames(v) {
			if strings.EqualFold(n, pattern) {
				return []string{n}
			}
		}
		return []string{pattern}
	}
	re := wildcard(pattern)
	var out []string
	for _, n := range propNames(v) {
		if re.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}

// calculated evaluates a calculated property @{Name=…; Expression=…}.
func (s *Shell) calculated(ctx context.Context, h *hashtable, item any) (string, any, error) {
	var name string
	for _, k := range []string{"Name", "N", "Label", "L"} {
		if v, ok := h.get(k); ok {
			name = toString(v)
			break
		}
	}
	var expr any
	for _, k := range []string{"Expression", "E"} {
		if v, ok := h.get(k); ok {
			expr = v
			break
		}
	}
	switch e := expr.(type) {
	case *scriptBlock:
		out, err := s.invokeBlock(ctx, e, item)
		if name == "" {
			name = e.text
		}
		return name, collapse(out), err
	case nil:
		return "", nil, runtimeError("ExpressionMissing", "A calculated property needs an Expression key, e.g. @{Name='X'; Expression={$_.Y}}.")
	}
	if name == "" {
		name = toString(expr)
	}
	return name, member(item, toString(expr)), nil
}

func whereObject(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	items := nonNil(c.input)
	var out []any
	if sb, ok := c.args["FilterScript"].(*scriptBlock); ok {
		for _, it := range items {
			res, err := s.invokeBlock(ctx, sb, it)
			if err != nil {
				return out, err
			}
			if truthy(collapse(res)) {
				out = append(out, it)
			}
		}
		return out, nil
	}
	prop := c.args["Property"]
	if !c.has("Property") {
		prop = c.args["FilterScript"]
	}
	if prop == nil {
		return nil, bindingError("", "MissingFilter", "Where-Object needs a script block ({ $_.Name -eq 'x' }) or a property name (Name -eq 'x').")
	}
	op := ""
	for _, w := range whereOperators {
		if c.on(w.param) {
			op = w.op
		}
	}
	for _, it := range items {
		v := member(it, toString(prop))
		keep := truthy(v)
		if op != "" {
			r, err := compareOp(op, v, c.args["Value"])
			if err != nil {
				return out, err
			}
			keep = truthy(r)
		}
		if keep {
			out = append(out, it)
		}
	}
	return out, nil
}

func forEachObject(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	var out []any
	runBlock := func(v, item any) error {
		sb, ok := v.(*scriptBlock)
		if !ok {
			return nil
		}
		res, err := s.invokeBlock(ctx, sb, item)
		out = append(out, res...)
		return err
	}
	if err := runBlock(c.args["Begin"], nil); err != nil {
		return out, err
	}
	for _, it := range nonNil(c.input) {
		switch p := c.args["Process"].(type) {
		case nil:
		case *scriptBlock:
			if err := runBlock(p, it); err != nil {
				return out, err
			}
		default: // ForEach-Object Name: the member's value
			out = append(out, enumerate(member(it, toString(p)))...)
		}
	}
	return out, runBlock(c.args["End"], nil)
}

func convertToJSON(_ *Shell, _ context.Context, c *localCall) ([]any, error) {
	var v any
	switch {
	case c.has("InputObject"):
		v = c.args["InputObject"]
	case len(c.input) == 0:
		return nil, nil
	default:
		v = collapse(c.input)
	}
	depth, err := c.int("Depth", 2)
	if err != nil {
		return nil, err
	}
	return []any{toJSON(v, depth, c.on("Compress"))}, nil
}

func sortObject(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	items := nonNil(c.input)
	specs := flatten(c.args["Property"])
	keys := make([][]any, len(items))
	for i, it := range items {
		if len(specs) == 0 {
			keys[i] = []any{it}
			continue
		}
		for _, spec := range specs {
			var v any
			if h, ok := spec.(*hashtable); ok {
				var err error
				if _, v, err = s.calculated(ctx, h, it); err != nil {
					return nil, err
				}
			} else {
				v = member(it, toString(spec))
			}
			keys[i] = append(keys[i], v)
		}
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	desc := c.on("Descending")
	sort.SliceStable(order, func(a, b int) bool {
		for k := range keys[order[a]] {
			if cmp := sortCompare(keys[order[a]][k], keys[order[b]][k]); cmp != 0 {
				return (cmp < 0) != desc
			}
		}
		return false
	})
	out := make([]any, len(items))
	for i, o := range order {
		out[i] = items[o]
	}
	return out, nil
}

// sortCompare orders values for Sort-Object: $null first, numbers
// numerically, everything else as case-insensitive text.
func sortCompare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	fa, okA := number(a)
	fb, okB := number(b)
	if okA && okB {
		return cmpFloat(fa, fb)
	}
	return strings.Compare(strings.ToLower(toString(a)), strings.ToLower(toString(b)))
}

func measureObject(_ *Shell, _ context.Context, c *localCall) ([]any, error) {
	return []any{&adminapi.Object{Type: "GenericMeasureInfo", Props: []adminapi.Prop{
		{Name: "Count", Value: int64(len(nonNil(c.input)))},
		{Name: "Average"}, {Name: "Sum"}, {Name: "Maximum"}, {Name: "Minimum"}, {Name: "Property"},
	}}}, nil
}

func writeHost(s *Shell, _ context.Context, c *localCall) ([]any, error) {
	objs := c.input
	if c.has("Object") {
		objs = []any{c.args["Object"]}
	}
	sep := " "
	if c.has("Separator") {
		sep = toString(c.args["Separator"])
	}
	var parts []string
	for _, v := range flatten(objs) {
		parts = append(parts, toString(v))
	}
	fmt.Fprint(s.stdout, strings.Join(parts, sep))
	if !c.on("NoNewline") {
		fmt.Fprintln(s.stdout)
	}
	return nil, nil
}

func writeOutput(_ *Shell, _ context.Context, c *localCall) ([]any, error) {
	if !c.has("InputObject") {
		return c.input, nil
	}
	v := c.args["InputObject"]
	if c.on("NoEnumerate") {
		return []any{collapse(enumerate(v))}, nil
	}
	var out []any
	for _, e := range enumerate(v) {
		out = append(out, enumerate(e)...)
	}
	return out, nil
}

func getCommand(s *Shell, ctx context.Context, c *localCall) ([]any, error) {
	list, err := s.cmdletList(ctx)
	if err != nil {
		return nil, err
	}
	type entry struct{ name, source string }
	var all []entry
	for _, ci := range list {
		all = append(all, entry{ci.Name, "Actas"})
	}
	for _, lc := range localCmdlets {
		all = append(all, entry{lc.name, "Shell"})
	}
	sort.Slice(all, func(i, j int) bool { return strings.ToLower(all[i].name) < strings.ToLower(all[j].name) })
	patterns := c.names("Name")
	matches := func(pats []string, s string) bool {
		if len(pats) == 0 {
			return true
		}
		for _, p := range pats {
			if wildcard(p).MatchString(s) {
				return true
			}
		}
		return false
	}
	var out []any
	for _, e := range all {
		verb, noun, _ := strings.Cut(e.name, "-")
		if !matches(patterns, e.name) || !matches(c.names("Verb"), verb) || !matches(c.names("Noun"), noun) {
			continue
		}
		out = append(out, &adminapi.Object{Type: "CommandInfo", View: []string{"CommandType", "Name", "Source"}, Props: []adminapi.Prop{
			{Name: "CommandType", Value: "Cmdlet"}, {Name: "Name", Value: e.name}, {Name: "Source", Value: e.source},
		}})
	}
	if len(out) == 0 {
		for _, p := range patterns {
			if !hasWildcard(p) {
				return nil, commandNotFound(p)
			}
		}
	}
	return out, nil
}
