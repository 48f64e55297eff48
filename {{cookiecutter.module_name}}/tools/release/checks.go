package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// A check is one of the project's checks. A release runs them all before it
// commits anything, and CI runs the same list with `go run ./tools/release
// check`, so CI and the release cannot disagree.
type check struct {
	// command is the check as it is typed, and as messages name it.
	command string
	// argv is what runs, when it differs from command: output that names
	// failures more reliably.
	argv []string
	// needsBin marks a check that reads bin/: it runs once bin/ is built.
	needsBin bool
	// judge reads the output: what failed, named, or an empty verdict.
	judge func(result) verdict
}

// checks is the list, in the order it runs: quick ones first, and the
// module.json check last, once bin/ (which it wants complete) is built. go
// vet also reads the tests that run in ThingsDB, behind their build tag.
var checks = []check{
	{command: "gofmt -l .", judge: unformatted},
	{command: "go vet -tags integration ./...", judge: firstLines},
	{command: "go test ./...", argv: []string{"go", "test", "-json", "./..."}, judge: failingTests},
	{command: "go run ./tools/manifest", needsBin: true, judge: firstLines},
}

// A verdict is what a failed check's output names; problem is empty when the
// check passed.
type verdict struct {
	problem string // what failed, for the one-line refusal
	log     string // the output worth reading, printed above it
}

// checkError is a failed check.
type checkError struct {
	command, problem string
}

func (e *checkError) Error() string {
	return fmt.Sprintf("`%s` failed (%s)", e.command, e.problem)
}

// runChecks runs list in order and stops at the first failure, after
// printing its output. beforeBin runs once, before the first check that
// needs bin/.
func runChecks(list []check, beforeBin func() error) error {
	binReady := false
	for _, c := range list {
		if interrupted.Load() {
			return errors.New("interrupted")
		}
		if c.needsBin && !binReady {
			if err := beforeBin(); err != nil {
				return err
			}
			binReady = true
		}
		say("Checking: %s", c.command)
		argv := c.argv
		if argv == nil {
			argv = strings.Fields(c.command)
		}
		r, err := capture(nil, argv...)
		if err != nil {
			return err
		}
		if v := c.judge(r); v.problem != "" {
			if v.log != "" {
				fmt.Fprintln(os.Stderr, strings.TrimRight(v.log, "\n"))
			}
			return &checkError{command: c.command, problem: v.problem}
		}
	}
	return nil
}

// cmdCheck runs every check, as a release would. A tree without bin/ gets
// it built for the module.json check, as a release builds it, and loses it
// again afterwards.
func cmdCheck() error {
	if err := findRoot(); err != nil {
		return err
	}
	restore := func() error { return nil }
	err := runChecks(checks, func() error {
		data, err := readManifestFile()
		if err != nil {
			return nil // the module.json check says what is wrong with it
		}
		manifest, err := readManifest(data, manifestName)
		if err != nil {
			return nil
		}
		missing := missingFiles(binaries(manifest))
		if len(missing) == 0 {
			return nil
		}
		saved, err := saveBin()
		if err != nil {
			return err
		}
		restore = saved.restore
		say("bin/ lacks %s: building it for the check, as a release does (go run ./tools/build) ...", listed(missing, 3))
		return build()
	})
	if restoreErr := restore(); err == nil {
		err = restoreErr
	}
	if err == nil {
		say("All checks passed.")
	}
	return err
}

// unformatted judges gofmt -l: the files it lists are not formatted.
func unformatted(r result) verdict {
	if r.code != 0 {
		return firstLines(r)
	}
	files := nonEmptyLines(r.stdout)
	if len(files) == 0 {
		return verdict{}
	}
	return verdict{problem: fmt.Sprintf("not gofmt-formatted: %s; run gofmt -w .", listed(files, 5))}
}

// goRunExit is the line go run adds when the program exits non-zero.
var goRunExit = regexp.MustCompile(`^exit status [0-9]+$`)

// firstLines judges a command by its exit status and names the first lines
// of its output, leaving out the "# package" headers of go vet and go build
// and go run's exit status.
func firstLines(r result) verdict {
	if r.code == 0 {
		return verdict{}
	}
	var lines []string
	for _, line := range nonEmptyLines(r.output()) {
		if !strings.HasPrefix(line, "#") && !goRunExit.MatchString(line) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		return verdict{problem: fmt.Sprintf("exit %d", r.code)}
	}
	return verdict{problem: listedLines(lines, 3), log: r.output()}
}

// listedLines joins up to max lines with semicolons, then says how many
// more there are.
func listedLines(lines []string, max int) string {
	if len(lines) <= max {
		return strings.Join(lines, "; ")
	}
	return fmt.Sprintf("%s; and %d more lines", strings.Join(lines[:max], "; "), len(lines)-max)
}
