package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	timod "github.com/thingsdb/go-timod"
)

// wantCode fails t unless err is a *ModuleError with code.
func wantCode(t *testing.T, err error, code timod.Ex) {
	t.Helper()
	var me *ModuleError
	if !errors.As(err, &me) {
		t.Fatalf("got error %v, want a ModuleError with code %d", err, code)
	}
	if me.Code != code {
		t.Fatalf("got code %d (%s), want %d", me.Code, me.Msg, code)
	}
}

// checkReturnsValue checks a handler that returns its "value" argument.
func checkReturnsValue(t *testing.T, name string, handler HandlerFunc) {
	t.Helper()
	ctx := context.Background()
	for _, value := range []any{"hello", int64(42), nil, []any{"a", true}, map[string]any{"k": "v"}} {
		got, err := handler(ctx, DefaultConfig(), Args{functionKey: name, "value": value})
		if err != nil {
			t.Fatalf("%s(%#v): %v", name, value, err)
		}
		if !reflect.DeepEqual(got, value) {
			t.Errorf("%s(%#v) = %#v, want the value back", name, value, got)
		}
	}
	_, err := handler(ctx, DefaultConfig(), Args{functionKey: name})
	wantCode(t, err, timod.ExNumArguments)
{%- if cookiecutter.needs_config %}

	conf := Config{Prefix: "> "}
	got, err := handler(ctx, conf, Args{functionKey: name, "value": "hello"})
	if err != nil || got != "> hello" {
		t.Errorf("%s with prefix: got %#v, %v; want \"> hello\"", name, got, err)
	}
	got, err = handler(ctx, conf, Args{functionKey: name, "value": int64(42)})
	if err != nil || got != int64(42) {
		t.Errorf("%s with prefix, not a string: got %#v, %v; want 42 unchanged", name, got, err)
	}
{%- endif %}
}
{% for fn in cookiecutter.functions | function_names %}
func TestHandle{{ fn | go_name }}(t *testing.T) {
	checkReturnsValue(t, {{ fn | go_string }}, handle{{ fn | go_name }})
}
{% endfor %}
func TestHandlersHaveUniqueNames(t *testing.T) {
	if got := len(Handlers()); got != len(exposed) {
		t.Errorf("Handlers() has %d functions, exposed lists %d: a name is repeated", got, len(exposed))
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
		{"prefix not a string", map[string]any{"prefix": int8(1)}, timod.ExTypeError},
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
	if got := (Config{Prefix: "p-"}).WithPrefix([]byte("x")); !reflect.DeepEqual(got, []byte("x")) {
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

func TestArgsGet(t *testing.T) {
	args := Args{"value": nil}
	if v, err := args.Get("value"); err != nil || v != nil {
		t.Errorf("a nil argument: got %#v, %v", v, err)
	}
	_, err := args.Get("other")
	wantCode(t, err, timod.ExNumArguments)
	if !strings.Contains(err.Error(), `"other"`) {
		t.Errorf("message %q does not name the argument", err)
	}
}
