//go:build !linux

package manifest

// hostMachine is the machine ThingsDB would see, from the architecture this
// program was built for.
func hostMachine() string {
	return machineFromGOARCH()
}
