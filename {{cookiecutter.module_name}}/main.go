// Command {{ cookiecutter.module_name }} is the ThingsDB module {{ cookiecutter.module_name }}.
//
// ThingsDB starts it as a child process and talks to it over stdin and
// stdout (see framing.go); stdout belongs to that protocol, so everything is
// logged to stderr. Each request is answered in a goroutine of its own, so a
// slow request never holds up the others. The module stops, with exit status
// 0, on SIGTERM (how ThingsDB stops a module) and when stdin ends.
//
// The exposed functions are in handlers.go, the configuration in config.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	timod "github.com/thingsdb/go-timod"
)

// moduleName is the module's name in ThingsDB.
const moduleName = {{ cookiecutter.module_name | go_string }}

// shutdownGrace is how long requests still running when stdin ends may take
// to finish before the module exits anyway.
const shutdownGrace = {{ shutdown_grace_seconds }} * time.Second

func main() {
	log.SetOutput(os.Stderr)
	log.SetPrefix("[" + moduleName + "] ")
	if err := run(); err != nil {
		log.Printf("stopped: %v", err)
		os.Exit(1)
	}
}

// run serves ThingsDB on stdin/stdout until SIGTERM or the end of stdin.
func run() error {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)

	srv := NewServer(os.Stdout, Handlers())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(os.Stdin) }()
	log.Print("started")

	select {
	case sig := <-signals:
		log.Printf("stopping on %v", sig)
		return nil
	case err := <-served:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			log.Print("stdin ended inside a package")
		} else if err != nil {
			return err
		}
	}
	log.Print("stdin closed, stopping")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	select {
	case sig := <-signals:
		log.Printf("stopping on %v", sig)
	case <-shutdownDone(ctx, srv):
	}
	return nil
}

// shutdownDone waits for srv's running requests in the background and closes
// the returned channel when they are done or ctx ends.
func shutdownDone(ctx context.Context, srv *Server) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("requests still running at exit: %v", err)
		}
	}()
	return done
}

// Server answers the packages ThingsDB sends: it applies configurations in
// the order they arrive and runs every request in a goroutine of its own.
type Server struct {
	out      *ReplyWriter
	handlers map[string]HandlerFunc
	conf     Config // read and written by the Serve goroutine only
	ctx      context.Context
	cancel   context.CancelFunc
	running  sync.WaitGroup

	// MaxBodySize is the largest package body Serve accepts; larger packages
	// are answered with a bad_data error and dropped. NewServer sets it to
	// the package-level MaxBodySize.
	MaxBodySize uint32
}

// NewServer returns a Server that writes its replies to w and dispatches
// requests by their "function" key to handlers.
func NewServer(w io.Writer, handlers map[string]HandlerFunc) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		out:         NewReplyWriter(w),
		handlers:    handlers,
		conf:        DefaultConfig(),
		ctx:         ctx,
		cancel:      cancel,
		MaxBodySize: MaxBodySize,
	}
}

// Serve reads packages from r until it ends and answers them. It returns nil
// at the end of input, io.ErrUnexpectedEOF when the input ends inside a
// package, and any error reading r or writing a reply from the loop itself
// (to a configuration or to a package that cannot be used).
// Requests may still be running when it returns; see Shutdown.
func (s *Server) Serve(r io.Reader) error {
	pr := NewPkgReader(r)
	pr.MaxSize = s.MaxBodySize
	pr.Types = []timod.Proto{timod.ProtoModuleConf, timod.ProtoModuleReq}
	for {
		pkg, err := pr.ReadPkg()
		var bad *BadPkgError
		switch {
		case errors.As(err, &bad):
			if err := s.reject(bad); err != nil {
				return err
			}
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
		switch pkg.Tp {
		case timod.ProtoModuleConf:
			if err := s.configure(pkg); err != nil {
				return err
			}
		case timod.ProtoModuleReq:
			s.running.Add(1)
			// Decoded here, not in the request's goroutine: this goroutine's
			// stack has grown to what decoding needs once, where every new
			// goroutine would grow (and copy) its own again.
			value, err := DecodeBody(pkg.Data)
			go s.answer(pkg.Pid, value, err, s.conf)
		}
	}
}

// Shutdown waits until every running request has been answered, or until ctx
// ends; then it cancels the context the handlers were given. It returns nil,
// or ctx's error when requests were still running.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		return ctx.Err()
	}
}

// reject answers a package that cannot be used with a bad_data error: as a
// configuration error for a configuration, as a request error otherwise
// (also when the check byte is wrong, as the type cannot be trusted then).
func (s *Server) reject(bad *BadPkgError) error {
	log.Print(bad)
	tp := timod.ProtoModuleErr
	if !bad.BadCheck && bad.Tp == timod.ProtoModuleConf {
		tp = timod.ProtoModuleConfErr
	}
	return s.out.WriteError(bad.Pid, tp, timod.ExBadData, bad.Error())
}

// configure applies a configuration package and answers CONF_OK or CONF_ERR.
func (s *Server) configure(pkg *timod.Pkg) error {
	conf, err := decodeConfig(pkg.Data)
	if err != nil {
		code, msg := errorReply(err)
		log.Printf("configuration rejected: %s", msg)
		return s.out.WriteError(pkg.Pid, timod.ProtoModuleConfErr, code, msg)
	}
	s.conf = conf
	log.Print("configuration accepted")
	return s.out.WriteConfOK(pkg.Pid)
}

// decodeConfig decodes and checks the body of a configuration package.
func decodeConfig(data []byte) (Config, error) {
	value, err := DecodeBody(data)
	if err != nil {
		return Config{}, Errorf(timod.ExBadData, "the configuration is not valid MessagePack: %v", err)
	}
	return ParseConfig(value)
}

// answer runs one request and writes its reply.
func (s *Server) answer(pid uint16, value any, decodeErr error, conf Config) {
	defer s.running.Done()
	result, err := s.call(value, decodeErr, conf)
	if err != nil {
		code, msg := errorReply(err)
		err = s.out.WriteError(pid, timod.ProtoModuleErr, code, msg)
	} else {
		err = s.out.WriteResult(pid, result)
	}
	if err != nil {
		// stdout is gone: there is nobody left to tell.
		log.Printf("cannot write the reply to request %d: %v", pid, err)
	}
}

// call finds the handler of a decoded request by its "function" key and runs it.
// A panicking handler is reported as an operation error; the module goes on.
func (s *Server) call(value any, decodeErr error, conf Config) (result any, err error) {
	if decodeErr != nil {
		return nil, Errorf(timod.ExBadData, "the request is not valid MessagePack: %v", decodeErr)
	}
	req, ok := value.(map[string]any)
	if !ok {
		return nil, Errorf(timod.ExTypeError, "a request must be a thing (map), got %s", typeName(value))
	}
	name, ok := req[functionKey].(string)
	if !ok {
		return nil, Errorf(timod.ExLookupError,
			"the request has no %q key naming the function; add it to the function's defaults in module.json", functionKey)
	}
	handler, ok := s.handlers[name]
	if !ok {
		return nil, Errorf(timod.ExLookupError, "module %s has no function %q", moduleName, name)
	}
	defer func() {
		if r := recover(); r != nil {
			log.Printf("function %s panicked: %v\n%s", name, r, debug.Stack())
			result, err = nil, Errorf(timod.ExOperation, "function %s failed: %v", name, r)
		}
	}()
	result, err = handler(s.ctx, conf, Args(req))
	if err != nil && !isModuleError(err) {
		log.Printf("function %s failed: %v", name, err)
	}
	return result, err
}

// errorReply gives the ThingsDB error code and message for err: its own for
// a *ModuleError, an operation error for anything else.
func errorReply(err error) (timod.Ex, string) {
	var me *ModuleError
	if errors.As(err, &me) {
		return me.Code, me.Msg
	}
	return timod.ExOperation, err.Error()
}

// isModuleError reports whether err carries a ThingsDB error code.
func isModuleError(err error) bool {
	var me *ModuleError
	return errors.As(err, &me)
}

// typeName names the type of a decoded MessagePack value the way ThingsDB
// does, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case bool:
		return "bool"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case float32, float64:
		return "float"
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return "int"
	case []any:
		return "list"
	case map[string]any:
		return "thing"
	}
	return fmt.Sprintf("%T", v)
}
