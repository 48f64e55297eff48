package devnode

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newTestStandIn serves a folder holding module.json and main.go, with a
// binary held in memory as bin/demo_linux_amd64.
func newTestStandIn(t *testing.T) (*StandIn, *http.Client, *Authority) {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "module.json"), `{"version": "0.1.0"}`)
	writeFile(t, filepath.Join(root, "main.go"), "package main\n")
	writeFile(t, filepath.Join(root, ".git", "config"), "[core]\n")
	tree := NewTree(root)
	tree.Set("bin/demo_linux_amd64", []byte("\x7fELF binary"))
	authority, err := NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStandIn(authority, "owner", "repo", tree)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	proxy, _ := url.Parse(s.URL)
	client := &http.Client{Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxy),
		TLSClientConfig: &tls.Config{RootCAs: authority.Pool()},
	}}
	t.Cleanup(client.CloseIdleConnections)
	return s, client, authority
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, client *http.Client, path, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://api.github.com"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestStandInAnswersAsGitHub(t *testing.T) {
	_, client, _ := newTestStandIn(t)

	status, body := get(t, client, "/repos/owner/repo/contents/module.json?ref=dev", rawType)
	if status != 200 || string(body) != `{"version": "0.1.0"}` {
		t.Errorf("raw module.json: %d %q", status, body)
	}

	status, body = get(t, client, "/repos/owner/repo/contents/main.go", "application/vnd.github.v3+json")
	var file struct{ Content string }
	if err := json.Unmarshal(body, &file); status != 200 || err != nil {
		t.Fatalf("main.go as JSON: %d %q", status, body)
	}
	if content, _ := base64.StdEncoding.DecodeString(file.Content); string(content) != "package main\n" {
		t.Errorf("main.go as JSON holds %q", content)
	}

	// ThingsDB lists bin/ (not on disk: held in memory) for the binary's
	// sha, then downloads the blob.
	status, body = get(t, client, "/repos/owner/repo/contents/bin?ref=v1", "application/vnd.github.v3+json")
	var listing []Entry
	if err := json.Unmarshal(body, &listing); status != 200 || err != nil || len(listing) != 1 {
		t.Fatalf("bin/ listing: %d %q", status, body)
	}
	if e := listing[0]; e.Path != "bin/demo_linux_amd64" || e.SHA != gitSHA([]byte("\x7fELF binary")) {
		t.Errorf("bin/ listing: %+v", e)
	}
	status, body = get(t, client, "/repos/owner/repo/git/blobs/"+listing[0].SHA+"?ref=v1", rawType)
	if status != 200 || string(body) != "\x7fELF binary" {
		t.Errorf("blob: %d %q", status, body)
	}

	for _, path := range []string{
		"/repos/other/repo/contents/module.json",
		"/repos/owner/repo/contents/.git/config",
		"/repos/owner/repo/contents/../module.json",
		"/repos/owner/repo/contents/missing.go",
		"/repos/owner/repo/git/blobs/" + strings.Repeat("0", 40),
	} {
		if status, _ := get(t, client, path, rawType); status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, status)
		}
	}
}

func TestGitSHA(t *testing.T) {
	// git hash-object of "hello\n"
	if got := gitSHA([]byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("gitSHA = %s", got)
	}
}

func TestStandInTunnelsOtherHosts(t *testing.T) {
	s, _, _ := newTestStandIn(t)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		c, err := echo.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "CONNECT "+echo.Addr().String()+" HTTP/1.1\r\nHost: "+echo.Addr().String()+"\r\n\r\n")
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	io.WriteString(conn, "hello")
	conn.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "hello" {
		t.Errorf("through the tunnel: %q %v", got, err)
	}
}

func TestStandInRefusesAnUntrustedClient(t *testing.T) {
	s, _, _ := newTestStandIn(t)
	proxy, _ := url.Parse(s.URL)
	// The system's roots do not hold the throwaway authority.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	defer client.CloseIdleConnections()
	if _, err := client.Get("https://api.github.com/repos/owner/repo/contents/module.json"); err == nil {
		t.Error("a client without the authority trusted the stand-in")
	}
}
