package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// dashConfig is the configuration of the dashboard test's nodes: renders
// run as nobody, the test's own reverse proxy (on loopback) is trusted for
// X-Forwarded-Prefix, metrics are sampled often enough to chart, app
// processes outlive the test (the default idle timeout is 5 s).
const dashConfig = pubConfig + "JobPollInterval = 500ms\n[HTTP]\nTrustedProxies = 127.0.0.1\n[Metrics]\nInterval = 1s\n[Scheduler]\nIdleTimeout = 5m\n"

// TestDashboardBrowser drives the dashboard in a real headless Chromium on
// a two-node PostgreSQL cluster: log in, see content deployed through the
// API listed and rendered, the jobs, both nodes on the cluster page, a
// metrics chart drawn, and the same pages behind a proxy at a sub-path,
// logging out and in through it.
// Screenshots of each page go to artifacts/screenshots/. One browser serves
// every subtest: starting Chromium is the expensive part.
func TestDashboardBrowser(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t) // app processes run as nobody and read their bundle
	a := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "A", Config: dashConfig})
	b := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "B", Config: dashConfig})
	const password = "correct horse battery staple"
	dashUser(t, a, "admin", "admin", password)
	key := pubUser(t, a, "alice", "publisher")

	// Content deployed through the API: a static site on A and a report
	// on B (rendered at deployment), both listed on either node.
	deploy := func(n *nodetest.Node, name string, files map[string]string) string {
		t.Helper()
		r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]string{"name": name, "title": "The " + name})
		pubWant(t, "create "+name, r, 201)
		var c struct{ GUID string }
		r.JSON(t, &c)
		r = pubDo(t, "POST", n.URL+"/__api__/v1/content/"+c.GUID+"/bundles", key, "application/gzip", pubBundle(t, files))
		pubWant(t, "upload "+name, r, 201)
		var bd struct{ ID int64 }
		r.JSON(t, &bd)
		r = pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+c.GUID+"/deploy", key, map[string]any{"bundle_id": bd.ID})
		pubWant(t, "deploy "+name, r, 202)
		var started struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &started)
		if task := pubWaitTask(t, n.URL, key, started.TaskID); task.Code != 0 {
			t.Fatalf("deploy %s: %+v", name, task)
		}
		return c.GUID
	}
	site := deploy(a, "site", map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1 id=hello>Hello from the dashboard test</h1>",
	})
	report := deploy(b, "report", map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `echo "<p id=r>rendered report</p>" > "$PODIUM_OUTPUT_DIR/index.html"; echo render done`,
	})
	// An app (a Python HTTP server), started on A by a first request.
	app := deploy(a, "app", map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"app"},"serve":{"command":["/usr/bin/python3","app.py"]}}`,
		"app.py": `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "text/html"); self.end_headers()
        self.wfile.write(b"<h1 id=app>app says hi</h1>")
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	})
	if r := pubDo(t, "GET", a.URL+"/content/"+app+"/", key, "", nil); r.Status != 200 {
		t.Fatalf("app through A: %d %s", r.Status, r.Body)
	}
	pubWant(t, "schedule", pubJSON(t, "PUT", a.URL+"/__api__/v1/content/"+report+"/schedule", key,
		map[string]any{"spec": "@every 2s", "timezone": "UTC"}), 200)

	shots := filepath.Join(nodetest.ModuleRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	do := func(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserRun(t, browser, what, chromedp.Steps(steps...))
	}
	shot := func(t *testing.T, name string) {
		t.Helper()
		png := browserRun(t, browser, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		return browserRun(t, browser, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	}
	location := func(t *testing.T) string {
		t.Helper()
		return browserRun(t, browser, "location", chromedp.Location())
	}
	eval := func(t *testing.T, js string) any {
		t.Helper()
		return browserRun(t, browser, js, chromedp.Evaluate[any](js))
	}
	// opened follows the page's "open" link (the content itself, served by
	// the node: the preview iframe beside it is sandboxed, so its document
	// is not readable from the dashboard) and returns the text of element
	// id, then comes back.
	opened := func(t *testing.T, id string) string {
		t.Helper()
		href := browserRun(t, browser, "open link", chromedp.Evaluate[string](`document.getElementById('open').href`))
		back := location(t)
		do(t, "open "+href, chromedp.Navigate(href), chromedp.WaitVisible(chromedp.CSS("#"+id)))
		s := text(t, "#"+id)
		do(t, "back", chromedp.Navigate(back), chromedp.WaitVisible(chromedp.CSS("#preview")))
		return s
	}
	dash := a.URL + "/__dashboard__"

	t.Run("AnonymousRedirectedToLogin", func(t *testing.T) {
		r := pubDo(t, "GET", dash+"/cluster", "", "", nil)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/__login__?next=%2F__dashboard__%2Fcluster" {
			t.Fatalf("anonymous GET cluster: %d Location %q", r.Status, r.Header.Get("Location"))
		}
	})

	t.Run("LogIn", func(t *testing.T) {
		do(t, "log in",
			chromedp.Navigate(dash+"/content/"+site),
			chromedp.WaitVisible(chromedp.CSS("#username")),
		)
		if loc := location(t); !strings.Contains(loc, "/__login__?next=") {
			t.Fatalf("not sent to the login page: %s", loc)
		}
		shot(t, "login")
		do(t, "submit the login form",
			chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#guid")),
		)
		if loc := location(t); loc != dash+"/content/"+site {
			t.Fatalf("after login at %s, want the page asked for", loc)
		}
		if got := text(t, "#username"); got != "admin" {
			t.Fatalf("logged in as %q", got)
		}
	})

	t.Run("ContentListed", func(t *testing.T) {
		// The landing page links to the dashboard.
		do(t, "content list from the landing page",
			chromedp.Navigate(a.URL+"/"),
			chromedp.Click(chromedp.CSS(`a[href="__dashboard__/"]`)),
			chromedp.WaitVisible(chromedp.CSS("#content-list")),
		)
		list := text(t, "#content-list")
		for _, want := range []string{"site", "The site", "report", "Static site", "alice"} {
			if !strings.Contains(list, want) {
				t.Fatalf("content list lacks %q:\n%s", want, list)
			}
		}
		shot(t, "content-list")
	})

	t.Run("ContentRendered", func(t *testing.T) {
		do(t, "site page", chromedp.Navigate(dash+"/content/"+site), chromedp.WaitVisible(chromedp.CSS("#preview")))
		if inFrame := opened(t, "hello"); inFrame != "Hello from the dashboard test" {
			t.Fatalf("preview shows %q", inFrame)
		}
		if log := text(t, "#deployments"); !strings.Contains(log, "deploy") || !strings.Contains(log, "succeeded") {
			t.Fatalf("deployments section: %s", log)
		}
		shot(t, "content-site")

		do(t, "report page", chromedp.Navigate(dash+"/content/"+report), chromedp.WaitVisible(chromedp.CSS("#renders")))
		if got := opened(t, "r"); got != "rendered report" {
			t.Fatalf("report preview shows %q", got)
		}
		// The logs are folded: unfold them to read them.
		eval(t, `document.querySelectorAll('details').forEach(d => d.open = true)`)
		for sel, want := range map[string]string{"#renders": "ok", "#schedule": "@every 2s", "#deployments": "render done"} {
			if got := text(t, sel); !strings.Contains(got, want) {
				t.Fatalf("%s lacks %q: %s", sel, want, got)
			}
		}
		shot(t, "content-report")
	})

	t.Run("AppProcesses", func(t *testing.T) {
		do(t, "app page", chromedp.Navigate(dash+"/content/"+app), chromedp.WaitVisible(chromedp.CSS("#processes")))
		if got := opened(t, "app"); got != "app says hi" {
			t.Fatalf("app shows %q", got)
		}
		if procs := text(t, "#processes"); !strings.Contains(procs, "ready") {
			t.Fatalf("processes section: %s", procs)
		}
		shot(t, "content-app")
	})

	t.Run("Jobs", func(t *testing.T) {
		// The report's schedule runs every 2 s on either node: reload
		// until a scheduled render shows in the history with its node and
		// attempt.
		deadline := time.Now().Add(testutil.Timeout(20 * time.Second))
		var history string
		for {
			do(t, "jobs page", chromedp.Navigate(dash+"/jobs"), chromedp.WaitVisible(chromedp.CSS("#history")))
			history = text(t, "#history")
			if strings.Contains(history, "attempt 1 on ") && strings.Contains(history, "succeeded") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no finished job on the jobs page:\n%s", history)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !strings.Contains(history, "succeeded") || !strings.Contains(history, "report") {
			t.Fatalf("jobs history: %s", history)
		}
		shot(t, "jobs")
	})

	t.Run("ClusterShowsTwoNodes", func(t *testing.T) {
		idA, idB := nodeID(t, a), nodeID(t, b)
		do(t, "cluster page", chromedp.Navigate(dash+"/cluster"), chromedp.WaitVisible(chromedp.CSS("#nodes")))
		live := browserRun(t, browser, "live nodes", chromedp.Evaluate[int](`document.querySelectorAll('#nodes tr.node.live').length`))
		nodes := text(t, "#nodes")
		if live != 2 || !strings.Contains(nodes, idA[:8]) || !strings.Contains(nodes, idB[:8]) {
			t.Fatalf("cluster page: %d live nodes, want 2 (%s and %s):\n%s", live, idA, idB, nodes)
		}
		shot(t, "cluster")
	})

	t.Run("NodeChartDrawn", func(t *testing.T) {
		id := nodeID(t, a)
		// The sampler writes every [Metrics] Interval: reload until the
		// page has samples to draw.
		var path string
		deadline := time.Now().Add(testutil.Timeout(20 * time.Second))
		for {
			do(t, "node page", chromedp.Navigate(dash+"/nodes/"+id), chromedp.WaitVisible(chromedp.CSS("#metrics")))
			path = browserRun(t, browser, "chart path", chromedp.Evaluate[string](
				`(function(){var p=document.querySelector('#charts svg.chart path.line'); return p ? p.getAttribute('d') : ''})()`))
			if path != "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !strings.HasPrefix(path, "M") {
			t.Fatalf("chart path %q", path)
		}
		shot(t, "node")
	})

	t.Run("SubPath", func(t *testing.T) {
		// HAProxy serving both nodes under /podium/, configured as
		// docs/dashboard.md says: it strips the prefix and says so in
		// X-Forwarded-Prefix. The session cookie (host-wide) carries over.
		proxy := startSubPathHAProxy(t, "/podium", a, b)
		base := proxy + "/podium/__dashboard__"
		do(t, "cluster page through the proxy", chromedp.Navigate(base+"/cluster"), chromedp.WaitVisible(chromedp.CSS("#nodes")))
		hrefs := browserRun(t, browser, "links", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('nav a, #nodes a')).map(a => a.getAttribute('href'))`))
		styled := browserRun(t, browser, "style", chromedp.Evaluate[bool](
			`getComputedStyle(document.querySelector('header.top')).display === 'flex'`))
		do(t, "follow the jobs link", chromedp.Click(chromedp.CSS(`nav a[href$="/jobs"]`)), chromedp.WaitVisible(chromedp.CSS("#history")))
		loc := location(t)
		for _, h := range hrefs {
			if !strings.HasPrefix(h, "/podium/__dashboard__/") {
				t.Fatalf("link %q does not carry the prefix (all: %q)", h, hrefs)
			}
		}
		if !styled || loc != base+"/jobs" {
			t.Fatalf("through the proxy: stylesheet applied %v, jobs link went to %s", styled, loc)
		}
		shot(t, "subpath-jobs")

		// Anonymous visitors are sent to the login page at the sub-path,
		// and back to the prefixed page afterwards.
		r := pubDo(t, "GET", base+"/cluster", "", "", nil)
		if want := "/podium/__login__?next=%2Fpodium%2F__dashboard__%2Fcluster"; r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Fatalf("anonymous through the proxy: %d Location %q, want %q", r.Status, r.Header.Get("Location"), want)
		}

		// Log out and in again, all through the proxy (round robin: the
		// form and its post may reach different nodes).
		do(t, "log out through the proxy",
			chromedp.Click(chromedp.CSS(`form[action$="/__logout__"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#password")),
		)
		if loc := location(t); loc != proxy+"/podium/__login__" {
			t.Fatalf("after logout at %s, want the prefixed login page", loc)
		}
		do(t, "anonymous cluster page through the proxy",
			chromedp.Navigate(base+"/cluster"),
			chromedp.WaitVisible(chromedp.CSS("#password")),
		)
		if loc := location(t); loc != proxy+"/podium/__login__?next=%2Fpodium%2F__dashboard__%2Fcluster" {
			t.Fatalf("anonymous through the proxy sent to %s", loc)
		}
		shot(t, "subpath-login")
		do(t, "log in through the proxy",
			chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#nodes")),
		)
		if loc := location(t); loc != base+"/cluster" {
			t.Fatalf("after login through the proxy at %s, want %s", loc, base+"/cluster")
		}
		if got := text(t, "#username"); got != "admin" {
			t.Fatalf("logged in through the proxy as %q", got)
		}
		shot(t, "subpath-cluster")
	})
}

// dashUser creates a user with a password (on standard input, as an
// administrator would) with the podium CLI against n's configuration.
func dashUser(t *testing.T, n *nodetest.Node, username, role, password string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(nodetest.RunTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, nodetest.Binary(t), "--config", n.ConfigPath, "users", "create",
		"--username", username, "--role", role, "--password-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("users create %s: %v: %s", username, err, out.String())
	}
}

// newBrowser starts headless Chromium (Debian's package) for the test and
// returns a context of its first tab. The flags keep it off the network
// (the test machine has none: without them Chromium waits on background
// connections) and out of the sandbox (the tests run as root). extra
// adds flags (such as host-resolver-rules).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Run starts the browser, which lives as long as that
	// call's context: no timeout on it.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// browserRun runs one action in the browser's tab within a timeout and
// returns its value, failing the test (with the page's address) on error.
func browserRun[T any](t *testing.T, browser context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(browser, testutil.Timeout(20*time.Second))
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		lctx, lcancel := context.WithTimeout(browser, 5*time.Second)
		defer lcancel()
		loc, _ := chromedp.Run(lctx, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", what, err, loc)
	}
	settle(ctx)
	return v
}

// settle waits until the current document has finished loading, so that
// the next action sees the page as the reader does. An element is
// "visible" to WaitVisible as soon as it has a box, which can be before
// the stylesheet applies; a click computed on that first layout lands
// elsewhere once it does (CI 2026-12-07: the click on the nav's Users link
// landed on Cluster), and Chromium replaces the DOM's node ids once more
// while a page loads ("No node with given id found" on the next read).
// Best effort: a step that leaves a navigation in flight makes the poll
// fail ("does not survive a navigation"), and it is tried again; the next
// action reports any real failure.
func settle(ctx context.Context) {
	for range 5 {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete"`,
			chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(testutil.Timeout(10*time.Second))))
		if err == nil || ctx.Err() != nil {
			return
		}
	}
}

// startSubPathHAProxy starts HAProxy in front of nodes at the sub-path
// prefix (round robin, no stickiness) and returns its URL.
func startSubPathHAProxy(t *testing.T, prefix string, nodes ...*nodetest.Node) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		bin = "/usr/sbin/haproxy"
	}
	port := testutil.FreePort(t)
	var servers strings.Builder
	for i, n := range nodes {
		fmt.Fprintf(&servers, "    server n%d %s\n", i+1, strings.TrimPrefix(n.URL, "http://"))
	}
	cfg := fmt.Sprintf(`global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    use_backend podium if { path_beg %s/ }
backend podium
    balance roundrobin
    http-request set-header X-Forwarded-Prefix %s
    http-request replace-path %s(/.*) \1
%s`, port, prefix, prefix, prefix, servers.String())
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("haproxy: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy log:\n%s", log.String())
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "haproxy answers", func() bool {
		res, err := http.Get(url + prefix + "/__ping__")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return url
}
