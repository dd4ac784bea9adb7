package fastpath

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestRaw: the raw lane gets the parsed request before anything is built,
// and what it does decides the connection's fate: an answer in bytes
// (kept or closing), a fallback through net/http's semantics, or a
// decline to the handler; pipelined requests are answered in order
// whichever way each goes.
func TestRaw(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	raw := func(r *RawRequest) RawResult {
		var f []string
		for _, x := range r.Fields {
			f = append(f, x.Key+"="+string(x.Value))
		}
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s host=%s close=%v remote=%v %s", r.Method, r.Target, r.Host, r.Close,
			strings.HasPrefix(r.Remote, "127.0.0.1:"), strings.Join(f, ";")))
		mu.Unlock()
		switch string(r.Target) {
		case "/content/raw", "/content/raw?q=1":
			r.Writer().WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw")
			return RawKeep
		case "/content/rawclose":
			r.Writer().WriteString("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nclose")
			return RawClose
		case "/content/fallback":
			w, req := r.Fallback()
			w.Header().Set("X-Saw", req.Method+" "+req.URL.Path+" "+req.Header.Get("X-A"))
			io.WriteString(w, "fallback")
			return RawKeep // what the loop does after a fallback is the response's to decide
		}
		return RawDeclined
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(testHandler), BaseContext: context.Background(), Raw: raw}
	hs := &http.Server{Handler: http.HandlerFunc(testHandler), ErrorLog: quietLog()}
	go hs.Serve(s.Listener(ln))
	t.Cleanup(func() { hs.Close(); s.Close() })
	addr := ln.Addr().String()

	res, bodies, closed := exchange(t, addr,
		"GET /content/raw?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A:  2 \r\n\r\n"+
			"GET /content/fallback HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\r\n"+
			"GET /content/small HTTP/1.1\r\nHost: h\r\n\r\n"+
			"GET /content/raw HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "GET", "GET", "GET")
	if len(res) != 4 || closed {
		t.Fatalf("%d answers, closed %v: %q", len(res), closed, bodies)
	}
	if got := strings.Join(bodies, ","); got != "raw,fallback,hello,raw" {
		t.Errorf("bodies %q", got)
	}
	if got := res[1].Header.Get("X-Saw"); got != "GET /content/fallback b" {
		t.Errorf("the fallback's request: %q", got)
	}
	if got := res[2].Header.Get("X-Path"); got != "fast" {
		t.Errorf("the declined request was served by %q, want the fast loop's handler", got)
	}
	mu.Lock()
	if want := "GET /content/raw?q=1 host=h close=false remote=true X-A=1;X-A=2"; seen[0] != want {
		t.Errorf("the raw lane saw %q, want %q", seen[0], want)
	}
	mu.Unlock()

	// Answers held back while pipelined requests are read go out before
	// the connection is handed to net/http, or closed.
	res, bodies, _ = exchange(t, addr, "GET /content/raw HTTP/1.1\r\nHost: h\r\n\r\n"+
		"POST /content/small HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "GET", "POST")
	if got := strings.Join(bodies, ","); got != "raw,hello" || res[1].Header.Get("X-Path") != "net/http" {
		t.Errorf("raw, then handed over: %q", got)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /content/raw HTTP/1.1\r\nHost: h\r\n\r\nGET /content/raw HTTP/1.1\r\nHost: h\r\n\r\n")
	c.(*net.TCPConn).CloseWrite()
	if b, _ := io.ReadAll(c); strings.Count(string(b), "raw") != 2 {
		t.Errorf("pipelined, then the client's half-close: %q, want both answers", b)
	}
	c.Close()

	_, bodies, closed = exchange(t, addr, "GET /content/rawclose HTTP/1.1\r\nHost: h\r\n\r\n", "GET")
	if !closed || len(bodies) != 1 || bodies[0] != "close" {
		t.Errorf("RawClose: %q, closed %v", bodies, closed)
	}
	_, bodies, closed = exchange(t, addr, "GET /content/raw HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "GET")
	if !closed || len(bodies) != 1 {
		t.Errorf("a client's Connection: close: %q, closed %v", bodies, closed)
	}
	mu.Lock()
	if !strings.Contains(seen[len(seen)-1], "close=true") {
		t.Errorf("the raw lane was not told the connection closes: %q", seen[len(seen)-1])
	}
	mu.Unlock()
	// Not simple: never offered to the raw lane.
	exchange(t, addr, "POST /content/raw HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "POST")
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if strings.HasPrefix(s, "POST") {
			t.Errorf("a POST was offered to the raw lane: %q", s)
		}
	}
}
