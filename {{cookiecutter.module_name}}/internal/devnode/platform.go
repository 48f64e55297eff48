package devnode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Platform is where the node runs: the key ThingsDB looks up in module.json's
// main map, and how Go builds for it.
type Platform struct {
	Key                 string // "linux/amd64", "linux/aarch64", ...
	GOOS, GOARCH, GOARM string
}

// platformFromUname is the platform of a host whose uname -s and -m are
// sysname and machine, as ThingsDB computes its key (src/util/osarch.c):
// lowercase, with only x86_64 and i386/i686 renamed.
func platformFromUname(sysname, machine string) (Platform, error) {
	goos := strings.ToLower(sysname)
	machine = strings.ToLower(machine)
	arch := machine
	switch machine {
	case "x86_64", "x64":
		arch = "amd64"
	case "i386", "i686":
		arch = "386"
	}
	p := Platform{Key: goos + "/" + arch, GOOS: goos}
	switch arch {
	case "amd64", "386", "arm64":
		p.GOARCH = arch
	case "aarch64":
		p.GOARCH = "arm64"
	case "armv6l", "arm":
		p.GOARCH, p.GOARM = "arm", "6"
	case "armv7l", "armv8l":
		p.GOARCH, p.GOARM = "arm", "7"
	default:
		return Platform{}, fmt.Errorf("no Go build for ThingsDB's platform %s", p.Key)
	}
	return p, nil
}

// hostPlatform is this machine's platform, where a --server node runs.
func hostPlatform() (Platform, error) {
	out, err := exec.Command("uname", "-s", "-m").Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) != 2 {
		return Platform{}, fmt.Errorf("uname -s -m: %v", err)
	}
	return platformFromUname(fields[0], fields[1])
}

// imagePlatform is the platform of a Linux image as the engine reports it
// (GOARCH names, and v6/v7 for arm); the host's architecture when the
// engine cannot tell.
func imagePlatform(ctx context.Context, engine, image string) Platform {
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
	p, err := platformFromUname("Linux", machine)
	if err != nil {
		return Platform{Key: "linux/amd64", GOOS: "linux", GOARCH: "amd64"}
	}
	return p
}

// buildFlags are tools/build's: the binary the node runs is built as a
// release's would be.
var buildFlags = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// Build compiles the module in dir for p into out; the error holds the
// compiler's output.
func Build(ctx context.Context, dir string, p Platform, out string) error {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{}, buildFlags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = buildEnv(os.Environ(), p)
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

// buildEnv is env with the target set and everything else that could
// change the output removed, as tools/build does.
func buildEnv(env []string, p Platform) []string {
	drop := map[string]bool{
		"GOOS": true, "GOARCH": true, "GOARM": true, "GOARM64": true, "GO386": true,
		"GOAMD64": true, "CGO_ENABLED": true, "GOFLAGS": true, "GOEXPERIMENT": true,
	}
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			out = append(out, kv)
		}
	}
	out = append(out, "CGO_ENABLED=0", "GOOS="+p.GOOS, "GOARCH="+p.GOARCH)
	switch p.GOARCH {
	case "amd64":
		out = append(out, "GOAMD64=v1")
	case "386":
		out = append(out, "GO386=sse2")
	case "arm":
		out = append(out, "GOARM="+p.GOARM)
	case "arm64":
		out = append(out, "GOARM64=v8.0")
	}
	return out
}

// Description is what `<module binary> -describe` says of one function.
type Description struct {
	Name     string `json:"name"`
	Error    string `json:"error"`
	Examples []struct {
		Args []string `json:"args"`
		Err  string   `json:"error"`
	} `json:"examples"`
}

// Describe runs the module binary with -describe (a binary built for
// another platform is rebuilt for this one first, into scratch).
func Describe(ctx context.Context, dir string, binary string, p Platform, scratch string) ([]Description, error) {
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH {
		binary = scratch
		host := Platform{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GOARM: "7"}
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
	if d.Error != "" {
		return ""
	}
	for _, e := range d.Examples {
		if e.Err == "" {
			return fmt.Sprintf("%s.%s(%s).then(|r| r);", module, d.Name, strings.Join(e.Args, ", "))
		}
	}
	return ""
}
