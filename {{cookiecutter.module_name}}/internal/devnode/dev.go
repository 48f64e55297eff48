// Package devnode runs the working tree of a module in a local ThingsDB
// node: it serves the tree as the module's GitHub repository through a
// stand-in for api.github.com, starts a node that installs from it (a
// server binary under unshare -rm, or ThingsDB's image through docker or
// podman), and re-installs the module whenever its files change. It is what
// `go run ./tools/dev` runs.
package devnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options are dev's settings.
type Options struct {
	Module, Owner, Repo string // the module's name and github.com/OWNER/REPO
	Dir                 string // the working tree (the project's root)
	Server              string // a ThingsDB binary; "" for a container
	Image               string // the container's image
	Port                int    // the node's client port on 127.0.0.1
	// Test runs the integration tests against the node instead of
	// installing the module and watching; TestArgs go to go test.
	Test     bool
	TestArgs []string
	Stdout   io.Writer
	Stderr   io.Writer
}

const (
	startTimeout   = 2 * time.Minute // a container's first start pulls the image
	installTimeout = 2 * time.Minute
	// A scan stats a few dozen files: polling often costs nothing and
	// starts a re-install soon after a save.
	pollInterval = 100 * time.Millisecond
	settleTime   = 100 * time.Millisecond
)

// ExitError is a run that ends with a status other than 0 and says nothing
// more (the tests said it, or Ctrl-C stopped them).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return "exit status " + strconv.Itoa(e.Code) }

// Run starts the node, serves the working tree and installs the module
// (or runs the integration tests), until ctx ends. Everything it started is
// stopped before it returns.
func Run(ctx context.Context, o Options) error {
	d := &session{Options: o, source: fmt.Sprintf("github.com/%s/%s@dev", o.Owner, o.Repo)}
	err := d.run(ctx)
	d.cleanup()
	if ctx.Err() != nil { // what failed meanwhile failed for being stopped
		d.say("stopped")
		if d.Test {
			return &ExitError{Code: 130}
		}
		return nil
	}
	return err
}

// session is one run of dev: what it started, stopped in reverse order by
// cleanup.
type session struct {
	Options
	source  string
	tmp     string
	tree    *Tree
	standIn *StandIn
	node    *Node
	client  *Client
	binary  string // the build for the node
	// binaryPath is where module.json's main has it for the node.
	binaryPath string
	mu         sync.Mutex // serialises output lines
	cleanFn    []func()
}

// say prints a line of dev's own.
func (d *session) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.Stdout, "dev: "+format+"\n", args...)
}

func (d *session) cleanup() {
	for i := len(d.cleanFn) - 1; i >= 0; i-- {
		d.cleanFn[i]()
	}
}

// later registers f for cleanup.
func (d *session) later(f func()) { d.cleanFn = append(d.cleanFn, f) }

func (d *session) run(ctx context.Context) error {
	// The goroutines started here (the log's follower, the watcher) end with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	manifestPath := filepath.Join(d.Dir, "module.json")
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		return fmt.Errorf("no module.json: run dev from the project's root (%v)", err)
	}
	if _, err := ParseManifest(data); err != nil {
		return err
	}
	conf, err := InstallConfiguration(filepath.Join(d.Dir, "integration_test.go"))
	if err != nil {
		return err
	}
	cfg := NodeConfig{Port: d.Port, Server: d.Server, Image: d.Image,
		Name: fmt.Sprintf("timod-dev-%s-%d", d.Module, os.Getpid())}
	if d.Server != "" {
		if err := CheckServer(d.Server); err != nil {
			return err
		}
		if err := CheckNamespaces(); err != nil {
			return err
		}
	} else if cfg.Engine, err = FindEngine(); err != nil {
		return err
	}
	if err := CheckPort(d.Port); err != nil {
		return err
	}
	if cfg.Platforms, err = ReadPlatforms(d.Dir); err != nil {
		return err
	}

	started := time.Now()
	if d.tmp, err = os.MkdirTemp("", "timod-dev-"); err != nil {
		return err
	}
	d.later(func() { os.RemoveAll(d.tmp) })
	cfg.Home = filepath.Join(d.tmp, "node")
	if err := os.Mkdir(cfg.Home, 0o700); err != nil {
		return err
	}
	authority, err := NewAuthority()
	if err != nil {
		return err
	}
	cfg.Bundle = filepath.Join(d.tmp, "ca-certificates.crt")
	if err := WriteBundle(cfg.Bundle, authority.PEM); err != nil {
		return err
	}
	d.tree = NewTree(d.Dir)
	if d.standIn, err = NewStandIn(authority, d.Owner, d.Repo, d.tree); err != nil {
		return err
	}
	d.later(func() { d.standIn.Close() })
	cfg.Proxy = d.standIn.URL

	if d.Server != "" {
		d.node, err = StartLocal(cfg)
	} else {
		d.say("starting %s with %s (the first time pulls it)", d.Image, filepath.Base(cfg.Engine))
		d.node, err = StartContainer(ctx, cfg)
	}
	if err != nil {
		return err
	}
	d.later(d.node.Stop)

	// The node boots while the module builds.
	d.binary = filepath.Join(d.tmp, "build", d.Module)
	if err := Build(ctx, d.Dir, d.node.Platform, d.binary); err != nil {
		var build *BuildError
		if errors.As(err, &build) && build.more() != "" {
			return fmt.Errorf("%v\n%s", err, indent(build.more()))
		}
		return err
	}
	if err := d.node.WaitReady(ctx, startTimeout); err != nil {
		return err
	}
	if d.client, err = Connect(ctx, d.Port, 30*time.Second); err != nil {
		return err
	}
	d.later(d.client.Close)
	version, err := d.serve(0, "")
	if err != nil {
		return err
	}
	d.say("ThingsDB at 127.0.0.1:%d, user %s, password %s", d.Port, Admin[0], Admin[1])
	d.say("running %s", d.node.Where)
	d.say("serving this folder as github.com/%s/%s (any ref: the files on disk, %s built for %s)",
		d.Owner, d.Repo, d.binaryPath, d.node.Platform.Key)
	if d.Test {
		return d.test(ctx)
	}

	installStart := time.Now()
	go d.follow(ctx, int64(len(d.node.Log())))
	err = d.client.Install(d.Module, d.source, conf)
	if err == nil {
		err = d.client.WaitRunning(ctx, d.Module, version, installTimeout)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond) // the node's last lines about it come first
		return fmt.Errorf("%v (the node's lines about it are above)", err)
	}
	d.say("installed %s %s in %.1f s (%.1f s since dev started)", d.Module, version,
		time.Since(installStart).Seconds(), time.Since(started).Seconds())
	if functions, err := Describe(ctx, d.Dir, d.binary, d.node.Platform, filepath.Join(d.tmp, "build", "describe")); err != nil {
		d.say("cannot list the functions: %v", err)
	} else {
		for _, f := range functions {
			if q := TryQuery(d.Module, f); q != "" {
				d.say("try in @:stuff: %s", q)
			}
		}
	}
	d.say("watching *.go outside tools/ (tests aside), go.mod, go.sum, module.json: a save re-installs; Ctrl-C stops")
	return d.watch(ctx, version)
}

// serve makes the stand-in answer with module.json of the working tree (the
// n-th re-install raises its version's last number by n; ThingsDB skips a
// re-install of the version it has) and the built binary as the node's
// main file. It returns the version served.
func (d *session) serve(n int, last string) (string, error) {
	data, err := os.ReadFile(filepath.Join(d.Dir, "module.json"))
	if err != nil {
		return "", err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return "", err
	}
	main, err := m.File(d.node.Platform.Key)
	if err != nil {
		return "", err
	}
	d.binaryPath = main
	binary, err := os.ReadFile(d.binary)
	if err != nil {
		return "", err
	}
	version := m.Version
	if n > 0 {
		for raise := n; version == m.Version || version == last; raise++ {
			if version, err = RaiseVersion(m.Version, raise); err != nil {
				return "", err
			}
		}
		if data, err = WithVersion(data, version); err != nil {
			return "", err
		}
	}
	d.tree.Set("module.json", data)
	d.tree.Set(main, binary)
	return version, nil
}

// watch re-installs the module each time its files change.
func (d *session) watch(ctx context.Context, version string) error {
	changes := make(chan []string)
	go Watch(ctx, d.Dir, pollInterval, settleTime, changes)
	for n := 1; ; {
		var files []string
		select {
		case <-ctx.Done():
			return nil
		case <-d.node.Exited():
			time.Sleep(300 * time.Millisecond) // its last lines
			return errors.New(d.node.Failure())
		case files = <-changes:
		}
		what := strings.Join(files, ", ")
		begin := time.Now()
		if err := Build(ctx, d.Dir, d.node.Platform, d.binary); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.buildFailed(what, err)
			continue
		}
		next, err := d.serve(n, version)
		n++
		if err == nil {
			if err = d.client.Refresh(d.Module); err == nil {
				err = d.client.WaitRunning(ctx, d.Module, next, installTimeout)
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			time.Sleep(300 * time.Millisecond) // the node's last lines about it come first
			d.mu.Lock()
			fmt.Fprintf(d.Stderr, "dev: %s changed: %v; still watching\n", what, err)
			d.mu.Unlock()
			continue
		}
		version = next
		d.say("%s changed: re-installed in %.1f s", what, time.Since(begin).Seconds())
	}
}

// buildFailed prints a failed build after a change: one line, then the
// compiler's others.
func (d *session) buildFailed(what string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.Stderr, "dev: %s changed: %v; still watching\n", what, err)
	var build *BuildError
	if errors.As(err, &build) && build.more() != "" {
		fmt.Fprintln(d.Stderr, indent(build.more()))
	}
}

// test runs the integration tests against the node; their exit status is
// dev's.
func (d *session) test(ctx context.Context) error {
	args := append([]string{"test", "-tags", "integration", "-run", "InThingsDB", "-count=1", "."}, d.TestArgs...)
	d.say("TIMOD_SOURCE=%s go %s", d.source, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = d.Dir, d.Stdout, d.Stderr
	killGroupOnCancel(cmd) // go test and the test binary it runs
	cmd.Env = append(os.Environ(), fmt.Sprintf("TIMOD_ADDRESS=127.0.0.1:%d", d.Port), "TIMOD_SOURCE="+d.source,
		"TIMOD_USER="+Admin[0], "TIMOD_PASSWORD="+Admin[1])
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &exit):
		return &ExitError{Code: exit.ExitCode()}
	}
	return err
}

// serverLine is a line of ThingsDB's own log; any other line of its output
// is a module's (stderr).
var serverLine = regexp.MustCompile(`^\[[DIWEC] \d{4}-`)

// aboutModule reports whether a line of the node's output is about the
// module: the server's lines naming it or its downloads, and the module's
// own.
func (d *session) aboutModule(line string) bool {
	return strings.Contains(line, "`"+d.Module+"`") ||
		strings.Contains(line, "/"+d.Owner+"/"+d.Repo+"/") ||
		!serverLine.MatchString(line)
}

// follow prints the log lines that name the module as they come.
func (d *session) follow(ctx context.Context, offset int64) {
	f, err := os.Open(d.node.LogPath)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return
	}
	r := bufio.NewReader(f)
	var partial string
	for {
		line, err := r.ReadString('\n')
		partial += line
		if err == nil {
			if line := strings.TrimRight(partial, "\r\n"); line != "" && d.aboutModule(line) {
				d.mu.Lock()
				fmt.Fprintf(d.Stdout, "node: %s\n", line)
				d.mu.Unlock()
			}
			partial = ""
			continue
		}
		if sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
}

func indent(text string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(text, "\n"), "\n", "\n  ")
}
