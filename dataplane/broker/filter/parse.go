package filter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The grammar, loosest first:
//
//	or      = and { OR and }
//	and     = not { AND not }
//	not     = NOT not | cmp
//	cmp     = unary [ ( "=" | "<>" | "<" | "<=" | ">" | ">=" ) unary
//	                | IS [NOT] NULL
//	                | [NOT] BETWEEN unary AND unary
//	                | [NOT] IN "(" string { "," string } ")"
//	                | [NOT] ( CONTAINS | STARTSWITH | ENDSWITH ) string ]
//	unary   = [ "+" | "-" ] number | string | TRUE | FALSE | NULL | ident | "(" or ")"
//
// A hand-written recursive-descent parser keeps the package free of
// generated code and lets every error say where it happened.

// term is what a production yields: a boolean expression, a value, or both
// (TRUE and FALSE are usable either way).
type term struct {
	b   boolExpr
	v   *operand
	pos int
}

type parser struct {
	toks  []token
	p     int
	depth int
}

func parseSQL(expr string) (Filter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("%w: empty SQL92 expression", ErrSyntax)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	ps := &parser{toks: toks}
	t, err := ps.or()
	if err != nil {
		return nil, err
	}
	if tok := ps.peek(); tok.kind != tEOF {
		return nil, ps.unexpected(tok)
	}
	b, err := asBool(t)
	if err != nil {
		return nil, err
	}
	return sqlFilter{expr: expr, root: b}, nil
}

func (ps *parser) peek() token { return ps.toks[ps.p] }

func (ps *parser) next() token {
	t := ps.toks[ps.p]
	if t.kind != tEOF {
		ps.p++
	}
	return t
}

func (ps *parser) isKw(word string) bool {
	t := ps.peek()
	return t.kind == tKeyword && t.text == word
}

func (ps *parser) isOp(op string) bool {
	t := ps.peek()
	return t.kind == tOp && t.text == op
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return fmt.Sprintf("string %s", value{k: kString, s: t.text})
	case tIdent:
		return fmt.Sprintf("identifier %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (ps *parser) unexpected(t token) error {
	return fmt.Errorf("%w: unexpected %s at %d", ErrSyntax, describe(t), t.pos)
}

func (ps *parser) expectKw(word string) error {
	if !ps.isKw(word) {
		return fmt.Errorf("%w: expected %s, found %s at %d", ErrSyntax, word, describe(ps.peek()), ps.peek().pos)
	}
	ps.next()
	return nil
}

func (ps *parser) expectOp(op string) error {
	if !ps.isOp(op) {
		return fmt.Errorf("%w: expected %q, found %s at %d", ErrSyntax, op, describe(ps.peek()), ps.peek().pos)
	}
	ps.next()
	return nil
}

func (ps *parser) enter(pos int) error {
	ps.depth++
	if ps.depth > maxDepth {
		return fmt.Errorf("%w: expression nested deeper than %d at %d", ErrSyntax, maxDepth, pos)
	}
	return nil
}

func asBool(t term) (boolExpr, error) {
	if t.b == nil {
		return nil, fmt.Errorf("%w: expected a condition at %d, found a value", ErrSyntax, t.pos)
	}
	return t.b, nil
}

func asValue(t term) (operand, error) {
	if t.v == nil {
		return operand{}, fmt.Errorf("%w: expected a value at %d, found a condition", ErrSyntax, t.pos)
	}
	return *t.v, nil
}

func (ps *parser) or() (term, error) {
	l, err := ps.and()
	if err != nil {
		return term{}, err
	}
	for ps.isKw("OR") {
		ps.next()
		r, err := ps.and()
		if err != nil {
			return term{}, err
		}
		lb, err := asBool(l)
		if err != nil {
			return term{}, err
		}
		rb, err := asBool(r)
		if err != nil {
			return term{}, err
		}
		l = term{b: orExpr{lb, rb}, pos: l.pos}
	}
	return l, nil
}

func (ps *parser) and() (term, error) {
	l, err := ps.not()
	if err != nil {
		return term{}, err
	}
	for ps.isKw("AND") {
		ps.next()
		r, err := ps.not()
		if err != nil {
			return term{}, err
		}
		lb, err := asBool(l)
		if err != nil {
			return term{}, err
		}
		rb, err := asBool(r)
		if err != nil {
			return term{}, err
		}
		l = term{b: andExpr{lb, rb}, pos: l.pos}
	}
	return l, nil
}

func (ps *parser) not() (term, error) {
	if !ps.isKw("NOT") {
		return ps.cmp()
	}
	pos := ps.next().pos
	if err := ps.enter(pos); err != nil {
		return term{}, err
	}
	x, err := ps.not()
	ps.depth--
	if err != nil {
		return term{}, err
	}
	b, err := asBool(x)
	if err != nil {
		return term{}, err
	}
	return term{b: notExpr{b}, pos: pos}, nil
}

func isNumber(o operand) bool { return !o.isProp && (o.c.k == kLong || o.c.k == kDouble) }

// checkOrdered refuses constants that cannot be ordered, as Apache's
// checkLessThanOperand does at parse time.
func checkOrdered(o operand, pos int) error {
	if o.isProp || isNumber(o) {
		return nil
	}
	return fmt.Errorf("%w: %s cannot be compared with < > <= >= or BETWEEN (at %d)", ErrSyntax, o.c, pos)
}

func (ps *parser) cmp() (term, error) {
	l, err := ps.unary()
	if err != nil {
		return term{}, err
	}
	tok := ps.peek()
	if tok.kind == tOp {
		switch tok.text {
		case "=", "<>", "<", "<=", ">", ">=":
			ps.next()
			r, err := ps.unary()
			if err != nil {
				return term{}, err
			}
			return ps.comparison(tok, l, r)
		}
		return l, nil
	}
	if tok.kind != tKeyword {
		return l, nil
	}
	if tok.text == "IS" {
		ps.next()
		not := ps.isKw("NOT")
		if not {
			ps.next()
		}
		if err := ps.expectKw("NULL"); err != nil {
			return term{}, err
		}
		x, err := asValue(l)
		if err != nil {
			return term{}, err
		}
		return term{b: isNullExpr{x: x, not: not}, pos: l.pos}, nil
	}
	not := false
	if tok.text == "NOT" {
		// Only a postfix operator may follow a value and NOT; a prefix NOT
		// here would be a syntax error anyway.
		after := ps.toks[min(ps.p+1, len(ps.toks)-1)]
		switch after.text {
		case "BETWEEN", "IN", "CONTAINS", "STARTSWITH", "ENDSWITH":
			if after.kind != tKeyword {
				return l, nil
			}
			ps.next()
			not = true
			tok = ps.peek()
		default:
			return l, nil
		}
	}
	switch tok.text {
	case "BETWEEN":
		ps.next()
		return ps.between(l, not)
	case "IN":
		ps.next()
		return ps.in(l, not)
	case "CONTAINS", "STARTSWITH", "ENDSWITH":
		ps.next()
		x, err := asValue(l)
		if err != nil {
			return term{}, err
		}
		s := ps.peek()
		if s.kind != tString {
			return term{}, fmt.Errorf("%w: %s needs a string, found %s at %d", ErrSyntax, tok.text, describe(s), s.pos)
		}
		ps.next()
		return term{b: strExpr{op: tok.text, x: x, search: s.text, not: not}, pos: l.pos}, nil
	}
	return l, nil
}

func (ps *parser) comparison(op token, l, r term) (term, error) {
	lv, err := asValue(l)
	if err != nil {
		return term{}, err
	}
	rv, err := asValue(r)
	if err != nil {
		return term{}, err
	}
	switch op.text {
	case "=", "<>":
		for _, o := range []operand{lv, rv} {
			if !o.isProp && o.c.k == kNull {
				return term{}, fmt.Errorf("%w: NULL cannot be compared with %s (use IS NULL) at %d", ErrSyntax, op.text, op.pos)
			}
		}
	default:
		if err := checkOrdered(lv, l.pos); err != nil {
			return term{}, err
		}
		if err := checkOrdered(rv, r.pos); err != nil {
			return term{}, err
		}
	}
	return term{b: cmpExpr{op: op.text, l: lv, r: rv}, pos: l.pos}, nil
}

func (ps *parser) between(l term, not bool) (term, error) {
	x, err := asValue(l)
	if err != nil {
		return term{}, err
	}
	lo, err := ps.unary()
	if err != nil {
		return term{}, err
	}
	if err := ps.expectKw("AND"); err != nil {
		return term{}, err
	}
	hi, err := ps.unary()
	if err != nil {
		return term{}, err
	}
	lov, err := asValue(lo)
	if err != nil {
		return term{}, err
	}
	hiv, err := asValue(hi)
	if err != nil {
		return term{}, err
	}
	for _, c := range []struct {
		o   operand
		pos int
	}{{x, l.pos}, {lov, lo.pos}, {hiv, hi.pos}} {
		if err := checkOrdered(c.o, c.pos); err != nil {
			return term{}, err
		}
	}
	if isNumber(lov) && isNumber(hiv) {
		if c, _ := compare(lov.c, hiv.c, true); c > 0 {
			return term{}, fmt.Errorf("%w: BETWEEN %s AND %s: the lower bound is above the upper (at %d)", ErrSyntax, lov.c, hiv.c, lo.pos)
		}
	}
	if not {
		return term{b: orExpr{cmpExpr{"<", x, lov}, cmpExpr{">", x, hiv}}, pos: l.pos}, nil
	}
	return term{b: andExpr{cmpExpr{">=", x, lov}, cmpExpr{"<=", x, hiv}}, pos: l.pos}, nil
}

func (ps *parser) in(l term, not bool) (term, error) {
	x, err := asValue(l)
	if err != nil {
		return term{}, err
	}
	if !x.isProp {
		return term{}, fmt.Errorf("%w: IN needs a property on its left (at %d)", ErrSyntax, l.pos)
	}
	if err := ps.expectOp("("); err != nil {
		return term{}, err
	}
	var set []string
	for {
		s := ps.peek()
		if s.kind != tString {
			return term{}, fmt.Errorf("%w: IN lists strings only, found %s at %d", ErrSyntax, describe(s), s.pos)
		}
		ps.next()
		set = append(set, s.text)
		if ps.isOp(",") {
			ps.next()
			continue
		}
		if err := ps.expectOp(")"); err != nil {
			return term{}, err
		}
		return term{b: inExpr{x: x, set: set, not: not}, pos: l.pos}, nil
	}
}

func (ps *parser) unary() (term, error) {
	tok := ps.next()
	switch tok.kind {
	case tString:
		return term{v: &operand{c: value{k: kString, s: tok.text}}, pos: tok.pos}, nil
	case tLong:
		if tok.u > math.MaxInt64 {
			return term{}, fmt.Errorf("%w: number %s out of range at %d", ErrSyntax, tok.text, tok.pos)
		}
		return term{v: &operand{c: value{k: kLong, i: int64(tok.u)}}, pos: tok.pos}, nil
	case tDouble:
		return term{v: &operand{c: value{k: kDouble, f: tok.f}}, pos: tok.pos}, nil
	case tIdent:
		return term{v: &operand{prop: tok.text, isProp: true}, pos: tok.pos}, nil
	case tKeyword:
		switch tok.text {
		case "TRUE", "FALSE":
			b := tok.text == "TRUE"
			return term{b: constBool(b), v: &operand{c: value{k: kBool, b: b}}, pos: tok.pos}, nil
		case "NULL":
			return term{v: &operand{c: value{k: kNull}}, pos: tok.pos}, nil
		}
	case tOp:
		switch tok.text {
		case "+", "-":
			return ps.signed(tok)
		case "(":
			if err := ps.enter(tok.pos); err != nil {
				return term{}, err
			}
			t, err := ps.or()
			ps.depth--
			if err != nil {
				return term{}, err
			}
			if err := ps.expectOp(")"); err != nil {
				return term{}, err
			}
			t.pos = tok.pos
			return t, nil
		}
	}
	return term{}, ps.unexpected(tok)
}

// signed handles a sign before a numeric literal. Apache also negates
// properties, but those hold strings, so that could only ever fail.
func (ps *parser) signed(sign token) (term, error) {
	n := ps.next()
	neg := sign.text == "-"
	switch n.kind {
	case tLong:
		var i int64
		switch {
		case neg && n.u == 1<<63:
			i = math.MinInt64
		case n.u > math.MaxInt64:
			return term{}, fmt.Errorf("%w: number %s%s out of range at %d", ErrSyntax, sign.text, n.text, sign.pos)
		case neg:
			i = -int64(n.u)
		default:
			i = int64(n.u)
		}
		return term{v: &operand{c: value{k: kLong, i: i}}, pos: sign.pos}, nil
	case tDouble:
		f := n.f
		if neg {
			f = -f
		}
		return term{v: &operand{c: value{k: kDouble, f: f}}, pos: sign.pos}, nil
	}
	return term{}, fmt.Errorf("%w: %q must precede a number, found %s at %d", ErrSyntax, sign.text, describe(n), n.pos)
}

// parseLong and parseDouble convert property strings the way Java's
// Long.valueOf and Double.valueOf do (Double.valueOf trims blanks).
func parseLong(s string) (int64, bool) {
	i, err := strconv.ParseInt(s, 10, 64)
	return i, err == nil
}

func parseDouble(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsRune(s, '_') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
