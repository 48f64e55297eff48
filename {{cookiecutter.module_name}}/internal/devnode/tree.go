package devnode

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tree is a folder on disk as a GitHub repository serves it, at any ref:
// the files as they are at the moment of the request, with some paths
// replaced by content held in memory (the version-raised module.json, the
// binary built for the node).
type Tree struct {
	root string

	mu      sync.Mutex
	overlay map[string][]byte
	blobs   map[string]string // git blob sha -> path, of every file listed so far
	sums    map[string]fileSum
}

// fileSum is a file's sha, valid while its size and time stay.
type fileSum struct {
	size int64
	mod  time.Time
	sha  string
}

// Entry is one row of a folder's listing, as GitHub's contents API gives it.
type Entry struct {
	Type string `json:"type"` // "file" or "dir"
	Name string `json:"name"`
	Path string `json:"path"`
	SHA  string `json:"sha"`
	Size int64  `json:"size"`
}

// NewTree serves the folder root.
func NewTree(root string) *Tree {
	return &Tree{root: root, overlay: map[string][]byte{}, blobs: map[string]string{}, sums: map[string]fileSum{}}
}

// Set makes path (slash-separated, relative to the root) answer with data
// instead of the file on disk.
func (t *Tree) Set(path string, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.overlay[path] = data
}

// errNotFound is what GitHub answers 404 for.
var errNotFound = errors.New("not found")

// clean checks a request's path: relative, no . or .. parts, nothing hidden
// (.git stays private).
func clean(p string) (string, bool) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", true
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return p, true
}

// File returns a file's content, or a folder's listing when p is a folder.
func (t *Tree) File(p string) (data []byte, listing []Entry, err error) {
	p, ok := clean(p)
	if !ok || p == "" {
		return nil, nil, errNotFound
	}
	t.mu.Lock()
	data, held := t.overlay[p]
	t.mu.Unlock()
	if held {
		return data, nil, nil
	}
	full := filepath.Join(t.root, filepath.FromSlash(p))
	info, err := os.Stat(full)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && t.isOverlayDir(p) {
			listing, err := t.list(p)
			return nil, listing, err
		}
		return nil, nil, errNotFound
	}
	if info.IsDir() {
		listing, err := t.list(p)
		return nil, listing, err
	}
	data, err = os.ReadFile(full)
	if err != nil {
		return nil, nil, errNotFound
	}
	return data, nil, nil
}

// isOverlayDir reports whether a held file lies in folder p (bin/ need not
// exist on disk).
func (t *Tree) isOverlayDir(p string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for held := range t.overlay {
		if path.Dir(held) == p {
			return true
		}
	}
	return false
}

// list is folder p's listing: its files on disk and the held ones, each
// with its git blob sha, which Blob then answers for.
func (t *Tree) list(p string) ([]Entry, error) {
	rows := map[string]Entry{}
	entries, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(p)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		row := Entry{Type: "file", Name: e.Name(), Path: p + "/" + e.Name()}
		info, err := e.Info()
		if err != nil {
			continue // gone meanwhile
		}
		if info.IsDir() {
			row.Type, row.SHA = "dir", gitSHA([]byte("tree "+row.Path))
		} else {
			row.Size = info.Size()
			if row.SHA, err = t.fileSHA(row.Path, info); err != nil {
				continue
			}
		}
		rows[row.Name] = row
	}
	t.mu.Lock()
	for held, data := range t.overlay {
		if path.Dir(held) == p {
			name := path.Base(held)
			rows[name] = Entry{Type: "file", Name: name, Path: held, SHA: gitSHA(data), Size: int64(len(data))}
		}
	}
	out := make([]Entry, 0, len(rows))
	for _, row := range rows {
		if row.Type == "file" {
			t.blobs[row.SHA] = row.Path
		}
		out = append(out, row)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// fileSHA is a file's git blob sha, kept while its size and time stay.
func (t *Tree) fileSHA(p string, info fs.FileInfo) (string, error) {
	t.mu.Lock()
	sum, ok := t.sums[p]
	t.mu.Unlock()
	if ok && sum.size == info.Size() && sum.mod.Equal(info.ModTime()) {
		return sum.sha, nil
	}
	data, err := os.ReadFile(filepath.Join(t.root, filepath.FromSlash(p)))
	if err != nil {
		return "", err
	}
	sha := gitSHA(data)
	t.mu.Lock()
	t.sums[p] = fileSum{info.Size(), info.ModTime(), sha}
	t.mu.Unlock()
	return sha, nil
}

// Blob returns the content of a file a listing named by its sha, as it is
// now (a file changed since answers 404, as GitHub would for a sha it
// does not have).
func (t *Tree) Blob(sha string) ([]byte, error) {
	t.mu.Lock()
	p, ok := t.blobs[sha]
	t.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	data, _, err := t.File(p)
	if err != nil || data == nil || gitSHA(data) != sha {
		return nil, errNotFound
	}
	return data, nil
}

// gitSHA is git's object name of a blob holding data.
func gitSHA(data []byte) string {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(data)) + "\x00"))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
