// Command dev runs the working tree in a local ThingsDB node: the module is
// built for the node, installed from a stand-in for GitHub that serves this
// folder as it is on disk (uncommitted changes included, no git needed), and
// re-installed each time its files change.
//
// Run it from the repository root:
//
//	go run ./tools/dev                       # ThingsDB's image, through docker or podman
//	go run ./tools/dev --server PATH         # a ThingsDB server binary, under unshare -rm
//	go run ./tools/dev test [-- go test args] # the integration tests against such a node
//
// Ctrl-C stops the node and everything dev started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"{{ cookiecutter.go_module_path }}/internal/devnode"
)

// What the project was generated with: the module's name, its GitHub
// repository, and ThingsDB's image of the release its CI tests with.
const (
	moduleName   = {{ cookiecutter.module_name | go_string }}
	githubOwner  = {{ cookiecutter.github_owner | go_string }}
	githubRepo   = {{ cookiecutter.repo_name | go_string }}
	defaultImage = "ghcr.io/thingsdb/node:full-v{{ thingsdb_releases[0] }}"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	test := len(args) > 0 && args[0] == "test"
	if test {
		args = args[1:]
	}
	flags := flag.NewFlagSet("dev", flag.ContinueOnError)
	flags.SetOutput(stderr)
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "-h" || arg == "-help" || arg == "--help" {
			flags.SetOutput(stdout) // asked for: not an error
		}
	}
	server := flags.String("server", "", "a ThingsDB server `binary` to run here (under unshare -rm) instead of a container")
	image := flags.String("image", defaultImage, "the ThingsDB `image` docker or podman runs")
	port := flags.Int("port", 9200, "the node's client `port` on 127.0.0.1")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: go run ./tools/dev [options]\n"+
			"       go run ./tools/dev test [options] [-- go test args]\n\n"+
			"Runs the working tree in a local ThingsDB node and re-installs it when it changes;\n"+
			"`test` runs the integration tests against such a node instead.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !test && flags.Arg(0) == "test" { // options before the word
		test = true
		if err := flags.Parse(flags.Args()[1:]); err != nil {
			return 2
		}
	}
	if flags.NArg() > 0 && !test {
		fmt.Fprintf(stderr, "dev: unexpected argument %q (see --help)\n", flags.Arg(0))
		return 2
	}
	if *port < 1 || *port > 65535 {
		fmt.Fprintf(stderr, "dev: --port %d is not a port\n", *port)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ctx, orphaned := context.WithCancel(ctx)
	defer orphaned()
	go stopWhenOrphaned(ctx, orphaned)
	err := devnode.Run(ctx, devnode.Options{
		Module: moduleName, Owner: githubOwner, Repo: githubRepo, Dir: ".",
		Server: *server, Image: *image, Port: *port,
		Test: test, TestArgs: flags.Args(),
		Stdout: stdout, Stderr: stderr,
	})
	var exit *devnode.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.Code
	case err != nil:
		fmt.Fprintf(stderr, "dev: %v\n", err)
		return 1
	}
	return 0
}

// stopWhenOrphaned calls stop once dev's parent has gone: a SIGTERM to `go
// run` ends the go command alone, which would leave dev and its node running.
func stopWhenOrphaned(ctx context.Context, stop func()) {
	parent := os.Getppid()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if os.Getppid() != parent {
			stop()
			return
		}
	}
}
