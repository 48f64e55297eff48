{%- set handled = cookiecutter.functions | signatures | rejectattr("closure") | list -%}
{%- set bare = handled | selectattr("bare") | list -%}
{%- import "go_code.jinja" as go -%}
{#- A value of argument a as a canonical Go value: bytes as []byte, a number
    given to a float argument as float64 (the module answers a float). -#}
{%- macro value(a, v) -%}
{%- if v is none %}nil
{%- elif v.decode is defined %}[]byte({{ v.decode("latin-1") | go_string }})
{%- elif a.type == "float" and v is number %}float64({{ v }})
{%- else %}{{ go.go_value(v) }}
{%- endif -%}
{%- endmacro -%}
{%- macro go_list(items) -%}
[]any{ {{- items | join(", ") -}} }
{%- endmacro -%}
{%- macro go_thing(pairs) -%}
map[string]any{ {{- pairs | join(", ") -}} }
{%- endmacro -%}
{%- macro call_case(name, function, args, answer) %}
	{
{{- go.keyed([["name", name | go_string], ["function", function | go_string], ["args", go_list(args)], ["answer", answer]], "\t\t") }}
	},
{%- endmacro -%}
{#- A slice of the table's element type: one row a line, each row starting
    with a line break; gofmt writes an empty one on one line. -#}
{%- macro table(type, rows) -%}
[]{{ type }}{ {%- for row in rows %}{{ row }}{% endfor %}{% if rows %}
{% endif %}}
{%- endmacro -%}
package main

// Your functions{% if cookiecutter.needs_config %} and configuration{% endif %} over the wire, called exactly as ThingsDB
// calls them.
//
// This file is yours. It was generated from the signatures the module
// started with; the expected answers are what the placeholder functions
// return, so change them as you write each function, and add a line to each
// table when you add a function. The argument checks (a wrong type, a
// left-out argument) run before your code, so those cases keep passing until
// you change a signature. integration_test.go calls the same tables through
// a real ThingsDB.

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"{{ cookiecutter.go_module_path }}/internal/peer"
)

// call is one call of an exposed function, as ThingsDB gives it, and its answer.
type call struct {
	name     string // the case: the function, or "<function>-defaults" / "<function>-options"
	function string
	args     []any // positional arguments
	answer   any
}

// calls are the calls of each function and what the function answers:
// canonical values (int64, float64, []byte, []any, map[string]any).
{%- set rows = [] %}
{%- for f in handled %}
{%- set args = [] %}
{%- for a in f.arguments %}{% set _ = args.append(value(a, a.sample)) %}{% endfor %}
{%- if f.bare %}
{%- set _ = rows.append(call_case(f.name, f.name, args, value(f.arguments[0], f.arguments[0].sample))) %}
{%- else %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | go_string) ~ ": " ~ value(a, a.sample)) %}{% endfor %}
{%- if f.options %}{% set _ = answer.append('"options": map[string]any{}') %}{% endif %}
{%- set _ = rows.append(call_case(f.name, f.name, args, go_thing(answer))) %}
{%- set required = f.arguments | rejectattr("optional") | list %}
{%- if required | length < f.arguments | length %}
{%- set given = [] %}
{%- for a in required %}{% set _ = given.append(value(a, a.sample)) %}{% endfor %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | go_string) ~ ": " ~ value(a, a.default if a.optional else a.sample)) %}{% endfor %}
{%- if f.options %}{% set _ = answer.append('"options": map[string]any{}') %}{% endif %}
{%- set _ = rows.append(call_case(f.name ~ "-defaults", f.name, given, go_thing(answer))) %}
{%- endif %}
{%- if f.options %}
{%- set answer = [] %}
{%- for a in f.arguments %}{% set _ = answer.append((a.name | go_string) ~ ": " ~ value(a, a.sample)) %}{% endfor %}
{%- set _ = answer.append('"options": map[string]any{"key": "value"}') %}
{%- set _ = rows.append(call_case(f.name ~ "-options", f.name, args + ['map[string]any{"key": "value"}'], go_thing(answer))) %}
{%- endif %}
{%- endif %}
{%- endfor %}
var calls = {{ table("call", rows) }}

// wrongType is a call with an argument of a type its function refuses.
type wrongType struct {
	function                string
	args                    []any
	argument, expected, got string // the argument refused, its type, the type the call gave
}

// wrongTypes: function, arguments, the argument refused, its type, the type
// the call gave.
{%- set rows = [] %}
{%- for f in handled %}
{%- set typed = f.arguments | rejectattr("type", "equalto", "any") | list %}
{%- if typed %}
{%- set bad = typed[0] %}
{%- set args = [] %}
{%- for a in f.arguments %}{% set _ = args.append(value(a, a.wrong_sample if a.name == bad.name else a.sample)) %}{% endfor %}
{%- set _ = rows.append("\n\t{" ~ ([f.name | go_string, go_list(args), bad.name | go_string, bad.type | go_string, bad.wrong_sample_type | go_string] | join(", ")) ~ "},") %}
{%- endif %}
{%- endfor %}
var wrongTypes = {{ table("wrongType", rows) }}

// requiredArgument is the first argument of a function that a call cannot
// leave out.
type requiredArgument struct{ function, argument, expected string }

// requiredArguments: function, the first argument a call cannot leave out,
// its type.
{%- set rows = [] %}
{%- for f in handled %}
{%- set needed = f.arguments | rejectattr("optional") | rejectattr("type", "equalto", "any") | list %}
{%- if needed %}
{%- set _ = rows.append("\n\t{" ~ ([f.name | go_string, needed[0].name | go_string, needed[0].type | go_string] | join(", ")) ~ "},") %}
{%- endif %}
{%- endfor %}
var requiredArguments = {{ table("requiredArgument", rows) }}
{%- if cookiecutter.needs_config and bare %}

// prefixed is a function whose answer shows the configured prefix.
const prefixed = {{ bare[0].name | go_string }}
{%- endif %}

func TestEachCallGetsItsAnswer(t *testing.T) {
	t.Parallel()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			reply := callFunction(t, m, c.function, c.args)
			got, err := reply.Result()
			if err != nil || !reflect.DeepEqual(got, c.answer) {
				t.Errorf("%s, case %s:\nwant %s\ngot  %s%s",
					describeCall(c.function, c.args), c.name, peer.Render(c.answer), replyText(reply), moduleLog(m))
			}
		})
	}
}

func TestArgumentOfAWrongTypeIsATypeError(t *testing.T) {
	t.Parallel()
	if len(wrongTypes) == 0 {
		t.Skip("no function has an argument of a declared type")
	}
	for _, w := range wrongTypes {
		t.Run(w.function, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			reply := callFunction(t, m, w.function, w.args)
			message := fmt.Sprintf({{ argument_errors.type | go_format }}, w.function, w.argument, w.expected, w.got)
			wantFailure(t, m, describeCall(w.function, w.args), reply, "type_err", message)
		})
	}
}

func TestLeftOutArgumentIsANumArgumentsError(t *testing.T) {
	t.Parallel()
	if len(requiredArguments) == 0 {
		t.Skip("no function has a required argument of a declared type")
	}
	for _, r := range requiredArguments {
		t.Run(r.function, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			// ThingsDB sends a left-out argument as nil.
			reply := callFunction(t, m, r.function, nil)
			message := fmt.Sprintf({{ argument_errors.missing | go_format }}, r.function, r.argument, r.expected)
			wantFailure(t, m, describeCall(r.function, nil), reply, "num_arguments_err", message)
		})
	}
}
{%- if cookiecutter.needs_config %}

// --- configuration ---
{%- if bare %}

func TestConfigurationIsAcceptedAndApplied(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	wantConfigurationTaken(t, m, map[string]any{"prefix": "> "})
	reply := callFunction(t, m, prefixed, []any{"x"})
	if got, err := reply.Result(); err != nil || got != "> x" {
		t.Errorf("%s with prefix \"> \":\nwant %s\ngot  %s%s",
			describeCall(prefixed, []any{"x"}), peer.Render("> x"), replyText(reply), moduleLog(m))
	}
}
{%- else %}

func TestConfigurationIsAccepted(t *testing.T) {
	t.Parallel()
	wantConfigurationTaken(t, startModule(t), map[string]any{"prefix": "> "})
}
{%- endif %}

func TestConfigurationCanBeSentAgain(t *testing.T) {
	t.Parallel()
	m := startModule(t)
	wantConfigurationTaken(t, m, map[string]any{"prefix": "a"})
	wantConfigurationTaken(t, m, map[string]any{"prefix": "b"})
}

func TestBadConfigurationIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		conf  any
		error string
	}{
		{"not-a-thing", "text", "type_err"},
		{"wrong-type", map[string]any{"prefix": int64(1)}, "type_err"},
		{"unknown-option", map[string]any{"colour": "red"}, "value_err"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			wantConfigurationRefused(t, m, c.conf, c.error)
		})
	}
}
{%- else %}

func TestConfigurationIsRefusedAsTheModuleTakesNone(t *testing.T) {
	t.Parallel()
	// Created with new_module() without a third argument, the module never
	// gets one from ThingsDB.
	wantConfigurationRefused(t, startModule(t), map[string]any{"prefix": "> "}, "value_err")
}
{%- endif %}

// callFunction calls function with args as ThingsDB does and returns the
// reply.
func callFunction(t *testing.T, m *peer.Module, function string, args []any) peer.Package {
	t.Helper()
	request, err := peer.BuildRequest(moduleManifest(t), function, args)
	if err != nil {
		t.Fatalf("%s: %v", describeCall(function, args), err)
	}
	reply, err := m.Request(request, replyTimeout)
	if err != nil {
		t.Fatalf("%s: %v%s", describeCall(function, args), err, moduleLog(m))
	}
	return reply
}

// wantFailure fails the test unless reply is the error name with message.
func wantFailure(t *testing.T, m *peer.Module, call string, reply peer.Package, name, message string) {
	t.Helper()
	code, got, ok := reply.Failure()
	if reply.Type != peer.TypeErr || !ok || code != peer.ErrorCodes[name] || got != message {
		t.Errorf("%s:\nwant error %s (%d): %s\ngot  %s%s",
			call, name, peer.ErrorCodes[name], message, replyText(reply), moduleLog(m))
	}
}
{%- if cookiecutter.needs_config %}

// wantConfigurationTaken fails the test unless the module takes conf.
func wantConfigurationTaken(t *testing.T, m *peer.Module, conf map[string]any) {
	t.Helper()
	reply, err := m.Configure(conf, replyTimeout)
	if err != nil || reply.Pid != 0 || reply.Type != peer.TypeConfOK || len(reply.Body) != 0 {
		t.Fatalf("configuration %s:\nwant CONF_OK pid 0, empty\ngot  %s, %v%s",
			peer.Render(conf), reply, err, moduleLog(m))
	}
}
{%- endif %}

// wantConfigurationRefused fails the test unless the module refuses conf with
// the error name.
func wantConfigurationRefused(t *testing.T, m *peer.Module, conf any, name string) {
	t.Helper()
	reply, err := m.Configure(conf, replyTimeout)
	code, _, ok := reply.Failure()
	if err != nil || reply.Pid != 0 || reply.Type != peer.TypeConfErr || !ok || code != peer.ErrorCodes[name] {
		t.Errorf("configuration %s:\nwant CONF_ERR %s (%d) for pid 0\ngot  %s, %v%s",
			peer.Render(conf), name, peer.ErrorCodes[name], reply, err, moduleLog(m))
	}
}

// describeCall is a call as failure messages show it: the arguments as the
// try-out command takes them.
func describeCall(function string, args []any) string {
	words := make([]string, len(args))
	for i, arg := range args {
		words[i] = peer.Render(arg)
	}
	return function + "(" + strings.Join(words, ", ") + ")"
}

// replyText is a reply as failure messages show it.
func replyText(reply peer.Package) string {
	if code, message, ok := reply.Failure(); ok {
		return fmt.Sprintf("error %s (%d): %s", peer.ErrorName(code), code, message)
	}
	if reply.Type == peer.TypeRes {
		if text, err := reply.Render(); err == nil {
			return text
		}
	}
	return reply.String()
}

// moduleLog is the module's log for a failure message.
func moduleLog(m *peer.Module) string {
	return "\nthe module's log:\n" + strings.TrimRight(m.Stderr(), "\n")
}
