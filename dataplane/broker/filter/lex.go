package filter

import (
	"fmt"
	"strconv"
	"strings"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tLong
	tDouble
	tKeyword // AND OR NOT BETWEEN IN IS NULL TRUE FALSE CONTAINS STARTSWITH ENDSWITH
	tOp      // = <> < <= > >= ( ) , + -
)

type token struct {
	kind tokKind
	text string // keyword upper-cased; op as written; string unquoted
	pos  int    // byte offset, for error messages
	// u is an integer literal's magnitude. It may be 1<<63, which only fits
	// an int64 when negated; the parser checks that.
	u uint64
	f float64
}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "BETWEEN": true, "IN": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "CONTAINS": true, "STARTSWITH": true,
	"ENDSWITH": true,
}

// maxExprLen bounds parse work; real selectors are a few hundred bytes.
const maxExprLen = 64 << 10

func lex(src string) ([]token, error) {
	if len(src) > maxExprLen {
		return nil, fmt.Errorf("%w: expression longer than %d bytes", ErrSyntax, maxExprLen)
	}
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			if up := strings.ToUpper(word); keywords[up] {
				toks = append(toks, token{kind: tKeyword, text: up, pos: i})
			} else {
				toks = append(toks, token{kind: tIdent, text: word, pos: i})
			}
			i = j
		case c == '\'':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tString, text: s, pos: i})
			i = n
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			t, n, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = n
		case c == '<':
			switch {
			case strings.HasPrefix(src[i:], "<>"), strings.HasPrefix(src[i:], "<="):
				toks = append(toks, token{kind: tOp, text: src[i : i+2], pos: i})
				i += 2
			default:
				toks = append(toks, token{kind: tOp, text: "<", pos: i})
				i++
			}
		case c == '>':
			if strings.HasPrefix(src[i:], ">=") {
				toks = append(toks, token{kind: tOp, text: ">=", pos: i})
				i += 2
			} else {
				toks = append(toks, token{kind: tOp, text: ">", pos: i})
				i++
			}
		case c == '=' || c == '(' || c == ')' || c == ',' || c == '+' || c == '-':
			toks = append(toks, token{kind: tOp, text: string(c), pos: i})
			i++
		default:
			return nil, fmt.Errorf("%w: unexpected character %q at %d", ErrSyntax, rune(c), i)
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '.' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// lexString reads a single-quoted literal; ” inside stands for one quote.
func lexString(src string, start int) (string, int, error) {
	var b strings.Builder
	i := start + 1
	for i < len(src) {
		if src[i] == '\'' {
			if i+1 < len(src) && src[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			return b.String(), i + 1, nil
		}
		b.WriteByte(src[i])
		i++
	}
	return "", 0, fmt.Errorf("%w: unterminated string starting at %d", ErrSyntax, start)
}

// lexNumber follows the JMS/RocketMQ literal grammar: decimal (optional L
// suffix), 0x hex, leading-zero octal, and floating point with exponent.
func lexNumber(src string, start int) (token, int, error) {
	i := start
	bad := func() (token, int, error) {
		end := i
		for end < len(src) && (isIdentPart(src[end])) {
			end++
		}
		return token{}, 0, fmt.Errorf("%w: malformed number %q at %d", ErrSyntax, src[start:end], start)
	}
	if src[i] == '0' && i+1 < len(src) && (src[i+1] == 'x' || src[i+1] == 'X') {
		i += 2
		j := i
		for j < len(src) && isHex(src[j]) {
			j++
		}
		if j == i {
			return bad()
		}
		v, err := strconv.ParseUint(src[i:j], 16, 63)
		i = j
		if err != nil || (i < len(src) && isIdentPart(src[i])) {
			return bad()
		}
		return token{kind: tLong, text: src[start:i], pos: start, u: v}, i, nil
	}
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	float := false
	if i < len(src) && src[i] == '.' {
		float = true
		i++
		for i < len(src) && isDigit(src[i]) {
			i++
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		float = true
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := i
		for i < len(src) && isDigit(src[i]) {
			i++
		}
		if i == j {
			return bad()
		}
	}
	text := src[start:i]
	if float {
		if i < len(src) && (src[i] == 'd' || src[i] == 'D' || src[i] == 'f' || src[i] == 'F') {
			i++
		}
		if i < len(src) && isIdentPart(src[i]) {
			return bad()
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return bad()
		}
		return token{kind: tDouble, text: text, pos: start, f: v}, i, nil
	}
	if i < len(src) && (src[i] == 'l' || src[i] == 'L') {
		i++
	}
	if i < len(src) && isIdentPart(src[i]) {
		return bad()
	}
	base := 10
	if len(text) > 1 && text[0] == '0' {
		base = 8
	}
	v, err := strconv.ParseUint(text, base, 64)
	if err != nil || v > 1<<63 {
		return bad()
	}
	return token{kind: tLong, text: text, pos: start, u: v}, i, nil
}
