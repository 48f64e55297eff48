package devnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"{{ cookiecutter.go_module_path }}/internal/gobuild"
)

// SystemBundle is the trust bundle libcurl verifies with on Debian and in
// ThingsDB's Debian-based images; the node gets a copy with the stand-in's
// authority added, mounted over it.
const SystemBundle = "/etc/ssl/certs/ca-certificates.crt"

// The bundles of other systems, for a container started from them (a
// --server node needs Debian's path, which its libcurl reads).
var otherBundles = []string{"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem", "/etc/ssl/ca-bundle.pem"}

// bindAndExec mounts $1 over $2, then runs the rest: in a user and mount
// namespace of the server's own, where the user is root, no root is needed
// and nothing changes outside.
const bindAndExec = `mount --bind "$1" "$2" && shift 2 && exec "$@"`

// Admin is the user `thingsdb --init` creates.
var Admin = [2]string{"admin", "pass"}

// Node is a ThingsDB node started for dev, on 127.0.0.1.
type Node struct {
	// Port is the client port.
	Port int
	// Where says what runs it: the binary or the image.
	Where string
	// LogPath is the server's output.
	LogPath string
	// Platform is the node's (the binary served is built for it).
	Platform Platform

	local   bool          // the server runs here (else in a container)
	process *exec.Cmd     // the server, or the engine's `logs -f`
	exited  chan struct{} // closed when process ends
	stop    func()
}

// NodeConfig says how to start a node.
type NodeConfig struct {
	Home   string // a fresh folder, removed by the caller
	Port   int    // client port
	Proxy  string // https_proxy: the stand-in's URL
	Bundle string // the trust bundle to mount over SystemBundle
	// Server is a ThingsDB binary to run here under unshare -rm; else
	// Engine (docker or podman) runs Image as container Name.
	Server, Engine, Image, Name string
	// Platforms is the project's platforms.json: the binary the node runs
	// is built for the entry that lists the node's key.
	Platforms map[string]gobuild.Platform
}

// FindEngine is docker or podman, the first on PATH.
func FindEngine() (string, error) {
	for _, name := range []string{"docker", "podman"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("neither docker nor podman is on PATH: install one (the node runs in ThingsDB's image), or run a ThingsDB server binary of your own with --server PATH")
}

// CheckServer checks that path is an executable file.
func CheckServer(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--server %s: no such file", path)
	case err != nil:
		return fmt.Errorf("--server %s: %v", path, err)
	case info.IsDir() || info.Mode()&0o111 == 0:
		return fmt.Errorf("--server %s: not an executable file", path)
	}
	return nil
}

// CheckPort checks that nothing listens on 127.0.0.1:port.
func CheckPort(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d on 127.0.0.1 is taken; choose another with --port N", port)
	}
	return l.Close()
}

// CheckNamespaces checks that this user may make the user namespace a
// --server node runs in.
func CheckNamespaces() error {
	if _, err := os.Stat(SystemBundle); err != nil {
		return fmt.Errorf("%s is missing (Debian package ca-certificates): a --server node trusts the stand-in through it", SystemBundle)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return errors.New("unshare is missing (Debian package util-linux): a --server node runs under unshare -rm")
	}
	probe := exec.Command("unshare", "--map-root-user", "--mount", "sh", "-c", bindAndExec, "sh", SystemBundle, SystemBundle, "true")
	var stderr bytes.Buffer
	probe.Stderr = &stderr
	if err := probe.Run(); err != nil {
		why := strings.TrimSpace(stderr.String())
		if why == "" {
			why = err.Error()
		}
		return fmt.Errorf("unprivileged user namespaces are refused here (%s): a --server node runs under unshare -rm to trust the stand-in's CA; allow them (sysctl kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu, user.max_user_namespaces > 0), or drop --server to use docker or podman", firstLine(why))
	}
	return nil
}

// WriteBundle writes the system's trust bundle with pem added to path.
func WriteBundle(path string, pem []byte) error {
	var system []byte
	for _, candidate := range append([]string{SystemBundle}, otherBundles...) {
		if data, err := os.ReadFile(candidate); err == nil {
			system = data
			break
		}
	}
	data := append(bytes.TrimRight(system, "\n"), '\n')
	if len(system) == 0 {
		data = nil
	}
	return os.WriteFile(path, append(data, pem...), 0o644)
}

// freePort is a port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverEnv is this process's environment without THINGSDB_* (they would
// override the node's configuration) and proxy settings, plus the
// stand-in as the node's https_proxy.
func serverEnv(env []string, proxy string) []string {
	proxyVar := regexp.MustCompile(`(?i)^(https?|ftp|all|no)_proxy$`)
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "THINGSDB_") || proxyVar.MatchString(name) {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "https_proxy="+proxy)
}

// StartLocal starts the binary cfg.Server with a configuration of its own
// under unshare -rm, cfg.Bundle mounted over the system's trust bundle.
func StartLocal(cfg NodeConfig) (*Node, error) {
	platform, err := hostPlatform(cfg.Platforms)
	if err != nil {
		return nil, err
	}
	server, err := filepath.Abs(cfg.Server)
	if err != nil {
		return nil, err
	}
	nodePort, err := freePort()
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{"storage", "modules"} {
		if err := os.MkdirAll(filepath.Join(cfg.Home, dir), 0o700); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(cfg.Home, "thingsdb.conf")
	text := fmt.Sprintf(`[thingsdb]
listen_client_port = %d
bind_client_addr = 127.0.0.1
listen_node_port = %d
bind_node_addr = 127.0.0.1
node_name = 127.0.0.1
ip_support = IPV4ONLY
storage_path = %s/
modules_path = %s/
python_interpreter = python3
shutdown_period = 0
`, cfg.Port, nodePort, filepath.Join(cfg.Home, "storage"), filepath.Join(cfg.Home, "modules"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	n := &Node{Port: cfg.Port, Where: server + " (on this machine)", LogPath: filepath.Join(cfg.Home, "thingsdb.log"),
		Platform: platform, local: true}
	log, err := os.Create(n.LogPath)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	// unshare and sh exec: the process is the server itself, its modules
	// are its children, all in a process group of their own.
	cmd := exec.Command("unshare", "--map-root-user", "--mount", "sh", "-c", bindAndExec, "sh",
		cfg.Bundle, SystemBundle, server, "--init", "--config", conf, "--log-level", "info")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = cfg.Home, serverEnv(os.Environ(), cfg.Proxy), log, log
	newGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n.watch(cmd)
	n.stop = func() {
		terminate(cmd, n.exited, 15*time.Second)
	}
	return n, nil
}

// ContainerArgs are the engine's arguments that start the node's
// container: host network, only the client port on 127.0.0.1 (the node port
// moved, the HTTP ports off), the stand-in as https_proxy, the bundle over
// the image's own.
func ContainerArgs(cfg NodeConfig, nodePort int) []string {
	return []string{
		"run", "--rm", "-d", "--name", cfg.Name, "--network", "host",
		"-e", "THINGSDB_LISTEN_CLIENT_PORT=" + strconv.Itoa(cfg.Port),
		"-e", "THINGSDB_BIND_CLIENT_ADDR=127.0.0.1",
		"-e", "THINGSDB_LISTEN_NODE_PORT=" + strconv.Itoa(nodePort),
		"-e", "THINGSDB_BIND_NODE_ADDR=127.0.0.1",
		"-e", "THINGSDB_NODE_NAME=127.0.0.1",
		"-e", "THINGSDB_IP_SUPPORT=IPV4ONLY",
		"-e", "THINGSDB_HTTP_API_PORT=0",
		"-e", "THINGSDB_WS_PORT=0",
		"-e", "THINGSDB_HTTP_STATUS_PORT=0",
		"-e", "THINGSDB_SHUTDOWN_PERIOD=0",
		"-e", "https_proxy=" + cfg.Proxy,
		"-v", cfg.Bundle + ":" + SystemBundle + ":ro",
		cfg.Image, "--init", "--log-level", "info",
	}
}

// StartContainer starts cfg.Image through cfg.Engine and follows its log.
func StartContainer(ctx context.Context, cfg NodeConfig) (*Node, error) {
	nodePort, err := freePort()
	if err != nil {
		return nil, err
	}
	engine := filepath.Base(cfg.Engine)
	n := &Node{Port: cfg.Port, Where: fmt.Sprintf("%s in %s container %s", cfg.Image, engine, cfg.Name),
		LogPath: filepath.Join(cfg.Home, "thingsdb.log")}
	run := exec.CommandContext(ctx, cfg.Engine, ContainerArgs(cfg, nodePort)...)
	var stderr bytes.Buffer
	run.Stderr = &stderr
	started := run.Run() == nil
	remove := func() {
		// --rm removes a stopped container; rm -f one that would not stop.
		if exec.Command(cfg.Engine, "stop", "-t", "10", cfg.Name).Run() != nil {
			exec.Command(cfg.Engine, "rm", "-f", cfg.Name).Run()
		}
	}
	if !started {
		remove() // a container that started after all
		return nil, fmt.Errorf("%s run %s failed: %s", engine, cfg.Image, firstLine(lastLines(stderr.String(), 1)))
	}
	n.Platform = imagePlatform(ctx, cfg.Engine, cfg.Image, cfg.Platforms)
	log, err := os.Create(n.LogPath)
	if err != nil {
		remove()
		return nil, err
	}
	defer log.Close()
	logs := exec.Command(cfg.Engine, "logs", "-f", cfg.Name)
	logs.Stdout, logs.Stderr = log, log
	newGroup(logs)
	if err := logs.Start(); err != nil {
		remove()
		return nil, err
	}
	n.watch(logs)
	n.stop = func() {
		remove()
		terminate(logs, n.exited, 5*time.Second)
	}
	return n, nil
}

// watch notes cmd as the node's process and closes exited when it ends.
func (n *Node) watch(cmd *exec.Cmd) {
	n.process = cmd
	n.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(n.exited)
	}()
}

// Stop stops the node and everything it started; a node that does not stop
// on SIGTERM is killed.
func (n *Node) Stop() {
	if n != nil && n.stop != nil {
		n.stop()
		n.stop = nil
	}
}

// WaitReady waits until the client port accepts connections.
func (n *Node) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.exited:
			return errors.New(n.Failure())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the node did not listen on 127.0.0.1:%d within %s; its log:\n%s", n.Port, timeout, lastLines(n.Log(), 20))
		}
	}
}

// Exited is closed when the node has stopped.
func (n *Node) Exited() <-chan struct{} { return n.exited }

// Failure says in a line why the node stopped, from its last words: the
// last error among its last lines, else its last line.
func (n *Node) Failure() string {
	lines := strings.Split(lastLines(n.Log(), 5), "\n")
	var lastError, last string
	for _, line := range lines {
		if strings.Contains(line, "already in use") {
			return fmt.Sprintf("port %d on 127.0.0.1 is taken; choose another with --port N", n.Port)
		}
		if strings.HasPrefix(line, "[E") || strings.HasPrefix(line, "[C") {
			lastError = line
		}
		if strings.TrimSpace(line) != "" {
			last = line
		}
	}
	if lastError != "" {
		last = lastError
	}
	how := "the node stopped"
	if state := n.process.ProcessState; state != nil && n.local {
		how += " (" + state.String() + ")"
	}
	if last == "" {
		return how + " without a word"
	}
	return how + ": " + last
}

// Log is the server's output so far.
func (n *Node) Log() string {
	data, _ := os.ReadFile(n.LogPath)
	return string(data)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
