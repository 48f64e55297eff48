package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"{{ cookiecutter.go_module_path }}/internal/manifest"
)

// syncUsage is the usage of the sync command.
const syncUsage = "usage: go run ./tools/manifest sync [--check]"

// syncOptions are the file and command sync's messages name.
var syncOptions = manifest.SyncOptions{Code: "handlers.go", Command: "go run ./tools/manifest sync"}

// runSync is `sync [--check]`, run from the repository root: module.json's
// exposes and README.md's functions follow handlers.go, which the module
// describes (`go run . -describe`). With --check it writes nothing and exits
// 1 with one line per difference.
func runSync(args []string, stdout, stderr io.Writer) int {
	check := false
	for _, arg := range args {
		if arg != "--check" {
			fmt.Fprintln(stderr, syncUsage)
			return 2
		}
		check = true
	}
	name, functions, err := describe(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "go run . -describe: %v\n", err)
		return 2
	}
	opts := syncOptions
	opts.Module = name
	synced, err := manifest.Sync(".", functions, opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if check {
		for _, problem := range synced.Problems {
			fmt.Fprintln(stdout, problem)
		}
		if len(synced.Problems) > 0 {
			return 1
		}
		fmt.Fprintln(stdout, "module.json and README.md follow handlers.go")
		return 0
	}
	if err := manifest.WriteSynced(".", synced); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, problem := range synced.Problems {
		fmt.Fprintln(stdout, "synced: "+strings.TrimSuffix(problem, "; run "+opts.Command))
	}
	fmt.Fprintln(stdout, "module.json and README.md follow handlers.go")
	return 0
}

// describe runs the module to learn its functions: package main cannot be
// imported.
func describe(stderr io.Writer) (string, []manifest.Function, error) {
	var out bytes.Buffer
	cmd := exec.Command("go", "run", ".", "-describe")
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return "", nil, err
	}
	var description struct {
		Module    string              `json:"module"`
		Functions []manifest.Function `json:"functions"`
	}
	if err := json.Unmarshal(out.Bytes(), &description); err != nil {
		return "", nil, err
	}
	return description.Module, description.Functions, nil
}
