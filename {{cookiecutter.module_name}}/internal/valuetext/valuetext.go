// Package valuetext writes values as text the way both flavours of the
// template show them: as ThingsDB code, as a user types it in a query
// (README.md's examples, a failing example's message), and as JSON the way
// Python's json.dumps writes it (module.json, the try-out command's
// replies), floats as Python's repr writes them.
//
// The values are the canonical ones a reply carries: nil, bool, int64,
// uint64, float64, string, []byte, []any and map[string]any. A value of any
// other type, inside a list or a thing too, is given to an Other function,
// or else written as its Go text (fmt.Sprint).
package valuetext

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Other writes v, a value of a type the writers do not know, to b. It may
// call the writer back for the values inside v.
type Other func(b *strings.Builder, v any)

// Code is v as ThingsDB code: nil, true, 42, 1.5, 'text' (a quote in it
// doubled), bytes('...'), [1, 2], {key: 'value'}. The keys of a thing come
// in the order of keyOrder, the others after them sorted.
func Code(v any, keyOrder ...string) string {
	var b strings.Builder
	WriteCode(&b, v, keyOrder, nil)
	return b.String()
}

// WriteCode writes v to b as Code does, and a value of another type with
// other (its Go text when other is nil).
func WriteCode(b *strings.Builder, v any, keyOrder []string, other Other) {
	s := syntax{
		null:   "nil",
		float:  Float,
		str:    codeString,
		bytes:  codeBytes,
		key:    func(key string) string { return key },
		keys:   func(m map[string]any) []string { return orderedKeys(m, keyOrder) },
		goText: func(v any) string { return fmt.Sprint(v) },
	}
	s.write(b, v, other)
}

// codeString is s as a ThingsDB string, a quote in it doubled.
func codeString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// codeBytes is data as ThingsDB code: bytes('...'), one character a byte,
// as Python's latin-1 decoding gives them.
func codeBytes(data []byte) string {
	runes := make([]rune, len(data))
	for i, c := range data {
		runes[i] = rune(c)
	}
	return "bytes(" + codeString(string(runes)) + ")"
}

// orderedKeys are the keys of m: those of order first, in its order, then
// the others sorted.
func orderedKeys(m map[string]any, order []string) []string {
	keys := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, key := range order {
		if _, ok := m[key]; ok && !seen[key] {
			keys = append(keys, key)
			seen[key] = true
		}
	}
	var rest []string
	for key := range m {
		if !seen[key] {
			rest = append(rest, key)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// JSON is v as Python's json.dumps(v, ensure_ascii=False, sort_keys=True)
// writes it: on one line, with ", " and ": " between items, characters
// beyond ASCII as they are, floats as JSONFloat writes them. JSON has no
// bytes: a []byte, like a value of another type, is written as its Go text
// in Go's double quotes (%q).
func JSON(v any) string {
	var b strings.Builder
	WriteJSON(&b, v, nil)
	return b.String()
}

// WriteJSON writes v to b as JSON does, and a []byte or a value of another
// type with other (when not nil).
func WriteJSON(b *strings.Builder, v any, other Other) {
	s := syntax{
		null:  "null",
		float: JSONFloat,
		str:   JSONString,
		key:   JSONString,
		keys: func(m map[string]any) []string {
			keys := make([]string, 0, len(m))
			for key := range m {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			return keys
		},
		goText: func(v any) string { return strconv.Quote(fmt.Sprint(v)) },
	}
	s.write(b, v, other)
}

// syntax is how Code or JSON writes the parts of a value that they write
// differently. Both write a list as [a, b] and a thing as {key: value}.
type syntax struct {
	null   string
	float  func(float64) string
	str    func(string) string
	bytes  func([]byte) string // nil: a []byte is a value of another type
	key    func(string) string
	keys   func(map[string]any) []string // a thing's keys in their order
	goText func(any) string              // a value of another type, when no Other
}

func (s *syntax) write(b *strings.Builder, v any, other Other) {
	switch v := v.(type) {
	case nil:
		b.WriteString(s.null)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		b.WriteString(s.float(v))
	case string:
		b.WriteString(s.str(v))
	case []any:
		b.WriteString("[")
		for i, item := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			s.write(b, item, other)
		}
		b.WriteString("]")
	case map[string]any:
		b.WriteString("{")
		for i, key := range s.keys(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s.key(key) + ": ")
			s.write(b, v[key], other)
		}
		b.WriteString("}")
	default:
		if data, ok := v.([]byte); ok && s.bytes != nil {
			b.WriteString(s.bytes(data))
		} else if other != nil {
			other(b, v)
		} else {
			b.WriteString(s.goText(v))
		}
	}
}

// JSONString is s as a JSON string the way json.dumps(s, ensure_ascii=False)
// writes it: only ", \ and the control characters escaped. A byte that is
// not UTF-8 stays as it is.
func JSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// Float is x as Python's repr writes it: the shortest digits that read back
// as x, with ".0" on a whole number, in exponent form below 1e-4 and from
// 1e16 on (1e-05, 1e+16); inf, -inf and nan.
func Float(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case math.IsNaN(x):
		return "nan"
	}
	if x != 0 && (math.Abs(x) < 1e-4 || math.Abs(x) >= 1e16) {
		return strconv.FormatFloat(x, 'e', -1, 64)
	}
	text := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.Contains(text, ".") {
		text += ".0"
	}
	return text
}

// JSONFloat is x as json.dumps writes it: as Float does, but Infinity,
// -Infinity and NaN.
func JSONFloat(x float64) string {
	switch text := Float(x); text {
	case "inf":
		return "Infinity"
	case "-inf":
		return "-Infinity"
	case "nan":
		return "NaN"
	default:
		return text
	}
}
