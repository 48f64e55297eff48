package module

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"runtime/debug"
	"sync"
	"sync/atomic"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
	"{{ cookiecutter.go_module_path }}/internal/wire"
)

// Spec is what a Server serves. C is the module's configuration type.
type Spec[C any] struct {
	// Name is the module's name in ThingsDB, for messages.
	Name string

	// Functions are the functions module.json exposes, except closures.
	Functions []Function[C]

	// Config is the configuration in force until ThingsDB sends one.
	Config C

	// ParseConfig checks a configuration ThingsDB sends, decoded as by
	// mpack.Decode. Its error is the reply: an *Error for a code of its
	// choice, an operation error otherwise.
	ParseConfig func(value any) (C, error)
}

// Server answers the packages ThingsDB sends: it applies configurations in
// the order they arrive and runs every request in a goroutine of its own.
type Server[C any] struct {
	name      string
	functions map[string]Function[C]
	parse     func(any) (C, error)
	out       *wire.Writer
	conf      C // read and written by the Serve goroutine only
	ctx       context.Context
	cancel    context.CancelFunc
	running   sync.WaitGroup
	unwritten atomic.Int64 // requests read whose reply is not written yet

	// MaxBodySize is the largest package body Serve accepts; larger packages
	// are answered with a bad_data error and dropped. NewServer sets it to
	// wire.MaxBodySize.
	MaxBodySize uint32

	// Logf logs what the module cannot send back: failing handlers, refused
	// packages and configurations. NewServer sets it to log.Printf.
	Logf func(format string, args ...any)
}

// NewServer returns a Server that writes its replies to w. It fails when a
// function's arguments struct cannot be used or two functions share a name.
func NewServer[C any](w io.Writer, spec Spec[C]) (*Server[C], error) {
	functions := make(map[string]Function[C], len(spec.Functions))
	for _, f := range spec.Functions {
		if f.err != nil {
			return nil, f.err
		}
		if _, ok := functions[f.name]; ok {
			return nil, fmt.Errorf("function %s is registered twice", f.name)
		}
		functions[f.name] = f
	}
	if spec.ParseConfig == nil {
		return nil, errors.New("no ParseConfig")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server[C]{
		name:        spec.Name,
		functions:   functions,
		parse:       spec.ParseConfig,
		out:         wire.NewWriter(w),
		conf:        spec.Config,
		ctx:         ctx,
		cancel:      cancel,
		MaxBodySize: wire.MaxBodySize,
		Logf:        log.Printf,
	}
	// A reply waits for the replies of the other requests read so far, to
	// leave with them in one write.
	s.out.More = func() bool { return s.unwritten.Load() > 0 }
	return s, nil
}

// Serve reads packages from r until it ends and answers them. It returns nil
// at the end of input, io.ErrUnexpectedEOF when the input ends inside a
// package, and any error reading r or writing a reply from the loop itself
// (to a configuration or to a package that cannot be used).
// Requests may still be running when it returns; see Shutdown.
func (s *Server[C]) Serve(r io.Reader) error {
	pr := wire.NewReader(r)
	pr.MaxSize = s.MaxBodySize
	pr.Types = []timod.Proto{timod.ProtoModuleConf, timod.ProtoModuleReq}
	pr.ReuseBody = true // each body is decoded (copied out) before the next is read
	for {
		pkg, err := pr.ReadPkg()
		var bad *wire.BadPkgError
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
			s.unwritten.Add(1)
			// Checked and decoded here, not in the request's goroutine: this
			// goroutine's stack has grown to what decoding needs once, where
			// every new goroutine would grow (and copy) its own again.
			name, call, err := s.bind(pkg.Data)
			go s.answer(pkg.Pid, name, call, err, s.conf)
		}
	}
}

// Shutdown waits until every running request has been answered, or until ctx
// ends; then it cancels the context the handlers were given. When every
// request was answered, it writes the replies still in the buffer and returns
// the error writing them, if any; else it returns ctx's error at once (a
// handler stuck writing a reply would hold up a flush).
func (s *Server[C]) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return s.out.Flush()
	case <-ctx.Done():
		s.cancel()
		return ctx.Err()
	}
}

// reject answers a package that cannot be used with a bad_data error: as a
// configuration error for a configuration, as a request error otherwise
// (also when the check byte is wrong, as the type cannot be trusted then).
func (s *Server[C]) reject(bad *wire.BadPkgError) error {
	s.Logf("%v", bad)
	tp := timod.ProtoModuleErr
	if !bad.BadCheck && bad.Tp == timod.ProtoModuleConf {
		tp = timod.ProtoModuleConfErr
	}
	return s.out.WriteError(bad.Pid, tp, timod.ExBadData, bad.Error())
}

// configure applies a configuration package and answers CONF_OK or CONF_ERR.
func (s *Server[C]) configure(pkg *timod.Pkg) error {
	conf, err := s.decodeConfig(pkg.Data)
	if err != nil {
		code, msg := errorReply(err)
		s.Logf("configuration rejected: %s", msg)
		return s.out.WriteError(pkg.Pid, timod.ProtoModuleConfErr, code, msg)
	}
	s.conf = conf
	s.Logf("configuration accepted")
	return s.out.WriteConfOK(pkg.Pid)
}

// decodeConfig decodes and checks the body of a configuration package.
func (s *Server[C]) decodeConfig(data []byte) (C, error) {
	value, err := mpack.Decode(data)
	if err != nil {
		var zero C
		return zero, Errorf(timod.ExBadData, "the configuration is not valid MessagePack: %v", err)
	}
	return s.parse(value)
}

// bind finds the function of a request body by its function key and checks
// and decodes its arguments: it returns the function's name and its handler
// bound to them, or the error to answer.
func (s *Server[C]) bind(body []byte) (string, func(context.Context, C) (any, error), error) {
	if err := mpack.Check(body, mpack.MaxNesting); err != nil {
		return "", nil, Errorf(timod.ExBadData, "the request is not valid MessagePack: %v", err)
	}
	entries, err := mpack.Map(body)
	if err != nil {
		return "", nil, Errorf(timod.ExTypeError, "a request must be a thing with str keys, got %s", mpack.TypeName(body))
	}
	var name string
	found := false
	for _, e := range entries {
		if e.Key == functionKey {
			name, found = mpack.String(e.Value)
			break
		}
	}
	if !found {
		return "", nil, Errorf(timod.ExLookupError,
			"the request has no %q key naming the function; add it to the function's defaults in module.json", functionKey)
	}
	f, ok := s.functions[name]
	if !ok {
		return name, nil, Errorf(timod.ExLookupError, "module %s has no function %q", s.name, name)
	}
	call, err := f.bind(entries)
	return name, call, err
}

// answer runs one request and writes its reply.
func (s *Server[C]) answer(pid uint16, name string, call func(context.Context, C) (any, error), err error, conf C) {
	defer s.running.Done()
	var result any
	if err == nil {
		result, err = s.run(name, call, conf)
	}
	s.unwritten.Add(-1)
	if err != nil {
		code, msg := errorReply(err)
		err = s.out.WriteError(pid, timod.ProtoModuleErr, code, msg)
	} else {
		err = s.out.WriteResult(pid, result)
	}
	if err != nil {
		// stdout is gone: there is nobody left to tell.
		s.Logf("cannot write the reply to request %d: %v", pid, err)
	}
}

// run calls a handler. A panicking handler is reported as an operation
// error; the module goes on.
func (s *Server[C]) run(name string, call func(context.Context, C) (any, error), conf C) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.Logf("function %s panicked: %v\n%s", name, r, debug.Stack())
			result, err = nil, Errorf(timod.ExOperation, "function %s failed: %v", name, r)
		}
	}()
	result, err = call(s.ctx, conf)
	if err != nil && !errors.As(err, new(*Error)) {
		s.Logf("function %s failed: %v", name, err)
	}
	return result, err
}
