// Command echo is the benchmark's limit for a Go module: the least one can do.
//
// A single goroutine does everything: it reads a whole package from stdin,
// answers a request with its own body as the result (never decoded) and a
// configuration with CONF_OK, and writes what it has gathered once nothing
// more is waiting in its input buffer. There is no hand-off between
// goroutines or threads, so whatever a real module costs on top of this is
// the module's own.
package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
)

const (
	protoConf   = 64
	protoConfOK = 65
	protoReq    = 80
	protoRes    = 81
)

func main() {
	os.Exit(serve(os.Stdin, os.Stdout))
}

// serve answers packages until the input ends (0) or the output fails (1).
func serve(r io.Reader, w io.Writer) int {
	in := bufio.NewReaderSize(r, 64<<10)
	out := bufio.NewWriterSize(w, 64<<10)
	var header [8]byte
	for {
		if _, err := io.ReadFull(in, header[:]); err != nil {
			return 0
		}
		body := make([]byte, binary.LittleEndian.Uint32(header[0:4]))
		if _, err := io.ReadFull(in, body); err != nil {
			return 0
		}
		switch header[6] {
		case protoReq:
			header[6], header[7] = protoRes, protoRes^0xFF
			out.Write(header[:])
			out.Write(body)
		case protoConf:
			binary.LittleEndian.PutUint32(header[0:4], 0)
			header[6], header[7] = protoConfOK, protoConfOK^0xFF
			out.Write(header[:])
		}
		// A write error stays in out and is returned by this Flush.
		if in.Buffered() == 0 && out.Flush() != nil {
			return 1
		}
	}
}
