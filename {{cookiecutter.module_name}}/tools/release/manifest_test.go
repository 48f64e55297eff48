package main

import (
	"strings"
	"testing"
)

func TestWithVersionRewritesOnlyTheTopLevelValue(t *testing.T) {
	text := "{\n\t\"doc\": \"version 0.1.0\",\n\t\"defaults\": {\"version\": \"0.1.0\"},\n" +
		"\t\"version\"  :  \"0.1.0\" ,\n\t\"main\": \"main.py\"\n}\n"
	got, err := withVersion([]byte(text), "0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(text, `"version"  :  "0.1.0" ,`, `"version"  :  "0.2.0" ,`, 1)
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWithVersionKeepsEscapesAndNumbersAsWritten(t *testing.T) {
	text := `{"doc": "caf\u00e9 \"x\"", "n": 1.50, "big": 12345678901234567890, "version": "1"}`
	got, err := withVersion([]byte(text), "1.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(text, `"1"}`, `"1.0.1"}`, 1); string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFindVersionReadsANumber(t *testing.T) {
	text := `{"version": 1.2, "main": "x"}`
	span, err := findVersion([]byte(text), manifestName)
	if err != nil {
		t.Fatal(err)
	}
	if span.text != "1.2" || text[span.start:span.end] != "1.2" {
		t.Errorf("found %q at %d:%d", span.text, span.start, span.end)
	}
	got, err := withVersion([]byte(text), "1.3")
	if err != nil || string(got) != `{"version": "1.3", "main": "x"}` {
		t.Errorf("withVersion = %s, %v", got, err)
	}
}

func TestFindVersionRefusesInOneLine(t *testing.T) {
	tests := map[string]string{
		`{"version": "0.1.0"`:   "module.json is not valid JSON (it ends too early); fix it first",
		``:                      "module.json is not valid JSON (it ends too early)",
		`{"version": "0.1.0",}`: "module.json is not valid JSON (invalid character '}'",
		"{\n  \"version\": \"0.1.0\"\n  \"x\": 1}": "line 3 column",
		`{"version": "0.1.0"} {}`:                  "module.json is not valid JSON (",
		`[1]`:                                      "module.json must hold a JSON object",
		`{"main": "x"}`:                            "module.json has no top-level `version`",
		`{"main": {"version": "0.1.0"}}`:           "module.json has no top-level `version`",
		`{"version": "0.1.0", "version": "0.2"}`:   "module.json has the key `version` twice; keep one",
		`{"version": true}`:                        "module.json: `version` must be a string like \"0.1.0\"",
		`{"version": null}`:                        "module.json: `version` must be a string like \"0.1.0\"",
		`{"version": ["0.1.0"]}`:                   "module.json: `version` must be a string like \"0.1.0\"",
		`{"version": "0.1.0", "d": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`: "module.json nests values too deeply to read; fix it first",
	}
	for text, want := range tests {
		_, err := findVersion([]byte(text), manifestName)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("findVersion(%.40q) = %v; want an error with %q", text, err, want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("findVersion(%.40q): a message of more than one line: %q", text, err)
		}
	}
}

func TestReadManifestComparesNumbersAsWritten(t *testing.T) {
	a, err := readManifest([]byte(`{"n": 12345678901234567890}`), manifestName)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := readManifest([]byte(`{"n": 12345678901234567891}`), manifestName)
	if a["n"] == b["n"] {
		t.Error("two large numbers compare equal")
	}
}

func TestBinariesListsEachFileOnce(t *testing.T) {
	manifest, err := readManifest([]byte(`{"main": {"linux/arm64": "bin/b", "linux/aarch64": "bin/b", "linux/amd64": "bin/a"}}`), manifestName)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(binaries(manifest), " "); got != "bin/a bin/b" {
		t.Errorf("binaries = %q", got)
	}
}
