package main

import (
	"strings"
	"testing"
)

func TestRunRefusesBadArguments(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
		says   string
	}{
		{[]string{"--help"}, 0, "go run ./tools/dev test"},
		{[]string{"--port", "0"}, 2, "dev: --port 0 is not a port"},
		{[]string{"--bogus"}, 2, "-bogus"},
		{[]string{"extra"}, 2, `dev: unexpected argument "extra"`},
	} {
		var stdout, stderr strings.Builder
		status := run(c.args, &stdout, &stderr)
		if status != c.status || !strings.Contains(stdout.String()+stderr.String(), c.says) {
			t.Errorf("%v: status %d, printed %q %q; want %d and %q", c.args, status, stdout.String(), stderr.String(), c.status, c.says)
		}
	}
}
