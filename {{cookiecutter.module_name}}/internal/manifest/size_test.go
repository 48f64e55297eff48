package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// bigManifest is a manifest with n `main` keys, n `includes` maps and n
// exposed functions: every part of the checker grows with it.
func bigManifest(n int) string {
	var b strings.Builder
	b.WriteString(`{"version": "1.0.0", "main": {`)
	for i := range n {
		fmt.Fprintf(&b, `"linux/m%d": "bin/m%d", `, i, i)
	}
	b.WriteString(`"linux/amd64": "bin/demo"}, "includes": [`)
	for i := range n {
		fmt.Fprintf(&b, `{"other/m%d": "x%d"}, `, i, i)
	}
	b.WriteString(`"x"], "exposes": {`)
	for i := range n {
		fmt.Fprintf(&b, `"f%d": {"defaults": {"function": "f%d", "a%d": 1}, "argmap": ["a", "b%d"]}, `, i, i, i, i)
	}
	b.WriteString(`"g": "|x| x"}}`)
	return b.String()
}

// The checker reads the text once, however many platform keys `main`
// lists, so 50,000 keys take about ten times as long as 5,000 (the Python
// checker took 144 s for 5,000). Run with -bench to see the times.
func TestLintOfALargeManifest(t *testing.T) {
	sizes := []int{5000, 50000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		problems := Lint(bigManifest(n), "")
		want := "`includes` holds a map: ThingsDB fails on one with the node's own platform key and ignores the others; list plain paths"
		if len(problems) != 1 || problems[0] != want {
			t.Errorf("%d keys: %q", n, problems)
		}
	}
}

func BenchmarkLint5000Keys(b *testing.B)  { benchmarkLint(b, 5000) }
func BenchmarkLint50000Keys(b *testing.B) { benchmarkLint(b, 50000) }

func benchmarkLint(b *testing.B, n int) {
	text := bigManifest(n)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		Lint(text, "")
	}
}

func TestCheckOfDeepNesting(t *testing.T) {
	deep := strings.Repeat("[", 200000)
	if got := Check(`{"version": "1", "main": "demo.py", "defaults": {"x": `+deep, DefaultPlatform); got != "" {
		t.Errorf("cut short inside a default: %q", got)
	}
	if got := Lint(`{"main": `+deep, ""); len(got) != 1 || got[0] != "expecting a string or map as `main` in module.json, not an array" {
		t.Errorf("deep main: %q", got)
	}
}
