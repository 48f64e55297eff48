// Command release releases the module: module.json's "version" is its one
// version.
//
// ThingsDB installs a module from a tag (new_module(name,
// 'github.com/OWNER/REPO@vX.Y.Z')) and re-installs it only when the version
// in module.json changes. A release is therefore: run the checks, bump that
// version and the README's install lines, rebuild bin/, commit, tag
// v<version> and push. CI checks the pushed tag and creates the GitHub
// release; the Release workflow (Actions tab) runs this same command and
// creates the release itself.
//
// Run it from the repository root:
//
//	go run ./tools/release release 0.2.0            check, bump, build bin/, commit, tag v0.2.0
//	                                                and push, from the default branch only
//	go run ./tools/release release 0.2.0 --no-push  the same, without pushing
//	go run ./tools/release check                    the checks a release runs first (CI runs these)
//	go run ./tools/release check-tag v0.2.0         does the checked-out tag match module.json,
//	                                                and do bin/'s binaries rebuild bit for bit?
//	go run ./tools/release check-bump               warn when module code changed since the
//	                                                last tag but the version did not
//
// Errors are one line on stderr and a non-zero exit status (2 for a bad
// command line); inside GitHub Actions, errors and warnings are workflow
// annotations instead.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
)

// usage is the help text; the check list is appended from the checks table.
const usage = `usage: go run ./tools/release COMMAND [ARGS]

Release the module: module.json's version is its one version.

commands:
  release VERSION [--no-push] [--remote NAME] [--skip-checks]
        run the checks, bump module.json's version (and the README's install
        lines), rebuild bin/, commit, tag v<VERSION> and push; from the default
        branch only
          --no-push      commit and tag, but do not push
          --remote NAME  the git remote to push to (default: the branch's
                         remote, or origin)
          --skip-checks  run only the module.json check (for CI, which ran the
                         others in an earlier step)
  check
        run the checks a release runs first, stopping at the first failure:
%s
  check-tag TAG
        check that TAG (v0.2.0, or refs/tags/v0.2.0) matches module.json's
        version and that bin/ rebuilds bit for bit from its source
  check-bump
        warn when module code changed since the last tag but the version did
        not
`

// usageError is a bad command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// interrupted is set by the first interrupt (Ctrl-C); the commands running
// then get it too, fail, and the release undoes what it changed.
var interrupted atomic.Bool

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt)
	go func() {
		<-signals
		interrupted.Store(true)
	}()
	os.Exit(run(os.Args[1:]))
}

// run runs the command line args and returns the exit status.
func run(args []string) int {
	cmd, err := parseArgs(args)
	if err == nil && cmd.help {
		fmt.Print(helpText())
		return 0
	}
	if err == nil {
		err = cmd.run()
	}
	var bad usageError
	switch {
	case err == nil:
		return 0
	case interrupted.Load(): // what failed, failed for the interrupt
		printError("interrupted")
		return 130
	case errors.As(err, &bad):
		printError(err.Error() + " (go run ./tools/release -h for help)")
		return 2
	default:
		printError(err.Error())
		return 1
	}
}

// helpText is usage with the checks listed.
func helpText() string {
	var list strings.Builder
	for _, c := range checks {
		fmt.Fprintf(&list, "          %s\n", c.command)
	}
	return fmt.Sprintf(usage, strings.TrimSuffix(list.String(), "\n"))
}

// command is a parsed command line.
type command struct {
	name       string
	arg        string // the version of release, the tag of check-tag
	noPush     bool
	skipChecks bool
	remote     string
	help       bool
}

// run runs the command.
func (c command) run() error {
	switch c.name {
	case "release":
		return cmdRelease(c.arg, !c.noPush, c.remote, !c.skipChecks)
	case "check":
		return cmdCheck()
	case "check-tag":
		return cmdCheckTag(c.arg)
	default:
		return cmdCheckBump()
	}
}

// parseArgs reads the command line. Flags may come before or after the
// argument, with one dash or two, as --remote NAME or --remote=NAME.
func parseArgs(args []string) (command, error) {
	var c command
	var positional, flags []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-h" || arg == "--help" || arg == "-help" || arg == "help" {
			return command{help: true}, nil
		}
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		flags = append(flags, arg)
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch name {
		case "no-push", "skip-checks":
			if hasValue {
				return c, usageError{fmt.Sprintf("the flag --%s takes no value", name)}
			}
			c.noPush = c.noPush || name == "no-push"
			c.skipChecks = c.skipChecks || name == "skip-checks"
		case "remote":
			if !hasValue {
				if i+1 == len(args) {
					return c, usageError{"the flag --remote needs a remote's name"}
				}
				i++
				value = args[i]
			}
			if value == "" {
				return c, usageError{"the flag --remote needs a remote's name"}
			}
			c.remote = value
		default:
			return c, usageError{fmt.Sprintf("unknown flag %s", quote(arg))}
		}
	}
	if len(positional) == 0 {
		return c, usageError{"give a command: release, check, check-tag or check-bump"}
	}
	c.name, positional = positional[0], positional[1:]
	release := c.name == "release"
	if !release && len(flags) > 0 {
		return c, usageError{fmt.Sprintf("%s takes no flags: %s", c.name, strings.Join(flags, " "))}
	}
	switch c.name {
	case "release", "check-tag":
		what := "the tag, like v0.2.0"
		if release {
			what = "the new version, like 0.2.0"
		}
		if len(positional) == 0 {
			return c, usageError{fmt.Sprintf("%s needs %s", c.name, what)}
		}
		c.arg, positional = positional[0], positional[1:]
	case "check", "check-bump":
	default:
		return c, usageError{fmt.Sprintf("unknown command %s: release, check, check-tag or check-bump", quote(c.name))}
	}
	if len(positional) > 0 {
		return c, usageError{fmt.Sprintf("%s takes no more arguments: %s", c.name, strings.Join(positional, " "))}
	}
	return c, nil
}

// inGitHubActions reports whether messages should be workflow annotations.
func inGitHubActions() bool {
	return os.Getenv("GITHUB_ACTIONS") == "true"
}

// oneLine collapses all white space, newlines included, to single spaces.
func oneLine(text string) string {
	return strings.Join(strings.Fields(text), " ")
}

// printError reports why the command stopped.
func printError(msg string) {
	if inGitHubActions() { // an annotation, shown in the log as well
		fmt.Printf("::error title=Release::%s\n", oneLine(msg))
		return
	}
	fmt.Fprintf(os.Stderr, "release: error: %s\n", oneLine(msg))
}

// printWarning reports something to look at that does not stop the command.
func printWarning(title, msg string) {
	if inGitHubActions() {
		fmt.Printf("::warning title=%s::%s\n", title, oneLine(msg))
		return
	}
	fmt.Fprintf(os.Stderr, "release: warning: %s\n", oneLine(msg))
}

// say prints progress.
func say(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

// quote writes s as Python's repr does for plain text, the form the
// messages use for values given by the user or read from files.
func quote(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// listed names up to max items, then how many more there are.
func listed(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:max], ", "), len(items)-max)
}
