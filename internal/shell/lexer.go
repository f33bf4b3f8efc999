package shell

import (
	"strconv"
	"strings"
	"unicode"
)

// PowerShell tokenizes differently in argument mode (after a command name:
// bare words, -Parameters) and in expression mode (operators, numbers). The
// parser asks for the next token in the mode it is in.
type lexMode int

const (
	modeCommand lexMode = iota
	modeExpr
)

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tSemi
	tPipe
	tComma
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBracket  // expression mode only
	tRBracket  // expression mode only
	tSubExpr   // $(
	tArrayExpr // @(
	tHash      // @{
	tVar       // $name or ${name}; text is the name
	tStr       // '…'; text is the value
	tExpStr    // "…"; the content is src[pos+1:end-1]
	tNum       // number; num holds int64 or float64
	tWord      // bare word (argument mode) or command name / keyword (expression mode)
	tParam     // -Name or -Name: (argument mode); text is the name without dash
	tOp        // operator (expression mode): -eq, !, +, -, =, +=; dash operators are lower-cased
)

type token struct {
	kind     tokKind
	pos, end int // rune offsets in the source
	text     string
	num      any
	colon    bool // tParam written as -Name:
}

// parseError is a syntax error. incomplete marks errors caused by the input
// ending too early, so the interactive prompt can ask for another line.
type parseError struct {
	pos        int
	id, msg    string
	incomplete bool
}

func (e *parseError) Error() string { return e.msg }

// maxDepth bounds nesting of parentheses, braces and sub-expressions so that
// hostile input cannot exhaust the stack.
const maxDepth = 200

const eof rune = -1

type lexer struct {
	src []rune
	end int // lexing stops here (the end of a $(…) inside a string, or of the input)
}

func (lx *lexer) at(i int) rune {
	if i >= 0 && i < lx.end {
		return lx.src[i]
	}
	return eof
}

// PowerShell accepts the typographic dashes and quotes that web pages and
// word processors substitute for the ASCII ones.
func isDash(r rune) bool { return r == '-' || r == '\u2013' || r == '\u2014' || r == '\u2015' }
func isDoubleQuote(r rune) bool {
	return r == '"' || r == '\u201C' || r == '\u201D' || r == '\u201E'
}
func isSingleQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
}
func isNewline(r rune) bool { return r == '\n' || r == '\r' }
func isSpace(r rune) bool {
	return r != eof && !isNewline(r) && (unicode.IsSpace(r) || r == '\u200B' || r == '\uFEFF')
}
func isNameRune(r rune) bool {
	return r == '_' || (r != eof && (unicode.IsLetter(r) || unicode.IsDigit(r)))
}
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// escapeRune is the character a backtick escape sequence stands for.
func escapeRune(r rune) rune {
	switch r {
	case '0':
		return 0
	case 'a':
		return '\a'
	case 'b':
		return '\b'
	case 'e':
		return 0x1b
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'v':
		return '\v'
	}
	return r
}

// continuation reports whether a backtick at pos ends the line (line
// continuation, trailing blanks tolerated) and returns the position after it.
func (lx *lexer) continuation(pos int) (int, bool) {
	j := pos + 1
	for isSpace(lx.at(j)) {
		j++
	}
	switch {
	case lx.at(j) == '\r' && lx.at(j+1) == '\n':
		return j + 2, true
	case isNewline(lx.at(j)), lx.at(j) == eof:
		return min(j+1, lx.end), true
	}
	return pos, false
}

// skipSpace skips blanks, comments and line continuations, and newlines too
// when newlines is set.
func (lx *lexer) skipSpace(pos int, newlines bool) (int, *parseError) {
	for pos < lx.end {
		r := lx.src[pos]
		switch {
		case isSpace(r):
			pos++
		case r == '`':
			next, ok := lx.continuation(pos)
			if !ok {
				return pos, nil
			}
			pos = next
		case r == '#':
			for pos < lx.end && !isNewline(lx.src[pos]) {
				pos++
			}
		case r == '<' && lx.at(pos+1) == '#':
			end := pos + 2
			for end < lx.end && !(lx.src[end] == '#' && lx.at(end+1) == '>') {
				end++
			}
			if end >= lx.end {
				return pos, &parseError{pos: pos, id: "MissingEndOfComment", msg: "The comment is missing the terminator '#>'.", incomplete: true}
			}
			pos = end + 2
		case newlines && isNewline(r):
			pos++
		default:
			return pos, nil
		}
	}
	return pos, nil
}

// lex returns the token at pos (after blanks and comments) in the given mode.
func (lx *lexer) lex(pos int, mode lexMode) (token, *parseError) {
	pos, err := lx.skipSpace(pos, false)
	if err != nil {
		return token{}, err
	}
	if pos >= lx.end {
		return token{kind: tEOF, pos: pos, end: pos}, nil
	}
	r := lx.src[pos]
	one := func(k tokKind, n int) (token, *parseError) {
		return token{kind: k, pos: pos, end: pos + n, text: string(lx.src[pos : pos+n])}, nil
	}
	switch {
	case r == '\r' && lx.at(pos+1) == '\n':
		return one(tNewline, 2)
	case isNewline(r):
		return one(tNewline, 1)
	case r == ';':
		return one(tSemi, 1)
	case r == '|':
		return one(tPipe, 1)
	case r == ',':
		return one(tComma, 1)
	case r == '(':
		return one(tLParen, 1)
	case r == ')':
		return one(tRParen, 1)
	case r == '{':
		return one(tLBrace, 1)
	case r == '}':
		return one(tRBrace, 1)
	case r == '&':
		return token{}, &parseError{pos: pos, id: "AmpersandNotAllowed", msg: "The '&' operator is not supported; wrap an ampersand in quotation marks (\"&\") to pass it as part of a string."}
	case r == '@' && lx.at(pos+1) == '(':
		return one(tArrayExpr, 2)
	case r == '@' && lx.at(pos+1) == '{':
		return one(tHash, 2)
	case r == '$' && lx.at(pos+1) == '(':
		return one(tSubExpr, 2)
	case r == '$' && lx.at(pos+1) == '{':
		return lx.lexBracedVar(pos)
	case r == '$' && isNameRune(lx.at(pos+1)):
		name, end := lx.varName(pos + 1)
		return token{kind: tVar, pos: pos, end: end, text: name}, nil
	case isDoubleQuote(r):
		return lx.lexExpandable(pos, 0)
	case isSingleQuote(r):
		s, end, err := lx.scanLiteral(pos)
		return token{kind: tStr, pos: pos, end: end, text: s}, err
	}
	if mode == modeExpr {
		return lx.lexExprToken(pos)
	}
	return lx.lexArgToken(pos)
}

func (lx *lexer) lexBracedVar(pos int) (token, *parseError) {
	for j := pos + 2; j < lx.end; j++ {
		if lx.src[j] == '}' {
			return token{kind: tVar, pos: pos, end: j + 1, text: string(lx.src[pos+2 : j])}, nil
		}
	}
	return token{}, &parseError{pos: pos, id: "IncompleteDollarVariableReference", msg: "Missing '}' in variable reference ${…}.", incomplete: true}
}

// varName scans a variable name starting at pos. Scope prefixes (global:,
// script:, local:, private:) are dropped; env: is kept, and as the shell does
// not expose its process environment, $env:X is an unset variable.
func (lx *lexer) varName(pos int) (string, int) {
	j := pos
	for isNameRune(lx.at(j)) {
		j++
	}
	name := string(lx.src[pos:j])
	if lx.at(j) == ':' && isNameRune(lx.at(j+1)) {
		switch strings.ToLower(name) {
		case "env", "global", "script", "local", "private":
			k := j + 1
			for isNameRune(lx.at(k)) {
				k++
			}
			rest := string(lx.src[j+1 : k])
			if strings.EqualFold(name, "env") {
				return "env:" + rest, k
			}
			return rest, k
		}
	}
	return name, j
}

// lexExpandable finds the end of a double-quoted string, skipping over $(…)
// sub-expressions that may themselves contain quotes.
func (lx *lexer) lexExpandable(pos, depth int) (token, *parseError) {
	if depth > maxDepth {
		return token{}, tooDeep(pos)
	}
	for i := pos + 1; i < lx.end; {
		r := lx.src[i]
		switch {
		case r == '`':
			i += 2
		case isDoubleQuote(r) && isDoubleQuote(lx.at(i+1)):
			i += 2
		case isDoubleQuote(r):
			return token{kind: tExpStr, pos: pos, end: i + 1}, nil
		case r == '$' && lx.at(i+1) == '(':
			end, err := lx.skipSubExpr(i+2, depth+1)
			if err != nil {
				return token{}, err
			}
			i = end
		default:
			i++
		}
	}
	return token{}, &parseError{pos: pos, id: "TerminatorExpectedAtEndOfString", msg: `The string is missing the terminator: ".`, incomplete: true}
}

// skipSubExpr returns the position after the ')' closing a $( whose content
// starts at pos.
func (lx *lexer) skipSubExpr(pos, depth int) (int, *parseError) {
	if depth > maxDepth {
		return 0, tooDeep(pos)
	}
	level := 1
	for i := pos; i < lx.end; {
		r := lx.src[i]
		switch {
		case r == '(':
			level++
			i++
		case r == ')':
			level--
			i++
			if level == 0 {
				return i, nil
			}
		case isSingleQuote(r):
			_, end, err := lx.scanLiteral(i)
			if err != nil {
				return 0, err
			}
			i = end
		case isDoubleQuote(r):
			t, err := lx.lexExpandable(i, depth+1)
			if err != nil {
				return 0, err
			}
			i = t.end
		case r == '`':
			i += 2
		default:
			i++
		}
	}
	return 0, &parseError{pos: pos - 2, id: "MissingEndParenthesisInSubexpression", msg: "Missing closing ')' in subexpression.", incomplete: true}
}

// scanLiteral reads a single-quoted string; a doubled quote stands for one.
func (lx *lexer) scanLiteral(pos int) (string, int, *parseError) {
	var b strings.Builder
	for j := pos + 1; j < lx.end; j++ {
		r := lx.src[j]
		if isSingleQuote(r) {
			if !isSingleQuote(lx.at(j + 1)) {
				return b.String(), j + 1, nil
			}
			j++
		}
		b.WriteRune(r)
	}
	return "", 0, &parseError{pos: pos, id: "TerminatorExpectedAtEndOfString", msg: "The string is missing the terminator: '.", incomplete: true}
}

// exprOperators are the dash operators of expression mode; the -i… spellings
// (-ieq, -ilike, …) are the same case-insensitive operators.
var exprOperators = map[string]bool{
	"-eq": true, "-ne": true, "-gt": true, "-ge": true, "-lt": true, "-le": true,
	"-like": true, "-notlike": true, "-match": true, "-notmatch": true,
	"-contains": true, "-notcontains": true, "-in": true, "-notin": true,
	"-replace": true, "-split": true, "-join": true,
	"-and": true, "-or": true, "-xor": true, "-not": true,
}

func (lx *lexer) lexExprToken(pos int) (token, *parseError) {
	r := lx.src[pos]
	op := func(n int, text string) (token, *parseError) {
		return token{kind: tOp, pos: pos, end: pos + n, text: text}, nil
	}
	switch {
	case isDash(r) && unicode.IsLetter(lx.at(pos+1)):
		j := pos + 1
		for unicode.IsLetter(lx.at(j)) {
			j++
		}
		name := "-" + strings.ToLower(string(lx.src[pos+1:j]))
		if !exprOperators[name] && strings.HasPrefix(name, "-i") && exprOperators["-"+name[2:]] {
			name = "-" + name[2:]
		}
		if !exprOperators[name] {
			return token{}, &parseError{pos: pos, id: "UnexpectedToken", msg: "Unexpected token '" + string(lx.src[pos:j]) + "' in expression or statement."}
		}
		return op(j-pos, name)
	case isDash(r):
		return op(1, "-")
	case r == '!':
		return op(1, "!")
	case r == '+' && lx.at(pos+1) == '=':
		return op(2, "+=")
	case r == '+':
		return op(1, "+")
	case r == '=':
		return op(1, "=")
	case r == '[':
		return token{kind: tLBracket, pos: pos, end: pos + 1, text: "["}, nil
	case r == ']':
		return token{kind: tRBracket, pos: pos, end: pos + 1, text: "]"}, nil
	case isDigit(r) || (r == '.' && isDigit(lx.at(pos+1))):
		return lx.lexNumber(pos)
	}
	return lx.lexWord(pos, modeExpr)
}

func (lx *lexer) lexNumber(pos int) (token, *parseError) {
	j := pos
	if lx.at(j) == '0' && (lx.at(j+1) == 'x' || lx.at(j+1) == 'X') {
		j += 2
		for strings.ContainsRune("0123456789abcdefABCDEF", lx.at(j)) {
			j++
		}
	} else {
		for isDigit(lx.at(j)) {
			j++
		}
		if lx.at(j) == '.' && isDigit(lx.at(j+1)) {
			for j++; isDigit(lx.at(j)); j++ {
			}
		}
		if e := lx.at(j); (e == 'e' || e == 'E') && (isDigit(lx.at(j+1)) || (strings.ContainsRune("+-", lx.at(j+1)) && isDigit(lx.at(j+2)))) {
			for j += 2; isDigit(lx.at(j)); j++ {
			}
		}
	}
	text := string(lx.src[pos:j])
	n, ok := parseNumber(text)
	if !ok || isNameRune(lx.at(j)) {
		for isNameRune(lx.at(j)) {
			j++
		}
		return token{}, &parseError{pos: pos, id: "UnexpectedToken", msg: "Unexpected token '" + string(lx.src[pos:j]) + "' in expression or statement."}
	}
	return token{kind: tNum, pos: pos, end: j, text: text, num: n}, nil
}

func (lx *lexer) lexArgToken(pos int) (token, *parseError) {
	r := lx.src[pos]
	if isDash(r) && (unicode.IsLetter(lx.at(pos+1)) || lx.at(pos+1) == '_' || lx.at(pos+1) == '?') {
		j := pos + 1
		for isNameRune(lx.at(j)) || lx.at(j) == '?' {
			j++
		}
		t := token{kind: tParam, pos: pos, end: j, text: string(lx.src[pos+1 : j])}
		if lx.at(j) == ':' {
			t.colon = true
			t.end++
		}
		return t, nil
	}
	t, err := lx.lexWord(pos, modeCommand)
	if err == nil {
		if n, ok := parseNumber(string(lx.src[t.pos:t.end])); ok {
			t.kind, t.num = tNum, n
		}
	}
	return t, err
}

// lexWord reads a bare word up to a blank or a character with meaning. In
// expression mode '=', '[' and ']' also end it (hashtable keys, indexing).
func (lx *lexer) lexWord(pos int, mode lexMode) (token, *parseError) {
	var b strings.Builder
	j := pos
	for j < lx.end {
		r := lx.src[j]
		if isSpace(r) || isNewline(r) || strings.ContainsRune(";|(){},&", r) || isDoubleQuote(r) || isSingleQuote(r) {
			break
		}
		if mode == modeExpr && strings.ContainsRune("=[]", r) {
			break
		}
		if r == '`' {
			if _, ok := lx.continuation(j); ok {
				break
			}
			b.WriteRune(escapeRune(lx.src[j+1]))
			j += 2
			continue
		}
		b.WriteRune(r)
		j++
	}
	if j == pos {
		return token{}, &parseError{pos: pos, id: "UnexpectedToken", msg: "Unexpected token '" + string(lx.src[pos]) + "' in expression or statement."}
	}
	return token{kind: tWord, pos: pos, end: j, text: b.String()}, nil
}

// parseNumber parses a decimal or 0x-hexadecimal number, optionally negative.
func parseNumber(s string) (any, bool) {
	t, neg := s, false
	if strings.HasPrefix(t, "-") {
		t, neg = t[1:], true
	}
	if t == "" || !(isDigit(rune(t[0])) || (t[0] == '.' && len(t) > 1 && isDigit(rune(t[1])))) {
		return nil, false
	}
	if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
		i, err := strconv.ParseInt(t[2:], 16, 64)
		if err != nil {
			return nil, false
		}
		if neg {
			i = -i
		}
		return i, true
	}
	if strings.Trim(t, "0123456789.eE+-") != "" {
		return nil, false
	}
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		if neg {
			i = -i
		}
		return i, true
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, false
	}
	if neg {
		f = -f
	}
	return f, true
}

func tooDeep(pos int) *parseError {
	return &parseError{pos: pos, id: "ScriptTooDeep", msg: "The script is nested too deeply: more than 200 levels of parentheses, braces or sub-expressions."}
}
