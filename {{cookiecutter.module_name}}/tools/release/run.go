package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// root is the repository root (the directory of go.mod), where every command
// runs.
var root string

// findRoot sets root: the directory of go.mod, from the working directory
// up.
func findRoot() error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			root = dir
			return nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return errors.New("no go.mod in the working directory or above: run go run ./tools/release in the module's repository")
		}
		dir = parent
	}
}

// result is a finished command's output.
type result struct {
	stdout, stderr string
	code           int
}

// output is the command's output, stdout first, trimmed.
func (r result) output() string {
	return strings.TrimSpace(r.stdout + "\n" + r.stderr)
}

// capture runs a command in the root and returns its output. It fails only
// when the command cannot run; a non-zero exit is in the result. env, when
// not nil, replaces the environment.
func capture(env []string, argv ...string) (result, error) {
	cmd, err := newCmd(env, argv)
	if err != nil {
		return result{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return r, fmt.Errorf("`%s` could not run: %v", strings.Join(argv, " "), err)
	}
	return r, nil
}

// stream runs a command in the root with its output on ours and returns
// its exit status.
func stream(env []string, argv ...string) (int, error) {
	cmd, err := newCmd(env, argv)
	if err != nil {
		return 0, err
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, fmt.Errorf("`%s` could not run: %v", strings.Join(argv, " "), err)
	}
	return cmd.ProcessState.ExitCode(), nil
}

// newCmd prepares argv to run in the root.
func newCmd(env, argv []string) (*exec.Cmd, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("`%s` is not installed (or not on PATH)", argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Dir = root
	cmd.Env = env
	return cmd, nil
}

// mustRun runs a command and returns its trimmed stdout; a non-zero exit is
// an error naming the command and the last line it printed.
func mustRun(argv ...string) (string, error) {
	r, err := capture(nil, argv...)
	if err != nil {
		return "", err
	}
	if r.code != 0 {
		detail := ""
		if lines := nonEmptyLines(r.stderr); len(lines) > 0 {
			detail = ": " + strings.TrimSpace(lines[len(lines)-1])
		} else if lines := nonEmptyLines(r.stdout); len(lines) > 0 {
			detail = ": " + strings.TrimSpace(lines[len(lines)-1])
		}
		return "", fmt.Errorf("`%s` failed (exit %d)%s", strings.Join(argv, " "), r.code, detail)
	}
	return strings.TrimSpace(r.stdout), nil
}

// git runs git and returns its trimmed output.
func git(args ...string) (string, error) {
	return mustRun(append([]string{"git"}, args...)...)
}

// gitOK reports whether a git command succeeds.
func gitOK(args ...string) bool {
	r, err := capture(nil, append([]string{"git"}, args...)...)
	return err == nil && r.code == 0
}

// gitTry runs git and returns its trimmed stdout, whether or not it
// succeeded: empty when it failed.
func gitTry(args ...string) string {
	r, _ := capture(nil, append([]string{"git"}, args...)...)
	return strings.TrimSpace(r.stdout)
}

// ensureRepository checks that the root is the top of a git repository with
// a commit.
func ensureRepository() error {
	if err := findRoot(); err != nil {
		return err
	}
	r, err := capture(nil, "git", "rev-parse", "--show-toplevel")
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("%s is not a git repository (git init, commit, then release)", root)
	}
	if !samePath(strings.TrimSpace(r.stdout), root) {
		return fmt.Errorf("%s is not the root of its git repository", root)
	}
	if !gitOK("rev-parse", "-q", "--verify", "HEAD^{commit}") {
		return errors.New("the repository has no commit yet; commit the module first")
	}
	return nil
}

// samePath reports whether two paths name the same directory.
func samePath(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// dirtyFiles lists the files git status shows as changed.
func dirtyFiles(includeUntracked bool) ([]string, error) {
	args := []string{"status", "--porcelain"}
	if !includeUntracked {
		args = append(args, "--untracked-files=no")
	}
	r, err := capture(nil, append([]string{"git"}, args...)...)
	if err != nil {
		return nil, err
	}
	if r.code != 0 {
		return nil, fmt.Errorf("`git %s` failed (exit %d): %s", strings.Join(args, " "), r.code, oneLine(r.stderr))
	}
	var files []string
	for _, line := range nonEmptyLines(r.stdout) { // the status columns matter: not trimmed
		if len(line) > 3 {
			files = append(files, line[3:])
		}
	}
	return files, nil
}

// ensureClean refuses a work tree with uncommitted changes.
func ensureClean(includeUntracked bool) error {
	dirty, err := dirtyFiles(includeUntracked)
	if err != nil {
		return err
	}
	if len(dirty) > 0 {
		return fmt.Errorf("the work tree has uncommitted changes (%s); commit or stash them first", listed(dirty, 3))
	}
	return nil
}

// nonEmptyLines splits text into lines, leaving out blank ones.
func nonEmptyLines(text string) []string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, strings.TrimRight(line, "\r"))
		}
	}
	return lines
}

// fileExists reports whether name, relative to the root, is a regular file.
func fileExists(name string) bool {
	info, err := os.Stat(filepath.Join(root, name))
	return err == nil && info.Mode().IsRegular()
}

// isNotExist reports whether err says a file does not exist.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}
