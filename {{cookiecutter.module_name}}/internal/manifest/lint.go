package manifest

import (
	"os"
	"sort"
	"strconv"
	"strings"

	"{{ cookiecutter.go_module_path }}/internal/valuetext"
)

// Lint: what the parser accepts but a real install or a later release trips
// over.

// dispatchKey is the default each exposed function of this template's
// modules sets to its own name: ThingsDB does not tell a module which
// exposed function was called, so the module dispatches on it.
const dispatchKey = "function"

// machineAliases are the only machine names ThingsDB renames when it
// computes its platform key (src/util/osarch.c). So Go-style keys such as
// linux/arm64 never match on Linux ARM hosts, which report aarch64, armv7l
// or armv6l.
var machineAliases = map[string]string{"x86_64": "amd64", "x64": "amd64", "i386": "386", "i686": "386"}

// missingKeys are the keys ThingsDB computes on hosts that a Go-style key
// means but never matches.
var missingKeys = map[string][]string{
	"linux/arm64": {"linux/aarch64"},
	"linux/arm":   {"linux/armv7l", "linux/armv6l"},
}

// blobDirs are the folders whose files ThingsDB fetches as git blobs; it
// lists only their top level.
var blobDirs = map[string]bool{"bin": true, "blob": true, "blobs": true}

// Lint returns one-line problems of the manifest text; none means it is
// fine.
//
// First the server's verdict on every platform key that `main` lists (or on
// DefaultPlatform when `main` is a plain string): a manifest must be
// accepted wherever it claims to run. Then the problems the parser lets
// through. With a repoDir other than "", also the files it names, which
// must exist in that folder.
//
// It does not follow the imports of a Python `main` (the Python flavour's
// checker does, to find local modules that `includes` leaves out): a Go
// module's `main` entries are binaries in bin/, which carry their code.
func Lint(text, repoDir string) []string {
	tree := readTree(text)
	var platforms []string
	if tree.isMap() {
		platforms = mainPlatforms(tree)
	}
	checked := platforms
	if len(checked) == 0 {
		checked = []string{DefaultPlatform}
	}
	problems := parserProblems(read(text), checked)
	if !tree.isMap() {
		return problems
	}
	problems = append(problems, valueProblems(tree)...)
	problems = append(problems, keyProblems(platforms)...)

	var includes []*node
	for _, value := range tree.get("includes") {
		if value.isArray() {
			includes = append(includes, value.values...)
		}
	}
	for _, item := range includes {
		if item.isMap() {
			problems = append(problems, "`includes` holds a map: ThingsDB fails on one with the "+
				"node's own platform key and ignores the others; list plain paths")
			break
		}
	}

	files := namedFiles(tree, includes)
	for _, f := range files {
		top, rest, _ := strings.Cut(f.path, "/")
		if blobDirs[top] && strings.Contains(rest, "/") {
			problems = append(problems, f.what+" `"+f.path+"` is in a subfolder of "+top+
				"/: ThingsDB only finds files at the top level of "+top+"/, keep it flat")
		}
	}

	problems = append(problems, dispatchProblems(tree)...)
	if repoDir != "" {
		problems = append(problems, missingFiles(tree, files, repoDir)...)
	}
	return problems
}

// mainPlatforms is the keys of every `main` map, in order, each once.
func mainPlatforms(tree *node) []string {
	var keys []string
	seen := make(map[string]bool)
	for _, main := range tree.get("main") {
		if !main.isMap() {
			continue
		}
		for _, key := range main.keys {
			if !seen[key] {
				seen[key] = true
				keys = append(keys, key)
			}
		}
	}
	return keys
}

// parserProblems is the server's verdict on each platform. When all of them
// fail alike, or there is just one, the message is given once; otherwise
// each failing platform is named.
func parserProblems(r *reading, platforms []string) []string {
	verdicts := make([]string, len(platforms))
	distinct := make(map[string]bool)
	allFail := true
	for i, platform := range platforms {
		verdicts[i] = r.verdict(platform)
		if verdicts[i] == "" {
			allFail = false
		} else {
			distinct[verdicts[i]] = true
		}
	}
	if len(platforms) == 1 || len(distinct) == 1 && allFail {
		var problems []string
		for message := range distinct {
			problems = append(problems, message)
		}
		sort.Strings(problems)
		return problems
	}
	var problems []string
	for i, platform := range platforms {
		if verdicts[i] != "" {
			problems = append(problems, verdicts[i]+" (on "+platform+")")
		}
	}
	return problems
}

// valueProblems are the `requirements`, `doc` and `version` values the
// parser accepts but that do not work out.
func valueProblems(tree *node) []string {
	var problems []string
	for _, requirements := range tree.get("requirements") {
		// A non-empty map counts too, as in the Python checker, whose maps
		// are lists of pairs.
		if (requirements.isArray() || requirements.isMap()) && len(requirements.values) > 0 {
			problems = append(problems, "`requirements` is not installed on a module's first "+
				"install (ThingsDB checks the previously installed list): put the packages in "+
				"requirements.txt and remove the key")
			break
		}
	}
	for _, doc := range tree.get("doc") {
		if doc.isString() && strings.IndexByte(doc.scalar.text, 0) >= 0 {
			problems = append(problems, "`doc` holds a NUL character: ThingsDB cuts the text there, remove it")
			break
		}
	}
	if versions := tree.get("version"); len(versions) > 0 {
		number := ""
		switch v := versions[0]; v.kind {
		case kindInteger:
			number = strconv.FormatInt(v.scalar.integer, 10)
		case kindDouble:
			number = valuetext.Float(v.scalar.double)
		}
		if number != "" {
			problems = append(problems, "`version` is the number "+number+": ThingsDB reformats "+
				`numbers (1.0 becomes "1"), write it as a string such as "1.0.0"`)
		}
	}
	return problems
}

// keyProblems are `main` keys that ThingsDB never computes, and Go-style
// keys without the key ThingsDB computes on such hosts.
func keyProblems(platforms []string) []string {
	listed := make(map[string]bool, len(platforms))
	for _, key := range platforms {
		listed[key] = true
	}
	var problems []string
	for _, key := range platforms {
		system, machine, _ := strings.Cut(key, "/")
		if !isLowercase(key) {
			problems = append(problems, "`main` key `"+key+"` never matches: ThingsDB's keys are lowercase")
		} else if alias, ok := machineAliases[machine]; ok {
			problems = append(problems, "`main` key `"+key+"` never matches: ThingsDB computes `"+
				system+"/"+alias+"`")
		}
		wanted := missingKeys[key]
		found := false
		for _, k := range wanted {
			found = found || listed[k]
		}
		if len(wanted) == 0 || found {
			continue
		}
		names := "`" + strings.Join(wanted, "`, `") + "`"
		what := "not " + names + ", the key"
		if len(wanted) > 1 {
			what = "none of " + names + ", the keys"
		}
		problems = append(problems, "`main` has `"+key+"` but "+what+
			" ThingsDB computes on such hosts (`"+key+"` never matches there)")
	}
	return problems
}

// dispatchProblems are exposed functions the module could not tell apart:
// the dispatch key missing or taken.
func dispatchProblems(tree *node) []string {
	var problems []string
	for _, exposes := range tree.get("exposes") {
		if !exposes.isMap() {
			continue
		}
		for i, name := range exposes.keys {
			spec := exposes.values[i]
			if !spec.isMap() {
				continue // a closure runs in ThingsDB, not in the module
			}
			taken := false
			for _, argmap := range spec.get("argmap") {
				if !argmap.isArray() {
					continue
				}
				for _, item := range argmap.values {
					taken = taken || item.isString() && item.scalar.text == dispatchKey
				}
			}
			if taken {
				problems = append(problems, "exposed function `"+name+"` has `"+dispatchKey+
					"` in its argmap: a caller's argument would replace the key that says which "+
					"function was called")
			}
			var named []*node
			for _, defaults := range spec.get("defaults") {
				if defaults.isMap() {
					named = append(named, defaults.get(dispatchKey)...)
				}
			}
			if len(named) != 1 || !named[0].isString() || named[0].scalar.text != name {
				problems = append(problems, "exposed function `"+name+"` needs the default {"+
					quoteJSON(dispatchKey)+": "+quoteJSON(name)+"}: ThingsDB does not send which "+
					"function was called, the module dispatches on it")
			}
		}
	}
	return problems
}

// namedFile is a path that `main` or `includes` names.
type namedFile struct {
	path string
	what string // "`main` file" or "include file"
}

// namedFiles is every path in `main` and `includes`, each once.
func namedFiles(tree *node, includes []*node) []namedFile {
	var files []namedFile
	seen := make(map[namedFile]bool)
	add := func(value *node, what string) {
		values := []*node{value}
		if value.isMap() {
			values = value.values
		}
		for _, v := range values {
			if !v.isString() {
				continue
			}
			if f := (namedFile{v.scalar.text, what}); !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	for _, main := range tree.get("main") {
		add(main, "`main` file")
	}
	for _, item := range includes {
		add(item, "include file")
	}
	return files
}

// missingFiles are the named files that repoDir lacks, and requirements.txt
// when a Python `main` needs it.
func missingFiles(tree *node, files []namedFile, repoDir string) []string {
	var problems []string
	pythonMain := false
	for _, f := range files {
		if pathProblem(f.path) == "" && !isFile(joinPath(repoDir, f.path)) {
			problems = append(problems, f.what+" `"+f.path+"` does not exist in the repository")
		}
		pythonMain = pythonMain || f.what == "`main` file" && strings.HasSuffix(f.path, ".py")
	}
	if pythonMain && len(tree.get("requirements")) == 0 && !isFile(joinPath(repoDir, "requirements.txt")) {
		problems = append(problems, "requirements.txt does not exist: without a `requirements` key "+
			"ThingsDB installs a Python module's packages from it")
	}
	return problems
}

// joinPath puts name in dir without cleaning the result, so that "a.txt/."
// is looked up as it is written, like the Python checker does.
func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") || strings.HasSuffix(dir, string(os.PathSeparator)) {
		return dir + name
	}
	return dir + string(os.PathSeparator) + name
}

// isFile reports whether path is a regular file, following symbolic links.
func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
