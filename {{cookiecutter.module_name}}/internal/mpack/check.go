// Package mpack reads the MessagePack values of package bodies: it checks a
// body whole without decoding it, lists the keys of a map with their values
// still encoded, and decodes a value to the Go types a module works with.
//
// It decodes every integer to an int64 (a uint64 only above the int64 range),
// every float to a float64, a str to a string, a bin to a []byte, an array to
// a []any and a map to a map[string]any, whatever width the sender chose.
package mpack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxNesting is how deep arrays and maps may nest in a package body; the
// limit of the C MessagePack decoder that py-timod modules use.
const MaxNesting = {{ max_nesting }}

// ErrCutShort reports data that ends inside a value.
var ErrCutShort = errors.New("the MessagePack value is cut short")

// ErrKeyNotStr reports a map with a key that is not a str, at any depth.
// ThingsDB's things have str keys only: it answers a value with another key
// with type_err, and never sends one.
var ErrKeyNotStr = errors.New("a map key is not a str")

// Check reports an error unless data holds exactly one well-formed
// MessagePack value whose arrays and maps nest at most limit levels deep.
// A timestamp (extension -1) must be one the MessagePack spec defines: of 4,
// 8 or 12 bytes, with at most 999999999 nanoseconds.
//
// Why: decoders decode nested values by recursion, and a body of 16 MiB can
// nest 16 million levels deep; that outgrows the goroutine's stack limit,
// which is fatal to the whole process, not a recoverable panic. This walk
// keeps its own stack of counts instead, and skips strings and binaries
// without reading them.
func Check(data []byte, limit int) error {
	return check(data, limit, false)
}

// CheckStrKeys is Check for a value ThingsDB sends (a request or a
// configuration): it also reports ErrKeyNotStr for a map key that is not a
// str, once the whole value is found well formed otherwise.
func CheckStrKeys(data []byte, limit int) error {
	return check(data, limit, true)
}

func check(data []byte, limit int, strKeys bool) error {
	end, err := skip(data, 0, limit, strKeys)
	if err != nil {
		return err
	}
	if end < len(data) {
		return fmt.Errorf("%d bytes after the MessagePack value", len(data)-end)
	}
	return nil
}

// skip walks the value at data[pos:] and returns where it ends. With
// strKeys, a map key that is not a str is ErrKeyNotStr, reported when the
// walk is done: any other fault found after it comes first.
func skip(data []byte, pos, limit int, strKeys bool) (int, error) {
	// Per open container, the values still to read in it; negative for a
	// map, where an even count left means the next value is a key.
	open := []int{1}
	badKey := false
	for len(open) > 0 {
		left := &open[len(open)-1]
		if *left == 0 {
			open = open[:len(open)-1]
			continue
		}
		isKey := *left < 0 && *left%2 == 0
		if *left < 0 {
			*left++
		} else {
			*left--
		}
		if pos >= len(data) {
			return 0, ErrCutShort
		}
		size, items, err := valueHead(data[pos:])
		if err != nil {
			return 0, err
		}
		if size > len(data)-pos {
			return 0, ErrCutShort
		}
		if c := data[pos]; c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8 { // an extension
			if err := checkTimestamp(data[pos : pos+size]); err != nil {
				return 0, err
			}
		}
		if isKey && strKeys && TypeName(data[pos:]) != "str" {
			badKey = true
		}
		pos += size
		if items >= 0 {
			if len(open) > limit {
				return 0, fmt.Errorf("arrays and maps nest deeper than %d levels", limit)
			}
			if isMap(data[pos-size]) {
				items = -items // counts up to 0 instead
			}
			open = append(open, items)
		}
	}
	if badKey {
		return 0, ErrKeyNotStr
	}
	return pos, nil
}

// checkTimestamp reports a timestamp the MessagePack spec does not define,
// in b, the whole encoded extension; other extensions pass. Decoders
// that read timestamps (the Python flavour's among them) refuse such a one.
func checkTimestamp(b []byte) error {
	var payload []byte
	if c := b[0]; c >= 0xd4 { // fixext: the type, then the data
		payload = b[1:]
	} else { // ext 8, 16, 32: a length of 1, 2 or 4 bytes first
		payload = b[1+1<<(c-0xc7):]
	}
	if int8(payload[0]) != -1 { // the type
		return nil
	}
	payload = payload[1:]
	var nanoseconds uint64
	switch len(payload) {
	case 4:
	case 8:
		nanoseconds = binary.BigEndian.Uint64(payload) >> 34
	case 12:
		nanoseconds = uint64(binary.BigEndian.Uint32(payload))
	default:
		return fmt.Errorf("a timestamp of %d bytes, not 4, 8 or 12", len(payload))
	}
	if nanoseconds > 999999999 {
		return fmt.Errorf("a timestamp of %d nanoseconds, more than 999999999", nanoseconds)
	}
	return nil
}

// valueHead decodes the start of the MessagePack value at the start of b:
// how many bytes to skip to the next value (for an array or map, only its
// head), and for an array or map the number of values inside it (-1 for
// anything else). It fails when b is cut short or starts with the
// never-used byte 0xc1.
func valueHead(b []byte) (size, items int, err error) {
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return 1, -1, nil
	case c <= 0x8f: // fixmap
		return 1, 2 * int(c&0x0f), nil
	case c <= 0x9f: // fixarray
		return 1, int(c & 0x0f), nil
	case c <= 0xbf: // fixstr
		return 1 + int(c&0x1f), -1, nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1, -1, nil
	case 0xcc, 0xd0: // uint 8, int 8
		return 2, -1, nil
	case 0xcd, 0xd1: // uint 16, int 16
		return 3, -1, nil
	case 0xca, 0xce, 0xd2: // float 32, uint 32, int 32
		return 5, -1, nil
	case 0xcb, 0xcf, 0xd3: // float 64, uint 64, int 64
		return 9, -1, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return 2 + 1<<(c-0xd4), -1, nil
	}
	// The rest carry a big-endian length of 1, 2 or 4 bytes after the type byte.
	var width, extra int
	switch c {
	case 0xc4, 0xd9: // bin 8, str 8
		width = 1
	case 0xc5, 0xda: // bin 16, str 16
		width = 2
	case 0xc6, 0xdb: // bin 32, str 32
		width = 4
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32: the length, then a type byte
		width, extra = 1<<(c-0xc7), 1
	case 0xdc, 0xde: // array 16, map 16
		width = 2
	case 0xdd, 0xdf: // array 32, map 32
		width = 4
	default: // 0xc1
		return 0, 0, errors.New("byte 0xc1 is never used in MessagePack")
	}
	if len(b) < 1+width {
		return 0, 0, ErrCutShort
	}
	n := length(b[1:], width)
	switch c {
	case 0xdc, 0xdd:
		return 1 + width, n, nil
	case 0xde, 0xdf:
		return 1 + width, 2 * n, nil
	}
	return 1 + width + extra + n, -1, nil
}

// length reads a big-endian length of width 1, 2 or 4 bytes. On 32-bit
// platforms a length of 2 GiB or more becomes negative or wraps; callers
// compare it with what is left of their data, which is always less.
func length(b []byte, width int) int {
	switch width {
	case 1:
		return int(b[0])
	case 2:
		return int(binary.BigEndian.Uint16(b))
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(^uint(0)>>1)/2 {
		return int(^uint(0) >> 2) // larger than any body: cut short
	}
	return int(n)
}
