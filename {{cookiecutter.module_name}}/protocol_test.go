package main

// Protocol tests of the Server in-process: concurrency, failing handlers,
// framing. The ThingsDB side reuses PkgReader and timod.PkgPack from
// framing.go. The built binary, driven over stdin/stdout the way ThingsDB
// drives it, is tested by tests/test_protocol.py with tools/thingsdb_peer.py:
// the same battery for Go and Python modules.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
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

// --- module.json and the handlers ---

// exposedDefaults returns the defaults of each function module.json exposes to
// the module (closures, given as strings, run in ThingsDB itself: left out).
func exposedDefaults(t *testing.T) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile("module.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Exposes map[string]json.RawMessage `json:"exposes"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("module.json: %v", err)
	}
	defaults := map[string]map[string]any{}
	for name, raw := range m.Exposes {
		var fn struct {
			Defaults map[string]any `json:"defaults"`
		}
		if json.Unmarshal(raw, &fn) == nil {
			defaults[name] = fn.Defaults
		}
	}
	return defaults
}

func TestManifestMatchesHandlers(t *testing.T) {
	functions := exposedDefaults(t)
	handlers := Handlers()
	for name, defaults := range functions {
		if defaults[functionKey] != name {
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
