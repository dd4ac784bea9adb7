package apps

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/podiumhq/podium/internal/logging"
)

// fakeApp is an app process on a raw listener: it hands every request it
// reads to seen and answers with answer's head and "ok". With once, it
// closes each connection after its first answer (keep-alive announced all
// the same: an app that closed an idle connection).
type fakeApp struct {
	ln       net.Listener
	seen     chan *http.Request
	accepted atomic.Int32
}

func startFakeApp(t *testing.T, answer string, once bool) *fakeApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeApp{ln: ln, seen: make(chan *http.Request, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.accepted.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					a.seen <- req
					body := "ok"
					if req.Method == "HEAD" {
						body = ""
					}
					if _, err := io.WriteString(c, answer+"Content-Length: 2\r\n\r\n"+body); err != nil || once {
						return
					}
				}
			}()
		}
	}()
	return a
}

// fakeProcess is a process of s at a's address, with both proxy paths.
func fakeProcess(s *Supervisor, a *fakeApp) *process {
	addr := a.ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return &process{pid: 1, port: n,
		proxy: s.newReverseProxy(&url.URL{Scheme: "http", Host: addr}, false),
		up: &upstream{maxIdle: 4, host: addr, dial: func(ctx context.Context) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}}}
}

// TestDirectSendsWhatStandardSends: the direct path sends an app the same
// request as httputil.ReverseProxy (path without the content prefix,
// Host, forwarding headers replaced, hop-by-hop headers and those the
// Connection header names dropped, Podium's cookies and API key dropped,
// Te: trailers kept, no Go User-Agent), and passes on the same answer
// (hop-by-hop headers and Podium's Set-Cookie dropped, the content
// headers added).
func TestDirectSendsWhatStandardSends(t *testing.T) {
	t.Parallel()
	answer := "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-App: a\r\n" +
		"Set-Cookie: podium_session=evil\r\nSet-Cookie: app=1\r\nSet-Cookie: __Host-podium_content=x\r\n"
	a := startFakeApp(t, answer, false)
	s := New(Options{Log: logging.Component(logging.Discard(), "apps"),
		ContentHeaders: func(h http.Header) { h.Set("X-Frame-Options", "DENY") }})
	p := fakeProcess(s, a)
	for _, tc := range []struct{ method, target string }{
		{"GET", "/content/g/a%2Fb/c?x=1&y"},
		{"GET", "/content/g/?"},
		{"HEAD", "/content/g/h"},
		{"POST", "/content/g/items/1"},
		{"DELETE", "/content/g/items/1"},
		{"GET", "/content/g/nohost"},
	} {
		t.Run(tc.method+tc.target, func(t *testing.T) {
			request := func() *http.Request {
				r := httptest.NewRequest(tc.method, tc.target, nil)
				r.RemoteAddr = "10.0.0.9:1234"
				r.Host = "podium.example"
				if strings.HasSuffix(tc.target, "nohost") {
					r.Host = "" // HTTP/1.0 without Host
				}
				h := r.Header
				h.Add("Cookie", "podium_session=s; app=1; __Host-podium_content=c")
				h.Add("Cookie", "other=2")
				h.Set("Authorization", "Key secret")
				h.Set("Connection", "X-Drop, keep-alive")
				h.Set("X-Drop", "1")
				h.Set("Keep-Alive", "timeout=9")
				h.Set("Proxy-Authorization", "Basic x")
				h.Set("Te", "trailers, deflate")
				h.Set("Forwarded", "for=1.2.3.4")
				h.Set("X-Forwarded-For", "6.6.6.6")
				h.Set("X-Forwarded-Host", "evil")
				h.Add("Accept", "text/html")
				h.Add("Accept", "*/*")
				return r
			}
			std := httptest.NewRecorder()
			p.proxy.ServeHTTP(std, request())
			want := <-a.seen
			dir := httptest.NewRecorder()
			s.serveDirect(dir, request(), p, false)
			got := <-a.seen
			if got.Method != want.Method || got.RequestURI != want.RequestURI || got.Host != want.Host ||
				got.ContentLength != want.ContentLength || !reflect.DeepEqual(got.Header, want.Header) {
				t.Errorf("the app got\n%s %s %s %d %v\nfrom the direct path, and\n%s %s %s %d %v\nfrom ReverseProxy",
					got.Method, got.RequestURI, got.Host, got.ContentLength, got.Header,
					want.Method, want.RequestURI, want.Host, want.ContentLength, want.Header)
			}
			if dir.Code != std.Code || !reflect.DeepEqual(dir.Header(), std.Header()) || dir.Body.String() != std.Body.String() {
				t.Errorf("the client got %d %v %q from the direct path, %d %v %q from ReverseProxy",
					dir.Code, dir.Header(), dir.Body, std.Code, std.Header(), std.Body)
			}
		})
	}
}

// TestDirectRetriesClosedIdleConnection: a kept connection the app closed
// meanwhile gets an idempotent request sent again on a new connection; a
// POST is not sent twice (502).
func TestDirectRetriesClosedIdleConnection(t *testing.T) {
	t.Parallel()
	a := startFakeApp(t, "HTTP/1.1 200 OK\r\n", true)
	s := New(Options{Log: logging.Component(logging.Discard(), "apps")})
	p := fakeProcess(s, a)
	serve := func(method string) int {
		rec := httptest.NewRecorder()
		s.serveDirect(rec, httptest.NewRequest(method, "/content/g/", nil), p, false)
		return rec.Code
	}
	if code := serve("GET"); code != 200 {
		t.Fatalf("first GET: %d", code)
	}
	<-a.seen
	if code := serve("GET"); code != 200 {
		t.Fatalf("GET on the closed kept connection: %d, want 200 after a retry", code)
	}
	<-a.seen
	if n := a.accepted.Load(); n != 2 {
		t.Errorf("the app accepted %d connections, want 2", n)
	}
	if code := serve("POST"); code != http.StatusBadGateway {
		t.Errorf("POST on the closed kept connection: %d, want 502 (not sent twice)", code)
	}
	select {
	case r := <-a.seen:
		t.Errorf("the app got the POST: %s %s", r.Method, r.URL)
	default:
	}
}

// TestDirectBoundsAnswerHead: an app whose answer head never ends (a
// publisher's app attacking its node) is cut off past maxHead with a 502,
// as http.Transport's MaxResponseHeaderBytes does on the standard path,
// instead of being buffered without bound.
func TestDirectBoundsAnswerHead(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var sent atomic.Int64
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = http.ReadRequest(bufio.NewReader(c))
		line := "X-Junk: " + strings.Repeat("a", 1000) + "\r\n"
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n"); err != nil {
			return
		}
		for {
			n, err := io.WriteString(c, line)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	s := New(Options{Log: logging.Component(logging.Discard(), "apps")})
	p := fakeProcess(s, &fakeApp{ln: ln})
	rec := httptest.NewRecorder()
	s.serveDirect(rec, httptest.NewRequest("GET", "/content/g/", nil), p, false)
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("endless answer head: %d, want 502", rec.Code)
	}
	if n := sent.Load(); n < maxHead {
		t.Errorf("the app sent %d bytes before the cut, want at least maxHead (%d): cut too early", n, maxHead)
	}
}
