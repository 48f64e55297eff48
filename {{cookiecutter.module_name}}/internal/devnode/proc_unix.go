//go:build unix

package devnode

import (
	"os/exec"
	"syscall"
	"time"
)

// newGroup puts cmd in a process group of its own: a Ctrl-C in the terminal
// reaches dev, which stops it in order, and the group ends with it.
func newGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminate sends SIGTERM to cmd, waits up to grace for it to end, then
// kills what is left of its group (module processes a server left behind).
func terminate(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	pid := cmd.Process.Pid
	select {
	case <-exited:
	default:
		syscall.Kill(pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
		}
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-exited
}

// killGroupOnCancel makes cmd's cancellation kill its whole process group,
// the children it started included.
func killGroupOnCancel(cmd *exec.Cmd) {
	newGroup(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
