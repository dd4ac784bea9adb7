package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// edgeConfig gives a node short [HTTP] timeouts, so that the tests see
// them fire, and room for a 2 GiB upload (so that the upload is refused by
// its rate, not its size).
const edgeConfig = "[HTTP]\nReadHeaderTimeout = 2s\nMinUploadRate = 1KiB\nUploadRateWindow = 2s\nWriteTimeout = 1s\nIdleTimeout = 2s\n" +
	"MaxUploadSize = 4GiB\n[Applications]\nRunAs = nobody\nMaxBundleSize = 4GiB\n"

// rawConn dials the node's address.
func rawConn(t *testing.T, n *nodetest.Node) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(n.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads from c until the server closes it (EOF or reset), and
// fails the test if that does not happen within limit (scaled). It
// returns what was read.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration, what string) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(testutil.Timeout(limit)))
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection was still open after %s (read %q)", what, testutil.Timeout(limit), got.String())
	}
	return got.Bytes()
}

// TestHTTPStalledConnectionsAreClosed: a body that declares 2 GiB, sends
// 1 KiB and stalls is cut after [HTTP] UploadRateWindow (408); an idle
// keep-alive connection is closed after [HTTP] IdleTimeout; headers that
// never end are cut after [HTTP] ReadHeaderTimeout. A slow but steady
// upload that lasts longer than every one of those timeouts still
// arrives: there is no total deadline.
func TestHTTPStalledConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Config: edgeConfig})
	key := pubUser(t, n, "pub", "publisher")
	r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]any{"name": "slow"})
	pubWant(t, "create content", r, 201)
	var ct struct {
		GUID string `json:"guid"`
	}
	r.JSON(t, &ct)
	upload := "/__api__/v1/content/" + ct.GUID + "/bundles"

	t.Run("StalledBody", func(t *testing.T) {
		c := rawConn(t, n)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: podium\r\nAuthorization: Key %s\r\nContent-Type: application/gzip\r\nContent-Length: %d\r\n\r\n",
			upload, key, int64(2)<<30)
		if _, err := c.Write(make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := waitClosed(t, c, 60*time.Second, "a 2 GiB body stalled after 1 KiB")
		if !strings.HasPrefix(string(got), "HTTP/1.1 408 ") || !strings.Contains(string(got), "MinUploadRate") {
			t.Errorf("answer to the stalled body: %q, want 408 naming [HTTP] MinUploadRate", got)
		}
		t.Logf("stalled body closed after %s", time.Since(start).Round(time.Millisecond))
	})
	t.Run("StalledBodyNeverRead", func(t *testing.T) {
		// Refused before its body is read (no credentials): net/http then
		// reads up to 256 KiB of what is left, to reuse the connection.
		c := rawConn(t, n)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: podium\r\nContent-Type: application/gzip\r\nContent-Length: %d\r\n\r\n", upload, 100<<10)
		if _, err := c.Write(make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c, 60*time.Second, "a 100 KiB body, refused unread, stalled after 1 KiB")
	})
	t.Run("IdleKeepAlive", func(t *testing.T) {
		c := rawConn(t, n)
		fmt.Fprintf(c, "GET /__ping__ HTTP/1.1\r\nHost: podium\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Close {
			t.Fatalf("ping: %d, close %t; want 200 on a keep-alive connection", res.StatusCode, res.Close)
		}
		waitClosed(t, c, 60*time.Second, "an idle keep-alive connection")
	})
	t.Run("StalledHeaders", func(t *testing.T) {
		c := rawConn(t, n)
		fmt.Fprintf(c, "GET /__ping__ HTTP/1.1\r\nHost: podium\r\n")
		waitClosed(t, c, 60*time.Second, "headers that never end")
	})
	t.Run("SlowSteadyUploadArrives", func(t *testing.T) {
		// 64 KiB that do not compress, sent 2 KiB every 100 ms: at least
		// 3.2 s, longer than every timeout above, at about 20 KiB/s, far
		// over the 1 KiB/s minimum.
		b := make([]byte, 64<<10)
		_, _ = rand.Read(b)
		body := pubBundle(t, map[string]string{"index.html": "<p>slow</p>", "noise.bin": string(b)})
		pr, pw := io.Pipe()
		go func() {
			for rest := body; len(rest) > 0; {
				k := min(2048, len(rest))
				if _, err := pw.Write(rest[:k]); err != nil {
					return
				}
				rest = rest[k:]
				time.Sleep(100 * time.Millisecond)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", n.URL+upload, pr)
		req.ContentLength = int64(len(body))
		req.Header.Set("Authorization", "Key "+key)
		req.Header.Set("Content-Type", "application/gzip")
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("slow upload: %d %s, want 201", res.StatusCode, got)
		}
		t.Logf("%d bytes uploaded in %s", len(body), time.Since(start).Round(time.Millisecond))
	})
}

// TestHTTPLongLivedAppTrafficOutlivesTimeouts: with a 1 s WriteTimeout, a
// 2 s IdleTimeout and a 2 s upload window, a proxied WebSocket that stays
// quiet for 4 s, Server-Sent Events 1.5 s apart and a 3 s long poll all
// work: the timeouts cut stalled clients, not quiet streams.
func TestHTTPLongLivedAppTrafficOutlivesTimeouts(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: edgeConfig})
	api := &apiClient{t: t, base: n.URL, key: userKey(t, n, "owner", "publisher")}
	guid := deployApp(t, api, "echo", echoBundleDir(t))
	app := n.URL + "/content/" + guid + "/"
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	defer cancel()

	t.Run("WebSocket", func(t *testing.T) {
		c, _, err := websocket.Dial(ctx, wsURL(app)+"ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		for i := range 2 {
			if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprint("hello ", i))); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
			_, msg, err := c.Read(ctx)
			if err != nil || !strings.HasSuffix(string(msg), fmt.Sprint(":hello ", i)) {
				t.Fatalf("echo %d: %q %v", i, msg, err)
			}
			if i == 0 {
				time.Sleep(4 * time.Second) // quiet for longer than every timeout
			}
		}
	})
	t.Run("ServerSentEvents", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", app+"sse?gap=1500", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 || strings.Count(string(b), "data: ") != 3 {
			t.Fatalf("SSE 1.5 s apart: %d %q %v, want three events", res.StatusCode, b, err)
		}
	})
	t.Run("LongPoll", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(ctx, "GET", app+"sleep?ms=3000", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("3 s long poll: %d %q", res.StatusCode, b)
		}
	})
}

// TestHTTPMaxConnections: at [HTTP] MaxConnections a new connection is
// answered at once with 503, Retry-After and a JSON message naming the
// key; when connections close, new ones are served again.
func TestHTTPMaxConnections(t *testing.T) {
	t.Parallel()
	const max = 3
	n := nodetest.StartNode(t, nodetest.Options{Config: fmt.Sprintf("[HTTP]\nMaxConnections = %d\n", max)})
	var held []net.Conn
	var refused *http.Response
	var refusedBody []byte
	for range max + 3 {
		c := rawConn(t, n)
		held = append(held, c)
		fmt.Fprintf(c, "GET /__ping__ HTTP/1.1\r\nHost: podium\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(testutil.Timeout(30 * time.Second)))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", len(held), err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			refused, refusedBody = res, b
			break
		}
		if res.StatusCode != 200 {
			t.Fatalf("connection %d: %d %s", len(held), res.StatusCode, b)
		}
	}
	if refused == nil {
		t.Fatalf("%d connections open at once with [HTTP] MaxConnections = %d: none was refused", len(held), max)
	}
	if len(held) < max {
		t.Errorf("refused at the %d-th connection, want the cap at %d (only the test's own connections should count)", len(held), max)
	}
	var e struct{ Code, Error string }
	if err := json.Unmarshal(refusedBody, &e); err != nil || e.Code != "unavailable" || !strings.Contains(e.Error, "MaxConnections") {
		t.Errorf("503 body %q: want a JSON error naming [HTTP] MaxConnections", refusedBody)
	}
	if refused.Header.Get("Retry-After") == "" || !refused.Close || refused.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("503 headers %v: want Retry-After, nosniff and Connection: close", refused.Header)
	}
	for _, c := range held {
		c.Close()
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	testutil.WaitFor(t, 30*time.Second, "a connection served again after the others closed", func() bool {
		res, err := hc.Get(n.URL + "/__ping__")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
}

// TestHTTPOversizedBodiesRead413: a 50 MiB JSON body and a 20 MiB login
// form, sent whole by a client that reads the answer only after sending
// (Go's client, no Expect: 100-continue), get the 413 and its JSON
// message, not a connection reset. Several times over, since a reset is
// a race.
func TestHTTPOversizedBodiesRead413(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{})
	key := pubUser(t, n, "pub", "publisher")
	big := bytes.Repeat([]byte("a"), 50<<20)
	jsonBody := append(append([]byte(`{"name": "x", "title": "`), big...), '"', '}')
	form := append([]byte("username=admin&password="), big[:20<<20]...)
	cases := []struct {
		name, path, ctype string
		body              []byte
	}{
		{"JSON50MiB", "/__api__/v1/content", "application/json", jsonBody},
		{"LoginForm20MiB", "/__login__", "application/x-www-form-urlencoded", form},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 3 {
				req, _ := http.NewRequest("POST", n.URL+tc.path, bytes.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.ctype)
				req.Header.Set("Authorization", "Key "+key)
				hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
				res, err := hc.Do(req)
				if err != nil {
					t.Fatalf("try %d: %v (want the 413 answer, not a broken connection)", i, err)
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					t.Fatalf("try %d: reading the answer: %v", i, err)
				}
				var e struct{ Code, Error string }
				if res.StatusCode != 413 || json.Unmarshal(b, &e) != nil || e.Code != "too_large" || !strings.Contains(e.Error, "larger than") {
					t.Fatalf("try %d: %d %.200q, want 413 with a JSON too_large message", i, res.StatusCode, b)
				}
			}
		})
	}
}

// TestHTTPTextInput: input that is not text (invalid UTF-8, NUL) is
// refused with 400 where it enters, on PostgreSQL (which cannot store
// either): login form fields, JSON fields (passwords are never rewritten
// to U+FFFD), escaped NUL and unpaired surrogates, query and path
// parameters. Text in any script passes and round-trips.
func TestHTTPTextInput(t *testing.T) {
	t.Parallel()
	n := pubNode(t, pgtest.NewDatabase(t), "", "node")
	admin := pubUser(t, n, "admin", "admin")

	t.Run("LoginForm", func(t *testing.T) {
		for name, username := range map[string]string{"InvalidUTF8": "ad\xffmin", "NUL": "ad\x00min"} {
			r := loginPost(t, n, username, "whatever")
			if r.Status != 400 || r.ErrorCode(t) != "invalid" || !strings.Contains(string(r.Body), `form field \"username\"`) {
				t.Errorf("login with %s in the username: %d %s, want 400 naming the field", name, r.Status, r.Body)
			}
		}
		r := loginPost(t, n, "admin", "pass\xffword")
		if r.Status != 400 {
			t.Errorf("login with invalid UTF-8 in the password: %d %s, want 400", r.Status, r.Body)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		bodies := map[string]string{
			"PasswordInvalidUTF8":   "{\"username\": \"u1\", \"role\": \"viewer\", \"password\": \"secret\xff\xfe-1\"}",
			"PasswordLoneSurrogate": `{"username": "u2", "role": "viewer", "password": "secret\ud800-1"}`,
			"UsernameNUL":           `{"username": "u\u00003", "role": "viewer", "password": "secret-password-1"}`,
		}
		for name, body := range bodies {
			r := pubJSON(t, "POST", n.URL+"/__api__/v1/users", admin, body)
			if r.Status != 400 || r.ErrorCode(t) != "invalid" {
				t.Errorf("create user, %s: %d %s, want 400", name, r.Status, r.Body)
			}
		}
		r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", admin, "{\"name\": \"bad\", \"title\": \"caf\xe9\"}")
		if r.Status != 400 || !strings.Contains(string(r.Body), "UTF-8") {
			t.Errorf("content with a Latin-1 title: %d %s, want 400 saying UTF-8", r.Status, r.Body)
		}
		r = pubJSON(t, "POST", n.URL+"/__api__/v1/content", admin, map[string]string{"name": "good", "title": "Zoë — 日本語 ✓"})
		pubWant(t, "content with a UTF-8 title", r, 201)
		var ct struct{ Title string }
		r.JSON(t, &ct)
		if ct.Title != "Zoë — 日本語 ✓" {
			t.Errorf("title came back as %q", ct.Title)
		}
	})
	t.Run("QueryAndPath", func(t *testing.T) {
		for _, p := range []string{"/__api__/v1/content?name=%FF", "/__api__/v1/content?name=a%00b", "/__api__/v1/content/%FF%FE", "/__api__/v1/tasks/a%00b"} {
			r := pubDo(t, "GET", n.URL+p, admin, "", nil)
			if r.Status != 400 || r.ErrorCode(t) != "invalid" {
				t.Errorf("GET %s: %d %s, want 400", p, r.Status, r.Body)
			}
		}
	})
	if strings.Contains(n.Log(), "invalid byte sequence") || strings.Contains(n.Log(), "SQLSTATE 22") {
		t.Errorf("PostgreSQL saw text that is not text:\n%s", n.Log())
	}
}

// loginPost posts the login form with a valid login CSRF token (from the
// form), so that the credentials are really tried.
func loginPost(t *testing.T, n *nodetest.Node, username, password string) pubResp {
	t.Helper()
	page := pubDo(t, "GET", n.URL+"/__login__", "", "", nil)
	var token string
	for _, c := range (&http.Response{Header: page.Header}).Cookies() {
		if c.Name == "podium_login_csrf" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatalf("no login CSRF cookie: %v", page.Header)
	}
	form := "username=" + url.QueryEscape(username) + "&password=" + url.QueryEscape(password) + "&login_csrf=" + url.QueryEscape(token)
	req, _ := http.NewRequest("POST", n.URL+"/__login__", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "podium_login_csrf", Value: token})
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pubResp{Status: res.StatusCode, Body: b, Header: res.Header}
}
