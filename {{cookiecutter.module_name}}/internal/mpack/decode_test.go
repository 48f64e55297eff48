package mpack

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v4"
)

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestIntEveryWidth reads integers of every encoded width.
func TestIntEveryWidth(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want int64
	}{
		{"positive fixint", []byte{0x05}, 5},
		{"negative fixint", []byte{0xff}, -1},
		{"uint8", []byte{0xcc, 0xc8}, 200},
		{"uint16", []byte{0xcd, 0x03, 0xe8}, 1000},
		{"uint32", []byte{0xce, 0x00, 0x01, 0x86, 0xa0}, 100000},
		{"uint64", []byte{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, math.MaxInt64},
		{"int8", []byte{0xd0, 0x80}, -128},
		{"int16", []byte{0xd1, 0x80, 0x00}, math.MinInt16},
		{"int32", []byte{0xd2, 0x80, 0x00, 0x00, 0x00}, math.MinInt32},
		{"int64", []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, math.MinInt64},
		{"int8 positive", []byte{0xd0, 0x01}, 1},
	}
	for _, c := range cases {
		got, ok, overflow := Int(c.data)
		if !ok || overflow || got != c.want {
			t.Errorf("%s: got %d, %v, %v; want %d", c.name, got, ok, overflow, c.want)
		}
		if v, err := Decode(c.data); err != nil || v != c.want {
			t.Errorf("%s: Decode gives %#v, %v; want int64 %d", c.name, v, err, c.want)
		}
		if f, ok := Float(c.data); !ok || f != float64(c.want) {
			t.Errorf("%s: as a float %v, %v", c.name, f, ok)
		}
	}
	big := []byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}
	if _, ok, overflow := Int(big); !ok || !overflow {
		t.Errorf("uint64 2^63: ok %v, overflow %v; want an overflow", ok, overflow)
	}
	if v, err := Decode(big); err != nil || v != uint64(1<<63) {
		t.Errorf("uint64 2^63 decodes to %#v, %v; want a uint64", v, err)
	}
	if f, ok := Float(big); !ok || f != float64(1<<63) {
		t.Errorf("uint64 2^63 as a float: %v, %v", f, ok)
	}
	notInts := [][]byte{
		{0xc0}, {0xc3}, {0xca, 0, 0, 0, 0}, {0xa1, '1'}, {0xcd, 0x01},
	}
	for _, data := range notInts {
		if _, ok, _ := Int(data); ok {
			t.Errorf("% x read as an int", data)
		}
	}
}

func TestFloat(t *testing.T) {
	if f, ok := Float(mustMarshal(t, float32(1.5))); !ok || f != 1.5 {
		t.Errorf("float32: %v, %v", f, ok)
	}
	if f, ok := Float(mustMarshal(t, 0.1)); !ok || f != 0.1 {
		t.Errorf("float64: %v, %v", f, ok)
	}
	if _, ok := Float(mustMarshal(t, "1.5")); ok {
		t.Errorf("a str read as a float")
	}
}

func TestTypeName(t *testing.T) {
	for want, v := range map[string]any{
		"nil": nil, "bool": false, "int": uint16(1000), "float": float32(1), "str": "s",
		"bytes": []byte("b"), "list": []any{1}, "thing": map[string]any{},
	} {
		if got := TypeName(mustMarshal(t, v)); got != want {
			t.Errorf("%#v: got %s, want %s", v, got, want)
		}
	}
	if got := TypeName([]byte{0xd4, 1, 'a'}); got != "mpdata" {
		t.Errorf("an extension: got %s, want mpdata", got)
	}
}

// TestDecodeGivesOneTypePerKind checks the Go types of decoded values.
func TestDecodeGivesOneTypePerKind(t *testing.T) {
	value := map[string]any{
		"ints":   []any{int8(1), uint8(200), uint16(1000), uint32(100000), int64(-5), int16(-300)},
		"floats": []any{float32(1.5), 2.5},
		"str":    strings.Repeat("s", 70000),
		"bin":    []byte("b"),
		"nested": map[string]any{"list": []any{nil, true, "x"}},
		"empty":  map[string]any{},
	}
	got, err := Decode(mustMarshal(t, value))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ints":   []any{int64(1), int64(200), int64(1000), int64(100000), int64(-5), int64(-300)},
		"floats": []any{1.5, 2.5},
		"str":    strings.Repeat("s", 70000),
		"bin":    []byte("b"),
		"nested": map[string]any{"list": []any{nil, true, "x"}},
		"empty":  map[string]any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestDecodeKeepsExtensionsAndOtherKeys(t *testing.T) {
	ext := []byte{0xd4, 1, 'a'}
	got, err := Decode(append([]byte{0x91}, ext...))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := got.([]any)[0].(Raw)
	if !ok || !bytes.Equal(raw, ext) {
		t.Errorf("got %#v, want the extension as a Raw", got)
	}
	again, err := msgpack.Marshal(got)
	if err != nil || !bytes.Equal(again, append([]byte{0x91}, ext...)) {
		t.Errorf("packed again: % x, %v", again, err)
	}
	m, err := Decode(mustMarshal(t, map[any]any{"a": 1, int64(2): "b"}))
	if err != nil || !reflect.DeepEqual(m, map[any]any{"a": int64(1), int64(2): "b"}) {
		t.Errorf("int keys: got %#v, %v", m, err)
	}
}

func TestDecodeBytesAreCopies(t *testing.T) {
	data := mustMarshal(t, []byte("abc"))
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] = 'x'
	if !bytes.Equal(got.([]byte), []byte("abc")) {
		t.Errorf("the decoded bytes changed with the data: %q", got)
	}
}

func TestMap(t *testing.T) {
	data := mustMarshal(t, map[string]any{"function": "f", "value": []any{1, "x"}})
	entries, err := Map(data)
	if err != nil || len(entries) != 2 {
		t.Fatalf("got %v, %v", entries, err)
	}
	for _, e := range entries {
		v, err := Decode(e.Value)
		switch {
		case err != nil:
			t.Errorf("%s: %v", e.Key, err)
		case e.Key == "function" && v != "f":
			t.Errorf("function: %#v", v)
		case e.Key == "value" && !reflect.DeepEqual(v, []any{int64(1), "x"}):
			t.Errorf("value: %#v", v)
		}
	}
	for _, v := range []any{[]any{1}, "text", nil, map[int]any{1: "x"}} {
		if _, err := Map(mustMarshal(t, v)); err != ErrNotMap {
			t.Errorf("%#v: got %v, want ErrNotMap", v, err)
		}
	}
}
