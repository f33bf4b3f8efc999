package ews

import (
	"strconv"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// vkind is the type of a property in restrictions and sort orders.
type vkind int

const (
	kString vkind = iota
	kBool
	kTime
	kInt
	kMulti // several strings; a comparison holds if it holds for any
)

// fval is a property value, as a restriction sees it.
type fval struct {
	set bool
	s   string
	ss  []string
	b   bool
	t   time.Time
	n   int64
}

type getter func(uri string) fval

// restriction is a compiled t:Restriction search expression.
type restriction struct {
	op   string
	kids []*restriction
	uri  string
	kind vkind
	// the constant, or another property
	cs       string
	cb       bool
	ct       time.Time
	cn       int64
	otherURI string
	// Contains
	mode, cmp string
}

const maxRestrictionDepth = 64

func compileRestriction(n *node, kindOf func(uri string) (vkind, bool)) (*restriction, *ewsErr) {
	return compileR(n, kindOf, 0)
}

func restrictionPath(n *node) (string, *node) {
	for _, c := range n.Children {
		switch c.Local {
		case "FieldURI":
			return c.attr("FieldURI"), c
		case "ExtendedFieldURI":
			return extKey(c), c
		case "IndexedFieldURI":
			return c.attr("FieldURI") + "#" + c.attr("FieldIndex"), c
		}
	}
	return "", nil
}

func compileR(n *node, kindOf func(string) (vkind, bool), depth int) (*restriction, *ewsErr) {
	if depth > maxRestrictionDepth {
		return nil, newErr("ErrorRestrictionTooComplex", "The restriction is nested too deeply.")
	}
	r := &restriction{op: n.Local}
	switch n.Local {
	case "And", "Or":
		for _, c := range n.Children {
			k, e := compileR(c, kindOf, depth+1)
			if e != nil {
				return nil, e
			}
			r.kids = append(r.kids, k)
		}
		return r, nil
	case "Not":
		if len(n.Children) != 1 {
			return nil, newErr("ErrorInvalidRestriction", "Not takes exactly one search expression.")
		}
		k, e := compileR(n.Children[0], kindOf, depth+1)
		if e != nil {
			return nil, e
		}
		r.kids = []*restriction{k}
		return r, nil
	case "Exists", "IsEqualTo", "IsNotEqualTo", "IsGreaterThan", "IsGreaterThanOrEqualTo", "IsLessThan", "IsLessThanOrEqualTo", "Contains":
	default:
		return nil, newErr("ErrorUnsupportedQueryFilter", "The restriction "+n.Local+" is not supported by this server.")
	}
	uri, _ := restrictionPath(n)
	kind, ok := kindOf(uri)
	if uri == "" || !ok {
		return nil, newErr("ErrorUnsupportedPathForQuery", "The property "+uri+" cannot be used in a restriction on this server.")
	}
	r.uri, r.kind = uri, kind
	if n.Local == "Exists" {
		return r, nil
	}
	var value string
	if n.Local == "Contains" {
		c := n.child("Constant")
		if c == nil {
			return nil, newErr("ErrorInvalidRestriction", "Contains needs a Constant.")
		}
		value = c.attr("Value")
		r.mode = n.attr("ContainmentMode")
		if r.mode == "" {
			r.mode = "Substring"
		}
		r.cmp = n.attr("ContainmentComparison")
		if kind != kString && kind != kMulti {
			return nil, newErr("ErrorInvalidRestriction", "Contains applies to text properties only.")
		}
		r.cs = strings.ToLower(value)
		return r, nil
	}
	oc := n.child("FieldURIOrConstant")
	if oc == nil {
		return nil, newErr("ErrorInvalidRestriction", n.Local+" needs FieldURIOrConstant.")
	}
	if c := oc.child("Constant"); c != nil {
		value = c.attr("Value")
	} else {
		other, _ := restrictionPath(oc)
		ok2 := false
		if other != "" {
			var k2 vkind
			k2, ok2 = kindOf(other)
			ok2 = ok2 && k2 == kind
		}
		if !ok2 {
			return nil, newErr("ErrorUnsupportedPathForQuery", "The comparison property "+other+" is not supported.")
		}
		r.otherURI = other
		return r, nil
	}
	switch kind {
	case kString, kMulti:
		r.cs = strings.ToLower(value)
	case kBool:
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true", "1":
			r.cb = true
		case "false", "0":
		default:
			return nil, newErr("ErrorInvalidValueForProperty", "'"+value+"' is not a boolean.")
		}
	case kTime:
		t, ok := parseTime(value)
		if !ok {
			return nil, newErr("ErrorInvalidValueForProperty", "'"+value+"' is not a date and time.")
		}
		r.ct = t
	case kInt:
		v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, newErr("ErrorInvalidValueForProperty", "'"+value+"' is not an integer.")
		}
		r.cn = v
	}
	return r, nil
}

// parseTime reads xs:dateTime (with or without a zone; none means UTC) or
// xs:date.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (r *restriction) eval(get getter) bool {
	switch r.op {
	case "And":
		for _, k := range r.kids {
			if !k.eval(get) {
				return false
			}
		}
		return true
	case "Or":
		for _, k := range r.kids {
			if k.eval(get) {
				return true
			}
		}
		return false
	case "Not":
		return !r.kids[0].eval(get)
	}
	v := get(r.uri)
	if r.op == "Exists" {
		return v.set
	}
	if r.op == "Contains" {
		if !v.set {
			return false
		}
		if r.kind == kMulti {
			for _, s := range v.ss {
				if contains(strings.ToLower(s), r.cs, r.mode) {
					return true
				}
			}
			return false
		}
		return contains(strings.ToLower(v.s), r.cs, r.mode)
	}
	c := r
	if r.otherURI != "" {
		o := get(r.otherURI)
		if !o.set {
			return false
		}
		c = &restriction{cs: strings.ToLower(o.s), cb: o.b, ct: o.t, cn: o.n}
		if r.kind == kMulti && len(o.ss) > 0 {
			c.cs = strings.ToLower(o.ss[0])
		}
	}
	if !v.set {
		// A missing property equals nothing and differs from everything.
		return r.op == "IsNotEqualTo"
	}
	if r.kind == kMulti {
		any := false
		for _, s := range v.ss {
			if holds(r.op, strings.Compare(strings.ToLower(s), c.cs)) {
				any = true
				break
			}
		}
		if r.op == "IsNotEqualTo" {
			for _, s := range v.ss {
				if strings.ToLower(s) == c.cs {
					return false
				}
			}
			return true
		}
		return any
	}
	var cmp int
	switch r.kind {
	case kString:
		cmp = strings.Compare(strings.ToLower(v.s), c.cs)
	case kBool:
		cmp = boolCmp(v.b, c.cb)
	case kTime:
		cmp = v.t.Compare(c.ct)
	case kInt:
		cmp = intCmp(v.n, c.cn)
	}
	return holds(r.op, cmp)
}

func holds(op string, cmp int) bool {
	switch op {
	case "IsEqualTo":
		return cmp == 0
	case "IsNotEqualTo":
		return cmp != 0
	case "IsGreaterThan":
		return cmp > 0
	case "IsGreaterThanOrEqualTo":
		return cmp >= 0
	case "IsLessThan":
		return cmp < 0
	case "IsLessThanOrEqualTo":
		return cmp <= 0
	}
	return false
}

func contains(s, sub, mode string) bool {
	switch mode {
	case "FullString":
		return s == sub
	case "Prefixed":
		return strings.HasPrefix(s, sub)
	case "PrefixOnWords":
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '-' || r == '.' || r == ',' }) {
			if strings.HasPrefix(w, sub) {
				return true
			}
		}
		return strings.HasPrefix(s, sub)
	case "ExactPhrase":
		return strings.Contains(s, sub)
	}
	return strings.Contains(s, sub)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func intCmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// --- item properties for restrictions and sorting ---

var itemFieldKinds = map[string]vkind{
	"item:Subject": kString, "item:ItemClass": kString, "message:IsRead": kBool, "item:DateTimeReceived": kTime,
	"item:DateTimeCreated": kTime, "item:DateTimeSent": kTime, "item:LastModifiedTime": kTime,
	"message:From": kMulti, "message:Sender": kMulti, "item:Categories": kMulti, "item:HasAttachments": kBool,
	"item:Importance": kString, "item:Sensitivity": kString, "item:Size": kInt, "item:Body": kString,
	"message:InternetMessageId": kString, "item:IsDraft": kBool, "message:ToRecipients": kMulti,
	"message:CcRecipients": kMulti, "message:ConversationTopic": kString, "item:InReplyTo": kString,
	"message:IsReadReceiptRequested": kBool, "item:DisplayTo": kString, "item:DisplayCc": kString,
	"calendar:Start": kTime, "calendar:End": kTime, "calendar:Location": kString, "calendar:IsAllDayEvent": kBool,
	"calendar:LegacyFreeBusyStatus": kString, "calendar:UID": kString,
}

func itemFieldKind(uri string) (vkind, bool) {
	if strings.HasPrefix(uri, "ext:") {
		return kString, true
	}
	k, ok := itemFieldKinds[uri]
	return k, ok
}

func addrStrings(a *mailbox.Address) []string {
	if a == nil {
		return nil
	}
	return []string{a.Email, a.Name}
}

func addrList(as []mailbox.Address) []string {
	out := make([]string, 0, 2*len(as))
	for _, a := range as {
		out = append(out, a.Email, a.Name)
	}
	return out
}

// itemGetter returns the restriction view of an item.
func itemGetter(it *mailbox.Item) getter {
	return func(uri string) fval {
		switch uri {
		case "item:Subject", "message:ConversationTopic":
			return fval{set: true, s: it.Subject}
		case "item:ItemClass":
			return fval{set: true, s: it.Class}
		case "message:IsRead":
			return fval{set: true, b: it.IsRead}
		case "item:IsDraft":
			return fval{set: true, b: it.IsDraft}
		case "item:HasAttachments":
			return fval{set: true, b: it.HasAttachments()}
		case "item:DateTimeReceived":
			return fval{set: !it.DateTimeReceived.IsZero(), t: it.DateTimeReceived}
		case "item:DateTimeCreated":
			return fval{set: !it.DateTimeCreated.IsZero(), t: it.DateTimeCreated}
		case "item:DateTimeSent":
			return fval{set: !it.DateTimeSent.IsZero(), t: it.DateTimeSent}
		case "item:LastModifiedTime":
			return fval{set: !it.LastModified.IsZero(), t: it.LastModified}
		case "message:From":
			return fval{set: it.From != nil, ss: addrStrings(it.From)}
		case "message:Sender":
			return fval{set: it.Sender != nil, ss: addrStrings(it.Sender)}
		case "message:ToRecipients":
			return fval{set: len(it.To) > 0, ss: addrList(it.To)}
		case "message:CcRecipients":
			return fval{set: len(it.Cc) > 0, ss: addrList(it.Cc)}
		case "item:Categories":
			return fval{set: len(it.Categories) > 0, ss: it.Categories}
		case "item:Importance":
			return fval{set: true, s: orDefault(it.Importance, "Normal")}
		case "item:Sensitivity":
			return fval{set: true, s: orDefault(it.Sensitivity, "Normal")}
		case "item:Size":
			return fval{set: true, n: int64(itemSize(it))}
		case "item:Body":
			return fval{set: it.Body != "", s: it.Body}
		case "message:InternetMessageId":
			return fval{set: it.InternetMessageID != "", s: it.InternetMessageID}
		case "item:InReplyTo":
			return fval{set: it.InReplyTo != "", s: it.InReplyTo}
		case "message:IsReadReceiptRequested":
			return fval{set: true, b: it.Extended[readReceiptKey] == "true"}
		case "item:DisplayTo":
			return fval{set: true, s: displayList(it.To)}
		case "item:DisplayCc":
			return fval{set: true, s: displayList(it.Cc)}
		}
		switch uri {
		case "calendar:Start", "calendar:End":
			key := calStart
			if uri == "calendar:End" {
				key = calEnd
			}
			t, ok := calTime(it, key)
			return fval{set: ok, t: t}
		case "calendar:Location":
			v, ok := it.Extended[calLocation]
			return fval{set: ok, s: v}
		case "calendar:UID":
			v, ok := it.Extended[calUID]
			return fval{set: ok, s: v}
		case "calendar:LegacyFreeBusyStatus":
			return fval{set: isAppointment(it), s: orDefault(it.Extended[calFreeBusy], "Busy")}
		case "calendar:IsAllDayEvent":
			return fval{set: isAppointment(it), b: it.Extended[calAllDay] == "true"}
		}
		if strings.HasPrefix(uri, "ext:") {
			v, ok := it.Extended[uri[4:]]
			return fval{set: ok, s: v}
		}
		return fval{}
	}
}

var folderFieldKinds = map[string]vkind{
	"folder:DisplayName": kString, "folder:FolderClass": kString, "folder:TotalCount": kInt,
	"folder:UnreadCount": kInt, "folder:ChildFolderCount": kInt,
}

func folderFieldKind(uri string) (vkind, bool) { k, ok := folderFieldKinds[uri]; return k, ok }

func folderGetter(f *mailbox.Folder) getter {
	return func(uri string) fval {
		switch uri {
		case "folder:DisplayName":
			return fval{set: true, s: f.DisplayName}
		case "folder:FolderClass":
			return fval{set: f.Class != "", s: f.Class}
		case "folder:TotalCount":
			return fval{set: true, n: int64(f.TotalCount)}
		case "folder:UnreadCount":
			return fval{set: true, n: int64(f.UnreadCount)}
		case "folder:ChildFolderCount":
			return fval{set: true, n: int64(f.ChildFolderCount)}
		}
		return fval{}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// --- sorting ---

type sortKey struct {
	uri  string
	kind vkind
	desc bool
}

func parseSortOrder(n *node) ([]sortKey, *ewsErr) {
	var out []sortKey
	for _, fo := range n.all("FieldOrder") {
		uri, _ := restrictionPath(fo)
		k, ok := itemFieldKind(uri)
		if !ok {
			return nil, newErr("ErrorUnsupportedPathForSortGroup", "The property "+uri+" cannot be used for sorting on this server.")
		}
		out = append(out, sortKey{uri: uri, kind: k, desc: fo.attr("Order") == "Descending"})
	}
	return out, nil
}

// lessFunc orders items by the sort keys, then newest received first, then
// by key (a total order, so paging is stable).
func lessFunc(keys []sortKey) func(a, b *mailbox.Item) bool {
	return func(a, b *mailbox.Item) bool {
		if len(keys) > 0 {
			ga, gb := itemGetter(a), itemGetter(b)
			for _, k := range keys {
				va, vb := ga(k.uri), gb(k.uri)
				c := compareVals(k.kind, va, vb)
				if c != 0 {
					if k.desc {
						return c > 0
					}
					return c < 0
				}
			}
		}
		if c := a.DateTimeReceived.Compare(b.DateTimeReceived); c != 0 {
			return c > 0
		}
		return a.Key > b.Key
	}
}

func compareVals(k vkind, a, b fval) int {
	if a.set != b.set {
		if !a.set {
			return -1
		}
		return 1
	}
	switch k {
	case kString:
		return strings.Compare(strings.ToLower(a.s), strings.ToLower(b.s))
	case kMulti:
		var x, y string
		if len(a.ss) > 0 {
			x = strings.ToLower(a.ss[0])
		}
		if len(b.ss) > 0 {
			y = strings.ToLower(b.ss[0])
		}
		return strings.Compare(x, y)
	case kBool:
		return boolCmp(a.b, b.b)
	case kTime:
		return a.t.Compare(b.t)
	case kInt:
		return intCmp(a.n, b.n)
	}
	return 0
}
