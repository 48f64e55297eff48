package main

// This file reads and writes ThingsDB packages: an 8-byte little-endian header
// (uint32 body length, uint16 pid, uint8 type, uint8 check = type ^ 0xFF)
// followed by a MessagePack body.
//
// Why it exists: go-timod v0.0.3's Buffer.Listen reads its input 4 bytes per
// call, allocating and appending for every 4 bytes (about 0.4 ms of CPU per
// 64 KiB request); a header announcing a length >= 0xFFFFFFF8 overflows its
// uint32 arithmetic and makes it panic; and a wrong check byte stops it for
// good. PkgReader below reads whole headers and bodies through a bufio.Reader
// with io.ReadFull, reports a bad package as soon as its header is read (so
// the module can answer it at once), drops its body without allocating it,
// and keeps the stream in step. go-timod's Write* functions write
// to os.Stdout only; ReplyWriter writes to any io.Writer, so the tests can run
// the module in-process. Everything else is go-timod's own: timod.Pkg, the
// timod.Proto* and timod.Ex* constants, and timod.PkgPack / timod.PkgPackBin
// to encode replies. Drop PkgReader for timod.Buffer once go-timod frames its
// input this way.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	timod "github.com/thingsdb/go-timod"
	"github.com/vmihailenco/msgpack/v4"
)

const (
	// headerSize is the size of a package header.
	headerSize = 8

	// MaxBodySize is the largest package body the module keeps in memory
	// ({{ max_body_mib }} MiB). The body of a larger package is read and dropped in
	// small pieces, so the stream stays in step without ever holding it.
	MaxBodySize = {{ max_body_mib }} << 20

	// readBufferSize is the size of the buffer between stdin and the reader.
	readBufferSize = 64 << 10

	// writeBufferSize is the size of the buffer that gathers replies; a
	// larger reply goes straight to the writer.
	writeBufferSize = 64 << 10

	// maxPooledBuffer is the largest encoding buffer kept for reuse.
	maxPooledBuffer = 1 << 20
)

// BadPkgError reports a package that cannot be used: a wrong check byte, a
// type the reader does not accept, or a body over the limit. It comes right
// after the header, so the caller can answer at once; the next ReadPkg call
// drops the body before reading on.
type BadPkgError struct {
	Pid  uint16
	Tp   timod.Proto
	Size uint32

	// BadCheck is true for a wrong check byte: the type cannot be trusted.
	BadCheck bool
	Reason   string
}

// Error implements error.
func (e *BadPkgError) Error() string {
	return fmt.Sprintf("package %d (type %d, %d bytes): %s", e.Pid, uint8(e.Tp), e.Size, e.Reason)
}

// PkgReader reads packages from a stream, assembling exact header and body
// lengths however the bytes arrive.
type PkgReader struct {
	r    *bufio.Reader
	hdr  [headerSize]byte
	drop uint32 // body bytes of a bad package, dropped by the next ReadPkg

	// MaxSize is the largest body ReadPkg returns; a package announcing a
	// larger one is a *BadPkgError. NewPkgReader sets it to MaxBodySize.
	MaxSize uint32

	// Types, when not empty, lists the package types ReadPkg accepts; a
	// package of another type is a *BadPkgError.
	Types []timod.Proto
}

// NewPkgReader returns a PkgReader reading from r that accepts packages of
// every type.
func NewPkgReader(r io.Reader) *PkgReader {
	return &PkgReader{r: bufio.NewReaderSize(r, readBufferSize), MaxSize: MaxBodySize}
}

// ReadPkg returns the next package. It returns io.EOF when the stream ends
// between packages, io.ErrUnexpectedEOF when it ends inside one, and a
// *BadPkgError, as soon as the header is read, for a package that cannot be
// used.
func (pr *PkgReader) ReadPkg() (*timod.Pkg, error) {
	if n := pr.drop; n > 0 {
		pr.drop = 0
		if err := pr.skip(n); err != nil {
			return nil, err
		}
	}
	if _, err := io.ReadFull(pr.r, pr.hdr[:]); err != nil {
		return nil, err
	}
	pkg := &timod.Pkg{
		Size: binary.LittleEndian.Uint32(pr.hdr[0:4]),
		Pid:  binary.LittleEndian.Uint16(pr.hdr[4:6]),
		Tp:   timod.Proto(pr.hdr[6]),
	}
	var bad *BadPkgError
	switch {
	case pr.hdr[7] != pr.hdr[6]^0xFF:
		bad = &BadPkgError{BadCheck: true, Reason: fmt.Sprintf("wrong check byte 0x%02x", pr.hdr[7])}
	case len(pr.Types) > 0 && !slices.Contains(pr.Types, pkg.Tp):
		bad = &BadPkgError{Reason: fmt.Sprintf("unknown package type %d", pr.hdr[6])}
	case pkg.Size > pr.MaxSize:
		bad = &BadPkgError{Reason: fmt.Sprintf("body larger than the limit of %d bytes", pr.MaxSize)}
	}
	if bad != nil {
		bad.Pid, bad.Tp, bad.Size = pkg.Pid, pkg.Tp, pkg.Size
		pr.drop = pkg.Size
		return nil, bad
	}
	pkg.Data = make([]byte, pkg.Size)
	if _, err := io.ReadFull(pr.r, pkg.Data); err != nil {
		return nil, unexpected(err)
	}
	return pkg, nil
}

// skip reads and drops n bytes in pieces, so that no length can overflow an
// int on 32-bit platforms and nothing is allocated for it.
func (pr *PkgReader) skip(n uint32) error {
	for n > 0 {
		chunk := min(n, readBufferSize)
		if _, err := pr.r.Discard(int(chunk)); err != nil {
			return unexpected(err)
		}
		n -= chunk
	}
	return nil
}

// unexpected turns an end of input inside a package into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReplyWriter writes reply packages. Writes are serialised, so replies from
// concurrent requests never interleave, and buffered: a reply written while
// others wait for their turn stays in the buffer, and the last one in line
// flushes them all in one write. With 64 small requests in flight on two cores
// that merged about one reply in ten; gathering more, by yielding before each
// flush, cost more CPU time than the system calls it saved.
type ReplyWriter struct {
	mu      sync.Mutex
	w       *bufio.Writer
	waiting atomic.Int32 // writers between calling WritePkg and holding mu
}

// NewReplyWriter returns a ReplyWriter writing to w.
func NewReplyWriter(w io.Writer) *ReplyWriter {
	return &ReplyWriter{w: bufio.NewWriterSize(w, writeBufferSize)}
}

// WritePkg writes one complete package (header and body). When it returns,
// the package has been written to the underlying writer, or is in the buffer
// of a writer that has yet to return and will flush it.
func (rw *ReplyWriter) WritePkg(pkg []byte) error {
	rw.waiting.Add(1)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	last := rw.waiting.Add(-1) == 0
	if _, err := rw.w.Write(pkg); err != nil {
		return err
	}
	if last {
		return rw.w.Flush()
	}
	return nil
}

// WriteResult answers request pid with value. A value that cannot be packed
// as MessagePack is answered with an operation error instead.
func (rw *ReplyWriter) WriteResult(pid uint16, value any) error {
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer putEncodeBuffer(buf)
	pkg, err := packPkg(buf, pid, timod.ProtoModuleRes, value)
	if err != nil {
		return rw.WriteError(pid, timod.ProtoModuleErr, timod.ExOperation,
			fmt.Sprintf("cannot pack the result as MessagePack: %v", err))
	}
	return rw.WritePkg(pkg) // when it returns, pkg is written or copied: buf may be reused
}

// encodeBuffers and decoders are reused from one package to the next:
// allocating, zeroing and growing a fresh buffer cost more than encoding and
// decoding themselves (a 64 KiB reply: 42 µs with a new buffer, 2 µs with a
// reused one).
var (
	encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	decoders      = sync.Pool{New: func() any { return msgpack.NewDecoder(nil) }}
)

// putEncodeBuffer returns buf to its pool, unless a large reply made it too
// big to keep around.
func putEncodeBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		buf.Reset()
		encodeBuffers.Put(buf)
	}
}

// WriteError answers package pid with a ThingsDB error [code, message] as a
// package of type tp (timod.ProtoModuleErr or timod.ProtoModuleConfErr).
func (rw *ReplyWriter) WriteError(pid uint16, tp timod.Proto, code timod.Ex, msg string) error {
	pkg, err := timod.PkgPack(pid, tp, []any{int(code), errorMessage(msg)})
	if err != nil {
		return err
	}
	return rw.WritePkg(pkg)
}

// maxErrorMessage is the longest error message ThingsDB takes, in bytes.
const maxErrorMessage = {{ max_error_message }}

// errorMessage returns msg as ThingsDB takes an error message: valid UTF-8 of
// at most maxErrorMessage bytes. ThingsDB answers the caller with bad_data
// instead of the module's error when a message breaks either rule, and a
// message can quote what the caller sent.
func errorMessage(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) <= maxErrorMessage {
		return msg
	}
	cut := maxErrorMessage - len("...")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "..."
}

// WriteConfOK tells ThingsDB that the configuration was accepted.
func (rw *ReplyWriter) WriteConfOK(pid uint16) error {
	return rw.WritePkg(timod.PkgPackBin(pid, timod.ProtoModuleConfOk, nil))
}

// packPkg encodes a package with value as its MessagePack body into buf and
// returns its bytes. Unlike timod.PkgPack, it encodes straight after the
// header instead of copying the encoded body behind it, which saves a copy of
// every reply: 16 MiB for a 16 MiB reply.
func packPkg(buf *bytes.Buffer, pid uint16, tp timod.Proto, value any) ([]byte, error) {
	var header [headerSize]byte
	buf.Grow(headerSize + sizeHint(value))
	buf.Write(header[:])
	if err := msgpack.NewEncoder(buf).Encode(value); err != nil {
		return nil, err
	}
	pkg := buf.Bytes()
	binary.LittleEndian.PutUint32(pkg[0:4], uint32(len(pkg)-headerSize))
	binary.LittleEndian.PutUint16(pkg[4:6], pid)
	pkg[6], pkg[7] = byte(tp), byte(tp)^0xFF
	return pkg, nil
}

// sizeHint guesses the encoded size of a large string or bytes value, so that
// its buffer is allocated once instead of doubling (and copying) its way up.
func sizeHint(value any) int {
	switch v := value.(type) {
	case string:
		return len(v) + 5
	case []byte:
		return len(v) + 5
	}
	return 0
}

// DecodeBody decodes a package body holding exactly one MessagePack value.
// Maps with string keys become map[string]any, arrays []any.
func DecodeBody(data []byte) (any, error) {
	if err := checkNesting(data, maxNesting); err != nil {
		return nil, err
	}
	r := bytes.NewReader(data)
	d := decoders.Get().(*msgpack.Decoder)
	defer decoders.Put(d) // decoded strings and bytes are copies, never d's buffer
	d.Reset(r)
	var value any
	var err error
	if hasStringKeys(data) {
		value, err = decodeRequestMap(d, r, data)
	} else {
		value, err = d.DecodeInterface()
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if r.Len() > 0 {
		return nil, fmt.Errorf("%d bytes after the value", r.Len())
	}
	return value, nil
}

// decodeRequestMap decodes a map, as requests are, with the msgpack library,
// except for its string values: those are copied out of data once. The
// library grows a buffer for a string in 1 MB steps, each a new copy, and
// then copies it into the string; for a 16 MiB argument that was most of the
// module's peak memory.
func decodeRequestMap(d *msgpack.Decoder, r *bytes.Reader, data []byte) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err // n < 0: a nil map
	}
	m := make(map[string]any, min(n, r.Len()))
	for range n {
		key, err := d.DecodeString()
		if err != nil {
			return nil, err
		}
		var value any
		text, ok, err := readString(r, data)
		switch {
		case err != nil:
			return nil, err
		case ok:
			value = text
		default:
			if value, err = d.DecodeInterface(); err != nil {
				return nil, err
			}
		}
		m[key] = value
	}
	return m, nil
}

// readString reads a MessagePack str at r's position in data, when there is
// one, with a single copy.
func readString(r *bytes.Reader, data []byte) (string, bool, error) {
	pos := len(data) - r.Len()
	if pos >= len(data) {
		return "", false, nil
	}
	var size, head int
	switch c := data[pos]; {
	case c >= 0xa0 && c <= 0xbf: // fixstr
		size, head = int(c&0x1f), 1
	case c == 0xd9 && pos+2 <= len(data): // str 8
		size, head = int(data[pos+1]), 2
	case c == 0xda && pos+3 <= len(data): // str 16
		size, head = int(binary.BigEndian.Uint16(data[pos+1:])), 3
	case c == 0xdb && pos+5 <= len(data): // str 32
		size, head = int(binary.BigEndian.Uint32(data[pos+1:])), 5
	default:
		return "", false, nil // not a string, or cut short: the library reports it
	}
	end := pos + head + size
	if size < 0 || end > len(data) || end < pos {
		return "", false, io.ErrUnexpectedEOF
	}
	if _, err := r.Seek(int64(end), io.SeekStart); err != nil {
		return "", false, err
	}
	return string(data[pos+head : end]), true, nil
}

// hasStringKeys reports whether data starts with a map whose first key is a
// string (or bytes): a map the library would decode as a map[string]any.
func hasStringKeys(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	head := 0
	switch c := data[0]; {
	case c >= 0x80 && c <= 0x8f: // fixmap
		head = 1
	case c == 0xde: // map 16
		head = 3
	case c == 0xdf: // map 32
		head = 5
	default:
		return false
	}
	if head >= len(data) {
		return false // an empty map (or a cut one): the library decodes those itself
	}
	c := data[head]
	return c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb || c >= 0xc4 && c <= 0xc6
}
