package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// repoWith makes a repository folder that holds the named files.
func repoWith(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lintHas reports whether one of problems contains fragment.
func lintHas(problems []string, fragment string) bool {
	for _, p := range problems {
		if strings.Contains(p, fragment) {
			return true
		}
	}
	return false
}

func TestLintAcceptsACleanGoManifest(t *testing.T) {
	repo := repoWith(t, "bin/demo_linux_amd64", "bin/demo_linux_arm64")
	text := `{
  "version": "0.1.0",
  "main": {
    "linux/amd64": "bin/demo_linux_amd64",
    "linux/aarch64": "bin/demo_linux_arm64",
    "linux/arm64": "bin/demo_linux_arm64"
  },
  "exposes": {
    "echo": {"defaults": {"function": "echo"}, "argmap": ["value"]},
    "hello": "|this| this.echo('hello')"
  }
}`
	if problems := Lint(text, repo); len(problems) != 0 {
		t.Errorf("problems: %q", problems)
	}
}

func TestLintGivesTheParserVerdictOnEveryClaimedPlatform(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "one platform",
			text: `{"version": "v1", "main": "demo.py"}`,
			want: []string{badVersion},
		},
		{
			name: "all platforms alike",
			text: `{"version": "v1", "main": {"darwin/arm64": "bin/a", "freebsd/amd64": "bin/b"}}`,
			want: []string{badVersion},
		},
		{
			name: "one platform of two",
			text: `{"version": "1", "main": {"linux/amd64": "bin/a", "darwin/arm64": "demo.py"}, "requirements": []}`,
			want: []string{onlyForPython + " (on linux/amd64)"},
		},
		{
			name: "an includes map on one platform",
			text: `{"version": "1", "main": {"linux/amd64": "bin/a", "darwin/arm64": "bin/b"}, "includes": [{"darwin/arm64": "x"}]}`,
			want: []string{unexpectedError + " (on darwin/arm64)",
				"`includes` holds a map: ThingsDB fails on one with the node's own platform key and ignores the others; list plain paths"},
		},
		{
			name: "invalid JSON",
			text: `{"version": "1", "main": "demo.py",}`,
			want: []string{allocError},
		},
		{
			name: "not UTF-8",
			text: "{\"version\": \"1\", \"main\": \"\xff\"}",
			want: []string{allocError},
		},
	}
	for _, tt := range tests {
		if got := Lint(tt.text, ""); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestLintFlagsWhatTheParserLetsThrough(t *testing.T) {
	tests := []struct {
		name, text, fragment string
	}{
		{"requirements list", `{"version": "1", "main": "demo.py", "requirements": ["msgpack"]}`, "first install"},
		{"requirements map", `{"version": "1", "main": "demo.py", "requirements": {"a": 1}}`, "first install"},
		{"NUL in doc", `{"version": "1", "main": "demo.py", "doc": "a\u0000b"}`, "`doc` holds a NUL"},
		{"version as an integer", `{"version": 11, "main": "demo.py"}`, "`version` is the number 11: "},
		{"version as a double", `{"version": 1.0, "main": "demo.py"}`, "`version` is the number 1.0: "},
		{"version as a big double", `{"version": 1e16, "main": "demo.py"}`, "`version` is the number 1e+16: "},
		{"version as a small double", `{"version": 0.00001, "main": "demo.py"}`, "`version` is the number 1e-05: "},
		{"linux/arm64 alone", `{"version": "1", "main": {"linux/arm64": "bin/a"}}`,
			"`main` has `linux/arm64` but not `linux/aarch64`, the key ThingsDB computes on such hosts (`linux/arm64` never matches there)"},
		{"linux/arm alone", `{"version": "1", "main": {"linux/arm": "bin/a"}}`,
			"but none of `linux/armv7l`, `linux/armv6l`, the keys"},
		{"uppercase key", `{"version": "1", "main": {"Darwin/arm64": "bin/a"}}`,
			"`main` key `Darwin/arm64` never matches: ThingsDB's keys are lowercase"},
		{"uppercase non-ASCII key", `{"version": "1", "main": {"É/x": "bin/a"}}`, "`É/x` never matches"},
		{"machine alias", `{"version": "1", "main": {"linux/x86_64": "bin/a"}}`,
			"`main` key `linux/x86_64` never matches: ThingsDB computes `linux/amd64`"},
		{"bin subfolder", `{"version": "1", "main": {"linux/amd64": "bin/linux/demo"}}`,
			"`main` file `bin/linux/demo` is in a subfolder of bin/: ThingsDB only finds files at the top level of bin/, keep it flat"},
		{"blobs subfolder of an include", `{"version": "1", "main": "demo.py", "includes": ["blobs/a/b"]}`,
			"include file `blobs/a/b` is in a subfolder of blobs/"},
		{"dispatch key taken", `{"version": "1", "main": "demo.py", "exposes": {"add": {"defaults": {"function": "add"}, "argmap": ["a", "function"]}}}`,
			"exposed function `add` has `function` in its argmap: a caller's argument would replace the key that says which function was called"},
		{"dispatch key missing", `{"version": "1", "main": "demo.py", "exposes": {"add": {"argmap": ["a"]}}}`,
			`exposed function ` + "`add`" + ` needs the default {"function": "add"}: ThingsDB does not send which function was called, the module dispatches on it`},
		{"dispatch key names another", `{"version": "1", "main": "demo.py", "exposes": {"sub": {"defaults": {"function": "add"}}}}`,
			`needs the default {"function": "sub"}`},
		{"dispatch key given twice", `{"version": "1", "main": "demo.py", "exposes": {"f": {"defaults": {"function": "f"}, "defaults": {"function": "f"}}}}`,
			`needs the default {"function": "f"}`},
		{"dispatch message in ASCII JSON", `{"version": "1", "main": "demo.py", "exposes": {"é\"": {}}}`,
			`needs the default {"function": "\u00e9\""}`},
	}
	for _, tt := range tests {
		if problems := Lint(tt.text, ""); !lintHas(problems, tt.fragment) {
			t.Errorf("%s: no %q in %q", tt.name, tt.fragment, problems)
		}
	}
}

func TestLintLeavesAloneWhatWorks(t *testing.T) {
	for _, text := range []string{
		`{"version": "1", "main": "demo.py", "requirements": []}`,
		`{"version": "1", "main": "demo.py", "doc": "a\r\nb"}`,
		`{"version": "1", "main": {"linux/aarch64": "bin/a", "linux/arm64": "bin/a"}}`,
		`{"version": "1", "main": {"linux/arm": "bin/a", "linux/armv6l": "bin/a"}}`,
		`{"version": "1", "main": {"linux/amd64": "bin/demo"}}`,
		`{"version": "1", "main": "demo.py", "exposes": {"hi": "|this| this.add(1)", "add": {"defaults": {"function": "add"}}}}`,
		`{"version": "1", "main": "missing.py", "includes": ["missing.txt"]}`, // no repository given
	} {
		if problems := Lint(text, ""); len(problems) != 0 {
			t.Errorf("%s: %q", text, problems)
		}
	}
}

func TestLintLooksForTheNamedFiles(t *testing.T) {
	text := `{"version": "1", "main": {"linux/amd64": "bin/demo_linux_amd64", "darwin/arm64": "bin/demo_darwin_arm64"}, "includes": ["extra/data.txt"]}`
	repo := repoWith(t, "bin/demo_linux_amd64")
	want := []string{
		"`main` file `bin/demo_darwin_arm64` does not exist in the repository",
		"include file `extra/data.txt` does not exist in the repository",
	}
	if got := Lint(text, repo); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	repo = repoWith(t, "bin/demo_linux_amd64", "bin/demo_darwin_arm64", "extra/data.txt")
	if got := Lint(text, repo); len(got) != 0 {
		t.Errorf("all files there: %q", got)
	}
	// a folder is not a file, and a file is not a folder
	repo = repoWith(t, "bin/demo_linux_amd64/x", "bin/demo_darwin_arm64", "extra/data.txt/x")
	if got := Lint(text, repo); len(got) != 2 {
		t.Errorf("folders: %q", got)
	}
}

func TestLintWantsRequirementsTxtForAPythonMain(t *testing.T) {
	text := `{"version": "1", "main": "demo.py"}`
	repo := repoWith(t, "demo.py")
	if got := Lint(text, repo); !lintHas(got, "requirements.txt does not exist") {
		t.Errorf("got %q", got)
	}
	if got := Lint(`{"version": "1", "main": "demo.py", "requirements": []}`, repo); len(got) != 0 {
		t.Errorf("with a requirements key: %q", got)
	}
	repo = repoWith(t, "demo.py", "requirements.txt")
	if got := Lint(text, repo); len(got) != 0 {
		t.Errorf("with requirements.txt: %q", got)
	}
}
