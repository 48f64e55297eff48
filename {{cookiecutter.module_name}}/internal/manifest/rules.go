package manifest

import "strings"

// The checks the server makes after the parse, and the rules for names,
// paths, versions and requirements.

// finish makes the checks after the parse that do not depend on the key.
func (r *reading) finish() {
	switch {
	case !r.hasVersion:
		r.versionProblem = "missing required `version` " + inManifest
	case r.version == "":
		r.versionProblem = "`version` " + inManifest + " must not be an empty string"
	case !versionOK(r.version):
		r.versionProblem = "invalid `version` format " + inManifest
	}
	for _, path := range r.includes {
		if problem := pathProblem(path); problem != "" {
			r.includesProblem = "include file " + inManifest + " " + problem
			break
		}
	}
}

// verdict is the server's message on a node whose platform key is platform,
// or "" when it accepts the text. The checks after the parse come in the
// server's order: `main`, `version`, `includes`, requirements.
func (r *reading) verdict(platform string) string {
	match := r.matches[platform]
	if match != nil && match.failAt >= 0 {
		// Only an event the state machine accepted can come next, so this
		// is before any failure.
		return unexpectedError
	}
	if r.failed {
		return r.message
	}
	main := r.stringMain
	if m := r.mapMains[platform]; m != nil && (main == nil || m.at < main.at) {
		main = m // the first value wins
	}
	if main == nil {
		return "missing required `main` " + inManifest
	}
	if problem := main.pathProblem(); problem != "" {
		return "`main` " + inManifest + " " + problem
	}
	if r.versionProblem != "" {
		return r.versionProblem
	}
	if r.includesProblem != "" {
		return r.includesProblem
	}
	if match != nil && match.isLast {
		if problem := pathProblem(match.path); problem != "" {
			return "include file " + inManifest + " " + problem
		}
	}
	if r.requirements && !main.isPy {
		return "requirements " + inManifest + " are only allowed with Python modules"
	}
	return ""
}

// isReservedKey is ti_is_reserved_key_strn(): one character in the range
// 0x20-0x2F (space to /).
func isReservedKey(key string) bool {
	return len(key) == 1 && ' ' <= key[0] && key[0] <= '/'
}

// isName is ThingsDB's name rule (src/ti/name.c): a letter or _, then
// letters, digits and _, 1 to 255 characters.
func isName(s string) bool {
	if len(s) == 0 || len(s) > 255 || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isDigit(c) || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// requirementOK reports whether a requirement holds only letters, digits,
// space and _ - , ! . < = > ~.
func requirementOK(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
			strings.IndexByte(" _-,!.<=>~", c) >= 0) {
			return false
		}
	}
	return true
}

// pathProblem is manifest__check_main() and manifest__check_includes(): the
// same four rules for a path; "" when it passes.
func pathProblem(path string) string {
	if path == "" {
		return "must not be an empty string"
	}
	for i := 0; i < len(path); i++ {
		if path[i] < ' ' || path[i] > '~' { // strx_is_printable(): printable ASCII only
			return "contains illegal characters"
		}
	}
	if strings.HasPrefix(path, "/") {
		return "must not start with a `/`"
	}
	if strings.Contains(path, "..") || strings.Contains(path, "./") { // so "demo..py" fails as well
		return "must not contain `..` or `./` to specify a relative path"
	}
	return ""
}

// versionOK is manifest__check_version(): 1 to 3 groups of 1-5 digits
// separated by dots. Ported loop for loop, so its edge cases come along:
// "1.2.3." passes, "1." does not.
func versionOK(version string) bool {
	pos := 0
	for range 3 {
		start := pos
		for pos < len(version) && isDigit(version[pos]) {
			pos++
		}
		if n := pos - start; n < 1 || n > 5 {
			return false
		}
		if pos == len(version) {
			return true
		}
		if version[pos] == '.' {
			pos++
		}
	}
	return pos == len(version)
}

// cstr is what a C string holding s shows: strndup() and printf("%.*s")
// stop at a NUL.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
