package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// deployApp creates content, uploads dir as a bundle and deploys it
// through base, and returns the content's guid.
func deployApp(t testing.TB, api *apiClient, name, dir string) string {
	t.Helper()
	var ct struct {
		GUID string `json:"guid"`
	}
	if code := api.do("POST", "/__api__/v1/content", strings.NewReader(`{"name":"`+name+`","access_type":"all"}`), &ct); code != 201 {
		t.Fatalf("create content: %d", code)
	}
	redeployApp(t, api, ct.GUID, dir)
	return ct.GUID
}

// redeployApp uploads and deploys a new bundle of dir and waits for the
// deployment task.
func redeployApp(t testing.TB, api *apiClient, guid, dir string) int64 {
	t.Helper()
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	var b struct {
		ID int64 `json:"id"`
	}
	if code := api.do("POST", "/__api__/v1/content/"+guid+"/bundles", &buf, &b); code >= 300 {
		t.Fatalf("upload: %d", code)
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	if code := api.do("POST", "/__api__/v1/content/"+guid+"/deploy", strings.NewReader(fmt.Sprintf(`{"bundle_id":%d}`, b.ID)), &task); code != 202 {
		t.Fatalf("deploy: %d", code)
	}
	testutil.WaitFor(t, 30*time.Second, "deployment finished", func() bool {
		var st struct {
			Finished bool     `json:"finished"`
			Code     int      `json:"code"`
			Error    string   `json:"error"`
			Output   []string `json:"output"`
		}
		api.do("GET", "/__api__/v1/tasks/"+task.TaskID, nil, &st)
		if st.Finished && st.Code != 0 {
			t.Fatalf("deployment failed: %s\n%s", st.Error, strings.Join(st.Output, "\n"))
		}
		return st.Finished
	})
	return b.ID
}

// nodeProcesses returns the processes of guid on one node.
func nodeProcesses(t *testing.T, n *nodetest.Node, key, guid string) apps.ProcessesBody {
	t.Helper()
	var body apps.ProcessesBody
	api := &apiClient{t: t, base: n.URL, key: key}
	if code := api.do("GET", "/__api__/v1/content/"+guid+"/processes", nil, &body); code != 200 {
		t.Fatalf("processes on %s: %d", n.Name, code)
	}
	return body
}

func liveCount(b apps.ProcessesBody) (n int) {
	for _, p := range b.Processes {
		if p.State == apps.StateReady || p.State == apps.StateStarting {
			n++
		}
	}
	return n
}

// wsURL turns an http URL into a ws one.
func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

// TestAppsBehindHAProxy runs two podium nodes on one PostgreSQL database
// and one data directory behind a real HAProxy, deploys the echo app
// through HAProxy, and checks sticky WebSockets, fail-over after SIGKILL
// and per-node process limits.
func TestAppsBehindHAProxy(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	cfg := "[Applications]\nRunAs = nobody\n[HTTP]\nTrustedProxies = 127.0.0.1\n" +
		"[Scheduler]\nMaxProcesses = 3\nMaxConnsPerProcess = 20\nIdleTimeout = 1s\nInitTimeout = 20s\n"
	nodes := startNodes(t, 2, pg, data, cfg)
	bin := nodetest.Binary(t)
	if _, stderr, code := nodetest.Run(t, bin, nil, "users", "create", "--config", nodes[0].ConfigPath,
		"--username", "pub", "--role", "publisher", "--no-password"); code != 0 {
		t.Fatalf("users create: %d %s", code, stderr)
	}
	key, stderr, code := nodetest.Run(t, bin, nil, "keys", "create", "--config", nodes[0].ConfigPath, "--username", "pub")
	if code != 0 {
		t.Fatalf("keys create: %d %s", code, stderr)
	}
	key = strings.TrimSpace(key)
	lb := startHAProxy(t, nodes)
	jar, _ := cookiejar.New(nil)
	api := &apiClient{t: t, base: lb.URL, key: key, http: &http.Client{Jar: jar}}
	guid := deployApp(t, api, "echo", echoBundleDir(t))
	app := lb.URL + "/content/" + guid + "/"

	// A browser-like client: its cookie jar keeps HAProxy's cookie.
	jar2, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar2}
	res, err := browser.Get(app)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET app through haproxy: %d", res.StatusCode)
	}
	lbURL, _ := url.Parse(lb.URL)
	sticky := ""
	for _, c := range jar2.Cookies(lbURL) {
		if c.Name == "PODIUMNODE" {
			sticky = c.Value
		}
	}
	if sticky == "" {
		t.Fatalf("no PODIUMNODE cookie from haproxy")
	}

	dial := func(ctx context.Context) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, wsURL(app)+"ws", &websocket.DialOptions{HTTPClient: browser})
		if err != nil {
			t.Fatalf("websocket through haproxy: %v", err)
		}
		return c
	}
	echo := func(ctx context.Context, c *websocket.Conn, msg string) (string, error) {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return "", err
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			return "", err
		}
		pid, m, _ := strings.Cut(string(b), ":")
		if m != msg {
			return "", fmt.Errorf("echo of %q: %q", msg, b)
		}
		return pid, nil
	}

	t.Run("StickyWebSocketsReachOneProcess", func(t *testing.T) {
		ctx := testCtx(t)
		pids := map[string]bool{}
		for range 3 { // three sessions, each on the sticky node
			c := dial(ctx)
			for i := range 10 {
				pid, err := echo(ctx, c, fmt.Sprint(i))
				if err != nil {
					t.Fatal(err)
				}
				pids[pid] = true
			}
			c.Close(websocket.StatusNormalClosure, "")
		}
		if len(pids) != 1 {
			t.Errorf("30 messages over 3 sticky sessions reached processes %v, want one", pids)
		}
		idx := sticky[1:]
		other := map[string]string{"1": "2", "2": "1"}[idx]
		if n := liveCount(nodeProcesses(t, nodes[mustAtoi(other)-1], key, guid)); n != 0 {
			t.Errorf("the other node runs %d processes of the app, want 0 (all traffic was sticky)", n)
		}
	})

	t.Run("PodiumDeployThroughHAProxyRedeploys", func(t *testing.T) {
		ctx := testCtx(t)
		c := dial(ctx)
		defer c.CloseNow()
		oldPID, err := echo(ctx, c, "old")
		if err != nil {
			t.Fatal(err)
		}
		// The old process as the node lists it (in a sandbox the pid an
		// app sees is not the host's, which the processes API gives).
		n := nodes[mustAtoi(sticky[1:])-1]
		var oldProc []int
		for _, p := range nodeProcesses(t, n, key, guid).Processes {
			if p.State == apps.StateReady {
				oldProc = append(oldProc, p.PID)
			}
		}
		if len(oldProc) != 1 {
			t.Fatalf("the sticky node runs %v ready processes of the app, want one", oldProc)
		}
		stdout, stderr, code := nodetest.Run(t, bin, nil, "deploy", echoBundleDir(t), "--server", lb.URL, "--api-key", key, "--content", guid)
		if code != 0 {
			t.Fatalf("podium deploy through haproxy: exit %d\n%s\n%s", code, stdout, stderr)
		}
		// New sessions reach a process of the new bundle...
		testutil.WaitFor(t, 15*time.Second, "a new process serves the new bundle", func() bool {
			c2 := dial(ctx)
			defer c2.CloseNow()
			pid, err := echo(ctx, c2, "new")
			return err == nil && pid != oldPID
		})
		// ...while the open session stays on the old process until it ends.
		if pid, err := echo(ctx, c, "still"); err != nil || pid != oldPID {
			t.Errorf("open session after redeploy: pid %s, %v; want the old process %s", pid, err, oldPID)
		}
		c.Close(websocket.StatusNormalClosure, "")
		testutil.WaitFor(t, 15*time.Second, "the old process drained and stopped", func() bool {
			for _, p := range nodeProcesses(t, n, key, guid).Processes {
				if p.PID == oldProc[0] {
					return p.State == apps.StateExited
				}
			}
			return false
		})
	})

	t.Run("KillStickyNodeFailsOver", func(t *testing.T) {
		ctx := testCtx(t)
		c := dial(ctx)
		defer c.CloseNow()
		if _, err := echo(ctx, c, "before"); err != nil {
			t.Fatal(err)
		}
		victim := nodes[mustAtoi(sticky[1:])-1]
		victim.Kill(t)
		killed := time.Now()
		rctx, cancel := context.WithTimeout(ctx, testutil.Timeout(5*time.Second))
		defer cancel()
		if _, err := echo(rctx, c, "after"); err == nil {
			t.Fatal("the WebSocket session survived SIGKILL of its node")
		}
		testutil.WaitFor(t, 10*time.Second, "haproxy marks "+sticky+" down", func() bool { return lb.status()[sticky] == "DOWN" })
		down := time.Since(killed)
		t.Logf("haproxy marked %s DOWN %s after SIGKILL (check inter %s, fall %d)", sticky, down.Round(time.Millisecond), haproxyCheckInter, haproxyFall)
		if limit := time.Duration(haproxyFall+1)*haproxyCheckInter + time.Second; down > testutil.Timeout(limit) {
			t.Errorf("marked down after %s, want within %s", down, limit)
		}
		// Reconnect with the old cookie: a healthy node serves.
		c2 := dial(ctx)
		defer c2.CloseNow()
		if _, err := echo(ctx, c2, "again"); err != nil {
			t.Fatalf("reconnected session: %v", err)
		}
		for _, ck := range jar2.Cookies(lbURL) {
			if ck.Name == "PODIUMNODE" && ck.Value == sticky {
				t.Errorf("cookie still names the dead node %s", sticky)
			}
		}
	})
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// TestAppsProcessLimitsPerNode shows that MaxProcesses is per node: with
// two nodes and max_processes 10 (a per-content override set through
// the API), more than 10 and at most 20 processes serve one app under
// load, and each node scales back to min_processes when idle.
func TestAppsProcessLimitsPerNode(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	cfg := "[Applications]\nRunAs = nobody\n[Scheduler]\nIdleTimeout = 1s\nInitTimeout = 20s\n"
	nodes := startNodes(t, 2, pg, data, cfg)
	bin := nodetest.Binary(t)
	nodetest.Run(t, bin, nil, "users", "create", "--config", nodes[0].ConfigPath, "--username", "pub", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", nodes[0].ConfigPath, "--username", "pub")
	key = strings.TrimSpace(key)
	lb := startHAProxy(t, nodes)
	api := &apiClient{t: t, base: lb.URL, key: key}
	guid := deployApp(t, api, "echo-scale", echoBundleDir(t))
	var set apps.SettingsBody
	if code := api.do("PATCH", "/__api__/v1/content/"+guid+"/processes-settings",
		strings.NewReader(`{"min_processes":1,"max_processes":10,"max_conns_per_process":1,"load_factor":0.5}`), &set); code != 200 {
		t.Fatalf("PATCH processes-settings: %d", code)
	}
	if set.Effective.MaxProcesses != 10 || set.Effective.IdleTimeout != "1s" {
		t.Fatalf("effective settings: %+v", set.Effective)
	}
	for _, n := range nodes {
		testutil.WaitFor(t, 15*time.Second, n.Name+" starts min_processes", func() bool {
			return liveCount(nodeProcesses(t, n, key, guid)) == 1
		})
	}

	// 36 concurrent slow requests without cookies: round robin over two
	// nodes, 18 each, at most 10 processes each.
	var mu sync.Mutex
	pids := map[string]int{}
	peak := make([]int, len(nodes))
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for i, n := range nodes {
				var body apps.ProcessesBody
				(&apiClient{t: t, base: n.URL, key: key}).do("GET", "/__api__/v1/content/"+guid+"/processes", nil, &body)
				mu.Lock()
				peak[i] = max(peak[i], liveCount(body))
				mu.Unlock()
			}
		}
	}()
	var wg sync.WaitGroup
	for range 36 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(lb.URL + "/content/" + guid + "/sleep?ms=2500")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			mu.Lock()
			pids[fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(string(b)))]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	t.Logf("36 requests answered by %d processes; peak live processes per node %v", len(pids), peak)
	for p := range pids {
		if !strings.HasPrefix(p, "200 ") {
			t.Errorf("request answered %q", p)
		}
	}
	if len(pids) <= 10 || len(pids) > 20 {
		t.Errorf("%d distinct processes served the app, want more than one node's max (10) and at most 20", len(pids))
	}
	for i, p := range peak {
		if p > 10 {
			t.Errorf("%s peaked at %d processes, over max_processes 10", nodes[i].Name, p)
		}
	}
	for _, n := range nodes {
		testutil.WaitFor(t, 20*time.Second, n.Name+" back to min_processes when idle", func() bool {
			return liveCount(nodeProcesses(t, n, key, guid)) == 1
		})
	}
	// A process's log is readable through the API.
	b := nodeProcesses(t, nodes[0], key, guid)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/__api__/v1/content/%s/processes/%d/log", nodes[0].URL, guid, b.Processes[0].PID), nil)
	req.Header.Set("Authorization", "Key "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	logText, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(logText), "echo app pid") {
		t.Errorf("process log: %d %q", res.StatusCode, logText)
	}
}
