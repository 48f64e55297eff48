package manifest

import (
	"unicode"
	"unicode/utf8"
)

// Decoded strings may hold surrogates (a lone "\udc00" escape), which Go's
// UTF-8 functions would turn into U+FFFD. They are kept the way the server
// keeps them, encoded like any other code point, and these helpers read and
// write them so.

// isSurrogateAt reports whether s[i:] starts with an encoded surrogate.
func isSurrogateAt(s string, i int) bool {
	return i+2 < len(s) && s[i] == 0xED && 0xA0 <= s[i+1] && s[i+1] <= 0xBF &&
		0x80 <= s[i+2] && s[i+2] <= 0xBF
}

// nextRune is the character at s[i:] and its length, a surrogate included.
func nextRune(s string, i int) (rune, int) {
	if isSurrogateAt(s, i) {
		return 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
	}
	return utf8.DecodeRuneInString(s[i:])
}

// appendCode appends the code point r, a surrogate included.
func appendCode(b []byte, r rune) []byte {
	if 0xD800 <= r && r <= 0xDFFF {
		return append(b, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
	}
	return utf8.AppendRune(b, r)
}

// isLowercase reports whether lowercasing s would leave it as it is.
func isLowercase(s string) bool {
	for i := 0; i < len(s); {
		r, size := nextRune(s, i)
		if r != utf8.RuneError && unicode.ToLower(r) != r {
			return false
		}
		i += size
	}
	return true
}

// quoteJSON writes s as a JSON string with only ASCII characters, as
// Python's json.dumps() does by default.
func quoteJSON(s string) string {
	const hex = "0123456789abcdef"
	b := []byte{'"'}
	escape := func(r rune) {
		b = append(b, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
	}
	for i := 0; i < len(s); {
		r, size := nextRune(s, i)
		i += size
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case ' ' <= r && r <= '~':
			b = append(b, byte(r))
		case r > 0xFFFF:
			high, low := utf16Pair(r)
			escape(high)
			escape(low)
		default:
			escape(r)
		}
	}
	return string(append(b, '"'))
}

// utf16Pair is the surrogate pair that stands for r in UTF-16.
func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + r>>10&0x3FF, 0xDC00 + r&0x3FF
}
