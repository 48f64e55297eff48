package peer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMarshalWritesTheSmallestFormsAsThingsDBDoes(t *testing.T) {
	for _, c := range []struct {
		value any
		hex   string
	}{
		{nil, "c0"},
		{false, "c2"},
		{true, "c3"},
		{int64(0), "00"},
		{int64(127), "7f"},
		{int64(128), "cc80"},
		{int64(255), "ccff"},
		{int64(256), "cd0100"},
		{int64(65536), "ce00010000"},
		{int64(1) << 32, "cf0000000100000000"},
		{uint64(math.MaxUint64), "cfffffffffffffffff"},
		{int64(-1), "ff"},
		{int64(-32), "e0"},
		{int64(-33), "d0df"},
		{int64(-129), "d1ff7f"},
		{int64(-32769), "d2ffff7fff"},
		{int64(math.MinInt64), "d38000000000000000"},
		{7, "07"},
		{uint8(200), "ccc8"},
		{1.0, "cb3ff0000000000000"},
		{float32(0.5), "cb3fe0000000000000"},
		{"", "a0"},
		{strings.Repeat("x", 31), "bf" + strings.Repeat("78", 31)},
		{strings.Repeat("x", 32), "d920" + strings.Repeat("78", 32)},
		{strings.Repeat("x", 256), "da0100" + strings.Repeat("78", 256)},
		{[]byte{}, "c400"},
		{[]byte("hi"), "c4026869"},
		{make([]byte, 256), "c50100" + strings.Repeat("00", 256)},
		{[]any{}, "90"},
		{[]any{int64(1), "a"}, "9201a161"},
		{make([]any, 16), "dc0010" + strings.Repeat("c0", 16)},
		{[]string{"a"}, "91a161"},
		{map[string]any{}, "80"},
		{map[string]any{"b": int64(2), "a": int64(1)}, "82a16101a16202"}, // keys sorted
		{map[string]string{"k": "v"}, "81a16ba176"},
		{Ext{Type: 5, Data: []byte{1}}, "d40501"},
		{Ext{Type: -1, Data: make([]byte, 3)}, "c703ff000000"},
	} {
		got, err := Marshal(c.value)
		if err != nil || hex.EncodeToString(got) != c.hex {
			t.Errorf("Marshal(%#v) = %x, %v; want %s", c.value, got, err, c.hex)
		}
	}
}

func TestMarshalRefusesWhatMessagePackCannotCarry(t *testing.T) {
	for _, value := range []any{"\xff", map[string]any{"\xff": 1}, map[int]any{1: 1}, make(chan int)} {
		if got, err := Marshal(value); err == nil {
			t.Errorf("Marshal(%#v) = %x, want an error", value, got)
		}
	}
	loop := []any{nil}
	loop[0] = loop
	if _, err := Marshal(loop); err == nil {
		t.Error("a list holding itself: no error")
	}
}

func TestUnmarshalGivesCanonicalValues(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want any
	}{
		{"c0", nil},
		{"c3", true},
		{"7f", int64(127)},
		{"ccff", int64(255)},
		{"cd0100", int64(256)},
		{"ce00010000", int64(65536)},
		{"cf7fffffffffffffff", int64(math.MaxInt64)},
		{"cf8000000000000000", uint64(1) << 63},
		{"e0", int64(-32)},
		{"d080", int64(-128)},
		{"d18000", int64(math.MinInt16)},
		{"d280000000", int64(math.MinInt32)},
		{"d38000000000000000", int64(math.MinInt64)},
		{"ca3fc00000", 1.5},
		{"cb3ff8000000000000", 1.5},
		{"a3616263", "abc"},
		{"d903616263", "abc"},
		{"c403616263", []byte("abc")},
		{"920102", []any{int64(1), int64(2)}},
		{"dc0001c0", []any{nil}},
		{"81a16101", map[string]any{"a": int64(1)}},
		{"de0001a16101", map[string]any{"a": int64(1)}},
		{"d40501", Ext{Type: 5, Data: []byte{1}}},
	} {
		data, _ := hex.DecodeString(c.hex)
		got, err := Unmarshal(data)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Unmarshal(%s) = %#v, %v; want %#v", c.hex, got, err, c.want)
		}
	}
}

func TestUnmarshalRefusesWhatIsNoSingleValue(t *testing.T) {
	for _, text := range []string{"", "c1", "a2 61", "9201", "c0 c0", "81 01 02", "a1 ff", "dd ffffffff"} {
		data, _ := hex.DecodeString(strings.ReplaceAll(text, " ", ""))
		if got, err := Unmarshal(data); err == nil {
			t.Errorf("Unmarshal(%s) = %#v, want an error", text, got)
		}
	}
}

// manifest is a module.json with one function f.
func manifest(f *Exposed, rootDefaults map[string]any) *Manifest {
	if f.Defaults == nil {
		f.Defaults = map[string]any{}
	}
	if rootDefaults == nil {
		rootDefaults = map[string]any{}
	}
	return &Manifest{Defaults: rootDefaults, Exposes: map[string]*Exposed{"f": f}}
}

func echo() *Exposed {
	return &Exposed{Defaults: map[string]any{"function": "echo"}, Argmap: []string{"value"}}
}

func TestBuildRequestAsThingsDBBuildsIt(t *testing.T) {
	for _, c := range []struct {
		name     string
		manifest *Manifest
		args     []any
		want     map[string]any
	}{
		{"argument", manifest(echo(), nil), []any{"x"}, map[string]any{"function": "echo", "value": "x"}},
		{"left-out-is-nil", manifest(echo(), nil), nil, map[string]any{"function": "echo", "value": nil}},
		{
			"left-out-takes-its-default",
			manifest(&Exposed{Defaults: map[string]any{"function": "echo", "value": int64(5)}, Argmap: []string{"value"}}, nil),
			nil,
			map[string]any{"function": "echo", "value": int64(5)},
		},
		{
			"left-out-takes-a-root-default",
			manifest(echo(), map[string]any{"value": int64(7), "lang": "en"}),
			nil,
			map[string]any{"function": "echo", "value": int64(7), "lang": "en"},
		},
		{
			"own-defaults-before-root-ones-without-load-and-deep",
			manifest(&Exposed{Defaults: map[string]any{"lang": "nl", "deep": int64(2)}}, map[string]any{"lang": "en", "load": true, "x": int64(1)}),
			nil,
			map[string]any{"lang": "nl", "x": int64(1)},
		},
		{
			"star",
			manifest(&Exposed{Argmap: []string{"msg", "*"}}, nil),
			[]any{"hi", map[string]any{"a": int64(1)}},
			map[string]any{"msg": "hi", "a": int64(1)},
		},
		{"star-nil", manifest(&Exposed{Argmap: []string{"msg", "*"}}, nil), []any{"hi", nil}, map[string]any{"msg": "hi"}},
		{"star-left-out", manifest(&Exposed{Argmap: []string{"msg", "*"}}, nil), nil, map[string]any{"msg": nil}},
		{
			"a-given-key-beats-a-default",
			manifest(&Exposed{Defaults: map[string]any{"function": "echo"}, Argmap: []string{"*"}}, nil),
			[]any{map[string]any{"function": "mine"}},
			map[string]any{"function": "mine"},
		},
		{
			"load-and-deep-are-not-sent",
			manifest(&Exposed{Argmap: []string{"deep", "load", "msg"}}, nil),
			[]any{int64(3), true, "x"},
			map[string]any{"msg": "x"},
		},
		{
			"no-argmap-one-thing",
			manifest(&Exposed{Defaults: map[string]any{"k": int64(1)}}, nil),
			[]any{map[string]any{"a": int64(1)}},
			map[string]any{"a": int64(1), "k": int64(1)},
		},
		{"no-argmap-no-argument", manifest(&Exposed{Defaults: map[string]any{"k": int64(1)}}, nil), nil, map[string]any{"k": int64(1)}},
		{"empty-argmap-sends-no-argument", manifest(&Exposed{Argmap: []string{}}, nil), []any{"extra"}, map[string]any{}},
		{
			"things-deeper-than-deep-arrive-empty",
			manifest(echo(), nil),
			[]any{map[string]any{"a": map[string]any{"b": int64(1)}, "l": []any{map[string]any{"c": int64(1)}}}},
			map[string]any{"function": "echo", "value": map[string]any{"a": map[string]any{}, "l": []any{map[string]any{}}}},
		},
		{
			"deep-of-the-star-thing",
			manifest(&Exposed{Argmap: []string{"v", "*"}}, nil),
			[]any{map[string]any{"a": map[string]any{"b": int64(1)}}, map[string]any{"deep": int64(2)}},
			map[string]any{"v": map[string]any{"a": map[string]any{"b": int64(1)}}, "deep": int64(2)},
		},
	} {
		got, err := BuildRequest(c.manifest, "f", c.args)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %s, %v; want %s", c.name, Render(got), err, Render(c.want))
		}
	}
}

func TestBuildRequestRefusesWhatThingsDBRefuses(t *testing.T) {
	closure := &Manifest{Exposes: map[string]*Exposed{"f": {Closure: "|this| this.ping()"}}}
	for _, c := range []struct {
		manifest *Manifest
		args     []any
		message  string
	}{
		{manifest(&Exposed{}, nil), []any{"not a thing"}, "the first argument of `f` must be a thing"},
		{manifest(&Exposed{}, nil), []any{nil}, "the first argument of `f` must be a thing"},
		{manifest(&Exposed{Argmap: []string{"*"}}, nil), []any{[]any{int64(1)}}, "the `*` argument of `f` must be a thing or nil"},
		{closure, nil, "'f' is a ThingsDB closure; call it from ThingsDB"},
	} {
		if _, err := BuildRequest(c.manifest, "f", c.args); err == nil || err.Error() != c.message {
			t.Errorf("BuildRequest(%s): got %v, want %q", Render(c.args), err, c.message)
		}
	}
	if _, err := BuildRequest(manifest(&Exposed{}, nil), "nosuch", nil); err == nil ||
		err.Error() != "module.json exposes no function 'nosuch'" {
		t.Errorf("an unknown function: %v", err)
	}
}

func TestArgumentsBeyondTheArgmapAreNotSent(t *testing.T) {
	for _, c := range []struct {
		f          *Exposed
		args, want []any
	}{
		{echo(), []any{"x", "y", int64(3)}, []any{"y", int64(3)}},
		{echo(), []any{"x"}, nil},
		{&Exposed{Argmap: []string{}}, []any{"x"}, []any{"x"}},
		{&Exposed{}, []any{map[string]any{}, "y"}, []any{"y"}},
	} {
		if got := ExtraArguments(manifest(c.f, nil), "f", c.args); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ExtraArguments(%s) = %s, want %s", Render(c.args), Render(got), Render(c.want))
		}
	}
}

func TestLoadManifestReadsNumbersAsWritten(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/module.json", `{"doc": "d", "defaults": {"load": true, "deep": 1, "i": 1, "f": 1.0},
		"exposes": {"a": {"argmap": ["x", "*"], "defaults": {"function": "a"}}, "b": {}, "c": {"argmap": []},
		"hello": "|this| this.ping()"}}`)
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Defaults, map[string]any{"load": true, "deep": int64(1), "i": int64(1), "f": 1.0}) {
		t.Errorf("defaults: %#v", m.Defaults)
	}
	if a := m.Exposes["a"]; !reflect.DeepEqual(a.Argmap, []string{"x", "*"}) || a.Defaults["function"] != "a" {
		t.Errorf("a: %#v", a)
	}
	if m.Exposes["b"].Argmap != nil || m.Exposes["c"].Argmap == nil {
		t.Errorf("an absent argmap must be nil, an empty one not: %#v, %#v", m.Exposes["b"].Argmap, m.Exposes["c"].Argmap)
	}
	if m.Exposes["hello"].Closure != "|this| this.ping()" {
		t.Errorf("hello: %#v", m.Exposes["hello"])
	}
	if got := m.Functions(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Functions() = %q", got)
	}
	writeFile(t, dir+"/module.json", `{"exposes": {"a": {"argmap": "x"}}}`)
	if _, err := LoadManifest(dir); err == nil || !strings.Contains(err.Error(), "exposes.a.argmap") {
		t.Errorf("an argmap that is no list: %v", err)
	}
}

func TestParseArgumentTakesJSONAndBytesLiterals(t *testing.T) {
	for _, c := range []struct {
		word string
		want any
	}{
		{`1`, int64(1)},
		{`-1`, int64(-1)},
		{`1.0`, 1.0},
		{`1e3`, 1000.0},
		{`1e400`, math.Inf(1)},
		{`9223372036854775808`, uint64(1) << 63},
		{`"hi"`, "hi"},
		{`"\ud83d\ude00"`, "😀"},
		{` [1, "a", {"b": null}] `, []any{int64(1), "a", map[string]any{"b": nil}}},
		{`b"raw"`, []byte("raw")},
		{`b''`, []byte{}},
		{`b'\x00\xff\n\t\\\'\"'`, []byte("\x00\xff\n\t\\'\"")},
		{`b"\101\7\q"`, []byte("A\a\\q")},
		{`b"""a"b"""`, []byte(`a"b`)},
	} {
		got, err := ParseArgument(c.word)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseArgument(%s) = %#v, %v; want %#v", c.word, got, err, c.want)
		}
	}
}

func TestParseArgumentRefusesWhatIsNotJSON(t *testing.T) {
	for _, c := range []struct {
		word    string
		kind    error
		message string
	}{
		{`[1,2`, ErrNotJSON, `'[1,2' is not JSON; a string is written in JSON's double quotes, like '"[1,2"'`},
		{`it's`, ErrNotJSON, `"it's" is not JSON; a string is written in JSON's double quotes, like '"it'\''s"'`},
		{`NaN`, ErrNotJSON, ""},
		{`1 2`, ErrNotJSON, ""},
		{strings.Repeat("[", 5000), ErrTooDeep, "the argument is nested too deeply"},
		{`18446744073709551616`, ErrNotPackable, "the integer 18446744073709551616 does not fit in 64 bits"},
		{`"\ud800"`, ErrNotPackable, `a string holds the lone surrogate \ud800`},
		{`"\udc00\ud800"`, ErrNotPackable, `a string holds the lone surrogate \udc00`},
		{"\"\xff\"", ErrNotPackable, "a string is not valid UTF-8"},
	} {
		_, err := ParseArgument(c.word)
		if !errors.Is(err, c.kind) || c.message != "" && err.Error() != c.message {
			t.Errorf("ParseArgument(%.20s): got %v; want %v: %s", c.word, err, c.kind, c.message)
		}
	}
	for _, word := range []string{`b"x`, `b"x" y`, `b"\x4"`, `b"é"`, `b"\777"`, "b'a\nb'"} {
		if got, err := ParseArgument(word); err == nil || !strings.HasSuffix(err.Error(), `is not a bytes literal like b"raw"`) {
			t.Errorf("ParseArgument(%s) = %#v, %v; want it refused as no bytes literal", word, got, err)
		}
	}
}

func TestRenderWritesJSONAsThePythonPeerDoes(t *testing.T) {
	for _, c := range []struct {
		value any
		want  string
	}{
		{nil, "null"},
		{int64(-3), "-3"},
		{1.0, "1.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "-Infinity"},
		{"é\"\\\n\x01\x7f", `"é\"\\\n\u0001` + "\x7f\""},
		{[]byte("a'b"), `b"a'b"`},
		{[]byte("a'\"\x00\x80"), `b'a\'"\x00\x80'`},
		{[]any{int64(1), []any{}}, "[1, []]"},
		{map[string]any{"b": int64(1), "a": []byte{}}, `{"a": b'', "b": 1}`},
		{orderedMap{mapEntry{"b", int64(1)}, mapEntry{int64(2), nil}, mapEntry{true, nil}}, `{"b": 1, "2": null, "True": null}`},
		{Ext{Type: 5, Data: []byte{1}}, `"ExtType(code=5, data=b'\\x01')"`},
		{Ext{Type: -1, Data: []byte{0, 0, 0, 1}}, `"Timestamp(seconds=1, nanoseconds=0)"`},
		{[]string{"a"}, `["a"]`},
	} {
		if got := Render(c.value); got != c.want {
			t.Errorf("Render(%#v) = %s, want %s", c.value, got, c.want)
		}
	}
}

func TestPackageRenderKeepsTheOrderTheModuleSent(t *testing.T) {
	body, _ := hex.DecodeString("82a16202a16101") // {"b": 2, "a": 1}
	got, err := Package{Type: TypeRes, Body: body}.Render()
	if err != nil || got != `{"b": 2, "a": 1}` {
		t.Errorf("got %s, %v", got, err)
	}
}

func TestPackageResultAndFailure(t *testing.T) {
	errBody, _ := Marshal([]any{int64(-54), "no such function"})
	p := Package{Pid: 3, Type: TypeErr, Body: errBody}
	if code, message, ok := p.Failure(); !ok || code != -54 || message != "no such function" {
		t.Errorf("Failure() = %d, %q, %v", code, message, ok)
	}
	_, err := p.Result()
	var moduleErr *ModuleError
	if !errors.As(err, &moduleErr) || err.Error() != "lookup_err (-54): no such function" {
		t.Errorf("Result() error = %v", err)
	}
	if got := p.String(); got != `ERR pid 3: [-54, "no such function"]` {
		t.Errorf("String() = %s", got)
	}
	if _, err := (Package{Type: TypeConfOK}).Result(); err == nil {
		t.Error("a CONF_OK package has no result")
	}
	for code, name := range map[int]string{-61: "type_err", -100: "custom_err", -127: "custom_err", -1: "unknown_err"} {
		if got := ErrorName(code); got != name {
			t.Errorf("ErrorName(%d) = %s, want %s", code, got, name)
		}
	}
}

func TestFrameAndHeader(t *testing.T) {
	got := Frame(0x0102, TypeReq, []byte{0xc0})
	want := []byte{1, 0, 0, 0, 2, 1, TypeReq, TypeReq ^ 0xFF, 0xc0}
	if !bytes.Equal(got, want) {
		t.Errorf("Frame = % x, want % x", got, want)
	}
}

// startCat starts cat as a module: every package sent comes back.
func startCat(t *testing.T) *Module {
	t.Helper()
	if _, err := exec.LookPath("cat"); err != nil {
		t.Skip("needs cat")
	}
	m, err := Start([]string{"sh", "-c", "echo logged >&2; exec cat"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	return m
}

func TestModuleExchangesPackagesOverSocketPairs(t *testing.T) {
	m := startCat(t)
	pkg, _ := Pack(7, TypeRes, "hi")
	// In pieces, several in one write: Read assembles each package.
	if err := m.SendRaw(pkg[:5]); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(50 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("half a header: got %v, want ErrTimeout", err)
	}
	if err := m.SendRaw(append(pkg[5:], pkg...)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := m.Read(time.Second)
		if value, _ := got.Value(); err != nil || got.Pid != 7 || got.Type != TypeRes || value != "hi" {
			t.Fatalf("got %v, %v", got, err)
		}
	}
	if err := m.SendRaw(Header(0, 1, TypeRes, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(time.Second); err == nil || !strings.Contains(err.Error(), "check byte") {
		t.Errorf("a wrong check byte: got %v", err)
	}
	if err := m.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(time.Second); !errors.Is(err, ErrStdoutClosed) {
		t.Errorf("after the end of input: got %v, want ErrStdoutClosed", err)
	}
	if status, err := m.Wait(time.Second); err != nil || status != 0 {
		t.Errorf("exit status %d, %v", status, err)
	}
	if m.Alive() || m.Stderr() != "logged\n" {
		t.Errorf("alive %v, log %q", m.Alive(), m.Stderr())
	}
	if err := m.Stop(); err != nil || m.Stderr() != "logged\n" {
		t.Errorf("Stop() = %v; log after it %q", err, m.Stderr())
	}
}

func TestModuleRequestPairsTheReplyWithItsPid(t *testing.T) {
	m := startCat(t)
	m.nextPid = 65535
	reply, err := m.Request(map[string]any{"a": int64(1)}, time.Second)
	if err != nil || reply.Pid != 65535 || reply.Type != TypeReq {
		t.Fatalf("got %v, %v", reply, err)
	}
	if pid := m.NewPid(); pid != 0 {
		t.Errorf("the pid after 65535 is %d, want 0", pid)
	}
	conf, err := m.Configure(map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": 1}}}}, time.Second)
	if value, _ := conf.Value(); err != nil || conf.Pid != 0 || Render(value) != `{"a": {"b": {"c": {}}}}` {
		t.Errorf("a configuration is sent %d things deep: got %v, %v", ConfDeep, conf, err)
	}
	if status, err := m.Wait(10 * time.Millisecond); err == nil {
		t.Errorf("a running module exited with %d", status)
	}
	if err := m.Stop(); err != nil {
		t.Error(err)
	}
	if status, _ := m.Wait(time.Second); status != -15 {
		t.Errorf("stopped by SIGTERM: status %d, want -15", status)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
