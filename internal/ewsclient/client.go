// Package ewsclient is a small Exchange Web Services client for diagnostics:
// it sends SOAP 1.1 requests (RequestServerVersion Exchange2016, optional
// ExchangeImpersonation with any ConnectingSID form, optional
// X-AnchorMailbox) with HTTP Basic credentials, and reports everything an
// analyzer needs about the answer: HTTP status, WWW-Authenticate,
// x-ms-diagnostics, Retry-After, redirects, ServerVersionInfo, SOAP faults
// with their MessageXml values (BackOffMilliseconds, ActasReason, ...), and
// per-item response codes. It also discovers EWS URLs with POX Autodiscover
// (see Discoverer).
//
// The client never follows redirects and never retries: a diagnostic tool
// must see what the server answered.
package ewsclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultVersion is the RequestServerVersion sent: the newest schema value
// Exchange 2016, 2019 and Exchange Online all accept.
const DefaultVersion = "Exchange2016"

// maxResponse bounds how much of a response body is read.
const maxResponse = 16 << 20

// IDType is the form of the ConnectingSID identifier.
type IDType string

// ConnectingSID forms (Exchange 2010+ schema).
const (
	SmtpAddress        IDType = "SmtpAddress"
	PrimarySmtpAddress IDType = "PrimarySmtpAddress"
	PrincipalName      IDType = "PrincipalName"
	SID                IDType = "SID"
)

// IDTypes lists the ConnectingSID forms.
var IDTypes = []IDType{SmtpAddress, PrimarySmtpAddress, PrincipalName, SID}

// ParseIDType returns the IDType named s (case-insensitively).
func ParseIDType(s string) (IDType, bool) {
	for _, t := range IDTypes {
		if strings.EqualFold(string(t), s) {
			return t, true
		}
	}
	return "", false
}

// Impersonation names the mailbox to act as in the ExchangeImpersonation
// header.
type Impersonation struct {
	Type  IDType
	Value string
}

// Options shape one request.
type Options struct {
	// Impersonate adds ExchangeImpersonation/ConnectingSID; nil sends none.
	Impersonate *Impersonation
	// Anchor is the X-AnchorMailbox header; empty sends none.
	Anchor string
	// Anonymous sends no credentials (to learn the authentication schemes).
	Anonymous bool
	// Header adds request headers.
	Header http.Header
}

// Client talks to one EWS endpoint.
type Client struct {
	URL       string
	User      string
	Password  string
	Version   string // RequestServerVersion; default DefaultVersion
	UserAgent string
	// HTTP is the transport; its redirect policy is replaced so that
	// redirects are reported, not followed. Default: a fresh client.
	HTTP *http.Client
	// Observe, when set, sees every response (for throttling headers).
	Observe func(*Response)
}

// ServerVersionInfo is the t:ServerVersionInfo SOAP header.
type ServerVersionInfo struct {
	MajorVersion, MinorVersion, MajorBuildNumber, MinorBuildNumber int
	Version                                                        string
}

func (v *ServerVersionInfo) String() string {
	if v == nil {
		return ""
	}
	s := fmt.Sprintf("%d.%d.%d.%d", v.MajorVersion, v.MinorVersion, v.MajorBuildNumber, v.MinorBuildNumber)
	if v.Version != "" {
		s += " (" + v.Version + ")"
	}
	return s
}

// Value is one t:Value (or other child) of a MessageXml element.
type Value struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Fault is a SOAP fault (header-level EWS error, HTTP 500).
type Fault struct {
	FaultCode    string  // without the namespace prefix
	FaultString  string  //
	ResponseCode string  // detail/e:ResponseCode, else FaultCode
	Message      string  // detail/e:Message, else FaultString
	Values       []Value // detail/MessageXml children
}

// Message is one response message (ResponseClass, ResponseCode, ...).
type Message struct {
	Class        string // Success, Warning, Error
	ResponseCode string
	MessageText  string
	Values       []Value
	Node         *Node // the whole element, for operation payloads
}

// Response is everything the client learned from one exchange.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Elapsed  time.Duration
	TLS      *tls.ConnectionState
	Location string // for 3xx

	// SOAP, when the body parsed as a SOAP envelope.
	SOAP          bool
	ServerVersion *ServerVersionInfo
	Fault         *Fault
	Operation     *Node // the body's first element (e.g. m:GetFolderResponse)
	Messages      []Message
}

// Code is the EWS response code that decides the response: the fault's,
// else the first non-success message's, else "NoError" for a SOAP answer,
// else "".
func (r *Response) Code() string {
	switch {
	case r == nil:
		return ""
	case r.Fault != nil:
		return r.Fault.ResponseCode
	}
	for _, m := range r.Messages {
		if m.Class != "Success" && m.ResponseCode != "" && m.ResponseCode != "NoError" {
			return m.ResponseCode
		}
	}
	if r.SOAP {
		return "NoError"
	}
	return ""
}

// MessageText is the human text for Code.
func (r *Response) MessageText() string {
	if r == nil {
		return ""
	}
	if r.Fault != nil {
		return r.Fault.Message
	}
	for _, m := range r.Messages {
		if m.Class != "Success" && m.ResponseCode != "NoError" {
			return m.MessageText
		}
	}
	return ""
}

// Values are the MessageXml values of the fault or first failing message.
func (r *Response) Values() []Value {
	if r == nil {
		return nil
	}
	if r.Fault != nil {
		return r.Fault.Values
	}
	for _, m := range r.Messages {
		if m.Class != "Success" && m.ResponseCode != "NoError" {
			return m.Values
		}
	}
	return nil
}

// Value returns a MessageXml value by name.
func (r *Response) Value(name string) string {
	for _, v := range r.Values() {
		if strings.EqualFold(v.Name, name) {
			return v.Value
		}
	}
	return ""
}

// OK reports whether the request succeeded: HTTP 200, a SOAP envelope and
// every message successful (or a warning).
func (r *Response) OK() bool {
	if r == nil || r.Status != http.StatusOK || !r.SOAP || r.Fault != nil {
		return false
	}
	for _, m := range r.Messages {
		if m.Class == "Error" {
			return false
		}
	}
	return true
}

// WWWAuthenticate returns every challenge of the WWW-Authenticate headers.
func (r *Response) WWWAuthenticate() []string {
	if r == nil {
		return nil
	}
	return r.Header.Values("WWW-Authenticate")
}

// Diagnostics is the x-ms-diagnostics header (Exchange Online OAuth
// failures), e.g. `2000008;reason="...";error_category="invalid_grant"`.
func (r *Response) Diagnostics() string {
	if r == nil {
		return ""
	}
	return r.Header.Get("X-Ms-Diagnostics")
}

// RetryAfter is the Retry-After header in seconds form (0 when absent or a
// date in the past).
func (r *Response) RetryAfter() time.Duration {
	if r == nil {
		return 0
	}
	return ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
}

// BackOff is the BackOffMilliseconds of an ErrorServerBusy fault or message.
func (r *Response) BackOff() time.Duration {
	v := r.Value("BackOffMilliseconds")
	if v == "" {
		return 0
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// ParseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

func (c *Client) httpClient() *http.Client {
	base := c.HTTP
	if base == nil {
		base = &http.Client{}
	}
	cp := *base
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// Envelope builds a request envelope around an operation element.
func (c *Client) Envelope(opts Options, body string) []byte {
	v := c.Version
	if v == "" {
		v = DefaultVersion
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `" xmlns:t="` + NSTypes + `" xmlns:m="` + NSMessages + `">`)
	b.WriteString(`<soap:Header><t:RequestServerVersion Version="` + escape(v) + `"/>`)
	if imp := opts.Impersonate; imp != nil {
		el := string(imp.Type)
		b.WriteString(`<t:ExchangeImpersonation><t:ConnectingSID><t:` + el + `>` + escape(imp.Value) + `</t:` + el + `></t:ConnectingSID></t:ExchangeImpersonation>`)
	}
	b.WriteString(`</soap:Header><soap:Body>`)
	b.WriteString(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return []byte(b.String())
}

// Call posts one operation (the XML of the element inside soap:Body) and
// parses the answer. A non-nil error means no HTTP answer was received
// (DNS, TCP, TLS, timeout); every HTTP answer is returned as a Response,
// whatever its status.
func (c *Client) Call(ctx context.Context, opts Options, body string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(c.Envelope(opts, body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	ua := c.UserAgent
	if ua == "" {
		ua = "actas-check/1"
	}
	req.Header.Set("User-Agent", ua)
	if opts.Anchor != "" {
		req.Header.Set("X-AnchorMailbox", opts.Anchor)
	}
	for k, vs := range opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if !opts.Anonymous {
		req.SetBasicAuth(c.User, c.Password)
	}
	start := time.Now()
	hr, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer hr.Body.Close()
	resp, err := readResponse(hr)
	if err != nil {
		return nil, err
	}
	resp.Elapsed = time.Since(start)
	if c.Observe != nil {
		c.Observe(resp)
	}
	return resp, nil
}

func readResponse(hr *http.Response) (*Response, error) {
	var src io.Reader = hr.Body
	if strings.EqualFold(hr.Header.Get("Content-Encoding"), "gzip") && !hr.Uncompressed {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	resp := &Response{Status: hr.StatusCode, Header: hr.Header, Body: body, TLS: hr.TLS}
	if hr.StatusCode >= 300 && hr.StatusCode < 400 {
		resp.Location = hr.Header.Get("Location")
		if u, err := hr.Location(); err == nil {
			resp.Location = u.String()
		}
	}
	parseSOAP(resp)
	return resp, nil
}

// parseSOAP fills the SOAP fields when the body is a SOAP envelope.
func parseSOAP(r *Response) {
	root, err := ParseXML(r.Body)
	if err != nil || root.Local != "Envelope" || (root.Space != NSSOAP && root.Space != NSSOAP12) {
		return
	}
	r.SOAP = true
	if h := root.Child("Header"); h != nil {
		if v := h.Child("ServerVersionInfo"); v != nil {
			atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
			r.ServerVersion = &ServerVersionInfo{
				MajorVersion: atoi(v.Attr("MajorVersion")), MinorVersion: atoi(v.Attr("MinorVersion")),
				MajorBuildNumber: atoi(v.Attr("MajorBuildNumber")), MinorBuildNumber: atoi(v.Attr("MinorBuildNumber")),
				Version: v.Attr("Version"),
			}
		}
	}
	body := root.Child("Body")
	if body == nil || len(body.Children) == 0 {
		return
	}
	first := body.Children[0]
	if first.Local == "Fault" {
		r.Fault = parseFault(first)
		return
	}
	r.Operation = first
	msgs := first.Child("ResponseMessages")
	if msgs == nil && first.Attr("ResponseClass") != "" {
		// Flat response (GetRooms, GetDelegate, ...).
		r.Messages = append(r.Messages, parseMessage(first))
		return
	}
	if msgs == nil {
		return
	}
	for _, m := range msgs.Children {
		r.Messages = append(r.Messages, parseMessage(m))
	}
}

func parseMessage(n *Node) Message {
	return Message{Class: n.Attr("ResponseClass"), ResponseCode: n.TextOf("ResponseCode"), MessageText: n.TextOf("MessageText"),
		Values: messageXML(n.Child("MessageXml")), Node: n}
}

func parseFault(f *Node) *Fault {
	out := &Fault{FaultCode: f.TextOf("faultcode"), FaultString: f.TextOf("faultstring")}
	if f.Child("faultcode") == nil { // SOAP 1.2
		out.FaultCode = f.Path("Code", "Value").Text
		out.FaultString = f.Path("Reason", "Text").Text
	}
	if i := strings.LastIndexByte(out.FaultCode, ':'); i >= 0 {
		out.FaultCode = out.FaultCode[i+1:]
	}
	detail := f.Child("detail")
	if detail == nil {
		detail = f.Child("Detail")
	}
	out.ResponseCode = detail.TextOf("ResponseCode")
	if out.ResponseCode == "" {
		out.ResponseCode = detail.TextOf("ErrorCode")
	}
	if out.ResponseCode == "" {
		out.ResponseCode = out.FaultCode
	}
	out.Message = detail.TextOf("Message")
	if out.Message == "" {
		out.Message = out.FaultString
	}
	out.Values = messageXML(detail.Child("MessageXml"))
	return out
}

// messageXML flattens MessageXml: t:Value Name="X" becomes {X, text};
// other children (t:LineNumber, t:Violation, ...) become {local name, text}.
func messageXML(n *Node) []Value {
	if n == nil {
		return nil
	}
	var out []Value
	for _, c := range n.Children {
		if c.Local == "Value" && c.Attr("Name") != "" {
			out = append(out, Value{Name: c.Attr("Name"), Value: c.Text})
		} else {
			out = append(out, Value{Name: c.Local, Value: c.Text})
		}
	}
	return out
}
