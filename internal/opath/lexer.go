package opath

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the lexical class of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tLParen         // (
	tRParen         // )
	tOp             // -and, -eq, ...; token.op says which
	tWord           // bare identifier: a property name or an unquoted value
	tNumber         // integer literal, optionally negative; text uses an ASCII '-'
	tString         // quoted text; text is unescaped
	tVar            // $true, $false or $null; text is lower case without '$'
)

// opcode identifies a logical or comparison operator.
type opcode uint8

const (
	opNone opcode = iota
	opAnd
	opOr
	opNot
	opEq
	opNe
	opLt
	opGt
	opLe
	opGe
	opLike
	opNotLike
)

var opNames = [...]string{
	opAnd: "-and", opOr: "-or", opNot: "-not",
	opEq: "-eq", opNe: "-ne", opLt: "-lt", opGt: "-gt", opLe: "-le", opGe: "-ge",
	opLike: "-like", opNotLike: "-notlike",
}

var opByWord = map[string]opcode{
	"and": opAnd, "or": opOr, "not": opNot,
	"eq": opEq, "ne": opNe, "lt": opLt, "gt": opGt, "le": opLe, "ge": opGe,
	"like": opLike, "notlike": opNotLike,
}

func (o opcode) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "-?"
}

func (o opcode) isComparison() bool { return o >= opEq }

type token struct {
	kind tokKind
	op   opcode
	text string
	pos  int // 1-based character (rune) position of the token's first character
}

// describe names a token for syntax-error reasons.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tOp:
		return "operator " + t.op.String()
	case tVar:
		return "$" + t.text
	case tString:
		return "quoted value"
	}
	return "'" + t.text + "'"
}

// lexer splits a filter into tokens on demand. Positions count characters
// (runes), not bytes, starting at 1, so they match what an admin sees.
type lexer struct {
	src string
	off int // byte offset of the next unread character
	col int // 1-based character position of src[off]
}

// lexError is a syntax error found by the lexer, before it is given the filter text.
type lexError struct {
	pos    int
	reason string
}

// isDash reports whether r can start an operator: the ASCII hyphen, or the
// en dash, em dash and horizontal bar that web pages substitute for it.
func isDash(r rune) bool { return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015' }

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isASCIIDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// advance consumes the bytes up to end and moves the character position.
func (lx *lexer) advance(end int) {
	lx.col += utf8.RuneCountInString(lx.src[lx.off:end])
	lx.off = end
}

// word returns the end offset of the run of word characters starting at i.
func (lx *lexer) word(i int) int {
	for i < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[i:])
		if !isWordRune(r) {
			break
		}
		i += n
	}
	return i
}

func (lx *lexer) next() (token, *lexError) {
	for lx.off < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[lx.off:])
		if !unicode.IsSpace(r) {
			break
		}
		lx.off += n
		lx.col++
	}
	t := token{pos: lx.col}
	if lx.off >= len(lx.src) {
		return t, nil
	}
	start := lx.off
	r, n := utf8.DecodeRuneInString(lx.src[start:])
	switch {
	case r == '(':
		t.kind = tLParen
		lx.advance(start + 1)
	case r == ')':
		t.kind = tRParen
		lx.advance(start + 1)
	case isDash(r):
		end := lx.word(start + n)
		w := lx.src[start+n : end]
		if isASCIIDigits(w) {
			t.kind, t.text = tNumber, "-"+w
		} else {
			op, ok := opByWord[strings.ToLower(w)]
			if !ok {
				if w == "" {
					return t, &lexError{t.pos, "expected an operator name after '-'"}
				}
				return t, &lexError{t.pos, "unknown operator -" + w}
			}
			t.kind, t.op = tOp, op
		}
		lx.advance(end)
	case r == '$':
		end := lx.word(start + 1)
		name := strings.ToLower(lx.src[start+1 : end])
		if name != "true" && name != "false" && name != "null" {
			return t, &lexError{t.pos, "unsupported variable $" + lx.src[start+1:end] + " (only $true, $false and $null are allowed)"}
		}
		t.kind, t.text = tVar, name
		lx.advance(end)
	case r == '\'':
		return lx.single(t)
	case r == '"':
		return lx.double(t)
	case isWordRune(r):
		end := lx.word(start)
		t.text = lx.src[start:end]
		t.kind = tWord
		if isASCIIDigits(t.text) {
			t.kind = tNumber
		}
		lx.advance(end)
	default:
		return t, &lexError{t.pos, "unexpected character " + quoteRune(r)}
	}
	return t, nil
}

func quoteRune(r rune) string {
	if unicode.IsPrint(r) {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("U+%04X", r)
}

// single lexes a single-quoted string, where a doubled quote stands for one quote.
func (lx *lexer) single(t token) (token, *lexError) {
	var b strings.Builder
	i := lx.off + 1
	seg := i
	for {
		j := strings.IndexByte(lx.src[i:], '\'')
		if j < 0 {
			return t, &lexError{t.pos, "missing closing quote (')"}
		}
		i += j
		if i+1 < len(lx.src) && lx.src[i+1] == '\'' {
			b.WriteString(lx.src[seg : i+1])
			i += 2
			seg = i
			continue
		}
		break
	}
	if b.Len() == 0 {
		t.text = lx.src[seg:i]
	} else {
		b.WriteString(lx.src[seg:i])
		t.text = b.String()
	}
	t.kind = tString
	lx.advance(i + 1)
	return t, nil
}

// double lexes a double-quoted string, where "" and `" stand for one quote and
// a backtick makes the next character literal (PowerShell's `n-style control
// escapes are not interpreted: the text reaching the server is already expanded).
func (lx *lexer) double(t token) (token, *lexError) {
	var b strings.Builder
	i := lx.off + 1
	for {
		j := strings.IndexAny(lx.src[i:], "\"`")
		if j < 0 {
			return t, &lexError{t.pos, "missing closing quote (\")"}
		}
		b.WriteString(lx.src[i : i+j])
		i += j
		if lx.src[i] == '`' {
			if i+1 >= len(lx.src) {
				return t, &lexError{t.pos, "missing closing quote (\")"}
			}
			_, n := utf8.DecodeRuneInString(lx.src[i+1:])
			b.WriteString(lx.src[i+1 : i+1+n])
			i += 1 + n
			continue
		}
		if i+1 < len(lx.src) && lx.src[i+1] == '"' {
			b.WriteByte('"')
			i += 2
			continue
		}
		break
	}
	t.kind, t.text = tString, b.String()
	lx.advance(i + 1)
	return t, nil
}
