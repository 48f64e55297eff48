//go:build !unix

package devnode

// Without process groups (Windows) the node runs in a container, stopped
// through the engine, and dev's other processes are ended one by one.

import (
	"os/exec"
	"time"
)

func newGroup(cmd *exec.Cmd) {}

func killGroupOnCancel(cmd *exec.Cmd) {}

func terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	cmd.Process.Kill()
	<-exited
}
