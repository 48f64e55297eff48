{%- set handled = cookiecutter.functions | signatures | rejectattr("closure") | list -%}
{%- set nullable = [] -%}
{%- for fn in handled %}{% for a in fn.arguments %}{% if a.optional and a.default is none and a.type in ("str", "int", "float", "bool") %}{% set _ = nullable.append(a) %}{% endif %}{% endfor %}{% endfor -%}
{%- import "go_code.jinja" as go -%}
{%- macro sample(a) -%}
{%- if a.type == "bytes" %}[]byte({{ a.sample.decode("latin-1") | go_string }})
{%- elif a.optional and a.default is none and a.type in ("str", "int", "float", "bool") %}ptr({{ go.go_value(a.sample) }})
{%- else %}{{ go.go_value(a.sample) }}
{%- endif -%}
{%- endmacro -%}
package main

// Tests of your handlers and configuration, called directly. This file is
// yours: it was generated from the signatures the module started with and
// checks what the placeholders answer, so change each test as you write its
// function. The machinery's own tests are in internal/; main_test.go checks
// that handlers.go and module.json agree.

import (
{%- if handled %}
	"context"
{%- endif %}
	"errors"
{%- if handled %}
	"reflect"
{%- endif %}
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
{%- if nullable %}

// ptr returns a pointer to v: the value of an optional argument whose
// default is null.
func ptr[T any](v T) *T { return &v }
{%- endif %}
{%- for fn in handled %}
{%- if fn.bare %}

func TestHandle{{ fn.go_name }}(t *testing.T) {
	ctx := context.Background()
	for _, value := range []any{"hello", int64(42), nil, []any{"a", true}, map[string]any{"k": "v"}} {
		got, err := handle{{ fn.go_name }}(ctx, DefaultConfig(), {{ fn.go_name }}Args{Value: value})
		if err != nil || !reflect.DeepEqual(got, value) {
			t.Errorf("{{ fn.name }}(%#v) = %#v, %v; want the value back", value, got, err)
		}
	}
{%- if cookiecutter.needs_config %}
	conf := Config{Prefix: "> "}
	got, err := handle{{ fn.go_name }}(ctx, conf, {{ fn.go_name }}Args{Value: "hello"})
	if err != nil || got != "> hello" {
		t.Errorf("with a prefix: got %#v, %v; want \"> hello\"", got, err)
	}
	got, err = handle{{ fn.go_name }}(ctx, conf, {{ fn.go_name }}Args{Value: int64(42)})
	if err != nil || got != int64(42) {
		t.Errorf("with a prefix, not a string: got %#v, %v; want 42 unchanged", got, err)
	}
{%- endif %}
}
{%- else %}
{%- set fields = [] %}
{%- set answer = [] %}
{%- for a in fn.arguments %}
{%- set _ = fields.append([a.go_field, sample(a)]) %}
{%- set _ = answer.append([a.name | go_string, sample(a)]) %}
{%- endfor %}
{%- if fn.options %}
{%- set _ = fields.append(["Options", 'map[string]any{"key": "value"}']) %}
{%- set _ = answer.append(['"options"', 'map[string]any{"key": "value"}']) %}
{%- endif %}

// TestHandle{{ fn.go_name }} calls {{ fn.name }} with sample arguments; the placeholder
// answers the thing of its arguments.
func TestHandle{{ fn.go_name }}(t *testing.T) {
{%- if fields %}
	args := {{ fn.go_name }}Args{
{{- go.keyed(fields, "\t\t") }}
	}
	want := map[string]any{
{{- go.keyed(answer, "\t\t") }}
	}
{%- else %}
	args := {{ fn.go_name }}Args{}
	want := map[string]any{}
{%- endif %}
	got, err := handle{{ fn.go_name }}(context.Background(), DefaultConfig(), args)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, %v; want %#v", got, err, want)
	}
}
{%- endif %}
{%- endfor %}
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
