package apps_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestProxyConformance holds the app proxy to HTTP/1.1 as a client and an
// app speak it, beyond the plain request: chunked uploads with trailers,
// response trailers, Expect: 100-continue, a reader slower than the app,
// an app that drops its connection mid-answer, header size limits,
// HTTP/1.0 clients, pipelined requests and HEAD. Most requests are written
// by hand on a raw connection, so that what is checked is the bytes on the
// wire, not what Go's client makes of them.
//
// It runs against both proxy paths ([Applications] Proxy): the standard
// one (httputil.ReverseProxy) and the direct one; then against the direct
// one behind the fast loop and its raw lane ([HTTP] FastPath), which takes
// the plain GETs and passes on in bytes the answers it can.
func TestProxyConformance(t *testing.T) {
	t.Parallel()
	for _, path := range []string{apps.ProxyStandard, apps.ProxyDirect, "raw"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			proxy := path
			if path == "raw" {
				proxy = apps.ProxyDirect
			}
			f := setupServer(t, defaults(), func(o *apps.Options) { o.Proxy = proxy }, path == "raw")
			testConformance(t, f)
		})
	}
}

func testConformance(t *testing.T, f *fixture) {
	addr := f.srv.Listener.Addr().String()
	prefix := "/content/" + guid

	if f.fast {
		t.Run("RawLaneAnswers", func(t *testing.T) {
			// The plain GETs below are the raw lane's (its extra header
			// says so), in bytes or through its fallback.
			for _, q := range []string{"small", "bytes?n=10", "sse?gap=1"} {
				res, err := http.Get(f.base + q)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.Header.Get("X-Lane") != "raw" {
					t.Errorf("GET %s was not the raw lane's: %v", q, res.Header)
				}
			}
		})
	}

	t.Run("ChunkedUploadWithTrailer", func(t *testing.T) {
		c, br := rawConn(t, addr)
		// Irregular chunk sizes and a chunk extension, then a trailer.
		parts := []string{"a", strings.Repeat("b", 4000), "", "c\r\nd"}
		var body strings.Builder
		fmt.Fprintf(c, "POST %s/upload HTTP/1.1\r\nHost: podium\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n", prefix)
		for _, p := range parts {
			if p == "" {
				continue
			}
			body.WriteString(p)
			fmt.Fprintf(c, "%x;ext=1\r\n%s\r\n", len(p), p)
		}
		fmt.Fprintf(c, "0\r\nX-Checksum: sum-of-parts\r\n\r\n")
		m := readJSON(t, br, "POST")
		sum := sha256.Sum256([]byte(body.String()))
		if m["bytes"] != float64(body.Len()) || m["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("the app got %v, want %d bytes with SHA-256 %x", m, body.Len(), sum)
		}
		if m["trailer"] != "sum-of-parts" {
			t.Errorf("the request's trailer reached the app as %q, want %q", m["trailer"], "sum-of-parts")
		}
	})

	t.Run("ResponseTrailers", func(t *testing.T) {
		res, err := http.Get(f.base + "trailers")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != "part 0\npart 1\npart 2\n" || res.Trailer.Get("X-Sum") != "3 parts" {
			t.Errorf("got %q with trailers %v, want three parts and X-Sum: 3 parts", body, res.Trailer)
		}
	})

	t.Run("Expect100Continue", func(t *testing.T) {
		c, br := rawConn(t, addr)
		const body = "the body, sent only after 100 Continue"
		fmt.Fprintf(c, "POST %s/upload HTTP/1.1\r\nHost: podium\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", prefix, len(body))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer before the body was sent: %v", err)
		}
		if res.StatusCode != http.StatusContinue {
			t.Fatalf("got %d before the body, want 100 Continue", res.StatusCode)
		}
		_, _ = io.WriteString(c, body)
		m := readJSON(t, br, "POST")
		if m["bytes"] != float64(len(body)) {
			t.Errorf("the app got %v, want %d bytes", m, len(body))
		}
	})

	t.Run("SlowReader", func(t *testing.T) {
		const n = 8 << 20 // more than the socket buffers hold
		c, br := rawConn(t, addr)
		fmt.Fprintf(c, "GET %s/bytes?n=%d HTTP/1.1\r\nHost: podium\r\n\r\n", prefix, n)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Read a little, then let the proxy wait on this reader while
		// another request goes through.
		head := make([]byte, 1<<10)
		if _, err := io.ReadFull(res.Body, head); err != nil {
			t.Fatal(err)
		}
		if other, err := http.Get(f.base + "small"); err != nil || other.StatusCode != 200 {
			t.Fatalf("a request beside the slow reader: %v %v", other, err)
		} else {
			other.Body.Close()
		}
		got := 0
		check := func(b []byte) {
			for i, ch := range b {
				if want := "0123456789abcdef"[(got+i)%16]; ch != want {
					t.Fatalf("byte %d is %q, want %q", got+i, ch, want)
				}
			}
			got += len(b)
		}
		check(head)
		buf := make([]byte, 256<<10)
		for {
			k, err := res.Body.Read(buf)
			check(buf[:k])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes: %v", got, err)
			}
			time.Sleep(time.Millisecond) // the pace of a slow reader, not a synchronisation
		}
		if got != n {
			t.Errorf("read %d bytes, want %d", got, n)
		}
	})

	t.Run("AppClosesMidResponse", func(t *testing.T) {
		for _, q := range []string{"abort?cl=1", "abort"} {
			res, err := http.Get(f.base + q)
			if err != nil {
				continue // cut before the head was sent: the client sees an error too
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				t.Errorf("%s: the client read %q and a clean end, want an error: a cut answer must not look complete", q, body)
			}
			if !strings.HasPrefix(string(body), "the start of an answer") {
				t.Errorf("%s: the client read %q before the error", q, body)
			}
		}
		// The proxy still serves the app, and released the slots.
		res, err := http.Get(f.base + "small")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("after the cut answers: %v %v", res, err)
		}
		res.Body.Close()
		waitIdle(t, f)
	})

	t.Run("ClientGoesAway", func(t *testing.T) {
		c, br := rawConn(t, addr)
		// As a browser's EventSource asks.
		fmt.Fprintf(c, "GET %s/sse?gap=2000 HTTP/1.1\r\nHost: podium\r\nAccept: text/event-stream\r\n\r\n", prefix)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := res.Body.Read(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		waitIdle(t, f)
	})

	// A plain request whose client gives up while the app works on it
	// (a long poll, a slow API): the proxy stops waiting and releases the
	// process's slot, rather than holding it until the app answers. On
	// net/http its background read notices; behind the fast loop, the
	// loop's watch of a lasting request.
	t.Run("ClientGoesAwayDuringWait", func(t *testing.T) {
		c, _ := rawConn(t, addr)
		fmt.Fprintf(c, "GET %s/sleep?ms=120000 HTTP/1.1\r\nHost: podium\r\n\r\n", prefix)
		testutil.WaitFor(t, 10*time.Second, "the request to reach the app", func() bool {
			for _, p := range f.sup.Processes(guid) {
				if p.Connections != 0 {
					return true
				}
			}
			return false
		})
		c.Close()
		waitIdle(t, f)
	})

	t.Run("OversizedHeaders", func(t *testing.T) {
		// A large header within the server's limit reaches the app whole.
		big := strings.Repeat("x", 256<<10)
		req, _ := http.NewRequest("GET", f.base+"header/X-Big", nil)
		req.Header.Set("X-Big", big)
		m := getJSON(t, req)
		sum := sha256.Sum256([]byte(big))
		if m["bytes"] != float64(len(big)) || m["sha256"] != hex.EncodeToString(sum[:]) {
			t.Errorf("the app got %v, want %d bytes", m, len(big))
		}
		// Past the limit (net/http's 1 MiB): 431, and the app never sees it.
		c, br := rawConn(t, addr)
		fmt.Fprintf(c, "GET %s/header/X-Big HTTP/1.1\r\nHost: podium\r\nX-Big: %s\r\n\r\n", prefix, strings.Repeat("y", 2<<20))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("2 MiB of headers: %d, want 431", res.StatusCode)
		}
	})

	t.Run("HTTP10Client", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"small", "ok\n"},
			{"sse?gap=1", "data: "}, // streamed: no chunked encoding for 1.0, the end is the close
		} {
			c, br := rawConn(t, addr)
			fmt.Fprintf(c, "GET %s/%s HTTP/1.0\r\nHost: podium\r\n\r\n", prefix, tc.path)
			res, err := http.ReadResponse(br, &http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 0})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("%s: %v", tc.path, err)
			}
			if res.StatusCode != 200 || !strings.HasPrefix(string(body), tc.want) || len(res.TransferEncoding) != 0 {
				t.Errorf("HTTP/1.0 GET %s: %d %v %q", tc.path, res.StatusCode, res.TransferEncoding, body)
			}
			if tc.path != "small" && strings.Count(string(body), "data: ") != 3 {
				t.Errorf("HTTP/1.0 GET %s: %q, want three events", tc.path, body)
			}
			// The server closes a 1.0 connection after the answer.
			_ = c.SetReadDeadline(time.Now().Add(testutil.Timeout(5 * time.Second)))
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Errorf("HTTP/1.0 GET %s: connection not closed after the answer: %v", tc.path, err)
			}
		}
	})

	t.Run("PipelinedRequests", func(t *testing.T) {
		c, br := rawConn(t, addr)
		// Three requests in one write, a HEAD among them: the answers come
		// in order, and the HEAD's has no body to confuse the next.
		fmt.Fprintf(c, "GET %[1]s/small HTTP/1.1\r\nHost: podium\r\n\r\n"+
			"HEAD %[1]s/bytes?n=1000 HTTP/1.1\r\nHost: podium\r\n\r\n"+
			"POST %[1]s/items/7 HTTP/1.1\r\nHost: podium\r\nContent-Length: 5\r\n\r\nhello", prefix)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("first answer: %d %q", res.StatusCode, body)
		}
		res, err = http.ReadResponse(br, &http.Request{Method: "HEAD"})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		if res.StatusCode != 200 || res.ContentLength != 1000 || len(body) != 0 {
			t.Fatalf("HEAD answer: %d, length %d, body %q", res.StatusCode, res.ContentLength, body)
		}
		m := readJSON(t, br, "POST")
		if m["method"] != "POST" || m["id"] != "7" || m["bytes"] != float64(5) {
			t.Errorf("third answer: %v", m)
		}
	})
}

// rawConn dials addr; the connection closes at the end of the test and
// gives up on reads after a generous timeout.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(testutil.Timeout(30 * time.Second)))
	return c, bufio.NewReader(c)
}

// readJSON reads one 200 answer with a JSON body from br, after any
// interim (1xx) answers: a client must accept any number of them.
func readJSON(t *testing.T, br *bufio.Reader, method string) map[string]any {
	t.Helper()
	var res *http.Response
	for {
		var err error
		if res, err = http.ReadResponse(br, &http.Request{Method: method}); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 200 {
			break
		}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%d %q %v", res.StatusCode, body, err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return m
}

// waitIdle waits until no process of the app counts a connection: every
// request, ended in any way, gave its slot back.
func waitIdle(t *testing.T, f *fixture) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, "every request released its process slot", func() bool {
		for _, p := range f.sup.Processes(guid) {
			if p.Connections != 0 {
				return false
			}
		}
		return true
	})
}
