package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBadFlagOrArgumentIsOneErrorLine(t *testing.T) {
	dir := t.TempDir() // no module.json: nothing gets as far as building
	for _, c := range []struct {
		name  string
		argv  []string
		named string
	}{
		{"timeout-nan", []string{"--timeout", "nan", "echo", "1"}, "--timeout"},
		{"timeout-negative", []string{"--timeout=-1", "echo", "1"}, "--timeout"},
		{"timeout-missing", []string{"echo", "--timeout"}, "--timeout needs a value"},
		{"conf-not-json", []string{"--conf", "{bad", "echo", "1"}, "--conf: not JSON"},
		{"conf-nested-too-deeply", []string{"--conf", strings.Repeat("[", 5000), "echo"}, "--conf: nested too deeply"},
		{"conf-integer-beyond-64-bits", []string{"--conf", "18446744073709551616", "echo"}, "configuration cannot be sent as MessagePack"},
		{"unknown-flag", []string{"--bogus", "echo"}, "unknown flag --bogus"},
		{"verbose-with-a-value", []string{"--verbose=1", "echo"}, "--verbose takes no value"},
		{"no-function", []string{"--verbose"}, "name the function to call"},
		{"not-json", []string{"echo", "[1,2"}, `'[1,2' is not JSON; a string is written in JSON's double quotes, like '"[1,2"'`},
		{"plain-word", []string{"echo", "hello"}, `like '"hello"'`},
		{"json-nested-too-deeply", []string{"echo", strings.Repeat("[", 5000)}, "nested too deeply"},
		{"integer-beyond-64-bits", []string{"echo", "18446744073709551616"}, "arguments cannot be sent as MessagePack"},
		{"lone-surrogate", []string{"echo", `"\ud800"`}, "arguments cannot be sent as MessagePack"},
		{"not-utf-8", []string{"echo", "\"\xff\""}, "arguments cannot be sent as MessagePack"},
		{"bad-bytes-literal", []string{"echo", `b"\x4"`}, `is not a bytes literal like b"raw"`},
		{"no-module-json", []string{"--dir", dir, "echo", "1"}, "module.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(c.argv, &stdout, &stderr)
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if status != 2 || stdout.Len() != 0 || len(lines) != 1 ||
				!strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], c.named) {
				t.Errorf("exit status %d, stdout %q, stderr %q; want 2, nothing, one line naming %q",
					status, stdout.String(), stderr.String(), c.named)
			}
		})
	}
}

func TestFlagsMayComeAnywhereAndNegativeNumbersAreArguments(t *testing.T) {
	o, err := parseOptions([]string{"add", "-1", "--verbose", "-.5", "--timeout=2.5", "--dir", "x", "--", "--conf"})
	if err != nil {
		t.Fatal(err)
	}
	if o.function != "add" || !reflect.DeepEqual(o.words, []string{"-1", "-.5", "--conf"}) ||
		!o.verbose || o.timeout != 2500*time.Millisecond || o.dir != "x" || o.hasConf {
		t.Errorf("got %+v", o)
	}
	o, err = parseOptions([]string{"-conf", `{"prefix": "> "}`, "echo"})
	if err != nil || !o.hasConf || !reflect.DeepEqual(o.conf, map[string]any{"prefix": "> "}) {
		t.Errorf("got %+v, %v", o, err)
	}
	if o, err := parseOptions([]string{"--conf", "null", "echo"}); err != nil || o.hasConf {
		t.Errorf("a nil configuration is none, as in ThingsDB: got %+v, %v", o, err)
	}
}

func TestHelpPrintsTheUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := run([]string{"-h"}, &stdout, &stderr); status != 0 || !strings.HasPrefix(stdout.String(), usage) {
		t.Errorf("exit status %d, stdout %q, stderr %q", status, stdout.String(), stderr.String())
	}
}
