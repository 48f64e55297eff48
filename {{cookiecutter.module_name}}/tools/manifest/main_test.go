package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// runIn runs the command in dir; its exit status, stdout and stderr.
func runIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var stdout, stderr bytes.Buffer
	status := run(args, &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunPrintsOkOrOneLinePerProblem(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "module.json"), `{"version": "1.0.0", "main": {"linux/amd64": "bin/demo"}}`)
	status, stdout, stderr := runIn(t, dir)
	want := "module.json: `main` file `bin/demo` does not exist in the repository\n"
	if status != 1 || stdout != want || stderr != "" {
		t.Errorf("missing binary: %d %q %q", status, stdout, stderr)
	}
	writeFile(t, filepath.Join(dir, "bin", "demo"), "")
	if status, stdout, _ := runIn(t, dir, "module.json"); status != 0 || stdout != "module.json: ok\n" {
		t.Errorf("all there: %d %q", status, stdout)
	}
	// the files are looked up next to module.json
	if status, stdout, _ := runIn(t, filepath.Dir(dir), filepath.Join(filepath.Base(dir), "module.json")); status != 0 {
		t.Errorf("from the parent folder: %d %q", status, stdout)
	}
}

func TestRunWithPlatformGivesOnlyTheServerVerdict(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "module.json"), `{"version": 1.0, "main": {"linux/aarch64": "bin/x"}}`)
	withPlatform := [][]string{
		{"--platform", "linux/aarch64"},
		{"--platform=linux/aarch64", "module.json"},
	}
	for _, args := range withPlatform {
		if status, stdout, _ := runIn(t, dir, args...); status != 0 || stdout != "module.json: ok\n" {
			t.Errorf("%q: %d %q", args, status, stdout)
		}
	}
	status, stdout, _ := runIn(t, dir, "module.json", "--platform", "linux/amd64")
	if status != 1 || stdout != "module.json: missing required `main` in module.json\n" {
		t.Errorf("other key: %d %q", status, stdout)
	}
}

func TestRunExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"missing.json"}, "missing.json: cannot read the file: No such file or directory\n"},
		{[]string{"."}, ".: cannot read the file: Is a directory\n"},
		{[]string{"a", "b"}, usage + "\n"},
		{[]string{"-h"}, usage + "\n"},
		{[]string{"--platform"}, usage + "\n"},
		{[]string{"--platform", "a", "--platform=b"}, usage + "\n"},
	} {
		status, stdout, stderr := runIn(t, dir, tt.args...)
		if status != 2 || stdout != "" || stderr != tt.stderr {
			t.Errorf("%q: %d %q %q", tt.args, status, stdout, stderr)
		}
	}
}

func TestSayEscapesWhatATerminalCannotShow(t *testing.T) {
	var b bytes.Buffer
	say(&b, "d\xffir/módule.json", "key `\xed\xb0\x80` é")
	if want := "d\\udcffir/módule.json: key `\\udc00` é\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestDirnameIsNotCleaned(t *testing.T) {
	for path, want := range map[string]string{
		"module.json": ".", "a/module.json": "a", "a//module.json": "a", "/module.json": "/",
		"a/../module.json": "a/..", "//module.json": "//", "": ".",
	} {
		if got := dirname(path); got != want {
			t.Errorf("dirname(%q) = %q, want %q", path, got, want)
		}
	}
}
