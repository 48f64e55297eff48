package main

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// goRelease is a Go release as binaries record it (not a development build).
var goRelease = regexp.MustCompile(`^go1\.[0-9]+(\.[0-9]+)?$`)

// cmdCheckTag checks that the checked-out tag matches module.json's version
// and that bin/ rebuilds bit for bit from the tagged source.
func cmdCheckTag(tag string) error {
	if err := ensureRepository(); err != nil {
		return err
	}
	tag = strings.TrimPrefix(tag, "refs/tags/")
	v, ok := strings.CutPrefix(tag, tagPrefix)
	if !ok {
		return fmt.Errorf("the tag %s is not a release tag: releases are tagged v<version>", quote(tag))
	}
	if _, err := parseVersion(v, fmt.Sprintf("the tag %s's version", tag)); err != nil {
		return err
	}
	tagged := gitTry("rev-parse", "-q", "--verify", "refs/tags/"+tag+"^{commit}")
	if head, err := git("rev-parse", "HEAD"); err != nil {
		return err
	} else if tagged != "" && tagged != head {
		return fmt.Errorf("%s is not the checked-out commit: git checkout %s first", tag, tag)
	}
	if err := ensureClean(false); err != nil {
		return err
	}
	data, err := readManifestFile()
	if err != nil {
		return err
	}
	span, err := findVersion(data, manifestName)
	if err != nil {
		return err
	}
	if span.text != v {
		return fmt.Errorf("the tag %s does not match %s's version %s: tag the commit that sets the version to %s "+
			"(go run ./tools/release release %s)", tag, manifestName, quote(span.text), quote(v), v)
	}
	manifest, err := readManifest(data, manifestName)
	if err != nil {
		return err
	}
	builder, err := goReleaseOf(binaries(manifest))
	if err != nil {
		return err
	}
	var env []string
	shown := "the local Go"
	if builder != "" {
		// the same Go release as the one that built bin/ (GOTOOLCHAIN fetches it if need be)
		env = append(os.Environ(), "GOTOOLCHAIN="+builder)
		shown = builder
	}
	say("Rebuilding bin/ from the source of %s with %s (go run ./tools/build -check) ...", tag, shown)
	code, err := stream(env, "go", "run", "./tools/build", "-check")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("the binaries in bin/ at %s do not rebuild bit for bit from its source (see above): "+
			"release with go run ./tools/release or the Release workflow, which build bin/ before tagging", tag)
	}
	say("%s matches %s's version, and bin/ rebuilds bit for bit.", tag, manifestName)
	return nil
}

// goReleaseOf is the Go release that built the committed binaries, or ""
// when none records one.
//
// Go builds are reproducible with the same Go release only, so the tag
// check rebuilds with the release that built bin/ (Go fetches it when it is
// not the local one): bin/ may come from a local release or from the Release
// workflow alike.
func goReleaseOf(files []string) (string, error) {
	found := map[string]bool{}
	for _, file := range files {
		info, err := buildinfo.ReadFile(filepath.Join(root, file))
		if err == nil && goRelease.MatchString(info.GoVersion) {
			found[info.GoVersion] = true
		}
	}
	releases := make([]string, 0, len(found))
	for r := range found {
		releases = append(releases, r)
	}
	slices.Sort(releases)
	switch len(releases) {
	case 0:
		return "", nil
	case 1:
		return releases[0], nil
	}
	return "", fmt.Errorf("bin/ holds binaries of several Go releases (%s): "+
		"rebuild it with one (go run ./tools/build) and commit", strings.Join(releases, ", "))
}
