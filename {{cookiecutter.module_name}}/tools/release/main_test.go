package main

import (
	"errors"
	"strings"
	"testing"
)

func TestParseArgsTakesFlagsAnywhere(t *testing.T) {
	tests := map[string]command{
		"release 0.2.0":                        {name: "release", arg: "0.2.0"},
		"release --no-push 0.2.0":              {name: "release", arg: "0.2.0", noPush: true},
		"release 0.2.0 -no-push --skip-checks": {name: "release", arg: "0.2.0", noPush: true, skipChecks: true},
		"release 0.2.0 --remote upstream":      {name: "release", arg: "0.2.0", remote: "upstream"},
		"release --remote=upstream 0.2.0":      {name: "release", arg: "0.2.0", remote: "upstream"},
		"check":                                {name: "check"},
		"check-tag refs/tags/v0.2.0":           {name: "check-tag", arg: "refs/tags/v0.2.0"},
		"check-bump":                           {name: "check-bump"},
		"release 0.2.0 -h":                     {help: true},
		"help":                                 {help: true},
	}
	for line, want := range tests {
		got, err := parseArgs(strings.Fields(line))
		if err != nil || got != want {
			t.Errorf("parseArgs(%q) = %+v, %v; want %+v", line, got, err, want)
		}
	}
	got, err := parseArgs([]string{"release", "--", "-1"})
	if err != nil || got.arg != "-1" {
		t.Errorf("after --: %+v, %v", got, err)
	}
}

func TestParseArgsRefusesInOneLine(t *testing.T) {
	tests := map[string]string{
		"":                        "give a command",
		"publish 0.2.0":           "unknown command 'publish'",
		"release":                 "release needs the new version, like 0.2.0",
		"release 0.2.0 0.3.0":     "release takes no more arguments: 0.3.0",
		"release 0.2.0 --push":    "unknown flag '--push'",
		"release 0.2.0 --remote":  "the flag --remote needs a remote's name",
		"release 0.2.0 --remote=": "the flag --remote needs a remote's name",
		"release --no-push=1 0.2": "the flag --no-push takes no value",
		"check-tag":               "check-tag needs the tag, like v0.2.0",
		"check-tag v1 --no-push":  "check-tag takes no flags: --no-push",
		"check-bump now":          "check-bump takes no more arguments: now",
		"check x y":               "check takes no more arguments: x y",
	}
	for line, want := range tests {
		_, err := parseArgs(strings.Fields(line))
		var bad usageError
		if !errors.As(err, &bad) || !strings.Contains(err.Error(), want) {
			t.Errorf("parseArgs(%q) = %v; want a usage error with %q", line, err, want)
		}
	}
}

func TestHelpListsTheChecks(t *testing.T) {
	help := helpText()
	for _, c := range checks {
		if !strings.Contains(help, c.command) {
			t.Errorf("the help lacks %q", c.command)
		}
	}
}

func TestQuoteIsPythonsRepr(t *testing.T) {
	tests := map[string]string{"0.1": "'0.1'", "it's": `"it's"`, `a'"b`: `'a\'"b'`, "": "''"}
	for s, want := range tests {
		if got := quote(s); got != want {
			t.Errorf("quote(%q) = %s; want %s", s, got, want)
		}
	}
}
