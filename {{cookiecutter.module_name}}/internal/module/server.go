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
	"time"

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
// the order they arrive and runs requests concurrently.
//
// A goroutine of its own per request costs more than most handlers: each
// one wakes another thread to take it (the Go scheduler does so while a
// processor is idle), which at one request at a time is most of a call's
// cost. So the goroutine that reads a request runs its handler itself, and
// the reply leaves with those of the other requests of the same read. A
// function whose call took longer than quickHandler runs in goroutines of
// its own, in parallel, while other requests wait to be read; one that took
// longer than slowHandler (it waits for I/O, or computes) always does. A
// watchdog makes sure that a handler run where it was read never holds up
// reading for long: after slowHandler another goroutine goes on reading in
// its place.
type Server[C any] struct {
	name       string
	functions  map[string]Function[C]
	parse      func(any) (C, error)
	out        *wire.Writer
	conf       C // read and written by the goroutine reading (see read)
	ctx        context.Context
	cancel     context.CancelFunc
	running    sync.WaitGroup
	unwritten  atomic.Int64 // requests read whose reply is not written yet
	unanswered atomic.Int64 // the same, until the reply's write has returned

	// reading: one goroutine at a time reads (and may run a handler).
	reader    *wire.Reader
	readDone  chan error                   // how reading ended
	inline    atomic.Uint64                // odd while the reading goroutine runs a handler
	inlineFn  atomic.Pointer[atomic.Int32] // its function's pace
	watching  atomic.Bool                  // the watchdog is awake
	wake      chan struct{}                // wakes the watchdog
	stopWatch chan struct{}                // closed when reading ended

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

const (
	// quickHandler is about the longest call for which a goroutine of its own
	// costs more than running calls one after the other.
	quickHandler = 50 * time.Microsecond

	// slowHandler is how long a handler may run in the goroutine that reads
	// before another goroutine reads in its place (the watchdog looks this
	// often, so it may run up to twice as long). It holds up the requests
	// that arrive meanwhile: once, and again only after the function's calls
	// were quick long enough to run where they are read again (paceSlow).
	slowHandler = time.Millisecond
)

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
	s.reader = pr
	s.readDone = make(chan error, 1)
	s.wake = make(chan struct{}, 1)
	s.stopWatch = make(chan struct{})
	go s.watch()
	// Not read in this goroutine: a handler run by the reading goroutine may
	// end it (runtime.Goexit), and Serve must return all the same.
	go s.read()
	return <-s.readDone
}

// read reads and answers packages until the input ends, or until the
// watchdog hands reading to another goroutine while this one runs a handler.
func (s *Server[C]) read() {
	pr := s.reader
	held := false // by this goroutine: one that took over reading releases first
	for {
		if !pr.HasPackage() {
			// Reading waits for input now: out with the replies held so far.
			// A failure stays in the writer; each handler's reply reports it.
			_ = s.out.Release()
			held = false
		}
		pkg, err := pr.ReadPkg()
		if err != nil {
			var bad *wire.BadPkgError // declared here: taking its address moves it to the heap
			switch {
			case errors.As(err, &bad):
				if err := s.reject(bad); err != nil {
					s.endReading(err)
					return
				}
				continue
			case errors.Is(err, io.EOF):
				err = nil
			}
			s.endReading(err)
			return
		}
		switch pkg.Tp {
		case timod.ProtoModuleConf:
			if err := s.configure(pkg); err != nil {
				s.endReading(err)
				return
			}
		case timod.ProtoModuleReq:
			if !held { // the replies of the requests of one read leave together
				s.out.Hold()
				held = true
			}
			s.running.Add(1)
			s.unwritten.Add(1)
			s.unanswered.Add(1)
			// Checked and decoded here, in any case: this goroutine's stack
			// has grown to what decoding needs once, where every new
			// goroutine would grow (and copy) its own again.
			name, pace, call, err := s.bind(pkg.Data)
			if err == nil && goroutineFor(pace.Load(), pr.HasPackage()) {
				go s.answer(pkg.Pid, name, pace, call, nil, s.conf)
			} else if !s.answerHere(pkg.Pid, name, pace, call, err) {
				return // another goroutine reads now
			}
		}
	}
}

// epoch is what run measures calls from.
var epoch = time.Now()

// goroutineFor reports whether a call of a function of that pace gets a
// goroutine of its own, when another request waits to be read or not.
func goroutineFor(pace int32, waiting bool) bool {
	return pace < 0 || pace >= paceLong && waiting
}

// endReading stops the watchdog and tells Serve how reading ended.
func (s *Server[C]) endReading(err error) {
	_ = s.out.Release() // a failure stays in the writer: Shutdown returns it
	close(s.stopWatch)
	s.readDone <- err
}

// answerHere answers a request in the goroutine that read it. It returns
// false when the watchdog handed reading to another goroutine meanwhile.
func (s *Server[C]) answerHere(pid uint16, name string, pace *atomic.Int32, call func(context.Context, C) (any, error), err error) bool {
	conf := s.conf // before another goroutine may read (and configure) in this one's place
	if err != nil {
		s.answer(pid, name, pace, nil, err, conf) // no handler runs
		return true
	}
	s.inlineFn.Store(pace)
	seq := s.inline.Add(1)
	if !s.watching.Load() && s.watching.CompareAndSwap(false, true) {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	returned := false
	defer func() {
		// The handler ended this goroutine (runtime.Goexit): read on in another.
		if !returned && s.inline.CompareAndSwap(seq, seq+1) {
			go s.read()
		}
	}()
	defer s.running.Done()
	result, err := s.run(name, pace, call, conf)
	s.reply(pid, result, err)
	returned = true
	return s.inline.CompareAndSwap(seq, seq+1)
}

// watch is the watchdog: when the same handler runs in the reading goroutine
// at two looks in a row, it marks the handler's function slow and starts
// another goroutine reading. It sleeps while no handler runs that way.
func (s *Server[C]) watch() {
	timer := time.NewTimer(slowHandler)
	defer timer.Stop()
	var last uint64
	for {
		select {
		case <-timer.C:
		case <-s.stopWatch:
			return
		}
		now := s.inline.Load()
		if now != last || now%2 == 1 {
			if now == last && s.inline.CompareAndSwap(now, now+1) {
				s.inlineFn.Load().Store(paceSlow)
				go s.read()
			}
			last = s.inline.Load()
			timer.Reset(slowHandler)
			continue
		}
		// No handler ran that way for a whole look: sleep until one does.
		s.watching.Store(false)
		if s.inline.Load() == now {
			select {
			case <-s.wake:
			case <-s.stopWatch:
				return
			}
		} else {
			s.watching.Store(true)
		}
		last = s.inline.Load()
		timer.Reset(slowHandler)
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
	if err := checkBody("configuration", data); err != nil {
		var zero C
		return zero, err
	}
	value, err := mpack.Decode(data)
	if err != nil {
		var zero C
		return zero, Errorf(timod.ExBadData, "the configuration is not valid MessagePack: %v", err)
	}
	return s.parse(value)
}

// bind finds the function of a request body by its function key and checks
// and decodes its arguments: it returns the function's name, its pace and
// its handler bound to them, or the error to answer.
func (s *Server[C]) bind(body []byte) (string, *atomic.Int32, func(context.Context, C) (any, error), error) {
	if err := checkBody("request", body); err != nil {
		return "", nil, nil, err
	}
	entries, err := mpack.Map(body)
	if err != nil {
		return "", nil, nil, Errorf(timod.ExTypeError, "a request must be a thing, not %s", mpack.TypeName(body))
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
		return "", nil, nil, Errorf(timod.ExLookupError,
			"the request has no %q key naming the function; add it to the function's defaults in module.json", functionKey)
	}
	f, ok := s.functions[name]
	if !ok {
		return name, nil, nil, Errorf(timod.ExLookupError, "module %s has no function %q", s.name, name)
	}
	call, err := f.bind(entries)
	return name, f.pace, call, err
}

// answer runs one request and writes its reply.
func (s *Server[C]) answer(pid uint16, name string, pace *atomic.Int32, call func(context.Context, C) (any, error), err error, conf C) {
	defer s.running.Done()
	var result any
	if err == nil {
		result, err = s.run(name, pace, call, conf)
	}
	s.reply(pid, result, err)
}

// reply writes the reply to request pid: result, or err.
func (s *Server[C]) reply(pid uint16, result any, err error) {
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
	s.unanswered.Add(-1)
}

// Stop waits until every request read so far has been answered, or until
// ctx ends, while reading goes on; then it cancels the context the handlers
// were given. It is how the module stops on SIGTERM, when the input has not
// ended: the requests ThingsDB sent before it still get their replies. When
// every request was answered it returns the error writing the replies, if
// any; else ctx's error.
func (s *Server[C]) Stop(ctx context.Context) error {
	// Polled rather than waited for: reading goes on, and a WaitGroup must
	// not be added to while it is waited on.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s.unanswered.Load() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			s.cancel()
			return ctx.Err()
		}
	}
	s.cancel()
	return s.out.Flush()
}

// run calls a handler and keeps its function's pace. A panicking handler is
// reported as an operation error; the module goes on.
func (s *Server[C]) run(name string, pace *atomic.Int32, call func(context.Context, C) (any, error), conf C) (result any, err error) {
	start := time.Since(epoch) // one clock read; time.Now reads two
	defer func() {
		if r := recover(); r != nil {
			s.Logf("function %s panicked: %v\n%s", name, r, debug.Stack())
			result, err = nil, Errorf(timod.ExOperation, "function %s failed: %v", name, r)
		}
		switch p, long := pace.Load(), time.Since(epoch)-start > quickHandler; {
		case p < 0 && long:
			pace.CompareAndSwap(p, paceSlow)
		case long && p < paceLong, !long && p < 0:
			pace.CompareAndSwap(p, p+1)
		case !long && p > 0:
			pace.CompareAndSwap(p, 0)
		}
	}()
	result, err = call(s.ctx, conf)
	if err != nil && !errors.As(err, new(*Error)) {
		s.Logf("function %s failed: %v", name, err)
	}
	return result, err
}
