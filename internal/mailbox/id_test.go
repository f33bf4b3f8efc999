package mailbox_test

import (
	"encoding/base64"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/mailbox"
)

const mbxA = "0f8fad5b-d9cb-469f-a165-70867728950e"

func TestIDRoundTrip(t *testing.T) {
	for _, id := range []mailbox.ID{
		{Kind: mailbox.KindFolder, Mailbox: mbxA, Key: 1},
		{Kind: mailbox.KindFolder, Mailbox: "00000000-0000-0000-0000-000000000000", Key: 127},
		{Kind: mailbox.KindItem, Mailbox: mbxA, Key: 128},
		{Kind: mailbox.KindItem, Mailbox: "ffffffff-ffff-ffff-ffff-ffffffffffff", Key: math.MaxInt64},
		{Kind: mailbox.KindAttachment, Mailbox: mbxA, Key: 42, Sub: 1},
		{Kind: mailbox.KindAttachment, Mailbox: mbxA, Key: 1 << 40, Sub: 300},
	} {
		s := mailbox.EncodeID(id)
		if s == "" {
			t.Fatalf("EncodeID(%+v) = empty", id)
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
			t.Errorf("EncodeID(%+v) = %q: not standard base64: %v", id, s, err)
		}
		if len(s) > 64 {
			t.Errorf("EncodeID(%+v) = %q: %d characters", id, s, len(s))
		}
		got, err := mailbox.DecodeID(s)
		if err != nil || got != id {
			t.Errorf("DecodeID(EncodeID(%+v)) = %+v, %v", id, got, err)
		}
	}
	f := &mailbox.Folder{Mailbox: mbxA, Key: 3}
	it := &mailbox.Item{Mailbox: mbxA, Key: 3}
	if f.ID() == it.ID() {
		t.Error("folder and item ids with the same key are equal")
	}
	if a := mailbox.AttachmentID(mbxA, 3, 1); a == it.ID() || a == "" {
		t.Errorf("AttachmentID = %q", a)
	}
}

func TestEncodeIDRefuses(t *testing.T) {
	for _, id := range []mailbox.ID{
		{Kind: mailbox.KindFolder, Mailbox: mbxA, Key: 0},
		{Kind: mailbox.KindFolder, Mailbox: mbxA, Key: -1},
		{Kind: 'X', Mailbox: mbxA, Key: 1},
		{Kind: mailbox.KindAttachment, Mailbox: mbxA, Key: 1, Sub: 0},
		{Kind: mailbox.KindItem, Mailbox: strings.ToUpper(mbxA), Key: 1},
		{Kind: mailbox.KindItem, Mailbox: "not-a-guid", Key: 1},
		{Kind: mailbox.KindItem, Mailbox: "", Key: 1},
	} {
		if s := mailbox.EncodeID(id); s != "" {
			t.Errorf("EncodeID(%+v) = %q, want empty", id, s)
		}
	}
}

func TestDecodeIDRejects(t *testing.T) {
	good := mailbox.EncodeID(mailbox.ID{Kind: mailbox.KindItem, Mailbox: mbxA, Key: 5})
	raw, _ := base64.StdEncoding.DecodeString(good)
	enc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	with := func(f func(b []byte) []byte) string { return enc(f(append([]byte(nil), raw...))) }
	cases := []struct{ name, in string }{
		{"empty", ""},
		{"garbage", "!!!!"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(enc(append(raw[:18:18], 0xfb, 0xff, 0x01)))},
		{"no padding", strings.TrimRight(good, "=")},
		{"whitespace", good + " "},
		{"newline inside", good[:4] + "\n" + good[4:]},
		{"too long", strings.Repeat("A", 100)},
		{"too short", enc(raw[:10])},
		{"no key", enc(raw[:18])},
		{"version 0", with(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", with(func(b []byte) []byte { b[0] = 2; return b })},
		{"kind lower-case", with(func(b []byte) []byte { b[1] = 'i'; return b })},
		{"kind unknown", with(func(b []byte) []byte { b[1] = 'Z'; return b })},
		{"key zero", with(func(b []byte) []byte { b[18] = 0; return b })},
		{"trailing byte", with(func(b []byte) []byte { return append(b, 1) })},
		{"overlong varint", with(func(b []byte) []byte { return append(b[:18], 0x85, 0x00) })},
		{"truncated varint", with(func(b []byte) []byte { return append(b[:18], 0x85) })},
		{"varint overflow", with(func(b []byte) []byte {
			return append(b[:18], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
		})},
		{"key above MaxInt64", with(func(b []byte) []byte {
			return append(b[:18], 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
		})},
		{"attachment without number", with(func(b []byte) []byte { b[1] = 'A'; return b })},
		{"attachment number zero", with(func(b []byte) []byte { b[1] = 'A'; return append(b, 0) })},
		{"item with a sub", with(func(b []byte) []byte { return append(b, 3) })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := mailbox.DecodeID(c.in)
			if !errors.Is(err, mailbox.ErrInvalidID) {
				t.Errorf("DecodeID(%q) = %+v, %v; want ErrInvalidID", c.in, id, err)
			}
		})
	}
}

func TestChangeKey(t *testing.T) {
	for _, seq := range []int64{1, 127, 128, 1 << 33, math.MaxInt64} {
		ck := mailbox.ChangeKey(seq)
		got, err := mailbox.ParseChangeKey(ck)
		if err != nil || got != seq {
			t.Errorf("ParseChangeKey(ChangeKey(%d) = %q) = %d, %v", seq, ck, got, err)
		}
	}
	if mailbox.ChangeKey(1) == mailbox.ChangeKey(2) {
		t.Error("change keys of different sequences are equal")
	}
	for _, bad := range []string{"", "CQAAAA==", "AQ==", "not base64", "AQE", mailbox.ChangeKey(5) + "A"} {
		if _, err := mailbox.ParseChangeKey(bad); !errors.Is(err, mailbox.ErrInvalidChangeKey) {
			t.Errorf("ParseChangeKey(%q) = %v, want ErrInvalidChangeKey", bad, err)
		}
	}
}

func FuzzDecodeID(f *testing.F) {
	f.Add(mailbox.EncodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: mbxA, Key: 1}))
	f.Add(mailbox.EncodeID(mailbox.ID{Kind: mailbox.KindItem, Mailbox: mbxA, Key: 300}))
	f.Add(mailbox.EncodeID(mailbox.ID{Kind: mailbox.KindAttachment, Mailbox: mbxA, Key: 7, Sub: 2}))
	f.Add("")
	f.Add("AAAA")
	f.Add("CQAAAA==")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := mailbox.DecodeID(s)
		if err != nil {
			if !errors.Is(err, mailbox.ErrInvalidID) {
				t.Fatalf("DecodeID(%q): error %v does not wrap ErrInvalidID", s, err)
			}
			return
		}
		// Every accepted id has exactly one spelling.
		if back := mailbox.EncodeID(id); back != s {
			t.Fatalf("DecodeID(%q) = %+v, which encodes as %q", s, id, back)
		}
	})
}
