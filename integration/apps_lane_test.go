package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestLaneSameAnswers: on a node with [HTTP] FastPath, the fast lane
// (and its raw lane, which passes the app's answer on in bytes) answers
// an anonymous request to a public app exactly as the handler chain does. Each request is sent twice on new connections: once with a
// Connection token that makes the fast loop hand the connection to
// net/http (the chain answers, and grants the content in the target
// cache), then plainly, until the node's lane counter says the lane
// answered it; the two answers (status, headers but Date and the request
// id, body, trailers) and what the app received must be the same. A
// request with credentials never takes the lane.
func TestLaneSameAnswers(t *testing.T) {
	t.Parallel()
	prom := testutil.FreePort(t)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t),
		Config: fmt.Sprintf("[Applications]\nRunAs = nobody\nSandbox = off\n[HTTP]\nFastPath = true\n[Metrics]\nPrometheusListen = 127.0.0.1:%d\n", prom)})
	bin := nodetest.Binary(t)
	nodetest.Run(t, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "lane", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "lane")
	api := &apiClient{t: t, base: n.URL, key: strings.TrimSpace(key)}
	guid := deployApp(t, api, "lane", echoBundleDir(t))
	addr := strings.TrimPrefix(n.URL, "http://")
	counter := func(name string) int {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", prom))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no %s in the metrics", name)
		}
		v, _ := strconv.Atoi(string(m[1]))
		return v
	}
	lanes := func() int { return counter("podium_http_fast_lane_requests_total") }
	inBytes := func() int { return counter("podium_http_raw_lane_requests_total") }
	send := func(method, target, extra string) (*http.Response, string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: lane-test\r\nAccept: */*\r\n%s\r\n", method, target, addr, extra)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: body: %v", method, target, err)
		}
		return res, string(b)
	}
	requestID := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	base := "/content/" + guid
	for _, tc := range []struct {
		name, method, path, extra string
		inBytes                   bool // the raw lane passes the answer on as bytes
	}{
		{"the request as the app sees it", "GET", "/request?a=1&b=two", "", false},
		{"the request as the app sees it, answered in bytes", "GET", "/request?cookies=no&a=1&b=two;c=%20&", "", true},
		{"an empty query", "GET", "/request?cookies=no&", "", true},
		{"Pragma", "GET", "/request?cookies=no", "Pragma: no-cache\r\nPragma: x\r\n", true},
		{"a header twice", "GET", "/request?cookies=no", "X-Two: 1\r\nAccept-Language: fr\r\nX-Two: 2\r\n", true},
		{"HEAD", "HEAD", "/request", "", false},
		{"a page's sub-request", "GET", "/request", "Sec-Fetch-Dest: script\r\n", false},
		{"the client's request id", "GET", "/request?cookies=no", "X-Request-Id: lane-1.x\r\n", true},
		{"forwarding headers from an untrusted client", "GET", "/request?cookies=no", "X-Forwarded-For: 10.9.9.9\r\nX-Forwarded-Host: evil.test\r\nX-Forwarded-Proto: https\r\n", true},
		{"a small answer", "GET", "/small", "", true},
		{"a large answer", "GET", "/bytes?n=100000", "", true},
		{"an empty answer", "GET", "/bytes?n=0", "", true},
		{"trailers", "GET", "/trailers", "", false},
		{"server-sent events", "GET", "/sse?gap=1", "", false},
		{"the app's 404", "GET", "/nothing-here", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain, chainBody := send(tc.method, base+tc.path, tc.extra+"Connection: keep-alive, x-chain\r\n")
			var lane *http.Response
			var laneBody string
			for try := 0; ; try++ {
				before, beforeBytes := lanes(), inBytes()
				// The chain again: the grant it caches lives a second.
				send(tc.method, base+tc.path, tc.extra+"Connection: keep-alive, x-chain\r\n")
				lane, laneBody = send(tc.method, base+tc.path, tc.extra)
				if lanes() > before {
					if got := inBytes() > beforeBytes; got != tc.inBytes {
						t.Errorf("answered in bytes: %v, want %v", got, tc.inBytes)
					}
					break
				}
				if try == 10 {
					t.Fatalf("the lane never answered %s %s", tc.method, tc.path)
				}
			}
			if c, l := testutil.DescribeResponse(chain, chainBody, "Date", "X-Request-Id"), testutil.DescribeResponse(lane, laneBody, "Date", "X-Request-Id"); c != l {
				t.Errorf("answers differ:\nchain:\n%s\n\nlane:\n%s", c, l)
			}
			if id := lane.Header.Get("X-Request-Id"); !requestID.MatchString(id) {
				t.Errorf("the lane's request id %q", id)
			}
			if strings.Contains(tc.extra, "X-Request-Id: lane-1.x") && lane.Header.Get("X-Request-Id") != "lane-1.x" {
				t.Errorf("the client's request id became %q", lane.Header.Get("X-Request-Id"))
			}
			if v := lane.Header.Values("Set-Cookie"); slices.ContainsFunc(v, func(c string) bool { return strings.HasPrefix(c, "podium_") }) {
				t.Errorf("the app's podium_ cookie reached the client: %v", v)
			}
		})
	}
	// A client that leaves while the app works on its request: the raw
	// lane gives up the app's connection (and counts the request as
	// 499), so the process's slot is free long before the app would
	// have answered.
	t.Run("a client that leaves", func(t *testing.T) {
		gaveUp := func() int {
			res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", prom))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			m := regexp.MustCompile(`(?m)^podium_http_requests_total\{[^}]*status="499"[^}]*\} (\d+)`).FindSubmatch(b)
			if m == nil {
				return 0
			}
			v, _ := strconv.Atoi(string(m[1]))
			return v
		}
		conns := func() int {
			var procs apps.ProcessesBody
			api.do("GET", "/__api__/v1/content/"+guid+"/processes", nil, &procs)
			n := 0
			for _, p := range procs.Processes {
				n += p.Connections
			}
			return n
		}
		for try := 0; ; try++ {
			before := gaveUp()
			send("GET", base+"/small", "Connection: keep-alive, x-chain\r\n") // the grant the lane needs
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET %s/sleep?ms=120000 HTTP/1.1\r\nHost: %s\r\n\r\n", base, addr)
			testutil.WaitFor(t, 10*time.Second, "the request to reach the app", func() bool { return conns() > 0 })
			// Closed at once: the loop's watch, from half a second on,
			// reads the close whenever it starts.
			c.Close()
			testutil.WaitFor(t, 10*time.Second, "the process's slot to be free", func() bool { return conns() == 0 })
			if gaveUp() > before {
				break // the raw lane's, as wanted
			}
			if try == 10 {
				t.Fatal("the raw lane never took the request (no 499 counted)")
			}
		}
	})
	for _, creds := range []string{"Cookie: theme=dark\r\n", "Authorization: Key " + api.key + "\r\n"} {
		before := lanes()
		send("GET", base+"/request", "Connection: keep-alive, x-chain\r\n")
		if res, _ := send("GET", base+"/request", creds); res.StatusCode != http.StatusOK {
			t.Fatalf("with %q: %d", creds, res.StatusCode)
		}
		if lanes() != before {
			t.Errorf("a request with %q took the lane", strings.TrimSpace(strings.SplitN(creds, ":", 2)[0]))
		}
	}
}
