package mpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Raw is an encoded value Decode leaves as it is: an extension. It packs
// back as it came (it is a msgpack.Marshaler).
type Raw []byte

// MarshalMsgpack returns r itself.
func (r Raw) MarshalMsgpack() ([]byte, error) { return r, nil }

// Entry is one key of a map, with its value still encoded.
type Entry struct {
	Key   string
	Value []byte // exactly one encoded value, a slice of the map's data
}

// ErrNotMap reports a value that is not a map with str keys.
var ErrNotMap = errors.New("not a map with str keys")

// Map returns the entries of the map in data, which Check has accepted, in
// the order they were sent. It returns ErrNotMap for any other value, and for
// a map with a key that is not a str. The entries' values are slices of data.
func Map(data []byte) ([]Entry, error) {
	if len(data) == 0 {
		return nil, ErrCutShort
	}
	size, items, err := valueHead(data)
	if err != nil {
		return nil, err
	}
	if items < 0 || !isMap(data[0]) {
		return nil, ErrNotMap
	}
	n := items / 2
	entries := make([]Entry, 0, min(n, len(data)/2))
	pos := size
	for range n {
		key, next, ok := str(data, pos)
		if !ok {
			return nil, ErrNotMap
		}
		end, err := skip(data, next, MaxNesting, false)
		if err != nil {
			return nil, err
		}
		entries = append(entries, Entry{Key: key, Value: data[next:end:end]})
		pos = end
	}
	return entries, nil
}

func isMap(c byte) bool {
	return c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf
}

// str reads a str at data[pos:]: its text, where the next value starts, and
// whether there is a str there at all.
func str(data []byte, pos int) (string, int, bool) {
	b, next, ok := strBytes(data, pos)
	return string(b), next, ok
}

// strBytes is str without the copy: the text is a slice of data.
func strBytes(data []byte, pos int) ([]byte, int, bool) {
	if pos >= len(data) {
		return nil, 0, false
	}
	var head, size int
	switch c := data[pos]; {
	case c >= 0xa0 && c <= 0xbf: // fixstr
		head, size = 1, int(c&0x1f)
	case c >= 0xd9 && c <= 0xdb: // str 8, 16, 32
		width := 1 << (c - 0xd9)
		if len(data)-pos < 1+width {
			return nil, 0, false
		}
		head, size = 1+width, length(data[pos+1:], width)
	default:
		return nil, 0, false
	}
	start := pos + head
	if size > len(data)-start {
		return nil, 0, false
	}
	return data[start : start+size], start + size, true
}

// binBytes reads a bin at data[pos:] like strBytes reads a str.
func binBytes(data []byte, pos int) ([]byte, int, bool) {
	if pos >= len(data) || data[pos] < 0xc4 || data[pos] > 0xc6 {
		return nil, 0, false
	}
	width := 1 << (data[pos] - 0xc4)
	if len(data)-pos < 1+width {
		return nil, 0, false
	}
	start, size := pos+1+width, length(data[pos+1:], width)
	if size > len(data)-start {
		return nil, 0, false
	}
	return data[start : start+size], start + size, true
}

// TypeName names the type of the encoded value in data the way ThingsDB does
// in its error messages: nil, bool, int, float, str, bytes, list, thing, or
// mpdata for an extension (and for data that is no value at all).
func TypeName(data []byte) string {
	if len(data) == 0 {
		return "mpdata"
	}
	switch c := data[0]; {
	case c <= 0x7f || c >= 0xe0 || c >= 0xcc && c <= 0xcf || c >= 0xd0 && c <= 0xd3:
		return "int"
	case c <= 0x8f || c == 0xde || c == 0xdf:
		return "thing"
	case c <= 0x9f || c == 0xdc || c == 0xdd:
		return "list"
	case c <= 0xbf || c >= 0xd9 && c <= 0xdb:
		return "str"
	case c == 0xc0:
		return "nil"
	case c == 0xc2 || c == 0xc3:
		return "bool"
	case c == 0xca || c == 0xcb:
		return "float"
	case c >= 0xc4 && c <= 0xc6:
		return "bytes"
	}
	return "mpdata"
}

// IsNil reports whether data holds nil.
func IsNil(data []byte) bool {
	return len(data) > 0 && data[0] == 0xc0
}

// Int reads the integer in data, whatever its encoded width. ok is false when
// data holds no integer; overflow is true for a uint64 above math.MaxInt64.
func Int(data []byte) (v int64, ok, overflow bool) {
	if len(data) == 0 {
		return 0, false, false
	}
	c := data[0]
	if c <= 0x7f || c >= 0xe0 {
		return int64(int8(c)), true, false
	}
	width := 0
	switch c {
	case 0xcc, 0xd0:
		width = 1
	case 0xcd, 0xd1:
		width = 2
	case 0xce, 0xd2:
		width = 4
	case 0xcf, 0xd3:
		width = 8
	default:
		return 0, false, false
	}
	if len(data) < 1+width {
		return 0, false, false
	}
	b := data[1 : 1+width]
	signed := c >= 0xd0
	switch {
	case width == 1 && signed:
		return int64(int8(b[0])), true, false
	case width == 1:
		return int64(b[0]), true, false
	case width == 2 && signed:
		return int64(int16(binary.BigEndian.Uint16(b))), true, false
	case width == 2:
		return int64(binary.BigEndian.Uint16(b)), true, false
	case width == 4 && signed:
		return int64(int32(binary.BigEndian.Uint32(b))), true, false
	case width == 4:
		return int64(binary.BigEndian.Uint32(b)), true, false
	case signed:
		return int64(binary.BigEndian.Uint64(b)), true, false
	}
	u := binary.BigEndian.Uint64(b)
	if u > math.MaxInt64 {
		return 0, true, true
	}
	return int64(u), true, false
}

// Float reads the number in data as a float64: a float, or an integer
// converted. ok is false when data holds no number.
func Float(data []byte) (float64, bool) {
	if len(data) == 0 {
		return 0, false
	}
	switch data[0] {
	case 0xca:
		if len(data) < 5 {
			return 0, false
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(data[1:]))), true
	case 0xcb:
		if len(data) < 9 {
			return 0, false
		}
		return math.Float64frombits(binary.BigEndian.Uint64(data[1:])), true
	case 0xcf:
		if len(data) < 9 {
			return 0, false
		}
		return float64(binary.BigEndian.Uint64(data[1:])), true
	}
	v, ok, _ := Int(data)
	return float64(v), ok
}

// String reads the str in data; ok is false when data holds no str.
func String(data []byte) (string, bool) {
	s, _, ok := str(data, 0)
	return s, ok
}

// Bytes reads the bin in data into a new slice; ok is false when data holds
// no bin.
func Bytes(data []byte) ([]byte, bool) {
	b, _, ok := binBytes(data, 0)
	if !ok {
		return nil, false
	}
	return append(make([]byte, 0, len(b)), b...), true
}

// Bool reads the bool in data; ok is false when data holds no bool.
func Bool(data []byte) (v, ok bool) {
	if len(data) == 0 || data[0] != 0xc2 && data[0] != 0xc3 {
		return false, false
	}
	return data[0] == 0xc3, true
}

// Decode decodes the one value data holds (see the package comment for the
// Go types). It checks data first, as Check does with MaxNesting. An
// extension value becomes a Raw holding its encoding; a map with a key that is not a str becomes a
// map[any]any, a bin key a string.
func Decode(data []byte) (any, error) {
	if err := Check(data, MaxNesting); err != nil {
		return nil, err
	}
	v, _, err := decode(data, 0)
	return v, err
}

// decode decodes the checked value at data[pos:] and returns where it ends.
// Its recursion is bounded by the nesting Check allowed.
func decode(data []byte, pos int) (any, int, error) {
	if pos >= len(data) {
		return nil, 0, ErrCutShort
	}
	size, items, err := valueHead(data[pos:])
	if err != nil {
		return nil, 0, err
	}
	c := data[pos]
	switch TypeName(data[pos:]) {
	case "nil":
		return nil, pos + 1, nil
	case "bool":
		return c == 0xc3, pos + 1, nil
	case "int":
		v, _, overflow := Int(data[pos:])
		if overflow {
			return binary.BigEndian.Uint64(data[pos+1:]), pos + size, nil
		}
		return v, pos + size, nil
	case "float":
		v, _ := Float(data[pos:])
		return v, pos + size, nil
	case "str":
		s, next, ok := str(data, pos)
		if !ok {
			return nil, 0, ErrCutShort
		}
		return s, next, nil
	case "bytes":
		b, next, ok := binBytes(data, pos)
		if !ok {
			return nil, 0, ErrCutShort
		}
		return append(make([]byte, 0, len(b)), b...), next, nil
	case "list":
		list := make([]any, 0, min(items, len(data)-pos))
		pos += size
		for range items {
			var v any
			if v, pos, err = decode(data, pos); err != nil {
				return nil, 0, err
			}
			list = append(list, v)
		}
		return list, pos, nil
	case "thing":
		return decodeMap(data, pos+size, items/2)
	}
	end := pos + size
	if end > len(data) {
		return nil, 0, ErrCutShort
	}
	return Raw(append([]byte(nil), data[pos:end]...)), end, nil
}

// decodeMap decodes the n key-value pairs of a map starting at data[pos:].
func decodeMap(data []byte, pos, n int) (any, int, error) {
	m := make(map[string]any, min(n, len(data)-pos))
	for i := range n {
		key, next, ok := str(data, pos)
		if !ok {
			return decodeAnyKeyMap(data, pos, n-i, m)
		}
		v, end, err := decode(data, next)
		if err != nil {
			return nil, 0, err
		}
		m[key] = v
		pos = end
	}
	return m, pos, nil
}

// decodeAnyKeyMap goes on decoding a map at a key that is not a str, into a
// map[any]any that starts with the pairs decoded so far.
func decodeAnyKeyMap(data []byte, pos, n int, done map[string]any) (any, int, error) {
	m := make(map[any]any, len(done)+n)
	for k, v := range done {
		m[k] = v
	}
	for range n {
		key, next, err := decode(data, pos)
		if err != nil {
			return nil, 0, err
		}
		switch k := key.(type) {
		case []byte:
			key = string(k)
		case Raw:
			key = string(k)
		case []any, map[string]any, map[any]any:
			return nil, 0, fmt.Errorf("a map key that is a %s", TypeName(data[pos:]))
		}
		v, end, err := decode(data, next)
		if err != nil {
			return nil, 0, err
		}
		m[key] = v
		pos = end
	}
	return m, pos, nil
}
