package manifest

import (
	"strings"
	"testing"
)

// checkCase is a module.json text and the server's verdict on it.
type checkCase struct {
	name     string
	text     string
	platform string // DefaultPlatform when empty
	want     string
}

const (
	missingMain   = "missing required `main` in module.json"
	badVersion    = "invalid `version` format in module.json"
	closureIsNot  = "exposing string is not a closure: "
	onlyForPython = "requirements in module.json are only allowed with Python modules"
)

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			platform := c.platform
			if platform == "" {
				platform = DefaultPlatform
			}
			if got := Check(c.text, platform); got != c.want {
				t.Errorf("Check(%q, %q)\n got %q\nwant %q", c.text, platform, got, c.want)
			}
		})
	}
}

func TestCheckReadsTheTextAsYajlDoes(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "fine", text: `{"version": "1.0.0", "main": "demo.py"}`},
		{name: "root not a map", text: `"demo.py"`, want: "expecting a map in module.json, not a string"},
		{name: "empty text", text: "", want: missingMain},
		{name: "empty map", text: "{}\n", want: missingMain},
		{name: "trailing comma", text: `{"version": "1", "main": "demo.py",}`, want: allocError},
		{name: "comment", text: "{// c\n\"version\": \"1\", \"main\": \"demo.py\"}", want: allocError},
		{name: "cut short is accepted", text: `{"version": "1.0.0", "main": "demo.py"`},
		{name: "cut inside a key", text: `{"version": "1.0.0", "main": "demo.py", "ma`},
		{name: "cut inside a literal", text: `{"version": "1", "main": "demo.py"} tru`},
		{name: "white space after the root", text: "{\"version\": \"1\", \"main\": \"demo.py\"}\n\n"},
		{name: "a token after the root", text: `{"version": "1", "main": "demo.py"} "x"`, want: allocError},
		{name: "a brace after the root", text: `{"version": "1", "main": "demo.py", "doc": null}}`, want: allocError},
		// yajl needs the character after a number to finish it
		{name: "number cut by the end", text: `{"main": "demo.py", "version": 1`, want: "missing required `version` in module.json"},
		{name: "text not UTF-8", text: "{\"version\": \"1\", \"main\": \"d\xe9mo.py\"}", want: allocError},
		{name: "control character in a string", text: "{\"version\": \"1\", \"main\": \"a\tb\"}", want: allocError},
		{name: "unknown escape", text: `{"version": "1", "main": "a\xb"}`, want: allocError},
		{name: "short unicode escape", text: `{"version": "1", "main": "a\u12G4"}`, want: allocError},
		{name: "leading zero", text: `{"version": 01, "main": "demo.py"}`, want: allocError},
		{name: "largest integer", text: `{"version": 9223372036854775807, "main": "demo.py"}`, want: badVersion},
		{name: "integer overflow", text: `{"version": 9223372036854775808, "main": "demo.py"}`, want: allocError},
		{name: "smallest integer overflows too", text: `{"version": -9223372036854775808, "main": "demo.py"}`, want: allocError},
		{name: "100,000 digits", text: `{"main": "demo.py", "version": 1` + strings.Repeat("0", 100000) + "}", want: allocError},
		{name: "double overflow", text: `{"version": 1e400, "main": "demo.py"}`, want: allocError},
		{name: "double underflow is 0", text: `{"version": 1e-400, "main": "demo.py"}`},
		{name: "100,000 digits of a double", text: `{"main": "demo.py", "version": 1.` + strings.Repeat("5", 100000) + "}"},
		{name: "empty map in an array", text: `{"version": "1", "main": "demo.py", "defaults": {"x": [{}, {}]}}`},
		{name: "empty map in includes", text: `{"version": "1", "main": "demo.py", "includes": [{}]}`},
	})
}

func TestCheckKeepsTheFirstValueButTypeChecksEvery(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "first version wins", text: `{"version": "1.0", "version": "1.0.0.0", "main": "demo.py"}`},
		{name: "second version checked", text: `{"version": "1.0", "version": null, "main": "demo.py"}`,
			want: "expecting a string or number as `version` in module.json, not null"},
		{name: "second main checked", text: `{"version": "1.0", "main": "demo.py", "main": 5}`,
			want: "expecting a string or map as `main` in module.json, not a number"},
		{name: "string main before a map", text: `{"version": "1", "main": "demo.py", "main": {"linux/amd64": "/x"}}`},
		{name: "map main before a string", text: `{"version": "1", "main": {"linux/amd64": "/x"}, "main": "demo.py"}`,
			want: "`main` in module.json must not start with a `/`"},
		{name: "first entry of a map wins", text: `{"version": "1", "main": {"linux/amd64": "a", "linux/amd64": "/x"}}`},
		{name: "unknown key", text: `{"$schema": "x", "version": "1", "main": "demo.py"}`,
			want: "unsupported key `$schema` in module.json"},
		{name: "key shown up to a NUL", text: `{"a\u0000b": 1}`, want: "unsupported key `a` in module.json"},
		{name: "keys are case-sensitive", text: `{"Main": "demo.py"}`, want: "unsupported key `Main` in module.json"},
	})
}

func TestCheckVersion(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "one group", text: `{"version": "1", "main": "demo.py"}`},
		{name: "five digits", text: `{"version": "12345.0.0", "main": "demo.py"}`},
		{name: "six digits", text: `{"version": "123456", "main": "demo.py"}`, want: badVersion},
		{name: "trailing dot after three groups", text: `{"version": "1.2.3.", "main": "demo.py"}`},
		{name: "trailing dot", text: `{"version": "1.", "main": "demo.py"}`, want: badVersion},
		{name: "four groups", text: `{"version": "1.0.0.0", "main": "demo.py"}`, want: badVersion},
		{name: "v prefix", text: `{"version": "v1.0", "main": "demo.py"}`, want: badVersion},
		{name: "empty", text: `{"version": "", "main": "demo.py"}`, want: "`version` in module.json must not be an empty string"},
		{name: "cut at a NUL", text: `{"version": "\u00001", "main": "demo.py"}`, want: "`version` in module.json must not be an empty string"},
		{name: "integer", text: `{"version": 11, "main": "demo.py"}`},
		{name: "negative", text: `{"version": -1, "main": "demo.py"}`, want: badVersion},
		{name: "double printed by %g", text: `{"version": 1.23456789, "main": "demo.py"}`},
		{name: "double in exponent form", text: `{"version": 1e16, "main": "demo.py"}`, want: badVersion},
		{name: "missing", text: `{"main": "demo.py"}`, want: "missing required `version` in module.json"},
		{name: "main comes first", text: `{"version": "v1"}`, want: missingMain},
	})
}

func TestCheckPaths(t *testing.T) {
	const relative = "must not contain `..` or `./` to specify a relative path"
	runCheckCases(t, []checkCase{
		{name: "absolute", text: `{"version": "1", "main": "/demo.py"}`, want: "`main` in module.json must not start with a `/`"},
		{name: "dot slash", text: `{"version": "1", "main": "a/./demo.py"}`, want: "`main` in module.json " + relative},
		{name: "two dots in a name", text: `{"version": "1", "main": "demo..py"}`, want: "`main` in module.json " + relative},
		{name: "empty", text: `{"version": "1", "main": ""}`, want: "`main` in module.json must not be an empty string"},
		{name: "tab", text: `{"version": "1", "main": "a\tb"}`, want: "`main` in module.json contains illegal characters"},
		{name: "not ASCII", text: `{"version": "1", "main": "démo.py"}`, want: "`main` in module.json contains illegal characters"},
		{name: "main is checked before version", text: `{"version": "x", "main": ""}`, want: "`main` in module.json must not be an empty string"},
		{name: "include", text: `{"version": "1", "main": "demo.py", "includes": ["ok.txt", "../x"]}`,
			want: "include file in module.json " + relative},
		{name: "include item type", text: `{"version": "1", "main": "demo.py", "includes": [1]}`,
			want: "expecting a string or map as `include` item in module.json, not a number"},
		{name: "version before includes", text: `{"version": "x", "main": "demo.py", "includes": ["/x"]}`, want: badVersion},
	})
}

func TestCheckPlatformKeys(t *testing.T) {
	mainMap := `{"version": "1", "main": {"linux/arm64": "demo.py", "darwin/amd64": "run.sh"}, "requirements": []}`
	includesMap := `{"version": "1", "main": "demo.py", "includes": [{"darwin/arm64": "x.txt"}]}`
	runCheckCases(t, []checkCase{
		{name: "main map without the key", text: mainMap, want: missingMain},
		{name: "main map with the key", text: mainMap, platform: "linux/arm64"},
		{name: "requirements need a Python main on that key", text: mainMap, platform: "darwin/amd64", want: onlyForPython},
		{name: "main map value type", text: `{"version": "1", "main": {"darwin/arm64": 1}}`,
			want: "expecting a string as `platform/architecture` in module.json, not a number"},
		{name: "includes map naming another key", text: includesMap},
		{name: "includes map naming this key", text: includesMap, platform: "darwin/arm64", want: unexpectedError},
		{name: "includes map naming this key, then a key", text: `{"version": "1", "main": "demo.py", "includes": [{"linux/amd64": "x", "b": "y"}]}`,
			want: unexpectedError},
		{name: "includes map naming this key before a type error", text: `{"version": "1", "main": "demo.py", "includes": [{"linux/amd64": "x"}], "doc": 1}`,
			want: unexpectedError},
		{name: "includes map naming this key at the cut", text: `{"version": "1", "main": "demo.py", "includes": [{"linux/amd64": "/x"`,
			want: "include file in module.json must not start with a `/`"},
		{name: "includes map naming this key, then bad JSON", text: `{"version": "1", "main": "demo.py", "includes": [{"linux/amd64": "x" ]`,
			want: allocError},
	})
}

func TestCheckEmptyPlatformKeyIsAKeyLikeAnother(t *testing.T) {
	text := `{"version": "1", "main": {"": "demo.py"}}`
	if got := Check(text, ""); got != "" {
		t.Errorf("on the key \"\": got %q", got)
	}
	if got := Check(text, DefaultPlatform); got != missingMain {
		t.Errorf("on %s: got %q", DefaultPlatform, got)
	}
}

func TestCheckDefaults(t *testing.T) {
	const deep = "expecting a `deep` value between 0 and 127 in module.json, not "
	runCheckCases(t, []checkCase{
		{name: "deep 127", text: `{"version": "1", "main": "demo.py", "defaults": {"deep": 127}}`},
		{name: "deep 128", text: `{"version": "1", "main": "demo.py", "defaults": {"deep": 128}}`, want: deep + "128"},
		{name: "deep double shown by %f", text: `{"version": "1", "main": "demo.py", "defaults": {"deep": 127.5}}`, want: deep + "127.500000"},
		{name: "deep tiny negative double", text: `{"version": "1", "main": "demo.py", "defaults": {"deep": -1e-7}}`, want: deep + "-0.000000"},
		{name: "deep string", text: `{"version": "1", "main": "demo.py", "defaults": {"deep": "1"}}`,
			want: "expecting a `deep` value between 0 and 127 in module.json, not a string"},
		{name: "load number", text: `{"version": "1", "main": "demo.py", "defaults": {"load": 1}}`,
			want: "expecting `load` to be true or false in module.json, not a number"},
		{name: "load twice", text: `{"version": "1", "main": "demo.py", "defaults": {"load": true, "load": false}}`},
		{name: "reserved key", text: `{"version": "1", "main": "demo.py", "defaults": {"#": 1}}`,
			want: "default keys `#` is reserved" + docProperties},
		{name: "repeated key", text: `{"version": "1", "main": "demo.py", "defaults": {"x\u0000y": 1, "x\u0000y": 2}}`,
			want: "key `x` exists more than once in `defaults`"},
		{name: "repeated across two defaults maps", text: `{"version": "1", "main": "demo.py", "defaults": {"x": 1}, "defaults": {"x": 2}}`,
			want: "key `x` exists more than once in `defaults`"},
		{name: "a function's own keys", text: `{"version": "1", "main": "demo.py", "defaults": {"x": 1}, "exposes": {"f": {"defaults": {"x": 2}}, "g": {"defaults": {"x": 3}}}}`},
		{name: "nested values are packed", text: `{"version": "1", "main": "demo.py", "defaults": {"x": {"#": [{"deep": "no"}, []]}, "y": 1}}`},
		{name: "not a map", text: `{"version": "1", "main": "demo.py", "defaults": null}`,
			want: "expecting a map with `defaults` in module.json, not null"},
	})
}

func TestCheckExposes(t *testing.T) {
	const head = `{"version": "1", "main": "demo.py", "exposes": `
	const reserved = "argmap value `#` in module.json is reserved" + docProperties
	runCheckCases(t, []checkCase{
		{name: "name with a digit first", text: head + `{"1abc": {}}}`, want: "invalid expose function name in module.json"},
		{name: "name of 256 characters", text: head + `{"` + strings.Repeat("f", 256) + `": {}}}`, want: "invalid expose function name in module.json"},
		{name: "name of 255 characters", text: head + `{"` + strings.Repeat("f", 255) + `": {}}}`},
		{name: "repeated name", text: head + `{"f": {}}, "exposes": {"f": {}}}`, want: "double expose function in module.json"},
		{name: "unknown key", text: head + `{"f": {"returns": 1}}}`, want: "unsupported key `returns` used in exposed function in module.json"},
		{name: "doc number", text: head + `{"f": {"doc": 1}}}`, want: "expecting a string as `doc` in module.json, not a number"},
		{name: "value type", text: head + `{"f": 1}}`, want: "expecting a map as `expose` value in module.json, not a number"},
		{name: "argmap null", text: head + `{"f": {"argmap": null}}}`},
		{name: "argmap star", text: head + `{"f": {"argmap": ["a", "*"]}}}`},
		{name: "argmap empty item", text: head + `{"f": {"argmap": [""]}}}`, want: "argmap value in module.json must not be empty"},
		{name: "argmap reserved item", text: head + `{"f": {"argmap": ["#"]}}}`, want: reserved},
		{name: "argmap repeated item", text: head + `{"f": {"argmap": ["a", "a"]}}}`, want: "value `a` exists more than once as `argmap` item in module.json"},
		{name: "repeated argmap starts anew", text: head + `{"f": {"argmap": ["a"], "argmap": ["a"]}}}`},
		{name: "argmap string", text: head + `{"f": {"argmap": "a"}}}`, want: "expecting an array or null as `argmap` value in module.json, not a string"},
	})
}

func TestCheckClosures(t *testing.T) {
	cases := []struct{ closure, want string }{
		{"|this| this.msg('Hello')", ""},
		{"|a, b| a + b", ""},
		{"||nil", ""},
		{"|a,| a", ""},
		{"|x| x;", ""},
		{"|x| 'it''s'", ""},
		{"/* head */ |x| x // tail", ""},
		{"\u3000|x| x", ""},
		{"", "closure is expecting exactly one statement"},
		{"|x| x; 1", "closure is expecting exactly one statement"},
		{"hello world", "closure is expecting exactly one statement"},
		{"x + 1", "node is not a closure"},
		{"|x|", "invalid syntax in closure"},
		{"|x| 'open", "invalid syntax in closure"},
		{"|x| (x", "invalid syntax in closure"},
		{"|x| x)", "invalid syntax in closure"},
		{"|1| x", "invalid syntax in closure"},
	}
	for _, c := range cases {
		text := `{"version": "1", "main": "demo.py", "exposes": {"f": ` + quoteJSON(c.closure) + `}}`
		want := ""
		if c.want != "" {
			want = closureIsNot + c.want
		}
		if got := Check(text, DefaultPlatform); got != want {
			t.Errorf("closure %q: got %q, want %q", c.closure, got, want)
		}
	}
}

func TestCheckRequirements(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "empty with Python", text: `{"version": "1", "main": "demo.py", "requirements": []}`},
		{name: "valid characters", text: `{"version": "1", "main": "demo.py", "requirements": ["py-timod>=0.0.6,<1.0", "a_b ~= 1"]}`},
		{name: "marker", text: `{"version": "1", "main": "demo.py", "requirements": ["x; python_version>'3'"]}`,
			want: "invalid characters found in one of the requirements in module.json"},
		// the server's message really says "not a number" for a string
		{name: "string", text: `{"version": "1", "main": "demo.py", "requirements": "x"}`,
			want: "expecting an array as `requirements` value in module.json, not a number"},
		{name: "null", text: `{"version": "1", "main": "demo.py", "requirements": null}`,
			want: "expecting an array as `requirements` value in module.json, not null"},
		{name: "not Python", text: `{"version": "1", "main": "run.sh", "requirements": []}`, want: onlyForPython},
		{name: "Python by the bytes before a NUL", text: `{"version": "1", "main": "run\u0000.py", "requirements": []}`},
	})
}

func TestCheckDecodesEscapesAsYajlDoes(t *testing.T) {
	runCheckCases(t, []checkCase{
		{name: "escapes", text: `{"\"\\\/\b\f\n\r\t": 1}`, want: "unsupported key `\"\\/\b\f\n\r\t` in module.json"},
		{name: "surrogate pair", text: `{"\ud83d\ude00": 1}`, want: "unsupported key `\U0001F600` in module.json"},
		{name: "high surrogate with any escape", text: `{"\ud800\u0041": 1}`, want: "unsupported key `\U00010041` in module.json"},
		{name: "high surrogate alone skips a character", text: `{"\ud800éx": 1}`, want: "unsupported key `?x` in module.json"},
		{name: "skipped backslash", text: `{"\ud800\\x": 1}`, want: "unsupported key `??` in module.json"},
		{name: "skipped backslash at the end", text: `{"\ud800\\": 1}`, want: "unsupported key `??` in module.json"},
		{name: "lone low surrogate is kept", text: `{"\udc00": 1}`, want: "unsupported key `\xed\xb0\x80` in module.json"},
		{name: "lone low surrogate is not a path", text: `{"version": "1", "main": "\udc00"}`, want: "`main` in module.json contains illegal characters"},
	})
}

func TestVersionRule(t *testing.T) {
	for _, v := range []string{"1", "0.1", "0.1.0", "12345.0.0"} {
		if !Version.MatchString(v) || !versionOK(v) {
			t.Errorf("%q should be a version", v)
		}
	}
	for _, v := range []string{"", "v1", "1.", "1.0.0.0", "1.0-rc1", "123456", "1..0", "1.0.0\n"} {
		if Version.MatchString(v) {
			t.Errorf("%q should not be a version", v)
		}
	}
}
