package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"{{ cookiecutter.go_module_path }}/internal/module"
	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// Function is a function the code serves, as the module describes it
// (`go run . -describe`, module.Describe): what sync writes into
// module.json's "exposes" and README.md. Default, Argument and Example are
// its parts.
type (
	Function = module.Description
	Default  = module.Default
	Argument = module.DescribedArgument
	Example  = module.DescribedExample
)

// SyncOptions name the files and the command in sync's messages.
type SyncOptions struct {
	Module  string // the module's name, as README.md's examples call it
	Code    string // the file that serves the functions: handlers.go
	Command string // the command that syncs: go run ./tools/manifest sync
}

// Synced is what sync makes of a project's module.json and README.md.
type Synced struct {
	Manifest, README       []byte
	OldManifest, OldREADME []byte
	// Problems are the differences, one line each, as `sync --check`
	// reports them.
	Problems []string
}

// Sync works out module.json and README.md in dir as the functions make
// them: module.json's "exposes" (closures kept, entries in their order,
// new functions appended, those no longer served removed) and README.md's
// functions section and install lines. It writes nothing.
func Sync(dir string, functions []Function, opts SyncOptions) (*Synced, error) {
	manifestPath := filepath.Join(dir, "module.json")
	old, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, err
	}
	root, err := parseOrdered(old)
	if err != nil {
		return nil, fmt.Errorf("module.json: %w", err)
	}
	if root.kind != '{' {
		return nil, fmt.Errorf("module.json is not a JSON object")
	}
	s := &Synced{OldManifest: old}
	for _, f := range functions {
		if f.Err != "" {
			return nil, fmt.Errorf("%s: %s", opts.Code, f.Err)
		}
	}
	s.Problems = syncExposes(root, functions, opts)
	s.Manifest = []byte(root.python(0) + "\n")

	readmePath := filepath.Join(dir, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if err == nil {
		s.OldREADME = readme
		version := ""
		if v := root.get("version"); v != nil && v.kind == '"' {
			_ = json.Unmarshal([]byte(v.raw), &version)
		}
		s.README = syncREADME(readme, readmeEntries(root, functions), version, opts)
		if !bytes.Equal(s.README, readme) {
			s.Problems = append(s.Problems, fmt.Sprintf(
				"README.md: its functions section or install lines do not follow %s and module.json; run %s",
				opts.Code, opts.Command))
		}
	}
	if len(s.Problems) == 0 && !bytes.Equal(s.Manifest, old) {
		s.Problems = append(s.Problems, fmt.Sprintf(
			"module.json: not written as sync writes it (2-space indented JSON); run %s", opts.Command))
	}
	return s, nil
}

// syncExposes rewrites root's "exposes" and returns the differences.
func syncExposes(root *jnode, functions []Function, opts SyncOptions) []string {
	var problems []string
	exposes := root.get("exposes")
	if exposes == nil || exposes.kind != '{' {
		exposes = &jnode{kind: '{'}
		root.set("exposes", exposes)
	}
	served := map[string]Function{}
	for _, f := range functions {
		served[f.Name] = f
	}
	out := &jnode{kind: '{'}
	for i, name := range exposes.keys {
		entry := exposes.vals[i]
		if entry.kind == '"' { // a closure: ThingsDB runs it
			out.set(name, entry)
			continue
		}
		f, ok := served[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("module.json exposes %s; %s serves no such function; run %s",
				name, opts.Code, opts.Command))
			continue
		}
		if entry.kind != '{' {
			entry = &jnode{kind: '{'}
		}
		problems = append(problems, syncEntry(entry, f, opts)...)
		out.set(name, entry)
	}
	for _, f := range functions {
		if out.get(f.Name) != nil {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s serves %s; module.json does not expose it; run %s",
			opts.Code, f.Name, opts.Command))
		entry := &jnode{kind: '{'}
		syncEntry(entry, f, opts)
		out.set(f.Name, entry)
	}
	exposes.keys, exposes.vals = out.keys, out.vals
	return problems
}

// syncEntry makes entry, an "exposes" entry, follow f: doc, defaults and
// argmap. Keys the author added to the defaults that are not arguments
// (deep, load) stay; so do the spellings module.json already has of the same
// values.
func syncEntry(entry *jnode, f Function, opts SyncOptions) []string {
	var problems []string
	differs := func(field string, old *jnode, serves string) {
		was := "missing"
		if old != nil {
			was = "is " + old.compact()
		}
		problems = append(problems, fmt.Sprintf("module.json: exposes.%s.%s %s; %s serves %s; run %s",
			f.Name, field, was, opts.Code, serves, opts.Command))
	}

	doc := entry.get("doc")
	var docText string
	if doc != nil && doc.kind == '"' {
		_ = json.Unmarshal([]byte(doc.raw), &docText)
	}
	if doc == nil || doc.kind != '"' || !(slices.Contains(f.Docs, docText) || sameDoc(docText, f)) {
		differs("doc", doc, f.Doc)
		entry.set("doc", &jnode{kind: '"', raw: valuetext.JSONString(f.Doc)})
	}

	oldDefaults := entry.get("defaults")
	if oldDefaults != nil && oldDefaults.kind != '{' {
		oldDefaults = nil
	}
	defaults := &jnode{kind: '{'}
	defaults.set(dispatchKey, &jnode{kind: '"', raw: valuetext.JSONString(f.Name)})
	arguments := map[string]bool{dispatchKey: true}
	for _, a := range f.Argmap {
		arguments[a] = true
	}
	for _, d := range f.Defaults {
		value, _ := parseOrdered(d.Value)
		if oldDefaults != nil {
			if old := oldDefaults.get(d.Name); old != nil && sameValue(old, value, slices.Contains(f.FloatArguments, d.Name)) {
				value = old
			}
		}
		defaults.set(d.Name, value)
	}
	if oldDefaults != nil {
		for i, key := range oldDefaults.keys {
			if !arguments[key] {
				defaults.set(key, oldDefaults.vals[i])
			}
		}
	}
	if oldDefaults == nil || !sameValue(oldDefaults, defaults, false) || !slices.Equal(oldDefaults.keys, defaults.keys) {
		differs("defaults", oldDefaults, fmt.Sprintf("%s with the defaults %s", f.Name, defaults.compact()))
	}
	entry.set("defaults", defaults)

	argmap := &jnode{kind: '['}
	for _, a := range f.Argmap {
		argmap.vals = append(argmap.vals, &jnode{kind: '"', raw: valuetext.JSONString(a)})
	}
	if old := entry.get("argmap"); old == nil || old.compact() != argmap.compact() {
		differs("argmap", old, f.Name+"("+strings.Join(f.Argmap, ", ")+")")
	}
	entry.set("argmap", argmap)
	return problems
}

// sameValue reports whether two JSON values are equal as ThingsDB reads
// them; asFloat: numbers compare as floats (a float argument's 2 and 2.0).
func sameValue(a, b *jnode, asFloat bool) bool {
	decode := func(n *jnode) any {
		var v any
		d := json.NewDecoder(strings.NewReader(n.compact()))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return nil
		}
		return v
	}
	va, vb := decode(a), decode(b)
	if asFloat {
		na, okA := va.(json.Number)
		nb, okB := vb.(json.Number)
		if okA && okB {
			x, errA := na.Float64()
			y, errB := nb.Float64()
			return errA == nil && errB == nil && x == y && !math.IsNaN(x)
		}
	}
	return reflect.DeepEqual(normalNumbers(va), normalNumbers(vb))
}

// normalNumbers makes 1.0 and 1.0e0 the same, and 1 and 1.0 different.
func normalNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
		x, _ := v.Float64()
		return x
	case []any:
		for i := range v {
			v[i] = normalNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = normalNumbers(v[k])
		}
	}
	return v
}

// The lines around README.md's functions section.
const (
	functionsStart = "<!-- functions: written by `%s` from the code -->"
	functionsEnd   = "<!-- end of functions -->"
)

var installVersion = regexp.MustCompile(`(new_module\([^\n]*@v)[0-9]+(?:\.[0-9]+){0,2}`)

// syncREADME writes the functions section and the version of the install
// lines.
func syncREADME(readme []byte, entries []sectionEntry, version string, opts SyncOptions) []byte {
	text := string(readme)
	start := fmt.Sprintf(functionsStart, opts.Command)
	if i := strings.Index(text, start+"\n"); i >= 0 {
		body := i + len(start) + 1
		if j := strings.Index(text[body:], functionsEnd); j >= 0 {
			text = text[:body] + FunctionsSection(opts.Module, entries) + "\n" + text[body+j:]
		}
	}
	if version != "" {
		text = installVersion.ReplaceAllString(text, "${1}"+version)
	}
	return []byte(text)
}

// WriteSynced writes the files that differ.
func WriteSynced(dir string, s *Synced) error {
	if !bytes.Equal(s.Manifest, s.OldManifest) {
		if err := os.WriteFile(filepath.Join(dir, "module.json"), s.Manifest, 0o644); err != nil {
			return err
		}
	}
	if s.README != nil && !bytes.Equal(s.README, s.OldREADME) {
		return os.WriteFile(filepath.Join(dir, "README.md"), s.README, 0o644)
	}
	return nil
}

// jnode is a JSON value that keeps its keys in order and its scalars as
// written: what sync changes in module.json, the rest untouched.
type jnode struct {
	kind byte // '{', '[', or '"' for a string, 'v' for another scalar
	keys []string
	vals []*jnode
	raw  string // a scalar as JSON
}

func (n *jnode) get(key string) *jnode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *jnode) set(key string, v *jnode) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// parseOrdered reads one JSON value.
func parseOrdered(data []byte) (*jnode, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	n, err := parseJNode(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return n, nil
}

func parseJNode(d *json.Decoder) (*jnode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jnode{kind: byte(t)}
		for d.More() {
			if t == '{' {
				key, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key.(string))
			}
			v, err := parseJNode(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := d.Token(); err != nil {
			return nil, err
		}
		if t == '{' {
			// A repeated key keeps its first value, as ThingsDB reads it.
			seen := map[string]bool{}
			var keys []string
			var vals []*jnode
			for i, k := range n.keys {
				if !seen[k] {
					seen[k] = true
					keys, vals = append(keys, k), append(vals, n.vals[i])
				}
			}
			n.keys, n.vals = keys, vals
		}
		return n, nil
	case string:
		return &jnode{kind: '"', raw: valuetext.JSONString(t)}, nil
	case json.Number:
		return &jnode{kind: 'v', raw: string(t)}, nil
	case bool:
		return &jnode{kind: 'v', raw: strconv.FormatBool(t)}, nil
	case nil:
		return &jnode{kind: 'v', raw: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// python writes n as Python's json.dumps(indent=2, ensure_ascii=False)
// does: how the template writes module.json.
func (n *jnode) python(depth int) string {
	switch n.kind {
	case '{', '[':
		if len(n.vals) == 0 {
			if n.kind == '{' {
				return "{}"
			}
			return "[]"
		}
		inner := strings.Repeat("  ", depth+1)
		var b strings.Builder
		b.WriteByte(n.kind)
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n" + inner)
			if n.kind == '{' {
				b.WriteString(valuetext.JSONString(n.keys[i]) + ": ")
			}
			b.WriteString(v.python(depth + 1))
		}
		b.WriteString("\n" + strings.Repeat("  ", depth))
		if n.kind == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
		return b.String()
	}
	return n.raw
}

// compact writes n on one line as json.dumps does by default.
func (n *jnode) compact() string {
	switch n.kind {
	case '{', '[':
		var b strings.Builder
		b.WriteByte(n.kind)
		for i, v := range n.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			if n.kind == '{' {
				b.WriteString(valuetext.JSONString(n.keys[i]) + ": ")
			}
			b.WriteString(v.compact())
		}
		if n.kind == '{' {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
		return b.String()
	}
	return n.raw
}

// sameDoc reports whether doc is f's signature written another way: the
// keys of a default thing in another order, a float's 2 as 2.0.
func sameDoc(doc string, f Function) bool {
	inner, ok := strings.CutPrefix(doc, f.Name+"(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return false
	}
	parts := splitTopLevel(strings.TrimSuffix(inner, ")"))
	if strings.TrimSpace(inner) == ")" {
		parts = nil
	}
	want := len(f.Arguments)
	if slices.Contains(f.Argmap, "*") {
		want++
	}
	if len(parts) != want {
		return false
	}
	defaults := map[string]json.RawMessage{}
	for _, d := range f.Defaults {
		defaults[d.Name] = d.Value
	}
	for i, a := range f.Arguments {
		head, value, hasDefault := strings.Cut(parts[i], "=")
		name, typ, _ := strings.Cut(head, ":")
		if strings.TrimSpace(name) != a.Name || strings.TrimSpace(typ) != a.Type || hasDefault != a.Optional {
			return false
		}
		if hasDefault {
			old, err := parseOrdered([]byte(value))
			code, err2 := parseOrdered(defaults[a.Name])
			if err != nil || err2 != nil || !sameValue(old, code, a.Type == "float") {
				return false
			}
		}
	}
	return want == len(f.Arguments) || strings.TrimSpace(parts[len(parts)-1]) == "*"
}

// splitTopLevel splits text at the commas outside brackets and strings.
func splitTopLevel(text string) []string {
	var parts []string
	depth, start, inString, escaped := 0, 0, false, false
	for i, r := range text {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				inString = false
			}
		case r == '"':
			inString = true
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			parts = append(parts, text[start:i])
			start = i + 1
		}
	}
	return append(parts, text[start:])
}

// readmeEntries are the README's functions in module.json's order: the
// functions the code serves and the closures.
func readmeEntries(root *jnode, functions []Function) []sectionEntry {
	served := map[string]Function{}
	for _, f := range functions {
		served[f.Name] = f
	}
	var entries []sectionEntry
	if exposes := root.get("exposes"); exposes != nil {
		for i, name := range exposes.keys {
			if v := exposes.vals[i]; v.kind == '"' {
				var closure string
				_ = json.Unmarshal([]byte(v.raw), &closure)
				entries = append(entries, sectionEntry{Name: name, Closure: &closure})
			} else if f, ok := served[name]; ok {
				// module.json's doc: sync keeps its spelling of the same signature.
				if doc := v.get("doc"); doc != nil && doc.kind == '"' {
					_ = json.Unmarshal([]byte(doc.raw), &f.Doc)
				}
				entries = append(entries, sectionEntry{Name: name, Function: f})
			}
		}
	}
	return entries
}
