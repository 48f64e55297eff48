package devnode

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// moduleFile reports whether rel is a file (or a folder that may hold files)
// that makes the module: its sources, tests and tools/ aside, go.mod, go.sum
// and module.json.
func moduleFile(rel string, dir bool) bool {
	base := filepath.Base(rel)
	if dir {
		return rel == "." || !(rel == "tools" || rel == "bin" || rel == "testdata" ||
			strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_"))
	}
	if !strings.Contains(rel, string(filepath.Separator)) && (base == "go.mod" || base == "go.sum" || base == "module.json") {
		return true
	}
	return strings.HasSuffix(base, ".go") && !strings.HasSuffix(base, "_test.go")
}

// snapshot is every module file's modification time and size.
type snapshot map[string]string

// scan stats the module's files under root.
func scan(root string) snapshot {
	s := snapshot{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: not ours to report
		}
		rel, _ := filepath.Rel(root, p)
		if !moduleFile(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if info, err := d.Info(); err == nil {
				s[filepath.ToSlash(rel)] = info.ModTime().String() + " " + strconv.FormatInt(info.Size(), 10)
			}
		}
		return nil
	})
	return s
}

// changed lists the files added, removed or modified, in order.
func (s snapshot) changed(now snapshot) []string {
	var out []string
	for name, state := range now {
		if s[name] != state {
			out = append(out, name)
		}
	}
	for name := range s {
		if _, ok := now[name]; !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Watch polls root every interval (a stat of each module file: no
// notification API is needed) and sends the files that changed, once they
// have stopped changing for settle (an editor's save may take several
// writes). It returns when ctx ends.
func Watch(ctx context.Context, root string, interval, settle time.Duration, changes chan<- []string) {
	last := scan(root)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		now := scan(root)
		files := last.changed(now)
		if len(files) == 0 {
			continue
		}
		// Debounce: wait for a quiet moment, gathering what else changes.
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(settle):
			}
			again := scan(root)
			more := now.changed(again)
			if len(more) == 0 {
				break
			}
			now = again
		}
		files = last.changed(now)
		last = now
		if len(files) == 0 {
			continue // changed and changed back
		}
		select {
		case changes <- files:
		case <-ctx.Done():
			return
		}
	}
}
