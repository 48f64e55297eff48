package manifest

import (
	"runtime"
	"strings"
)

// HostPlatformKey is the `main` key ThingsDB computes on this host: the
// lowercase uname() "sysname/machine", with x86_64 and x64 renamed to amd64
// and i386 and i686 to 386 (src/util/osarch.c). So it is linux/aarch64, not
// linux/arm64, on 64-bit ARM Linux.
func HostPlatformKey() string {
	machine := strings.ToLower(hostMachine())
	if alias, ok := machineAliases[machine]; ok {
		machine = alias
	}
	return runtime.GOOS + "/" + machine
}

// machineFromGOARCH is the machine uname() reports on a host that runs this
// build's architecture. Outside Linux that is the Go name; Linux names its
// ARM machines itself.
func machineFromGOARCH() string {
	if runtime.GOOS == "linux" {
		switch runtime.GOARCH {
		case "arm64":
			return "aarch64"
		case "arm":
			return "armv7l"
		}
	}
	return runtime.GOARCH
}
