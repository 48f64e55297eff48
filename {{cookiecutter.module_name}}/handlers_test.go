package main

// Tests of your handlers and configuration, called directly. This file is
// yours. The examples next to each function in handlers.go run here through
// the module's own argument checks, with the default configuration;
// functions_test.go runs them over the wire. Adding a function needs no
// change here. The machinery's own tests are in internal/; main_test.go
// checks that module.json and README.md follow handlers.go.

import (
	"context"
	"errors"
	"fmt"
{%- if not cookiecutter.needs_config %}
	"strings"
{%- endif %}
	"testing"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

// wantCode fails t unless err is a *module.Error with code.
func wantCode(t *testing.T, err error, code timod.Ex) {
	t.Helper()
	var e *module.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want a module.Error with code %d", err, code)
	}
	if e.Code != code {
		t.Fatalf("got code %d (%s), want %d", e.Code, e.Msg, code)
	}
}

func TestEachExampleGetsItsAnswer(t *testing.T) {
	for _, f := range functions {
		for i, e := range f.Examples() {
			t.Run(fmt.Sprintf("%s/%d", f.Name(), i+1), func(t *testing.T) {
				got, err := f.Call(context.Background(), DefaultConfig(), e.Args)
				if problem := f.Check(i+1, e, got, err); problem != "" {
					t.Error(problem)
				}
			})
		}
	}
}

func TestEveryFunctionHasAnExample(t *testing.T) {
	for _, f := range functions {
		if len(f.Examples()) == 0 {
			t.Errorf("%s has no examples: add a module.Example to its module.Func line in handlers.go", f.Name())
		}
	}
}
{% if cookiecutter.needs_config %}
func TestParseConfig(t *testing.T) {
	conf, err := ParseConfig(map[string]any{"prefix": "> "})
	if err != nil || conf.Prefix != "> " {
		t.Errorf("got %+v, %v; want prefix \"> \"", conf, err)
	}
	conf, err = ParseConfig(map[string]any{})
	if err != nil || conf != DefaultConfig() {
		t.Errorf("empty configuration: got %+v, %v; want the default", conf, err)
	}
}

func TestParseConfigRefuses(t *testing.T) {
	cases := []struct {
		name  string
		value any
		code  timod.Ex
	}{
		{"not a map", "prefix", timod.ExTypeError},
		{"nil", nil, timod.ExTypeError},
		{"list", []any{"prefix"}, timod.ExTypeError},
		{"prefix not a string", map[string]any{"prefix": int64(1)}, timod.ExTypeError},
		{"unknown key", map[string]any{"prefx": "> "}, timod.ExValueError},
		{"unknown key beside prefix", map[string]any{"prefix": "> ", "zzz": true}, timod.ExValueError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig(c.value)
			wantCode(t, err, c.code)
		})
	}
}

func TestWithPrefix(t *testing.T) {
	if got := (Config{}).WithPrefix("x"); got != "x" {
		t.Errorf("empty prefix: got %#v", got)
	}
	if got := (Config{Prefix: "p-"}).WithPrefix("x"); got != "p-x" {
		t.Errorf("got %#v, want \"p-x\"", got)
	}
	if got := (Config{Prefix: "p-"}).WithPrefix([]byte("x")); string(got.([]byte)) != "x" {
		t.Errorf("bytes: got %#v, want them unchanged", got)
	}
}
{%- else %}
func TestParseConfigRefusesEverything(t *testing.T) {
	for _, value := range []any{map[string]any{}, map[string]any{"prefix": ""}, nil, "x"} {
		_, err := ParseConfig(value)
		wantCode(t, err, timod.ExValueError)
		if !strings.Contains(err.Error(), "takes no configuration") {
			t.Errorf("ParseConfig(%#v): message %q does not say the module takes no configuration", value, err)
		}
	}
}
{%- endif %}
