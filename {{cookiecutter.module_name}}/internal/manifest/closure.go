package manifest

import "strings"

// ThingsDB closures, for string values in `exposes`.

// tokenKind is the kind of a token of ThingsDB code, as far as the closure
// check needs to tell them apart.
type tokenKind uint8

const (
	tokenName tokenKind = iota
	tokenNumber
	tokenString
	tokenPunct
)

// token is one token of ThingsDB code.
type token struct {
	kind tokenKind
	text string
}

// keywords are names that are not operands.
var keywords = map[string]bool{"return": true, "if": true, "else": true, "for": true, "in": true}

const invalidClosure = "invalid syntax in closure"

// closureProblem is why ThingsDB would refuse source as a closure, or "".
//
// The server (ti_closure_from_strn in src/ti/closure.c) parses the string
// with its full query grammar and then wants exactly one statement that is a
// closure |args| body. Only the outline is checked here (the |name, ...|
// head, one non-empty statement, balanced brackets and quotes); the body's
// own syntax is left to the server.
func closureProblem(source string) string {
	tokens, ok := closureTokens(cstr(source))
	if !ok {
		return invalidClosure
	}
	statements, ok := countStatements(tokens)
	if !ok {
		return invalidClosure
	}
	if len(tokens) > 0 && tokens[0].text == "|" {
		body := false
		if end := closureHeadEnd(tokens); end > 0 {
			for _, t := range tokens[end+1:] {
				body = body || t.text != ";"
			}
		}
		if !body {
			return invalidClosure
		}
	}
	if statements != 1 {
		return "closure is expecting exactly one statement"
	}
	if tokens[0].text != "|" {
		return "node is not a closure"
	}
	return ""
}

// closureTokens splits source into tokens, dropping white space and
// comments; false when a quote is never closed.
func closureTokens(source string) ([]token, bool) {
	var tokens []token
	for i := 0; i < len(source); {
		r, size := nextRune(source, i)
		rest := source[i:]
		switch {
		case isSpace(r):
			for i < len(source) {
				if r, size = nextRune(source, i); !isSpace(r) {
					break
				}
				i += size
			}
			continue
		case strings.HasPrefix(rest, "//"):
			if end := strings.IndexByte(rest, '\n'); end >= 0 {
				i += end
			} else {
				i = len(source)
			}
			continue
		case strings.HasPrefix(rest, "/*"):
			if end := strings.Index(rest[2:], "*/"); end >= 0 {
				i += 2 + end + 2
				continue
			}
		case r == '\'' || r == '"' || r == '`':
			end := quotedEnd(rest)
			if end < 0 {
				return nil, false
			}
			tokens = append(tokens, token{tokenString, rest[:end]})
			i += end
			continue
		case r == '_' || isLetter(r):
			end := 1
			for end < len(rest) && isNameChar(rest[end]) {
				end++
			}
			tokens = append(tokens, token{tokenName, rest[:end]})
			i += end
			continue
		case r <= '9' && r >= '0':
			end := 1
			for end < len(rest) && (isNameChar(rest[end]) || rest[end] == '.') {
				end++
			}
			tokens = append(tokens, token{tokenNumber, rest[:end]})
			i += end
			continue
		}
		tokens = append(tokens, token{tokenPunct, rest[:size]})
		i += size
	}
	return tokens, true
}

// quotedEnd is the length of the quoted string at the start of s, in which
// a doubled quote stands for the quote itself; -1 when it is never closed.
func quotedEnd(s string) int {
	quote := s[0]
	for i := 1; i < len(s); i++ {
		if s[i] != quote {
			continue
		}
		if i+1 < len(s) && s[i+1] == quote {
			i++
			continue
		}
		return i + 1
	}
	return -1
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

func isNameChar(c byte) bool {
	return isDigit(c) || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// isSpace is Python's str.isspace(), which the Python flavour's checker
// uses for white space in closures: Unicode white space and the
// information separators U+001C to U+001F.
func isSpace(r rune) bool {
	switch {
	case r == ' ' || '\t' <= r && r <= '\r' || 0x1C <= r && r <= 0x1F:
		return true
	case r < 0x85:
		return false
	}
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}

// countStatements counts the top-level statements; false when brackets do
// not balance. ThingsDB ends a statement at ; or where a new one starts
// right after an operand, which is how "hello world" becomes two statements.
func countStatements(tokens []token) (int, bool) {
	count, depth := 0, 0
	inStatement, prevOperand := false, false
	for _, t := range tokens {
		operand := t.kind != tokenPunct && !keywords[t.text]
		if depth == 0 && t.text == ";" {
			inStatement, prevOperand = false, false
			continue
		}
		if depth == 0 && operand && prevOperand {
			inStatement = false
		}
		if !inStatement {
			count++
			inStatement = true
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth < 0 {
				return 0, false
			}
		}
		prevOperand = depth == 0 && operand
	}
	return count, depth == 0
}

// closureHeadEnd is the index of the | that closes |a, b| (a trailing comma
// is allowed), or 0.
func closureHeadEnd(tokens []token) int {
	for i := 1; i < len(tokens); {
		t := tokens[i]
		if t.text == "|" {
			return i
		}
		if t.kind != tokenName || !isName(t.text) {
			return 0
		}
		i++
		if i < len(tokens) && tokens[i].text == "," {
			i++
		} else if i < len(tokens) && tokens[i].text != "|" {
			return 0
		}
	}
	return 0
}
