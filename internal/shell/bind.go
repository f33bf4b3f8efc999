package shell

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
)

// argValue is one evaluated command element.
type argValue struct {
	param    string // parameter name as written, without the dash; "" for a positional argument
	colon    bool   // -Name:value
	hasValue bool   // colon form with its value
	value    any
}

// binding is the outcome of parameter binding: the cmdlet's own parameters by
// canonical name, with values as evaluated, and the common parameters.
type binding struct {
	values map[string]any
	common commonArgs
}

// commonArgs are the common parameters every cmdlet accepts; they are
// handled by the shell and never sent to the server.
type commonArgs struct {
	errorAction   string // lower-case ActionPreference; "" when not given
	warningAction string
	errorVar      string
	outVar        string
	whatIf        bool
}

var commonParams = []adminapi.ParamInfo{
	{Name: "Verbose", Kind: adminapi.KindSwitch},
	{Name: "Debug", Kind: adminapi.KindSwitch},
	{Name: "ErrorAction", Kind: adminapi.KindString},
	{Name: "WarningAction", Kind: adminapi.KindString},
	{Name: "InformationAction", Kind: adminapi.KindString},
	{Name: "ErrorVariable", Kind: adminapi.KindString},
	{Name: "WarningVariable", Kind: adminapi.KindString},
	{Name: "InformationVariable", Kind: adminapi.KindString},
	{Name: "OutVariable", Kind: adminapi.KindString},
	{Name: "OutBuffer", Kind: adminapi.KindInt},
	{Name: "PipelineVariable", Kind: adminapi.KindString},
	{Name: "WhatIf", Kind: adminapi.KindSwitch},
	{Name: "Confirm", Kind: adminapi.KindSwitch},
}

var commonAliases = map[string]string{
	"ea": "ErrorAction", "wa": "WarningAction", "infa": "InformationAction",
	"ev": "ErrorVariable", "wv": "WarningVariable", "iv": "InformationVariable",
	"ov": "OutVariable", "ob": "OutBuffer", "pv": "PipelineVariable",
	"vb": "Verbose", "db": "Debug", "wi": "WhatIf", "cf": "Confirm",
}

var actionPreferences = []string{"SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend", "Break"}

func isCommon(name string) bool {
	for _, p := range commonParams {
		if strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

// Shell-local parameter kinds, next to adminapi's.
const (
	kindAny       adminapi.ParamKind = "any"       // any value, passed on as evaluated
	kindRemaining adminapi.ParamKind = "remaining" // like kindAny, and also takes every extra positional argument
)

func bindingError(cmdlet, id, msg string) *errorRecord {
	return &errorRecord{apiError: adminapi.Error{Message: msg, Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: id}, Cmdlet: cmdlet}
}

func transformError(cmdlet, msg string) *errorRecord {
	return &errorRecord{apiError: adminapi.Error{Message: msg, Category: "InvalidData", Exception: "ParameterBindingArgumentTransformationException", ErrorID: "ParameterArgumentTransformationError"}, Cmdlet: cmdlet}
}

// resolveParam finds the parameter a name denotes: an exact match wins,
// else a unique prefix (PowerShell's rule). Common parameters shadow
// cmdlet parameters of the same name.
func resolveParam(cmdlet string, params []adminapi.ParamInfo, name string) (adminapi.ParamInfo, *errorRecord) {
	candidates := make([]adminapi.ParamInfo, 0, len(params)+len(commonParams))
	for _, p := range params {
		if !isCommon(p.Name) {
			candidates = append(candidates, p)
		}
	}
	candidates = append(candidates, commonParams...)
	if full, ok := commonAliases[strings.ToLower(name)]; ok {
		name = full
	}
	var matches []adminapi.ParamInfo
	for _, p := range candidates {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		if len(p.Name) > len(name) && strings.EqualFold(p.Name[:len(name)], name) {
			matches = append(matches, p)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return adminapi.ParamInfo{}, bindingError(cmdlet, "NamedParameterNotFound",
			fmt.Sprintf("A parameter cannot be found that matches parameter name '%s'.", name))
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = "-" + m.Name
	}
	return adminapi.ParamInfo{}, bindingError(cmdlet, "AmbiguousParameter",
		fmt.Sprintf("Parameter cannot be processed because the parameter name '%s' is ambiguous. Possible matches include: %s.", name, strings.Join(names, " ")))
}

// bind matches named and positional arguments to parameters. Switches take
// no value unless written -Switch:value; other parameters take the next
// argument. With acceptAny, unknown parameters (and a value following them)
// and surplus positional arguments are ignored.
func bind(cmdlet string, params []adminapi.ParamInfo, args []argValue, acceptAny bool) (*binding, error) {
	b := &binding{values: map[string]any{}}
	seen := map[string]bool{}
	var positional []any
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a.param == "" {
			positional = append(positional, a.value)
			continue
		}
		nextIsValue := i+1 < len(args) && args[i+1].param == ""
		p, err := resolveParam(cmdlet, params, a.param)
		if err != nil {
			if acceptAny && err.ErrorID == "NamedParameterNotFound" {
				if !a.colon && nextIsValue {
					i++
				}
				continue
			}
			return nil, err
		}
		var v any
		switch {
		case a.colon && !a.hasValue:
			return nil, missingArgument(cmdlet, p)
		case a.colon:
			v = a.value
		case p.Kind == adminapi.KindSwitch:
			v = true
		case nextIsValue:
			i++
			v = args[i].value
		default:
			return nil, missingArgument(cmdlet, p)
		}
		if seen[p.Name] {
			return nil, bindingError(cmdlet, "ParameterAlreadyBound", fmt.Sprintf("Cannot bind parameter because parameter '%s' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, \"-parameter value1,value2,value3\".", p.Name))
		}
		seen[p.Name] = true
		if isCommon(p.Name) {
			if err := b.setCommon(cmdlet, p.Name, v); err != nil {
				return nil, err
			}
			continue
		}
		b.values[p.Name] = v
	}
	return b, b.bindPositional(cmdlet, params, positional, acceptAny)
}

func (b *binding) bindPositional(cmdlet string, params []adminapi.ParamInfo, positional []any, acceptAny bool) error {
	var slots []adminapi.ParamInfo
	for _, p := range params {
		if _, bound := b.values[p.Name]; p.Position > 0 && !bound && !isCommon(p.Name) {
			slots = append(slots, p)
		}
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].Position < slots[j].Position })
	for i, v := range positional {
		if len(slots) == 0 {
			if acceptAny {
				return nil
			}
			return bindingError(cmdlet, "PositionalParameterNotFound",
				fmt.Sprintf("A positional parameter cannot be found that accepts argument '%s'.", argText(v)))
		}
		p := slots[0]
		if p.Kind == kindRemaining {
			b.values[p.Name] = positional[i:]
			return nil
		}
		b.values[p.Name] = v
		slots = slots[1:]
	}
	return nil
}

func argText(v any) string {
	if _, ok := v.([]any); ok {
		return "System.Object[]"
	}
	return toString(v)
}

func missingArgument(cmdlet string, p adminapi.ParamInfo) *errorRecord {
	return bindingError(cmdlet, "MissingArgument",
		fmt.Sprintf("Missing an argument for parameter '%s'. Specify a parameter of type '%s' and try again.", p.Name, kindTypeName(p.Kind)))
}

func kindTypeName(k adminapi.ParamKind) string {
	switch k {
	case adminapi.KindStrings:
		return "System.String[]"
	case adminapi.KindBool:
		return "System.Boolean"
	case adminapi.KindInt:
		return "System.Int32"
	case adminapi.KindSecure:
		return "System.Security.SecureString"
	case adminapi.KindSwitch:
		return "System.Management.Automation.SwitchParameter"
	case kindAny, kindRemaining:
		return "System.Object"
	}
	return "System.String"
}

func (b *binding) setCommon(cmdlet, name string, v any) error {
	switch name {
	case "ErrorAction", "WarningAction":
		s := toString(v)
		for i, a := range actionPreferences {
			if f, ok := number(v); (ok && int(f) == i) || strings.EqualFold(a, s) { // -ea 0 is SilentlyContinue
				if name == "ErrorAction" {
					b.common.errorAction = strings.ToLower(a)
				} else {
					b.common.warningAction = strings.ToLower(a)
				}
				return nil
			}
		}
		return bindingError(cmdlet, "CannotConvertArgumentNoMessage", fmt.Sprintf("Cannot bind parameter '%s'. Cannot convert value \"%s\" to type \"System.Management.Automation.ActionPreference\". Specify one of the following enumerator names and try again: %s.", name, s, strings.Join(actionPreferences, ", ")))
	case "ErrorVariable":
		b.common.errorVar = toString(v)
	case "OutVariable":
		b.common.outVar = toString(v)
	case "WhatIf":
		b.common.whatIf = truthy(v)
	}
	return nil
}

// convertParams turns bound values into the JSON values a Request carries,
// by parameter kind.
func convertParams(info *adminapi.CmdletInfo, values map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(values))
	for _, p := range info.Params {
		v, ok := values[p.Name]
		if !ok {
			continue
		}
		c, err := convertValue(info.Name, p, v)
		if err != nil {
			return nil, err
		}
		out[p.Name] = c
	}
	return out, nil
}

func convertValue(cmdlet string, p adminapi.ParamInfo, v any) (any, error) {
	if arr, ok := v.([]any); ok && len(arr) == 1 && p.Kind != adminapi.KindStrings {
		v = arr[0]
	}
	switch p.Kind {
	case adminapi.KindString:
		switch v.(type) {
		case nil:
			return nil, nil
		case []any, *hashtable:
			return nil, bindingError(cmdlet, "CannotConvertArgument", fmt.Sprintf("Cannot convert '%s' to the type 'System.String' required by parameter '%s'. Specified method is not supported.", typeName(v), p.Name))
		}
		return stringArg(v), nil
	case adminapi.KindStrings:
		switch x := v.(type) {
		case nil:
			return nil, nil
		case *hashtable:
			m := make(map[string]any, len(x.keys))
			for _, k := range x.keys {
				val, _ := x.get(k)
				switch strings.ToLower(k) {
				case "add":
					k = "Add"
				case "remove":
					k = "Remove"
				}
				m[k] = stringList(val)
			}
			return m, nil
		}
		return stringList(v), nil
	case adminapi.KindBool, adminapi.KindSwitch:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if strings.EqualFold(x, "true") || strings.EqualFold(x, "$true") {
				return true, nil
			}
			if strings.EqualFold(x, "false") || strings.EqualFold(x, "$false") {
				return false, nil
			}
		}
		if f, ok := number(v); ok {
			return f != 0, nil
		}
		return nil, transformError(cmdlet, fmt.Sprintf("Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.", p.Name, typeName(v)))
	case adminapi.KindInt:
		if v == nil {
			return nil, nil
		}
		if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), "Unlimited") {
			return "Unlimited", nil
		}
		if _, isBool := v.(bool); !isBool {
			if f, ok := toNumber(v); ok && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 && toString(v) != "" {
				return int64(f), nil
			}
		}
		return nil, transformError(cmdlet, fmt.Sprintf("Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\"", p.Name, toString(v)))
	case adminapi.KindSecure:
		switch x := v.(type) {
		case nil:
			return nil, nil
		case *secureString:
			return x.plain, nil
		}
		return nil, transformError(cmdlet, fmt.Sprintf("Cannot process argument transformation on parameter '%s'. Cannot convert the \"%s\" value of type \"%s\" to type \"System.Security.SecureString\".", p.Name, toString(v), typeName(v)))
	}
	return jsonValue(v), nil
}

// stringArg is a value as a string parameter receives it: a server object
// passes its identity, a script block its text.
func stringArg(v any) string {
	if o, ok := v.(*adminapi.Object); ok {
		return o.IdentityValue()
	}
	return toString(v)
}

func stringList(v any) []any {
	items := flatten(v)
	out := make([]any, 0, len(items))
	for _, e := range items {
		out = append(out, stringArg(e))
	}
	return out
}

// jsonValue converts a value of a parameter of unknown kind.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case *hashtable:
		m := make(map[string]any, len(x.keys))
		for _, k := range x.keys {
			val, _ := x.get(k)
			m[k] = jsonValue(val)
		}
		return m
	case *secureString:
		return x.plain
	}
	if f, ok := number(v); ok {
		return numberValue(f)
	}
	return stringArg(v)
}
