{%- set handled = cookiecutter.functions | handled_signatures -%}
{%- set bare = handled | selectattr("bare") | list -%}
package main

// Your functions{% if cookiecutter.needs_config %} and configuration{% endif %} over the wire, called exactly as ThingsDB
// calls them.
//
// This file is yours. The examples next to each function in handlers.go run
// here as ThingsDB sends them: the request is built from module.json (its
// argmap and defaults) and goes through the module's process. Adding a
// function needs no change here. integration_test.go calls the same examples
// through a real ThingsDB.

import (
	"fmt"
	"strings"
	"testing"

	timod "github.com/thingsdb/go-timod"

	"{{ cookiecutter.go_module_path }}/internal/module"
	"{{ cookiecutter.go_module_path }}/internal/peer"
)
{%- if cookiecutter.needs_config and bare %}

// prefixed is a function whose answer shows the configured prefix.
const prefixed = {{ bare[0].name | go_string }}
{%- endif %}

func TestEachExampleOverTheWire(t *testing.T) {
	t.Parallel()
	for _, f := range functions {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			m := startModule(t)
			for i, e := range f.Examples() {
				got, err := replyResult(callFunction(t, m, f.Name(), e.Args))
				if problem := f.Check(i+1, e, got, err); problem != "" {
					t.Errorf("%s%s", problem, moduleLog(m))
				}
			}
		})
	}
}

// replyResult is a reply as a handler's result: the value, or the error as a
// *module.Error.
func replyResult(reply peer.Package) (any, error) {
	if code, message, ok := reply.Failure(); ok {
		return nil, &module.Error{Code: timod.Ex(code), Msg: message}
	}
	value, err := reply.Result()
	if err != nil {
		return nil, err
	}
	return module.Canonical(value)
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
