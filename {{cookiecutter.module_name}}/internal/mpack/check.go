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

// Check reports an error unless data holds exactly one well-formed
// MessagePack value whose arrays and maps nest at most limit levels deep.
//
// Why: decoders decode nested values by recursion, and a body of 16 MiB can
// nest 16 million levels deep; that outgrows the goroutine's stack limit,
// which is fatal to the whole process, not a recoverable panic. This walk
// keeps its own stack of counts instead, and skips strings and binaries
// without reading them.
func Check(data []byte, limit int) error {
	end, err := skip(data, 0, limit)
	if err != nil {
		return err
	}
	if end < len(data) {
		return fmt.Errorf("%d bytes after the MessagePack value", len(data)-end)
	}
	return nil
}

// skip walks the value at data[pos:] and returns where it ends.
func skip(data []byte, pos, limit int) (int, error) {
	open := []int{1} // per open container, the values still to read in it
	for len(open) > 0 {
		if open[len(open)-1] == 0 {
			open = open[:len(open)-1]
			continue
		}
		open[len(open)-1]--
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
		pos += size
		if items >= 0 {
			if len(open) > limit {
				return 0, fmt.Errorf("arrays and maps nest deeper than %d levels", limit)
			}
			open = append(open, items)
		}
	}
	return pos, nil
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
