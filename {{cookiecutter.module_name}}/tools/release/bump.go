package main

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
)

// cmdCheckBump warns when module code changed since the last tag but the
// version did not: ThingsDB would not re-install the module.
func cmdCheckBump() error {
	if err := ensureRepository(); err != nil {
		return err
	}
	tag := gitTry("describe", "--tags", "--abbrev=0", "--match", tagPrefix+"[0-9]*", "HEAD")
	if tag == "" {
		if gitTry("rev-parse", "--is-shallow-repository") == "true" {
			printWarning("Version check", "a shallow clone has no tags to compare with: check out with fetch-depth: 0")
		} else {
			say("No release tag yet: nothing to compare the version with.")
		}
		return nil
	}
	data, err := readManifestFile()
	if err != nil {
		return err
	}
	manifest, err := readManifest(data, manifestName)
	if err != nil {
		return err
	}
	span, err := findVersion(data, manifestName)
	if err != nil {
		return err
	}
	current := span.text

	// module.json at the tag may be anything: what cannot be read counts as empty.
	old := map[string]any{}
	oldVersion := ""
	if shown, err := capture(nil, "git", "show", tag+":"+manifestName); err == nil && shown.code == 0 {
		name := manifestName + " at " + tag
		if m, err := readManifest([]byte(shown.stdout), name); err == nil {
			if s, err := findVersion([]byte(shown.stdout), name); err == nil {
				old, oldVersion = m, s.text
			}
		}
	}
	if oldVersion != "" && current != oldVersion {
		say("%s's version changed since %s (%s -> %s).", manifestName, tag, oldVersion, current)
		return nil
	}

	diff, err := git("diff", "--name-only", "-z", tag, "--")
	if err != nil {
		return err
	}
	changed := strings.Split(strings.Trim(diff, "\x00"), "\x00")
	code := unique(append(moduleFiles(manifest, changed), moduleFiles(old, changed)...))
	if slices.Contains(changed, manifestName) && !reflect.DeepEqual(withoutVersion(manifest), withoutVersion(old)) {
		code = append([]string{manifestName}, code...)
	}
	if len(code) == 0 {
		say("No module code changed since %s; the version %s stays right.", tag, current)
		return nil
	}
	printWarning("Version not bumped", fmt.Sprintf(
		"module code changed since %s (%s) but %s's version is still %s: ThingsDB re-installs a module "+
			"only when the version changes. Release a new version (go run ./tools/release release %s, "+
			"or the Release workflow).", tag, listed(code, 5), manifestName, current, suggestNext(current)))
	return nil
}

// moduleFiles lists the files among candidates that ThingsDB installs or
// that make the binaries: the files module.json names, go.mod and go.sum,
// bin/, and the Go sources outside tools/ (tests excepted).
func moduleFiles(manifest map[string]any, candidates []string) []string {
	installed := map[string]bool{}
	switch main := manifest["main"].(type) {
	case string:
		installed[main] = true
	case map[string]any:
		for _, v := range main {
			if file, ok := v.(string); ok {
				installed[file] = true
			}
		}
	}
	if includes, ok := manifest["includes"].([]any); ok {
		for _, v := range includes {
			if file, ok := v.(string); ok {
				installed[file] = true
			}
		}
	}
	var files []string
	for _, p := range candidates {
		if p != "" && (installed[p] || isBuildInput(p)) {
			files = append(files, p)
		}
	}
	return files
}

// isBuildInput reports whether a file (a slash-separated path) goes into the
// binaries. tools/ holds commands of their own, not the module.
func isBuildInput(p string) bool {
	switch {
	case p == "go.mod" || p == "go.sum" || strings.HasPrefix(p, "bin/"):
		return true
	case path.Ext(p) != ".go" || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, "tools/"):
		return false
	}
	return !slices.Contains(strings.Split(p, "/"), "testdata")
}

// withoutVersion is a manifest without its version, for comparing the rest.
func withoutVersion(manifest map[string]any) map[string]any {
	rest := make(map[string]any, len(manifest))
	for k, v := range manifest {
		if k != "version" {
			rest[k] = v
		}
	}
	return rest
}

// unique sorts items and drops repeats.
func unique(items []string) []string {
	slices.Sort(items)
	return slices.Compact(items)
}
