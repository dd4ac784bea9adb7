package apps_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/fastpath"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/web"
)

// echoApp builds the test app once into a directory every user may read,
// since apps run as "nobody" when the tests run as root.
var echoApp = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "podium-apps-test-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "echoapp"), "../integration/testdata/apps/echo")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build echo app: %v\n%s", err, out)
	}
	return dir, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := echoApp(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// source is an AppSource holding one app that a test may redeploy.
type source struct {
	mu    sync.Mutex
	app   *apps.App
	reads int // ActiveApp calls since the last set
}

func (s *source) ActiveApp(_ context.Context, guid string) (*apps.App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.app == nil || s.app.GUID != guid {
		return nil, podium.Errorf(podium.ENOTFOUND, "no app %s", guid)
	}
	a := *s.app
	return &a, nil
}

func (s *source) AppGUIDs(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return nil, nil
	}
	return []string{s.app.GUID}, nil
}

func (s *source) set(f func(a *apps.App)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := *s.app
	f(&a)
	s.app = &a
	s.reads = 0
}

// setApplied is set, then waits until the supervisor holds the changed
// app, so that the next request sees it: until its housekeeping loop has
// read the source twice since the change. The loop refreshes pools one
// after another, so its second read starts after the first was applied
// (the test sends no request meanwhile).
func (s *source) setApplied(t *testing.T, f func(a *apps.App)) {
	t.Helper()
	s.set(f)
	testutil.WaitFor(t, 10*time.Second, "the supervisor read the changed app", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.reads >= 2
	})
}

type fixture struct {
	sup  *apps.Supervisor
	src  *source
	srv  *httptest.Server
	web  *web.Server
	base string // URL of the app
	fast bool   // behind the fast loop and its raw lane (setupServer)
}

const guid = "0b7c2c9e-1d7e-4e39-9a61-3a2f3c1d0e01"

func setup(t *testing.T, lim apps.Limits, args ...string) *fixture {
	t.Helper()
	return setupWith(t, lim, nil, args...)
}

// setupWith is setup with a change to the supervisor's options.
func setupWith(t testing.TB, lim apps.Limits, opt func(*apps.Options), args ...string) *fixture {
	t.Helper()
	return setupServer(t, lim, opt, false, args...)
}

// setupServer is setupWith, and with fast the node's front as on a node
// with [HTTP] FastPath: internal/fastpath's loop before net/http, its raw
// lane sending every GET under the app's prefix to ServeRaw (everything
// is granted in this fixture).
func setupServer(t testing.TB, lim apps.Limits, opt func(*apps.Options), fast bool, args ...string) *fixture {
	t.Helper()
	dir, err := echoApp()
	if err != nil {
		t.Fatal(err)
	}
	log := logging.Component(logging.Discard(), "apps")
	ws := web.New(web.Options{Log: log, Health: func(context.Context) (web.PingBody, bool) { return web.PingBody{}, true }})
	src := &source{app: &apps.App{GUID: guid, ContentID: 1, BundleID: 1, Dir: dir, Command: append([]string{"./echoapp"}, args...)}}
	opts := apps.Options{Source: src, Limits: lim, RunAs: "nobody", LogDir: t.TempDir(), Log: log,
		TrackHijacked: ws.TrackHijacked, RefreshInterval: 50 * time.Millisecond, StopGrace: 2 * time.Second}
	if opt != nil {
		opt(&opts)
	}
	sup := apps.New(opts)
	sup.TestSignals.Init()
	serve := func(c echo.Context) error { return sup.ServeApp(c, c.Param("guid")) }
	ws.Echo.Any("/content/:guid", serve)
	ws.Echo.Any("/content/:guid/*", serve)
	srv := httptest.NewUnstartedServer(ws.Echo)
	srv.Config.RegisterOnShutdown(func() { ws.CloseHijacked() })
	if fast {
		fs := &fastpath.Server{Handler: ws.Echo, BaseContext: context.Background(), WriteTimeout: time.Minute,
			Raw: func(r *fastpath.RawRequest) fastpath.RawResult {
				status, keep := sup.ServeRaw(r, guid, []apps.RawHeader{{Key: "X-Lane", Value: "raw"}}, func() {})
				switch {
				case status == 0:
					return fastpath.RawDeclined
				case keep:
					return fastpath.RawKeep
				}
				return fastpath.RawClose
			}}
		srv.Listener = fs.Listener(srv.Listener)
		t.Cleanup(fs.Close)
	}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	if err := sup.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		stopCtx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = sup.Stop(stopCtx)
	})
	return &fixture{sup: sup, src: src, srv: srv, web: ws, base: srv.URL + "/content/" + guid + "/", fast: fast}
}

func defaults() apps.Limits {
	return apps.Limits{MinProcesses: 0, MaxProcesses: 3, MaxConnsPerProcess: 20, LoadFactor: 0.5,
		IdleTimeout: 5 * time.Second, InitTimeout: 10 * time.Second}
}

func getJSON(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, res.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v: %s", req.URL, err, body)
	}
	return m
}

func TestServeApp(t *testing.T) {
	t.Parallel()
	f := setup(t, defaults())

	t.Run("HTTPHeadersAndEnvironment", func(t *testing.T) {
		req, _ := http.NewRequest("GET", f.base+"?q=1", nil)
		req.Header.Set("X-Forwarded-For", "6.6.6.6") // from an untrusted peer: replaced
		req.Header.Set("Authorization", "Key secret")
		m := getJSON(t, req)
		if m["path"] != "/" || m["query"] != "q=1" || m["base_path"] != "/content/"+guid+"/" {
			t.Errorf("path/base: %v", m)
		}
		if m["x_forwarded_for"] != "127.0.0.1" || m["x_forwarded_proto"] != "http" || m["x_forwarded_prefix"] != "/content/"+guid {
			t.Errorf("forwarding headers: %v", m)
		}
		if m["authorization"] != "" {
			t.Errorf("Podium's API key reached the app: %v", m["authorization"])
		}
		if os.Geteuid() == 0 && m["uid"] != float64(65534) {
			t.Errorf("app runs as uid %v, want nobody (65534)", m["uid"])
		}
		if m["env_count"].(float64) > 8 {
			t.Errorf("environment not clean: %v variables", m["env_count"])
		}
	})

	t.Run("RedirectToSlash", func(t *testing.T) {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(strings.TrimSuffix(f.base, "/"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 301 || res.Header.Get("Location") != "/content/"+guid+"/" {
			t.Errorf("got %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})

	t.Run("SSEStreamsEventByEvent", func(t *testing.T) {
		res, err := http.Get(f.base + "sse")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		start := time.Now()
		buf := make([]byte, 100)
		n, err := res.Body.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "data: ") {
			t.Fatalf("first event: %q %v", buf[:n], err)
		}
		first := time.Since(start)
		rest, _ := io.ReadAll(res.Body)
		if first > 250*time.Millisecond || strings.Count(string(rest), "data: ") != 2 {
			t.Errorf("first event after %s (want before the stream ends), rest %q", first, rest)
		}
	})

	t.Run("LargeUploadStreams", func(t *testing.T) {
		const size = 64 << 20
		h := sha256.New()
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 1<<20)
			for i := 0; i < size/len(buf); i++ {
				_, _ = rand.Read(buf[:64])
				h.Write(buf)
				if _, err := pw.Write(buf); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", f.base+"upload", pr)
		m := getJSON(t, req)
		if m["bytes"] != float64(size) || m["sha256"] != hex.EncodeToString(h.Sum(nil)) {
			t.Errorf("upload: %v", m)
		}
	})

	t.Run("WebSocketEchoClosedOnShutdown", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(10*time.Second))
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.base, "http")+"ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		var pid string
		for i := range 5 {
			if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
			_, msg, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			p, m, _ := strings.Cut(string(msg), ":")
			if m != fmt.Sprint(i) || (pid != "" && p != pid) {
				t.Fatalf("message %d: %q (pid before %s)", i, msg, pid)
			}
			pid = p
		}
		// The server's shutdown must close the hijacked connection.
		go func() { _ = f.srv.Config.Shutdown(context.Background()) }()
		rctx, rcancel := context.WithTimeout(ctx, testutil.Timeout(5*time.Second))
		defer rcancel()
		if _, _, err := c.Read(rctx); err == nil || rctx.Err() != nil {
			t.Fatalf("WebSocket still open after shutdown: %v", err)
		}
	})
}

func live(f *fixture) (n int) {
	for _, p := range f.sup.Processes(guid) {
		if p.State == apps.StateReady || p.State == apps.StateStarting {
			n++
		}
	}
	return n
}

// TestScaling holds 8 requests open at once (2 connections per process,
// at most 3 processes): the pool grows to 3 processes with 2 connections
// each, the 2 other requests wait for a slot, and every request is
// answered once the test releases them. It waits on the pool's state, not
// on timing: it once failed with "answered by 2 processes, 4 each",
// because a process counted as live while still starting let the ready
// ones take more than MaxConnsPerProcess.
func TestScaling(t *testing.T) {
	t.Parallel()
	lim := defaults()
	lim.MinProcesses, lim.MaxProcesses, lim.MaxConnsPerProcess, lim.IdleTimeout = 1, 3, 2, 500*time.Millisecond
	f := setup(t, lim)
	testutil.WaitFor(t, 10*time.Second, "MinProcesses at start", func() bool { return live(f) == 1 })

	h := startHolds(t, f, 8)
	testutil.WaitFor(t, 30*time.Second, "3 processes with 2 connections each and 2 requests queued", func() bool {
		return poolIs(f, []int{2, 2, 2}, 2)
	})
	if n := f.sup.Running(guid); n != 3 {
		t.Errorf("Running = %d with 3 ready processes holding requests, want 3", n)
	}
	if n := f.sup.Running("no-such-content"); n != 0 {
		t.Errorf("Running of content without a pool = %d, want 0", n)
	}
	got := h.release(t)
	if len(got.pids) != 3 || got.most > 2 || got.status[200] != 8 {
		t.Errorf("8 held requests, 2 conns/process, max 3 processes: %+v, want 8 answers from 3 processes, at most 2 at once in each", got)
	}
	if n := live(f); n > 3 {
		t.Errorf("%d live processes, want at most MaxProcesses 3", n)
	}
	testutil.WaitFor(t, 10*time.Second, "idle pool back to MinProcesses", func() bool { return live(f) == 1 })
}

// TestMaxConnsPerProcessHolds checks that MaxConnsPerProcess is a limit:
// at MaxProcesses a connection beyond it (a request or a WebSocket) waits
// for a slot rather than reaching a process, and gets a 503 that says why
// when none frees within InitTimeout.
func TestMaxConnsPerProcessHolds(t *testing.T) {
	t.Parallel()
	lim := defaults()
	lim.MaxProcesses, lim.MaxConnsPerProcess, lim.LoadFactor = 2, 1, 1
	f := setup(t, lim)

	t.Run("RequestsQueueAtTheLimit", func(t *testing.T) {
		h := startHolds(t, f, 4)
		testutil.WaitFor(t, 30*time.Second, "2 processes with 1 connection each and 2 requests queued", func() bool {
			return poolIs(f, []int{1, 1}, 2)
		})
		got := h.release(t)
		if len(got.pids) != 2 || got.most != 1 || got.status[200] != 4 {
			t.Errorf("4 held requests, 1 conn/process, max 2 processes: %+v, want 4 answers from 2 processes, one at a time in each", got)
		}
	})

	t.Run("WebSocketTakesASlot", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
		defer cancel()
		var conns []*websocket.Conn
		for range 2 {
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.base, "http")+"ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			conns = append(conns, c)
		}
		h := startHolds(t, f, 1)
		testutil.WaitFor(t, 30*time.Second, "2 WebSockets in 2 processes and the request queued", func() bool {
			return poolIs(f, []int{1, 1}, 1)
		})
		_ = conns[0].Close(websocket.StatusNormalClosure, "")
		got := h.release(t)
		if got.status[200] != 1 || got.most != 1 {
			t.Errorf("request queued behind WebSockets: %+v", got)
		}
	})

	t.Run("QueueIsBoundedBy503", func(t *testing.T) {
		lim := lim
		lim.MaxProcesses, lim.InitTimeout = 1, testutil.Timeout(2*time.Second)
		f := setup(t, lim)
		h := startHolds(t, f, 1)
		testutil.WaitFor(t, 30*time.Second, "1 process with 1 connection", func() bool { return poolIs(f, []int{1}, 0) })
		res, err := http.Get(f.base)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "MaxConnsPerProcess") {
			t.Errorf("request beyond the limit: %d %q", res.StatusCode, body)
		}
		if got := h.release(t); got.status[200] != 1 {
			t.Errorf("held request: %+v", got)
		}
	})
}

// holds are /hold requests in flight until release.
type holds struct {
	file string
	done chan holdResult
	n    int
	got  int // answers received
}

type holdResult struct {
	status int
	pid    string
	most   int
}

// held is what released holds answered: statuses, answers per pid, and the
// most requests one process had in flight at once (as the app saw it).
type held struct {
	status map[int]int
	pids   map[string]int
	most   int
}

// startHolds sends n concurrent /hold requests, which the app answers only
// once release creates their file.
func startHolds(t *testing.T, f *fixture, n int) *holds {
	t.Helper()
	h := &holds{file: filepath.Join(testutil.OpenTempDir(t, 0o755), "release"), done: make(chan holdResult, n), n: n}
	// Released at the end in any case, before the file's directory goes
	// (the app polls for it) and before the test server's Close, which
	// waits for its requests.
	t.Cleanup(func() {
		_ = os.WriteFile(h.file, nil, 0o644)
		timeout := time.After(testutil.Timeout(30 * time.Second))
		for h.got < h.n {
			select {
			case <-h.done:
				h.got++
			case <-timeout:
				return
			}
		}
	})
	for range n {
		go func() {
			res, err := http.Get(f.base + "hold?file=" + h.file)
			if err != nil {
				h.done <- holdResult{status: -1, pid: err.Error()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			most, _ := strconv.Atoi(res.Header.Get("X-Inflight"))
			h.done <- holdResult{status: res.StatusCode, pid: strings.TrimSpace(string(b)), most: most}
		}()
	}
	return h
}

// release lets every held request finish and collects their answers.
func (h *holds) release(t *testing.T) held {
	t.Helper()
	if err := os.WriteFile(h.file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := held{status: map[int]int{}, pids: map[string]int{}}
	timeout := time.After(testutil.Timeout(30 * time.Second))
	for range h.n {
		select {
		case r := <-h.done:
			h.got++
			out.status[r.status]++
			if r.status == 200 {
				out.pids[r.pid]++
			}
			out.most = max(out.most, r.most)
		case <-timeout:
			t.Fatalf("held requests not answered after release: %+v so far", out)
		}
	}
	return out
}

// poolIs reports whether the pool's ready processes have exactly the given
// connection counts (in any order) and queued requests wait.
func poolIs(f *fixture, conns []int, queued int) bool {
	st := f.sup.Status(guid)
	var got []int
	for _, p := range st.Processes {
		if p.State == apps.StateReady {
			got = append(got, p.Connections)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(conns))
	return slices.Equal(got, want) && st.Queued == queued
}

func TestCrashIsReplaced(t *testing.T) {
	t.Parallel()
	f := setup(t, defaults())
	first := getJSON(t, mustReq(t, f.base))["pid"]
	res, err := http.Get(f.base + "crash")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("request that crashed the app: %d, want 502", res.StatusCode)
	}
	testutil.WaitFor(t, 10*time.Second, "crash recorded", func() bool {
		for _, p := range f.sup.Processes(guid) {
			if p.State == apps.StateCrashed {
				return true
			}
		}
		return false
	})
	// Within the backoff the app answers 503 at once; after it, a new process.
	testutil.WaitFor(t, 15*time.Second, "a new process serves", func() bool {
		res, err := http.Get(f.base)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode == 200 && m["pid"] != first
	})
	if st := f.sup.Stats(); st.Crashed != 1 {
		t.Errorf("stats: %+v", st)
	}
}

func TestNoListenGets503NotHang(t *testing.T) {
	t.Parallel()
	lim := defaults()
	lim.InitTimeout = 700 * time.Millisecond
	f := setup(t, lim, "--no-listen")
	start := time.Now()
	res, err := http.Get(f.base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || !strings.Contains(string(body), "503") || time.Since(start) > testutil.Timeout(5*time.Second) {
		t.Fatalf("got %d after %s: %s", res.StatusCode, time.Since(start), body)
	}
	st := f.sup.Status(guid)
	if st.Failures < 1 || !strings.Contains(st.LastError, "did not listen") {
		t.Errorf("status: %+v", st)
	}
	// The log of the failed process is kept and readable.
	path, err := f.sup.LogPath(guid, st.Processes[0].PID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "not listening, on purpose") {
		t.Errorf("log %s: %q", path, b)
	}
}

func TestRedeployDrainsOldProcesses(t *testing.T) {
	t.Parallel()
	f := setup(t, defaults())
	old := getJSON(t, mustReq(t, f.base))["pid"]
	// A long request on the old bundle keeps its process until it ends.
	done := make(chan string)
	go func() {
		res, err := http.Get(f.base + "sleep?ms=1500")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		done <- strings.TrimSpace(string(b))
	}()
	testutil.WaitFor(t, 10*time.Second, "the long request in flight on the old process", func() bool {
		for _, p := range f.sup.Processes(guid) {
			if float64(p.PID) == old && p.Connections > 0 {
				return true
			}
		}
		return false
	})
	f.src.set(func(a *apps.App) { a.BundleID = 2 })
	testutil.WaitFor(t, 10*time.Second, "new bundle served", func() bool {
		return getJSON(t, mustReq(t, f.base))["pid"] != old
	})
	if got := <-done; got != fmt.Sprint(old) {
		t.Errorf("in-flight request on the old process: %q, want pid %v", got, old)
	}
	testutil.WaitFor(t, 10*time.Second, "old process drained and stopped", func() bool {
		for _, p := range f.sup.Processes(guid) {
			if float64(p.PID) == old {
				return p.State == apps.StateExited
			}
		}
		return false
	})
}

func mustReq(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestUnreachableBundleIsExplained: when the RunAs user cannot enter a
// directory above the bundle, the 503 page and the pool's last error name
// that directory and the fix, instead of a bare "permission denied".
// (RunAs applies only when podium runs as root, as in CI; otherwise the
// app runs as podium's own user and starts.)
func TestUnreachableBundleIsExplained(t *testing.T) {
	t.Parallel()
	private, bundleDir := privateBundle(t)
	f := setup(t, defaults())
	f.src.setApplied(t, func(a *apps.App) { a.Dir, a.BundleID = bundleDir, 2 })
	res, err := http.Get(f.base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if os.Geteuid() != 0 {
		if res.StatusCode != 200 {
			t.Fatalf("as podium's own user: %d %s, want 200", res.StatusCode, body)
		}
		return
	}
	if res.StatusCode != 503 || !strings.Contains(string(body), "cannot enter "+private) {
		t.Errorf("got %d %s, want 503 naming %s", res.StatusCode, body, private)
	}
	if st := f.sup.Status(guid); !strings.Contains(st.LastError, `RunAs "nobody" cannot enter `+private) ||
		!strings.Contains(st.LastError, "chmod o+x "+private) {
		t.Errorf("last error %q, want the directory and the fix", st.LastError)
	}
}

// privateBundle copies the echo app into a bundle directory below a
// directory closed to others (0700), and returns both.
func privateBundle(t *testing.T) (private, bundleDir string) {
	t.Helper()
	private = filepath.Join(testutil.OpenTempDir(t, 0o755), "private")
	if err := os.Mkdir(private, 0o700); err != nil { // closed to nobody
		t.Fatal(err)
	}
	bundleDir = filepath.Join(private, "bundle")
	if err := os.Mkdir(bundleDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := echoApp()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(filepath.Join(dir, "echoapp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundleDir, "echoapp"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return private, bundleDir
}

// TestUnreachableBundleRunsFromCopy: with a RuntimeDir, a process whose
// RunAs user cannot enter its bundle runs from a copy of the bundle there,
// which is removed when the process ends; Start empties the RuntimeDir of
// a previous run. (As podium's own user, not root, the app runs in place.)
func TestUnreachableBundleRunsFromCopy(t *testing.T) {
	t.Parallel()
	_, bundleDir := privateBundle(t)
	runtime := filepath.Join(testutil.OpenTempDir(t, 0o755), "runtime")
	if err := os.MkdirAll(filepath.Join(runtime, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := setupWith(t, defaults(), func(o *apps.Options) { o.RuntimeDir = runtime })
	if _, err := os.Stat(filepath.Join(runtime, "stale")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a stale copy survived Start: %v", err)
	}
	f.src.setApplied(t, func(a *apps.App) { a.Dir, a.BundleID = bundleDir, 2 })
	m := getJSON(t, mustRequest(t, "GET", f.base))
	pid := int(m["pid"].(float64))
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if cwd != bundleDir {
			t.Errorf("as podium's own user the app runs in %s, want the bundle %s", cwd, bundleDir)
		}
		return
	}
	if m["uid"] != float64(65534) || !strings.HasPrefix(cwd, runtime+string(filepath.Separator)) {
		t.Fatalf("app uid %v in %s, want nobody in a copy under %s", m["uid"], cwd, runtime)
	}
	// The process ends (its content is gone): its copy goes with it.
	f.src.set(func(a *apps.App) { a.GUID = "gone" })
	testutil.WaitFor(t, 15*time.Second, "the copy removed after the process ended", func() bool {
		entries, err := os.ReadDir(runtime)
		return err == nil && len(entries) == 0
	})
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRedeployNeverServesOldStartError (issue 12, defect 9): after bundle 1
// failed to start and bundle 2 went live, no request is answered with
// bundle 1's error, whether the node's copy of the active app is still
// stale (a long RefreshInterval) or bundle 1's process fails only after the
// redeploy was noticed.
func TestRedeployNeverServesOldStartError(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, f *fixture) (int, string) {
		t.Helper()
		res, err := http.Get(f.base)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	t.Run("StaleAppCopy", func(t *testing.T) {
		t.Parallel()
		lim := defaults()
		lim.InitTimeout = 700 * time.Millisecond
		f := setupWith(t, lim, func(o *apps.Options) { o.RefreshInterval = time.Hour }, "--no-listen")
		if code, body := get(t, f); code != 503 {
			t.Fatalf("bundle 1 (never listens): %d %s, want 503", code, body)
		}
		// Bundle 2 starts; the supervisor has not re-read the app yet.
		f.src.set(func(a *apps.App) { a.BundleID, a.Command = 2, []string{"./echoapp"} })
		if code, body := get(t, f); code != 200 {
			t.Fatalf("first request after the redeploy: %d %s, want 200 from bundle 2", code, body)
		}
	})
	t.Run("OldProcessCrashesAfterRedeploy", func(t *testing.T) {
		t.Parallel()
		f := setup(t, defaults())
		old := getJSON(t, mustReq(t, f.base))["pid"]
		// A long request keeps bundle 1's process draining after the
		// redeploy; it then crashes (killed) while bundle 2 has no
		// process yet.
		done := make(chan struct{})
		go func() {
			defer close(done)
			if res, err := http.Get(f.base + "sleep?ms=60000"); err == nil {
				res.Body.Close()
			}
		}()
		testutil.WaitFor(t, 10*time.Second, "long request in flight", func() bool {
			for _, p := range f.sup.Processes(guid) {
				if p.Connections > 0 {
					return true
				}
			}
			return false
		})
		f.src.set(func(a *apps.App) { a.BundleID = 2 })
		testutil.WaitFor(t, 10*time.Second, "bundle 1's process draining", func() bool {
			for _, p := range f.sup.Processes(guid) {
				if float64(p.PID) == old {
					return p.State == apps.StateDraining
				}
			}
			return false
		})
		if err := syscall.Kill(int(old.(float64)), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		testutil.WaitFor(t, 10*time.Second, "crash recorded", func() bool {
			for _, p := range f.sup.Processes(guid) {
				if float64(p.PID) == old {
					return p.State == apps.StateCrashed
				}
			}
			return false
		})
		if code, body := get(t, f); code != 200 {
			t.Fatalf("request after the redeploy: %d %s, want 200 from bundle 2", code, body)
		}
	})
}

// TestCommandResolvedInAppPath starts an app whose serve.command is a bare
// name ("sh") while podium's own PATH starts with a directory holding
// another "sh" that the RunAs user may not enter (a root shell's pyenv
// shims): the app's own PATH must be searched, as RunAs. A command found
// nowhere fails with an error naming it and the PATH. Not parallel: it
// sets PATH.
func TestCommandResolvedInAppPath(t *testing.T) {
	shims := testutil.OpenTempDir(t, 0o700)
	fake := "#!/bin/sh\necho 'the sh of podium PATH ran' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(shims, "sh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", shims+":"+os.Getenv("PATH"))

	command := func(argv ...string) func(*apps.Options) {
		return func(o *apps.Options) { o.Source.(*source).app.Command = argv }
	}
	f := setupWith(t, defaults(), command("sh", "-c", "exec ./echoapp"))
	if m := getJSON(t, mustReq(t, f.base)); m["path"] != "/" {
		t.Errorf("app started through sh: %v", m)
	}

	g := setupWith(t, defaults(), command("podium-no-such-command"))
	res, err := http.Get(g.base)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	st := g.sup.Status(guid)
	if res.StatusCode != 503 || !strings.Contains(st.LastError, `"podium-no-such-command"`) || !strings.Contains(st.LastError, "PATH=/usr/local/bin:/usr/bin:/bin") {
		t.Errorf("missing command: %d %s; last error %q, want the command and the PATH named", res.StatusCode, body, st.LastError)
	}
}

// TestAppEnvOrder: a process gets the content's variables first, then the
// server's own (PORT, HOME, the base path…), then the runtime's (a Python
// environment's PATH): a content variable cannot override the server's or
// the runtime's, and the runtime's PATH replaces the default.
func TestAppEnvOrder(t *testing.T) {
	t.Parallel()
	f := setupWith(t, defaults(), func(o *apps.Options) {
		a := o.Source.(*source).app
		a.Env = []string{"GREETING=hi", "PORT=1", "PATH=/content/bin", "VIRTUAL_ENV=/content"}
		a.RuntimeEnv = []string{"PATH=/runtime/bin:/usr/bin:/bin", "VIRTUAL_ENV=/runtime"}
	})
	for name, want := range map[string]string{
		"GREETING":            "hi",
		"PATH":                "/runtime/bin:/usr/bin:/bin",
		"VIRTUAL_ENV":         "/runtime",
		"PODIUM_CONTENT_GUID": guid,
	} {
		res, err := http.DefaultClient.Do(mustReq(t, f.base+"env/"+name))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != want {
			t.Errorf("$%s = %d %q, want %q", name, res.StatusCode, body, want)
		}
	}
}

// TestTickDiscoversApps: an app deployed through another node (the
// source lists it after Start) gets its MinProcesses from the tick loop's
// next discovery pass, which the test waits for on the Ticked signal.
func TestTickDiscoversApps(t *testing.T) {
	lim := defaults()
	lim.MinProcesses = 1
	f := setup(t, lim)
	const other = "0b7c2c9e-1d7e-4e39-9a61-3a2f3c1d0e02"
	if n := len(f.sup.Processes(other)); n != 0 {
		t.Fatalf("%d processes of an app not deployed yet", n)
	}
	f.src.set(func(a *apps.App) { a.GUID = other })
	// A pass that listed the apps after the change: the first one may
	// have begun before it.
	for discoveries := 0; discoveries < 2; {
		if f.sup.TestSignals.Ticked.WaitOrTimeout(t) {
			discoveries++
		}
	}
	var n int
	for _, p := range f.sup.Processes(other) {
		if p.State == apps.StateReady || p.State == apps.StateStarting {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d live processes of the app after a discovery pass, want MinProcesses (1): %+v", n, f.sup.Processes(other))
	}
}

// TestLive checks the one definition of a running process (the
// dashboard's count and the apps.processes metric): every state a process
// can be in, live or ended.
func TestLive(t *testing.T) {
	for state, want := range map[string]bool{
		apps.StateStarting: true, apps.StateReady: true, apps.StateDraining: true, apps.StateStopping: true,
		apps.StateExited: false, apps.StateCrashed: false, apps.StateFailed: false, "": false,
	} {
		if got := apps.Live(state); got != want {
			t.Errorf("Live(%q) = %v, want %v", state, got, want)
		}
	}
}
