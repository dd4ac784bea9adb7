package fastpath

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closer records its Close.
type closer chan struct{}

func (c closer) Close() error { close(c); return nil }

// TestWatch: a request that lasts has its connection watched. When its
// client leaves, the handler's context ends (the chain's requests and the
// raw lane's fallback) and the closer the raw lane registered is closed;
// when the client stays, the request ends normally, and a byte of its
// next request that the watch read first is served with the rest.
func TestWatch(t *testing.T) {
	ended := make(chan string, 10)
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			ended <- "context " + r.URL.Path
			return
		case <-release:
		}
		io.WriteString(w, "late "+r.URL.Path)
	})
	raw := func(r *RawRequest) RawResult {
		switch string(r.Target) {
		case "/content/raw-wait":
			// As the raw lane waits for an app: on a connection it
			// registered.
			c := make(closer)
			if r.OnGone(c) {
				t.Error("OnGone: gone before the client left")
			}
			select {
			case <-c:
				ended <- "closer " + string(r.Target)
				return RawClose
			case <-release:
			}
			if r.OnGone(nil) {
				t.Error("OnGone: gone, but the client stayed")
			}
			r.Writer().WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nraw-late")
			return RawKeep
		case "/content/fallback-wait":
			w, req := r.Fallback()
			select {
			case <-req.Context().Done():
				ended <- "context " + string(r.Target)
			case <-release:
				io.WriteString(w, "fallback-late")
			}
			return RawKeep
		case "/content/raw":
			r.Writer().WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nraw")
			return RawKeep
		}
		return RawDeclined
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: handler, BaseContext: context.Background(), Raw: raw, watchAfter: 20 * time.Millisecond}
	hs := &http.Server{Handler: handler, ErrorLog: quietLog()}
	go hs.Serve(s.Listener(ln))
	t.Cleanup(func() { hs.Close(); s.Close() })
	addr := ln.Addr().String()

	for _, path := range []string{"/content/chain-wait", "/content/raw-wait", "/content/fallback-wait"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		time.Sleep(50 * time.Millisecond) // served, and watched, for a while
		c.Close()
		select {
		case got := <-ended:
			if !strings.HasSuffix(got, path) {
				t.Errorf("%s: %q ended", path, got)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the client left and the request goes on", path)
		}
	}

	// A client that stays: each slow request is answered once released,
	// and the next request, sent while the slow one was watched (its
	// first byte read by the watch), is answered after it.
	for _, path := range []string{"/content/chain-wait", "/content/raw-wait", "/content/fallback-wait"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // a lost byte fails, not hangs
		br := bufio.NewReader(c)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		time.Sleep(50 * time.Millisecond) // the watch reads
		io.WriteString(c, "GET /content/raw HTTP/1.1\r\nHost: h\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		release <- struct{}{}
		for i, want := range []string{"late", "raw"} {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: answer %d: %v", path, i, err)
			}
			b, _ := io.ReadAll(res.Body)
			if !strings.Contains(string(b), want) {
				t.Errorf("%s: answer %d is %q, want %q", path, i, b, want)
			}
		}
		// And the connection serves on, its deadlines as before.
		io.WriteString(c, "GET /content/raw HTTP/1.1\r\nHost: h\r\n\r\n")
		if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: the next request: %v", path, err)
		}
		c.Close()
	}
	select {
	case got := <-ended:
		t.Errorf("%s ended, with its client still there", got)
	default:
	}
}
