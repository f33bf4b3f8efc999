package shell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
)

type formatMode int

const (
	formatDefault formatMode = iota // Out-Default: a table for objects with a View, else a list
	formatTable
	formatList
)

// minColumn is the narrowest a table column is squeezed to fit the width.
const minColumn = 8

func (s *Shell) writeOutput(items []any) {
	io.WriteString(s.stdout, s.render(items, formatDefault, nil))
}

// writeError prints an error record in PowerShell's shape and marks the run
// as failed. Every error the user sees goes through here.
func (s *Shell) writeError(rec *errorRecord) {
	s.failed = true
	io.WriteString(s.stderr, formatError(rec))
}

func formatError(rec *errorRecord) string {
	category, exception, id := rec.Category, rec.Exception, rec.ErrorID
	if category == "" {
		category = "NotSpecified"
	}
	if exception == "" {
		exception = "Exception"
	}
	if id == "" {
		id = exception
	}
	if rec.Cmdlet != "" {
		id += "," + rec.Cmdlet
	}
	return fmt.Sprintf("%s\n    + CategoryInfo          : %s: (%s:) [%s], %s\n    + FullyQualifiedErrorId : %s\n",
		rec.Message, category, rec.Target, rec.Cmdlet, exception, id)
}

// parseErrorRecord shows a syntax error with its position, as PowerShell does.
func parseErrorRecord(err *parseError, src []rune) *errorRecord {
	line, col, start := 1, 1, 0
	for i := 0; i < err.pos && i < len(src); i++ {
		if src[i] == '\n' {
			line, col, start = line+1, 1, i+1
		} else {
			col++
		}
	}
	end := start
	for end < len(src) && src[end] != '\n' && src[end] != '\r' {
		end++
	}
	msg := fmt.Sprintf("At line:%d char:%d\n+ %s\n+ %s~\n%s", line, col, string(src[start:end]), strings.Repeat(" ", col-1), err.msg)
	return &errorRecord{apiError: adminapi.Error{Message: msg, Category: "ParserError", Exception: "ParentContainsErrorRecordException", ErrorID: err.id}}
}

// render formats output as text. Consecutive objects of the same type and
// view share one table; objects without a view are listed.
func (s *Shell) render(items []any, mode formatMode, props []string) string {
	items = displayItems(items, mode)
	var b strings.Builder
	for i := 0; i < len(items); {
		first, ok := items[i].(*adminapi.Object)
		if !ok {
			if r, ok := items[i].(rendered); ok {
				b.WriteString(string(r))
			} else {
				b.WriteString(toString(items[i]))
				b.WriteByte('\n')
			}
			i++
			continue
		}
		table := mode == formatTable || (mode == formatDefault && len(first.View) > 0)
		group := []*adminapi.Object{first}
		for i++; i < len(items); i++ {
			o, ok := items[i].(*adminapi.Object)
			if !ok || (table && (o.Type != first.Type || !slices.Equal(o.View, first.View))) || (!table && mode == formatDefault && len(o.View) > 0) {
				break
			}
			group = append(group, o)
		}
		if table {
			b.WriteString(renderTable(group, tableColumns(first, props), s.width))
		} else {
			b.WriteString(renderList(group, props))
		}
	}
	return b.String()
}

// displayItems unrolls nested arrays, drops $null and turns hashtables into
// what PowerShell shows for them: Name/Value rows, or one record in a list.
func displayItems(items []any, mode formatMode) []any {
	var out []any
	for _, it := range flatten(items) {
		h, ok := it.(*hashtable)
		switch {
		case it == nil:
		case !ok:
			out = append(out, it)
		case mode == formatList:
			o := &adminapi.Object{Type: "System.Collections.Hashtable"}
			for _, k := range h.keys {
				v, _ := h.get(k)
				o.Props = append(o.Props, adminapi.Prop{Name: k, Value: v})
			}
			out = append(out, o)
		default:
			for _, k := range h.keys {
				v, _ := h.get(k)
				out = append(out, &adminapi.Object{Type: "DictionaryEntry", View: []string{"Name", "Value"},
					Props: []adminapi.Prop{{Name: "Name", Value: k}, {Name: "Value", Value: v}}})
			}
		}
	}
	return out
}

func tableColumns(o *adminapi.Object, props []string) []string {
	if len(props) > 0 {
		var cols []string
		for _, p := range props {
			cols = append(cols, matchProps(o, p)...)
		}
		return cols
	}
	if len(o.View) > 0 {
		return o.View
	}
	return propNames(o)
}

// displayValue is a property value as tables and lists show it: arrays as
// {a, b, c}, $null as nothing.
func displayValue(v any) string {
	if arr, ok := v.([]any); ok {
		parts := make([]string, len(arr))
		for i, e := range arr {
			parts[i] = displayValue(e)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return toString(v)
}

func runeLen(s string) int { return len([]rune(s)) }

func truncate(s string, w int) string {
	r := []rune(s)
	switch {
	case len(r) <= w:
		return s
	case w <= 3:
		return string(r[:w])
	}
	return string(r[:w-3]) + "..."
}

func renderTable(objs []*adminapi.Object, cols []string, width int) string {
	widths := make([]int, len(cols))
	right := make([]bool, len(cols)) // numeric columns are right-aligned
	text := make([]bool, len(cols))
	rows := make([][]string, len(objs))
	for i, c := range cols {
		widths[i] = runeLen(c)
	}
	for r, o := range objs {
		rows[r] = make([]string, len(cols))
		for i, c := range cols {
			v, _ := o.Get(c)
			cell := strings.Join(strings.Fields(displayValue(v)), " ")
			if _, isNum := number(v); isNum {
				right[i] = true
			} else if v != nil {
				text[i] = true
			}
			rows[r][i] = cell
			widths[i] = max(widths[i], runeLen(cell))
		}
	}
	for i := range cols {
		right[i] = right[i] && !text[i]
	}
	fitColumns(widths, width)
	dashes := make([]string, len(cols))
	for i, c := range cols {
		dashes[i] = strings.Repeat("-", runeLen(c))
	}
	lines := []string{tableRow(cols, widths, right), tableRow(dashes, widths, right)}
	for _, row := range rows {
		lines = append(lines, tableRow(row, widths, right))
	}
	return "\n" + strings.Join(lines, "\n") + "\n\n"
}

// fitColumns narrows the widest columns until the row fits in limit.
func fitColumns(widths []int, limit int) {
	total := len(widths) - 1
	for _, w := range widths {
		total += w
	}
	for total > limit {
		widest := 0
		for i, w := range widths {
			if w > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= minColumn {
			return
		}
		widths[widest]--
		total--
	}
}

func tableRow(cells []string, widths []int, right []bool) string {
	var b strings.Builder
	for i, c := range cells {
		c = truncate(c, widths[i])
		pad := strings.Repeat(" ", widths[i]-runeLen(c))
		if i > 0 {
			b.WriteByte(' ')
		}
		if right[i] {
			b.WriteString(pad + c)
		} else {
			b.WriteString(c + pad)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func renderList(objs []*adminapi.Object, props []string) string {
	blocks := make([]string, len(objs))
	for i, o := range objs {
		names := propNames(o)
		if len(props) > 0 {
			names = nil
			for _, p := range props {
				for _, n := range matchProps(o, p) {
					if hasMember(o, n) {
						names = append(names, n)
					}
				}
			}
		}
		width := 0
		for _, n := range names {
			width = max(width, runeLen(n))
		}
		var b strings.Builder
		for _, n := range names {
			v, _ := o.Get(n)
			val := strings.ReplaceAll(strings.ReplaceAll(displayValue(v), "\r\n", "\n"), "\n", "\n"+strings.Repeat(" ", width+3))
			b.WriteString(strings.TrimRight(fmt.Sprintf("%-*s : %s", width, n, val), " "))
			b.WriteByte('\n')
		}
		blocks[i] = b.String()
	}
	return "\n" + strings.Join(blocks, "\n") + "\n"
}

// toJSON is ConvertTo-Json: objects keep their property order; objects
// nested deeper than depth are written as their string form.
func toJSON(v any, depth int, compress bool) string {
	var b strings.Builder
	writeJSON(&b, v, 0, depth, compress)
	return b.String()
}

func writeJSON(b *strings.Builder, v any, level, depth int, compress bool) {
	newline := func(l int) {
		if !compress {
			b.WriteString("\n" + strings.Repeat("  ", l))
		}
	}
	var keys []string
	var vals []any
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return
	case bool:
		b.WriteString(strconv.FormatBool(x))
		return
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(level + 1)
			writeJSON(b, e, level+1, depth, compress)
		}
		newline(level)
		b.WriteByte(']')
		return
	case *adminapi.Object:
		for _, p := range x.Props {
			keys, vals = append(keys, p.Name), append(vals, p.Value)
		}
	case *hashtable:
		for _, k := range x.keys {
			val, _ := x.get(k)
			keys, vals = append(keys, k), append(vals, val)
		}
	default:
		if f, ok := number(v); ok {
			b.WriteString(formatNumber(f))
		} else {
			b.WriteString(jsonString(toString(v)))
		}
		return
	}
	if level > depth {
		b.WriteString(jsonString(toString(v)))
		return
	}
	if len(keys) == 0 {
		b.WriteString("{}")
		return
	}
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		newline(level + 1)
		b.WriteString(jsonString(k))
		b.WriteByte(':')
		if !compress {
			b.WriteByte(' ')
		}
		writeJSON(b, vals[i], level+1, depth, compress)
	}
	newline(level)
	b.WriteByte('}')
}

func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}
