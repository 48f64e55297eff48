package main

// Protocol tests: the Server in-process (concurrency, failures, framing) and
// the built binary driven over stdin/stdout the way ThingsDB drives it. The
// ThingsDB side reuses PkgReader and timod.PkgPack from framing.go.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	timod "github.com/thingsdb/go-timod"
	"github.com/vmihailenco/msgpack/v4"
)

// replyTimeout only stops a test that would otherwise hang; no test result
// depends on timing.
const replyTimeout = 20 * time.Second

// peer is the ThingsDB side of a conversation with the module.
type peer struct {
	t   *testing.T
	in  io.Writer
	out *PkgReader
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

// header returns a package header.
func header(size uint32, pid uint16, tp uint8, check uint8) []byte {
	h := make([]byte, headerSize)
	binary.LittleEndian.PutUint32(h[0:], size)
	binary.LittleEndian.PutUint16(h[4:], pid)
	h[6], h[7] = tp, check
	return h
}

// normalize makes decoded MessagePack comparable: every integer an int64.
func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// wantResult checks that pkg answers pid with want.
func wantResult(t *testing.T, pkg *timod.Pkg, pid uint16, want any) {
	t.Helper()
	if pkg.Tp != timod.ProtoModuleRes || pkg.Pid != pid {
		t.Fatalf("got type %d pid %d (%q), want a result for pid %d", pkg.Tp, pkg.Pid, pkg.Data, pid)
	}
	got, err := DecodeBody(pkg.Data)
	if err != nil {
		t.Fatalf("result body: %v", err)
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("pid %d: got %#v, want %#v", pid, got, want)
	}
}

// wantError checks that pkg is an error package of type tp for pid with
// code, and returns its message.
func wantError(t *testing.T, pkg *timod.Pkg, tp timod.Proto, pid uint16, code timod.Ex) string {
	t.Helper()
	if pkg.Tp != tp || pkg.Pid != pid {
		t.Fatalf("got type %d pid %d, want type %d pid %d", pkg.Tp, pkg.Pid, tp, pid)
	}
	body, err := DecodeBody(pkg.Data)
	if err != nil {
		t.Fatalf("error body: %v", err)
	}
	pair, ok := body.([]any)
	if !ok || len(pair) != 2 {
		t.Fatalf("error body %#v is not [code, message]", body)
	}
	msg, ok := pair[1].(string)
	if got := normalize(pair[0]); got != int64(code) || !ok || msg == "" {
		t.Fatalf("got error %#v, want code %d with a message", body, code)
	}
	return msg
}

// --- the Server in-process ---

// startServer runs a Server with handlers on OS pipes (which buffer, as
// ThingsDB's socket pair does) and returns its peer.
func startServer(t *testing.T, handlers map[string]HandlerFunc) *peer {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(outW, handlers)
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
		inR.Close()
		outW.Close()
	})
	return &peer{t: t, in: inW, out: NewPkgReader(outR)}
}

// TestServeAnswersConcurrently proves by order, not by timing, that requests
// run concurrently: a slow request sent first is answered after a fast one
// sent later. Served one at a time, the fast reply would never come.
func TestServeAnswersConcurrently(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	p := startServer(t, map[string]HandlerFunc{
		"slow": func(ctx context.Context, conf Config, args Args) (any, error) {
			<-release
			return "slow", nil
		},
		"fast": func(ctx context.Context, conf Config, args Args) (any, error) {
			return "fast", nil
		},
	})
	t.Cleanup(unblock) // runs before startServer's cleanup, also when the test fails
	p.send(1, timod.ProtoModuleReq, map[string]any{functionKey: "slow"})
	p.send(2, timod.ProtoModuleReq, map[string]any{functionKey: "fast"})
	wantResult(t, p.next(), 2, "fast")
	unblock()
	wantResult(t, p.next(), 1, "slow")
}

// TestServeSurvivesFailingHandlers checks the error codes of failing handlers
// and that the module goes on serving after each.
func TestServeSurvivesFailingHandlers(t *testing.T) {
	p := startServer(t, map[string]HandlerFunc{
		"panics": func(ctx context.Context, conf Config, args Args) (any, error) {
			panic("boom")
		},
		"fails": func(ctx context.Context, conf Config, args Args) (any, error) {
			return nil, errors.New("database unreachable")
		},
		"custom": func(ctx context.Context, conf Config, args Args) (any, error) {
			return nil, Errorf(timod.ExCustom100, "no such user")
		},
		"unpackable": func(ctx context.Context, conf Config, args Args) (any, error) {
			return make(chan int), nil
		},
		"ok": func(ctx context.Context, conf Config, args Args) (any, error) {
			return args["value"], nil
		},
	})
	cases := []struct {
		function string
		code     timod.Ex
		msg      string
	}{
		{"panics", timod.ExOperation, "boom"},
		{"fails", timod.ExOperation, "database unreachable"},
		{"custom", timod.ExCustom100, "no such user"},
		{"unpackable", timod.ExOperation, "MessagePack"},
	}
	for i, c := range cases {
		pid := uint16(10 + i)
		msg := wantError(t, p.call(pid, map[string]any{functionKey: c.function}), timod.ProtoModuleErr, pid, c.code)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q does not contain %q", c.function, msg, c.msg)
		}
		wantResult(t, p.call(pid+100, map[string]any{functionKey: "ok", "value": "still here"}), pid+100, "still here")
	}
}

// TestServeFraming feeds the Server one byte per read, with broken packages
// between good ones: every good request is answered, every broken one gets
// bad_data, and nothing is lost.
func TestServeFraming(t *testing.T) {
	echo := map[string]HandlerFunc{"echo": func(ctx context.Context, conf Config, args Args) (any, error) {
		return args["value"], nil
	}}
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
	input.Write(request(7, strings.Repeat("x", 100)))

	var output bytes.Buffer
	srv := NewServer(&output, echo)
	srv.MaxBodySize = 150 // makes package 6 oversized
	if err := srv.Serve(iotest.OneByteReader(&input)); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	replies := map[uint16]*timod.Pkg{}
	out := NewPkgReader(&output)
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
	if len(replies) != 7 {
		t.Fatalf("got replies for %d pids, want 1 to 7", len(replies))
	}
	wantResult(t, replies[1], 1, "first")
	for _, pid := range []uint16{2, 3, 4, 5, 6} {
		wantError(t, replies[pid], timod.ProtoModuleErr, pid, timod.ExBadData)
	}
	wantResult(t, replies[7], 7, strings.Repeat("x", 100))
}

// TestDecodeBodyMatchesTheLibrary checks DecodeBody's own handling of string
// values in requests against the msgpack library's decoding of the same bytes.
func TestDecodeBodyMatchesTheLibrary(t *testing.T) {
	values := []any{
		map[string]any{"function": "echo", "value": "short"},
		map[string]any{"function": "echo", "value": strings.Repeat("8", 40)},
		map[string]any{"function": "echo", "value": strings.Repeat("16", 300)},
		map[string]any{"function": "echo", "value": strings.Repeat("32", 70000)},
		map[string]any{"function": "echo", "value": []byte("bytes"), "n": int64(-3)},
		map[string]any{"value": map[string]any{"nested": []any{"a", 1.5, nil}}},
		map[string]any{},
		map[int]string{1: "int keys"},
		[]any{"not", "a", "map"},
		"text",
		nil,
	}
	for i, value := range values {
		body, err := msgpack.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		bodies := [][]byte{body, body[:len(body)-1]} // whole, and cut short
		if len(body) == 1 {
			bodies = bodies[:1]
		}
		for _, b := range bodies {
			want, wantErr := msgpack.NewDecoder(bytes.NewReader(b)).DecodeInterface()
			got, err := DecodeBody(b)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("value %d, %d bytes: error %v, the library's %v", i, len(b), err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("value %d: got %#v, the library decodes %#v", i, got, want)
			}
		}
	}
}

// TestReadPkgHugeLength sends headers announcing up to 4 GiB: the reader
// reports each at once, then must neither panic nor allocate the announced
// size while dropping the body.
func TestReadPkgHugeLength(t *testing.T) {
	for _, size := range []uint32{MaxBodySize + 1, 0xFFFFFFF8, 0xFFFFFFFF} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		input := append(header(size, 1, uint8(timod.ProtoModuleReq), uint8(timod.ProtoModuleReq)^0xFF), 0xc0)
		r := NewPkgReader(bytes.NewReader(input))
		_, err := r.ReadPkg()
		var bad *BadPkgError
		if !errors.As(err, &bad) || bad.Pid != 1 || bad.Size != size {
			t.Errorf("size %#x: got %v, want a BadPkgError for package 1", size, err)
		}
		if _, err := r.ReadPkg(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("size %#x: then got %v, want io.ErrUnexpectedEOF", size, err)
		}
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Errorf("size %#x: allocated %d bytes", size, grown)
		}
	}
}

func TestServeEndsInsidePackage(t *testing.T) {
	srv := NewServer(io.Discard, Handlers())
	err := srv.Serve(bytes.NewReader(header(10, 1, uint8(timod.ProtoModuleReq), uint8(timod.ProtoModuleReq)^0xFF)[:5]))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
}

// --- the built module, as ThingsDB runs it ---

// manifest is the part of module.json that shapes requests.
type manifest struct {
	Defaults map[string]any             `json:"defaults"`
	Exposes  map[string]json.RawMessage `json:"exposes"`
}

// exposedFunction is a module function in module.json's "exposes".
type exposedFunction struct {
	Defaults map[string]any `json:"defaults"`
	Argmap   *[]string      `json:"argmap"`
}

// readManifest reads module.json and the functions it exposes to the module
// (closures, given as strings, run in ThingsDB itself and are left out).
func readManifest(t *testing.T) (manifest, map[string]exposedFunction) {
	t.Helper()
	data, err := os.ReadFile("module.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("module.json: %v", err)
	}
	functions := map[string]exposedFunction{}
	for name, raw := range m.Exposes {
		var fn exposedFunction
		if json.Unmarshal(raw, &fn) == nil {
			functions[name] = fn
		}
	}
	return m, functions
}

// buildRequest returns the request ThingsDB sends for <module>.<name>(args...):
// each argmap name takes its argument, or, when the call leaves it out, the
// default of that name, else nil; "*" adds the properties of an optional
// thing; without an argmap the one argument is a thing, sent as it is. The
// defaults (the function's own, then the root's; load and deep are
// ThingsDB's options) then fill the keys still missing. Arguments beyond the
// argmap are not sent: ThingsDB passes them to the future's closure.
func buildRequest(t *testing.T, m manifest, fn exposedFunction, args ...any) map[string]any {
	t.Helper()
	defaults := map[string]any{}
	for _, layer := range []map[string]any{m.Defaults, fn.Defaults} {
		for k, v := range layer {
			if k != "load" && k != "deep" {
				defaults[k] = v
			}
		}
	}
	thing := func(arg any) map[string]any {
		t.Helper()
		props, ok := arg.(map[string]any)
		if !ok {
			t.Fatalf("expected a thing as argument, got %T", arg)
		}
		return props
	}
	req := map[string]any{}
	if fn.Argmap == nil {
		if len(args) > 0 {
			maps.Copy(req, thing(args[0]))
		}
	} else {
		for i, name := range *fn.Argmap {
			switch {
			case name == "*":
				if i < len(args) && args[i] != nil {
					maps.Copy(req, thing(args[i]))
				}
			case name == "load" || name == "deep":
			case i < len(args):
				req[name] = args[i]
			default:
				req[name] = defaults[name] // nil without a default
			}
		}
	}
	for k, v := range defaults {
		if _, ok := req[k]; !ok {
			req[k] = v
		}
	}
	return req
}

// firstFunction returns the exposed function that sorts first.
func firstFunction(functions map[string]exposedFunction) (string, exposedFunction) {
	names := make([]string, 0, len(functions))
	for name := range functions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names[0], functions[names[0]]
}

func TestManifestMatchesHandlers(t *testing.T) {
	_, functions := readManifest(t)
	handlers := Handlers()
	for name, fn := range functions {
		if fn.Defaults[functionKey] != name {
			t.Errorf("module.json: %s must set the default %q to %q", name, functionKey, name)
		}
		if handlers[name] == nil {
			t.Errorf("module.json exposes %s, handlers.go has no handler for it", name)
		}
	}
	for name := range handlers {
		if _, ok := functions[name]; !ok {
			t.Errorf("handlers.go serves %s, module.json does not expose it", name)
		}
	}
}

// buildModule compiles the module into a temporary directory.
func buildModule(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Skip("the go command is needed to build the module")
	}
	bin := filepath.Join(t.TempDir(), moduleName)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// module is a running module process.
type module struct {
	*peer
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the process to write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startModule starts the binary with pipes as stdin and stdout.
func startModule(t *testing.T, bin string) *module {
	t.Helper()
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &module{cmd: cmd, stdin: stdin, stdout: stdout, stderr: &syncBuffer{}}
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.peer = &peer{t: t, in: stdin, out: NewPkgReader(stdout)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // still running: the test failed or did not stop it
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("module log:\n%s", m.stderr.String())
		}
	})
	return m
}

// wait waits for the module to exit and returns its exit code.
func (m *module) wait() int {
	m.t.Helper()
	done := make(chan error, 1)
	go func() { done <- m.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			m.t.Fatal(err)
		}
		return m.cmd.ProcessState.ExitCode()
	case <-time.After(replyTimeout):
		m.t.Fatalf("the module did not exit within %v", replyTimeout)
		return -1
	}
}

func TestModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	bin := buildModule(t)
	m, functions := readManifest(t)
	if len(functions) == 0 {
		t.Fatal("module.json exposes no functions")
	}

	t.Run("functions without configuration", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		pid := uint16(0)
		for name, fn := range functions {
			for _, value := range []any{"hello", int64(-7), nil, []any{"a", 1.5, true}, map[string]any{"k": []any{}}} {
				wantResult(t, mod.call(pid, buildRequest(t, m, fn, value)), pid, value)
				pid++
			}
			t.Logf("%s answers as expected", name)
		}
	})

{%- if cookiecutter.needs_config %}

	t.Run("configuration", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		mod.send(0, timod.ProtoModuleConf, map[string]any{"prefix": "> "})
		if pkg := mod.next(); pkg.Tp != timod.ProtoModuleConfOk || pkg.Pid != 0 || len(pkg.Data) != 0 {
			t.Fatalf("got type %d pid %d body %q, want an empty CONF_OK", pkg.Tp, pkg.Pid, pkg.Data)
		}
		for _, fn := range functions {
			wantResult(t, mod.call(1, buildRequest(t, m, fn, "hello")), 1, "> hello")
			wantResult(t, mod.call(2, buildRequest(t, m, fn, int64(42))), 2, int64(42))
		}
		refused := []struct {
			conf any
			code timod.Ex
		}{
			{"not a map", timod.ExTypeError},
			{map[string]any{"prefx": "x"}, timod.ExValueError},
			{map[string]any{"prefix": 1}, timod.ExTypeError},
		}
		for _, c := range refused {
			mod.send(0, timod.ProtoModuleConf, c.conf)
			wantError(t, mod.next(), timod.ProtoModuleConfErr, 0, c.code)
		}
		mod.sendRaw(timod.PkgPackBin(0, timod.ProtoModuleConf, []byte{0xc1}))
		wantError(t, mod.next(), timod.ProtoModuleConfErr, 0, timod.ExBadData)
		for _, fn := range functions { // a refused configuration leaves the last good one in force
			wantResult(t, mod.call(3, buildRequest(t, m, fn, "hello")), 3, "> hello")
		}
	})

{%- else %}

	t.Run("configuration refused", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		for _, conf := range []any{map[string]any{}, map[string]any{"prefix": "> "}} {
			mod.send(0, timod.ProtoModuleConf, conf)
			msg := wantError(t, mod.next(), timod.ProtoModuleConfErr, 0, timod.ExValueError)
			if !strings.Contains(msg, "takes no configuration") {
				t.Errorf("message %q does not say the module takes no configuration", msg)
			}
		}
		for _, fn := range functions {
			wantResult(t, mod.call(1, buildRequest(t, m, fn, "hello")), 1, "hello")
		}
	})

{%- endif %}

	t.Run("error replies", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		name, fn := firstFunction(functions)
		// A raw call, demo({function: ...}), can leave an argument out; an
		// exposed function's call sends a left-out argument as nil.
		noValue := buildRequest(t, m, fn)
		delete(noValue, "value")

		mod.sendRaw(timod.PkgPackBin(1, timod.ProtoModuleReq, []byte{0xc1}))
		wantError(t, mod.next(), timod.ProtoModuleErr, 1, timod.ExBadData)
		mod.sendRaw(timod.PkgPackBin(2, timod.ProtoModuleReq, nil))
		wantError(t, mod.next(), timod.ProtoModuleErr, 2, timod.ExBadData)
		wantError(t, mod.call(3, []any{name, "hello"}), timod.ProtoModuleErr, 3, timod.ExTypeError)
		wantError(t, mod.call(4, map[string]any{"value": "hello"}), timod.ProtoModuleErr, 4, timod.ExLookupError)
		wantError(t, mod.call(5, map[string]any{functionKey: "no_such_function", "value": 1}), timod.ProtoModuleErr, 5, timod.ExLookupError)
		wantError(t, mod.call(6, noValue), timod.ProtoModuleErr, 6, timod.ExNumArguments)

		badCheck, err := timod.PkgPack(7, timod.ProtoModuleReq, buildRequest(t, m, fn, "wrong check byte"))
		if err != nil {
			t.Fatal(err)
		}
		badCheck[7] = 0x12
		mod.sendRaw(badCheck)
		wantError(t, mod.next(), timod.ProtoModuleErr, 7, timod.ExBadData)
		mod.sendRaw(timod.PkgPackBin(8, timod.Proto(99), []byte{0xc0}))
		wantError(t, mod.next(), timod.ProtoModuleErr, 8, timod.ExBadData)
		wantResult(t, mod.call(9, buildRequest(t, m, fn, "still here")), 9, "still here")
	})

	t.Run("header announcing 4 GiB", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no SIGTERM on Windows")
		}
		t.Parallel()
		mod := startModule(t, bin)
		mod.sendRaw(header(0xFFFFFFFF, 14, uint8(timod.ProtoModuleReq), uint8(timod.ProtoModuleReq)^0xFF))
		wantError(t, mod.next(), timod.ProtoModuleErr, 14, timod.ExBadData) // at once, body or not
		if err := mod.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := mod.wait(); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
	})

	t.Run("split and large packages", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		_, fn := firstFunction(functions)
		pkg, err := timod.PkgPack(1, timod.ProtoModuleReq, buildRequest(t, m, fn, "split"))
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range [][]byte{pkg[:3], pkg[3:8], pkg[8:10], pkg[10:]} {
			mod.sendRaw(piece)
			time.Sleep(10 * time.Millisecond) // lets each piece arrive on its own
		}
		wantResult(t, mod.next(), 1, "split")

		big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
		wantResult(t, mod.call(2, buildRequest(t, m, fn, big)), 2, big)
	})

	t.Run("many requests in flight", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		_, fn := firstFunction(functions)
		const n = 64
		for pid := uint16(0); pid < n; pid++ {
			mod.send(pid, timod.ProtoModuleReq, buildRequest(t, m, fn, fmt.Sprint("request ", pid, strings.Repeat(".", 4096))))
		}
		seen := map[uint16]bool{}
		for i := 0; i < n; i++ {
			pkg := mod.next()
			if seen[pkg.Pid] {
				t.Fatalf("two replies for pid %d", pkg.Pid)
			}
			seen[pkg.Pid] = true
			wantResult(t, pkg, pkg.Pid, fmt.Sprint("request ", pkg.Pid, strings.Repeat(".", 4096)))
		}
	})

	t.Run("exit 0 at end of input, nothing else on stdout", func(t *testing.T) {
		t.Parallel()
		mod := startModule(t, bin)
		_, fn := firstFunction(functions)
		mod.send(1, timod.ProtoModuleReq, buildRequest(t, m, fn, "last"))
		mod.stdin.Close()
		wantResult(t, mod.next(), 1, "last")
		rest, err := io.ReadAll(mod.stdout)
		if err != nil || len(rest) != 0 {
			t.Errorf("stdout after the last reply: %q, %v", rest, err)
		}
		if code := mod.wait(); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		if log := mod.stderr.String(); !strings.Contains(log, moduleName) {
			t.Errorf("the module logged nothing to stderr: %q", log)
		}
	})

	t.Run("exit 0 on SIGTERM", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no SIGTERM on Windows")
		}
		t.Parallel()
		mod := startModule(t, bin)
		_, fn := firstFunction(functions)
		wantResult(t, mod.call(1, buildRequest(t, m, fn, "up")), 1, "up") // running and listening
		if err := mod.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := mod.wait(); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
	})
}
