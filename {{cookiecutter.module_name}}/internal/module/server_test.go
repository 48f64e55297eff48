package module

// The Server in-process: concurrency, failing handlers, framing, large
// requests and replies. The built binary, driven over stdin/stdout the way
// ThingsDB drives it, is tested by tests/test_protocol.py.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
	"{{ cookiecutter.go_module_path }}/internal/wire"
)

// replyTimeout only stops a test that would otherwise hang; no test result
// depends on timing.
const replyTimeout = 20 * time.Second

// peer is the ThingsDB side of a conversation with the module.
type peer struct {
	t   *testing.T
	in  io.Writer
	out *wire.Reader
}

// send writes one package with value packed as MessagePack.
func (p *peer) send(pid uint16, tp timod.Proto, value any) {
	p.t.Helper()
	pkg, err := timod.PkgPack(pid, tp, value)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(pkg)
}

// sendRaw writes bytes as they are.
func (p *peer) sendRaw(data []byte) {
	p.t.Helper()
	if _, err := p.in.Write(data); err != nil {
		p.t.Fatalf("writing to the module: %v", err)
	}
}

// next returns the next package the module sends.
func (p *peer) next() *timod.Pkg {
	p.t.Helper()
	type read struct {
		pkg *timod.Pkg
		err error
	}
	ch := make(chan read, 1)
	go func() {
		pkg, err := p.out.ReadPkg()
		ch <- read{pkg, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			p.t.Fatalf("reading a reply: %v", r.err)
		}
		return r.pkg
	case <-time.After(replyTimeout):
		p.t.Fatalf("no reply within %v", replyTimeout)
		return nil
	}
}

// call sends a request and returns its reply.
func (p *peer) call(pid uint16, request any) *timod.Pkg {
	p.t.Helper()
	p.send(pid, timod.ProtoModuleReq, request)
	return p.next()
}

// wantResult checks that pkg answers pid with want.
func wantResult(t *testing.T, pkg *timod.Pkg, pid uint16, want any) {
	t.Helper()
	if pkg.Tp != timod.ProtoModuleRes || pkg.Pid != pid {
		t.Fatalf("got type %d pid %d (%.200q), want a result for pid %d", pkg.Tp, pkg.Pid, pkg.Data, pid)
	}
	got, err := mpack.Decode(pkg.Data)
	if err != nil {
		t.Fatalf("result body: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pid %d: got %.200v, want %.200v", pid, got, want)
	}
}

// wantError checks that pkg is an error package of type tp for pid with
// code, and returns its message.
func wantError(t *testing.T, pkg *timod.Pkg, tp timod.Proto, pid uint16, code timod.Ex) string {
	t.Helper()
	if pkg.Tp != tp || pkg.Pid != pid {
		t.Fatalf("got type %d pid %d, want type %d pid %d", pkg.Tp, pkg.Pid, tp, pid)
	}
	body, err := mpack.Decode(pkg.Data)
	if err != nil {
		t.Fatalf("error body: %v", err)
	}
	pair, ok := body.([]any)
	if !ok || len(pair) != 2 {
		t.Fatalf("error body %#v is not [code, message]", body)
	}
	msg, ok := pair[1].(string)
	if pair[0] != int64(code) || !ok || msg == "" {
		t.Fatalf("got error %#v, want code %d with a message", body, code)
	}
	return msg
}

// parseTestConf takes {prefix: str}.
func parseTestConf(value any) (testConf, error) {
	m, ok := value.(map[string]any)
	prefix, isStr := m["prefix"].(string)
	if !ok || !isStr || len(m) != 1 {
		return testConf{}, Errorf(timod.ExValueError, "want {prefix: str}, got %s", TypeName(value))
	}
	return testConf{Prefix: prefix}, nil
}

type valueArgs struct {
	Value any `msgpack:"value"`
}

// echo returns its value, with the configured prefix in front of a str.
func echo(ctx context.Context, conf testConf, args valueArgs) (any, error) {
	if s, ok := args.Value.(string); ok {
		return conf.Prefix + s, nil
	}
	return args.Value, nil
}

// newTestServer returns a Server of functions writing to w, logging to t.
func newTestServer(t *testing.T, w io.Writer, functions ...Function[testConf]) *Server[testConf] {
	t.Helper()
	srv, err := NewServer(w, Spec[testConf]{Name: "test", Functions: functions, ParseConfig: parseTestConf})
	if err != nil {
		t.Fatal(err)
	}
	srv.Logf = t.Logf // shown only when a test fails, or with -v
	return srv
}

// startServer runs a Server of functions on OS pipes (which buffer, as
// ThingsDB's socket pair does) and returns its peer.
func startServer(t *testing.T, functions ...Function[testConf]) *peer {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, outW, functions...)
	srv.MaxBodySize = 32 << 20
	served := make(chan error, 1)
	go func() { served <- srv.Serve(inR) }()
	t.Cleanup(func() {
		inW.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(replyTimeout):
			t.Errorf("Serve did not return at the end of input")
		}
		outR.Close() // unblocks handlers still writing
		srv.Shutdown(context.Background())
		inR.Close()
		outW.Close()
	})
	out := wire.NewReader(outR)
	out.MaxSize = 32 << 20
	return &peer{t: t, in: inW, out: out}
}

// TestServeAnswersConcurrently proves by order, not by timing, that requests
// run concurrently: a slow request sent first is answered after a fast one
// sent later. Served one at a time, the fast reply would never come.
func TestServeAnswersConcurrently(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	p := startServer(t,
		Func("slow", func(ctx context.Context, conf testConf, args struct{}) (any, error) {
			<-release
			return "slow", nil
		}),
		Func("fast", func(ctx context.Context, conf testConf, args struct{}) (any, error) {
			return "fast", nil
		}),
	)
	t.Cleanup(unblock) // runs before startServer's cleanup, also when the test fails
	p.send(1, timod.ProtoModuleReq, map[string]any{functionKey: "slow"})
	p.send(2, timod.ProtoModuleReq, map[string]any{functionKey: "fast"})
	wantResult(t, p.next(), 2, "fast")
	unblock()
	wantResult(t, p.next(), 1, "slow")
}

// TestServeReadsOnWhileAHandlerRunsLong: a request read alone is answered by
// the goroutine that read it; when its handler then waits, the watchdog has
// another goroutine read and answer the next request meanwhile, and marks
// the function slow, so that its later calls get goroutines of their own.
func TestServeReadsOnWhileAHandlerRunsLong(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	slow := Func("slow", func(ctx context.Context, conf testConf, args struct{}) (any, error) {
		select {
		case started <- struct{}{}: // the first call
		default:
		}
		<-release
		return "slow", nil
	})
	p := startServer(t, slow, Func("echo", echo))
	t.Cleanup(unblock)
	p.send(1, timod.ProtoModuleReq, map[string]any{functionKey: "slow"})
	select {
	case <-started: // read alone, so run by the goroutine that read it
	case <-time.After(replyTimeout):
		t.Fatal("the handler did not start")
	}
	wantResult(t, p.call(2, map[string]any{functionKey: "echo", "value": "meanwhile"}), 2, "meanwhile")
	if slow.pace.Load() >= 0 {
		t.Error("the function that ran long is not marked slow")
	}
	unblock()
	wantResult(t, p.next(), 1, "slow")
	// Its quick calls since make it run where it is read again.
	for pid := uint16(3); slow.pace.Load() < 0; pid++ {
		if pid > 20000 {
			t.Fatalf("still slow after %d quick calls", pid)
		}
		wantResult(t, p.call(pid, map[string]any{functionKey: "slow"}), pid, "slow")
	}
}

// TestServeRunsAFunctionWhoseCallsTakeAWhileInParallel: once calls in a row
// took over quickHandler, the function's calls run in goroutines of their own
// while other requests wait to be read; all are answered. A quick call
// starts the count again.
func TestServeRunsAFunctionWhoseCallsTakeAWhileInParallel(t *testing.T) {
	var wait atomic.Bool
	long := Func("long", func(ctx context.Context, conf testConf, args valueArgs) (any, error) {
		if wait.Load() {
			time.Sleep(2 * quickHandler)
		}
		return args.Value, nil
	})
	p := startServer(t, long)
	wait.Store(true)
	for pid := range uint16(paceLong) {
		wantResult(t, p.call(pid, map[string]any{functionKey: "long", "value": int64(pid)}), pid, int64(pid))
	}
	if pace := long.pace.Load(); pace >= 0 && pace < paceLong {
		t.Fatalf("pace %d after %d calls of %v, want %d", pace, paceLong, 2*quickHandler, paceLong)
	}
	var all bytes.Buffer
	for pid := range uint16(20) {
		pkg, err := timod.PkgPack(pid, timod.ProtoModuleReq, map[string]any{functionKey: "long", "value": int64(pid)})
		if err != nil {
			t.Fatal(err)
		}
		all.Write(pkg)
	}
	p.sendRaw(all.Bytes())
	seen := map[uint16]bool{}
	for range 20 {
		pkg := p.next()
		wantResult(t, pkg, pkg.Pid, int64(pkg.Pid))
		seen[pkg.Pid] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d of 20 requests answered", len(seen))
	}
}

// TestServeReadsOnAfterAHandlerEndsItsGoroutine: a handler that ends the
// goroutine it runs in (runtime.Goexit, as t.FailNow does) leaves its request
// unanswered, and the next requests are read and answered all the same.
func TestServeReadsOnAfterAHandlerEndsItsGoroutine(t *testing.T) {
	started := make(chan struct{}, 1)
	p := startServer(t,
		Func("exits", func(ctx context.Context, conf testConf, args struct{}) (any, error) {
			started <- struct{}{}
			runtime.Goexit()
			return nil, nil
		}),
		Func("echo", echo),
	)
	for pid := uint16(1); pid < 5; pid += 2 {
		p.send(pid, timod.ProtoModuleReq, map[string]any{functionKey: "exits"})
		select {
		case <-started: // read alone, so run by the goroutine that read it
		case <-time.After(replyTimeout):
			t.Fatal("the handler did not start")
		}
		wantResult(t, p.call(pid+1, map[string]any{functionKey: "echo", "value": "after"}), pid+1, "after")
	}
}

// TestServeSurvivesFailingHandlers checks the error codes of failing handlers
// and that the module goes on serving after each.
func TestServeSurvivesFailingHandlers(t *testing.T) {
	type none struct{}
	p := startServer(t,
		Func("panics", func(ctx context.Context, conf testConf, args none) (any, error) {
			panic("boom")
		}),
		Func("fails", func(ctx context.Context, conf testConf, args none) (any, error) {
			return nil, errors.New("database unreachable")
		}),
		Func("custom", func(ctx context.Context, conf testConf, args none) (any, error) {
			return nil, Errorf(timod.ExCustom100, "no such user")
		}),
		Func("unpackable", func(ctx context.Context, conf testConf, args none) (any, error) {
			return make(chan int), nil
		}),
		Func("echo", echo),
	)
	cases := []struct {
		function string
		code     timod.Ex
		msg      string
	}{
		{"panics", timod.ExOperation, "function panics failed: boom"},
		{"fails", timod.ExOperation, "database unreachable"},
		{"custom", timod.ExCustom100, "no such user"},
		{"unpackable", timod.ExOperation, "cannot pack the result as MessagePack"},
		{"nothing", timod.ExLookupError, `module test has no function "nothing"`},
	}
	for i, c := range cases {
		pid := uint16(10 + i)
		msg := wantError(t, p.call(pid, map[string]any{functionKey: c.function}), timod.ProtoModuleErr, pid, c.code)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q does not contain %q", c.function, msg, c.msg)
		}
		wantResult(t, p.call(pid+100, map[string]any{functionKey: "echo", "value": "still here"}), pid+100, "still here")
	}
}

// TestServeChecksArgumentsBeforeTheHandler: a wrong type never reaches it.
func TestServeChecksArgumentsBeforeTheHandler(t *testing.T) {
	called := false
	p := startServer(t, Func("add", func(ctx context.Context, conf testConf, args addArgs) (any, error) {
		called = true
		return args.A + args.B, nil
	}))
	msg := wantError(t, p.call(1, map[string]any{functionKey: "add", "a": 1, "b": "2"}), timod.ProtoModuleErr, 1, timod.ExTypeError)
	if want := "function `add` expects argument `b` to be of type `int` but got type `str` instead"; msg != want || called {
		t.Errorf("got %q (handler called: %v), want %q", msg, called, want)
	}
	wantResult(t, p.call(2, map[string]any{functionKey: "add", "a": uint16(1000), "b": int8(-1)}), 2, int64(999))
}

// TestServeRequestsThatAreNoCall: bodies that decode but cannot be called.
func TestServeRequestsThatAreNoCall(t *testing.T) {
	p := startServer(t, Func("echo", echo))
	wantError(t, p.call(1, []any{1, 2}), timod.ProtoModuleErr, 1, timod.ExTypeError)
	wantError(t, p.call(2, map[string]any{"value": 1}), timod.ProtoModuleErr, 2, timod.ExLookupError)
	wantError(t, p.call(3, map[string]any{functionKey: 1}), timod.ProtoModuleErr, 3, timod.ExLookupError)
	wantError(t, p.call(4, map[int]any{1: "x"}), timod.ProtoModuleErr, 4, timod.ExTypeError)
	// 1024 levels are decoded (and are no thing), 1025 are refused before.
	nested := func(levels int) []byte { return append(bytes.Repeat([]byte{0x91}, levels), 0xc0) }
	p.sendRaw(timod.PkgPackBin(5, timod.ProtoModuleReq, nested(mpack.MaxNesting)))
	wantError(t, p.next(), timod.ProtoModuleErr, 5, timod.ExTypeError)
	p.sendRaw(timod.PkgPackBin(6, timod.ProtoModuleReq, nested(mpack.MaxNesting+1)))
	wantError(t, p.next(), timod.ProtoModuleErr, 6, timod.ExBadData)
	deep := map[string]any{functionKey: "echo", "value": 1, "other": []any{[]any{[]any{}}}}
	wantResult(t, p.call(7, deep), 7, int64(1))
}

// TestServeLargeRequestsAndReplies sends and gets back 1 and 16 MiB.
func TestServeLargeRequestsAndReplies(t *testing.T) {
	p := startServer(t, Func("echo", echo))
	for i, size := range []int{1 << 20, 16 << 20} {
		value := strings.Repeat("x", size)
		pid := uint16(i + 1)
		wantResult(t, p.call(pid, map[string]any{functionKey: "echo", "value": value}), pid, value)
	}
}

// TestServe1000PipelinedRequests sends 1000 requests in one write.
func TestServe1000PipelinedRequests(t *testing.T) {
	p := startServer(t, Func("echo", echo))
	var all bytes.Buffer
	for pid := range 1000 {
		pkg, err := timod.PkgPack(uint16(pid), timod.ProtoModuleReq, map[string]any{functionKey: "echo", "value": pid})
		if err != nil {
			t.Fatal(err)
		}
		all.Write(pkg)
	}
	go p.in.Write(all.Bytes()) // the pipe holds less than all of it: read meanwhile
	seen := map[uint16]bool{}
	for range 1000 {
		pkg := p.next()
		wantResult(t, pkg, pkg.Pid, int64(pkg.Pid))
		if seen[pkg.Pid] {
			t.Fatalf("two replies for %d", pkg.Pid)
		}
		seen[pkg.Pid] = true
	}
}

// TestServeConfiguration applies configurations in order and refuses bad ones.
func TestServeConfiguration(t *testing.T) {
	p := startServer(t, Func("echo", echo))
	p.send(0, timod.ProtoModuleConf, map[string]any{"prefix": "> "})
	if pkg := p.next(); pkg.Tp != timod.ProtoModuleConfOk {
		t.Fatalf("got type %d, want CONF_OK", pkg.Tp)
	}
	wantResult(t, p.call(1, map[string]any{functionKey: "echo", "value": "x"}), 1, "> x")
	p.send(0, timod.ProtoModuleConf, "no")
	wantError(t, p.next(), timod.ProtoModuleConfErr, 0, timod.ExValueError)
	p.sendRaw(timod.PkgPackBin(0, timod.ProtoModuleConf, []byte{0xc1}))
	wantError(t, p.next(), timod.ProtoModuleConfErr, 0, timod.ExBadData)
	wantResult(t, p.call(2, map[string]any{functionKey: "echo", "value": "x"}), 2, "> x")
}

// TestServeFraming feeds the Server one byte per read, with broken packages
// between good ones: every good request is answered, every broken one gets
// bad_data, and nothing is lost.
func TestServeFraming(t *testing.T) {
	request := func(pid uint16, value any) []byte {
		pkg, err := timod.PkgPack(pid, timod.ProtoModuleReq, map[string]any{functionKey: "echo", "value": value})
		if err != nil {
			t.Fatal(err)
		}
		return pkg
	}
	var input bytes.Buffer
	input.Write(request(1, "first"))
	badCheck := request(2, "wrong check byte") // a good request but for its check byte
	badCheck[7] = 0x00
	input.Write(badCheck)
	input.Write(timod.PkgPackBin(3, timod.Proto(99), []byte{0xc0})) // unknown type
	input.Write(timod.PkgPackBin(4, timod.ProtoModuleReq, []byte{0xc1}))
	input.Write(timod.PkgPackBin(5, timod.ProtoModuleReq, []byte{0x91, 0x01, 0x02})) // trailing byte
	input.Write(timod.PkgPackBin(6, timod.ProtoModuleReq, bytes.Repeat([]byte{0xc0}, 200)))
	input.Write(timod.PkgPackBin(8, timod.ProtoModuleReq, nil)) // empty
	input.Write(request(7, strings.Repeat("x", 100)))

	var output bytes.Buffer
	srv := newTestServer(t, &output, Func("echo", echo))
	srv.MaxBodySize = 150 // makes package 6 oversized
	if err := srv.Serve(iotest.OneByteReader(&input)); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	replies := map[uint16]*timod.Pkg{}
	out := wire.NewReader(&output)
	for {
		pkg, err := out.ReadPkg()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading replies: %v", err)
		}
		if replies[pkg.Pid] != nil {
			t.Fatalf("two replies for pid %d", pkg.Pid)
		}
		replies[pkg.Pid] = pkg
	}
	if len(replies) != 8 {
		t.Fatalf("got replies for %d pids, want 1 to 8", len(replies))
	}
	wantResult(t, replies[1], 1, "first")
	for _, pid := range []uint16{2, 3, 4, 5, 6, 8} {
		wantError(t, replies[pid], timod.ProtoModuleErr, pid, timod.ExBadData)
	}
	wantResult(t, replies[7], 7, strings.Repeat("x", 100))
}

func TestServeEndsInsidePackage(t *testing.T) {
	srv := newTestServer(t, io.Discard)
	pkg := timod.PkgPackBin(1, timod.ProtoModuleReq, make([]byte, 10))
	if err := srv.Serve(bytes.NewReader(pkg[:5])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("header cut: got %v, want io.ErrUnexpectedEOF", err)
	}
	srv = newTestServer(t, io.Discard)
	if err := srv.Serve(bytes.NewReader(pkg[:12])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body cut: got %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestNewServerRefusesTwoFunctionsOfOneName(t *testing.T) {
	_, err := NewServer(io.Discard, Spec[testConf]{Functions: []Function[testConf]{Func("echo", echo), Func("echo", echo)}, ParseConfig: parseTestConf})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("got %v", err)
	}
}

// repeated reads pkg n times over.
type repeated struct {
	pkg []byte
	n   int
	off int
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pkg[r.off:])
	if r.off += n; r.off == len(r.pkg) {
		r.off, r.n = 0, r.n-1
	}
	return n, nil
}

// BenchmarkServe64KiB runs 64 KiB echo requests through a Server in-process.
func BenchmarkServe64KiB(b *testing.B) {
	pkg, err := timod.PkgPack(1, timod.ProtoModuleReq, map[string]any{functionKey: "echo", "value": strings.Repeat("x", 64<<10)})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := NewServer(io.Discard, Spec[testConf]{Functions: []Function[testConf]{Func("echo", echo)}, ParseConfig: parseTestConf})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pkg)))
	b.ReportAllocs()
	if err := srv.Serve(&repeated{pkg: pkg, n: b.N}); err != nil {
		b.Fatal(err)
	}
	srv.Shutdown(context.Background())
}
