package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// haproxy is a real HAProxy in front of podium nodes, with cookie
// insertion for sticky sessions and /__ping__ health checks.
type haproxy struct {
	URL      string // the frontend
	StatsURL string // CSV statistics
	cmd      *exec.Cmd
	log      bytes.Buffer
}

// haproxyCheckInter is the health-check interval; a node is down after
// haproxyFall failed checks.
const (
	haproxyCheckInter = 500 * time.Millisecond
	haproxyFall       = 2
)

// haproxyTestDefaults opens the test HAProxy configurations: HTTP mode,
// short connect timeout, long tunnels for WebSockets. A section may follow
// or add to the defaults.
const haproxyTestDefaults = `global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
`

// startHAProxy writes a configuration for the nodes (server names n1, n2,
// ... in order) and starts haproxy in the foreground.
func startHAProxy(t testing.TB, nodes []*nodetest.Node) *haproxy {
	t.Helper()
	port, stats := testutil.FreePort(t), testutil.FreePort(t)
	var servers strings.Builder
	for i, n := range nodes {
		fmt.Fprintf(&servers, "    server n%d %s cookie n%d check\n", i+1, strings.TrimPrefix(n.URL, "http://"), i+1)
	}
	cfg := haproxyTestDefaults + fmt.Sprintf(`    option redispatch
    retries 2
frontend fe
    bind 127.0.0.1:%d
    default_backend podium
frontend stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
backend podium
    balance roundrobin
    cookie PODIUMNODE insert indirect nocache httponly
    option httpchk GET /__ping__
    http-check expect status 200
    default-server inter %dms fall %d rise 1
%s`, port, stats, haproxyCheckInter.Milliseconds(), haproxyFall, servers.String())
	h := &haproxy{URL: "http://127.0.0.1:" + strconv.Itoa(port), StatsURL: "http://127.0.0.1:" + strconv.Itoa(stats) + "/stats;csv"}
	startHAProxyProcess(t, h, cfg)
	testutil.WaitFor(t, 10*time.Second, "haproxy sees every node up", func() bool {
		st := h.status()
		for i := range nodes {
			if st[fmt.Sprintf("n%d", i+1)] != "UP" {
				return false
			}
		}
		return true
	})
	return h
}

// startHAProxyProcess writes cfg and starts haproxy on it in the
// foreground (-db) for the life of the test; the test's log gets
// haproxy's output when the test fails.
func startHAProxyProcess(tb testing.TB, h *haproxy, cfg string) {
	tb.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		bin = "/usr/sbin/haproxy" // not on PATH for non-root shells
	}
	path := filepath.Join(tb.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	h.cmd = exec.Command(bin, "-db", "-f", path)
	h.cmd.Stdout, h.cmd.Stderr = &h.log, &h.log
	if err := h.cmd.Start(); err != nil {
		tb.Fatalf("haproxy: %v", err)
	}
	tb.Cleanup(func() {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
		if tb.Failed() {
			tb.Logf("haproxy log:\n%s", h.log.String())
		}
	})
}

// waitOK waits until a GET of url answers 200.
func waitOK(tb testing.TB, url, what string) {
	tb.Helper()
	testutil.WaitFor(tb, 15*time.Second, what+" answers "+url, func() bool {
		res, err := http.Get(url)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// status returns the state (UP, DOWN, ...) of each server of the backend.
func (h *haproxy) status() map[string]string {
	out := map[string]string{}
	res, err := http.Get(h.StatsURL)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 17 && f[0] == "podium" && strings.HasPrefix(f[1], "n") {
			out[f[1]] = strings.Fields(f[17] + " ")[0]
		}
	}
	return out
}

// apiClient calls the API with a key.
type apiClient struct {
	t    testing.TB
	base string
	key  string
	http *http.Client
}

func (c *apiClient) do(method, path string, body io.Reader, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" { // none: anonymous
		req.Header.Set("Authorization", "Key "+c.key)
	}
	if _, gz := body.(*bytes.Buffer); gz {
		req.Header.Set("Content-Type", "application/gzip")
	} else if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.http
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 {
		c.t.Logf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

// echoBundleDir builds the echo test app into a new bundle directory with
// its manifest.
func echoBundleDir(t testing.TB) string {
	t.Helper()
	echoBuild.Do(func() {
		dir, err := os.MkdirTemp("", "podium-echo-bundle-")
		if err != nil {
			echoBuild.err = err
			return
		}
		echoBuild.dir, echoBuild.err = dir, buildEchoBundle(dir)
	})
	if echoBuild.err != nil {
		t.Fatal(echoBuild.err)
	}
	return echoBuild.dir
}

// echoBuild is the echo bundle, built once per test process (and left in
// the temp dir: the build cache makes it cheap).
var echoBuild struct {
	sync.Once
	dir string
	err error
}

func buildEchoBundle(dir string) error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "echoapp"), "./testdata/apps/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build echo app: %v\n%s", err, out)
	}
	m := `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": ["./echoapp"]}}`
	return os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(m), 0o644)
}

// sharedDataDir returns a data directory that the RunAs user ("nobody")
// can traverse, so the app processes can read their bundles.
func sharedDataDir(t testing.TB) string {
	t.Helper()
	return testutil.OpenTempDir(t, 0o755)
}

// startNodes starts n nodes named n1, n2, ... on the PostgreSQL database pg
// and the data directory data, each with the configuration cfg.
func startNodes(tb testing.TB, n int, pg, data, cfg string) []*nodetest.Node {
	tb.Helper()
	var nodes []*nodetest.Node
	for i := range n {
		nodes = append(nodes, nodetest.StartNode(tb, nodetest.Options{Name: fmt.Sprintf("n%d", i+1), Postgres: pg, DataDir: data, Config: cfg}))
	}
	return nodes
}
