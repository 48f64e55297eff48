// Command echo is the benchmark's limit: the least a ThingsDB module can do.
//
// It reads whole packages from stdin and answers each request with its own
// body as the result, without decoding it. Reading and writing run on two
// goroutines, as in any module that keeps reading while replies go out.
// Whatever a real module costs on top of this is the module's own cost.
package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
)

const (
	typeRequest = 80
	typeResult  = 81
)

func main() {
	replies := make(chan []byte, 1024)
	go write(replies)
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		pkg := make([]byte, 8)
		if _, err := io.ReadFull(in, pkg); err != nil {
			os.Exit(0)
		}
		size := binary.LittleEndian.Uint32(pkg[:4])
		pkg = append(pkg, make([]byte, size)...)
		if _, err := io.ReadFull(in, pkg[8:]); err != nil {
			os.Exit(0)
		}
		if pkg[6] == typeRequest {
			pkg[6], pkg[7] = typeResult, typeResult^0xFF
			replies <- pkg
		}
	}
}

// write sends replies to stdout, flushing whenever no other reply is waiting.
func write(replies <-chan []byte) {
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	for pkg := range replies {
		if _, err := out.Write(pkg); err != nil {
			os.Exit(1)
		}
		if len(replies) == 0 {
			if err := out.Flush(); err != nil {
				os.Exit(1)
			}
		}
	}
}
