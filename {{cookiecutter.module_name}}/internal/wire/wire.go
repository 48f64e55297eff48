// Package wire reads and writes ThingsDB packages: an 8-byte little-endian
// header (uint32 body length, uint16 pid, uint8 type, uint8 check = type ^
// 0xFF) followed by a MessagePack body.
//
// Why it exists: go-timod v0.0.3's Buffer.Listen reads its input 4 bytes per
// call, allocating and appending for every 4 bytes (about 0.4 ms of CPU per
// 64 KiB request); a header announcing a length >= 0xFFFFFFF8 overflows its
// uint32 arithmetic and makes it panic; and a wrong check byte stops it for
// good. Reader reads as much as is there, up to 256 KiB a time, and cuts
// whole headers and bodies out of that, reports a bad package as soon as its
// header is read (so the module can answer it at once), drops its body
// without allocating it, and keeps the stream in step. go-timod's Write* functions write to os.Stdout
// only; Writer writes to any io.Writer, so tests can run a module in-process.
// Everything else is go-timod's own: timod.Pkg, the timod.Proto* and timod.Ex*
// constants, and timod.PkgPack / timod.PkgPackBin. Drop Reader for
// timod.Buffer once go-timod frames its input this way.
package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	timod "github.com/thingsdb/go-timod"
	"github.com/vmihailenco/msgpack/v4"
)

const (
	// HeaderSize is the size of a package header.
	HeaderSize = 8

	// MaxBodySize is the largest package body the module keeps in memory
	// ({{ max_body_mib }} MiB). The body of a larger package is read and dropped in
	// small pieces, so the stream stays in step without ever holding it.
	MaxBodySize = {{ max_body_mib }} << 20

	// MaxPackageSize is the largest package ThingsDB ever sends
	// (TI_PKG_MAX_SIZE). A header announcing more is not a package but a
	// corrupt stream: ReadPkg returns a *CorruptError.
	MaxPackageSize = {{ thingsdb_max_package }}

	// readBufferSize is the size of the buffer stdin is read into: a request
	// of 64 KiB and its header come in with one read, and under load one read
	// takes in many requests.
	readBufferSize = 256 << 10

	// writeBufferSize is the size of the buffer that gathers replies.
	writeBufferSize = 64 << 10

	// directWriteSize is the size from which a reply goes straight to the
	// writer instead of through the buffer: copying it would cost more than
	// the system call that merging it saves (at 64 KiB, a copy cost 5% of the
	// module's time per request).
	directWriteSize = 16 << 10

	// maxPooledBuffer is the largest encoding buffer kept for reuse.
	maxPooledBuffer = 1 << 20
)

// CorruptError reports a header no sender in step with the stream could
// have written. Nothing after it can be trusted; the module should exit, so
// that ThingsDB restarts it, rather than wait for bytes that never come.
type CorruptError struct {
	Pid  uint16
	Size uint32
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt input: package %d announces %d bytes, more than ThingsDB ever sends (%d)",
		e.Pid, e.Size, MaxPackageSize)
}

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

// Reader reads packages from a stream, assembling exact header and body
// lengths however the bytes arrive.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int    // buf[start:end] is read but not yet used
	drop       uint32 // body bytes of a bad package, dropped by the next ReadPkg
	err        error  // the error that ended reading, once buf is used up

	// MaxSize is the largest body ReadPkg returns; a package announcing a
	// larger one is a *BadPkgError. NewReader sets it to MaxBodySize.
	MaxSize uint32

	// Types, when not empty, lists the package types ReadPkg accepts; a
	// package of another type is a *BadPkgError.
	Types []timod.Proto

	// ReuseBody, when true, lets ReadPkg return a body that fits the read
	// buffer as a part of it, not copied, in the same Pkg every time, so a
	// package is only valid until the next ReadPkg call. For a caller that is
	// done with each package before it reads the next, it saves allocating,
	// clearing and filling a buffer per package.
	ReuseBody bool
	pkg       timod.Pkg
}

// NewReader returns a Reader reading from r that accepts packages of
// every type.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, readBufferSize), MaxSize: MaxBodySize}
}

// Buffered returns how many bytes are read but not yet returned.
func (pr *Reader) Buffered() int { return pr.end - pr.start }

// HasPackage reports whether a whole package is read and waits to be
// returned: the next ReadPkg does not wait for input.
func (pr *Reader) HasPackage() bool {
	n := pr.end - pr.start
	return pr.drop == 0 && n >= HeaderSize &&
		uint64(n-HeaderSize) >= uint64(binary.LittleEndian.Uint32(pr.buf[pr.start:]))
}

// fill reads until at least n bytes (at most len(buf)) are buffered.
func (pr *Reader) fill(n int) error {
	if pr.end-pr.start >= n {
		return nil
	}
	if pr.start == pr.end {
		pr.start, pr.end = 0, 0
	} else if pr.start+n > len(pr.buf) {
		// Moves at most the start of one package, to make room for its rest.
		pr.end = copy(pr.buf, pr.buf[pr.start:pr.end])
		pr.start = 0
	}
	for empty := 0; pr.end-pr.start < n; {
		if pr.err != nil {
			return pr.err
		}
		var m int
		m, pr.err = pr.r.Read(pr.buf[pr.end:])
		pr.end += m
		if empty++; m > 0 {
			empty = 0
		} else if empty == 100 && pr.err == nil {
			pr.err = io.ErrNoProgress // as bufio: a reader that never gives data nor an error
		}
	}
	return nil
}

// ReadPkg returns the next package. It returns io.EOF when the stream ends
// between packages, io.ErrUnexpectedEOF when it ends inside one, and a
// *BadPkgError, as soon as the header is read, for a package that cannot be
// used.
func (pr *Reader) ReadPkg() (*timod.Pkg, error) {
	if n := pr.drop; n > 0 {
		pr.drop = 0
		if err := pr.skip(n); err != nil {
			return nil, err
		}
	}
	if err := pr.fill(HeaderSize); err != nil {
		if pr.end > pr.start {
			return nil, unexpected(err)
		}
		return nil, err
	}
	hdr := pr.buf[pr.start : pr.start+HeaderSize]
	pr.start += HeaderSize
	pkg := &pr.pkg
	if !pr.ReuseBody {
		pkg = new(timod.Pkg)
	}
	*pkg = timod.Pkg{
		Size: binary.LittleEndian.Uint32(hdr[0:4]),
		Pid:  binary.LittleEndian.Uint16(hdr[4:6]),
		Tp:   timod.Proto(hdr[6]),
	}
	if pkg.Size > MaxPackageSize {
		return nil, &CorruptError{Pid: pkg.Pid, Size: pkg.Size}
	}
	var bad *BadPkgError
	switch {
	case hdr[7] != hdr[6]^0xFF:
		bad = &BadPkgError{BadCheck: true, Reason: fmt.Sprintf("wrong check byte 0x%02x", hdr[7])}
	case len(pr.Types) > 0 && !slices.Contains(pr.Types, pkg.Tp):
		bad = &BadPkgError{Reason: fmt.Sprintf("unknown package type %d", hdr[6])}
	case pkg.Size > pr.MaxSize:
		bad = &BadPkgError{Reason: fmt.Sprintf("body larger than the limit of %d bytes", pr.MaxSize)}
	}
	if bad != nil {
		bad.Pid, bad.Tp, bad.Size = pkg.Pid, pkg.Tp, pkg.Size
		pr.drop = pkg.Size
		return nil, bad
	}
	size := int(pkg.Size)
	if pr.ReuseBody && size <= len(pr.buf) {
		if err := pr.fill(size); err != nil {
			return nil, unexpected(err)
		}
		pkg.Data = pr.buf[pr.start : pr.start+size : pr.start+size]
		pr.start += size
		return pkg, nil
	}
	pkg.Data = make([]byte, size)
	n := copy(pkg.Data, pr.buf[pr.start:pr.end])
	pr.start += n
	if n < size {
		if pr.err != nil {
			return nil, unexpected(pr.err)
		}
		if _, err := io.ReadFull(pr.r, pkg.Data[n:]); err != nil {
			return nil, unexpected(err)
		}
	}
	return pkg, nil
}

// skip drops n bytes, in pieces, so that no length can overflow an int on
// 32-bit platforms and nothing is allocated for it.
func (pr *Reader) skip(n uint32) error {
	for n > 0 {
		if err := pr.fill(1); err != nil {
			return unexpected(err)
		}
		chunk := min(n, uint32(pr.end-pr.start))
		pr.start += int(chunk)
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

// Writer writes reply packages. Writes are serialised, so replies from
// concurrent requests never interleave, and gathered: between Hold and
// Release (the requests of one read being answered) and while more replies
// are on their way (see More), a reply waits in a buffer; in the latter case
// a goroutine of the Writer flushes it once the goroutines ready to run have
// had their turn, so that the replies they write leave in the same system
// call. A reply of directWriteSize or more is written at once.
type Writer struct {
	mu       sync.Mutex
	dst      io.Writer
	w        *bufio.Writer // buffers writes to dst
	flushing bool          // a flushSoon goroutine is on its way
	held     bool          // replies wait for Release

	// More, when set, reports whether more replies are on their way. When
	// it is nil or reports false, a reply is flushed at once.
	More func() bool
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{dst: w, w: bufio.NewWriterSize(w, writeBufferSize)}
}

// WritePkg writes one complete package (header and body). When it returns,
// the package has been written to the underlying writer, or is in the buffer
// and will be shortly (Flush writes it at once). An error writing an earlier
// package is returned by the next WritePkg.
func (rw *Writer) WritePkg(pkg []byte) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(pkg) >= directWriteSize {
		// Too large to gather: written as it is, after the replies waiting
		// in the buffer, instead of being copied through it.
		if err := rw.w.Flush(); err != nil {
			return err
		}
		_, err := rw.dst.Write(pkg)
		return err
	}
	if _, err := rw.w.Write(pkg); err != nil {
		return err
	}
	switch {
	case rw.held:
	case rw.More == nil || !rw.More():
		return rw.w.Flush()
	case !rw.flushing:
		rw.flushing = true
		go rw.flushSoon()
	}
	return nil
}

// Hold keeps the replies written from now on in the buffer until Release,
// however many come, unless it fills up: the caller is about to write more
// and flushes them all at once.
func (rw *Writer) Hold() {
	rw.mu.Lock()
	rw.held = true
	rw.mu.Unlock()
}

// Release writes the replies held since Hold, and ends holding them.
func (rw *Writer) Release() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.held = false
	return rw.w.Flush()
}

// flushSoon flushes the buffer after yielding once, so that the goroutines
// ready to run (replies on their way) go first and their replies leave with
// it.
func (rw *Writer) flushSoon() {
	runtime.Gosched()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.flushing = false
	if !rw.held { // else Release flushes
		_ = rw.w.Flush() // a failure stays in w: the next WritePkg returns it
	}
}

// Flush writes the replies in the buffer now.
func (rw *Writer) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.w.Flush()
}

// WriteResult answers request pid with value. A value that cannot be packed
// as MessagePack is answered with an operation error instead.
func (rw *Writer) WriteResult(pid uint16, value any) error {
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer putEncodeBuffer(buf)
	pkg, err := packPkg(buf, pid, timod.ProtoModuleRes, value)
	if err != nil {
		return rw.WriteError(pid, timod.ProtoModuleErr, timod.ExOperation,
			fmt.Sprintf("cannot pack the result as MessagePack: %v", err))
	}
	return rw.WritePkg(pkg) // when it returns, pkg is written or copied: buf may be reused
}

// encodeBuffers are reused from one reply to the next: allocating, zeroing
// and growing a fresh buffer cost more than encoding itself (a 64 KiB reply:
// 42 µs with a new buffer, 2 µs with a reused one).
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

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
func (rw *Writer) WriteError(pid uint16, tp timod.Proto, code timod.Ex, msg string) error {
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
func (rw *Writer) WriteConfOK(pid uint16) error {
	return rw.WritePkg(timod.PkgPackBin(pid, timod.ProtoModuleConfOk, nil))
}

// packPkg encodes a package with value as its MessagePack body into buf and
// returns its bytes. Unlike timod.PkgPack, it encodes straight after the
// header instead of copying the encoded body behind it, which saves a copy of
// every reply: 16 MiB for a 16 MiB reply.
func packPkg(buf *bytes.Buffer, pid uint16, tp timod.Proto, value any) ([]byte, error) {
	var header [HeaderSize]byte
	buf.Grow(HeaderSize + sizeHint(value))
	buf.Write(header[:])
	if s, ok := value.(string); ok && uint64(len(s)) <= math.MaxUint32 {
		// The usual large reply, packed without an encoder.
		writeLength(buf, 0xd9, len(s))
		buf.WriteString(s)
	} else if err := msgpack.NewEncoder(buf).Encode(value); err != nil {
		return nil, err
	}
	pkg := buf.Bytes()
	binary.LittleEndian.PutUint32(pkg[0:4], uint32(len(pkg)-HeaderSize))
	binary.LittleEndian.PutUint16(pkg[4:6], pid)
	pkg[6], pkg[7] = byte(tp), byte(tp)^0xFF
	return pkg, nil
}

// writeLength writes the head of a str (code 0xd9) or bin (code 0xc4) of n
// bytes: the code for the smallest width that holds n, then n.
func writeLength(buf *bytes.Buffer, code byte, n int) {
	switch {
	case code == 0xd9 && n < 32:
		buf.WriteByte(0xa0 | byte(n))
	case n <= math.MaxUint8:
		buf.Write([]byte{code, byte(n)})
	case n <= math.MaxUint16:
		buf.Write([]byte{code + 1, byte(n >> 8), byte(n)})
	default:
		buf.Write([]byte{code + 2, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
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
