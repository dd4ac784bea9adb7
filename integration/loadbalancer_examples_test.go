package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/pgtest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestLoadBalancerExamples runs the shipped example configurations,
// deploy/loadbalancer/haproxy.cfg and nginx.conf, with only their
// addresses changed, in real HAProxy and nginx in front of two nodes on
// one PostgreSQL database, and checks what the examples promise: a
// PODIUMNODE cookie that keeps a client on one node, clients spread over
// both nodes, WebSockets to an app, and a client whose node died served by
// the other one.
func TestLoadBalancerExamples(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	nodes := startNodes(t, 2, pg, sharedDataDir(t), "[Applications]\nRunAs = nobody\n[HTTP]\nTrustedProxies = 127.0.0.1\n")
	ids := []string{nodeID(t, nodes[0]), nodeID(t, nodes[1])}
	bin := nodetest.Binary(t)
	nodetest.Run(t, bin, nil, "users", "create", "--config", nodes[0].ConfigPath, "--username", "pub", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", nodes[0].ConfigPath, "--username", "pub")
	guid := deployApp(t, &apiClient{t: t, base: nodes[0].URL, key: strings.TrimSpace(key)}, "echo", echoBundleDir(t))

	dir := filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer")
	lbs := []struct{ name, url string }{
		{"haproxy", startExampleHAProxy(t, filepath.Join(dir, "haproxy.cfg"), nodes)},
		{"nginx", startExampleNginx(t, filepath.Join(dir, "nginx.conf"), nodes)},
	}

	// get requests /__ping__ through the load balancer with the
	// PODIUMNODE cookie (none: a new client) and returns the node that
	// answered and the cookie the load balancer set (or "").
	get := func(t *testing.T, lb, cookie string) (node, set string) {
		t.Helper()
		req, _ := http.NewRequest("GET", lb+"/__ping__", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "PODIUMNODE", Value: cookie})
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET through the load balancer: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET through the load balancer: %d", res.StatusCode)
		}
		for _, c := range res.Cookies() {
			if c.Name == "PODIUMNODE" {
				set = c.Value
			}
		}
		return res.Header.Get("X-Podium-Node"), set
	}

	// onDead is, per load balancer, a client cookie that leads to the
	// node about to be killed.
	onDead := map[string]string{}
	for _, lb := range lbs {
		t.Run(lb.name+"/Affinity", func(t *testing.T) {
			seen := map[string]bool{}
			for i := 0; i < 40 && (len(seen) < 2 || onDead[lb.name] == ""); i++ {
				node, cookie := get(t, lb.url, "")
				if cookie == "" {
					t.Fatalf("a new client got no PODIUMNODE cookie")
				}
				seen[node] = true
				for range 5 { // the cookie keeps the client on its node
					if again, _ := get(t, lb.url, cookie); again != node {
						t.Fatalf("cookie %q: answered by %s, then by %s", cookie, node, again)
					}
				}
				if node == ids[0] {
					onDead[lb.name] = cookie
				}
			}
			if !seen[ids[0]] || !seen[ids[1]] {
				t.Errorf("40 new clients reached %v, want both nodes %v", seen, ids)
			}
		})
		t.Run(lb.name+"/WebSocket", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, wsURL(lb.url)+"/content/"+guid+"/ws", nil)
			if err != nil {
				t.Fatalf("WebSocket through %s: %v", lb.name, err)
			}
			defer c.CloseNow()
			for i := range 3 {
				if err := c.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
				_, b, err := c.Read(ctx)
				if err != nil || !strings.HasSuffix(string(b), ":"+strconv.Itoa(i)) {
					t.Fatalf("echo %d through %s: %q %v", i, lb.name, b, err)
				}
			}
		})
	}
	// podium ha check --lb agrees: both examples give a reachable
	// /__ping__ and a cookie that pins a client; a node reached directly
	// sets no cookie. (HAProxy's cookie is Secure; hacheck's own test
	// covers that case under a non-loopback name.)
	for _, lb := range lbs {
		t.Run(lb.name+"/HACheck", func(t *testing.T) {
			res, _, _ := haCheck(t, bin, nodes[0].ConfigPath, "--lb", lb.url)
			if r := res[hacheck.ItemLoadBalancer]; r.Status != hacheck.Pass || !strings.Contains(r.Detail, "stay on") {
				t.Errorf("ha check --lb %s: %+v, want pass", lb.name, r)
			}
		})
	}
	t.Run("NoBalancer/HACheck", func(t *testing.T) {
		res, code, _ := haCheck(t, bin, nodes[0].ConfigPath, "--lb", nodes[1].URL)
		if r := res[hacheck.ItemLoadBalancer]; r.Status != hacheck.Fail || !strings.Contains(r.Detail, "no cookie") || code != 1 {
			t.Errorf("ha check --lb at a node: exit %d, %+v; want exit 1 and a failure naming the missing cookie", code, r)
		}
	})
	if t.Failed() {
		return
	}

	nodes[0].Kill(t)
	for _, lb := range lbs {
		t.Run(lb.name+"/FailOver", func(t *testing.T) {
			cookie := onDead[lb.name]
			if cookie == "" {
				t.Fatal("no client of the killed node")
			}
			// HAProxy re-dispatches, nginx moves to the next upstream: the
			// client of the dead node is served by the live one at once.
			if node, _ := get(t, lb.url, cookie); node != ids[1] {
				t.Errorf("client of the killed node answered by %q, want %s", node, ids[1])
			}
		})
	}
}

// startExampleHAProxy runs the example configuration at path with its
// addresses replaced: the frontend and stats on free local ports, and the
// nodes for node1 and node2 (node3 removed). It returns the frontend URL.
func startExampleHAProxy(t *testing.T, path string, nodes []*nodetest.Node) string {
	t.Helper()
	cfg := readExample(t, path)
	port := testutil.FreePort(t)
	cfg = mustReplace(t, cfg, "bind :80\n", fmt.Sprintf("bind 127.0.0.1:%d\n", port))
	cfg = mustReplace(t, cfg, "bind 127.0.0.1:8404", fmt.Sprintf("bind 127.0.0.1:%d", testutil.FreePort(t)))
	cfg = mustReplace(t, cfg, "10.0.0.11:3939", strings.TrimPrefix(nodes[0].URL, "http://"))
	cfg = mustReplace(t, cfg, "10.0.0.12:3939", strings.TrimPrefix(nodes[1].URL, "http://"))
	cfg = dropLine(t, cfg, "10.0.0.13:3939")
	h := &haproxy{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	startHAProxyProcess(t, h, cfg)
	waitOK(t, h.URL+"/__ping__", "haproxy")
	return h.URL
}

// startExampleNginx runs the example configuration at path (an http-level
// snippet, as it would be included from conf.d) inside a minimal nginx.conf
// of its own, listening on a free local port, with the nodes for the first
// two servers (the third removed). It returns the URL.
func startExampleNginx(t *testing.T, path string, nodes []*nodetest.Node) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx" // not on PATH for non-root shells
	}
	snippet := readExample(t, path)
	port := testutil.FreePort(t)
	snippet = mustReplace(t, snippet, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
	snippet = mustReplace(t, snippet, "10.0.0.11:3939", strings.TrimPrefix(nodes[0].URL, "http://"))
	snippet = mustReplace(t, snippet, "10.0.0.12:3939", strings.TrimPrefix(nodes[1].URL, "http://"))
	snippet = dropLine(t, snippet, "10.0.0.13:3939")
	prefix := t.TempDir()
	if err := os.Chmod(prefix, 0o755); err != nil { // the workers run as nobody when we are root
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log stderr notice;
%[2]s
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[3]s
}
`, prefix, map[bool]string{true: "user nobody nogroup;", false: ""}[os.Getuid() == 0], snippet)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cmd := exec.Command(bin, "-p", prefix, "-e", "stderr", "-c", confPath)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown, workers too
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("nginx log:\n%s", log.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitOK(t, url+"/__ping__", "nginx")
	return url
}

func readExample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustReplace replaces old by new in s, failing when the example no
// longer contains old (the test must follow the example's edits).
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the example no longer contains %q", old)
	}
	return strings.ReplaceAll(s, old, new)
}

// dropLine removes the lines containing substr.
func dropLine(t *testing.T, s, substr string) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	if len(out) == strings.Count(s, "\n")+1 {
		t.Fatalf("the example no longer contains %q", substr)
	}
	return strings.Join(out, "\n")
}
