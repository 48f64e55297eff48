package main

// The module's machinery over the wire, started and spoken to exactly as
// ThingsDB does.
//
// Every case here goes through the real process: the module built from the
// sources as they are, started with a socket pair as stdin and another as
// stdout, packages framed as ThingsDB frames them (internal/peer). These
// tests belong to the template: they check framing, limits, error codes and
// shutdown, and never what your functions answer, so they keep passing as you
// write your functions. Every reply they wait for is made by the machinery
// itself: a request for a function the module does not have gets lookup_err,
// whatever the handlers do. Your functions are tested in functions_test.go.
//
// The helpers at the end (moduleCommand, startModule, readPackage,
// moduleManifest) are for functions_test.go too.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"{{ cookiecutter.go_module_path }}/internal/module"
	"{{ cookiecutter.go_module_path }}/internal/peer"
)

const (
	// requestFunctionKey is the key that names the called function in a
	// request (each function's default in module.json).
	requestFunctionKey = {{ function_key | go_string }}

	// logPrefix starts every line of the module's log: its name.
	logPrefix = "[" + {{ cookiecutter.module_name | go_string }} + "]"

	// noSuchFunction is a function no module has: its requests are answered
	// by the dispatch itself (lookup_err).
	noSuchFunction = "no_such_function"

	// maxErrorMessage is the longest error message ThingsDB takes, in UTF-8
	// bytes; a longer one reaches the caller as bad_data.
	maxErrorMessage = {{ max_error_message }}

	// maxNesting is the deepest nesting of arrays and maps a module decodes.
	maxNesting = {{ max_nesting }}

	// maxBody is the largest request body a module keeps in memory.
	maxBody = {{ max_body_mib }} << 20

	// thingsDBMaxPackage is the largest package ThingsDB ever sends.
	thingsDBMaxPackage = {{ thingsdb_max_package }}

	// replyTimeout is how long a test waits for an answer; large bodies get
	// longer.
	replyTimeout = 10 * time.Second
	longTimeout  = 60 * time.Second

	mib = 1 << 20
)

var (
	typeErrCode    = peer.ErrorCodes["type_err"]
	lookupErrCode  = peer.ErrorCodes["lookup_err"]
	badDataErrCode = peer.ErrorCodes["bad_data_err"]
)

// probe is a request answered by the machinery alone, carrying value to fill
// the body.
func probe(value any) map[string]any {
	return map[string]any{requestFunctionKey: noSuchFunction, "value": value}
}

// probeBody returns a probe's body with value as it is encoded, and pairs
// more encoded pairs in more.
func probeBody(t *testing.T, value, more []byte, pairs int) []byte {
	t.Helper()
	body := []byte{byte(0x82 + pairs)}
	for _, s := range []string{requestFunctionKey, noSuchFunction, "value"} {
		packed, err := peer.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, packed...)
	}
	return append(append(body, value...), more...)
}

// mustPack returns the package of value.
func mustPack(t *testing.T, pid uint16, tp uint8, value any) []byte {
	t.Helper()
	pkg, err := peer.Pack(pid, tp, value)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// sendBytes writes bytes to the module's stdin.
func sendBytes(t *testing.T, m *peer.Module, data []byte) {
	t.Helper()
	if err := m.SendRaw(data); err != nil {
		t.Fatalf("writing to the module: %v\nthe module's log:\n%s", err, m.Stderr())
	}
}

// requestReply sends value as a request and returns the reply.
func requestReply(t *testing.T, m *peer.Module, value any) peer.Package {
	t.Helper()
	reply, err := m.Request(value, replyTimeout)
	if err != nil {
		t.Fatalf("request %s: %v\nthe module's log:\n%s", peer.Render(value), err, m.Stderr())
	}
	return reply
}

// wantErrorReply fails the test unless reply is an ERR package with code and a
// message, and with pid unless pid is negative. It returns the message.
func wantErrorReply(t *testing.T, m *peer.Module, reply peer.Package, code, pid int) string {
	t.Helper()
	got, message, ok := reply.Failure()
	if reply.Type != peer.TypeErr || !ok || got != code || message == "" || pid >= 0 && int(reply.Pid) != pid {
		want := fmt.Sprintf("ERR %s (%d)", peer.ErrorName(code), code)
		if pid >= 0 {
			want += fmt.Sprintf(" for pid %d", pid)
		}
		t.Fatalf("got %s, want %s with a message\nthe module's log:\n%s", reply, want, m.Stderr())
	}
	return message
}

// wantStillServing fails the test unless a request after the case still
// gets its answer.
func wantStillServing(t *testing.T, m *peer.Module) {
	t.Helper()
	wantErrorReply(t, m, requestReply(t, m, probe("still here")), lookupErrCode, -1)
}

// wantExitStatus fails the test unless the module exits with status.
func wantExitStatus(t *testing.T, m *peer.Module, status int) {
	t.Helper()
	got, err := m.Wait(replyTimeout)
	if err != nil || got != status {
		t.Fatalf("exit status %d (%v), want %d\nthe module's log:\n%s", got, err, status, m.Stderr())
	}
}

// --- requests ---

func TestUnknownFunctionIsALookupErrorNamingIt(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	message := wantErrorReply(t, m, requestReply(t, m, probe(int64(1))), lookupErrCode, -1)
	if !strings.Contains(message, noSuchFunction) {
		t.Errorf("the message %q does not name %s", message, noSuchFunction)
	}
}

func TestRequestWithoutFunctionIsALookupError(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	wantErrorReply(t, m, requestReply(t, m, map[string]any{"value": int64(1)}), lookupErrCode, -1)
}

func TestRepliesCarryThePidOfTheirRequestAcrossTheWrap(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	for _, pid := range []uint16{65534, 65535, 0, 1} {
		sendBytes(t, m, mustPack(t, pid, peer.TypeReq, probe(int64(pid))))
		wantErrorReply(t, m, readPackage(t, m, replyTimeout), lookupErrCode, int(pid))
	}
}

func TestErrorMessageFitsWhatThingsDBTakes(t *testing.T) {
	t.Parallel()
	// A raw call can name any function; the lookup error quotes it. ThingsDB
	// turns a message over its limit into bad_data, losing the module's error.
	m := startModule(t)
	reply := requestReply(t, m, map[string]any{requestFunctionKey: strings.Repeat("é", 20000), "value": int64(1)})
	message := wantErrorReply(t, m, reply, lookupErrCode, -1)
	if n := len(message); n <= 16000 || n > maxErrorMessage {
		t.Errorf("the message has %d bytes, want 16000 to %d", n, maxErrorMessage)
	}
	if !utf8.ValidString(message) {
		t.Errorf("the shortened message is not valid UTF-8: %q", message[len(message)-8:])
	}
}

func TestRequestThatIsNotAThingIsATypeError(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	wantErrorReply(t, m, requestReply(t, m, []any{int64(1), int64(2), int64(3)}), typeErrCode, -1)
	wantStillServing(t, m)
}

func TestThingWithAKeyThatIsNotAStrIsATypeError(t *testing.T) {
	t.Parallel()
	// ThingsDB's things have str keys only: ThingsDB answers a value with a
	// map keyed otherwise with type_err, wherever the map is (the module
	// checks the whole body, as the Python flavour does).
	for _, c := range []struct {
		name        string
		value, more string
		pairs       int
	}{
		{"int-key-in-a-value", "\x81\x01\x02", "", 0},      // {1: 2}
		{"bin-key-in-a-value", "\x81\xc4\x01k\x01", "", 0}, // {b"k": 1}
		{"in-a-list", "\x91\x81\xc0\x01", "", 0},           // [{nil: 1}]
		{"in-a-property-no-function-takes", "\x01", "\xa1x\x81\x01\x02", 1},
		{"of-the-request-itself", "\x01", "\x01\x02", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			sendBytes(t, m, peer.Frame(18, peer.TypeReq, probeBody(t, []byte(c.value), []byte(c.more), c.pairs)))
			message := wantErrorReply(t, m, readPackage(t, m, replyTimeout), typeErrCode, 18)
			if want := "property names must be of type `str`"; message != want { // ThingsDB's words
				t.Errorf("the message is %q, want %q", message, want)
			}
			wantStillServing(t, m)
		})
	}
}

func TestTimestampTheSpecDoesNotDefineGetsBadData(t *testing.T) {
	t.Parallel()
	// A timestamp (extension -1) the MessagePack spec does not define is not
	// valid MessagePack; ThingsDB answers an extension it cannot read with
	// bad_data.
	for _, c := range []struct {
		name  string
		value string
		code  int
	}{
		{"2-bytes", "\xd5\xff\x00\x01", badDataErrCode},
		{"2-bytes-in-an-ext-8", "\xc7\x02\xff\x00\x01", badDataErrCode},
		{"8-bytes-of-too-many-nanoseconds", "\xd7\xff\xff\xff\xff\xfc\x00\x00\x00\x00", badDataErrCode},
		{"12-bytes-of-too-many-nanoseconds", "\xc7\x0c\xff\xff\xff\xff\xff" + strings.Repeat("\x00", 8), badDataErrCode},
		{"after-a-key-that-is-not-a-str", "\x81\x01\xd5\xff\x00\x01", badDataErrCode},
		{"4-bytes-decoded", "\xd6\xff\x00\x00\x00\x01", lookupErrCode},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			sendBytes(t, m, peer.Frame(19, peer.TypeReq, probeBody(t, []byte(c.value), nil, 0)))
			wantErrorReply(t, m, readPackage(t, m, replyTimeout), c.code, 19)
			wantStillServing(t, m)
		})
	}
}

func TestReplyNestedDeeperThanMsgpackPacksIsSentWhole(t *testing.T) {
	t.Parallel()
	// ThingsDB reads a reply of any nesting, and this flavour sends one;
	// Python's msgpack packs 511 levels at most. A server of one function
	// that answers its value, on the same machinery as the module, in this
	// process: what the replies of your functions go through, without
	// depending on them. The deepest value a request carries: 1023 levels in
	// its 1024.
	type echoArgs struct {
		Value any `msgpack:"value"`
	}
	echo := module.Func("echo", func(_ context.Context, _ struct{}, args echoArgs) (any, error) {
		return args.Value, nil
	})
	var out bytes.Buffer
	server, err := module.NewServer(&out, module.Spec[struct{}]{
		Name:        "echo",
		Functions:   []module.Function[struct{}]{echo},
		ParseConfig: func(any) (struct{}, error) { return struct{}{}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	server.Logf = t.Logf
	nested := append(bytes.Repeat([]byte{0x91}, maxNesting-1), 0xc0)
	body := []byte{0x82}
	for _, s := range []string{requestFunctionKey, "echo", "value"} {
		packed, err := peer.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		body = append(body, packed...)
	}
	if err := server.Serve(bytes.NewReader(peer.Frame(20, peer.TypeReq, append(body, nested...)))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), replyTimeout)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	reply := out.Bytes()
	if len(reply) < peer.HeaderSize {
		t.Fatalf("got %d bytes, want a reply", len(reply))
	}
	pid, tp := binary.LittleEndian.Uint16(reply[4:]), reply[6]
	if pid != 20 || tp != peer.TypeRes || !bytes.Equal(reply[peer.HeaderSize:], nested) {
		t.Fatalf("got pid %d type %d body %.40q..., want pid 20 type %d with the value sent", pid, tp, reply[peer.HeaderSize:], peer.TypeRes)
	}
}

// --- configuration (what the module makes of one is yours: functions_test.go) ---

func TestConfigurationGetsOneAnswerAndARefusalIsLogged(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		conf any
	}{
		{"a-thing", map[string]any{"prefix": "> "}},
		{"a-string", "text"},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			reply, err := m.Configure(c.conf, replyTimeout)
			if err != nil || reply.Pid != 0 || reply.Type != peer.TypeConfOK && reply.Type != peer.TypeConfErr {
				t.Fatalf("got %s, %v; want CONF_OK or CONF_ERR for pid 0\nthe module's log:\n%s", reply, err, m.Stderr())
			}
			if _, message, ok := reply.Failure(); ok {
				// ThingsDB keeps no CONF_ERR message: the module's log must say why.
				if !strings.Contains(m.Stderr(), "configuration rejected: "+message) {
					t.Errorf("the log does not say %q\nthe module's log:\n%s", "configuration rejected: "+message, m.Stderr())
				}
			}
			wantStillServing(t, m)
		})
	}
}

func TestConfigurationThatIsNotMessagePackGetsBadData(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Frame(0, peer.TypeConf, []byte{0xc1}))
	reply := readPackage(t, m, replyTimeout)
	if code, _, ok := reply.Failure(); reply.Pid != 0 || reply.Type != peer.TypeConfErr || !ok || code != badDataErrCode {
		t.Fatalf("got %s, want CONF_ERR bad_data_err for pid 0\nthe module's log:\n%s", reply, m.Stderr())
	}
	wantStillServing(t, m)
}

func TestConfigurationWithAKeyThatIsNotAStrGetsATypeError(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Frame(0, peer.TypeConf, []byte{0x81, 0x01, 0x02})) // {1: 2}
	reply := readPackage(t, m, replyTimeout)
	if code, _, ok := reply.Failure(); reply.Pid != 0 || reply.Type != peer.TypeConfErr || !ok || code != typeErrCode {
		t.Fatalf("got %s, want CONF_ERR type_err for pid 0\nthe module's log:\n%s", reply, m.Stderr())
	}
	wantStillServing(t, m)
}

// --- what ThingsDB's pipe can deliver ---

func TestHeaderSplitAcrossReadsIsAssembled(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	pkg := mustPack(t, 7, peer.TypeReq, probe("split"))
	sendBytes(t, m, pkg[:3])
	time.Sleep(100 * time.Millisecond)
	sendBytes(t, m, pkg[3:])
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), lookupErrCode, 7)
}

func TestBodySplitAcrossReadsIsAssembled(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	pkg := mustPack(t, 8, peer.TypeReq, probe(strings.Repeat("split", 100)))
	sendBytes(t, m, pkg[:peer.HeaderSize+10])
	time.Sleep(100 * time.Millisecond)
	sendBytes(t, m, pkg[peer.HeaderSize+10:])
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), lookupErrCode, 8)
}

func TestLargeRequestIsReadWhole(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		size int
	}{
		{"1-mib", 1 * mib},
		{"16-mib", 16 * mib},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			sendBytes(t, m, mustPack(t, 9, peer.TypeReq, probe(strings.Repeat("x", c.size))))
			wantErrorReply(t, m, readPackage(t, m, longTimeout), lookupErrCode, 9)
			wantStillServing(t, m)
		})
	}
}

func TestBodyLargerThanTheModuleKeepsGetsBadDataAndTheStreamStaysInStep(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Header(maxBody+1, 10, peer.TypeReq, peer.TypeReq^0xFF))
	chunk := make([]byte, mib)
	for left := maxBody + 1; left > 0; left -= len(chunk) {
		sendBytes(t, m, chunk[:min(left, len(chunk))])
	}
	wantErrorReply(t, m, readPackage(t, m, longTimeout), badDataErrCode, 10)
	wantStillServing(t, m)
}

func Test1000RequestsInOneWriteAreEachAnswered(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	var packages []byte
	for pid := range 1000 {
		packages = append(packages, mustPack(t, uint16(pid), peer.TypeReq, probe(int64(pid)))...)
	}
	sendBytes(t, m, packages)
	deadline := time.Now().Add(longTimeout)
	pids := make([]int, 0, 1000)
	for range 1000 {
		reply := readPackage(t, m, time.Until(deadline))
		wantErrorReply(t, m, reply, lookupErrCode, -1)
		pids = append(pids, int(reply.Pid))
	}
	slices.Sort(pids)
	for i, pid := range pids {
		if pid != i {
			t.Fatalf("the replies' pids, sorted, are %v...; want each of 0 to 999 once", pids[:i+1])
		}
	}
}

func TestUnknownPackageTypeGetsBadDataAndTheModuleKeepsServing(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, mustPack(t, 11, 99, probe(int64(1))))
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), badDataErrCode, 11)
	wantStillServing(t, m)
}

func TestBodyThatIsNotMessagePackGetsBadData(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Frame(12, peer.TypeReq, []byte{0xc1, 0xc1, 0xc1}))
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), badDataErrCode, 12)
	wantStillServing(t, m)
}

func TestEmptyBodyGetsBadData(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Frame(16, peer.TypeReq, nil))
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), badDataErrCode, 16)
	wantStillServing(t, m)
}

func TestNestingDeeperThanTheDecoderTakesGetsBadData(t *testing.T) {
	t.Parallel()
	// Decoders recurse per level; 16 million levels once overflowed the Go
	// module's stack.
	for _, c := range []struct {
		name   string
		levels int
		code   int
	}{
		{fmt.Sprintf("%d-levels-decoded", maxNesting), maxNesting, typeErrCode}, // not a thing
		{fmt.Sprintf("%d-levels", maxNesting+1), maxNesting + 1, badDataErrCode},
		{"16-million-levels", 16 * mib, badDataErrCode},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			body := append([]byte(strings.Repeat("\x91", c.levels)), 0xc0) // [[[...nil]]]
			sendBytes(t, m, peer.Frame(17, peer.TypeReq, body))
			wantErrorReply(t, m, readPackage(t, m, longTimeout), c.code, 17)
			wantStillServing(t, m)
		})
	}
}

func TestWrongCheckByteGetsBadData(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	body := mustPack(t, 0, peer.TypeReq, probe(int64(1)))[peer.HeaderSize:]
	sendBytes(t, m, append(peer.Header(uint32(len(body)), 13, peer.TypeReq, 0), body...))
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), badDataErrCode, 13)
	wantStillServing(t, m)
}

func TestHeaderAnnouncingMoreThanThingsDBEverSendsEndsTheModule(t *testing.T) {
	t.Parallel()
	// A corrupt stream: a module that waits for gigabytes that never come
	// serves nobody. Exiting lets ThingsDB restart it.
	for _, c := range []struct {
		name string
		size uint32
	}{
		{"1-gib-and-1", thingsDBMaxPackage + 1},
		{"4-gib", 0xFFFFFFFF},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			sendBytes(t, m, peer.Header(c.size, 14, peer.TypeReq, peer.TypeReq^0xFF))
			wantExitStatus(t, m, 1)
			if !strings.Contains(m.Stderr(), "corrupt input") {
				t.Errorf("the log does not say %q\nthe module's log:\n%s", "corrupt input", m.Stderr())
			}
		})
	}
}

// --- stopping ---

func TestSIGTERMExitsCleanly(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	wantStillServing(t, m)
	if err := m.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wantExitStatus(t, m, 0)
}

func TestEndOfInputExitsCleanlyAfterAnsweringWhatCameBefore(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, mustPack(t, 1, peer.TypeReq, probe("last")))
	if err := m.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	wantErrorReply(t, m, readPackage(t, m, replyTimeout), lookupErrCode, 1)
	// Nothing else on stdout: it belongs to the protocol.
	if reply, err := m.Read(replyTimeout); !errors.Is(err, peer.ErrStdoutClosed) {
		t.Fatalf("after the last reply: got %s, %v; want stdout closed\nthe module's log:\n%s", reply, err, m.Stderr())
	}
	wantExitStatus(t, m, 0)
	if !strings.Contains(m.Stderr(), logPrefix) { // its log goes to stderr
		t.Errorf("no line of the log starts with %s\nthe module's log:\n%s", logPrefix, m.Stderr())
	}
}

func TestTruncatedHeaderThenEndOfInputExitsCleanly(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	sendBytes(t, m, peer.Header(10, 15, peer.TypeReq, peer.TypeReq^0xFF)[:5])
	if err := m.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	wantExitStatus(t, m, 0)
}

// --- the module under test ---

var (
	buildOnce   sync.Once
	builtModule string // the binary; its folder is removed after the tests
	buildErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtModule != "" {
		os.RemoveAll(filepath.Dir(builtModule))
	}
	os.Exit(code)
}

// moduleCommandVariable names a command to test instead of the module built
// from source: a binary of bin/, say, or one for another architecture under
// an emulator ("qemu-aarch64-static bin/NAME_linux_arm64").
const moduleCommandVariable = "TIMOD_MODULE_COMMAND"

// moduleCommand returns the command that starts the module, built once per
// test run from the sources as they are now (bin/ may hold an older build),
// or the command TIMOD_MODULE_COMMAND gives.
func moduleCommand(t *testing.T) []string {
	t.Helper()
	if command := strings.Fields(os.Getenv(moduleCommandVariable)); len(command) > 0 {
		return command
	}
	buildOnce.Do(func() { builtModule, buildErr = peer.Build(".") })
	if buildErr != nil {
		t.Fatalf("building the module: %v", buildErr)
	}
	return []string{builtModule}
}

// startModule starts the module as ThingsDB does, with no configuration
// sent; it is stopped when the test ends.
func startModule(t *testing.T) *peer.Module {
	t.Helper()
	m, err := peer.Start(moduleCommand(t), ".")
	if err != nil {
		t.Fatalf("starting the module: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("%v\nthe module's log:\n%s", err, m.Stderr())
		}
	})
	return m
}

// readPackage returns the module's next package.
func readPackage(t *testing.T, m *peer.Module, timeout time.Duration) peer.Package {
	t.Helper()
	reply, err := m.Read(timeout)
	if err != nil {
		t.Fatalf("reading the module's answer: %v\nthe module's log:\n%s", err, m.Stderr())
	}
	return reply
}

var (
	manifestOnce   sync.Once
	loadedManifest *peer.Manifest
	manifestErr    error
)

// moduleManifest returns module.json as the peer reads it.
func moduleManifest(t *testing.T) *peer.Manifest {
	t.Helper()
	manifestOnce.Do(func() { loadedManifest, manifestErr = peer.LoadManifest(".") })
	if manifestErr != nil {
		t.Fatal(manifestErr)
	}
	return loadedManifest
}
