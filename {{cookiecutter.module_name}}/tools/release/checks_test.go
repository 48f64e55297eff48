package main

import (
	"strings"
	"testing"
)

// testJSON is go test -json output: a failing test with a failing subtest,
// a failing test, a passing one, and a package that does not build.
const testJSON = `{"Action":"start","Package":"example.com/m"}
{"Action":"run","Package":"example.com/m","Test":"TestA"}
{"Action":"output","Package":"example.com/m","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"example.com/m","Test":"TestA/empty","Output":"    a_test.go:3: boom\n"}
{"Action":"fail","Package":"example.com/m","Test":"TestA/empty"}
{"Action":"fail","Package":"example.com/m","Test":"TestA"}
{"Action":"output","Package":"example.com/m","Test":"TestB","Output":"--- PASS: TestB (0.00s)\n"}
{"Action":"pass","Package":"example.com/m","Test":"TestB"}
{"Action":"fail","Package":"example.com/m"}
{"Action":"output","Package":"example.com/m/internal/wire","Test":"TestFrame","Output":"--- FAIL: TestFrame (0.00s)\n"}
{"Action":"fail","Package":"example.com/m/internal/wire","Test":"TestFrame"}
{"Action":"fail","Package":"example.com/m/internal/wire"}
{"ImportPath":"example.com/m/internal/bad [example.com/m/internal/bad.test]","Action":"build-output","Output":"# example.com/m/internal/bad [example.com/m/internal/bad.test]\n"}
{"ImportPath":"example.com/m/internal/bad [example.com/m/internal/bad.test]","Action":"build-output","Output":"internal/bad/b.go:2:12: undefined: y\n"}
{"ImportPath":"example.com/m/internal/bad [example.com/m/internal/bad.test]","Action":"build-fail"}
{"Action":"output","Package":"example.com/m/internal/bad","Output":"FAIL\texample.com/m/internal/bad [build failed]\n"}
{"Action":"fail","Package":"example.com/m/internal/bad","FailedBuild":"example.com/m/internal/bad [example.com/m/internal/bad.test]"}
`

func TestFailingTestsNamesTestsAndBrokenPackages(t *testing.T) {
	root = t.TempDir() // no go.mod: packages keep their import paths
	v := failingTests(result{stdout: testJSON, code: 1})
	want := "failing tests: example.com/m.TestA/empty, example.com/m/internal/wire.TestFrame; " +
		"example.com/m/internal/bad does not build: internal/bad/b.go:2:12: undefined: y"
	if v.problem != want {
		t.Errorf("problem:\n got %q\nwant %q", v.problem, want)
	}
	for _, line := range []string{"a_test.go:3: boom", "--- FAIL: TestFrame", "undefined: y"} {
		if !strings.Contains(v.log, line) {
			t.Errorf("the log lacks %q:\n%s", line, v.log)
		}
	}
	if strings.Contains(v.log, "TestB") {
		t.Errorf("the log shows a passing test:\n%s", v.log)
	}
}

func TestTestNamesAreRelativeToTheModule(t *testing.T) {
	if got := testName("example.com/m", testKey{"example.com/m", "TestA"}); got != "TestA" {
		t.Errorf("root package: %q", got)
	}
	if got := testName("example.com/m", testKey{"example.com/m/internal/wire", "TestF/x"}); got != "internal/wire.TestF/x" {
		t.Errorf("internal package: %q", got)
	}
	if got := packageName("example.com/m", "example.com/mx"); got != "example.com/mx" {
		t.Errorf("a look-alike path: %q", got)
	}
}

func TestFailingTestsReadsBuildErrorsOnStderr(t *testing.T) {
	root = t.TempDir()
	stdout := `{"Action":"output","Package":"example.com/m","Output":"FAIL\texample.com/m [build failed]\n"}
{"Action":"fail","Package":"example.com/m"}
`
	stderr := "# example.com/m [example.com/m.test]\n./main.go:3:8: \"os\" imported and not used\n"
	v := failingTests(result{stdout: stdout, stderr: stderr, code: 1})
	if want := `example.com/m does not build: ./main.go:3:8: "os" imported and not used`; v.problem != want {
		t.Errorf("problem %q, want %q", v.problem, want)
	}
}

func TestFailingTestsFallsBackToGoTestsOwnError(t *testing.T) {
	v := failingTests(result{stderr: "pattern ./...: directory prefix . does not contain main module\n", code: 1})
	if !strings.Contains(v.problem, "does not contain main module") {
		t.Errorf("problem %q", v.problem)
	}
	if v := failingTests(result{stdout: testJSON}); v.problem != "" {
		t.Errorf("exit status 0 failed: %q", v.problem)
	}
}

func TestUnformattedNamesTheFiles(t *testing.T) {
	if v := unformatted(result{}); v.problem != "" {
		t.Errorf("no files listed, yet %q", v.problem)
	}
	v := unformatted(result{stdout: "a.go\ninternal/b.go\n"})
	if want := "not gofmt-formatted: a.go, internal/b.go; run gofmt -w ."; v.problem != want {
		t.Errorf("problem %q, want %q", v.problem, want)
	}
	v = unformatted(result{stderr: "x.go:3:1: expected declaration, found 'func'\n", code: 2})
	if !strings.Contains(v.problem, "x.go:3:1: expected declaration") {
		t.Errorf("a syntax error: %q", v.problem)
	}
}

func TestFirstLinesSkipsHeadersAndGoRunsExitStatus(t *testing.T) {
	r := result{
		stdout: "module.json: `main` file `bin/a` does not exist\nmodule.json: two\nmodule.json: three\nmodule.json: four\n",
		stderr: "exit status 1\n",
		code:   1,
	}
	v := firstLines(r)
	want := "module.json: `main` file `bin/a` does not exist; module.json: two; module.json: three; and 1 more lines"
	if v.problem != want {
		t.Errorf("problem %q, want %q", v.problem, want)
	}
	v = firstLines(result{stderr: "# example.com/m\n# [example.com/m]\nvet: ./x.go:1:1: bad\n", code: 1})
	if v.problem != "vet: ./x.go:1:1: bad" {
		t.Errorf("go vet: %q", v.problem)
	}
	if v := firstLines(result{code: 3}); v.problem != "exit 3" {
		t.Errorf("no output: %q", v.problem)
	}
}

func TestTheChecksAreTheOnesCIRuns(t *testing.T) {
	var commands []string
	for _, c := range checks {
		commands = append(commands, c.command)
		if c.judge == nil {
			t.Errorf("%s: no judge", c.command)
		}
	}
	want := "gofmt -l ., go vet -tags integration ./..., go test ./..., go run ./tools/manifest"
	if got := strings.Join(commands, ", "); got != want {
		t.Errorf("checks %q, want %q", got, want)
	}
	if last := checks[len(checks)-1]; !last.needsBin {
		t.Error("the module.json check must run once bin/ is built")
	}
}
