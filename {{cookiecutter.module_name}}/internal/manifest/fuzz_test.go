package manifest

import "testing"

// FuzzCheck feeds any text to Check and Lint: they must answer, never panic.
// Run it longer with: go test -fuzz FuzzCheck ./internal/manifest
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"version": "1.0.0", "main": "demo.py", "requirements": []}`,
		`{"version": "1", "main": {"linux/amd64": "bin/a"}, "includes": [{"linux/amd64": "x"}]}`,
		`{"version": "1", "main": "demo.py", "defaults": {"deep": 1, "x": [{}, [1.5e3]]}}`,
		`{"version": "1", "main": "demo.py", "exposes": {"f": "|x| 'a''b' /* c */", "g": {"argmap": ["*"]}}}`,
		`{"\ud800\\x": "\udc00", "\ud83d\ude00": -0.0e-5}`,
		`{"main": "a", "version": 1`,
		"{\"main\": \"\xff\"}",
	} {
		f.Add(seed, DefaultPlatform)
	}
	f.Fuzz(func(t *testing.T, text, platform string) {
		message := Check(text, platform)
		for _, problem := range Lint(text, "") {
			if problem == "" {
				t.Errorf("Lint(%q) gave an empty problem", text)
			}
		}
		if again := Check(text, platform); again != message {
			t.Errorf("Check(%q, %q) gave %q, then %q", text, platform, message, again)
		}
	})
}
