package ewsclient

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// Namespaces of EWS SOAP messages.
const (
	NSSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSSOAP12   = "http://www.w3.org/2003/05/soap-envelope"
	NSTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	NSMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
	NSErrors   = "http://schemas.microsoft.com/exchange/services/2006/errors"
)

// Node is one element of a parsed XML document.
type Node struct {
	Space, Local string
	Attrs        []xml.Attr
	Text         string // character data directly inside the element, trimmed
	Children     []*Node
}

// Attr returns the value of an attribute by local name.
func (n *Node) Attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child with a local name (any namespace).
func (n *Node) Child(local string) *Node {
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

// ChildrenNamed returns the children with a local name (any namespace).
func (n *Node) ChildrenNamed(local string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Children {
		if c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// Path follows a chain of local names from n.
func (n *Node) Path(locals ...string) *Node {
	for _, l := range locals {
		n = n.Child(l)
	}
	return n
}

// Find returns the first descendant (or n itself) with a local name, in
// document order.
func (n *Node) Find(local string) *Node {
	if n == nil {
		return nil
	}
	if n.Local == local {
		return n
	}
	for _, c := range n.Children {
		if f := c.Find(local); f != nil {
			return f
		}
	}
	return nil
}

// TextOf returns the trimmed text of a child, or "".
func (n *Node) TextOf(local string) string {
	if c := n.Child(local); c != nil {
		return c.Text
	}
	return ""
}

// ErrNotXML means a body could not be parsed as XML.
var ErrNotXML = errors.New("the response is not XML")

const maxDepth = 256

// ParseXML parses a document into a tree. DTDs are refused; entity
// expansion beyond the XML built-ins does not happen with encoding/xml.
func ParseXML(b []byte) (*Node, error) {
	if bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) {
		return nil, ErrNotXML
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	var stack []*Node
	var root *Node
	var text []strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, ErrNotXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, ErrNotXML
			}
			n := &Node{Space: t.Name.Space, Local: t.Name.Local, Attrs: append([]xml.Attr(nil), t.Attr...)}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root == nil {
				root = n
			} else {
				return nil, ErrNotXML
			}
			stack = append(stack, n)
			text = append(text, strings.Builder{})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, ErrNotXML
			}
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(text[len(text)-1].String())
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, ErrNotXML
	}
	return root, nil
}

// escape returns s escaped for XML text and attribute values.
func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
