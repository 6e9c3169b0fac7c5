package filter

import (
	"fmt"
	"math"
	"strings"
)

// SQL92 filters follow Apache RocketMQ's selector language (itself taken from
// ActiveMQ): identifiers name user properties (plus TAGS, the message tag),
// literals are 'strings' ('' escapes a quote), longs (decimal, 0x hex,
// leading-zero octal), doubles and TRUE/FALSE/NULL. Operators: = <> < <= > >=,
// [NOT] BETWEEN a AND b, [NOT] IN ('x', ...), IS [NOT] NULL, [NOT] CONTAINS /
// STARTSWITH / ENDSWITH 'x', AND, OR, NOT and parentheses.
//
// Evaluation uses SQL's three-valued logic: a comparison involving a missing
// property is NULL (unknown), NOT NULL is NULL, and only TRUE matches. So
// "a <> 'x'" does not match a message without a. Property values are strings;
// compared with a number they are converted (Apache's
// convertStringExpressions), and a value that does not convert makes the
// whole expression not match, as Apache's evaluation exception does.
//
// Deliberate differences from Apache, all accepting more rather than less:
// NOT binds looser than comparisons ("NOT a = 'x'" is NOT (a = 'x'); Apache
// rejects it), and a property compared with a long literal may hold a decimal
// ("2.5" > 2 is TRUE; Apache raises NumberFormatException).

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 100

type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
	triErr // a conversion failed; the whole expression does not match
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type kind uint8

const (
	kNull kind = iota
	kString
	kLong
	kDouble
	kBool
)

type value struct {
	k kind
	s string
	i int64
	f float64
	b bool
}

func (v value) String() string {
	switch v.k {
	case kString:
		return "'" + strings.ReplaceAll(v.s, "'", "''") + "'"
	case kLong:
		return fmt.Sprint(v.i)
	case kDouble:
		return fmt.Sprint(v.f)
	case kBool:
		if v.b {
			return "TRUE"
		}
		return "FALSE"
	}
	return "NULL"
}

// operand is a property reference or a constant.
type operand struct {
	prop   string
	isProp bool
	c      value
}

type env struct {
	tag   string
	props map[string]string
}

func (o *operand) get(e *env) value {
	if !o.isProp {
		return o.c
	}
	if o.prop == "TAGS" && e.tag != "" {
		return value{k: kString, s: e.tag}
	}
	if s, ok := e.props[o.prop]; ok {
		return value{k: kString, s: s}
	}
	return value{}
}

type boolExpr interface{ eval(e *env) tri }

type constBool bool

func (c constBool) eval(*env) tri { return triOf(bool(c)) }

type andExpr struct{ l, r boolExpr }

// eval mirrors Apache's LogicExpression: left first, FALSE short-circuits,
// an error anywhere evaluated aborts.
func (x andExpr) eval(e *env) tri {
	l := x.l.eval(e)
	if l == triErr || l == triFalse {
		return l
	}
	r := x.r.eval(e)
	if r == triErr || r == triFalse {
		return r
	}
	if l == triNull || r == triNull {
		return triNull
	}
	return triTrue
}

type orExpr struct{ l, r boolExpr }

func (x orExpr) eval(e *env) tri {
	l := x.l.eval(e)
	if l == triErr || l == triTrue {
		return l
	}
	r := x.r.eval(e)
	if r == triErr || r == triTrue {
		return r
	}
	if l == triNull || r == triNull {
		return triNull
	}
	return triFalse
}

type notExpr struct{ x boolExpr }

func (x notExpr) eval(e *env) tri {
	switch v := x.x.eval(e); v {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	default:
		return v
	}
}

type cmpExpr struct {
	op   string // = <> < <= > >=
	l, r operand
}

func (x cmpExpr) eval(e *env) tri {
	lv, rv := x.l.get(e), x.r.get(e)
	if lv.k == kNull || rv.k == kNull {
		return triNull
	}
	ordering := x.op != "=" && x.op != "<>"
	c, ok := compare(lv, rv, ordering)
	if !ok {
		return triErr
	}
	switch x.op {
	case "=":
		return triOf(c == 0)
	case "<>":
		return triOf(c != 0)
	case "<":
		return triOf(c < 0)
	case "<=":
		return triOf(c <= 0)
	case ">":
		return triOf(c > 0)
	default: // ">="
		return triOf(c >= 0)
	}
}

type isNullExpr struct {
	x   operand
	not bool
}

func (x isNullExpr) eval(e *env) tri { return triOf((x.x.get(e).k == kNull) != x.not) }

type inExpr struct {
	x   operand // always a property
	set []string
	not bool
}

func (x inExpr) eval(e *env) tri {
	v := x.x.get(e)
	if v.k != kString {
		return triNull
	}
	return triOf(contains(x.set, v.s) != x.not)
}

// strExpr is CONTAINS / STARTSWITH / ENDSWITH. Apache answers FALSE (not
// NULL) for a missing property or an empty search string, with or without NOT.
type strExpr struct {
	op     string
	x      operand
	search string
	not    bool
}

func (x strExpr) eval(e *env) tri {
	v := x.x.get(e)
	if x.search == "" || v.k != kString {
		return triFalse
	}
	var hit bool
	switch x.op {
	case "CONTAINS":
		hit = strings.Contains(v.s, x.search)
	case "STARTSWITH":
		hit = strings.HasPrefix(v.s, x.search)
	default:
		hit = strings.HasSuffix(v.s, x.search)
	}
	return triOf(hit != x.not)
}

type sqlFilter struct {
	expr string
	root boolExpr
}

func (f sqlFilter) Match(tag string, props map[string]string) bool {
	return f.root.eval(&env{tag: tag, props: props}) == triTrue
}

func (f sqlFilter) String() string { return f.expr }

// compare orders two non-null values the way Apache's ComparisonExpression
// does with string conversion on. ok is false when a conversion fails.
func compare(a, b value, ordering bool) (int, bool) {
	if a.k == kString && b.k == kString {
		if !ordering {
			return strings.Compare(a.s, b.s), true
		}
		// Apache compares two strings by < > only as doubles.
		x, ok1 := parseDouble(a.s)
		y, ok2 := parseDouble(b.s)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmpFloat(x, y), true
	}
	if a.k == kString {
		c, ok := compare(b, a, ordering)
		return -c, ok
	}
	if b.k == kString {
		conv, ok := convert(b.s, a.k)
		if !ok {
			return 0, false
		}
		b = conv
	}
	switch {
	case a.k == kBool && b.k == kBool:
		return cmpBool(a.b, b.b), true
	case a.k == kBool || b.k == kBool:
		// Apache: a boolean never equals a number.
		return -1, true
	case a.k == kLong && b.k == kLong:
		return cmpInt(a.i, b.i), true
	default:
		return cmpFloat(asFloat(a), asFloat(b)), true
	}
}

// convert turns a property string into the kind of the literal it meets.
func convert(s string, k kind) (value, bool) {
	switch k {
	case kBool:
		return value{k: kBool, b: strings.EqualFold(s, "true")}, true
	case kLong:
		if i, ok := parseLong(s); ok {
			return value{k: kLong, i: i}, true
		}
		f, ok := parseDouble(s)
		return value{k: kDouble, f: f}, ok
	default:
		f, ok := parseDouble(s)
		return value{k: kDouble, f: f}, ok
	}
}

func asFloat(v value) float64 {
	if v.k == kLong {
		return float64(v.i)
	}
	return v.f
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	// NaN: like Java's Double.compareTo, NaN sorts above everything and
	// equals itself.
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	}
	return -1
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
