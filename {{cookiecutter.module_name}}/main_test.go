package main

// Checks that handlers.go and module.json agree: every function has a handler
// and the arguments struct matches its argmap and defaults. This file comes
// with the template; your own tests are in handlers_test.go.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"testing"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

// functionKey is the request key that names the called function.
const functionKey = {{ function_key | go_string }}

func TestServerTakesTheFunctions(t *testing.T) {
	_, err := module.NewServer(io.Discard, spec())
	if err != nil {
		t.Fatal(err)
	}
}

// manifest is what this test reads of module.json.
type manifest struct {
	Defaults map[string]any             `json:"defaults"`
	Exposes  map[string]json.RawMessage `json:"exposes"`
}

// exposedFunction is an entry of "exposes" that is not a closure.
type exposedFunction struct {
	Defaults map[string]any `json:"defaults"`
	Argmap   *[]string      `json:"argmap"`
}

// asJSON makes a Go value and a value read from JSON comparable.
func asJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v (not JSON: %v)", v, err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return err.Error()
	}
	return out
}

func TestModuleJSONMatchesTheFunctions(t *testing.T) {
	data, err := os.ReadFile("module.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("module.json: %v", err)
	}
	handled := map[string]module.Function[Config]{}
	for _, f := range functions {
		handled[f.Name()] = f
	}
	for name, raw := range m.Exposes {
		var exposed exposedFunction
		if json.Unmarshal(raw, &exposed) != nil {
			continue // a closure (a string): it runs in ThingsDB itself
		}
		f, ok := handled[name]
		if !ok {
			t.Errorf("module.json exposes %s; handlers.go has no handler for it in functions", name)
			continue
		}
		delete(handled, name)
		defaults := map[string]any{}
		for key, value := range m.Defaults {
			defaults[key] = value
		}
		for key, value := range exposed.Defaults {
			defaults[key] = value
		}
		if defaults[functionKey] != name {
			t.Errorf("module.json: %s must set the default %q to %q", name, functionKey, name)
		}
		argmap := []string{"*"} // what ThingsDB makes of a missing argmap
		if exposed.Argmap != nil {
			argmap = *exposed.Argmap
		}
		var want []string
		for _, a := range f.Arguments() {
			want = append(want, a.Name)
			value, hasDefault := defaults[a.Name]
			switch {
			case a.Optional && !hasDefault:
				t.Errorf("%s: argument %s is optional in handlers.go but has no default in module.json", name, a.Name)
			case !a.Optional && hasDefault:
				t.Errorf("%s: argument %s has a default in module.json; tag it \",optional\" in handlers.go", name, a.Name)
			case a.Optional && !reflect.DeepEqual(asJSON(a.Default), value):
				t.Errorf("%s: the default of %s is %v in module.json but %#v in handlers.go (Defaults)", name, a.Name, value, a.Default)
			}
		}
		if f.Options() {
			want = append(want, "*")
		}
		if !slices.Equal(argmap, want) && !(len(argmap) == 0 && len(want) == 0) {
			t.Errorf("%s: module.json's argmap is %q; the msgpack tags of its arguments struct say %q", name, argmap, want)
		}
	}
	for name := range handled {
		t.Errorf("handlers.go serves %s; module.json does not expose it", name)
	}
}
