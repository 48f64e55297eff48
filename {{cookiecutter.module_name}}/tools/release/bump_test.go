package main

import (
	"strings"
	"testing"
)

func TestModuleFilesAreWhatMakesTheBinaries(t *testing.T) {
	manifest, err := readManifest([]byte(`{"main": {"linux/amd64": "bin/demo_linux_amd64"}, "includes": ["extra.txt"]}`), manifestName)
	if err != nil {
		t.Fatal(err)
	}
	candidates := []string{
		"main.go", "handlers.go", "handlers_test.go", "internal/wire/wire.go", "internal/wire/wire_test.go",
		"internal/wire/testdata/x.go", "tools/build/main.go", "tools/release/main.go", "go.mod", "go.sum",
		"bin/demo_linux_amd64", "bin/old", "extra.txt", "README.md", ".github/workflows/ci.yml", "module.json",
	}
	got := strings.Join(moduleFiles(manifest, candidates), " ")
	want := "main.go handlers.go internal/wire/wire.go go.mod go.sum bin/demo_linux_amd64 bin/old extra.txt"
	if got != want {
		t.Errorf("moduleFiles:\n got %s\nwant %s", got, want)
	}
}
