package fastpath

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// testHandler answers by path, each a way a handler uses its
// ResponseWriter, and says which loop served it (X-Path) and what request
// it saw (X-Saw).
func testHandler(w http.ResponseWriter, r *http.Request) {
	path := "fast"
	if r.Context().Value(http.ServerContextKey) != nil {
		path = "net/http"
	}
	w.Header().Set("X-Path", path)
	var hk []string
	for k, v := range r.Header {
		hk = append(hk, k+"="+strings.Join(v, "|"))
	}
	slices.Sort(hk)
	w.Header().Set("X-Saw", fmt.Sprintf("%s %s %s host=%s uri=%s close=%v proto=%s len=%d %s",
		r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.RequestURI, r.Close, r.Proto, r.ContentLength, strings.Join(hk, ";")))
	switch strings.TrimPrefix(r.URL.Path, "/content/") {
	case "small":
		io.WriteString(w, "hello")
	case "empty":
	case "big":
		for i := range 3 {
			w.Write([]byte(strings.Repeat(string(rune('a'+i)), 3000)))
		}
	case "justover":
		w.Write([]byte(strings.Repeat("x", 2048)))
		w.Write([]byte("y"))
	case "cl":
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "exact")
	case "badcl":
		w.Header().Set("Content-Length", "five")
		io.WriteString(w, "exact")
	case "short":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "short")
	case "long":
		w.Header().Set("Content-Length", "2")
		if _, err := io.WriteString(w, "toolong"); err != http.ErrContentLength {
			panic("want ErrContentLength")
		}
	case "204":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(204)
		if _, err := io.WriteString(w, "abc"); err != http.ErrBodyNotAllowed {
			panic("want ErrBodyNotAllowed")
		}
	case "304":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Etag", `"x"`)
		w.WriteHeader(304)
	case "flush":
		io.WriteString(w, "<html>one")
		w.(http.Flusher).Flush()
		io.WriteString(w, "two")
	case "rcflush":
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			panic(err)
		}
		io.WriteString(w, "data: 1\n\n")
	case "trailer":
		w.Header().Set("Trailer", "X-Sum, X-Other")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	case "prefixtrailer":
		io.WriteString(w, "body")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	case "close":
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	case "identity":
		w.Header().Set("Transfer-Encoding", "identity")
		io.WriteString(w, "ident")
	case "chunkedset":
		w.Header().Set("Transfer-Encoding", "chunked")
		io.WriteString(w, "chunks")
	case "gzip":
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "not really gzip")
	case "early":
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(103)
		w.Header().Del("Link")
		io.WriteString(w, "after hints")
	case "twice":
		w.WriteHeader(201)
		w.WriteHeader(202)
		io.WriteString(w, "created")
	case "multi":
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Set("X-Newline", "a\r\nb")
		io.WriteString(w, "multi")
	case "panic":
		panic("handler panic")
	case "ctx":
		<-r.Context().Done() // never done while the handler runs: a bug if it returns
	default:
		http.NotFound(w, r)
	}
}

// pair serves h from net/http alone and from net/http behind a fast
// Server, and returns both addresses.
func pair(t *testing.T, h http.Handler) (fast, std string, s *Server) {
	t.Helper()
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s = &Server{Handler: h, BaseContext: context.Background(),
		Simple: func(method string, target []byte) bool { return strings.HasPrefix(string(target), "/content/") }}
	hs1 := &http.Server{Handler: h, ErrorLog: quietLog()}
	hs2 := &http.Server{Handler: h, ErrorLog: quietLog()}
	go hs1.Serve(ln1)
	go hs2.Serve(s.Listener(ln2))
	t.Cleanup(func() {
		hs1.Close()
		hs2.Close()
		s.Close()
	})
	return ln2.Addr().String(), ln1.Addr().String(), s
}

// exchange sends raw on a new connection to addr and reads n answers for
// a request with method; closed reports whether the server then closed
// the connection.
func exchange(t *testing.T, addr, raw string, methods ...string) (res []*http.Response, bodies []string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for _, m := range methods {
		r, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			return res, bodies, true
		}
		b, err := io.ReadAll(r.Body)
		res = append(res, r)
		if err != nil {
			// A body cut short (a handler that wrote less than its
			// Content-Length): the connection is done.
			bodies = append(bodies, string(b)+" <"+err.Error()+">")
			return res, bodies, true
		}
		bodies = append(bodies, string(b))
	}
	// Closed: a probe request on the same connection gets no answer (no
	// waiting for a timeout either way: an open connection answers it, a
	// closed one ends the read at once).
	if _, err := io.WriteString(c, "GET /content/empty HTTP/1.1\r\nHost: probe\r\n\r\n"); err != nil {
		return res, bodies, true
	}
	_, err = http.ReadResponse(br, nil)
	closed = err != nil
	return res, bodies, closed
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSameAnswers sends each request to both servers and wants the same
// answer (and the same connection fate) from both, the fast one from its
// fast loop for simple requests and from net/http for the rest.
func TestSameAnswers(t *testing.T) {
	fast, std, _ := pair(t, http.HandlerFunc(testHandler))
	get := func(path string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\n" + strings.Join(extra, "") + "\r\n"
	}
	type tc struct {
		name, raw string
		methods   []string
		wantPath  string // the loop that must serve the first request on the fast server
	}
	var cases []tc
	for _, p := range []string{"small", "empty", "big", "justover", "cl", "badcl", "short", "long", "204", "304", "flush", "rcflush",
		"trailer", "prefixtrailer", "close", "identity", "chunkedset", "gzip", "early", "twice", "multi", "nothing"} {
		cases = append(cases, tc{"GET " + p, get("/content/" + p), []string{"GET"}, "fast"})
		cases = append(cases, tc{"HEAD " + p, strings.Replace(get("/content/"+p), "GET", "HEAD", 1), []string{"HEAD"}, "fast"})
	}
	cases = append(cases,
		tc{"query and escapes", get("/content/small?a=1&b=%20x", "Accept: */*\r\nX-Multi: 1\r\nx-multi: 2\r\n"), []string{"GET"}, "fast"},
		tc{"pragma", get("/content/small", "Pragma: no-cache\r\n"), []string{"GET"}, "fast"},
		tc{"connection close", get("/content/small", "Connection: close\r\n"), []string{"GET"}, "fast"},
		tc{"keep-alive", get("/content/small", "Connection: keep-alive\r\n"), []string{"GET"}, "fast"},
		tc{"pipelined", get("/content/small") + get("/content/big") + get("/content/cl"), []string{"GET", "GET", "GET"}, "fast"},
		tc{"pipelined, then handed over", get("/content/small") + "POST /content/small HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/content/big"),
			[]string{"GET", "POST", "GET"}, "fast"},
		tc{"not simple: path", get("/api/small"), []string{"GET"}, "net/http"},
		tc{"not simple: POST", "POST /content/small HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", []string{"POST"}, "net/http"},
		tc{"not simple: chunked body", "GET /content/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", []string{"GET"}, "net/http"},
		tc{"not simple: expect", get("/content/small", "Expect: 100-continue\r\nContent-Length: 0\r\n"), []string{"GET"}, "net/http"},
		tc{"not simple: an EventSource", get("/content/rcflush", "Accept: text/event-stream\r\n"), []string{"GET"}, "net/http"},
		tc{"not simple: HTTP/1.0", "GET /content/small HTTP/1.0\r\n\r\n", []string{"GET"}, "net/http"},
		tc{"not simple: upgrade", get("/content/small", "Connection: Upgrade\r\nUpgrade: websocket\r\n"), []string{"GET"}, "net/http"},
		tc{"not simple: no host", "GET /content/small HTTP/1.1\r\n\r\n", []string{"GET"}, ""},
		tc{"not simple: two hosts", get("/content/small", "Host: other\r\n"), []string{"GET"}, ""},
		tc{"not simple: bad header name", get("/content/small", "Bad Name: x\r\n"), []string{"GET"}, ""},
		tc{"not simple: bare LF", "GET /content/small HTTP/1.1\nHost: x\n\n", []string{"GET"}, "net/http"},
		tc{"not simple: absolute form", "GET http://x/content/small HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, "net/http"},
		tc{"not simple: huge head", get("/content/small", "X-Big: "+strings.Repeat("b", 8000)+"\r\n"), []string{"GET"}, "net/http"},
		tc{"not simple: too many headers", get("/content/small", strings.Repeat("X-H: 1\r\n", 70)), []string{"GET"}, "net/http"},
		tc{"garbage", "NONSENSE\r\n\r\n", []string{"GET"}, ""},
		tc{"panic", get("/content/panic"), []string{"GET"}, ""},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fr, fb, fclosed := exchange(t, fast, c.raw, c.methods...)
			sr, sb, sclosed := exchange(t, std, c.raw, c.methods...)
			if len(fr) != len(sr) {
				t.Fatalf("fast server gave %d answers, net/http %d", len(fr), len(sr))
			}
			if fclosed != sclosed {
				t.Errorf("connection closed after: fast %v, net/http %v", fclosed, sclosed)
			}
			for i := range fr {
				if f, s := testutil.DescribeResponse(fr[i], fb[i], "Date", "X-Path"), testutil.DescribeResponse(sr[i], sb[i], "Date", "X-Path"); f != s {
					t.Errorf("answer %d differs:\nfast:\n%s\n\nnet/http:\n%s", i, f, s)
				}
				if fr[i].StatusCode >= 200 && fr[i].Header.Get("X-Path") == "fast" && fr[i].Header.Get("Date") == "" {
					t.Errorf("answer %d: no Date", i)
				}
			}
			if c.wantPath != "" && len(fr) > 0 {
				if got := fr[0].Header.Get("X-Path"); got != c.wantPath {
					t.Errorf("first request served by %q, want %q", got, c.wantPath)
				}
			}
		})
	}
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// TestShutdown: a connection waiting for its next request is closed at
// once; a request being served finishes, its answer says "Connection:
// close", and Shutdown returns when it is done.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/content/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	})
	addr, _, s := pair(t, h)
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	// An idle keep-alive connection, after one answer.
	idle, idleR := dial()
	io.WriteString(idle, "GET /content/x HTTP/1.1\r\nHost: h\r\n\r\n")
	res, err := http.ReadResponse(idleR, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("first answer: %v", err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "done" {
		t.Fatalf("first answer: %q", b)
	}
	busy, busyR := dial()
	io.WriteString(busy, "GET /content/slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleR.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF (closed by the shutdown)", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a request was being served", err)
	default:
	}
	close(release)
	res, err = http.ReadResponse(busyR, nil)
	if err != nil {
		t.Fatalf("busy connection: %v", err)
	}
	if !res.Close {
		t.Errorf("the answer during the shutdown keeps the connection: %v", res.Header)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownDeadline: a request that outlives the context is cut.
func TestShutdownDeadline(t *testing.T) {
	started := make(chan struct{})
	block := make(chan struct{})
	defer close(block)
	addr, _, s := pair(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-block
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /content/stuck HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("the stuck connection: read %v, want it closed", err)
	}
}

// flakyListener fails its first Accept with EMFILE, as a process out of
// file descriptors does.
type flakyListener struct {
	net.Listener
	failed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptWaitsOutTemporaryErrors: running out of file descriptors for
// a moment does not end the listener (as http.Server.Serve).
func TestAcceptWaitsOutTemporaryErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(testHandler), BaseContext: context.Background()}
	hs := &http.Server{Handler: http.HandlerFunc(testHandler), ErrorLog: quietLog()}
	go hs.Serve(s.Listener(&flakyListener{Listener: ln}))
	t.Cleanup(func() { hs.Close(); s.Close() })
	res, bodies, _ := exchange(t, ln.Addr().String(), "GET /content/small HTTP/1.1\r\nHost: h\r\n\r\n", "GET")
	if len(res) != 1 || bodies[0] != "hello" || res[0].Header.Get("X-Path") != "fast" {
		t.Fatalf("after an EMFILE: %d answers %q", len(res), bodies)
	}
}

// TestSilentConnectionGetsReadHeaderTimeout: a connection that sends
// nothing is closed after ReadHeaderTimeout, as net/http closes it, not
// kept for the IdleTimeout meant for kept-alive connections between
// requests.
func TestSilentConnectionGetsReadHeaderTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(testHandler), BaseContext: context.Background(),
		ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: time.Hour}
	hs := &http.Server{Handler: s.Handler, ErrorLog: quietLog()}
	go hs.Serve(s.Listener(ln))
	t.Cleanup(func() { hs.Close(); s.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Far longer than ReadHeaderTimeout, far shorter than IdleTimeout.
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("a silent connection: read %v, want it closed by the node", err)
	}
}
