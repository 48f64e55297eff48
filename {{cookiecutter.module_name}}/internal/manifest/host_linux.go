package manifest

import "syscall"

// hostMachine is uname()'s machine: Linux says armv6l or armv7l, which the
// Go architecture arm does not tell apart.
func hostMachine() string {
	var name syscall.Utsname
	if syscall.Uname(&name) != nil {
		return machineFromGOARCH()
	}
	var machine []byte
	for _, c := range name.Machine {
		if c == 0 {
			break
		}
		machine = append(machine, byte(c))
	}
	if len(machine) == 0 {
		return machineFromGOARCH()
	}
	return string(machine)
}
