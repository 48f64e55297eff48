package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// manifestName is the module's manifest, which ThingsDB reads.
const manifestName = "module.json"

// versionSpan is where module.json's top-level "version" value is.
type versionSpan struct {
	start, end int    // the value's bytes, quotes included
	text       string // the version it holds
}

// findVersion finds the top-level "version" value of a manifest. Only that
// value is ever rewritten, so the file keeps its formatting, and a "version"
// key nested elsewhere (say, a default argument) is left alone. name is the
// file in messages.
func findVersion(data []byte, name string) (versionSpan, error) {
	var span versionSpan
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return span, jsonError(data, name, err)
	}
	if tok != json.Delim('{') {
		return span, fmt.Errorf("%s must hold a JSON object", name)
	}
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return span, jsonError(data, name, err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return span, jsonError(data, name, err)
		}
		if key != "version" {
			continue
		}
		if found {
			return span, fmt.Errorf("%s has the key `version` twice; keep one", name)
		}
		found = true
		end := int(dec.InputOffset())
		span = versionSpan{start: end - len(raw), end: end}
		switch {
		case raw[0] == '"':
			if err := json.Unmarshal(raw, &span.text); err != nil {
				return span, jsonError(data, name, err)
			}
		case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
			span.text = string(raw)
		default:
			return span, fmt.Errorf("%s: `version` must be a string like \"0.1.0\"", name)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return span, jsonError(data, name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("more after the object")
		}
		return span, jsonError(data, name, err)
	}
	if !found {
		return span, fmt.Errorf("%s has no top-level `version`", name)
	}
	return span, nil
}

// readManifest decodes a manifest, numbers as they are written.
func readManifest(data []byte, name string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var manifest any
	if err := dec.Decode(&manifest); err != nil {
		return nil, jsonError(data, name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("more after the object")
		}
		return nil, jsonError(data, name, err)
	}
	object, ok := manifest.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must hold a JSON object", name)
	}
	return object, nil
}

// jsonError turns a decoding error into one line that says where.
func jsonError(data []byte, name string, err error) error {
	var syntax *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s is not valid JSON (it ends too early); fix it first", name)
	case strings.Contains(err.Error(), "exceeded max depth"):
		return fmt.Errorf("%s nests values too deeply to read; fix it first", name)
	case errors.As(err, &syntax):
		line, column := position(data, syntax.Offset)
		return fmt.Errorf("%s is not valid JSON (%v: line %d column %d); fix it first", name, err, line, column)
	default:
		return fmt.Errorf("%s is not valid JSON (%v); fix it first", name, err)
	}
}

// position is the line and column (from 1) of a byte offset.
func position(data []byte, offset int64) (line, column int) {
	offset = min(max(offset, 1), int64(len(data)+1))
	before := data[:offset-1]
	line = bytes.Count(before, []byte("\n")) + 1
	column = len(before) - bytes.LastIndexByte(before, '\n')
	return line, column
}

// withVersion is module.json's text with only the top-level version value
// replaced.
func withVersion(data []byte, newVersion string) ([]byte, error) {
	span, err := findVersion(data, manifestName)
	if err != nil {
		return nil, err
	}
	value, _ := json.Marshal(newVersion)
	updated := append(append(append([]byte{}, data[:span.start]...), value...), data[span.end:]...)
	// never write anything but the version
	want, err := readManifest(data, manifestName)
	if err != nil {
		return nil, err
	}
	want["version"] = newVersion
	got, err := readManifest(updated, manifestName)
	if err != nil || !reflect.DeepEqual(got, want) {
		return nil, fmt.Errorf("could not change only the version in %s; edit it by hand", manifestName)
	}
	return updated, nil
}

// readManifestFile reads module.json in the repository root.
func readManifestFile() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(root, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s in %s", manifestName, root)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %s", manifestName, strerror(err))
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s is not UTF-8", manifestName)
	}
	return data, nil
}

// strerror is the system's description of why a file operation failed, as
// the C library words it ("Is a directory").
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	text := errno.Error()
	first, size := utf8.DecodeRuneInString(text)
	return string(unicode.ToUpper(first)) + text[size:]
}
