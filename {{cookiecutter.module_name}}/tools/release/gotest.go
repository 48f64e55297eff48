package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// failingTests judges go test -json: it names the tests that failed, and
// the packages that failed without a failing test (one that does not
// build, or exits in TestMain), and logs what those printed.
func failingTests(r result) verdict {
	if r.code == 0 {
		return verdict{}
	}
	report := readTestReport(r.stdout, r.stderr)
	problems := report.problems(readModulePath())
	if len(problems) == 0 { // not even a package failed: go test itself did
		return firstLines(result{stdout: r.stderr, code: r.code})
	}
	return verdict{problem: strings.Join(problems, "; "), log: report.log()}
}

// testEvent is a line of go test -json (cmd/test2json), build events
// included (Go 1.24 and newer).
type testEvent struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string
	FailedBuild string
}

// testKey names a test, or with test empty a package.
type testKey struct{ pkg, test string }

// testReport is what go test -json said about what failed.
type testReport struct {
	events      []testEvent
	failed      map[testKey]bool
	tests       []testKey           // the failed tests, in order
	packages    []string            // the failed packages, in order
	brokenBuild map[string]string   // package -> the package whose build failed
	buildErrors map[string][]string // package -> its build output
	stderr      string
}

// readTestReport reads the events of go test -json, and the build errors
// older Go releases write to stderr instead.
func readTestReport(stdout, stderr string) *testReport {
	t := &testReport{
		failed:      map[testKey]bool{},
		brokenBuild: map[string]string{},
		buildErrors: map[string][]string{},
		stderr:      stderr,
	}
	for _, line := range strings.Split(stdout, "\n") {
		var e testEvent
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil {
			t.add(e)
		}
	}
	pkg := ""
	for _, line := range nonEmptyLines(stderr) {
		if header, ok := strings.CutPrefix(line, "# "); ok {
			pkg = importPath(header)
		} else {
			t.buildErrors[pkg] = append(t.buildErrors[pkg], line)
		}
	}
	return t
}

// add records one event.
func (t *testReport) add(e testEvent) {
	t.events = append(t.events, e)
	switch {
	case e.Action == "build-output":
		pkg := importPath(e.ImportPath)
		t.buildErrors[pkg] = append(t.buildErrors[pkg], strings.TrimRight(e.Output, "\n"))
	case e.Action == "fail" && e.Test != "":
		t.failed[testKey{e.Package, e.Test}] = true
		t.tests = append(t.tests, testKey{e.Package, e.Test})
	case e.Action == "fail":
		t.failed[testKey{e.Package, ""}] = true
		t.packages = append(t.packages, e.Package)
		if e.FailedBuild != "" {
			t.brokenBuild[e.Package] = importPath(e.FailedBuild)
		}
	}
}

// problems names the failed tests (the deepest subtests only), then the
// packages that failed without a failed test.
func (t *testReport) problems(modulePath string) []string {
	var names []string
	for _, key := range t.tests {
		if !t.hasFailed(func(k testKey) bool { return k.pkg == key.pkg && strings.HasPrefix(k.test, key.test+"/") }) {
			names = append(names, testName(modulePath, key))
		}
	}
	var problems []string
	if len(names) > 0 {
		problems = append(problems, "failing tests: "+listed(names, 5))
	}
	for _, pkg := range t.packages {
		if !t.hasFailed(func(k testKey) bool { return k.pkg == pkg }) {
			problems = append(problems, t.packageProblem(modulePath, pkg))
		}
	}
	return problems
}

// hasFailed reports whether a failed test matches.
func (t *testReport) hasFailed(match func(testKey) bool) bool {
	for _, key := range t.tests {
		if match(key) {
			return true
		}
	}
	return false
}

// packageProblem says why a package failed without a failed test: its build
// errors, when it has some.
func (t *testReport) packageProblem(modulePath, pkg string) string {
	broken := pkg
	if b, ok := t.brokenBuild[pkg]; ok {
		broken = b
	}
	var errs []string
	for _, line := range t.buildErrors[broken] {
		if line != "" && !strings.HasPrefix(line, "#") {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	if len(errs) == 0 {
		return packageName(modulePath, pkg) + " failed"
	}
	return fmt.Sprintf("%s does not build: %s", packageName(modulePath, pkg), listedLines(errs, 2))
}

// log is the output of what failed: the failed tests, the failed packages'
// own lines, the build errors.
func (t *testReport) log() string {
	var log strings.Builder
	for _, e := range t.events {
		if e.Action == "build-output" || (e.Action == "output" && t.failed[testKey{e.Package, e.Test}]) {
			log.WriteString(e.Output)
		}
	}
	log.WriteString(t.stderr)
	return log.String()
}

// importPath is the package of "path [path.test]", as build output names
// the test build of a package.
func importPath(s string) string {
	path, _, _ := strings.Cut(s, " ")
	return path
}

// testName names a test as the root package's TestX, or internal/wire.TestX
// for another package of the module.
func testName(modulePath string, key testKey) string {
	if p := packageName(modulePath, key.pkg); p != "." {
		return p + "." + key.test
	}
	return key.test
}

// packageName is a package's directory in the module ("." for the root, or
// internal/wire), or its import path when it is elsewhere.
func packageName(modulePath, pkg string) string {
	if pkg == modulePath {
		return "."
	}
	if rest, ok := strings.CutPrefix(pkg, modulePath+"/"); ok && modulePath != "" {
		return rest
	}
	return pkg
}

// readModulePath is go.mod's module path, or "" when go.mod cannot be read.
func readModulePath() string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`)
		}
	}
	return ""
}
