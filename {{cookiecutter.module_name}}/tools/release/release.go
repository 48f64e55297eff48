package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// cmdRelease checks the project, bumps the version, builds bin/, commits,
// tags v<version> and, with push, pushes the branch and the tag. With
// runAll false only the checks that need bin/ run (CI ran the others).
func cmdRelease(newVersion string, push bool, remote string, runAll bool) error {
	if err := ensureRepository(); err != nil {
		return err
	}
	next, err := parseVersion(newVersion, "the new version")
	if err != nil {
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
	if !isVersion(span.text) {
		return fmt.Errorf("%s's version %s is not a ThingsDB version; fix it by hand first", manifestName, quote(span.text))
	}
	if current, _ := parseVersion(span.text, ""); !current.less(next) {
		return fmt.Errorf("the new version %s must be greater than the current %s "+
			"(ThingsDB re-installs a module only when the version changes)", newVersion, span.text)
	}
	if err := ensureClean(true); err != nil {
		return err
	}
	tag := tagPrefix + newVersion
	if gitOK("rev-parse", "-q", "--verify", "refs/tags/"+tag) {
		return fmt.Errorf("the tag %s exists already", tag)
	}
	if !gitOK("var", "GIT_COMMITTER_IDENT") {
		return errors.New("git does not know who you are: set user.name and user.email")
	}
	branch := gitTry("symbolic-ref", "-q", "--short", "HEAD")
	if branch == "" {
		return errors.New("HEAD is detached: check out the default branch to release from")
	}
	if remote == "" {
		remote = gitTry("config", "branch."+branch+".remote")
	}
	if remote == "" {
		remote = "origin"
	}
	hasRemote := gitOK("remote", "get-url", remote)
	if push && !hasRemote {
		return fmt.Errorf("there is no git remote %s to push to (add one, or use --no-push)", quote(remote))
	}
	// ThingsDB installs from the tag itself: a tag on another branch is a release users get.
	mainBranch := defaultBranch(remote, hasRemote)
	if branch != mainBranch {
		return fmt.Errorf("releases are made from the default branch %s, not %s: merge it there first", mainBranch, branch)
	}
	if hasRemote {
		if err := ensureUpToDate(remote, branch); err != nil {
			return err
		}
	}
	if _, err := mustRun("go", "version"); err != nil {
		return err
	}

	before, err := git("rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if err := bumpAndCheck(data, newVersion, tag, runAll); err != nil {
		return err
	}
	if _, err := git("tag", "-a", tag, "-m", "Release "+tag); err != nil {
		undoRelease(before, tag)
		return err
	}
	short, _ := git("rev-parse", "--short", "HEAD")
	say("Committed and tagged %s (%s).", tag, short)

	if !push {
		say("Not pushed. To publish: git push --atomic %s %s %s", remote, branch, tag)
		return nil
	}
	code, err := stream(nil, "git", "push", "--atomic", remote, "HEAD:refs/heads/"+branch, "refs/tags/"+tag)
	if err != nil || code != 0 {
		undoRelease(before, tag)
		return fmt.Errorf("the push to %s failed, so the release commit and the tag %s were undone here; "+
			"pull, check, and release again", remote, tag)
	}
	say("Pushed %s and %s to %s. CI checks the tag and creates the GitHub release.", branch, tag, remote)
	return nil
}

// bumpAndCheck runs the checks, writing the new version and building bin/
// before the first check that needs bin/, then commits. Whatever stops it
// leaves the work tree as it was.
func bumpAndCheck(data []byte, newVersion, tag string, runAll bool) error {
	list := checks
	if !runAll {
		list = nil
		for _, c := range checks {
			if c.needsBin {
				list = append(list, c)
			}
		}
	}
	changed := false
	bump := func() error {
		changed = true
		if err := writeVersion(data, newVersion); err != nil {
			return err
		}
		say("Building bin/ for %s (go run ./tools/build) ...", tag)
		return build()
	}
	err := runChecks(list, bump)
	if err == nil && !changed {
		err = bump()
	}
	if err == nil {
		err = commit(tag)
	}
	if err == nil {
		return nil
	}
	if changed {
		restoreWorkTree()
	}
	var failed *checkError
	if errors.As(err, &failed) {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	return err
}

// writeVersion writes the new version into module.json and the README's
// install lines.
func writeVersion(data []byte, newVersion string) error {
	updated, err := withVersion(data, newVersion)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, manifestName), updated, 0o644); err != nil {
		return err
	}
	readme, err := os.ReadFile(filepath.Join(root, readmeName))
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if text := withInstallLines(string(readme), newVersion); text != string(readme) {
		return os.WriteFile(filepath.Join(root, readmeName), []byte(text), 0o644)
	}
	return nil
}

// commit commits the release: the version, the README and bin/.
func commit(tag string) error {
	if _, err := git("add", "--", manifestName); err != nil {
		return err
	}
	if fileExists(readmeName) {
		if _, err := git("add", "--", readmeName); err != nil {
			return err
		}
	}
	if _, err := git("add", "--all", "--", "bin"); err != nil {
		return err
	}
	_, err := git("commit", "-q", "-m", "Release "+tag)
	return err
}

// restoreWorkTree undoes a release that stopped before its commit (the work
// tree was clean before).
func restoreWorkTree() {
	for _, path := range []string{manifestName, readmeName, "bin"} {
		gitTry("reset", "-q", "--", path)
		gitTry("checkout", "-q", "--", path)
	}
	gitTry("clean", "-fdq", "--", "bin")
}

// undoRelease removes the release's tag and commit (the work tree was clean
// before the release).
func undoRelease(before, tag string) {
	gitTry("tag", "-d", tag)
	gitTry("reset", "-q", "--hard", before)
}

// defaultBranch is the remote's default branch (its HEAD), else
// init.defaultBranch, else main.
func defaultBranch(remote string, hasRemote bool) string {
	if hasRemote {
		listedRefs := gitTry("ls-remote", "--symref", remote, "HEAD")
		for _, line := range strings.Split(listedRefs, "\n") {
			ref, ok := strings.CutPrefix(line, "ref: refs/heads/")
			if name, isHead := strings.CutSuffix(ref, "\tHEAD"); ok && isHead {
				return name
			}
		}
		if known := gitTry("symbolic-ref", "-q", "--short", "refs/remotes/"+remote+"/HEAD"); known != "" {
			_, name, _ := strings.Cut(known, "/")
			return name
		}
	}
	if name := gitTry("config", "init.defaultBranch"); name != "" {
		return name
	}
	return "main"
}

// ensureUpToDate refuses when the remote branch has commits this one lacks
// (after fetching them).
func ensureUpToDate(remote, branch string) error {
	r, err := capture(nil, "git", "ls-remote", "--heads", remote, branch)
	if err != nil {
		return err
	}
	if r.code == 0 && strings.TrimSpace(r.stdout) == "" {
		return nil // the remote has no such branch yet: the release pushes it first
	}
	fetched, err := capture(nil, "git", "fetch", "-q", remote, branch)
	if err != nil {
		return err
	}
	if fetched.code != 0 {
		return fmt.Errorf("cannot fetch %s from %s: %s", branch, remote, oneLine(fetched.stderr))
	}
	behind, err := git("rev-list", "--count", "HEAD..FETCH_HEAD")
	if err != nil {
		return err
	}
	if behind != "0" {
		return fmt.Errorf("%s is %s commit(s) behind %s/%s: pull (and check) first", branch, behind, remote, branch)
	}
	return nil
}
