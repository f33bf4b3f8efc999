package ews

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// buildMIME and parseMIME convert between items and RFC 5322 messages.
// They stand in for mailbox.BuildMIME/ParseMIME until the mailbox package
// provides them (swap the two variables then); only the standard library
// is used.
var (
	buildMIME = buildMIMELocal
	parseMIME = parseMIMELocal
)

func mimeAddr(a mailbox.Address) string {
	return (&mail.Address{Name: a.Name, Address: a.Email}).String()
}

func mimeAddrList(as []mailbox.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = mimeAddr(a)
	}
	return strings.Join(parts, ", ")
}

func buildMIMELocal(it *mailbox.Item) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) {
		if v != "" {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	if it.From != nil {
		hdr("From", mimeAddr(*it.From))
		if it.Sender != nil && !strings.EqualFold(it.Sender.Email, it.From.Email) {
			hdr("Sender", mimeAddr(*it.Sender))
		}
	}
	hdr("To", mimeAddrList(it.To))
	hdr("Cc", mimeAddrList(it.Cc))
	if len(it.ReplyTo) > 0 {
		hdr("Reply-To", mimeAddrList(it.ReplyTo))
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", it.Subject))
	date := it.DateTimeSent
	if date.IsZero() {
		date = it.DateTimeCreated
	}
	if !date.IsZero() {
		hdr("Date", date.UTC().Format(time.RFC1123Z))
	}
	hdr("Message-ID", it.InternetMessageID)
	hdr("In-Reply-To", it.InReplyTo)
	hdr("References", it.References)
	if it.Importance == "High" || it.Importance == "Low" {
		hdr("Importance", it.Importance)
	}
	if len(it.Categories) > 0 {
		hdr("Keywords", mime.QEncoding.Encode("utf-8", strings.Join(it.Categories, ", ")))
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	ctype := "text/plain"
	if it.BodyType == "HTML" {
		ctype = "text/html"
	}
	writeBody := func(w io.Writer) {
		qp := quotedprintable.NewWriter(w)
		qp.Write([]byte(it.Body))
		qp.Close()
	}
	if len(it.Attachments) == 0 {
		b.WriteString("Content-Type: " + ctype + "; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		writeBody(&b)
		return b.Bytes()
	}
	var rb [12]byte
	rand.Read(rb[:])
	boundary := "_actas_" + hex.EncodeToString(rb[:])
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Type: " + ctype + "; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	writeBody(&b)
	for _, a := range it.Attachments {
		b.WriteString("\r\n--" + boundary + "\r\n")
		ct := orDefault(a.ContentType, "application/octet-stream")
		b.WriteString("Content-Type: " + ct + "; name=\"" + mime.QEncoding.Encode("utf-8", a.Name) + "\"\r\n")
		disp := "attachment"
		if a.IsInline {
			disp = "inline"
		}
		b.WriteString("Content-Disposition: " + mime.FormatMediaType(disp, map[string]string{"filename": a.Name}) + "\r\n")
		if a.ContentID != "" {
			b.WriteString("Content-ID: <" + strings.Trim(a.ContentID, "<>") + ">\r\n")
		}
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(a.Content)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "us-ascii", "iso-8859-1", "latin1":
		return input, nil // latin1 bytes pass through; good enough for headers
	}
	return nil, fmt.Errorf("unsupported charset %q", charset)
}}

func decodeHeader(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func parseAddrs(s string) []mailbox.Address {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(s)
	if err != nil {
		return nil
	}
	out := make([]mailbox.Address, len(list))
	for i, a := range list {
		out[i] = mailbox.Address{Name: a.Name, Email: a.Address, RoutingType: "SMTP"}
	}
	return out
}

func parseMIMELocal(raw []byte) (*mailbox.Item, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	h := msg.Header
	it := &mailbox.Item{Class: "IPM.Note", MIME: raw, Subject: decodeHeader(h.Get("Subject")),
		InternetMessageID: h.Get("Message-Id"), InReplyTo: h.Get("In-Reply-To"), References: h.Get("References")}
	if f := parseAddrs(h.Get("From")); len(f) > 0 {
		it.From = &f[0]
	}
	if s := parseAddrs(h.Get("Sender")); len(s) > 0 {
		it.Sender = &s[0]
	}
	it.To, it.Cc, it.Bcc, it.ReplyTo = parseAddrs(h.Get("To")), parseAddrs(h.Get("Cc")), parseAddrs(h.Get("Bcc")), parseAddrs(h.Get("Reply-To"))
	if d, err := h.Date(); err == nil {
		it.DateTimeSent = d.UTC()
	}
	switch strings.ToLower(h.Get("Importance")) {
	case "high":
		it.Importance = "High"
	case "low":
		it.Importance = "Low"
	}
	if err := readPart(it, textproto(h), msg.Body, 0); err != nil {
		return nil, err
	}
	return it, nil
}

type headerGetter interface{ Get(string) string }

func textproto(h mail.Header) headerGetter { return h }

func decodePart(h headerGetter, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &stripSpace{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// stripSpace drops line breaks and spaces from base64 text.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func readPart(it *mailbox.Item, h headerGetter, body io.Reader, depth int) error {
	if depth > 10 {
		return nil
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = "text/plain"
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readPart(it, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(decodePart(h, body), 64<<20))
	if err != nil {
		return err
	}
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = decodeHeader(name)
	if (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == "" && it.Body == "" {
		it.Body = string(data)
		it.BodyType = "Text"
		if mt == "text/html" {
			it.BodyType = "HTML"
		}
		return nil
	}
	if mt == "text/html" && it.BodyType == "Text" && disp != "attachment" && name == "" {
		// multipart/alternative: prefer the HTML rendering
		it.Body, it.BodyType = string(data), "HTML"
		return nil
	}
	if (mt == "text/plain") && disp != "attachment" && name == "" {
		return nil // the plain alternative of an HTML body
	}
	if name == "" {
		name = "attachment"
	}
	it.Attachments = append(it.Attachments, mailbox.Attachment{Num: int64(len(it.Attachments) + 1), Name: name, ContentType: mt,
		ContentID: strings.Trim(h.Get("Content-Id"), "<>"), IsInline: disp == "inline", Content: data})
	return nil
}
