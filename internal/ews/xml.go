package ews

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespaces EWS uses.
const (
	nsSOAP   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsTypes  = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMsgs   = "http://schemas.microsoft.com/exchange/services/2006/messages"
	nsErrors = "http://schemas.microsoft.com/exchange/services/2006/errors"
	nsXSI    = "http://www.w3.org/2001/XMLSchema-instance"
)

// node is one element of a parsed request: a small namespace-resolved DOM.
// Requests are small (a few KiB typically), and a tree keeps every
// operation's reading code short and order-independent.
type node struct {
	Space, Local string
	Attrs        []xml.Attr
	Children     []*node
	Text         string // character data directly inside the element
	Line         int
}

// attr returns the value of an unqualified attribute.
func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == nsTypes || a.Name.Space == nsMsgs) {
			return a.Value
		}
	}
	return ""
}

// child returns the first child element with that local name, or nil.
// Children are looked up by local name only: the schema puts request
// wrappers in the messages namespace and types in the types namespace, and
// being lenient about which one a client used costs nothing.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Local == local {
			return c
		}
	}
	return nil
}

// all returns every child element with that local name.
func (n *node) all(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.Children {
		if c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// text returns the trimmed text of a child element ("" if absent).
func (n *node) childText(local string) string {
	c := n.child(local)
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.Text)
}

// path follows a chain of child names.
func (n *node) path(locals ...string) *node {
	for _, l := range locals {
		n = n.child(l)
		if n == nil {
			return nil
		}
	}
	return n
}

// parseError is a request that is not well-formed or breaks a limit.
type parseError struct {
	Code      string // ErrorSchemaValidation or ErrorInvalidRequest
	Msg       string
	Line, Col int
	Violation string
}

func (e *parseError) Error() string { return e.Msg }

// limits bound what a request may contain.
type limits struct {
	maxDepth, maxElements int
}

// parseXML reads a whole document into a tree. It refuses document type
// declarations (and so every entity but the five predefined ones), and
// enforces the depth and element limits while reading, before memory grows.
func parseXML(data []byte, lim limits) (root *node, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", charset)
	}
	var stack []*node
	elements := 0
	fail := func(code, msg string) (*node, error) {
		line, col := d.InputPos()
		return nil, &parseError{Code: code, Msg: msg, Line: line, Col: col, Violation: msg}
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			line, col := d.InputPos()
			msg := err.Error()
			if errors.As(err, &se) {
				msg = se.Msg
				line = se.Line
			}
			return nil, &parseError{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: " + msg, Line: line, Col: col, Violation: msg}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if elements > lim.maxElements {
				return fail("ErrorInvalidRequest", fmt.Sprintf("The request has more than %d elements.", lim.maxElements))
			}
			if len(stack) >= lim.maxDepth {
				return fail("ErrorInvalidRequest", fmt.Sprintf("The request is nested deeper than %d elements.", lim.maxDepth))
			}
			line, _ := d.InputPos()
			n := &node{Space: t.Name.Space, Local: t.Name.Local, Line: line}
			if len(t.Attr) > 0 {
				n.Attrs = make([]xml.Attr, 0, len(t.Attr))
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
						continue
					}
					n.Attrs = append(n.Attrs, a)
				}
			}
			if len(stack) == 0 {
				if root != nil {
					return fail("ErrorSchemaValidation", "The request has more than one root element.")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if p.Text == "" {
					p.Text = string(t)
				} else {
					p.Text += string(t)
				}
			} else if len(bytes.TrimSpace(t)) > 0 {
				return fail("ErrorSchemaValidation", "The request has text outside the root element.")
			}
		case xml.Directive:
			return fail("ErrorSchemaValidation", "Document type declarations are not allowed.")
		case xml.ProcInst, xml.Comment:
		}
	}
	if root == nil {
		return fail("ErrorSchemaValidation", "The request is empty.")
	}
	return root, nil
}

// --- writing ---

// xw writes XML into a buffer. Names are written as given ("t:Subject");
// text and attribute values are escaped, and characters XML 1.0 cannot carry
// are dropped, so a response is always well-formed whatever is stored.
type xw struct {
	b bytes.Buffer
}

func (w *xw) start(name string) {
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

// open starts an element whose attributes follow with attr; close it with
// openEnd (or emptyEnd for an empty element).
func (w *xw) open(name string) {
	w.b.WriteByte('<')
	w.b.WriteString(name)
}

func (w *xw) attr(name, value string) {
	w.b.WriteByte(' ')
	w.b.WriteString(name)
	w.b.WriteString(`="`)
	escape(&w.b, value, true)
	w.b.WriteByte('"')
}

func (w *xw) openEnd()  { w.b.WriteByte('>') }
func (w *xw) emptyEnd() { w.b.WriteString("/>") }

func (w *xw) end(name string) {
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

// elem writes <name>text</name>.
func (w *xw) elem(name, text string) {
	w.start(name)
	escape(&w.b, text, false)
	w.end(name)
}

func (w *xw) elemBool(name string, v bool) {
	if v {
		w.elem(name, "true")
	} else {
		w.elem(name, "false")
	}
}

func (w *xw) elemInt(name string, v int64) {
	w.start(name)
	var buf [24]byte
	w.b.Write(strconv.AppendInt(buf[:0], v, 10))
	w.end(name)
}

func (w *xw) elemTime(name string, t time.Time) {
	w.start(name)
	var buf [40]byte
	w.b.Write(t.UTC().AppendFormat(buf[:0], "2006-01-02T15:04:05Z"))
	w.end(name)
}

func (w *xw) empty(name string) {
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteString("/>")
}

func (w *xw) raw(s string) { w.b.WriteString(s) }

func (w *xw) text(s string) { escape(&w.b, s, false) }

// escape writes s with XML escaping. Invalid UTF-8 becomes U+FFFD and
// characters not allowed in XML 1.0 are dropped.
func escape(b *bytes.Buffer, s string, inAttr bool) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch c {
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '"':
				if inAttr {
					esc = "&quot;"
				}
			case '\t', '\n', '\r':
				if inAttr {
					switch c {
					case '\t':
						esc = "&#x9;"
					case '\n':
						esc = "&#xA;"
					default:
						esc = "&#xD;"
					}
				} else if c == '\r' {
					esc = "&#xD;"
				}
			default:
				if c < 0x20 {
					esc = "\x00" // drop
				}
			}
			if esc != "" {
				b.WriteString(s[last:i])
				if esc != "\x00" {
					b.WriteString(esc)
				}
				last = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b.WriteString(s[last:i])
			if r == utf8.RuneError {
				b.WriteString("\uFFFD")
			}
			last = i + size
		}
		i += size
	}
	b.WriteString(s[last:])
}

// kids returns the child elements (nil-safe).
func (n *node) kids() []*node {
	if n == nil {
		return nil
	}
	return n.Children
}
