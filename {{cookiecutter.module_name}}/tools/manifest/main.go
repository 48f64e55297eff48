// Command manifest checks module.json the way the ThingsDB server reads it,
// and for what the server accepts but a real install or a later release
// trips over. Run it from the repository root:
//
//	go run ./tools/manifest                        # checks module.json
//	go run ./tools/manifest path/to/module.json
//	go run ./tools/manifest --platform linux/aarch64
//	go run ./tools/manifest sync                   # module.json, README.md from handlers.go
//	go run ./tools/manifest sync --check           # only says what sync would change
//
// It prints "PATH: ok" and exits 0, or one "PATH: problem" line per problem
// and exits 1. It exits 2, with one line on stderr, when the file cannot be
// read or the arguments do not fit.
//
// Without --platform it gives the server's verdict on every platform key of
// `main` and the other rules of manifest.Lint; the files module.json names
// are looked up next to it. With --platform KEY it gives only the server's
// verdict on a node with that platform key (manifest.Check).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"{{ cookiecutter.go_module_path }}/internal/manifest"
)

const usage = "usage: go run ./tools/manifest [--platform KEY] [PATH]  (default: module.json)"

func main() {
	stdout := bufio.NewWriter(os.Stdout)
	status := run(os.Args[1:], stdout, os.Stderr)
	if err := stdout.Flush(); err != nil && status == 0 {
		status = 2
	}
	os.Exit(status)
}

// run is the command: its exit status for args.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sync" {
		return runSync(args[1:], stdout, stderr)
	}
	path, platform, ok := parseArgs(args)
	if !ok {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	data, err := os.ReadFile(path)
	if err != nil {
		say(stderr, path, "cannot read the file: "+strerror(err))
		return 2
	}
	var problems []string
	if platform == nil {
		problems = manifest.Lint(string(data), dirname(path))
	} else if problem := manifest.Check(string(data), *platform); problem != "" {
		problems = []string{problem}
	}
	for _, problem := range problems {
		say(stdout, path, problem)
	}
	if len(problems) > 0 {
		return 1
	}
	say(stdout, path, "ok")
	return 0
}

// parseArgs reads [--platform KEY | --platform=KEY] [PATH]; the platform is
// nil when not given. False when the arguments do not fit or ask for help.
func parseArgs(args []string) (path string, platform *string, ok bool) {
	path = "module.json"
	pathGiven := false
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "-h" || arg == "--help":
			return "", nil, false
		case arg == "--platform" || strings.HasPrefix(arg, "--platform="):
			if platform != nil {
				return "", nil, false
			}
			key, hasValue := strings.CutPrefix(arg, "--platform=")
			if !hasValue {
				i++
				if i == len(args) {
					return "", nil, false
				}
				key = args[i]
			}
			platform = &key
		case pathGiven:
			return "", nil, false
		default:
			path, pathGiven = arg, true
		}
	}
	return path, platform, true
}

// say writes "PATH: message" on one line. Characters a terminal cannot show
// are written as escapes: bytes of the path that are not UTF-8 as \udcXX,
// and surrogates that a module.json escape put in the message as \uXXXX, as
// the Python flavour's checker writes them.
func say(w io.Writer, path, message string) {
	fmt.Fprintf(w, "%s: %s\n", escapePath(path), escapeMessage(message))
}

func escapePath(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); {
		r, size := utf8.DecodeRuneInString(path[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\udc%02x`, path[i])
		} else {
			b.WriteString(path[i : i+size])
		}
		i += size
	}
	return b.String()
}

func escapeMessage(message string) string {
	var b strings.Builder
	for i := 0; i < len(message); {
		if s := message[i:]; len(s) >= 3 && s[0] == 0xED && 0xA0 <= s[1] && s[1] <= 0xBF &&
			0x80 <= s[2] && s[2] <= 0xBF {
			fmt.Fprintf(&b, `\u%04x`, 0xD000|rune(s[1]&0x3F)<<6|rune(s[2]&0x3F))
			i += 3
			continue
		}
		b.WriteByte(message[i])
		i++
	}
	return b.String()
}

// strerror is the system's own text for err, as C's strerror() writes it
// ("No such file or directory").
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		text := errno.Error()
		if text != "" {
			text = strings.ToUpper(text[:1]) + text[1:]
		}
		return text
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	return err.Error()
}

// dirname is the folder of path, "." when it has none, as the Python
// checker's os.path.dirname(path) or ".": the path is not cleaned, so
// "a/../module.json" looks in "a/..".
func dirname(path string) string {
	isSep := func(c byte) bool { return c == '/' || c == os.PathSeparator }
	i := len(path)
	for i > 0 && !isSep(path[i-1]) {
		i--
	}
	head := path[:i]
	trimmed := strings.TrimRightFunc(head, func(r rune) bool { return r < utf8.RuneSelf && isSep(byte(r)) })
	if trimmed != "" {
		head = trimmed
	}
	if head == "" {
		return "."
	}
	return head
}
