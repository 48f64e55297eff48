package main

// Checks that module.json and README.md follow handlers.go, as
// `go run ./tools/manifest sync --check` does: CI's tests and a release run
// it. This file comes with the template; your own tests are in
// handlers_test.go.

import (
	"encoding/json"
	"io"
	"testing"

	"{{ cookiecutter.go_module_path }}/internal/manifest"
	"{{ cookiecutter.go_module_path }}/internal/module"
)

func TestServerTakesTheFunctions(t *testing.T) {
	_, err := module.NewServer(io.Discard, spec())
	if err != nil {
		t.Fatal(err)
	}
}

func TestModuleJSONAndREADMEFollowTheFunctions(t *testing.T) {
	// What `go run . -describe` prints, which sync reads.
	data, err := json.Marshal(module.Describe(functions))
	if err != nil {
		t.Fatal(err)
	}
	var described []manifest.Function
	if err := json.Unmarshal(data, &described); err != nil {
		t.Fatal(err)
	}
	synced, err := manifest.Sync(".", described,
		manifest.SyncOptions{Module: moduleName, Code: "handlers.go", Command: "go run ./tools/manifest sync"})
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range synced.Problems {
		t.Error(problem)
	}
}
