package main

import (
	"reflect"
	"strings"
	"testing"

	"{{ cookiecutter.go_module_path }}/internal/gobuild"
)

func embeddedTable(t *testing.T) map[string]Platform {
	t.Helper()
	table, err := gobuild.ParseTable(platformsJSON)
	if err != nil {
		t.Fatalf("platforms.json: %v", err)
	}
	return table
}

func TestTableIsComplete(t *testing.T) {
	for id, p := range embeddedTable(t) {
		if (p.GOARCH == "arm") != (p.GOARM != "") {
			t.Errorf("%s: goarm must be set exactly for goarch arm, got %q", id, p.GOARM)
		}
		for _, key := range p.Keys {
			if !strings.HasPrefix(key, p.GOOS+"/") {
				t.Errorf("%s: key %q is not a %s key", id, key, p.GOOS)
			}
		}
	}
}

// TestPlanEveryPlatform maps a main map like the template writes it (every
// key of every platform to bin/demo_<platform>) back to one target each.
func TestPlanEveryPlatform(t *testing.T) {
	table := embeddedTable(t)
	main := map[string]string{}
	for id, p := range table {
		for _, key := range p.Keys {
			main[key] = "bin/demo_" + strings.ReplaceAll(id, "/", "_")
		}
	}
	targets, err := Plan(main, table)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != len(table) {
		t.Fatalf("got %d targets for %d platforms", len(targets), len(table))
	}
	for _, target := range targets {
		p := table[target.Platform]
		if !reflect.DeepEqual(target.Spec, p) {
			t.Errorf("%s: spec %+v, want %+v", target.File, target.Spec, p)
		}
		if len(target.Keys) != len(p.Keys) {
			t.Errorf("%s: keys %v, want all of %v", target.File, target.Keys, p.Keys)
		}
	}
}

func TestPlanKeys(t *testing.T) {
	table := embeddedTable(t)
	cases := []struct {
		key                 string
		goos, goarch, goarm string
	}{
		{"linux/amd64", "linux", "amd64", ""},
		{"linux/386", "linux", "386", ""},
		{"linux/aarch64", "linux", "arm64", ""},
		{"linux/arm64", "linux", "arm64", ""},
		{"linux/armv7l", "linux", "arm", "7"},
		{"linux/armv6l", "linux", "arm", "6"},
		{"freebsd/amd64", "freebsd", "amd64", ""},
		{"freebsd/arm", "freebsd", "arm", "6"},
		{"darwin/amd64", "darwin", "amd64", ""},
		{"darwin/arm64", "darwin", "arm64", ""},
	}
	for _, c := range cases {
		targets, err := Plan(map[string]string{c.key: "bin/demo"}, table)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		got := targets[0].Spec
		if got.GOOS != c.goos || got.GOARCH != c.goarch || got.GOARM != c.goarm {
			t.Errorf("%s: got %s/%s GOARM=%q, want %s/%s GOARM=%q",
				c.key, got.GOOS, got.GOARCH, got.GOARM, c.goos, c.goarch, c.goarm)
		}
	}
}

func TestPlanSharesFileBetweenKeysOfOnePlatform(t *testing.T) {
	targets, err := Plan(map[string]string{
		"linux/aarch64": "bin/demo_linux_arm64",
		"linux/arm64":   "bin/demo_linux_arm64",
		"linux/amd64":   "bin/demo_linux_amd64",
	}, embeddedTable(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 {
		t.Fatalf("got %d targets, want 2: %+v", len(targets), targets)
	}
	if got := targets[1].Keys; !reflect.DeepEqual(got, []string{"linux/aarch64", "linux/arm64"}) {
		t.Errorf("keys of %s: %v", targets[1].File, got)
	}
}

func TestPlanRefuses(t *testing.T) {
	cases := map[string]struct {
		main map[string]string
		want string
	}{
		"empty":         {map[string]string{}, "names no platform"},
		"unknown key":   {map[string]string{"plan9/amd64": "bin/demo"}, `"plan9/amd64" is not a known platform key`},
		"go-style only": {map[string]string{"linux/arm": "bin/a", "linux/armhf": "bin/b"}, `"linux/armhf"`},
		"nested":        {map[string]string{"linux/amd64": "bin/linux/demo"}, "directly in bin/"},
		"outside bin":   {map[string]string{"linux/amd64": "demo"}, "directly in bin/"},
		"bin itself":    {map[string]string{"linux/amd64": "bin/"}, "directly in bin/"},
		"dot dot":       {map[string]string{"linux/amd64": "bin/.."}, "directly in bin/"},
		"backslash":     {map[string]string{"linux/amd64": `bin/x\y`}, "directly in bin/"},
		"two targets": {
			map[string]string{"linux/amd64": "bin/demo", "darwin/amd64": "bin/demo"},
			"named for two platforms",
		},
	}
	table := embeddedTable(t)
	for name, c := range cases {
		_, err := Plan(c.main, table)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}
