package devnode

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// apiHost is the host ThingsDB downloads modules from (src/ti/mod/github.c).
const apiHost = "api.github.com"

// rawType is the Accept header ThingsDB sends for a file's bytes.
const rawType = "application/vnd.github.v3.raw"

// StandIn is the node's HTTPS proxy: a CONNECT to api.github.com:443 is
// answered by the stand-in itself under a certificate of the Authority,
// serving one repository from a Tree; every other host is tunnelled
// untouched. The same endpoints answer plain HTTP to the stand-in's own
// address.
type StandIn struct {
	// URL is the proxy's address, http://127.0.0.1:PORT.
	URL string

	owner, repo string
	tree        *Tree
	listener    net.Listener
	proxy       *http.Server
	api         *http.Server
	tlsConns    *connListener

	mu    sync.Mutex
	conns map[net.Conn]struct{} // hijacked ones, closed by Close
}

// NewStandIn listens on 127.0.0.1 (a free port) and serves tree as
// github.com/owner/repo until Close.
func NewStandIn(authority *Authority, owner, repo string, tree *Tree) (*StandIn, error) {
	cert, err := authority.Issue(apiHost)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &StandIn{
		URL:      "http://" + listener.Addr().String(),
		owner:    owner,
		repo:     repo,
		tree:     tree,
		listener: listener,
		conns:    map[net.Conn]struct{}{},
	}
	s.tlsConns = newConnListener(listener.Addr())
	// A client that gives up (or does not trust the authority) is no news
	// for dev's output.
	quiet := log.New(io.Discard, "", 0)
	s.api = &http.Server{Handler: http.HandlerFunc(s.serveGitHub), ReadHeaderTimeout: time.Minute, ErrorLog: quiet}
	s.proxy = &http.Server{Handler: s, ReadHeaderTimeout: time.Minute, ErrorLog: quiet}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	go s.api.Serve(tls.NewListener(s.tlsConns, tlsConfig))
	go s.proxy.Serve(listener)
	return s, nil
}

// Close stops serving and closes every connection, tunnels included.
func (s *StandIn) Close() error {
	err := s.proxy.Close()
	s.api.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.conns = map[net.Conn]struct{}{}
	s.mu.Unlock()
	return err
}

// ServeHTTP is the proxy: CONNECT, or a plain request to the stand-in.
func (s *StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		s.serveGitHub(w, r)
		return
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		http.Error(w, "CONNECT takes HOST:PORT", http.StatusBadRequest)
		return
	}
	var upstream net.Conn
	github := strings.EqualFold(host, apiHost) && port == "443"
	if !github {
		if upstream, err = net.DialTimeout("tcp", r.Host, 30*time.Second); err != nil {
			http.Error(w, "cannot reach "+r.Host+": "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	conn, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	client := net.Conn(conn)
	if n := buffered.Reader.Buffered(); n > 0 {
		// Bytes the client sent after its CONNECT, before our answer.
		client = &prefixedConn{Conn: conn, r: io.MultiReader(io.LimitReader(buffered.Reader, int64(n)), conn)}
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		if upstream != nil {
			upstream.Close()
		}
		return
	}
	if github {
		// The TLS listener's server answers it; Close ends it with the others.
		s.track(conn, true)
		s.tlsConns.push(&untrackOnClose{Conn: client, s: s, raw: conn})
		return
	}
	s.track(conn, true)
	s.track(upstream, true)
	defer s.track(conn, false)
	defer s.track(upstream, false)
	relay(client, upstream)
}

// track adds a connection for Close to end, or forgets and closes it.
func (s *StandIn) track(c net.Conn, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
		c.Close()
	}
}

// serveGitHub answers GET /repos/OWNER/REPO/contents/PATH and
// /repos/OWNER/REPO/git/blobs/SHA, whatever the ref.
func (s *StandIn) serveGitHub(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(r.URL.Path, "/")
	// ["", "repos", OWNER, REPO, "contents", PATH...] or [..., "git", "blobs", SHA]
	if r.Method != http.MethodGet || len(parts) < 6 || parts[1] != "repos" ||
		!strings.EqualFold(parts[2], s.owner) || !strings.EqualFold(parts[3], s.repo) {
		notFound(w)
		return
	}
	raw := r.Header.Get("Accept") == rawType
	switch {
	case parts[4] == "contents":
		p := strings.Join(parts[5:], "/")
		data, listing, err := s.tree.File(p)
		switch {
		case err != nil:
			notFound(w)
		case listing != nil:
			answerJSON(w, listing)
		case raw:
			answerRaw(w, data)
		default:
			answerJSON(w, map[string]any{
				"type": "file", "encoding": "base64", "name": parts[len(parts)-1], "path": p,
				"sha": gitSHA(data), "size": len(data), "content": base64.StdEncoding.EncodeToString(data),
			})
		}
	case len(parts) == 7 && parts[4] == "git" && parts[5] == "blobs":
		data, err := s.tree.Blob(parts[6])
		switch {
		case err != nil:
			notFound(w)
		case raw:
			answerRaw(w, data)
		default:
			answerJSON(w, map[string]any{
				"sha": parts[6], "size": len(data), "encoding": "base64",
				"content": base64.StdEncoding.EncodeToString(data),
			})
		}
	default:
		notFound(w)
	}
}

func answerRaw(w http.ResponseWriter, data []byte) {
	w.Header().Set("Content-Type", rawType)
	w.Write(data)
}

func answerJSON(w http.ResponseWriter, value any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(value)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, `{"message": "Not Found"}`)
}

// relay passes bytes both ways until both sides have finished; a side that
// finishes has its peer's sending half shut, as TCP would.
func relay(a, b net.Conn) {
	done := make(chan struct{}, 2)
	pass := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go pass(a, b)
	go pass(b, a)
	<-done
	<-done
}

// prefixedConn reads what was already buffered before the connection.
type prefixedConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *prefixedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// untrackOnClose forgets a hijacked connection once the API server is done
// with it.
type untrackOnClose struct {
	net.Conn
	s    *StandIn
	raw  net.Conn
	once sync.Once
}

func (c *untrackOnClose) Close() error {
	c.once.Do(func() { c.s.track(c.raw, false) })
	return nil
}

// connListener is a net.Listener of connections handed to it: the tunnels
// to api.github.com, for an http.Server to serve.
type connListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
