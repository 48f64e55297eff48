package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// build builds bin/ for every platform of module.json's main map.
func build() error {
	code, err := stream(nil, "go", "run", "./tools/build")
	if err == nil && code != 0 {
		err = fmt.Errorf("`go run ./tools/build` failed (exit %d; see above)", code)
	}
	return err
}

// missingFiles lists the files among names, relative to the root, that do
// not exist.
func missingFiles(names []string) []string {
	var missing []string
	for _, name := range names {
		if !fileExists(name) {
			missing = append(missing, name)
		}
	}
	return missing
}

// savedBin is bin/ as it was before a check built it.
type savedBin struct {
	existed bool
	files   map[string][]byte
	modes   map[string]os.FileMode
}

// saveBin keeps the files directly in bin/, the only ones the build writes.
func saveBin() (*savedBin, error) {
	dir := filepath.Join(root, "bin")
	s := &savedBin{files: map[string][]byte{}, modes: map[string]os.FileMode{}}
	entries, err := os.ReadDir(dir)
	if isNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	s.existed = true
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		s.files[e.Name()], s.modes[e.Name()] = data, info.Mode().Perm()
	}
	return s, nil
}

// restore puts bin/ back as it was saved.
func (s *savedBin) restore() error {
	dir := filepath.Join(root, "bin")
	if !s.existed {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, kept := s.files[e.Name()]; !kept && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for name, data := range s.files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, s.modes[name]); err != nil {
			return err
		}
		if err := os.Chmod(path, s.modes[name]); err != nil {
			return err
		}
	}
	return nil
}

// binaries lists the files of module.json's main map, sorted, once each.
func binaries(manifest map[string]any) []string {
	main, _ := manifest["main"].(map[string]any)
	seen := map[string]bool{}
	var files []string
	for _, v := range main {
		if file, ok := v.(string); ok && !seen[file] {
			seen[file] = true
			files = append(files, file)
		}
	}
	slices.Sort(files)
	return files
}
