package devnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Manifest is what dev reads of module.json.
type Manifest struct {
	// Version is the version as written, a string or a number's text.
	Version string
	// Main is the "main" map (or {"": file} for a plain string).
	Main map[string]string
}

// ParseManifest reads module.json's version and main.
func ParseManifest(data []byte) (Manifest, error) {
	var m struct {
		Version json.RawMessage `json:"version"`
		Main    json.RawMessage `json:"main"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("module.json: %v", err)
	}
	var out Manifest
	var text string
	if err := json.Unmarshal(m.Version, &text); err == nil {
		out.Version = text
	} else if _, err := strconv.ParseFloat(string(m.Version), 64); err == nil {
		out.Version = string(m.Version)
	} else {
		return Manifest{}, errors.New(`module.json: "version" must be a string such as "0.1.0"`)
	}
	var file string
	if err := json.Unmarshal(m.Main, &out.Main); err == nil && len(out.Main) > 0 {
		return out, nil
	}
	if err := json.Unmarshal(m.Main, &file); err == nil && file != "" {
		out.Main = map[string]string{"": file}
		return out, nil
	}
	return Manifest{}, errors.New(`module.json: "main" must be a map of "os/arch" keys to files in bin/`)
}

// File is the main file ThingsDB runs on a node whose platform is key.
func (m Manifest) File(key string) (string, error) {
	if file, ok := m.Main[""]; ok {
		return file, nil
	}
	if file, ok := m.Main[key]; ok {
		return file, nil
	}
	return "", fmt.Errorf("module.json's main has no %q, the key ThingsDB looks up on this node", key)
}

// RaiseVersion raises version's last number by n: ThingsDB re-installs a
// module only when its version differs from the installed one.
func RaiseVersion(version string, n int) (string, error) {
	parts := strings.Split(version, ".")
	last, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil || last < 0 || len(parts) > 3 {
		return "", fmt.Errorf("module.json: version %q is not 1 to 3 dot-separated numbers", version)
	}
	parts[len(parts)-1] = strconv.Itoa(last + n)
	return strings.Join(parts, "."), nil
}

// WithVersion is module.json with its top-level "version" value replaced
// by the string version; every other byte stays.
func WithVersion(data []byte, version string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, errors.New(`module.json: no top-level "version"`)
		}
		if err != nil {
			return nil, fmt.Errorf("module.json: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			depth++
			expectKey = depth == 1
			continue
		case json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 1 && expectKey {
			if key, ok := tok.(string); ok && key == "version" {
				valueStart := dec.InputOffset()
				if _, err := dec.Token(); err != nil {
					return nil, fmt.Errorf("module.json: %v", err)
				}
				end := dec.InputOffset()
				// The value begins after the colon that follows the key.
				colon := bytes.IndexByte(data[valueStart:end], ':')
				start := valueStart + int64(colon) + 1
				for start < end && isSpace(data[start]) {
					start++
				}
				quoted, _ := json.Marshal(version)
				out := append([]byte{}, data[:start]...)
				out = append(out, quoted...)
				return append(out, data[end:]...), nil
			}
			// Skip the value: the next key follows it.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("module.json: %v", err)
			}
			continue
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
