package main

import (
	"encoding/binary"
	"fmt"
)

// maxNesting is how deep arrays and maps may nest in a package body; the
// limit of the C MessagePack decoder that py-timod modules use.
const maxNesting = {{ max_nesting }}

// checkNesting reports an error when the MessagePack value in data nests
// arrays and maps deeper than limit.
//
// Why: the msgpack library decodes nested values by recursion, and a body of
// 16 MiB can nest 16 million levels deep; that outgrows the goroutine's stack
// limit, which is fatal to the whole process, not a recoverable panic. This
// walk keeps its own stack of counts instead. It stops without an error at
// anything malformed or cut short, which the decoder then reports.
func checkNesting(data []byte, limit int) error {
	open := []int{1} // per open container, the values still to read in it
	for pos := 0; len(open) > 0; {
		if open[len(open)-1] == 0 {
			open = open[:len(open)-1]
			continue
		}
		open[len(open)-1]--
		if pos >= len(data) {
			return nil
		}
		size, items, ok := valueHead(data[pos:])
		if !ok {
			return nil
		}
		pos += size
		if items >= 0 {
			if len(open) > limit {
				return fmt.Errorf("arrays and maps nest deeper than %d levels", limit)
			}
			open = append(open, items)
		}
	}
	return nil
}

// valueHead decodes the start of the MessagePack value at the start of b: how
// many bytes to skip to the next value, and for an array or map the number of
// values inside it (-1 for anything else). ok is false when b is cut short or
// starts with the never-used byte 0xc1.
func valueHead(b []byte) (size, items int, ok bool) {
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return 1, -1, true
	case c <= 0x8f: // fixmap
		return 1, 2 * int(c&0x0f), true
	case c <= 0x9f: // fixarray
		return 1, int(c & 0x0f), true
	case c <= 0xbf: // fixstr
		return 1 + int(c&0x1f), -1, true
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1, -1, true
	case 0xcc, 0xd0: // uint 8, int 8
		return 2, -1, true
	case 0xcd, 0xd1: // uint 16, int 16
		return 3, -1, true
	case 0xca, 0xce, 0xd2: // float 32, uint 32, int 32
		return 5, -1, true
	case 0xcb, 0xcf, 0xd3: // float 64, uint 64, int 64
		return 9, -1, true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		return 2 + 1<<(c-0xd4), -1, true
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
		return 0, 0, false
	}
	if len(b) < 1+width {
		return 0, 0, false
	}
	var n int
	switch width {
	case 1:
		n = int(b[1])
	case 2:
		n = int(binary.BigEndian.Uint16(b[1:]))
	default:
		n = int(binary.BigEndian.Uint32(b[1:]))
	}
	switch c {
	case 0xdc, 0xdd:
		return 1 + width, n, true
	case 0xde, 0xdf:
		return 1 + width, 2 * n, true
	}
	return 1 + width + extra + n, -1, true
}
