package mailbox

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
)

// Errors beyond the contract in api.go. Each names the EWS response code a
// caller maps it to.
var (
	// ErrInvalidChangeKey: a change key that does not parse (ErrorInvalidChangeKey).
	ErrInvalidChangeKey = errors.New("mailbox: malformed change key")
	// ErrInvalidArgument: a bad name, mode, traversal or value (ErrorInvalidRequest
	// or a more specific code chosen by the caller).
	ErrInvalidArgument = errors.New("mailbox: invalid argument")
	// ErrMoveDistinguished: distinguished folders stay where they are
	// (ErrorMoveDistinguishedFolder).
	ErrMoveDistinguished = errors.New("mailbox: distinguished folders cannot be moved")
	// ErrMoveIntoSelf: a folder cannot move under itself or its subtree
	// (ErrorMoveCopyFailed). It wraps ErrInvalidArgument.
	ErrMoveIntoSelf = fmt.Errorf("%w: a folder cannot be moved into itself or one of its subfolders", ErrInvalidArgument)
	// ErrInvalidPermission: a permission entry with unknown values
	// (ErrorInvalidPermissionSettings).
	ErrInvalidPermission = errors.New("mailbox: invalid permission settings")
	// ErrDuplicateUser: one user twice in an ACL (ErrorDuplicateUserIdsSpecified).
	// It wraps ErrInvalidPermission.
	ErrDuplicateUser = fmt.Errorf("%w: a user appears more than once", ErrInvalidPermission)
	// ErrCalendarLevel: FreeBusy levels or calendar-only ReadItems values on a
	// folder that is not a calendar
	// (ErrorCannotSetCalendarPermissionOnNonCalendarFolder). It wraps
	// ErrInvalidPermission.
	ErrCalendarLevel = fmt.Errorf("%w: calendar permission on a folder that is not a calendar", ErrInvalidPermission)
	// ErrInvalidOofDuration: a Scheduled OOF whose end is not after its start
	// (ErrorInvalidScheduledOofDuration). It wraps ErrInvalidArgument.
	ErrInvalidOofDuration = fmt.Errorf("%w: the scheduled end must be after the start", ErrInvalidArgument)
)

// Id wire format, version 1 (then standard base64 with padding):
//
//	byte    version (1)
//	byte    kind ('F', 'I' or 'A')
//	[16]    mailbox GUID, in the byte order of its canonical text form
//	uvarint key (> 0)
//	uvarint sub (> 0; attachments only)
//
// Folder and item ids are 20-22 bytes (28-32 characters); nothing else may
// follow. Varints must be minimal, so every id has exactly one spelling.
const idVersion = 1

// maxIDLen bounds the text DecodeID looks at: 1+1+16+10+10 bytes of binary.
const maxIDLen = 64

// EncodeID returns the opaque id clients see. It returns "" when id cannot
// be encoded: an unknown kind, a key (or an attachment's Sub) that is not
// positive, or a Mailbox that is not a GUID in canonical lower-case form
// (the form recipient ids have).
func EncodeID(id ID) string {
	if id.Key <= 0 {
		return ""
	}
	switch id.Kind {
	case KindFolder, KindItem:
	case KindAttachment:
		if id.Sub <= 0 {
			return ""
		}
	default:
		return ""
	}
	g, ok := parseGUID(id.Mailbox)
	if !ok {
		return ""
	}
	b := make([]byte, 0, 2+16+2*binary.MaxVarintLen64)
	b = append(b, idVersion, id.Kind)
	b = append(b, g[:]...)
	b = binary.AppendUvarint(b, uint64(id.Key))
	if id.Kind == KindAttachment {
		b = binary.AppendUvarint(b, uint64(id.Sub))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeID reads an id made by EncodeID. Anything else (bad base64, padding
// or length, another version or kind, a zero key, a non-minimal varint,
// trailing bytes) gives an error wrapping ErrInvalidID. It never panics.
func DecodeID(s string) (ID, error) {
	bad := func(why string) (ID, error) {
		return ID{}, fmt.Errorf("%w: %s", ErrInvalidID, why)
	}
	if s == "" {
		return bad("empty")
	}
	if len(s) > maxIDLen {
		return bad("too long")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return bad("not base64")
	}
	if base64.StdEncoding.EncodeToString(b) != s {
		return bad("not canonical base64")
	}
	if len(b) < 2+16+1 {
		return bad("too short")
	}
	if b[0] != idVersion {
		return bad("unknown version")
	}
	id := ID{Kind: b[1]}
	switch id.Kind {
	case KindFolder, KindItem, KindAttachment:
	default:
		return bad("unknown kind")
	}
	id.Mailbox = formatGUID(b[2:18])
	rest := b[18:]
	key, rest, ok := readUvarint(rest)
	if !ok {
		return bad("bad key")
	}
	id.Key = key
	if id.Kind == KindAttachment {
		sub, r, ok := readUvarint(rest)
		if !ok {
			return bad("bad attachment number")
		}
		id.Sub, rest = sub, r
	}
	if len(rest) != 0 {
		return bad("trailing bytes")
	}
	return id, nil
}

// readUvarint reads one minimal uvarint in 1..MaxInt64.
func readUvarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 || v == 0 || v > math.MaxInt64 {
		return 0, b, false
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		return 0, b, false // overlong encoding
	}
	return int64(v), b[n:], true
}

// parseGUID reads a canonical lower-case GUID: 8-4-4-4-12 hex digits.
func parseGUID(s string) ([16]byte, bool) {
	var g [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return g, false
		}
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, false
	}
	return g, true
}

func formatGUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ValidMailboxID reports whether mbx has the form Store requires of a
// mailbox id: a GUID in canonical lower-case form.
func ValidMailboxID(mbx string) bool {
	_, ok := parseGUID(mbx)
	return ok
}

// ID returns the folder's opaque id.
func (f *Folder) ID() string {
	return EncodeID(ID{Kind: KindFolder, Mailbox: f.Mailbox, Key: f.Key})
}

// ID returns the item's opaque id. It does not change when the item moves.
func (it *Item) ID() string {
	return EncodeID(ID{Kind: KindItem, Mailbox: it.Mailbox, Key: it.Key})
}

// AttachmentID returns the opaque id of attachment num of item key in
// mailbox mbx.
func AttachmentID(mbx string, item, num int64) string {
	return EncodeID(ID{Kind: KindAttachment, Mailbox: mbx, Key: item, Sub: num})
}

// Change key wire format: standard base64 of a version byte (1) and the
// minimal uvarint of the journal sequence number of the object's last
// change. Every write appends a journal row, so every write changes it.
const changeKeyVersion = 1

// ChangeKey returns the change key for journal sequence seq.
func ChangeKey(seq int64) string {
	b := binary.AppendUvarint([]byte{changeKeyVersion}, uint64(seq))
	return base64.StdEncoding.EncodeToString(b)
}

// ParseChangeKey returns the journal sequence a change key was made from,
// or an error wrapping ErrInvalidChangeKey.
func ParseChangeKey(s string) (int64, error) {
	if s == "" || len(s) > 24 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidChangeKey, s)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != changeKeyVersion || base64.StdEncoding.EncodeToString(b) != s {
		return 0, fmt.Errorf("%w: %q", ErrInvalidChangeKey, s)
	}
	seq, rest, ok := readUvarint(b[1:])
	if !ok || len(rest) != 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidChangeKey, s)
	}
	return seq, nil
}
