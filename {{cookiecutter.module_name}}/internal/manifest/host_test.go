package manifest

import (
	"runtime"
	"strings"
	"testing"
)

func TestHostPlatformKeyIsWhatThingsDBComputes(t *testing.T) {
	key := HostPlatformKey()
	system, machine, ok := strings.Cut(key, "/")
	if !ok || system != runtime.GOOS || machine == "" || key != strings.ToLower(key) {
		t.Fatalf("HostPlatformKey() = %q", key)
	}
	if _, alias := machineAliases[machine]; alias {
		t.Errorf("%q: ThingsDB renames %s", key, machine)
	}
	switch runtime.GOOS + "/" + runtime.GOARCH {
	case "linux/amd64", "darwin/amd64", "darwin/arm64", "freebsd/amd64":
		if key != runtime.GOOS+"/"+runtime.GOARCH {
			t.Errorf("HostPlatformKey() = %q", key)
		}
	case "linux/arm64":
		if key != "linux/aarch64" {
			t.Errorf("HostPlatformKey() = %q, want linux/aarch64", key)
		}
	}
}
