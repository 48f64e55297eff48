package manifest

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The events of the JSON text, the way yajl 2 reports them to its callbacks
// for one yajl_parse() call on the whole file.

// kind is the kind of an event (and, for kindPunct, of a lexer token).
type kind uint8

const (
	kindNull kind = iota
	kindBoolean
	kindInteger
	kindDouble
	kindString
	kindStartMap
	kindStartArray
	kindEndMap
	kindEndArray
	kindKey
	kindPunct // lexer only: one of { } [ ] : ,
)

// event is one callback: a scalar, a map key, or the start or end of a map
// or an array.
type event struct {
	kind    kind
	text    string // a string's or a key's value
	punct   byte   // kindPunct's character
	integer int64
	double  float64
	boolean bool
}

var (
	// errEnd ends the events quietly: the text is read, or it ends inside a
	// token, which yajl keeps buffered without an error because the server
	// never calls yajl_complete_parse().
	errEnd = errors.New("end of the text")
	// errSyntax is any error yajl reports; the server words them all as
	// allocError.
	errSyntax = errors.New("invalid JSON")
)

// maxInteger is LLONG_MAX as yajl_parse_integer() compares digits with it.
const maxInteger = "9223372036854775807"

// lexer splits the text into tokens as yajl_lex.c does.
type lexer struct {
	text string
	pos  int
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unescape is the character a backslash escape other than \u stands for,
// and whether there is one.
func unescape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// is reports whether e is the punctuation token c.
func (e event) is(c byte) bool { return e.kind == kindPunct && e.punct == c }

// next returns the next token.
func (l *lexer) next() (event, error) {
	t := l.text
	for l.pos < len(t) && isJSONSpace(t[l.pos]) {
		l.pos++
	}
	if l.pos >= len(t) {
		return event{}, errEnd
	}
	switch c := t[l.pos]; {
	case strings.IndexByte("{}[]:,", c) >= 0:
		l.pos++
		return event{kind: kindPunct, punct: c}, nil
	case c == '"':
		return l.string()
	case c == '-' || isDigit(c):
		return l.number()
	case c == 't':
		return l.literal("true", event{kind: kindBoolean, boolean: true})
	case c == 'f':
		return l.literal("false", event{kind: kindBoolean})
	case c == 'n':
		return l.literal("null", event{kind: kindNull})
	}
	// a comment ("//", "/*") too: the server's yajl does not allow them
	return event{}, errSyntax
}

// string reads the string whose quote is at l.pos. Like yajl, it first
// finds where the string ends, checking escapes and control characters,
// then decodes the escapes.
func (l *lexer) string() (event, error) {
	t := l.text
	i := l.pos + 1
	for {
		if i >= len(t) {
			return event{}, errEnd
		}
		c := t[i]
		switch {
		case c == '"':
			value := decode(t[l.pos+1 : i])
			l.pos = i + 1
			return event{kind: kindString, text: value}, nil
		case c < ' ':
			return event{}, errSyntax
		case c != '\\':
			i++
		case i+1 >= len(t):
			return event{}, errEnd
		case t[i+1] == 'u':
			for k := i + 2; k < i+6; k++ {
				if k >= len(t) {
					return event{}, errEnd
				}
				if !isHex(t[k]) {
					return event{}, errSyntax
				}
			}
			i += 6
		default:
			if _, ok := unescape(t[i+1]); !ok {
				return event{}, errSyntax
			}
			i += 2
		}
	}
}

// hex4 is the value of the four hex digits at raw[i:], if there are four.
func hex4(raw string, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var code rune
	for _, c := range []byte(raw[i : i+4]) {
		switch {
		case isDigit(c):
			code = code<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			code = code<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			code = code<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return code, true
}

// decode is yajl_string_decode() on the text between the quotes, whose
// escapes the lexer checked.
//
// yajl pairs a high surrogate with whatever \uXXXX escape follows, by its
// own formula; without one it writes "?" and skips the next character. A
// skipped backslash leaves the escape it started half read: yajl then
// writes "?" for it. A lone low surrogate is kept as it is, so the result
// may hold surrogates, encoded like any other code point (WTF-8).
func decode(raw string) string {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			out = append(out, raw[i])
			i++
			continue
		}
		if i+1 >= len(raw) {
			out = append(out, '?')
			break
		}
		if raw[i+1] != 'u' {
			c, ok := unescape(raw[i+1])
			if !ok {
				c = '?'
			}
			out = append(out, c)
			i += 2
			continue
		}
		code, ok := hex4(raw, i+2)
		if !ok {
			out = append(out, '?')
			i += 2
			continue
		}
		i += 6
		if code&0xFC00 == 0xD800 {
			low, paired := rune(0), strings.HasPrefix(raw[i:], `\u`)
			if paired {
				low, paired = hex4(raw, i+2)
			}
			if !paired {
				out = append(out, '?')
				if i < len(raw) {
					_, size := utf8.DecodeRuneInString(raw[i:])
					i += size
				}
				continue
			}
			i += 6
			code = (code&0x3F)<<10 | ((code>>6)&0xF+1)<<16 | low&0x3FF
		}
		out = appendCode(out, code)
	}
	return string(out)
}

// number reads a number the way yajl_lex_number() does. yajl must see the
// character after a number to know it ended, so a number that runs to the
// very end of the text is never reported (errEnd).
func (l *lexer) number() (event, error) {
	t, start := l.text, l.pos
	i := start
	if t[i] == '-' {
		i++
	}
	if i >= len(t) {
		return event{}, errEnd
	}
	var err error
	if t[i] == '0' {
		i++
	} else if i, err = digits(t, i); err != nil {
		return event{}, err
	}
	double := false
	if i < len(t) && t[i] == '.' {
		if i, err = digits(t, i+1); err != nil {
			return event{}, err
		}
		double = true
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		if i, err = digits(t, i); err != nil {
			return event{}, err
		}
		double = true
	}
	if i >= len(t) {
		return event{}, errEnd
	}
	raw := t[start:i]
	l.pos = i
	if !double {
		// Compared as digits: a 100,000-digit number costs no more than its
		// length. Like yajl_parse_integer(), -9223372036854775808 overflows.
		magnitude := strings.TrimPrefix(raw, "-")
		if len(magnitude) > len(maxInteger) ||
			len(magnitude) == len(maxInteger) && magnitude > maxInteger {
			return event{}, errSyntax // "integer overflow"
		}
		value, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return event{}, errSyntax
		}
		return event{kind: kindInteger, integer: value}, nil
	}
	// strtod(): only an overflow to HUGE_VAL is an error, an underflow is not
	value, _ := strconv.ParseFloat(raw, 64)
	if math.IsInf(value, 0) {
		return event{}, errSyntax // "numeric (floating point) overflow"
	}
	return event{kind: kindDouble, double: value}, nil
}

// digits skips the digits at t[i:], of which there must be one, and returns
// where they end; errEnd when they run to the end of the text.
func digits(t string, i int) (int, error) {
	if i >= len(t) {
		return i, errEnd
	}
	if !isDigit(t[i]) {
		return i, errSyntax // "malformed number, a digit is required"
	}
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i >= len(t) {
		return i, errEnd
	}
	return i, nil
}

// literal reads true, false or null, whose first letter is at l.pos.
func (l *lexer) literal(word string, token event) (event, error) {
	rest := l.text[l.pos:]
	n := min(len(rest), len(word))
	if rest[:n] != word[:n] {
		return event{}, errSyntax // "invalid string in JSON text"
	}
	if n < len(word) {
		return event{}, errEnd
	}
	l.pos += len(word)
	return token, nil
}
