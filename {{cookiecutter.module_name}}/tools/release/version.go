package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// tagPrefix starts every release tag: v0.2.0 releases version 0.2.0.
const tagPrefix = "v"

// versionRule is ThingsDB's version rule: 1 to 3 dot-separated groups of 1
// to 5 digits. `go run ./tools/manifest` enforces it on module.json; this
// copy lets a release refuse a bad version before it changes anything.
var versionRule = regexp.MustCompile(`^[0-9]{1,5}(\.[0-9]{1,5}){0,2}$`)

// version is a ThingsDB version as a comparable triple ("1.2" is 1.2.0).
type version [3]int

// isVersion reports whether text follows ThingsDB's version rule.
func isVersion(text string) bool {
	return versionRule.MatchString(text)
}

// parseVersion reads a version; what names it in errors ("the new version").
func parseVersion(text, what string) (version, error) {
	var v version
	if rest, ok := strings.CutPrefix(text, tagPrefix); ok && isVersion(rest) {
		return v, fmt.Errorf("%s %s: give the version without the v, like %s", what, quote(text), rest)
	}
	if !isVersion(text) {
		return v, fmt.Errorf("%s %s is not a ThingsDB version: 1 to 3 dot-separated groups of "+
			"1 to 5 digits, like 0.2.0 (no v, no suffix)", what, quote(text))
	}
	for i, group := range strings.Split(text, ".") {
		v[i], _ = strconv.Atoi(group) // at most 5 digits: it fits
	}
	return v, nil
}

// less reports whether v comes before w.
func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

// suggestNext is the version after current, for messages: its last group
// plus one.
func suggestNext(current string) string {
	if !isVersion(current) {
		return "X.Y.Z"
	}
	groups := strings.Split(current, ".")
	last, _ := strconv.Atoi(groups[len(groups)-1])
	groups[len(groups)-1] = strconv.Itoa(min(last+1, 99999))
	return strings.Join(groups, ".")
}
