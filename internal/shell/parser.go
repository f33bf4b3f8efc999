package shell

import (
	"strings"
)

// Statements.
type stmt interface{ isStmt() }

// pipeline is `first | cmds[0] | cmds[1] …`; first, an expression, may be nil.
type pipeline struct {
	first expr
	cmds  []*command
}

type assignStmt struct {
	name  string
	add   bool // +=
	value *pipeline
}

type ifStmt struct {
	conds     []*pipeline
	blocks    [][]stmt
	elseBlock []stmt
}

type foreachStmt struct {
	name string
	coll *pipeline
	body []stmt
}

type exitStmt struct{ code expr }

func (*pipeline) isStmt()    {}
func (*assignStmt) isStmt()  {}
func (*ifStmt) isStmt()      {}
func (*foreachStmt) isStmt() {}
func (*exitStmt) isStmt()    {}

// command is a command name with its elements in source order.
type command struct {
	name string
	args []cmdArg
}

// cmdArg is one command element: a parameter (-Name, -Name:value) or a
// positional argument. Which argument a parameter takes is decided at
// binding time, when the parameter kinds are known.
type cmdArg struct {
	param string // parameter name as written, without the dash; "" for an argument
	colon bool   // -Name:value
	value expr   // the argument; nil for a parameter without an attached value
}

// Expressions.
type expr interface{ isExpr() }

type literal struct{ val any }           // string, int64 or float64
type varRef struct{ name string }        // $name
type expandString struct{ parts []expr } // "…$x…$(…)…"
type arrayExpr struct{ elems []expr }    // a, b, c
type subExpr struct {                    // $(…) or @(…)
	body  []stmt
	array bool
}
type parenExpr struct{ p *pipeline } // (…)
type hashExpr struct {               // @{k = v; …}
	keys []expr
	vals []*pipeline
}
type memberExpr struct { // x.Name
	target expr
	name   string
}
type indexExpr struct{ target, index expr } // x[i]
type methodCall struct {                    // x.Name(args)
	target expr
	name   string
	args   []expr
}
type unaryExpr struct { // !x, -not x, -x
	op string
	x  expr
}
type binaryExpr struct { // x -op y
	op   string
	x, y expr
}

// scriptBlock is both the {…} literal and its value at run time. text is the
// literal inner source, trimmed: what a string parameter receives.
type scriptBlock struct {
	text string
	body []stmt
}

func (*literal) isExpr()      {}
func (*varRef) isExpr()       {}
func (*expandString) isExpr() {}
func (*arrayExpr) isExpr()    {}
func (*subExpr) isExpr()      {}
func (*parenExpr) isExpr()    {}
func (*hashExpr) isExpr()     {}
func (*memberExpr) isExpr()   {}
func (*indexExpr) isExpr()    {}
func (*methodCall) isExpr()   {}
func (*unaryExpr) isExpr()    {}
func (*binaryExpr) isExpr()   {}
func (*scriptBlock) isExpr()  {}

type parser struct {
	lx      *lexer
	pos     int
	depth   int
	bounded bool // parsing a $(…) inside a string: its end is not the end of the input

	cache struct {
		pos  int
		mode lexMode
		tok  token
		ok   bool
	}
}

// parse parses a whole script. Errors are *parseError.
func parse(src []rune) (stmts []stmt, err error) {
	p := &parser{lx: &lexer{src: src, end: len(src)}}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*parseError)
			if !ok {
				panic(r)
			}
			err = pe
		}
	}()
	return p.statements(tEOF), nil
}

// The parser reports errors by panicking with a *parseError, recovered in parse.
func (p *parser) fail(err *parseError) {
	if p.bounded {
		err.incomplete = false
	}
	panic(err)
}

func (p *parser) failTok(t token, id, msg string) {
	p.fail(&parseError{pos: t.pos, id: id, msg: msg, incomplete: t.kind == tEOF})
}

func (p *parser) unexpected(t token) {
	if t.kind == tEOF {
		p.failTok(t, "IncompleteInput", "The statement is incomplete: the input ended unexpectedly.")
	}
	p.failTok(t, "UnexpectedToken", "Unexpected token '"+string(p.lx.src[t.pos:t.end])+"' in expression or statement.")
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(tooDeep(p.pos))
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek(mode lexMode) token {
	if c := &p.cache; c.ok && c.pos == p.pos && c.mode == mode {
		return c.tok
	}
	t, err := p.lx.lex(p.pos, mode)
	if err != nil {
		p.fail(err)
	}
	p.cache.pos, p.cache.mode, p.cache.tok, p.cache.ok = p.pos, mode, t, true
	return t
}

func (p *parser) next(mode lexMode) token {
	t := p.peek(mode)
	p.pos = t.end
	return t
}

func (p *parser) expect(kind tokKind, id, msg string) token {
	t := p.peek(modeExpr)
	if t.kind != kind {
		p.failTok(t, id, msg)
	}
	p.pos = t.end
	return t
}

func (p *parser) skipNewlines() {
	pos, err := p.lx.skipSpace(p.pos, true)
	if err != nil {
		p.fail(err)
	}
	p.pos = pos
}

func isWord(t token, word string) bool { return t.kind == tWord && strings.EqualFold(t.text, word) }

// ends reports whether t ends a command or statement.
func ends(t token) bool {
	switch t.kind {
	case tEOF, tNewline, tSemi, tPipe, tRParen, tRBrace:
		return true
	}
	return false
}

// statements parses statements separated by newlines or ';' up to term
// (tEOF, tRBrace or tRParen), which it does not consume.
func (p *parser) statements(term tokKind) []stmt {
	p.enter()
	defer p.leave()
	var list []stmt
	for {
		t := p.peek(modeExpr)
		switch t.kind {
		case tNewline, tSemi:
			p.pos = t.end
			continue
		case tEOF, term:
			return list
		case tPipe:
			p.failTok(t, "EmptyPipeElement", "An empty pipe element is not allowed.")
		case tRParen, tRBrace, tRBracket:
			p.unexpected(t)
		}
		list = append(list, p.statement())
		if t := p.peek(modeExpr); t.kind != tNewline && t.kind != tSemi && t.kind != term && t.kind != tEOF {
			p.unexpected(t)
		}
	}
}

func (p *parser) statement() stmt {
	t := p.peek(modeExpr)
	switch {
	case isWord(t, "if"):
		return p.ifStatement()
	case isWord(t, "foreach"):
		return p.foreachStatement()
	case isWord(t, "exit"):
		p.pos = t.end
		st := &exitStmt{}
		if !ends(p.peek(modeExpr)) {
			st.code = p.expression()
		}
		return st
	case isWord(t, "else"), isWord(t, "elseif"):
		p.unexpected(t)
	case t.kind == tVar:
		if op, err := p.lx.lex(t.end, modeExpr); err == nil && op.kind == tOp && (op.text == "=" || op.text == "+=") {
			p.pos = op.end
			p.skipNewlines()
			return &assignStmt{name: t.text, add: op.text == "+=", value: p.pipeline()}
		}
	}
	return p.pipeline()
}

func (p *parser) ifStatement() stmt {
	p.next(modeExpr) // if
	st := &ifStmt{}
	for {
		st.conds = append(st.conds, p.condition("if"))
		st.blocks = append(st.blocks, p.block())
		save := p.pos
		p.skipNewlines()
		t := p.peek(modeExpr)
		switch {
		case isWord(t, "elseif"):
			p.pos = t.end
		case isWord(t, "else"):
			p.pos = t.end
			st.elseBlock = p.block()
			return st
		default:
			p.pos = save
			return st
		}
	}
}

func (p *parser) foreachStatement() stmt {
	p.next(modeExpr) // foreach
	p.expect(tLParen, "MissingOpenParenthesisAfterKeyword", "Missing opening '(' after keyword 'foreach'.")
	p.skipNewlines()
	v := p.expect(tVar, "MissingVariableNameAfterForeach", "Missing variable name after foreach.")
	if t := p.next(modeExpr); !isWord(t, "in") {
		p.failTok(t, "MissingInInForeach", "Missing 'in' after variable in foreach loop.")
	}
	p.skipNewlines()
	coll := p.pipeline()
	p.skipNewlines()
	p.expect(tRParen, "MissingEndParenthesisAfterForeach", "Missing closing ')' after expression in 'foreach' statement.")
	return &foreachStmt{name: v.text, coll: coll, body: p.block()}
}

func (p *parser) condition(keyword string) *pipeline {
	p.expect(tLParen, "MissingOpenParenthesisInIfStatement", "Missing '(' after '"+keyword+"' in "+keyword+" statement.")
	p.skipNewlines()
	c := p.pipeline()
	p.skipNewlines()
	p.expect(tRParen, "MissingEndParenthesisAfterStatement", "Missing closing ')' after expression in '"+keyword+"' statement.")
	return c
}

func (p *parser) block() []stmt {
	p.skipNewlines()
	p.expect(tLBrace, "MissingStatementBlock", "Missing statement block.")
	body := p.statements(tRBrace)
	p.expect(tRBrace, "MissingEndCurlyBrace", "Missing closing '}' in statement block or type definition.")
	return body
}

func (p *parser) pipeline() *pipeline {
	pl := &pipeline{}
	for {
		t := p.peek(modeExpr)
		switch {
		case t.kind == tWord:
			pl.cmds = append(pl.cmds, p.command())
		case pl.first == nil && len(pl.cmds) == 0:
			pl.first = p.expression()
		default:
			p.failTok(t, "ExpressionsMustBeFirstInPipeline", "Expressions are only allowed as the first element of a pipeline.")
		}
		t = p.peek(modeExpr)
		if t.kind != tPipe {
			return pl
		}
		p.pos = t.end
		p.skipNewlines()
		if t := p.peek(modeExpr); ends(t) {
			p.failTok(t, "EmptyPipeElement", "An empty pipe element is not allowed.")
		}
	}
}

func (p *parser) command() *command {
	c := &command{name: p.next(modeExpr).text}
	for {
		t := p.peek(modeCommand)
		switch {
		case ends(t):
			return c
		case t.kind == tParam:
			p.pos = t.end
			a := cmdArg{param: t.text, colon: t.colon}
			if t.colon && !ends(p.peek(modeCommand)) {
				a.value = p.commandArgument()
			}
			c.args = append(c.args, a)
		case t.kind == tComma:
			p.failTok(t, "MissingArgument", "Missing argument in parameter list.")
		default:
			c.args = append(c.args, cmdArg{value: p.commandArgument()})
		}
	}
}

// commandArgument parses one argument in argument mode, including a
// comma-separated array.
func (p *parser) commandArgument() expr {
	first := p.argumentPrimary()
	if p.peek(modeCommand).kind != tComma {
		return first
	}
	arr := &arrayExpr{elems: []expr{first}}
	for t := p.peek(modeCommand); t.kind == tComma; t = p.peek(modeCommand) {
		p.pos = t.end
		p.skipNewlines()
		if v := p.peek(modeCommand); ends(v) || v.kind == tComma || v.kind == tParam {
			p.failTok(v, "MissingExpressionAfterToken", "Missing expression after ','.")
		}
		arr.elems = append(arr.elems, p.argumentPrimary())
	}
	return arr
}

func (p *parser) argumentPrimary() expr {
	t := p.peek(modeCommand)
	switch t.kind {
	case tWord:
		p.pos = t.end
		return &literal{val: t.text}
	case tNum:
		p.pos = t.end
		return &literal{val: t.num}
	case tStr, tExpStr:
		return p.primary(modeCommand)
	}
	return p.postfix(p.primary(modeCommand))
}

// Expression mode, by increasing precedence: -and -or -xor; comparison
// operators; + -; the comma; unary operators; member access and indexing.
func (p *parser) expression() expr {
	x := p.comparison()
	for {
		t := p.peek(modeExpr)
		if t.kind != tOp || (t.text != "-and" && t.text != "-or" && t.text != "-xor") {
			return x
		}
		p.pos = t.end
		p.skipNewlines()
		x = &binaryExpr{op: t.text, x: x, y: p.comparison()}
	}
}

func (p *parser) comparison() expr {
	x := p.additive()
	for {
		t := p.peek(modeExpr)
		if t.kind != tOp || !exprOperators[t.text] || t.text == "-and" || t.text == "-or" || t.text == "-xor" || t.text == "-not" {
			return x
		}
		p.pos = t.end
		p.skipNewlines()
		x = &binaryExpr{op: t.text, x: x, y: p.additive()}
	}
}

func (p *parser) additive() expr {
	x := p.array()
	for {
		t := p.peek(modeExpr)
		if t.kind != tOp || (t.text != "+" && t.text != "-") {
			return x
		}
		p.pos = t.end
		p.skipNewlines()
		x = &binaryExpr{op: t.text, x: x, y: p.array()}
	}
}

func (p *parser) array() expr {
	x := p.unary()
	if p.peek(modeExpr).kind != tComma {
		return x
	}
	arr := &arrayExpr{elems: []expr{x}}
	for t := p.peek(modeExpr); t.kind == tComma; t = p.peek(modeExpr) {
		p.pos = t.end
		p.skipNewlines()
		arr.elems = append(arr.elems, p.unary())
	}
	return arr
}

func (p *parser) unary() expr {
	t := p.peek(modeExpr)
	if t.kind == tOp && (t.text == "!" || t.text == "-not" || t.text == "-" || t.text == "+") {
		p.enter()
		defer p.leave()
		p.pos = t.end
		p.skipNewlines()
		return &unaryExpr{op: t.text, x: p.unary()}
	}
	return p.postfix(p.primary(modeExpr))
}

func (p *parser) primary(mode lexMode) expr {
	p.enter()
	defer p.leave()
	t := p.peek(mode)
	switch t.kind {
	case tVar:
		p.pos = t.end
		return &varRef{name: t.text}
	case tNum:
		p.pos = t.end
		return &literal{val: t.num}
	case tStr:
		p.pos = t.end
		return &literal{val: t.text}
	case tExpStr:
		p.pos = t.end
		return p.expandable(t)
	case tLParen:
		p.pos = t.end
		p.skipNewlines()
		if e := p.peek(modeExpr); e.kind == tRParen {
			p.failTok(e, "ExpectedExpression", "An expression was expected after '('.")
		}
		pl := p.pipeline()
		p.skipNewlines()
		p.expect(tRParen, "MissingEndParenthesisInExpression", "Missing closing ')' in expression.")
		return &parenExpr{p: pl}
	case tSubExpr, tArrayExpr:
		p.pos = t.end
		body := p.statements(tRParen)
		p.expect(tRParen, "MissingEndParenthesisInSubexpression", "Missing closing ')' in subexpression.")
		return &subExpr{body: body, array: t.kind == tArrayExpr}
	case tHash:
		p.pos = t.end
		return p.hashLiteral()
	case tLBrace:
		p.pos = t.end
		body := p.statements(tRBrace)
		end := p.expect(tRBrace, "MissingEndCurlyBrace", "Missing closing '}' in statement block or type definition.")
		return &scriptBlock{text: strings.TrimSpace(string(p.lx.src[t.end:end.pos])), body: body}
	case tLBracket:
		p.failTok(t, "TypeLiteralNotSupported", "Type literals and casts such as [string] are not supported by this shell.")
	}
	p.unexpected(t)
	return nil
}

func (p *parser) hashLiteral() expr {
	h := &hashExpr{}
	for {
		t := p.peek(modeExpr)
		switch t.kind {
		case tNewline, tSemi:
			p.pos = t.end
			continue
		case tRBrace:
			p.pos = t.end
			return h
		case tWord:
			p.pos = t.end
			h.keys = append(h.keys, &literal{val: t.text})
		case tStr, tExpStr, tNum, tVar:
			h.keys = append(h.keys, p.primary(modeExpr))
		case tEOF:
			p.failTok(t, "IncompleteHashLiteral", "The hash literal was incomplete.")
		default:
			p.failTok(t, "MissingEqualsInHashLiteral", "Missing '=' operator after key in hash literal.")
		}
		if eq := p.peek(modeExpr); eq.kind != tOp || eq.text != "=" {
			p.failTok(eq, "MissingEqualsInHashLiteral", "Missing '=' operator after key in hash literal.")
		}
		p.pos = p.peek(modeExpr).end
		p.skipNewlines()
		h.vals = append(h.vals, p.pipeline())
		if t := p.peek(modeExpr); t.kind != tNewline && t.kind != tSemi && t.kind != tRBrace {
			p.failTok(t, "MissingEndCurlyBrace", "Missing closing '}' or ';' in hash literal.")
		}
	}
}

// postfix parses .Member, .Method(args) and [index]; PowerShell allows no
// blank before them.
func (p *parser) postfix(x expr) expr {
	p.enter()
	defer p.leave()
	for {
		switch r := p.lx.at(p.pos); {
		case r == '.' && (isNameRune(p.lx.at(p.pos+1)) || isSingleQuote(p.lx.at(p.pos+1)) || isDoubleQuote(p.lx.at(p.pos+1))):
			p.pos++
			var name string
			if t := p.peek(modeExpr); t.kind == tStr {
				p.pos, name = t.end, t.text
			} else if t.kind == tExpStr {
				p.pos, name = t.end, string(p.lx.src[t.pos+1:t.end-1])
			} else {
				start := p.pos
				for isNameRune(p.lx.at(p.pos)) {
					p.pos++
				}
				name = string(p.lx.src[start:p.pos])
			}
			if p.lx.at(p.pos) != '(' {
				x = &memberExpr{target: x, name: name}
				continue
			}
			p.pos++
			p.skipNewlines()
			m := &methodCall{target: x, name: name}
			if k := p.peek(modeExpr).kind; k != tRParen && k != tEOF {
				arg := p.expression()
				if arr, ok := arg.(*arrayExpr); ok {
					m.args = arr.elems
				} else {
					m.args = []expr{arg}
				}
				p.skipNewlines()
			}
			p.expect(tRParen, "MissingEndParenthesisInMethodCall", "Missing closing ')' in method call.")
			x = m
		case r == '[':
			p.pos++
			p.skipNewlines()
			idx := p.expression()
			p.skipNewlines()
			p.expect(tRBracket, "MissingEndSquareBracket", "Missing ']' after array index expression.")
			x = &indexExpr{target: x, index: idx}
		default:
			return x
		}
	}
}

// expandable turns the content of a double-quoted string into literal text
// and the $var, ${var} and $(…) parts to evaluate. "$x.Name" expands only $x.
func (p *parser) expandable(t token) expr {
	src := p.lx.src
	start, end := t.pos+1, t.end-1
	var parts []expr
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, &literal{val: b.String()})
			b.Reset()
		}
	}
	for i := start; i < end; {
		r := src[i]
		next := rune(eof)
		if i+1 < end {
			next = src[i+1]
		}
		switch {
		case r == '`' && next != eof:
			b.WriteRune(escapeRune(next))
			i += 2
		case isDoubleQuote(r) && isDoubleQuote(next):
			b.WriteRune(r)
			i += 2
		case r == '$' && next == '(':
			close, err := p.lx.skipSubExpr(i+2, p.depth)
			if err != nil {
				p.fail(err)
			}
			sub := &parser{lx: &lexer{src: src, end: close - 1}, pos: i + 2, depth: p.depth + 1, bounded: true}
			flush()
			parts = append(parts, &subExpr{body: sub.statements(tEOF)})
			i = close
		case r == '$' && next == '{':
			tok, err := p.lx.lexBracedVar(i)
			if err != nil || tok.end > end {
				p.fail(&parseError{pos: i, id: "IncompleteDollarVariableReference", msg: "Missing '}' in variable reference ${…}."})
			}
			flush()
			parts = append(parts, &varRef{name: tok.text})
			i = tok.end
		case r == '$' && isNameRune(next):
			name, j := p.lx.varName(i + 1)
			flush()
			parts = append(parts, &varRef{name: name})
			i = j
		default:
			b.WriteRune(r)
			i++
		}
	}
	flush()
	switch {
	case len(parts) == 0:
		return &literal{val: ""}
	case len(parts) == 1:
		if l, ok := parts[0].(*literal); ok {
			return l
		}
	}
	return &expandString{parts: parts}
}
