package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// proxyAuthConfig: users come from nginx's headers; only 127.0.0.1 (where
// nginx connects from) may send them; "authors" are publishers.
const proxyAuthConfig = pubConfig + `[Authentication]
Provider = proxy
[ProxyAuth]
TrustedProxies = 127.0.0.1
UsernameHeader = X-Auth-Username
GroupsHeader = X-Auth-Groups
EmailHeader = X-Auth-Email
[Authorization]
PublisherRoleMapping = authors
`

// startAuthNginx starts nginx as an authenticating proxy in front of
// node: every page needs HTTP basic authentication, checked by an
// auth_request subrequest (nginx's own auth_basic against a password
// file, in a second server block as an authentication service would be),
// and the user and their groups go to the node in headers, after
// any copy the client sent is dropped. /__api__/ passes without the proxy's
// authentication (publishing clients use API keys) and never carries a
// user header.
func startAuthNginx(t *testing.T, node *nodetest.Node) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	prefix := t.TempDir()
	// The workers run as nobody when we are root: they read the password
	// file and ok.txt, so the folders on the way must be open to them.
	for _, d := range []string{filepath.Dir(prefix), prefix} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"users":  "alice:{PLAIN}alice's proxy password\nbob:{PLAIN}bob's proxy password\n",
		"ok.txt": "ok\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(prefix, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port, authPort := testutil.FreePort(t), testutil.FreePort(t)
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log stderr notice;
%[2]s
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    map $auth_user $auth_groups {
        alice "authors,analysts";
        bob   "staff";
        default "";
    }
    # The authentication service auth_request asks: nginx's own
    # auth_basic against a password file, answering the user in X-User.
    server {
        listen 127.0.0.1:%[5]d;
        location = /check {
            auth_basic "podium";
            auth_basic_user_file %[1]s/users;
            add_header X-User $remote_user always;
            alias %[1]s/ok.txt;
        }
    }
    server {
        listen 127.0.0.1:%[3]d;
        location = /_auth {
            internal;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass http://127.0.0.1:%[5]d/check;
        }
        location /__api__/ {
            proxy_set_header X-Auth-Username "";
            proxy_set_header X-Auth-Groups "";
            proxy_set_header Host $http_host;
            proxy_pass http://%[4]s;
        }
        location / {
            auth_request /_auth;
            auth_request_set $auth_user $upstream_http_x_user;
            proxy_set_header X-Auth-Username $auth_user;
            proxy_set_header X-Auth-Groups $auth_groups;
            proxy_set_header X-Auth-Email "";
            proxy_set_header Host $http_host;
            proxy_pass http://%[4]s;
        }
    }
}
`, prefix, map[bool]string{true: "user nobody nogroup;", false: ""}[os.Getuid() == 0], port, strings.TrimPrefix(node.URL, "http://"), authPort)
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
		_ = cmd.Process.Signal(os.Interrupt)
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
	waitOK(t, url+"/__api__/server_settings", "nginx")
	return url
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestProxyAuthBehindNginx: behind nginx's auth_request, a user signed in
// by the proxy is provisioned with the groups nginx sends and the role
// their group maps to (checked in Chromium on the account page); content
// granted to a group opens for a member and not for another user; a
// forged user header sent straight to the node from another address is
// refused with 401 and a log line; API keys keep working through the
// proxy.
func TestProxyAuthBehindNginx(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "proxyauth", Config: proxyAuthConfig})
	proxy := startAuthNginx(t, node)
	adminKey := pubUser(t, node, "root", "admin")

	// Without the proxy's credentials, nginx refuses.
	if r := pubDo(t, "GET", proxy+"/__dashboard__/", "", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("dashboard through nginx without credentials: %d", r.Status)
	}

	browser := newBrowser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserRun(t, browser, what, chromedp.Steps(steps...))
	}
	text := func(sel string) string {
		t.Helper()
		return browserRun(t, browser, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	}
	as := func(user, password string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return chromedp.Void{}, err
			}
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Authorization": basicAuth(user, password)}})
			return chromedp.Void{}, err
		}
	}
	do("alice signs in through nginx", as("alice", "alice's proxy password"),
		chromedp.Navigate(proxy+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")))
	if got := text("#username"); got != "alice" {
		t.Fatalf("signed in as %q", got)
	}
	if got := text("#my-role"); got != "publisher" {
		t.Fatalf("alice's role %q, want publisher (group authors)", got)
	}
	if got := text("#groups"); !strings.Contains(got, "analysts") || !strings.Contains(got, "authors") {
		t.Fatalf("alice's groups: %q", got)
	}

	// Content for the analysts group only.
	r := pubJSON(t, "POST", proxy+"/__api__/v1/content", adminKey, map[string]string{"name": "analysis"})
	pubWant(t, "create through the proxy with a key", r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	r = pubDo(t, "POST", node.URL+"/__api__/v1/content/"+c.GUID+"/bundles", adminKey, "application/gzip", pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1 id=secret>for analysts</h1>",
	}))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", node.URL+"/__api__/v1/content/"+c.GUID+"/deploy", adminKey, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, node.URL, adminKey, started.TaskID); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	pubWant(t, "grant analysts", pubJSON(t, "PUT", node.URL+"/__api__/v1/content/"+c.GUID+"/permissions", adminKey, map[string]any{
		"access_type": "acl", "permissions": []map[string]any{{"principal_type": "group", "name": "analysts", "role": "viewer"}}}), 200)

	do("alice opens the analysts' content", chromedp.Navigate(proxy+"/content/"+c.GUID+"/"), chromedp.WaitVisible(chromedp.CSS("#secret")))
	do("bob signs in through nginx", as("bob", "bob's proxy password"),
		chromedp.Navigate(proxy+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")))
	if got := text("#username"); got != "bob" {
		t.Fatalf("after switching the proxy's user: signed in as %q", got)
	}
	if got := text("#my-role"); got != "viewer" {
		t.Fatalf("bob's role %q, want the default viewer", got)
	}
	do("bob opens the analysts' content", chromedp.Navigate(proxy+"/content/"+c.GUID+"/"), chromedp.WaitReady(chromedp.CSS("body")))
	if seen := browserRun(t, browser, "is the secret there", chromedp.Evaluate[bool](`!!document.getElementById("secret")`)); seen {
		t.Fatal("bob, not in analysts, opened the analysts' content")
	}

	// rsconnect-python's deployment, with an API key, through the proxy.
	rs := newRSConnect(t, proxy, adminKey)
	d := rs.deploy("", "rsc_behind_proxy", "Deployed by rsconnect behind the proxy",
		htmlBundle(t, map[string]string{"index.html": "<p>hi</p>"}, "index.html"), nil, true, nil)
	if lines, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("rsconnect deploy behind the proxy: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}

	// The R rsconnect client's requests, with an API key.
	connectRFlow(t, node, pubKeyFor(t, node, "alice")) // alice, signed in by the proxy above, with a key

	// A forged header straight to the node, from another loopback address.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	req, _ := http.NewRequest("GET", node.URL+"/__api__/v1/user", nil)
	req.Header.Set("X-Auth-Username", "root")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged X-Auth-Username from 127.0.0.2: %d, want 401", resp.StatusCode)
	}
	node.WaitLog(t, testutil.Timeout(10*time.Second), "refused a user header from an address that is not in [ProxyAuth] TrustedProxies")
	// Through nginx the client's own copy of the header is replaced.
	req, _ = http.NewRequest("GET", proxy+"/__api__/v1/user", nil)
	req.Header.Set("X-Auth-Username", "root")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged X-Auth-Username through nginx's API path: %d, want 401 (anonymous)", resp.StatusCode)
	}
}
