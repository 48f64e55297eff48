package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"unicode/utf8"
)

// Ext is a MessagePack extension value.
type Ext struct {
	Type int8
	Data []byte
}

// maxDepth bounds the recursion of Marshal and Unmarshal: a value that
// contains itself would otherwise never end. Modules refuse far less (1024).
const maxDepth = 10000

var errTooDeep = fmt.Errorf("nested deeper than %d levels", maxDepth)

// Marshal packs v as MessagePack the way ThingsDB packs values: integers in
// their smallest form (non-negative ones unsigned), floats as float 64,
// strings as str (they must be valid UTF-8), []byte as bin, the keys of a
// map in sorted order. Besides the canonical values it takes the other Go
// integer and float types, slices, arrays, maps with string keys and
// pointers.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch v := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if v {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int64:
		return appendInt(b, v), nil
	case uint64:
		return appendUint(b, v), nil
	case int:
		return appendInt(b, int64(v)), nil
	case float64:
		return appendFloat(b, v), nil
	case string:
		return appendString(b, v)
	case []byte:
		return appendBytes(b, v)
	case []any:
		b = appendLength(b, 0x90, 0xdc, len(v))
		var err error
		for _, item := range v {
			if b, err = appendValue(b, item, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		return appendMap(b, keys, func(key string) any { return v[key] }, depth)
	case Ext:
		return appendExt(b, v)
	case orderedMap:
		b = appendLength(b, 0x80, 0xde, len(v))
		var err error
		for _, entry := range v {
			if b, err = appendValue(b, entry.key, depth+1); err != nil {
				return nil, err
			}
			if b, err = appendValue(b, entry.value, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return appendReflected(b, reflect.ValueOf(v), depth)
}

// appendReflected packs the types that are not canonical values.
func appendReflected(b []byte, v reflect.Value, depth int) ([]byte, error) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(b, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(b, v.Float()), nil
	case reflect.Bool:
		return appendValue(b, v.Bool(), depth)
	case reflect.String:
		return appendString(b, v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(b, 0xc0), nil
		}
		return appendValue(b, v.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return append(b, 0xc0), nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			data := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(data), v)
			return appendBytes(b, data)
		}
		b = appendLength(b, 0x90, 0xdc, v.Len())
		var err error
		for i := range v.Len() {
			if b, err = appendValue(b, v.Index(i).Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("cannot pack %s: the keys of a thing are strings", v.Type())
		}
		if v.IsNil() {
			return append(b, 0xc0), nil
		}
		keys := make([]string, 0, v.Len())
		for _, key := range v.MapKeys() {
			keys = append(keys, key.String())
		}
		sort.Strings(keys)
		return appendMap(b, keys, func(key string) any {
			return v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key())).Interface()
		}, depth)
	}
	return nil, fmt.Errorf("cannot pack a value of type %T", v.Interface())
}

func appendMap(b []byte, keys []string, value func(string) any, depth int) ([]byte, error) {
	b = appendLength(b, 0x80, 0xde, len(keys))
	var err error
	for _, key := range keys {
		if b, err = appendString(b, key); err != nil {
			return nil, err
		}
		if b, err = appendValue(b, value(key), depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, 0xd0, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xcc, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), n)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("the string %s is not valid UTF-8 (send bytes as []byte)", pyRepr(s))
	}
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	case uint64(n) <= math.MaxUint32:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	default:
		return nil, errors.New("a string of 4 GiB or more")
	}
	return append(b, s...), nil
}

func appendBytes(b []byte, data []byte) ([]byte, error) {
	n := len(data)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	case uint64(n) <= math.MaxUint32:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	default:
		return nil, errors.New("bytes of 4 GiB or more")
	}
	return append(b, data...), nil
}

// appendLength writes the head of an array or a map of n items: fix is its
// fixarray / fixmap code, wide its 16-bit code (the 32-bit one follows it).
func appendLength(b []byte, fix, wide byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, wide), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, wide+1), uint32(n))
}

func appendExt(b []byte, e Ext) ([]byte, error) {
	n := len(e.Data)
	switch {
	case n == 1:
		b = append(b, 0xd4)
	case n == 2:
		b = append(b, 0xd5)
	case n == 4:
		b = append(b, 0xd6)
	case n == 8:
		b = append(b, 0xd7)
	case n == 16:
		b = append(b, 0xd8)
	case n <= math.MaxUint8:
		b = append(b, 0xc7, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc8), uint16(n))
	case uint64(n) <= math.MaxUint32:
		b = binary.BigEndian.AppendUint32(append(b, 0xc9), uint32(n))
	default:
		return nil, errors.New("an extension of 4 GiB or more")
	}
	return append(append(b, byte(e.Type)), e.Data...), nil
}

// orderedMap is a map as it came, keys in order and of any type: what
// Package.Render shows.
type orderedMap []mapEntry

type mapEntry struct{ key, value any }

// Unmarshal decodes the one MessagePack value data holds into canonical
// values. A map key must be a str.
func Unmarshal(data []byte) (any, error) {
	return unmarshal(data, false)
}

func unmarshal(data []byte, ordered bool) (any, error) {
	d := decoder{data: data, ordered: ordered}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("%d bytes after the MessagePack value", len(data)-d.pos)
	}
	return v, nil
}

var errCutShort = errors.New("the MessagePack value is cut short")

type decoder struct {
	data    []byte
	pos     int
	ordered bool // maps as orderedMap, with keys of any type
}

// take returns the next n bytes.
func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, errCutShort
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// uint reads a big-endian unsigned integer of size bytes.
func (d *decoder) uint(size int) (uint64, error) {
	b, err := d.take(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n, nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	head, err := d.take(1)
	if err != nil {
		return nil, err
	}
	c := head[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c <= 0x8f:
		return d.mapOf(int(c&0x0f), depth)
	case c <= 0x9f:
		return d.listOf(int(c&0x0f), depth)
	case c <= 0xbf:
		return d.str(int(c & 0x1f))
	case c >= 0xe0:
		return int64(int8(c)), nil
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.uint(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		b, err := d.take(int(n))
		return append([]byte{}, b...), err
	case 0xc7, 0xc8, 0xc9:
		n, err := d.uint(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return d.ext(int(n))
	case 0xca:
		n, err := d.uint(4)
		return float64(math.Float32frombits(uint32(n))), err
	case 0xcb:
		n, err := d.uint(8)
		return math.Float64frombits(n), err
	case 0xcc, 0xcd, 0xce, 0xcf:
		n, err := d.uint(1 << (c - 0xcc))
		if n > math.MaxInt64 {
			return n, err
		}
		return int64(n), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		n, err := d.uint(size)
		shift := 64 - 8*size
		return int64(n<<shift) >> shift, err // sign-extended
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return d.ext(1 << (c - 0xd4))
	case 0xd9, 0xda, 0xdb:
		n, err := d.uint(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return d.str(int(n))
	case 0xdc, 0xdd:
		n, err := d.uint(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return d.listOf(int(n), depth)
	case 0xde, 0xdf:
		n, err := d.uint(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return d.mapOf(int(n), depth)
	}
	return nil, fmt.Errorf("0x%02x is no MessagePack type", c)
}

func (d *decoder) str(n int) (any, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("a str that is not valid UTF-8: %s", pyBytesRepr(b))
	}
	return string(b), nil
}

func (d *decoder) ext(n int) (any, error) {
	b, err := d.take(1 + n)
	if err != nil {
		return nil, err
	}
	return Ext{Type: int8(b[0]), Data: append([]byte{}, b[1:]...)}, nil
}

func (d *decoder) listOf(n, depth int) (any, error) {
	if n > len(d.data)-d.pos { // every item takes a byte at least
		return nil, errCutShort
	}
	list := make([]any, n)
	for i := range list {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list[i] = v
	}
	return list, nil
}

func (d *decoder) mapOf(n, depth int) (any, error) {
	if n > (len(d.data)-d.pos)/2 {
		return nil, errCutShort
	}
	if d.ordered {
		m := make(orderedMap, n)
		for i := range m {
			key, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			value, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[i] = mapEntry{key, value}
		}
		return m, nil
	}
	m := make(map[string]any, n)
	for range n {
		key, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		s, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("a map key that is not a str: %s", Render(key))
		}
		if m[s], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return m, nil
}
