package mailbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// MIME is built and parsed with github.com/emersion/go-message (RFC 5322
// headers, RFC 2047 encoded words, multipart, transfer encodings). Only
// UTF-8, US-ASCII and ISO-8859-1 bodies are decoded; other charsets are
// kept as bytes (made valid UTF-8), since go-message's charset tables would
// be a global, process-wide setting.

// BuildMIME returns the RFC 5322 form of an item built from its fields
// (not it.MIME; see MIMEContent): From, Sender (when it differs from From),
// Reply-To, To, Cc, Subject, Date (DateTimeSent, else DateTimeCreated, else
// now), Message-ID (InternetMessageID, else one derived from the item's
// mailbox and key, or random when the item has no key), In-Reply-To, References, Importance and Sensitivity
// when not Normal, MIME-Version, and a text/plain or text/html (BodyType
// "HTML") UTF-8 quoted-printable body; with attachments the message is
// multipart/mixed with each attachment base64-encoded. Bcc is never
// written. Non-ASCII header text is RFC 2047-encoded.
func BuildMIME(it *Item) []byte {
	var h mail.Header
	// go-message writes fields in reverse order of addition. Raw fields keep
	// their conventional spelling (Set would write Mime-Version).
	h.AddRaw([]byte("MIME-Version: 1.0\r\n"))
	if s := mimeSensitivity(it.Sensitivity); s != "" {
		h.Set("Sensitivity", s)
	}
	if strings.EqualFold(it.Importance, "High") || strings.EqualFold(it.Importance, "Low") {
		h.Set("Importance", strings.ToLower(it.Importance))
	}
	if v := oneLine(it.References); v != "" {
		h.Set("References", v)
	}
	if v := oneLine(it.InReplyTo); v != "" {
		h.Set("In-Reply-To", v)
	}
	h.AddRaw([]byte("Message-ID: " + messageID(it) + "\r\n"))
	date := it.DateTimeSent
	if date.IsZero() {
		date = it.DateTimeCreated
	}
	if date.IsZero() {
		date = time.Now()
	}
	h.SetDate(date)
	if strings.Contains(it.Subject, "=?") {
		// Text that looks like an encoded word must be encoded itself, or
		// readers would decode it.
		h.Set("Subject", forceEncode(it.Subject))
	} else {
		h.SetSubject(it.Subject)
	}
	setAddrs(&h, "Cc", it.Cc)
	setAddrs(&h, "To", it.To)
	setAddrs(&h, "Reply-To", it.ReplyTo)
	if it.Sender != nil && (it.From == nil || !strings.EqualFold(it.Sender.Email, it.From.Email)) {
		setAddrs(&h, "Sender", []Address{*it.Sender})
	}
	if it.From != nil {
		setAddrs(&h, "From", []Address{*it.From})
	}

	bodyType := "text/plain"
	if strings.EqualFold(it.BodyType, "HTML") {
		bodyType = "text/html"
	}
	var body message.Header
	if len(it.Attachments) == 0 {
		body = h.Header
	}
	body.SetContentType(bodyType, map[string]string{"charset": "utf-8"})
	body.Set("Content-Transfer-Encoding", "quoted-printable")

	// Writes to a bytes.Buffer cannot fail, and go-message fails only on
	// charsets other than UTF-8 and on header values oneLine and mailAddrs
	// keep out; on an error the result is what was written.
	var buf bytes.Buffer
	if len(it.Attachments) == 0 {
		if w, err := message.CreateWriter(&buf, body); err == nil {
			io.WriteString(w, it.Body)
			w.Close()
		}
		return buf.Bytes()
	}
	h.SetContentType("multipart/mixed", nil)
	mw, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return buf.Bytes()
	}
	if w, err := mw.CreatePart(body); err == nil {
		io.WriteString(w, it.Body)
		w.Close()
	}
	for _, a := range it.Attachments {
		var ah message.Header
		mt, _, err := mime.ParseMediaType(a.ContentType)
		if err != nil || !strings.Contains(mt, "/") {
			mt = "application/octet-stream"
		}
		params, dparams := map[string]string{}, map[string]string{}
		if name := oneLine(a.Name); name != "" {
			params["name"], dparams["filename"] = name, name
		}
		ah.SetContentType(mt, params)
		disp := "attachment"
		if a.IsInline {
			disp = "inline"
		}
		ah.SetContentDisposition(disp, dparams)
		ah.Set("Content-Transfer-Encoding", "base64")
		if cid := strings.Trim(oneLine(a.ContentID), "<>"); cid != "" {
			ah.Set("Content-Id", "<"+cid+">")
		}
		if w, err := mw.CreatePart(ah); err == nil {
			w.Write(a.Content)
			w.Close()
		}
	}
	mw.Close()
	return buf.Bytes()
}

// forceEncode returns s as RFC 2047 "B" encoded words of at most 45 bytes
// of UTF-8 each (whole runes), separated by spaces.
func forceEncode(s string) string {
	var words []string
	for len(s) > 0 {
		n := min(45, len(s))
		for n < len(s) && n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		if n == 0 {
			n = min(45, len(s))
		}
		words = append(words, "=?utf-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// oneLine removes line breaks (no header injection).
func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(s))
}

// setAddrs writes an address list header, keeping the addresses whose
// Email is a valid addr-spec. Display names that are not plain printable
// ASCII are "B"-encoded (net/mail's "Q" encoding leaves characters such as
// '\\' that are not allowed in a phrase).
func setAddrs(h *mail.Header, key string, as []Address) {
	var out []string
	for _, a := range as {
		p, err := netmail.ParseAddress("<" + a.Email + ">")
		if err != nil || p.Address != a.Email {
			continue
		}
		name := strings.Join(strings.Fields(a.Name), " ")
		switch {
		case name == "":
			out = append(out, p.String())
		case isPlainASCII(name) && !strings.Contains(name, "=?"):
			out = append(out, (&netmail.Address{Name: name, Address: a.Email}).String())
		default:
			out = append(out, forceEncode(name)+" "+p.String())
		}
	}
	if len(out) == 0 {
		h.Del(key)
		return
	}
	h.Set(key, strings.Join(out, ", "))
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// messageID returns the item's Message-ID with angle brackets, derived from
// its mailbox and key when it has none (random for an unstored item).
func messageID(it *Item) string {
	if id := oneLine(it.InternetMessageID); id != "" && len(id) < 900 {
		if !strings.HasPrefix(id, "<") {
			id = "<" + strings.TrimSuffix(id, ">") + ">"
		}
		return id
	}
	if it.Key == 0 || it.Mailbox == "" {
		return NewMessageID(it.From) // not stored: nothing stable to derive from
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", it.Mailbox, it.Key))
	return "<" + hex.EncodeToString(sum[:12]) + "@" + idDomain(it) + ">"
}

// NewMessageID returns a fresh Message-ID (with angle brackets) in the
// domain of from's address, or actas.invalid.
func NewMessageID(from *Address) string {
	var b [12]byte
	if _, err := randRead(b[:]); err != nil {
		sum := sha256.Sum256(fmt.Appendf(nil, "%v", time.Now().UnixNano()))
		copy(b[:], sum[:])
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + idDomain(&Item{From: from}) + ">"
}

// idDomain is the domain of the item's From address when it is a plain
// host name, else actas.invalid.
func idDomain(it *Item) string {
	if it.From != nil {
		if i := strings.LastIndexByte(it.From.Email, '@'); i >= 0 {
			d := it.From.Email[i+1:]
			ok := d != "" && len(d) <= 253
			for _, r := range d {
				if !(r == '.' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
					ok = false
				}
			}
			if ok {
				return d
			}
		}
	}
	return "actas.invalid"
}

func mimeSensitivity(s string) string {
	switch strings.ToLower(s) {
	case "personal":
		return "Personal"
	case "private":
		return "Private"
	case "confidential":
		return "Company-Confidential"
	}
	return ""
}

var randRead = rand.Read

// maxMIMEParts bounds how many parts ParseMIME reads.
const maxMIMEParts = 10000

// ParseMIME reads an RFC 5322 message into an item (Class IPM.Note) whose
// MIME is a copy of b: header fields into Subject, From, Sender, To, Cc,
// Bcc, ReplyTo, DateTimeSent, InternetMessageID (with angle brackets),
// InReplyTo, References, Importance and Sensitivity; the first text/html
// part (else the first text/plain part) that is not an attachment is the
// body; every other part is an attachment, except the other alternatives
// of a multipart/alternative body. Malformed input (an empty or headerless
// message, bad header syntax, bad addresses, broken multipart structure)
// gives an error; it never panics. A Date that does not parse is ignored.
func ParseMIME(b []byte) (it *Item, err error) {
	defer func() {
		// go-message is not ours; a panic on hostile input must not take
		// down the server.
		if r := recover(); r != nil {
			it, err = nil, fmt.Errorf("mailbox: parse MIME: malformed message (%v)", r)
		}
	}()
	it, err = parseMIME(b)
	if err != nil {
		return nil, fmt.Errorf("mailbox: parse MIME: %w", err)
	}
	return it, nil
}

func parseMIME(b []byte) (*Item, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("empty message")
	}
	e, err := message.Read(bytes.NewReader(b))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, err
	}
	if e.Header.Len() == 0 {
		return nil, errors.New("no header")
	}
	h := mail.Header{Header: e.Header}
	it := &Item{Class: "IPM.Note", BodyType: "Text", Importance: "Normal", Sensitivity: "Normal", MIME: bytes.Clone(b)}
	if it.Subject, err = h.Subject(); err != nil && !message.IsUnknownCharset(err) {
		return nil, fmt.Errorf("subject: %w", err)
	}
	it.Subject = strings.ToValidUTF8(it.Subject, "\uFFFD")
	addrs := func(key string) ([]Address, error) {
		v := h.Get(key)
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		l, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out := make([]Address, 0, len(l))
		for _, a := range l {
			out = append(out, Address{Name: strings.ToValidUTF8(a.Name, "\uFFFD"), Email: a.Address, RoutingType: "SMTP", MailboxType: "OneOff"})
		}
		return out, nil
	}
	one := func(key string) (*Address, error) {
		l, err := addrs(key)
		if err != nil || len(l) == 0 {
			return nil, err
		}
		return &l[0], nil
	}
	if it.From, err = one("From"); err != nil {
		return nil, err
	}
	if it.Sender, err = one("Sender"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst *[]Address
	}{{"To", &it.To}, {"Cc", &it.Cc}, {"Bcc", &it.Bcc}, {"Reply-To", &it.ReplyTo}} {
		if *f.dst, err = addrs(f.key); err != nil {
			return nil, err
		}
	}
	if v := h.Get("Date"); v != "" {
		if d, err := netmail.ParseDate(v); err == nil {
			it.DateTimeSent = normTime(d)
		} // a Date that does not parse (common in the wild) is ignored
	}
	it.InternetMessageID = oneLine(h.Get("Message-Id"))
	it.InReplyTo = oneLine(h.Get("In-Reply-To"))
	it.References = oneLine(h.Get("References"))
	it.Importance = parseImportance(h.Get("Importance"), h.Get("X-Priority"))
	switch strings.ToLower(strings.TrimSpace(h.Get("Sensitivity"))) {
	case "personal":
		it.Sensitivity = "Personal"
	case "private":
		it.Sensitivity = "Private"
	case "company-confidential":
		it.Sensitivity = "Confidential"
	}
	if err := parseParts(e, it); err != nil {
		return nil, err
	}
	return it, nil
}

func parseImportance(imp, prio string) string {
	switch strings.ToLower(strings.TrimSpace(imp)) {
	case "high":
		return "High"
	case "low":
		return "Low"
	case "normal":
		return "Normal"
	}
	if p := strings.TrimSpace(prio); p != "" {
		switch p[0] {
		case '1', '2':
			return "High"
		case '4', '5':
			return "Low"
		}
	}
	return "Normal"
}

// mimePart is one leaf of the message with what ParseMIME needs to decide
// what it is.
type mimePart struct {
	header      message.Header
	mediaType   string
	params      map[string]string
	disposition string
	filename    string
	alternative int // which multipart/alternative it belongs to (0: none)
	content     []byte
}

// parseParts walks the entity tree iteratively (no recursion on hostile
// nesting), collects the leaves, and picks the body.
func parseParts(root *message.Entity, it *Item) error {
	type frame struct {
		mr  message.MultipartReader
		alt int
	}
	var parts []*mimePart
	alts := 0
	leaf := func(e *message.Entity, alt int) error {
		if len(parts) >= maxMIMEParts {
			return errors.New("too many parts")
		}
		p := &mimePart{header: e.Header, alternative: alt}
		p.mediaType, p.params, _ = e.Header.ContentType()
		if p.mediaType == "" {
			p.mediaType = "text/plain"
		}
		p.disposition, _, _ = e.Header.ContentDisposition()
		p.disposition = strings.ToLower(p.disposition)
		ah := mail.AttachmentHeader{Header: e.Header}
		p.filename, _ = ah.Filename()
		body, err := io.ReadAll(e.Body)
		if err != nil {
			return fmt.Errorf("part %d: %w", len(parts)+1, err)
		}
		p.content = body
		parts = append(parts, p)
		return nil
	}
	var stack []frame
	push := func(e *message.Entity) error {
		mr := e.MultipartReader()
		if mr == nil {
			return leaf(e, 0)
		}
		if len(stack) >= 100 {
			return errors.New("multipart nested too deeply")
		}
		alt := 0
		if t, _, _ := e.Header.ContentType(); t == "multipart/alternative" {
			alts++
			alt = alts
		}
		stack = append(stack, frame{mr, alt})
		return nil
	}
	if err := push(root); err != nil {
		return err
	}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		p, err := top.mr.NextPart()
		if err == io.EOF {
			stack = stack[:len(stack)-1]
			continue
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return fmt.Errorf("multipart: %w", err)
		}
		if p == nil {
			return errors.New("multipart: no part")
		}
		if p.MultipartReader() != nil {
			if err := push(p); err != nil {
				return err
			}
			continue
		}
		if err := leaf(p, top.alt); err != nil {
			return err
		}
	}

	body := -1
	isBody := func(p *mimePart, t string) bool {
		return p.mediaType == t && p.disposition != "attachment" && p.filename == ""
	}
	for _, t := range []string{"text/html", "text/plain"} {
		for i, p := range parts {
			if isBody(p, t) {
				body = i
				break
			}
		}
		if body >= 0 {
			break
		}
	}
	if body >= 0 {
		p := parts[body]
		it.Body = textOf(p)
		if p.mediaType == "text/html" {
			it.BodyType = "HTML"
		}
	}
	for i, p := range parts {
		if i == body {
			continue
		}
		if body >= 0 && p.alternative != 0 && p.alternative == parts[body].alternative && strings.HasPrefix(p.mediaType, "text/") {
			continue // another rendering of the body
		}
		ct := p.mediaType
		if cs := p.params["charset"]; cs != "" {
			if f := mime.FormatMediaType(p.mediaType, map[string]string{"charset": cs}); f != "" {
				ct = f
			}
		}
		name := p.filename
		if name == "" {
			name = p.params["name"]
		}
		it.Attachments = append(it.Attachments, Attachment{
			Num:         int64(len(it.Attachments) + 1),
			Name:        strings.ToValidUTF8(name, "\uFFFD"),
			ContentType: ct,
			ContentID:   strings.Trim(oneLine(p.header.Get("Content-Id")), "<>"),
			IsInline:    p.disposition == "inline",
			Content:     p.content,
		})
	}
	return nil
}

// textOf returns a text part's content as UTF-8: go-message has already
// decoded UTF-8 and US-ASCII; ISO-8859-1 is converted here; anything else
// is made valid UTF-8.
func textOf(p *mimePart) string {
	cs := strings.ToLower(p.params["charset"])
	if cs == "iso-8859-1" || cs == "latin1" || cs == "iso_8859-1" {
		var sb strings.Builder
		for _, c := range p.content {
			sb.WriteRune(rune(c))
		}
		return sb.String()
	}
	if utf8.Valid(p.content) {
		return string(p.content)
	}
	return strings.ToValidUTF8(string(p.content), "\uFFFD")
}
