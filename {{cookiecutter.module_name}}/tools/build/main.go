// Command build cross-compiles the module for every platform named in
// module.json's "main" map and writes the binaries to bin/, where ThingsDB
// fetches them from.
//
// Run it from the repository root:
//
//	go run ./tools/build          # build bin/ and print what was built
//	go run ./tools/build -check   # rebuild elsewhere, compare with bin/ (CI)
//
// Every key of "main" is mapped back to GOOS/GOARCH/GOARM through
// platforms.json, the same table the project template used to write the map.
// A key the table does not know, a file that is not directly in bin/, or one
// file named for two different platforms stops the build.
//
// The builds are reproducible (internal/gobuild, which tools/dev builds with
// too): the same sources and the same Go release give byte-identical
// binaries on any machine. That is what -check relies on: commit bin/ built
// with the Go release your CI uses.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"{{ cookiecutter.go_module_path }}/internal/gobuild"
)

// binDir is the folder ThingsDB fetches binaries from; it lists only its top
// level, so binaries must sit directly in it.
const binDir = "bin"

//go:embed platforms.json
var platformsJSON []byte

// Platform is one entry of platforms.json.
type Platform = gobuild.Platform

// Target is one binary to build: a file in bin/, its platform and the
// module.json keys that name it.
type Target struct {
	File     string
	Platform string
	Spec     Platform
	Keys     []string
}

// Built is a binary that was built.
type Built struct {
	Target
	Size   int64
	SHA256 string
}

func main() {
	check := flag.Bool("check", false,
		"build into a temporary directory and compare with the binaries in bin/; exit 1 when they differ")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: go run ./tools/build [-check]\n\nBuilds bin/ from module.json's main map; run it from the repository root.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*check, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n", err)
		os.Exit(1)
	}
}

// run builds every target of module.json (into bin/, or into a temporary
// directory with check) and prints a table of the results.
func run(check bool, stdout, stderr io.Writer) error {
	table, err := gobuild.ParseTable(platformsJSON)
	if err != nil {
		return fmt.Errorf("tools/build/platforms.json: %w", err)
	}
	mainMap, err := readMain("module.json")
	if err != nil {
		return err
	}
	targets, err := Plan(mainMap, table)
	if err != nil {
		return fmt.Errorf("module.json: %w", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	goVersion, err := output(goCmd, "env", "GOVERSION")
	if err != nil {
		return err
	}

	outDir := binDir
	if check {
		outDir, err = os.MkdirTemp("", "module-build-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(outDir)
	} else if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}

	var built []Built
	for _, t := range targets {
		b, err := build(goCmd, t, filepath.Join(outDir, filepath.Base(t.File)))
		if err != nil {
			return err
		}
		built = append(built, b)
	}
	if err := printTable(stdout, goVersion, built); err != nil {
		return err
	}
	if check {
		return compare(stderr, built, goVersion)
	}
	return warnStale(stderr, targets)
}

// readMain returns module.json's "main" map.
func readMain(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no module.json here; run `go run ./tools/build` from the repository root")
	}
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Main json.RawMessage `json:"main"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var main map[string]string
	if err := json.Unmarshal(manifest.Main, &main); err != nil || main == nil {
		return nil, fmt.Errorf(`%s: "main" must be a map of "os/arch" keys to files in bin/`, path)
	}
	return main, nil
}

// Plan maps every key of module.json's main map to its platform and returns
// one Target per distinct file, sorted by file. It refuses a key the table
// does not know, a file that is not directly in bin/, and a file named for
// two platforms.
func Plan(main map[string]string, table map[string]Platform) ([]Target, error) {
	if len(main) == 0 {
		return nil, errors.New(`"main" names no platform`)
	}
	platformOf := map[string]string{}
	for id, p := range table {
		for _, key := range p.Keys {
			platformOf[key] = id
		}
	}
	byFile := map[string]*Target{}
	for _, key := range sortedKeys(main) {
		file := main[key]
		id, ok := platformOf[key]
		if !ok {
			return nil, fmt.Errorf("main key %q is not a known platform key (known: %s)",
				key, strings.Join(sortedKeys(platformOf), ", "))
		}
		if err := checkPath(file); err != nil {
			return nil, fmt.Errorf("main[%q] = %q: %w", key, file, err)
		}
		t, ok := byFile[file]
		if !ok {
			t = &Target{File: file, Platform: id, Spec: table[id]}
			byFile[file] = t
		} else if t.Platform != id {
			return nil, fmt.Errorf("%q is named for two platforms, %s (key %q) and %s (key %q); give each its own file",
				file, t.Platform, t.Keys[0], id, key)
		}
		t.Keys = append(t.Keys, key)
	}
	targets := make([]Target, 0, len(byFile))
	for _, file := range sortedKeys(byFile) {
		targets = append(targets, *byFile[file])
	}
	return targets, nil
}

// checkPath accepts a file directly in bin/.
func checkPath(file string) error {
	name, ok := strings.CutPrefix(file, binDir+"/")
	if !ok || name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return errors.New("binaries must sit directly in bin/ (ThingsDB lists only the top of bin/)")
	}
	return nil
}

// build compiles the module at the repository root for t into out.
func build(goCmd string, t Target, out string) (Built, error) {
	cmd := gobuild.Command(context.Background(), goCmd, "", t.Spec, out, os.Environ())
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return Built{}, fmt.Errorf("building %s for %s: %v\n%s", t.File, t.Platform, err, log.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return Built{}, err
	}
	sum := sha256.Sum256(data)
	return Built{Target: t, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// printTable prints one line per binary: keys, file, size and sha256.
func printTable(w io.Writer, goVersion string, built []Built) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "KEYS\tFILE\tSIZE\tSHA256\n")
	for _, b := range built {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", strings.Join(b.Keys, ","), b.File, b.Size, b.SHA256)
	}
	fmt.Fprintf(tw, "%d binaries built with %s\n", len(built), goVersion)
	return tw.Flush()
}

// compare checks freshly built binaries against the committed ones in bin/.
func compare(w io.Writer, built []Built, goVersion string) error {
	bad := 0
	for _, b := range built {
		committed, err := os.ReadFile(b.File)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(w, "missing:  %s\n", b.File)
			bad++
			continue
		} else if err != nil {
			return err
		}
		sum := sha256.Sum256(committed)
		if got := hex.EncodeToString(sum[:]); got != b.SHA256 {
			fmt.Fprintf(w, "differs:  %s (bin/ has %d bytes, sha256 %s; %s builds %d bytes, sha256 %s)\n",
				b.File, len(committed), got, goVersion, b.Size, b.SHA256)
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d binaries in bin/ do not match the sources; run `go run ./tools/build` with %s and commit bin/",
			bad, len(built), goVersion)
	}
	fmt.Fprintf(w, "bin/ matches the sources (%d binaries)\n", len(built))
	return nil
}

// warnStale names files in bin/ that module.json does not use.
func warnStale(w io.Writer, targets []Target) error {
	used := map[string]bool{}
	for _, t := range targets {
		used[filepath.Base(t.File)] = true
	}
	entries, err := os.ReadDir(binDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !used[e.Name()] {
			fmt.Fprintf(w, "note: bin/%s is not named in module.json's main; remove it\n", e.Name())
		}
	}
	return nil
}

// output runs a command and returns its trimmed standard output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
