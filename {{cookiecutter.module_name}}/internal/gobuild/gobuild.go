// Package gobuild builds the module for one platform of
// tools/build/platforms.json as a release builds it: CGO_ENABLED=0,
// -trimpath, -buildvcs=false and -ldflags "-s -w -buildid=", with the CPU
// level of each architecture pinned and GOFLAGS and GOEXPERIMENT cleared, so
// the same sources and Go release give byte-identical binaries on any
// machine. tools/build builds every platform of module.json's "main" map with
// it; tools/dev the one platform its node runs on.
package gobuild

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// Platform is one entry of platforms.json: how to build for it, and the
// module.json "main" keys ThingsDB computes on such hosts.
type Platform struct {
	GOOS   string   `json:"goos"`
	GOARCH string   `json:"goarch"`
	GOARM  string   `json:"goarm,omitempty"`
	Keys   []string `json:"keys"`
}

// ParseTable reads platforms.json and checks that no key names two platforms.
func ParseTable(data []byte) (map[string]Platform, error) {
	var table map[string]Platform
	if err := json.Unmarshal(data, &table); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(table))
	for id := range table {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	owner := map[string]string{}
	for _, id := range ids {
		p := table[id]
		if p.GOOS == "" || p.GOARCH == "" || len(p.Keys) == 0 {
			return nil, fmt.Errorf("platform %q needs goos, goarch and keys", id)
		}
		for _, key := range p.Keys {
			if other, ok := owner[key]; ok {
				return nil, fmt.Errorf("key %q belongs to both %q and %q", key, other, id)
			}
			owner[key] = id
		}
	}
	return table, nil
}

// ForKey is the platform whose binary a node with ThingsDB's platform key
// runs.
func ForKey(table map[string]Platform, key string) (Platform, bool) {
	for _, p := range table {
		for _, k := range p.Keys {
			if k == key {
				return p, true
			}
		}
	}
	return Platform{}, false
}

// Command is `go build` of the package in dir (the current folder when
// empty) for p, writing the binary to out; goCmd is the go command to run.
func Command(ctx context.Context, goCmd, dir string, p Platform, out string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = Env(env, p)
	return cmd
}

// Env is env with everything that decides the output for p set, and
// everything else that could change it removed.
func Env(env []string, p Platform) []string {
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
