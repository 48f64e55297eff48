package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	timod "github.com/thingsdb/go-timod"
)

func TestErrorMessageIsWhatThingsDBTakes(t *testing.T) {
	for name, msg := range map[string]string{
		"short":            "no such function",
		"long ASCII":       strings.Repeat("x", 40000),
		"long multi-byte":  strings.Repeat("é", 20000) + "€",
		"invalid UTF-8":    "bad \xff\xfe byte",
		"exactly at limit": strings.Repeat("x", maxErrorMessage),
	} {
		got := errorMessage(msg)
		if !utf8.ValidString(got) || len(got) > maxErrorMessage {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", name, len(got), utf8.ValidString(got))
		}
		if utf8.ValidString(msg) && len(msg) <= maxErrorMessage && got != msg {
			t.Errorf("%s: changed a message ThingsDB takes as it is", name)
		}
		if len(msg) > maxErrorMessage && len(got) < maxErrorMessage-utf8.UTFMax-len("...") {
			t.Errorf("%s: cut to %d bytes, more than needed", name, len(got))
		}
	}
}

// header returns a package header.
func header(size uint32, pid uint16, tp, check uint8) []byte {
	h := make([]byte, HeaderSize)
	binary.LittleEndian.PutUint32(h[0:], size)
	binary.LittleEndian.PutUint16(h[4:], pid)
	h[6], h[7] = tp, check
	return h
}

// TestReadPkgHugeLength sends a header announcing more than the module
// keeps: the reader reports it at once, then must neither panic nor allocate
// the announced size while dropping the body.
func TestReadPkgHugeLength(t *testing.T) {
	for _, size := range []uint32{MaxBodySize + 1, MaxPackageSize} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		input := append(header(size, 1, uint8(timod.ProtoModuleReq), uint8(timod.ProtoModuleReq)^0xFF), 0xc0)
		r := NewReader(bytes.NewReader(input))
		_, err := r.ReadPkg()
		var bad *BadPkgError
		if !errors.As(err, &bad) || bad.Pid != 1 || bad.Size != size {
			t.Errorf("size %#x: got %v, want a BadPkgError for package 1", size, err)
		}
		if _, err := r.ReadPkg(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("size %#x: then got %v, want io.ErrUnexpectedEOF", size, err)
		}
		runtime.ReadMemStats(&after)
		if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
			t.Errorf("size %#x: allocated %d bytes", size, grown)
		}
	}
}

// TestReadPkgCorruptLength sends headers announcing more than ThingsDB ever
// sends, up to 4 GiB: the stream is corrupt, and the reader says so.
func TestReadPkgCorruptLength(t *testing.T) {
	for _, size := range []uint32{MaxPackageSize + 1, 0xFFFFFFF8, 0xFFFFFFFF} {
		input := header(size, 7, uint8(timod.ProtoModuleReq), uint8(timod.ProtoModuleReq)^0xFF)
		_, err := NewReader(bytes.NewReader(input)).ReadPkg()
		var corrupt *CorruptError
		if !errors.As(err, &corrupt) || corrupt.Pid != 7 || corrupt.Size != size {
			t.Errorf("size %#x: got %v, want a CorruptError for package 7", size, err)
		}
	}
}

// TestReaderKeepsInStep reads good and bad packages one byte per read.
func TestReaderKeepsInStep(t *testing.T) {
	var input bytes.Buffer
	input.Write(timod.PkgPackBin(1, timod.ProtoModuleReq, []byte{0xc0}))
	bad := timod.PkgPackBin(2, timod.ProtoModuleReq, []byte("xyz"))
	bad[7] = 0
	input.Write(bad)
	input.Write(timod.PkgPackBin(3, timod.Proto(99), []byte("abc")))
	input.Write(timod.PkgPackBin(4, timod.ProtoModuleReq, bytes.Repeat([]byte{0xc0}, 20)))
	input.Write(timod.PkgPackBin(5, timod.ProtoModuleConf, []byte{0x80}))
	r := NewReader(iotest.OneByteReader(&input))
	r.MaxSize = 10
	r.Types = []timod.Proto{timod.ProtoModuleReq, timod.ProtoModuleConf}
	want := []struct {
		pid      uint16
		bad      bool
		badCheck bool
	}{
		{1, false, false}, {2, true, true}, {3, true, false}, {4, true, false}, {5, false, false},
	}
	for _, w := range want {
		pkg, err := r.ReadPkg()
		var bad *BadPkgError
		switch {
		case w.bad && (!errors.As(err, &bad) || bad.Pid != w.pid || bad.BadCheck != w.badCheck):
			t.Fatalf("package %d: got %v, want a BadPkgError (bad check %v)", w.pid, err, w.badCheck)
		case !w.bad && (err != nil || pkg.Pid != w.pid):
			t.Fatalf("package %d: got %v, %v", w.pid, pkg, err)
		}
	}
	if _, err := r.ReadPkg(); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

// pieces reads at most size bytes per Read.
type pieces struct {
	data []byte
	size int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), p.size)], p.data)
	p.data = p.data[n:]
	return n, nil
}

// TestReaderReturnsWholePackagesHoweverTheyArrive reads packages smaller and
// larger than the read buffer, and of exactly its size, arriving in pieces of
// every size, into reused bodies: each comes out whole, and the next
// package's bytes never show through a body.
func TestReaderReturnsWholePackagesHoweverTheyArrive(t *testing.T) {
	sizes := []int{0, 1, 100, readBufferSize - HeaderSize - 1, readBufferSize - HeaderSize, readBufferSize, 3*readBufferSize + 7, 5, 200}
	var input bytes.Buffer
	for i, size := range sizes {
		input.Write(timod.PkgPackBin(uint16(i), timod.ProtoModuleReq, bytes.Repeat([]byte{byte(i + 1)}, size)))
	}
	for _, piece := range []int{1, 7, 4096, 100000, 1 << 20} {
		r := NewReader(&pieces{data: input.Bytes(), size: piece})
		r.ReuseBody = true
		for i, size := range sizes {
			pkg, err := r.ReadPkg()
			if err != nil {
				t.Fatalf("pieces of %d, package %d: %v", piece, i, err)
			}
			if int(pkg.Pid) != i || len(pkg.Data) != size || bytes.Count(pkg.Data, []byte{byte(i + 1)}) != size {
				t.Fatalf("pieces of %d: package %d of %d bytes came out as %d of %d bytes", piece, i, size, pkg.Pid, len(pkg.Data))
			}
		}
		if _, err := r.ReadPkg(); !errors.Is(err, io.EOF) {
			t.Fatalf("pieces of %d: at the end %v, want io.EOF", piece, err)
		}
	}
}

// TestReaderHasPackageOnlyWhenAWholeOneIsRead: HasPackage tells whether the
// next ReadPkg can return without reading.
func TestReaderHasPackageOnlyWhenAWholeOneIsRead(t *testing.T) {
	pkg := timod.PkgPackBin(1, timod.ProtoModuleReq, []byte("body"))
	input := &pieces{data: append(append([]byte{}, pkg...), pkg...), size: len(pkg) + HeaderSize + 1}
	r := NewReader(input)
	if r.HasPackage() {
		t.Fatal("HasPackage before anything was read")
	}
	if _, err := r.ReadPkg(); err != nil {
		t.Fatal(err)
	}
	if r.HasPackage() || r.Buffered() != HeaderSize+1 {
		t.Fatalf("a header and a byte of the next package read: HasPackage %v, Buffered %d", r.HasPackage(), r.Buffered())
	}
	input.size = len(pkg)
	if _, err := r.ReadPkg(); err != nil || r.HasPackage() || r.Buffered() != 0 {
		t.Fatalf("second package: %v, HasPackage %v, Buffered %d", err, r.HasPackage(), r.Buffered())
	}
}

// TestWriterHoldsRepliesUntilRelease: between Hold and Release small replies
// stay in the buffer, whatever More says; Release writes them.
func TestWriterHoldsRepliesUntilRelease(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	w.Hold()
	for pid := range uint16(3) {
		if err := w.WriteResult(pid, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("%d bytes written while held", out.Len())
	}
	if err := w.Release(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&out)
	for pid := range uint16(3) {
		if pkg, err := r.ReadPkg(); err != nil || pkg.Pid != pid {
			t.Fatalf("reply %d: got %v, %v", pid, pkg, err)
		}
	}
	if err := w.WriteResult(3, "x"); err != nil || out.Len() == 0 {
		t.Fatalf("after Release a reply is written at once: %v, %d bytes", err, out.Len())
	}
}

// TestWriterWritesWholePackages writes replies of every size from many
// goroutines; each must come out whole.
func TestWriterWritesWholePackages(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	sizes := []int{0, 10, directWriteSize - 20, directWriteSize, writeBufferSize - 20, writeBufferSize, 3 * writeBufferSize}
	done := make(chan error)
	for i, size := range sizes {
		go func() { done <- w.WriteResult(uint16(i), strings.Repeat("x", size)) }()
	}
	for range sizes {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Without More, each reply is flushed before WriteResult returns.
	r := NewReader(&out)
	seen := map[uint16]bool{}
	for range sizes {
		pkg, err := r.ReadPkg()
		if err != nil {
			t.Fatal(err)
		}
		if want := sizes[pkg.Pid]; len(pkg.Data) < want || seen[pkg.Pid] {
			t.Fatalf("package %d: %d bytes, want a str of %d", pkg.Pid, len(pkg.Data), want)
		}
		seen[pkg.Pid] = true
	}
}

// TestWriterWritesLargeRepliesAtOnce: a reply too large to gather is out
// when WriteResult returns.
func TestWriterWritesLargeRepliesAtOnce(t *testing.T) {
	for _, size := range []int{directWriteSize, writeBufferSize, 3 * writeBufferSize} {
		var out bytes.Buffer
		if err := NewWriter(&out).WriteResult(1, strings.Repeat("x", size)); err != nil {
			t.Fatal(err)
		}
		pkg, err := NewReader(&out).ReadPkg()
		if err != nil || len(pkg.Data) < size {
			t.Errorf("a reply of %d bytes: got %v, %v; want it written whole", size, pkg, err)
		}
	}
}

// TestWriterFlushesGatheredRepliesByItself: small replies gathered while
// more are on their way reach the reader with nobody calling Flush.
func TestWriterFlushesGatheredRepliesByItself(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	read := make(chan error, 1)
	go func() {
		r := NewReader(pr)
		for range 3 {
			if _, err := r.ReadPkg(); err != nil {
				read <- err
				return
			}
		}
		read <- nil
	}()
	w := NewWriter(pw)
	w.More = func() bool { return true }
	for pid := range uint16(3) {
		if err := w.WriteResult(pid, "x"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the replies were not flushed")
	}
}

func TestWriteResultRefusesWhatCannotBePacked(t *testing.T) {
	var out bytes.Buffer
	if err := NewWriter(&out).WriteResult(7, make(chan int)); err != nil {
		t.Fatal(err)
	}
	pkg, err := NewReader(&out).ReadPkg()
	if err != nil || pkg.Tp != timod.ProtoModuleErr || pkg.Pid != 7 {
		t.Fatalf("got %v, %v; want an error package for 7", pkg, err)
	}
}

func TestPackPkgPacksStrsAsTheLibraryDoes(t *testing.T) {
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		value := strings.Repeat("s", n)
		var buf bytes.Buffer
		pkg, err := packPkg(&buf, 1, timod.ProtoModuleRes, value)
		if err != nil {
			t.Fatal(err)
		}
		want, err := timod.PkgPack(1, timod.ProtoModuleRes, value)
		if err != nil || !bytes.Equal(pkg, want) {
			t.Errorf("%d bytes: got % x..., want % x...", n, pkg[:min(len(pkg), 16)], want[:min(len(want), 16)])
		}
	}
}
