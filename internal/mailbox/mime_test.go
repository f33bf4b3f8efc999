package mailbox_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/actasmail/actas/internal/mailbox"
)

func TestMIMERoundTrip(t *testing.T) {
	sent := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	png := []byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff, 0xfe}
	for _, c := range []struct {
		name string
		it   *mailbox.Item
	}{
		{"plain", &mailbox.Item{
			Subject: "Hello", Body: "Just text.\r\nSecond line.", BodyType: "Text",
			From: &mailbox.Address{Name: "Alice", Email: "alice@example.com"},
			To:   []mailbox.Address{{Name: "Bob", Email: "bob@example.com"}, {Email: "carol@example.com"}},
		}},
		{"non-ASCII, html, attachment", &mailbox.Item{
			Subject:  "Réunion à 10h — 会議 " + strings.Repeat("long subject ", 8),
			Body:     "<p>Grüße, ünïcödé</p>",
			BodyType: "HTML",
			From:     &mailbox.Address{Name: "Zoë Ågren", Email: "zoe@example.com"},
			Sender:   &mailbox.Address{Name: "Assistant", Email: "assistant@example.com"},
			To:       []mailbox.Address{{Name: "Jürgen", Email: "j@example.com"}},
			Cc:       []mailbox.Address{{Name: "Ça va", Email: "cv@example.com"}},
			ReplyTo:  []mailbox.Address{{Email: "replies@example.com"}},
			Attachments: []mailbox.Attachment{
				{Name: "résumé.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4 binary \x00\x01\x02")},
				{Name: "logo.png", ContentType: "image/png", ContentID: "logo@x", IsInline: true, Content: png},
			},
			Importance: "High", Sensitivity: "Private",
			InternetMessageID: "<abc.123@example.com>", InReplyTo: "<prev@example.com>", References: "<root@example.com> <prev@example.com>",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.it
			in.DateTimeSent = sent
			raw := mailbox.BuildMIME(in)
			for _, line := range strings.Split(string(raw), "\r\n") {
				for _, r := range line {
					if r > 0x7e {
						t.Fatalf("non-ASCII in MIME line %q", line)
					}
				}
				if len(line) > 998 {
					t.Fatalf("line of %d characters", len(line))
				}
			}
			if !bytes.Contains(raw, []byte("MIME-Version: 1.0")) {
				t.Error("no MIME-Version")
			}
			if (in.Sender != nil) != bytes.Contains(raw, []byte("\r\nSender:")) {
				t.Errorf("Sender header presence wrong:\n%s", raw)
			}
			if len(in.Attachments) > 0 && !bytes.Contains(raw, []byte("multipart/mixed")) {
				t.Error("attachments without multipart/mixed")
			}
			out, err := mailbox.ParseMIME(raw)
			if err != nil {
				t.Fatalf("ParseMIME: %v\n%s", err, raw)
			}
			if out.Subject != in.Subject || out.Body != in.Body || !strings.EqualFold(out.BodyType, in.BodyType) {
				t.Errorf("subject/body: %q %q %q", out.Subject, out.Body, out.BodyType)
			}
			if out.From == nil || out.From.Name != in.From.Name || out.From.Email != in.From.Email {
				t.Errorf("from %+v", out.From)
			}
			if (in.Sender == nil) != (out.Sender == nil) || in.Sender != nil && out.Sender.Email != in.Sender.Email {
				t.Errorf("sender %+v", out.Sender)
			}
			if len(out.To) != len(in.To) || out.To[0].Name != in.To[0].Name || out.To[0].Email != in.To[0].Email || out.To[0].RoutingType != "SMTP" {
				t.Errorf("to %+v", out.To)
			}
			if len(out.Cc) != len(in.Cc) || len(out.ReplyTo) != len(in.ReplyTo) {
				t.Errorf("cc %+v reply-to %+v", out.Cc, out.ReplyTo)
			}
			if !out.DateTimeSent.Equal(sent) {
				t.Errorf("date %v", out.DateTimeSent)
			}
			if out.InternetMessageID == "" || in.InternetMessageID != "" && out.InternetMessageID != in.InternetMessageID {
				t.Errorf("message id %q", out.InternetMessageID)
			}
			if out.InReplyTo != in.InReplyTo || out.References != in.References {
				t.Errorf("in-reply-to %q references %q", out.InReplyTo, out.References)
			}
			wantImp, wantSens := in.Importance, in.Sensitivity
			if wantImp == "" {
				wantImp = "Normal"
			}
			if wantSens == "" {
				wantSens = "Normal"
			}
			if out.Importance != wantImp || out.Sensitivity != wantSens {
				t.Errorf("importance %q sensitivity %q", out.Importance, out.Sensitivity)
			}
			if len(out.Attachments) != len(in.Attachments) {
				t.Fatalf("%d attachments, want %d", len(out.Attachments), len(in.Attachments))
			}
			for i, a := range out.Attachments {
				w := in.Attachments[i]
				if a.Name != w.Name || !bytes.Equal(a.Content, w.Content) || a.IsInline != w.IsInline || a.ContentID != w.ContentID ||
					!strings.HasPrefix(a.ContentType, w.ContentType) || a.Num != int64(i+1) {
					t.Errorf("attachment %d: %+v, want %+v", i, a, w)
				}
			}
			if !bytes.Equal(out.MIME, raw) {
				t.Error("MIME is not the input")
			}
		})
	}
}

func TestBuildMIMENoInjection(t *testing.T) {
	it := &mailbox.Item{
		Subject: "hi\r\nBcc: victim@example.com",
		From:    &mailbox.Address{Name: "A\r\nX-Evil: 1", Email: "a@example.com\r\nX-Evil: 2"},
		To:      []mailbox.Address{{Email: "b@example.com"}},
		Bcc:     []mailbox.Address{{Email: "hidden@example.com"}},
		Body:    "x",
	}
	raw := string(mailbox.BuildMIME(it))
	for _, bad := range []string{"\r\nBcc:", "\r\nX-Evil:", "hidden@"} {
		if strings.Contains(raw, bad) {
			t.Errorf("MIME contains %q:\n%s", bad, raw)
		}
	}
	if _, err := mailbox.ParseMIME([]byte(raw)); err != nil {
		t.Errorf("ParseMIME of BuildMIME: %v\n%s", err, raw)
	}
}

func TestParseMIME(t *testing.T) {
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	alt := crlf(`From: a@example.com
To: b@example.com
Subject: =?utf-8?q?caf=C3=A9?=
Date: Tue, 3 Mar 2026 10:00:00 +0100
X-Priority: 1
Content-Type: multipart/mixed; boundary="M"

--M
Content-Type: multipart/alternative; boundary="A"

--A
Content-Type: text/plain; charset=utf-8

plain version
--A
Content-Type: text/html; charset=utf-8

<b>html version</b>
--A--
--M
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

attached text
--M--
`)
	it, err := mailbox.ParseMIME(alt)
	if err != nil {
		t.Fatal(err)
	}
	if it.Subject != "café" || it.Body != "<b>html version</b>" || it.BodyType != "HTML" || it.Importance != "High" ||
		len(it.Attachments) != 1 || it.Attachments[0].Name != "notes.txt" || string(it.Attachments[0].Content) != "attached text" ||
		!it.DateTimeSent.Equal(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("parsed %+v", it)
	}

	latin := crlf("From: a@example.com\nSubject: =?iso-8859-1?q?caf=E9?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe\n")
	if it, err := mailbox.ParseMIME(latin); err != nil || it.Body != "Grüße\r\n" || it.Subject != "café" {
		t.Errorf("latin-1: %+v, %v", it, err)
	}
	if it, err := mailbox.ParseMIME(crlf("Subject: bad date\nDate: yesterday\n\nx")); err != nil || !it.DateTimeSent.IsZero() {
		t.Errorf("bad date: %v", err)
	}

	for _, c := range []struct{ name, in string }{
		{"empty", ""},
		{"blank", "\r\n\r\n"},
		{"no header", "just some text without a colon\r\n\r\nbody"},
		{"bad header line", "Subject: x\r\nthis is not a header\r\n\r\nbody"},
		{"bad address", "From: <<<@@@>>>\r\n\r\nbody"},
		{"unterminated multipart", "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nx"},
		{"deep nesting", strings.Repeat("Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n", 200)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if it, err := mailbox.ParseMIME([]byte(c.in)); err == nil {
				t.Errorf("ParseMIME(%q) = %+v, want an error", c.in, it)
			}
		})
	}
}

func FuzzParseMIME(f *testing.F) {
	f.Add(mailbox.BuildMIME(&mailbox.Item{Subject: "x", Body: "y", From: &mailbox.Address{Email: "a@b.c"}}))
	f.Add(mailbox.BuildMIME(&mailbox.Item{Subject: "é", Body: "<p>y</p>", BodyType: "HTML",
		Attachments: []mailbox.Attachment{{Name: "a", Content: []byte{0, 1}}}}))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n"))
	f.Add([]byte("Subject: =?utf-8?b?w6k=?=\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := mailbox.ParseMIME(b)
		if err == nil && it == nil {
			t.Fatal("nil item without an error")
		}
		if err != nil && it != nil {
			t.Fatal("item with an error")
		}
		if errors.Is(err, mailbox.ErrInvalidID) {
			t.Fatal("unexpected error class")
		}
	})
}

func FuzzMIMERoundTrip(f *testing.F) {
	f.Add("Hello", "body", "Alice", "a.txt", false)
	f.Add("Réunion — 会議", "<p>ü</p>", "Zoë Ågren", "résumé.pdf", true)
	f.Add("=?utf-8?q?x?=", "", "\"quoted\" <x>", "", false)
	f.Fuzz(func(t *testing.T, subject, body, name, file string, html bool) {
		if !utf8.ValidString(subject) || !utf8.ValidString(name) || !utf8.ValidString(file) || !utf8.ValidString(body) {
			t.Skip()
		}
		in := &mailbox.Item{Subject: subject, Body: body, From: &mailbox.Address{Name: name, Email: "a@example.com"}}
		if html {
			in.BodyType = "HTML"
		}
		if file != "" {
			in.Attachments = []mailbox.Attachment{{Name: file, Content: []byte(body)}}
		}
		out, err := mailbox.ParseMIME(mailbox.BuildMIME(in))
		if err != nil {
			t.Fatalf("ParseMIME(BuildMIME): %v\n%s", err, mailbox.BuildMIME(in))
		}
		if norm(out.Subject) != norm(subject) {
			t.Errorf("subject %q, want %q", out.Subject, subject)
		}
		if out.From == nil || out.From.Email != "a@example.com" {
			t.Errorf("from %+v", out.From)
		}
	})
}

// norm is what a header keeps of a text: no line breaks, no runs of blanks
// or blanks at the ends.
func norm(s string) string { return strings.Join(strings.Fields(s), " ") }
