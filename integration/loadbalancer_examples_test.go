package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestLoadBalancerExamples runs the shipped example configurations,
// deploy/loadbalancer/haproxy.cfg, haproxy-tls.cfg and nginx.conf, with
// only their addresses (and the certificate path) changed, in real HAProxy
// and nginx in front of two nodes on one PostgreSQL database, and checks
// what the examples promise: a PODIUMNODE cookie that keeps a client on
// one node, also for standard cookie jars (Go's net/http/cookiejar and
// Python's http.cookiejar, which send a Secure cookie back only over
// HTTPS), clients spread over both nodes, WebSockets to an app, HTTP
// redirected to HTTPS by the TLS variant, and a client whose node died
// served by the other one.
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
	t.Run("HAProxyRetryAndDrain", func(t *testing.T) {
		for _, name := range []string{"haproxy.cfg", "haproxy-tls.cfg"} {
			checkHAProxyRetryAndDrain(t, filepath.Join(dir, name))
		}
	})
	tlsLB := startExampleHAProxyTLS(t, filepath.Join(dir, "haproxy-tls.cfg"), nodes)
	plain := &http.Client{}
	lbs := []struct {
		name, url string
		client    *http.Client // trusts the load balancer's certificate
		caFile    string       // the certificate, for clients outside Go ("" over HTTP)
	}{
		{"haproxy", startExampleHAProxy(t, filepath.Join(dir, "haproxy.cfg"), nodes), plain, ""},
		{"haproxy-tls", tlsLB.url, tlsLB.client, tlsLB.caFile},
		{"nginx", startExampleNginx(t, filepath.Join(dir, "nginx.conf"), nodes), plain, ""},
	}

	// get requests /__ping__ through the load balancer with the
	// PODIUMNODE cookie (none: a new client) and returns the node that
	// answered and the cookie the load balancer set (or "").
	get := func(t *testing.T, cl *http.Client, lb, cookie string) (node, set string) {
		t.Helper()
		req, _ := http.NewRequest("GET", lb+"/__ping__", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "PODIUMNODE", Value: cookie})
		}
		res, err := cl.Do(req)
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
				node, cookie := get(t, lb.client, lb.url, "")
				if cookie == "" {
					t.Fatalf("a new client got no PODIUMNODE cookie")
				}
				seen[node] = true
				for range 5 { // the cookie keeps the client on its node
					if again, _ := get(t, lb.client, lb.url, cookie); again != node {
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
		t.Run(lb.name+"/CookieJars", func(t *testing.T) {
			// Go's standard cookie jar.
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			cl := &http.Client{Transport: lb.client.Transport, Jar: jar}
			var nodes []string
			for range 6 {
				node, _ := get(t, cl, lb.url, "")
				nodes = append(nodes, node)
			}
			if len(slices.Compact(slices.Clone(nodes))) != 1 || nodes[0] == "" {
				t.Errorf("6 requests of one client with Go's cookie jar reached %v, want one node", nodes)
			}
			u, _ := url.Parse(lb.url)
			if len(jar.Cookies(u)) == 0 {
				t.Errorf("Go's cookie jar holds no cookie for %s", lb.url)
			}
			// Python's http.cookiejar, as rsconnect-python uses it.
			nodes = pythonCookieJarClient(t, lb.url+"/__ping__", lb.caFile, 6)
			if len(nodes) != 6 || len(slices.Compact(slices.Clone(nodes))) != 1 || nodes[0] == "" {
				t.Errorf("6 requests of one client with Python's http.cookiejar reached %v, want one node", nodes)
			}
		})
		t.Run(lb.name+"/WebSocket", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, wsURL(lb.url)+"/content/"+guid+"/ws", &websocket.DialOptions{HTTPClient: lb.client})
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
	// podium ha check --lb agrees: every example gives a reachable
	// /__ping__ and a cookie that pins a client; a node reached directly
	// sets no cookie.
	t.Run("haproxy-tls/Cookie", func(t *testing.T) {
		// Secure over HTTPS, where clients send it back.
		res, err := tlsLB.client.Get(tlsLB.url + "/__ping__")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if cs := res.Cookies(); len(cs) != 1 || cs[0].Name != "PODIUMNODE" || !cs[0].Secure || !cs[0].HttpOnly {
			t.Errorf("cookies over HTTPS: %v, want PODIUMNODE Secure HttpOnly", cs)
		}
	})
	t.Run("haproxy-tls/RedirectToHTTPS", func(t *testing.T) {
		cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := cl.Get(tlsLB.httpURL + "/content/x/?a=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		// The test's port stays in the Host header, so only the scheme and
		// the rest of the URL can be checked.
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusPermanentRedirect ||
			loc != "https://"+strings.TrimPrefix(tlsLB.httpURL, "http://")+"/content/x/?a=1" {
			t.Errorf("plain HTTP: %d Location %q, want 308 to the same URL over https", res.StatusCode, loc)
		}
	})
	for _, lb := range lbs {
		t.Run(lb.name+"/HACheck", func(t *testing.T) {
			var env []string
			if lb.caFile != "" {
				env = []string{"SSL_CERT_FILE=" + lb.caFile} // Go's x509 trusts it
			}
			res, _, _ := haCheckEnv(t, bin, env, nodes[0].ConfigPath, "--lb", lb.url)
			if r := res[hacheck.ItemLoadBalancer]; r.Status != hacheck.Pass || !strings.Contains(r.Detail, "stay on") {
				t.Errorf("ha check --lb %s: %+v, want pass", lb.name, r)
			}
			// These nodes serve content on the dashboard's origin: the
			// check says what that risks (TestContentOriginCluster has
			// nodes with a content origin behind haproxy.cfg).
			if r := res[hacheck.ItemContentOrigin]; r.Status != hacheck.Warn || !strings.Contains(r.Detail, "act as that user") {
				t.Errorf("ha check content_origin: %+v, want a warning naming the risk", r)
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
			if node, _ := get(t, lb.client, lb.url, cookie); node != ids[1] {
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
	return startExampleHAProxyAt(t, path, nodes, testutil.FreePort(t))
}

// startExampleHAProxyAt is startExampleHAProxy with the frontend on port
// (chosen before the nodes, whose [Server] Address and ContentURL name it).
func startExampleHAProxyAt(t *testing.T, path string, nodes []*nodetest.Node, port int) string {
	t.Helper()
	cfg := readExample(t, path)
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

// exampleTLS is the TLS variant of the HAProxy example, running.
type exampleTLS struct {
	url     string       // https://
	httpURL string       // http://, which redirects
	client  *http.Client // trusts the certificate
	caFile  string       // the self-signed certificate, PEM
}

// startExampleHAProxyTLS runs the TLS example at path with its addresses
// replaced and its certificate path pointing at a new self-signed
// certificate for 127.0.0.1.
func startExampleHAProxyTLS(t *testing.T, path string, nodes []*nodetest.Node) *exampleTLS {
	t.Helper()
	dir := t.TempDir()
	caFile, pemFile := selfSignedCert(t, dir)
	cfg := readExample(t, path)
	httpPort, tlsPort := testutil.FreePort(t), testutil.FreePort(t)
	cfg = mustReplace(t, cfg, "bind :80\n", fmt.Sprintf("bind 127.0.0.1:%d\n", httpPort))
	cfg = mustReplace(t, cfg, "bind :443 ssl crt /etc/haproxy/certs/podium.pem", fmt.Sprintf("bind 127.0.0.1:%d ssl crt %s", tlsPort, pemFile))
	cfg = mustReplace(t, cfg, "bind 127.0.0.1:8404", fmt.Sprintf("bind 127.0.0.1:%d", testutil.FreePort(t)))
	cfg = mustReplace(t, cfg, "10.0.0.11:3939", strings.TrimPrefix(nodes[0].URL, "http://"))
	cfg = mustReplace(t, cfg, "10.0.0.12:3939", strings.TrimPrefix(nodes[1].URL, "http://"))
	cfg = dropLine(t, cfg, "10.0.0.13:3939")
	pool := x509.NewCertPool()
	b, err := os.ReadFile(caFile)
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Fatalf("read %s: %v", caFile, err)
	}
	e := &exampleTLS{url: fmt.Sprintf("https://127.0.0.1:%d", tlsPort), httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, caFile: caFile}
	t.Cleanup(e.client.CloseIdleConnections)
	h := &haproxy{URL: e.url}
	startHAProxyProcess(t, h, cfg)
	testutil.WaitFor(t, 30*time.Second, "haproxy (TLS) answers 200 on /__ping__", func() bool {
		res, err := e.client.Get(e.url + "/__ping__")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return e
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and
// localhost to dir: the certificate alone (caFile, for clients to trust)
// and the certificate followed by its key (pemFile, for HAProxy's crt).
func selfSignedCert(t *testing.T, dir string) (caFile, pemFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "podium test load balancer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	caFile, pemFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "podium.pem")
	if err := os.WriteFile(caFile, cert, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pemFile, append(cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, pemFile
}

// pythonCookieJar is a client as rsconnect-python builds one: urllib with
// http.cookiejar. It GETs argv[1] argv[3] times (trusting the certificate
// in argv[2] when not empty) and prints the node that answered each time.
const pythonCookieJar = `import http.cookiejar, ssl, sys, urllib.request
url, cafile, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
handlers = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())]
if cafile:
    handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
opener = urllib.request.build_opener(*handlers)
for _ in range(n):
    with opener.open(url, timeout=30) as res:
        res.read()
        print(res.headers.get("X-Podium-Node", ""))
`

// pythonCookieJarClient runs pythonCookieJar with python3 and returns the
// nodes that answered, in order.
func pythonCookieJarClient(t *testing.T, target, caFile string, n int) []string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "cookiejar_client.py")
	if err := os.WriteFile(script, []byte(pythonCookieJar), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", script, target, caFile, strconv.Itoa(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 %s: %v\n%s", script, err, out)
	}
	return strings.Fields(string(out))
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

// TestHAProxyExamplesRetryAndDrain checks, without starting anything, what
// a rolling upgrade needs from both shipped HAProxy examples (also a
// subtest of TestLoadBalancerExamples, which runs them).
func TestHAProxyExamplesRetryAndDrain(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer")
	for _, name := range []string{"haproxy.cfg", "haproxy-tls.cfg"} {
		checkHAProxyRetryAndDrain(t, filepath.Join(dir, name))
	}
}

// checkHAProxyRetryAndDrain checks that an HAProxy example retries a
// request that could not reach a node on another one ("retry-on
// conn-failure empty-response", retries, "option redispatch"), and that
// its health checks take a draining node out within [Server] DrainDelay's
// cluster default: check interval × fall, plus one interval.
func checkHAProxyRetryAndDrain(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	has := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		return ""
	}
	name := filepath.Base(path)
	if l := has("retry-on "); !strings.Contains(l+" ", " conn-failure ") || !strings.Contains(l+" ", " empty-response ") {
		t.Errorf("%s: no \"retry-on conn-failure empty-response\" (found %q): a request sent to a node that just closed its port fails", name, l)
	}
	if l := has("retries "); l == "" || l == "retries 0" {
		t.Errorf("%s: no \"retries N\" with N >= 1 (found %q)", name, l)
	}
	if has("option redispatch") == "" {
		t.Errorf("%s: no \"option redispatch\": a retry would go to the same node", name)
	}
	l := has("default-server ")
	f := strings.Fields(l)
	var inter time.Duration
	fall := 0
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "inter":
			inter, _ = time.ParseDuration(f[i+1])
		case "fall":
			fall, _ = strconv.Atoi(f[i+1])
		}
	}
	if inter <= 0 || fall <= 0 {
		t.Fatalf("%s: no \"default-server inter ... fall ...\" (found %q)", name, l)
	}
	if need := inter*time.Duration(fall) + inter; need > config.DefaultHADrainDelay {
		t.Errorf("%s: checks every %s, out after %d failures: a draining node needs %s of 503s, more than the "+
			"[Server] DrainDelay default %s", name, inter, fall, need, config.DefaultHADrainDelay)
	}
}
