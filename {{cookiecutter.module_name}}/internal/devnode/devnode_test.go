package devnode

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"{{ cookiecutter.go_module_path }}/internal/module"
)

func TestWithVersion(t *testing.T) {
	in := "{\n  \"doc\": \"x\",\n  \"exposes\": {\"f\": {\"version\": 1}},\n  \"version\" : \"0.1.0\",\n  \"main\": {\"linux/amd64\": \"bin/x\"}\n}\n"
	got, err := WithVersion([]byte(in), "0.1.3")
	want := strings.Replace(in, `"0.1.0"`, `"0.1.3"`, 1)
	if err != nil || string(got) != want {
		t.Errorf("WithVersion:\n%s\n%v\nwant\n%s", got, err, want)
	}
	got, err = WithVersion([]byte(`{"version":1,"main":"x"}`), "2")
	if err != nil || string(got) != `{"version":"2","main":"x"}` {
		t.Errorf("a number version: %s %v", got, err)
	}
	if _, err := WithVersion([]byte(`{"main": {"version": "1"}}`), "2"); err == nil {
		t.Error("a nested version was taken for the module's")
	}
}

func TestRaiseVersion(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"0.1.0", 1, "0.1.1"},
		{"0.1.0", 2, "0.1.2"},
		{"1", 3, "4"},
		{"1.9", 1, "1.10"},
	} {
		if got, err := RaiseVersion(c.in, c.n); err != nil || got != c.want {
			t.Errorf("RaiseVersion(%q, %d) = %q, %v; want %q", c.in, c.n, got, err, c.want)
		}
	}
	if _, err := RaiseVersion("0.1.0-rc1", 1); err == nil {
		t.Error("0.1.0-rc1 was raised")
	}
}

func TestManifestFile(t *testing.T) {
	m, err := ParseManifest([]byte(`{"version": "0.1.0", "main": {"linux/amd64": "bin/a", "linux/aarch64": "bin/b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := m.File("linux/aarch64"); err != nil || f != "bin/b" {
		t.Errorf("File(linux/aarch64) = %q, %v", f, err)
	}
	if _, err := m.File("linux/armv7l"); err == nil || !strings.Contains(err.Error(), `"linux/armv7l"`) {
		t.Errorf("a missing key: %v", err)
	}
}

func TestPlatformFromUname(t *testing.T) {
	table, err := ReadPlatforms("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sys, machine, key, goarch, goarm string }{
		{"Linux", "x86_64", "linux/amd64", "amd64", ""},
		{"Linux", "aarch64", "linux/aarch64", "arm64", ""},
		{"Linux", "armv7l", "linux/armv7l", "arm", "7"},
		{"Linux", "i686", "linux/386", "386", ""},
		{"Darwin", "arm64", "darwin/arm64", "arm64", ""},
		{"FreeBSD", "amd64", "freebsd/amd64", "amd64", ""},
	} {
		p, err := platformFromUname(c.sys, c.machine, table)
		if err != nil || p.Key != c.key || p.GOARCH != c.goarch || p.GOARM != c.goarm {
			t.Errorf("%s %s: %+v, %v", c.sys, c.machine, p, err)
		}
	}
	if _, err := platformFromUname("Linux", "mips", table); err == nil {
		t.Error("mips has a build")
	}
}

func TestContainerArgs(t *testing.T) {
	cfg := NodeConfig{Port: 9200, Proxy: "http://127.0.0.1:4000", Bundle: "/tmp/b.crt", Image: "img:1", Name: "timod-dev-demo-1"}
	got := strings.Join(ContainerArgs(cfg, 9300), " ")
	want := "run --rm -d --name timod-dev-demo-1 --network host" +
		" -e THINGSDB_LISTEN_CLIENT_PORT=9200 -e THINGSDB_BIND_CLIENT_ADDR=127.0.0.1" +
		" -e THINGSDB_LISTEN_NODE_PORT=9300 -e THINGSDB_BIND_NODE_ADDR=127.0.0.1" +
		" -e THINGSDB_NODE_NAME=127.0.0.1 -e THINGSDB_IP_SUPPORT=IPV4ONLY" +
		" -e THINGSDB_HTTP_API_PORT=0 -e THINGSDB_WS_PORT=0 -e THINGSDB_HTTP_STATUS_PORT=0" +
		" -e THINGSDB_SHUTDOWN_PERIOD=0 -e https_proxy=http://127.0.0.1:4000" +
		" -v /tmp/b.crt:/etc/ssl/certs/ca-certificates.crt:ro img:1 --init --log-level info"
	if got != want {
		t.Errorf("ContainerArgs:\n got %s\nwant %s", got, want)
	}
}

func TestServerEnv(t *testing.T) {
	got := serverEnv([]string{"PATH=/bin", "THINGSDB_LISTEN_CLIENT_PORT=1", "HTTPS_PROXY=x", "no_proxy=y", "HOME=/h"}, "http://127.0.0.1:1")
	want := []string{"PATH=/bin", "HOME=/h", "https_proxy=http://127.0.0.1:1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("serverEnv = %q", got)
	}
}

func TestCheckPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := CheckPort(port); err == nil || !strings.Contains(err.Error(), "--port") {
		t.Errorf("a taken port: %v", err)
	}
	l.Close()
	if err := CheckPort(port); err != nil {
		t.Errorf("a free port: %v", err)
	}
}

func TestInstallConfiguration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "integration_test.go")
	writeFile(t, path, `//go:build integration

package main

var (
	installConfiguration = map[string]any{"prefix": "", "n": int64(-2), "on": true, "list": []any{1.5, nil}}
	goodConfiguration    = map[string]any{"prefix": "> "}
)
`)
	got, err := InstallConfiguration(path)
	want := map[string]any{"prefix": "", "n": int64(-2), "on": true, "list": []any{1.5, nil}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("InstallConfiguration = %#v, %v", got, err)
	}
	writeFile(t, path, "package main\n")
	if got, err := InstallConfiguration(path); got != nil || err != nil {
		t.Errorf("without one: %#v, %v", got, err)
	}
	if got, err := InstallConfiguration(filepath.Join(t.TempDir(), "missing.go")); got != nil || err != nil {
		t.Errorf("without the file: %#v, %v", got, err)
	}
}

func TestTryQuery(t *testing.T) {
	var d Description
	d.Name = "add"
	d.Examples = append(d.Examples,
		module.DescribedExample{Args: []string{"1", "'x'"}, Err: "type_err"},
		module.DescribedExample{Args: []string{"2", "3"}})
	if got := TryQuery("demo", d); got != "demo.add(2, 3).then(|r| r);" {
		t.Errorf("TryQuery = %q", got)
	}
}

func TestWatch(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "handlers.go"), "package main\n")
	writeFile(t, filepath.Join(root, "tools", "dev", "main.go"), "package main\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan []string)
	go Watch(ctx, root, 10*time.Millisecond, 30*time.Millisecond, changes)
	time.Sleep(50 * time.Millisecond) // the first scan

	// Neither tools/ nor tests make the module.
	writeFile(t, filepath.Join(root, "tools", "dev", "main.go"), "package main // changed\n")
	writeFile(t, filepath.Join(root, "handlers_test.go"), "package main\n")
	select {
	case files := <-changes:
		t.Fatalf("reported %v", files)
	case <-time.After(200 * time.Millisecond):
	}

	writeFile(t, filepath.Join(root, "handlers.go"), "package main // a longer file\n")
	writeFile(t, filepath.Join(root, "module.json"), "{}")
	select {
	case files := <-changes:
		if want := []string{"handlers.go", "module.json"}; !reflect.DeepEqual(files, want) {
			t.Errorf("changed %v, want %v", files, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
	}
}

func TestWriteBundle(t *testing.T) {
	authority, err := NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.crt")
	if err := WriteBundle(path, authority.PEM); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(string(data), string(authority.PEM)) {
		t.Errorf("the bundle does not end with the authority: %v", err)
	}
}

func TestRunRefuses(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	options := Options{Module: "demo", Owner: "o", Repo: "r", Dir: dir, Server: filepath.Join(dir, "thingsdb"), Port: 9200, Stdout: &out, Stderr: &out}
	if err := Run(context.Background(), options); err == nil || !strings.Contains(err.Error(), "module.json") {
		t.Errorf("without module.json: %v", err)
	}
	writeFile(t, filepath.Join(dir, "module.json"), `{"version": "0.1.0", "main": {"linux/amd64": "bin/demo"}}`)
	if err := Run(context.Background(), options); err == nil || err.Error() != "--server "+options.Server+": no such file" {
		t.Errorf("a missing server: %v", err)
	}
	if out.Len() > 0 {
		t.Errorf("printed %q", out.String())
	}
}
