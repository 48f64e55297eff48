package mpack

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v4"
)

// nestedIn wraps leaf in depth arrays of two values, leaf coming first: the
// walk must skip leaf whole to find the next level, so a wrong size for
// leaf's type shows as a wrong depth.
func nestedIn(depth int, leaf any) any {
	var value any = leaf
	for range depth {
		value = []any{leaf, value}
	}
	return value
}

func TestCheckSkipsEveryTypeWhole(t *testing.T) {
	leaves := map[string]any{
		"nil": nil, "bool": true, "fixint": 7, "negative fixint": -7,
		"int8": -100, "int16": -1000, "int32": -100000, "int64": int64(math.MinInt64),
		"uint8": uint8(200), "uint16": uint16(60000), "uint32": uint32(4000000000),
		"uint64": uint64(math.MaxUint64), "float32": float32(1.5), "float64": 2.5,
		"fixstr": "abc", "str8": strings.Repeat("s", 200), "str16": strings.Repeat("s", 1000),
		"str32": strings.Repeat("s", 70000), "bin8": []byte("abc"),
		"bin16": bytes.Repeat([]byte("b"), 1000), "bin32": bytes.Repeat([]byte("b"), 70000),
		"fixmap": map[string]any{"k": "v"}, "map16": manyKeys(20),
		"array16": make([]any, 20),
	}
	for name, leaf := range leaves {
		data, err := msgpack.Marshal(nestedIn(10, leaf))
		if err != nil {
			t.Fatal(err)
		}
		// A leaf that is itself a map or an array adds a level of its own.
		depth := 10
		switch leaf.(type) {
		case map[string]any, []any:
			depth = 11
		}
		if err := Check(data, depth); err != nil {
			t.Errorf("%s: %v at the limit", name, err)
		}
		if err := Check(data, depth-1); err == nil || !strings.Contains(err.Error(), "nest deeper") {
			t.Errorf("%s: nesting one deeper than the limit: got %v", name, err)
		}
	}
}

func TestCheckSkipsExtensionsWhole(t *testing.T) {
	exts := map[string][]byte{
		"fixext1":  {0xd4, 1, 'a'},
		"fixext16": append([]byte{0xd8, 1}, bytes.Repeat([]byte("e"), 16)...),
		"ext8":     {0xc7, 3, 1, 'a', 'b', 'c'},
		"ext16":    append([]byte{0xc8, 0x01, 0x00, 1}, bytes.Repeat([]byte("e"), 256)...),
		"ext32":    append([]byte{0xc9, 0, 0, 0x01, 0x00, 1}, bytes.Repeat([]byte("e"), 256)...),
	}
	for name, ext := range exts {
		// [ext, [ext, nil]]: two levels, found only if each ext is skipped whole.
		data := append([]byte{0x92}, ext...)
		data = append(data, 0x92)
		data = append(data, ext...)
		data = append(data, 0xc0)
		if err := Check(data, 2); err != nil {
			t.Errorf("%s: %v at the limit", name, err)
		}
		if err := Check(data, 1); err == nil {
			t.Errorf("%s: nesting one deeper than the limit was not reported", name)
		}
	}
}

func TestCheckRefusesNestingThatWouldOverflowTheStack(t *testing.T) {
	// 16 million levels: decoding this by recursion ended the process.
	data := append(bytes.Repeat([]byte{0x91}, 16<<20), 0xc0)
	if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "nest deeper") {
		t.Fatalf("got %v, want a nesting error", err)
	}
	limit := append(bytes.Repeat([]byte{0x91}, MaxNesting), 0xc0)
	if _, err := Decode(limit); err != nil {
		t.Fatalf("%d levels: %v", MaxNesting, err)
	}
}

func TestCheckRefusesMalformedData(t *testing.T) {
	for _, data := range [][]byte{
		nil, {0xc1}, {0x92, 0xc0}, {0xdc, 0x00}, {0xdd, 0xff, 0xff, 0xff, 0xff},
		{0xdb, 0xff, 0xff, 0xff, 0xff}, {0xc9, 0x00}, {0xa3, 'a', 'b'}, {0xc0, 0xc0},
		{0x91, 0x01, 0x02}, {0xcb, 0, 0}, {0x81, 0xa1, 'k'},
	} {
		if err := Check(data, 4); err == nil {
			t.Errorf("% x: no error", data)
		}
		if _, err := Decode(data); err == nil {
			t.Errorf("% x: decoded", data)
		}
	}
}

func TestCheckStrKeysRefusesAKeyThatIsNotAStrAtAnyDepth(t *testing.T) {
	for _, data := range [][]byte{
		{0x81, 0x01, 0x02},                             // {1: 2}
		{0x81, 0xc4, 0x01, 'k', 0x01},                  // {b"k": 1}
		{0x91, 0x81, 0xc0, 0x01},                       // [{nil: 1}]
		{0x82, 0xa1, 'a', 0x01, 0x91, 0x02, 3},         // {"a": 1, [2]: 3}
		{0x81, 0xa1, 'a', 0x81, 0x81, 0xa1, 'b', 1, 2}, // a map keyed by a map, in a map
	} {
		if err := CheckStrKeys(data, 4); !errors.Is(err, ErrKeyNotStr) {
			t.Errorf("% x: got %v, want ErrKeyNotStr", data, err)
		}
		if err := Check(data, 4); err != nil {
			t.Errorf("% x: Check: %v", data, err)
		}
	}
	// A fault of the data comes first, wherever it is.
	if err := CheckStrKeys([]byte{0x82, 0x01, 0x02, 0xa1, 'b', 0xc1}, 4); err == nil || errors.Is(err, ErrKeyNotStr) {
		t.Errorf("a key that is not a str before a byte 0xc1: got %v", err)
	}
	for _, data := range [][]byte{
		{0x80}, {0x82, 0xa1, 'a', 0x81, 0xd9, 1, 'b', 0x90, 0xa0, 0x01}, {0x92, 0x01, 0x02},
	} {
		if err := CheckStrKeys(data, 4); err != nil {
			t.Errorf("% x: %v", data, err)
		}
	}
}

func TestCheckRefusesATimestampTheSpecDoesNotDefine(t *testing.T) {
	for _, data := range [][]byte{
		{0xd5, 0xff, 0, 1},                            // 2 bytes
		{0xc7, 0x02, 0xff, 0, 1},                      // 2 bytes, in an ext 8
		{0xc7, 0x00, 0xff},                            // none
		{0xd7, 0xff, 0xee, 0x6b, 0x28, 0, 0, 0, 0, 0}, // 8 bytes: 1e9 nanoseconds
		append([]byte{0xc7, 0x0c, 0xff, 0x3b, 0x9a, 0xca, 0x00}, make([]byte, 8)...), // 12: 1e9
	} {
		if err := Check(data, 4); err == nil || !strings.Contains(err.Error(), "timestamp") {
			t.Errorf("% x: got %v, want a timestamp error", data, err)
		}
	}
	for _, data := range [][]byte{
		{0xd6, 0xff, 0, 0, 0, 1},
		{0xd7, 0xff, 0xee, 0x6b, 0x27, 0xfc, 0, 0, 0, 0}, // 999999999 nanoseconds
		append([]byte{0xc7, 0x0c, 0xff, 0x3b, 0x9a, 0xc9, 0xff}, make([]byte, 8)...),
		{0xd5, 0x05, 0, 1}, // another extension of 2 bytes
	} {
		if err := Check(data, 4); err != nil {
			t.Errorf("% x: %v", data, err)
		}
	}
}

func manyKeys(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[strings.Repeat("k", i+1)] = i
	}
	return m
}
