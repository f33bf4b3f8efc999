package ews

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"

	"github.com/actasmail/actas/internal/mailbox"
)

// encodeID and decodeID implement mailbox's id wire format (version 1: a
// version byte, the kind, the 16-byte mailbox GUID, the uvarint key and,
// for attachments, the uvarint attachment number; standard base64). They
// stand in for mailbox.EncodeID/DecodeID until those are committed, and
// produce exactly the same strings.
func encodeID(id mailbox.ID) string {
	if id.Key <= 0 || id.Kind == mailbox.KindAttachment && id.Sub <= 0 {
		return ""
	}
	g, ok := guidBytes(id.Mailbox)
	if !ok {
		return ""
	}
	b := make([]byte, 0, 2+16+2*binary.MaxVarintLen64)
	b = append(b, 1, id.Kind)
	b = append(b, g[:]...)
	b = binary.AppendUvarint(b, uint64(id.Key))
	if id.Kind == mailbox.KindAttachment {
		b = binary.AppendUvarint(b, uint64(id.Sub))
	}
	return base64.StdEncoding.EncodeToString(b)
}

var errBadID = mailbox.ErrInvalidID

func decodeID(s string) (mailbox.ID, error) {
	if s == "" || len(s) > 64 {
		return mailbox.ID{}, errBadID
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s || len(b) < 19 || b[0] != 1 {
		return mailbox.ID{}, errBadID
	}
	id := mailbox.ID{Kind: b[1]}
	switch id.Kind {
	case mailbox.KindFolder, mailbox.KindItem, mailbox.KindAttachment:
	default:
		return mailbox.ID{}, errBadID
	}
	h := hex.EncodeToString(b[2:18])
	id.Mailbox = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	rest := b[18:]
	var ok bool
	if id.Key, rest, ok = uvarint(rest); !ok {
		return mailbox.ID{}, errBadID
	}
	if id.Kind == mailbox.KindAttachment {
		if id.Sub, rest, ok = uvarint(rest); !ok {
			return mailbox.ID{}, errBadID
		}
	}
	if len(rest) != 0 {
		return mailbox.ID{}, errBadID
	}
	return id, nil
}

func uvarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v == 0 || v > math.MaxInt64 || n != len(binary.AppendUvarint(nil, v)) {
		return 0, b, false
	}
	return int64(v), b[n:], true
}

func guidBytes(s string) ([16]byte, bool) {
	var g [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '-' && !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return g, false
		}
	}
	_, err := hex.Decode(g[:], []byte(s[0:8]+s[9:13]+s[14:18]+s[19:23]+s[24:36]))
	return g, err == nil
}

var _ = errors.New
