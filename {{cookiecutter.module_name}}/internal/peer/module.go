package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles the module in dir (go build) into a new temporary directory
// and returns the binary's path; the caller removes filepath.Dir(binary)
// when done. A failed build's error holds the compiler's output.
func Build(dir string) (string, error) {
	goCommand, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the module is built with the go command, which is not on PATH: %w", err)
	}
	out, err := os.MkdirTemp("", "thingsdb-peer-")
	if err != nil {
		return "", err
	}
	binary := filepath.Join(out, "module")
	build := exec.Command(goCommand, "build", "-o", binary, ".")
	build.Dir = dir
	if output, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(out)
		return "", fmt.Errorf("go build failed:\n%s", strings.TrimSpace(string(output)))
	}
	return binary, nil
}

// stopGrace is how long Stop waits after SIGTERM before it kills the module.
const stopGrace = 5 * time.Second

// Module is a module started the way ThingsDB starts it: stdin and stdout
// are socket pairs, and its log (stderr) goes to a file. Its methods are for
// one goroutine; Stderr, Alive, Signal and Wait may be called from any.
type Module struct {
	cmd     *exec.Cmd
	stdin   *net.UnixConn
	stdout  *net.UnixConn
	log     *os.File
	buf     []byte // read from stdout, not yet returned
	nextPid uint16

	exited chan struct{} // closed once the process has exited

	stopOnce sync.Once
	stopErr  error

	logMu   sync.Mutex
	lastLog string // the log as it was when Stop closed the file
}

// Start starts command in dir as ThingsDB starts a module. It sends
// nothing: a module that takes a configuration gets one from Configure.
func Start(command []string, dir string) (*Module, error) {
	if len(command) == 0 {
		return nil, errors.New("no command to start")
	}
	log, err := os.CreateTemp("", "thingsdb-peer-log-")
	if err != nil {
		return nil, err
	}
	os.Remove(log.Name()) // the open file is enough
	stdin, childStdin, err := socketPair("stdin")
	if err != nil {
		log.Close()
		return nil, err
	}
	stdout, childStdout, err := socketPair("stdout")
	if err != nil {
		log.Close()
		stdin.Close()
		childStdin.Close()
		return nil, err
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = childStdin, childStdout, log
	err = cmd.Start()
	childStdin.Close()
	childStdout.Close()
	if err != nil {
		log.Close()
		stdin.Close()
		stdout.Close()
		return nil, err
	}
	m := &Module{cmd: cmd, stdin: stdin, stdout: stdout, log: log, exited: make(chan struct{})}
	go func() {
		cmd.Wait() // the exit status is in cmd.ProcessState
		close(m.exited)
	}()
	return m, nil
}

// socketPair returns a connected pair of Unix sockets: this side as a
// connection, the module's side as a file to hand to the child process.
func socketPair(name string) (*net.UnixConn, *os.File, error) {
	// Close-on-exec from the start, so that no other child started meanwhile
	// inherits an end and keeps it open (a module would never see EOF).
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	ours := os.NewFile(uintptr(fds[0]), name)
	defer ours.Close() // FileConn holds a duplicate
	conn, err := net.FileConn(ours)
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return conn.(*net.UnixConn), os.NewFile(uintptr(fds[1]), name), nil
}

// SendRaw writes data to the module's stdin in one write.
func (m *Module) SendRaw(data []byte) error {
	_, err := m.stdin.Write(data)
	return err
}

// Send writes one package with value as its body.
func (m *Module) Send(pid uint16, tp uint8, value any) error {
	pkg, err := Pack(pid, tp, value)
	if err != nil {
		return err
	}
	return m.SendRaw(pkg)
}

// NewPid returns the next request id; like ThingsDB's, it wraps from 65535
// to 0.
func (m *Module) NewPid() uint16 {
	pid := m.nextPid
	m.nextPid++
	return pid
}

// SendRequest sends value as a request with a new pid and returns the pid.
func (m *Module) SendRequest(value any) (uint16, error) {
	pid := m.NewPid()
	return pid, m.Send(pid, TypeReq, value)
}

// CloseStdin ends the module's input, as when ThingsDB goes away.
func (m *Module) CloseStdin() error {
	return m.stdin.CloseWrite()
}

// Read returns the next package from the module's stdout, assembled from as
// many reads as it takes. It returns ErrTimeout when none is complete within
// timeout (a package cut short stays buffered for the next Read), and
// ErrStdoutClosed when stdout ends. A header no package can have (a wrong
// check byte, a length over 1 GiB) is dropped and reported.
func (m *Module) Read(timeout time.Duration) (Package, error) {
	deadline := time.Now().Add(timeout)
	if err := m.fill(HeaderSize, deadline); err != nil {
		return Package{}, err
	}
	length := binary.LittleEndian.Uint32(m.buf)
	pid := binary.LittleEndian.Uint16(m.buf[4:])
	tp, check := m.buf[6], m.buf[7]
	if check != tp^0xFF || length > maxPackage {
		// A stream out of step: the header is dropped, what follows kept.
		m.buf = append(m.buf[:0], m.buf[HeaderSize:]...)
		if check != tp^0xFF {
			return Package{}, fmt.Errorf("the module sent a header with check byte 0x%02x for type %d", check, tp)
		}
		return Package{}, fmt.Errorf("the module sent a header announcing %d bytes, more than ThingsDB takes", length)
	}
	size := HeaderSize + int(length)
	if err := m.fill(size, deadline); err != nil {
		return Package{}, err
	}
	p := Package{Pid: pid, Type: tp, Body: append([]byte{}, m.buf[HeaderSize:size]...)}
	m.buf = append(m.buf[:0], m.buf[size:]...)
	return p, nil
}

// fill reads until the buffer holds size bytes.
func (m *Module) fill(size int, deadline time.Time) error {
	for len(m.buf) < size {
		if err := m.stdout.SetReadDeadline(deadline); err != nil {
			return err
		}
		m.buf = slices.Grow(m.buf, max(64<<10, size-len(m.buf)))
		n, err := m.stdout.Read(m.buf[len(m.buf):cap(m.buf)])
		m.buf = m.buf[:len(m.buf)+n]
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return ErrTimeout
		case err == io.EOF:
			if len(m.buf) < size {
				return ErrStdoutClosed
			}
		case err != nil:
			return err
		}
	}
	return nil
}

// Configure sends a configuration (CONF, pid 0) and returns the reply, a
// CONF_OK or CONF_ERR package. As ThingsDB sends it, things nested deeper
// than ConfDeep levels arrive empty.
func (m *Module) Configure(conf any, timeout time.Duration) (Package, error) {
	if err := m.Send(0, TypeConf, CutToDepth(conf, ConfDeep)); err != nil {
		return Package{}, err
	}
	return m.Read(timeout)
}

// Request sends one request and returns its reply, which must carry the
// request's pid.
func (m *Module) Request(req any, timeout time.Duration) (Package, error) {
	pid, err := m.SendRequest(req)
	if err != nil {
		return Package{}, err
	}
	p, err := m.Read(timeout)
	if err == nil && p.Pid != pid {
		err = fmt.Errorf("the reply (%s) is for pid %d, the request was %d", p, p.Pid, pid)
	}
	return p, err
}

// Call sends one request and returns the value it is answered with, or the
// error: a *ModuleError for an error reply.
func (m *Module) Call(req any, timeout time.Duration) (any, error) {
	p, err := m.Request(req, timeout)
	if err != nil {
		return nil, err
	}
	return p.Result()
}

// Signal sends the module a signal (ThingsDB stops a module with SIGTERM).
func (m *Module) Signal(sig os.Signal) error {
	return m.cmd.Process.Signal(sig)
}

// Alive reports whether the module is still running.
func (m *Module) Alive() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// Wait waits for the module to exit and returns its exit status, or minus
// the signal that ended it (-15 for SIGTERM).
func (m *Module) Wait(timeout time.Duration) (int, error) {
	select {
	case <-m.exited:
	case <-time.After(timeout):
		return 0, fmt.Errorf("the module did not exit within %v", timeout)
	}
	if status, ok := m.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return -int(status.Signal()), nil
	}
	return m.cmd.ProcessState.ExitCode(), nil
}

// Stderr returns what the module logged so far.
func (m *Module) Stderr() string {
	m.logMu.Lock()
	defer m.logMu.Unlock()
	if m.log == nil {
		return m.lastLog
	}
	return readLog(m.log)
}

func readLog(f *os.File) string {
	data, _ := io.ReadAll(io.NewSectionReader(f, 0, math.MaxInt64))
	return string(data)
}

// Stop stops the module as ThingsDB does, with SIGTERM, kills it if it is
// still running after 5 seconds (and says so), and releases the sockets.
// Stderr keeps returning the log. Stop may be called more than once.
func (m *Module) Stop() error {
	m.stopOnce.Do(func() {
		if m.Alive() {
			m.Signal(syscall.SIGTERM) // fails only when the module has just exited
			select {
			case <-m.exited:
			case <-time.After(stopGrace):
				m.cmd.Process.Kill()
				<-m.exited
				m.stopErr = fmt.Errorf("the module did not exit within %v of SIGTERM; killed", stopGrace)
			}
		}
		m.stdin.Close()
		m.stdout.Close()
		m.logMu.Lock()
		defer m.logMu.Unlock()
		m.lastLog = readLog(m.log)
		m.log.Close()
		m.log = nil
	})
	return m.stopErr
}
