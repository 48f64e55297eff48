package devnode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"{{ cookiecutter.go_module_path }}/internal/gobuild"
	"{{ cookiecutter.go_module_path }}/internal/module"
)

// Platform is where the node runs: the key ThingsDB looks up in module.json's
// main map, and the platforms.json entry to build for it.
type Platform struct {
	Key string // "linux/amd64", "linux/aarch64", ...
	gobuild.Platform
}

// platformFromUname is the platform of a host whose uname -s and -m are
// sysname and machine: the key as ThingsDB computes it (src/util/osarch.c:
// lowercase, with only x86_64 and i386/i686 renamed), built as the entry of
// table (platforms.json) that lists that key.
func platformFromUname(sysname, machine string, table map[string]gobuild.Platform) (Platform, error) {
	machine = strings.ToLower(machine)
	switch machine {
	case "x86_64", "x64":
		machine = "amd64"
	case "i386", "i686":
		machine = "386"
	}
	key := strings.ToLower(sysname) + "/" + machine
	build, ok := gobuild.ForKey(table, key)
	if !ok {
		return Platform{}, fmt.Errorf("no Go build for ThingsDB's platform %s in tools/build/platforms.json", key)
	}
	return Platform{Key: key, Platform: build}, nil
}

// ReadPlatforms reads the platform table of the project in dir.
func ReadPlatforms(dir string) (map[string]gobuild.Platform, error) {
	data, err := os.ReadFile(filepath.Join(dir, "tools", "build", "platforms.json"))
	if err != nil {
		return nil, err
	}
	return gobuild.ParseTable(data)
}

// hostPlatform is this machine's platform, where a --server node runs.
func hostPlatform(table map[string]gobuild.Platform) (Platform, error) {
	out, err := exec.Command("uname", "-s", "-m").Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) != 2 {
		return Platform{}, fmt.Errorf("uname -s -m: %v", err)
	}
	return platformFromUname(fields[0], fields[1], table)
}

// imagePlatform is the platform of a Linux image as the engine reports it
// (GOARCH names, and v6/v7 for arm); the host's architecture when the
// engine cannot tell.
func imagePlatform(ctx context.Context, engine, image string, table map[string]gobuild.Platform) Platform {
	machine := map[string]string{"amd64": "x86_64", "386": "i686", "arm64": "aarch64"}[runtime.GOARCH]
	if runtime.GOARCH == "arm" {
		machine = "armv7l"
	}
	var inspected []struct {
		Architecture string `json:"Architecture"`
		Variant      string `json:"Variant"`
	}
	out, err := exec.CommandContext(ctx, engine, "image", "inspect", image).Output()
	if err == nil && json.Unmarshal(bytes.TrimSpace(out), &inspected) == nil && len(inspected) == 1 {
		switch a := inspected[0]; {
		case a.Architecture == "arm" && a.Variant == "v6":
			machine = "armv6l"
		case a.Architecture == "arm":
			machine = "armv7l"
		case a.Architecture == "amd64":
			machine = "x86_64"
		case a.Architecture == "386":
			machine = "i686"
		case a.Architecture == "arm64":
			machine = "aarch64"
		}
	}
	p, err := platformFromUname("Linux", machine, table)
	if err != nil {
		p = Platform{Key: "linux/amd64", Platform: gobuild.Platform{GOOS: "linux", GOARCH: "amd64"}}
	}
	return p
}

// Build compiles the module in dir for p into out as tools/build does, so
// the node runs the binary a release would hold; the error holds the
// compiler's output.
func Build(ctx context.Context, dir string, p Platform, out string) error {
	cmd := gobuild.Command(ctx, "go", dir, p.Platform, out, os.Environ())
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		text := strings.TrimSpace(log.String())
		if text == "" {
			text = err.Error()
		}
		return &BuildError{Output: text}
	}
	return nil
}

// BuildError is a failed build, with what the compiler said.
type BuildError struct{ Output string }

func (e *BuildError) Error() string {
	first, _ := e.lines()
	return "build failed: " + first
}

// more is what the compiler said beyond its first line.
func (e *BuildError) more() string {
	_, rest := e.lines()
	return strings.Join(rest, "\n")
}

// lines are the compiler's first line and the others, without the "# package"
// lines that head them.
func (e *BuildError) lines() (string, []string) {
	var kept []string
	for _, line := range strings.Split(e.Output, "\n") {
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "# ") {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		return strings.TrimSpace(e.Output), nil
	}
	return kept[0], kept[1:]
}

// Description is what `<module binary> -describe` says of one function.
type Description = module.Description

// Describe runs the module binary with -describe (a binary built for
// another platform is rebuilt for this one first, into scratch).
func Describe(ctx context.Context, dir string, binary string, p Platform, scratch string) ([]Description, error) {
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH {
		binary = scratch
		host := Platform{Platform: gobuild.Platform{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GOARM: "7"}}
		if err := Build(ctx, dir, host, binary); err != nil {
			return nil, err
		}
	}
	out, err := exec.CommandContext(ctx, binary, "-describe").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -describe: %v", binary, err)
	}
	var d struct {
		Functions []Description `json:"functions"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("%s -describe: %v", binary, err)
	}
	return d.Functions, nil
}

// TryQuery is ThingsDB code calling function with the arguments of its
// first example that does not fail, or "" when it has none.
func TryQuery(module string, d Description) string {
	if d.Err != "" {
		return ""
	}
	for _, e := range d.Examples {
		if e.Err == "" {
			return fmt.Sprintf("%s.%s(%s).then(|r| r);", module, d.Name, strings.Join(e.Args, ", "))
		}
	}
	return ""
}
