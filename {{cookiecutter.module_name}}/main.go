// Command {{ cookiecutter.module_name }} is the ThingsDB module {{ cookiecutter.module_name }}.
//
// ThingsDB starts it as a child process and talks to it over stdin and
// stdout; stdout belongs to that protocol, so everything is logged to stderr.
// Requests are answered concurrently: a handler that returns at once runs in
// the goroutine that read its request, and one that takes longer has reading
// go on in another goroutine within a few milliseconds, and its function's
// later calls get goroutines of their own (internal/module). The module
// stops, with exit status 0, on SIGTERM (how ThingsDB stops a module) and
// when stdin ends, once the requests it has read are answered.
//
// Yours to edit: the functions in handlers.go, the configuration in
// config.go. The machinery is in internal/ and comes with the template.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

// moduleName is the module's name in ThingsDB.
const moduleName = {{ cookiecutter.module_name | go_string }}

// gcPercent is the garbage collector's target (GOGC) unless the environment
// sets one. A module keeps little memory and makes a lot of garbage: every
// request's arguments and reply. At Go's default of 100 the collector ran
// every few requests of 64 KiB, and the memory it gave back to the system was
// faulted in again by the next ones; at 400 such a request costs the module
// about a fifth less CPU time.
const gcPercent = 400

// shutdownGrace is how long requests still running when stdin ends may take
// to finish before the module exits anyway.
const shutdownGrace = {{ shutdown_grace_seconds }} * time.Second

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-describe" {
		// For tools/manifest sync, which cannot import package main. ThingsDB
		// starts the module without arguments.
		description := map[string]any{"module": moduleName, "functions": module.Describe(functions)}
		if err := json.NewEncoder(os.Stdout).Encode(description); err != nil {
			os.Exit(1)
		}
		return
	}
	log.SetOutput(os.Stderr)
	log.SetPrefix("[" + moduleName + "] ")
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(); err != nil {
		log.Printf("stopped: %v", err)
		os.Exit(1)
	}
}

// spec is what the module serves: the functions of handlers.go and the
// configuration of config.go.
func spec() module.Spec[Config] {
	return module.Spec[Config]{
		Name:        moduleName,
		Functions:   functions,
		Config:      DefaultConfig(),
		ParseConfig: ParseConfig,
	}
}

// run serves ThingsDB on stdin/stdout until SIGTERM or the end of stdin.
func run() error {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)

	srv, err := module.NewServer(os.Stdout, spec())
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(os.Stdin) }()
	log.Print("started")

	// Either way the requests read so far still get their replies, within
	// shutdownGrace; a second signal stops at once.
	stop := srv.Shutdown
	select {
	case sig := <-signals:
		log.Printf("stopping on %v", sig)
		stop = srv.Stop
	case err := <-served:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			log.Print("stdin ended inside a package")
		} else if err != nil {
			return err
		}
		log.Print("stdin closed, stopping")
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		switch err := stop(ctx); {
		case errors.Is(err, context.DeadlineExceeded):
			log.Printf("requests still running at exit: %v", err)
		case err != nil:
			log.Printf("cannot write the last replies: %v", err)
		}
	}()
	select {
	case sig := <-signals:
		log.Printf("stopping on %v", sig)
	case <-done:
	}
	return nil
}
