package gobuild

import (
	"reflect"
	"testing"
)

func TestParseTableRefusesSharedKey(t *testing.T) {
	data := []byte(`{"a/x": {"goos": "a", "goarch": "x", "keys": ["a/x"]},
		"b/x": {"goos": "b", "goarch": "x", "keys": ["a/x"]}}`)
	if _, err := ParseTable(data); err == nil {
		t.Fatal("a key in two platforms was accepted")
	}
}

func TestForKeyFindsThePlatformOfAnyOfItsKeys(t *testing.T) {
	table := map[string]Platform{
		"linux/arm64": {GOOS: "linux", GOARCH: "arm64", Keys: []string{"linux/aarch64", "linux/arm64"}},
	}
	if p, ok := ForKey(table, "linux/aarch64"); !ok || p.GOARCH != "arm64" {
		t.Errorf("linux/aarch64: %+v, %v", p, ok)
	}
	if _, ok := ForKey(table, "linux/mips"); ok {
		t.Error("linux/mips has a platform")
	}
}

func TestEnvPinsTarget(t *testing.T) {
	env := Env([]string{"HOME=/h", "GOOS=plan9", "GOFLAGS=-race", "GOAMD64=v3"},
		Platform{GOOS: "linux", GOARCH: "amd64"})
	want := []string{"HOME=/h", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got %v, want %v", env, want)
	}
	env = Env(nil, Platform{GOOS: "linux", GOARCH: "arm", GOARM: "7"})
	if env[len(env)-1] != "GOARM=7" {
		t.Errorf("arm env %v lacks GOARM=7", env)
	}
}
