package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// The kinds of error ParseJSON and ParseArgument return, for errors.Is.
var (
	ErrNotJSON     = errors.New("not JSON")
	ErrTooDeep     = errors.New("nested too deeply")
	ErrNotPackable = errors.New("cannot be sent as MessagePack")
)

// maxJSONDepth is the deepest nesting ParseJSON reads (Python's json stops
// at about the same depth).
const maxJSONDepth = 1000

// parseError is an error of one of the kinds above with its own message.
type parseError struct {
	kind    error
	message string
}

func (e *parseError) Error() string { return e.message }
func (e *parseError) Unwrap() error { return e.kind }

// ParseJSON reads one JSON value into canonical values: a number written
// without a fraction or an exponent is an integer (int64, uint64 above
// math.MaxInt64), any other a float64. Its errors are of the kinds ErrNotJSON,
// ErrTooDeep, and ErrNotPackable for what MessagePack cannot carry: an
// integer beyond 64 bits, text that is not UTF-8.
func ParseJSON(text string) (any, error) {
	depth, surrogate := scanJSON(text)
	if depth > maxJSONDepth {
		return nil, &parseError{ErrTooDeep, "nested too deeply"}
	}
	data := []byte(text)
	if !json.Valid(data) {
		message := "not JSON"
		if err := json.Unmarshal(data, new(any)); err != nil { // says what is wrong
			message += ": " + err.Error()
		}
		return nil, &parseError{ErrNotJSON, message}
	}
	var v any
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.UseNumber()
	if err := decoder.Decode(&v); err != nil {
		return nil, &parseError{ErrNotJSON, "not JSON: " + err.Error()}
	}
	if surrogate != "" {
		return nil, &parseError{ErrNotPackable, "a string holds the lone surrogate " + surrogate}
	}
	if !utf8.ValidString(text) {
		return nil, &parseError{ErrNotPackable, "a string is not valid UTF-8"}
	}
	return fromJSON(v)
}

// scanJSON returns how deep text nests and the first lone surrogate escape
// (\ud800) in its strings, which encoding/json would replace silently.
func scanJSON(text string) (deepest int, surrogate string) {
	depth, inString := 0, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString && c == '\\':
			if i+5 < len(text) && text[i+1] == 'u' {
				r, err := strconv.ParseUint(text[i+2:i+6], 16, 16)
				if err == nil && r >= 0xd800 && r <= 0xdfff && surrogate == "" {
					low := uint64(0)
					if i+11 < len(text) && text[i+6] == '\\' && text[i+7] == 'u' {
						low, _ = strconv.ParseUint(text[i+8:i+12], 16, 16)
					}
					if r >= 0xdc00 || low < 0xdc00 || low > 0xdfff {
						surrogate = text[i : i+6]
					} else {
						i += 6 // the pair's low half
					}
				}
			}
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '[' || c == '{'):
			depth++
			deepest = max(deepest, depth)
		case !inString && (c == ']' || c == '}'):
			depth--
		}
	}
	return deepest, surrogate
}

func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return fromNumber(string(v))
	case []any:
		for i, item := range v {
			var err error
			if v[i], err = fromJSON(item); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for key, item := range v {
			var err error
			if v[key], err = fromJSON(item); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func fromNumber(text string) (any, error) {
	if strings.ContainsAny(text, ".eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // beyond float64: ±Inf, as in Python
			return nil, &parseError{ErrNotJSON, "not JSON: " + err.Error()}
		}
		return f, nil
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	if n, err := strconv.ParseUint(text, 10, 64); err == nil {
		return n, nil
	}
	return nil, &parseError{ErrNotPackable, fmt.Sprintf("the integer %s does not fit in 64 bits", text)}
}

// ParseArgument reads an argument as the try-out command takes it: JSON, or
// bytes written as a Python bytes literal (b"raw", with \x00 escapes). Text
// that is neither is refused, with a message saying how to write a string.
func ParseArgument(word string) (any, error) {
	if strings.HasPrefix(word, `b"`) || strings.HasPrefix(word, "b'") {
		if data, ok := parseBytesLiteral(word[1:]); ok {
			return data, nil
		}
		return nil, fmt.Errorf(`%s is not a bytes literal like b"raw"`, pyRepr(word))
	}
	v, err := ParseJSON(word)
	switch {
	case errors.Is(err, ErrNotJSON):
		// string([]rune(word)): a byte that is not UTF-8 shows as U+FFFD.
		return nil, &parseError{ErrNotJSON, fmt.Sprintf(
			"%s is not JSON; a string is written in JSON's double quotes, like %s",
			pyRepr(word), shellQuote(valuetext.JSONString(string([]rune(word)))))}
	case errors.Is(err, ErrTooDeep):
		return nil, &parseError{ErrTooDeep, "the argument is nested too deeply"}
	}
	return v, err
}

// shellQuote quotes a word for a POSIX shell.
func shellQuote(word string) string {
	return "'" + strings.ReplaceAll(word, "'", `'\''`) + "'"
}

// parseBytesLiteral reads a Python bytes literal without its b: "raw", 'raw'
// or triple-quoted, ASCII only, with Python's escapes; only white space may
// follow it.
func parseBytesLiteral(s string) ([]byte, bool) {
	quote := s[:1]
	if strings.HasPrefix(s, strings.Repeat(quote, 3)) {
		quote = s[:3]
	}
	out := []byte{}
	for i := len(quote); i < len(s); {
		c := s[i]
		switch {
		case strings.HasPrefix(s[i:], quote):
			return out, strings.TrimRight(s[i+len(quote):], " \t\r\n") == ""
		case c >= 0x80 || c == '\n' && len(quote) == 1:
			return nil, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, false
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\n': // a line continued
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a':
			out = append(out, '\a')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case 'x':
			if i+2 > len(s) {
				return nil, false
			}
			n, err := strconv.ParseUint(s[i:i+2], 16, 8)
			if err != nil {
				return nil, false
			}
			out = append(out, byte(n))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			end := i - 1
			for end < len(s) && end < i+2 && s[end] >= '0' && s[end] <= '7' {
				end++
			}
			n, _ := strconv.ParseUint(s[i-1:end], 8, 16)
			if n > math.MaxUint8 {
				return nil, false
			}
			out = append(out, byte(n))
			i = end
		default: // Python keeps an unknown escape as it is
			if e >= 0x80 {
				return nil, false
			}
			out = append(out, '\\', e)
		}
	}
	return nil, false
}
