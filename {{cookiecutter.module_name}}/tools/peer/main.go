// Command peer calls a function of this module the way ThingsDB does,
// without ThingsDB:
//
//	go run ./tools/peer echo '"hi"'
//	go run ./tools/peer --conf '{"prefix": "> "}' echo '"hi"'  # if it takes one
//
// It builds the module from the current sources (bin/ may hold an older
// build), starts it with socket pairs as stdin and stdout, sends the
// configuration when given one, then the request ThingsDB builds from
// module.json for the call, and prints the reply as JSON, bytes as b'...'.
// An error reply is printed as its ThingsDB name and code, and the exit
// status is 1; a bad flag or argument exits with status 2. (go run exits
// with 1 for both, after a line naming the command's own status.)
//
// Arguments are JSON, or bytes written as a Python bytes literal
// ('b"raw"'). A string is JSON too: write it in double quotes, inside single
// quotes for the shell ('"hello"'); a word that is not JSON is refused.
//
// Flags may come before or after the function; -- ends them.
//
//	--conf JSON    send this configuration first
//	--dir DIR      the module's directory (default: .)
//	--timeout S    seconds to wait for each answer (default: 10)
//	--verbose      print the module's log
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"{{ cookiecutter.go_module_path }}/internal/peer"
)

const usage = "usage: go run ./tools/peer [--conf JSON] [--dir DIR] [--timeout S] [--verbose] FUNCTION [ARG ...]"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line as read.
type options struct {
	conf     any
	hasConf  bool
	dir      string
	timeout  time.Duration
	verbose  bool
	help     bool
	function string
	words    []string
}

// usageError is a command line the command cannot take; it exits with 2.
type usageError struct{ message string }

func (e *usageError) Error() string { return e.message }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func parseOptions(argv []string) (*options, error) {
	o := &options{dir: ".", timeout: 10 * time.Second}
	var positional []string
	for i := 0; i < len(argv); i++ {
		word := argv[i]
		if word == "--" {
			positional = append(positional, argv[i+1:]...)
			break
		}
		if !isFlag(word) {
			positional = append(positional, word)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(word, "-"), "=")
		switch name {
		case "h", "help":
			o.help = true
			continue
		case "verbose":
			if hasValue {
				return nil, usagef("--verbose takes no value")
			}
			o.verbose = true
			continue
		case "conf", "dir", "timeout":
		default:
			return nil, usagef("unknown flag %s; %s", word, usage)
		}
		if !hasValue {
			if i+1 == len(argv) {
				return nil, usagef("--%s needs a value", name)
			}
			i++
			value = argv[i]
		}
		switch name {
		case "conf":
			conf, err := peer.ParseJSON(value)
			if errors.Is(err, peer.ErrNotPackable) {
				return nil, usagef("the configuration cannot be sent as MessagePack: %v", err)
			}
			if err != nil {
				return nil, usagef("--conf: %v", err)
			}
			// As in ThingsDB, nil is no configuration: none is sent.
			o.conf, o.hasConf = conf, conf != nil
		case "dir":
			o.dir = value
		case "timeout":
			seconds, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds <= 0 {
				return nil, usagef("--timeout: '%s' is not a number of seconds above 0", value)
			}
			o.timeout = time.Duration(min(seconds, float64(math.MaxInt64)/float64(time.Second)) * float64(time.Second))
		}
	}
	if o.help {
		return o, nil
	}
	if len(positional) == 0 {
		return nil, usagef("name the function to call; %s", usage)
	}
	o.function, o.words = positional[0], positional[1:]
	return o, nil
}

// isFlag tells a flag from an argument: a negative number or a lone - is an
// argument.
func isFlag(word string) bool {
	if len(word) < 2 || word[0] != '-' {
		return false
	}
	c := word[1]
	return !(c >= '0' && c <= '9' || c == '.')
}

func run(argv []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(argv)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	if o.help {
		fmt.Fprintln(stdout, usage)
		fmt.Fprintln(stdout, "Calls a function of this module the way ThingsDB does, without ThingsDB.")
		return 0
	}
	args := make([]any, len(o.words))
	for i, word := range o.words {
		if args[i], err = peer.ParseArgument(word); err != nil {
			if errors.Is(err, peer.ErrNotPackable) {
				fmt.Fprintf(stderr, "error: the arguments cannot be sent as MessagePack: %v\n", err)
			} else {
				fmt.Fprintf(stderr, "error: %v\n", err)
			}
			return 2
		}
	}
	manifest, err := peer.LoadManifest(o.dir)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	request, err := peer.BuildRequest(manifest, o.function, args)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	if _, err := peer.Marshal(request); err != nil {
		fmt.Fprintf(stderr, "error: the arguments cannot be sent as MessagePack: %v\n", err)
		return 2
	}
	binary, err := peer.Build(o.dir)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	defer os.RemoveAll(filepath.Dir(binary))
	if extra := peer.ExtraArguments(manifest, o.function, args); len(extra) > 0 {
		fmt.Fprintf(stderr, "note: not sent to the module: %s "+
			"(ThingsDB passes arguments beyond the argmap to the future's closure)\n", peer.Render(extra))
	}
	return call(o, request, binary, stdout, stderr)
}

// call starts the built module, configures it when asked to, sends the
// request and prints the answer.
func call(o *options, request map[string]any, binary string, stdout, stderr io.Writer) int {
	module, err := peer.Start([]string{binary}, o.dir)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	defer module.Stop()
	status := 0
	if err := converse(o, module, request, stdout); err != nil {
		status = 1
		var refused *peer.ModuleError
		if errors.As(err, &refused) {
			fmt.Fprintf(stderr, "error: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "error: %v; the module's log follows\n", err)
			module.Stop()
			fmt.Fprint(stderr, module.Stderr())
			return status
		}
	}
	if o.verbose {
		module.Stop()
		fmt.Fprint(stderr, module.Stderr())
	}
	return status
}

func converse(o *options, module *peer.Module, request map[string]any, stdout io.Writer) error {
	if o.hasConf {
		reply, err := module.Configure(o.conf, o.timeout)
		if err != nil {
			return err
		}
		if reply.Type != peer.TypeConfOK {
			code, message, ok := reply.Failure()
			if !ok {
				return fmt.Errorf("the module answered the configuration with %s", reply)
			}
			return &peer.ModuleError{Code: code, Message: "configuration rejected: " + message}
		}
	}
	reply, err := module.Request(request, o.timeout)
	if err != nil {
		return err
	}
	if _, err := reply.Result(); err != nil {
		return err
	}
	text, err := reply.Render()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, text)
	return nil
}
