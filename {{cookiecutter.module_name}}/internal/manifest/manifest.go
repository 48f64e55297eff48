// Package manifest checks module.json the way the ThingsDB server reads it,
// before a user installs the module.
//
// ThingsDB (server source 90f9cb3e, src/ti/mod/manifest.c) reads module.json
// with a streaming yajl parser and a state machine that reacts to each JSON
// event as it arrives. Its verdicts therefore have quirks that
// encoding/json cannot reproduce, and this package emulates them:
//
//   - the first problem met in document order is the one reported, then
//     `main`, `version`, `includes` and requirements-versus-Python are
//     checked, in that order;
//   - a repeated top-level key keeps its FIRST value, but every value is
//     still type-checked;
//   - a document cut short (before its closing brace) is accepted as far as
//     it got, because the server calls yajl_parse but never
//     yajl_complete_parse;
//   - every JSON syntax error is reported as "allocation error while parsing
//     module.json";
//   - `main` and `includes` may hold "os/arch" maps; only the node's own
//     platform key counts.
//
// The Python flavour of this template ships the same checker as
// tools/manifest.py, with the same messages.
package manifest

import "regexp"

// DefaultPlatform is the platform key a manifest is checked on when its
// `main` is a plain string.
const DefaultPlatform = "linux/amd64"

// Version matches a version as it should be written: 1 to 3 dot-separated
// groups of 1 to 5 digits, such as "0.1.0". The server's own check also
// lets a few odd forms through, such as "1.2.3.".
var Version = regexp.MustCompile(`^[0-9]{1,5}(\.[0-9]{1,5}){0,2}$`)

// Check returns "" when ThingsDB accepts text as module.json on a node whose
// platform key is platform. Otherwise it returns the status message the
// server reports, verbatim (what module_info(name).load().status shows),
// such as "missing required `main` in module.json".
//
// Text that is not UTF-8 gets the message of a JSON syntax error. A message
// may hold the server's copy of a lone surrogate escape (\udc00), encoded
// as UTF-8 encodes other code points.
func Check(text, platform string) string {
	return read(text).verdict(platform)
}
