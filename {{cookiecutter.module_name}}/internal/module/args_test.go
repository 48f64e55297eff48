package module

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	timod "github.com/thingsdb/go-timod"
	"github.com/vmihailenco/msgpack/v4"

	"{{ cookiecutter.go_module_path }}/internal/mpack"
)

// testConf is the configuration of the test functions.
type testConf struct{ Prefix string }

type addArgs struct {
	A int64 `msgpack:"a"`
	B int64 `msgpack:"b"`
}

type scaleArgs struct {
	X      float64 `msgpack:"x"`
	Factor int64   `msgpack:"factor,optional"`
}

func (scaleArgs) Defaults() scaleArgs { return scaleArgs{Factor: 2} }

type mixedArgs struct {
	T  map[string]any `msgpack:"t"`
	V  any            `msgpack:"v"`
	L  []any          `msgpack:"l,optional"`
	F  float64        `msgpack:"f,optional"`
	B  bool           `msgpack:"b,optional"`
	By []byte         `msgpack:"by,optional"`
	S  *string        `msgpack:"s,optional"`
	I  *int64         `msgpack:"i,optional"`
	X  any            `msgpack:"x,optional"`
}

// Defaults has a pointer receiver here: both kinds of method are found.
func (*mixedArgs) Defaults() mixedArgs { return mixedArgs{L: []any{int64(1)}, F: 0.5} }

type getArgs struct {
	URL     string         `msgpack:"url"`
	Options map[string]any `msgpack:"*"`
}

// echoArgs returns its arguments as the handler got them.
func echoArgs[A any](ctx context.Context, conf testConf, args A) (any, error) {
	return args, nil
}

// str packs a MessagePack str.
func str(s string) []byte {
	data, _ := msgpack.Marshal(s)
	return data
}

// body packs a request for function with the given encoded values.
func body(function string, pairs ...any) []byte {
	data := []byte{0xde, 0, byte(1 + len(pairs)/2)}
	data = append(data, str(functionKey)...)
	data = append(data, str(function)...)
	for i := 0; i < len(pairs); i += 2 {
		data = append(data, str(pairs[i].(string))...)
		switch v := pairs[i+1].(type) {
		case []byte:
			data = append(data, v...) // already encoded
		default:
			packed, err := msgpack.Marshal(v)
			if err != nil {
				panic(err)
			}
			data = append(data, packed...)
		}
	}
	return data
}

// callFunc decodes a request body for f and runs its handler.
func callFunc(t *testing.T, f Function[testConf], data []byte) (any, error) {
	t.Helper()
	if err := f.Err(); err != nil {
		t.Fatal(err)
	}
	if err := mpack.Check(data, mpack.MaxNesting); err != nil {
		t.Fatalf("a bad test request: %v", err)
	}
	entries, err := mpack.Map(data)
	if err != nil {
		t.Fatal(err)
	}
	call, err := f.bind(entries)
	if err != nil {
		return nil, err
	}
	return call(context.Background(), testConf{})
}

// wantErr checks err's code and exact message.
func wantErr(t *testing.T, err error, code timod.Ex, msg string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Code != code || e.Msg != msg {
		t.Errorf("got %v, want %q (%d)", err, msg, code)
	}
}

func TestIntArgumentTakesEveryWidth(t *testing.T) {
	add := Func("add", echoArgs[addArgs])
	for name, c := range map[string]struct {
		raw  []byte
		want int64
	}{
		"positive fixint": {[]byte{0x01}, 1},
		"negative fixint": {[]byte{0xe0}, -32},
		"uint8":           {[]byte{0xcc, 0xff}, 255},
		"uint16":          {[]byte{0xcd, 0x03, 0xe8}, 1000},
		"uint32":          {[]byte{0xce, 0x00, 0x01, 0x86, 0xa0}, 100000},
		"uint64":          {[]byte{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, math.MaxInt64},
		"int8":            {[]byte{0xd0, 0x9c}, -100},
		"int16":           {[]byte{0xd1, 0xfc, 0x18}, -1000},
		"int32":           {[]byte{0xd2, 0xff, 0xfe, 0x79, 0x60}, -100000},
		"int64":           {[]byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, math.MinInt64},
	} {
		got, err := callFunc(t, add, body("add", "a", c.raw, "b", []byte{0x00}))
		if err != nil || got != (addArgs{A: c.want}) {
			t.Errorf("%s: got %#v, %v; want a = %d", name, got, err, c.want)
		}
	}
	_, err := callFunc(t, add, body("add", "a", 1, "b", []byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}))
	wantErr(t, err, timod.ExOverflow, "function `add` expects argument `b` to fit in a 64-bit `int`")
}

func TestArgumentChecksAndMessages(t *testing.T) {
	add := Func("add", echoArgs[addArgs])
	mixed := Func("mixed", echoArgs[mixedArgs])
	cases := []struct {
		name string
		f    Function[testConf]
		body []byte
		code timod.Ex
		msg  string
	}{
		{"left out", add, body("add", "a", 1), timod.ExNumArguments,
			"function `add` requires argument `b` of type `int` but got type `nil` instead"},
		{"nil", add, body("add", "a", 1, "b", nil), timod.ExNumArguments,
			"function `add` requires argument `b` of type `int` but got type `nil` instead"},
		{"str for int", add, body("add", "a", 1, "b", "42"), timod.ExTypeError,
			"function `add` expects argument `b` to be of type `int` but got type `str` instead"},
		{"float for int", add, body("add", "a", 1.5, "b", 1), timod.ExTypeError,
			"function `add` expects argument `a` to be of type `int` but got type `float` instead"},
		{"bool for int", add, body("add", "a", true, "b", 1), timod.ExTypeError,
			"function `add` expects argument `a` to be of type `int` but got type `bool` instead"},
		{"the first problem wins", add, body("add", "b", "x"), timod.ExNumArguments,
			"function `add` requires argument `a` of type `int` but got type `nil` instead"},
		{"list for thing", mixed, body("mixed", "t", []any{1}, "v", 1), timod.ExTypeError,
			"function `mixed` expects argument `t` to be of type `thing` but got type `list` instead"},
		{"required any left out", mixed, body("mixed", "t", map[string]any{}), timod.ExNumArguments,
			"function `mixed` requires argument `v` of type `any` but got type `nil` instead"},
		{"nil where the default is not null", mixed, body("mixed", "t", map[string]any{}, "v", 1, "f", nil), timod.ExTypeError,
			"function `mixed` expects argument `f` to be of type `float` but got type `nil` instead"},
		{"str for list", mixed, body("mixed", "t", map[string]any{}, "v", 1, "l", "x"), timod.ExTypeError,
			"function `mixed` expects argument `l` to be of type `list` but got type `str` instead"},
		{"str for bytes", mixed, body("mixed", "t", map[string]any{}, "v", 1, "by", "x"), timod.ExTypeError,
			"function `mixed` expects argument `by` to be of type `bytes` but got type `str` instead"},
		{"bytes for str", mixed, body("mixed", "t", map[string]any{}, "v", 1, "s", []byte{0xc4, 1, 'x'}), timod.ExTypeError,
			"function `mixed` expects argument `s` to be of type `str` but got type `bytes` instead"},
		{"int for bool", mixed, body("mixed", "t", map[string]any{}, "v", 1, "b", 1), timod.ExTypeError,
			"function `mixed` expects argument `b` to be of type `bool` but got type `int` instead"},
		{"extension for str", mixed, body("mixed", "t", map[string]any{}, "v", 1, "s", []byte{0xd4, 1, 1}), timod.ExTypeError,
			"function `mixed` expects argument `s` to be of type `str` but got type `mpdata` instead"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := callFunc(t, c.f, c.body)
			wantErr(t, err, c.code, c.msg)
		})
	}
}

func TestDefaultsNilsAndConversions(t *testing.T) {
	mixed := Func("mixed", echoArgs[mixedArgs])
	got, err := callFunc(t, mixed, body("mixed", "t", map[string]any{"k": uint16(1000)}, "v", nil))
	want := mixedArgs{T: map[string]any{"k": int64(1000)}, L: []any{int64(1)}, F: 0.5}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: got %#v, %v; want %#v", got, err, want)
	}
	got, err = callFunc(t, mixed, body("mixed", "t", map[string]any{}, "v", "x",
		"by", nil, "s", nil, "i", nil, "x", nil, "f", uint8(3), "b", true))
	want = mixedArgs{T: map[string]any{}, V: "x", L: []any{int64(1)}, F: 3, B: true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("explicit nils: got %#v, %v; want %#v", got, err, want)
	}
	s, i := "s", int64(-7)
	got, err = callFunc(t, mixed, body("mixed", "t", map[string]any{}, "v", []any{int8(1)},
		"s", "s", "i", int8(-7), "by", []byte{0xc4, 1, 'b'}, "x", map[string]any{"n": uint32(5)}, "f", 2.5))
	want = mixedArgs{T: map[string]any{}, V: []any{int64(1)}, S: &s, I: &i, By: []byte("b"),
		X: map[string]any{"n": int64(5)}, L: []any{int64(1)}, F: 2.5}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("values: got %#v, %v; want %#v", got, err, want)
	}
	// Each request gets defaults of its own: a handler may change them.
	first, _ := callFunc(t, mixed, body("mixed", "t", map[string]any{}, "v", 1))
	first.(mixedArgs).L[0] = "changed"
	second, _ := callFunc(t, mixed, body("mixed", "t", map[string]any{}, "v", 1))
	if second.(mixedArgs).L[0] != int64(1) {
		t.Errorf("a default changed by an earlier request: %#v", second)
	}
	scale := Func("scale", echoArgs[scaleArgs])
	got, err = callFunc(t, scale, body("scale", "x", int64(3)))
	if err != nil || got != (scaleArgs{X: 3, Factor: 2}) {
		t.Errorf("scale: got %#v, %v", got, err)
	}
}

func TestOptionsGetTheOtherProperties(t *testing.T) {
	get := Func("get", echoArgs[getArgs])
	got, err := callFunc(t, get, body("get", "url", "u", "timeout", uint8(5), "headers", map[string]any{"a": "b"}))
	want := getArgs{URL: "u", Options: map[string]any{"timeout": int64(5), "headers": map[string]any{"a": "b"}}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, %v; want %#v", got, err, want)
	}
	got, err = callFunc(t, get, body("get", "url", "u"))
	if err != nil || got.(getArgs).Options == nil || len(got.(getArgs).Options) != 0 {
		t.Errorf("no options: got %#v, %v; want an empty map", got, err)
	}
	// Without "*", other properties are ignored.
	add := Func("add", echoArgs[addArgs])
	if got, err := callFunc(t, add, body("add", "a", 1, "b", 2, "c", 3)); err != nil || got != (addArgs{1, 2}) {
		t.Errorf("an extra property: got %#v, %v", got, err)
	}
}

func TestFuncRefusesStructsItCannotUse(t *testing.T) {
	type noTag struct{ A int64 }
	type intField struct {
		A int `msgpack:"a"`
	}
	type twice struct {
		A int64 `msgpack:"a"`
		B int64 `msgpack:"a"`
	}
	type badOption struct {
		A int64 `msgpack:"a,omitempty"`
	}
	type badStar struct {
		O map[string]string `msgpack:"*"`
	}
	type requiredAfterOptional struct {
		A int64 `msgpack:"a,optional"`
		B int64 `msgpack:"b"`
	}
	for want, f := range map[string]Function[testConf]{
		"msgpack tag":          Func("f", echoArgs[noTag]),
		"not an argument type": Func("f", echoArgs[intField]),
		"named twice":          Func("f", echoArgs[twice]),
		"unknown tag option":   Func("f", echoArgs[badOption]),
		"one map[string]any":   Func("f", echoArgs[badStar]),
		"follows an optional":  Func("f", echoArgs[requiredAfterOptional]),
		"must be a struct":     Func("f", echoArgs[int64]),
	} {
		if f.Err() == nil || !strings.Contains(f.Err().Error(), want) {
			t.Errorf("got %v, want an error saying %q", f.Err(), want)
		}
		if _, err := NewServer(nil, Spec[testConf]{Functions: []Function[testConf]{f}, ParseConfig: parseTestConf}); err == nil {
			t.Errorf("NewServer took a function with %q", want)
		}
	}
}

func TestArguments(t *testing.T) {
	got := Func("mixed", echoArgs[mixedArgs]).Arguments()
	names := []string{}
	for _, a := range got {
		names = append(names, a.Name+":"+a.Type)
	}
	if strings.Join(names, " ") != "t:thing v:any l:list f:float b:bool by:bytes s:str i:int x:any" {
		t.Errorf("got %v", names)
	}
	if !reflect.DeepEqual(got[2], Argument{Name: "l", Type: "list", Optional: true, Default: []any{int64(1)}}) ||
		got[6].Default != nil || !got[6].Optional || got[0].Optional {
		t.Errorf("got %#v", got)
	}
	if !Func("get", echoArgs[getArgs]).Options() || Func("add", echoArgs[addArgs]).Options() {
		t.Error("Options() is wrong")
	}
}
