package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// attackBundleDir builds the hostile test app (testdata/apps/attack) into
// a bundle directory, once per test process.
func attackBundleDir(t testing.TB) string {
	t.Helper()
	attackBuild.Do(func() {
		dir, err := os.MkdirTemp("", "podium-attack-bundle-")
		if err != nil {
			attackBuild.err = err
			return
		}
		attackBuild.dir = dir
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "attackapp"), "./testdata/apps/attack")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			attackBuild.err = fmt.Errorf("build attack app: %v\n%s", err, out)
			return
		}
		m := `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": ["./attackapp"]}}`
		attackBuild.err = os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(m), 0o644)
	})
	if attackBuild.err != nil {
		t.Fatal(attackBuild.err)
	}
	return attackBuild.dir
}

var attackBuild struct {
	sync.Once
	dir string
	err error
}

// loopbackClient reaches every host name at 127.0.0.1 (same port), as the
// browser does with --host-resolver-rules: podium.test and
// {guid}.content.test need no DNS.
func loopbackClient(jar http.CookieJar) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar: jar,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attackResults are what the hostile app's page found (see its doc).
type attackResults struct {
	UserHere, UserMain, KeyHere, KeyMain, KeyMainSimple string
	CSRFFound                                           bool
	OwnFetch, OwnXHR, OwnWS, OwnCookies                 string
	DocumentCookie                                      string
}

// contentBrowser drives one Chromium against one Podium (a node or a load
// balancer): main is the dashboard's origin.
type contentBrowser struct {
	t       *testing.T
	browser context.Context
	main    string
}

func (b *contentBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browserRun(b.t, b.browser, what, chromedp.Steps(steps...))
}

// logIn logs in through the main origin's login form.
func (b *contentBrowser) logIn(username, password string) {
	b.t.Helper()
	b.do("log in",
		chromedp.Navigate(b.main+"/__login__?next=%2F__dashboard__%2F"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#content-list")),
	)
}

// cookie returns the value of the browser's cookie name for url ("" when
// it has none).
func (b *contentBrowser) cookie(u, name string) string {
	b.t.Helper()
	res := browserRun(b.t, b.browser, "cookies of "+u, chromedp.Action[network.GetCookiesResult](
		func(ctx context.Context, _ *chromedp.Target) (network.GetCookiesResult, error) {
			return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
		}))
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// attack opens the hostile app's page at pageURL and returns what its
// script found.
func (b *contentBrowser) attack(pageURL string) attackResults {
	b.t.Helper()
	b.do("open the app "+pageURL, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#app")))
	var raw string
	testutil.WaitFor(b.t, testutil.Timeout(60*time.Second), "the app's script finishes", func() bool {
		raw = browserRun(b.t, b.browser, "results", chromedp.Evaluate[string](`window.__results ? JSON.stringify(window.__results) : ""`))
		return raw != ""
	})
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		b.t.Fatalf("results %s: %v", raw, err)
	}
	s := func(k string) string { return fmt.Sprint(m[k]) }
	b.t.Logf("the app's page at %s found: %s", pageURL, raw)
	return attackResults{UserHere: s("user_here"), UserMain: s("user_main"), KeyHere: s("key_here"), KeyMain: s("key_main"),
		KeyMainSimple: s("key_main_simple"), CSRFFound: m["csrf_found"] == true, OwnFetch: s("own_fetch"), OwnXHR: s("own_xhr"),
		OwnWS: s("own_ws"), OwnCookies: s("own_cookies"), DocumentCookie: s("document_cookie")}
}

// checkAppWorks: the hostile app's honest half works: its own fetch, XHR,
// WebSocket and cookies, and none of Podium's cookies reach it.
func checkAppWorks(t *testing.T, r attackResults) {
	t.Helper()
	if r.OwnFetch != "200 hello app" {
		t.Errorf("the app's own fetch: %q, want 200 hello app", r.OwnFetch)
	}
	if !strings.HasPrefix(r.OwnXHR, "200 ") {
		t.Errorf("the app's own XHR: %q, want 200", r.OwnXHR)
	}
	if r.OwnWS != "echo:ping" {
		t.Errorf("the app's own WebSocket: %q, want echo:ping", r.OwnWS)
	}
	if !strings.Contains(r.OwnCookies, "appcookie=1") || strings.Contains(r.OwnCookies, "podium_") {
		t.Errorf("cookies the app received: %q, want its own appcookie=1 and no podium_* cookie", r.OwnCookies)
	}
}

// keyNames lists the API keys of the user of key, through main.
func keyNames(t *testing.T, cl *http.Client, main, key string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", main+"/__api__/v1/keys", nil)
	req.Header.Set("Authorization", "Key "+key)
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("list keys: %d %s", res.StatusCode, b)
	}
	var keys []struct{ Name string }
	if err := json.Unmarshal(b, &keys); err != nil {
		var wrapped struct{ Keys []struct{ Name string } }
		if err := json.Unmarshal(b, &wrapped); err != nil {
			t.Fatalf("keys: %v: %s", err, b)
		}
		keys = wrapped.Keys
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names
}

func hasPwned(names []string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, "pwned") {
			return true
		}
	}
	return false
}

// contentNode starts one node with the hostile app deployed (ACL content:
// only its owner and administrators see it), an administrator with a
// password and an API key, and returns the node, the app's guid and the
// administrator's key. base is where its API answers.
func contentNode(t *testing.T, name, cfg string, listen string, base string, cl *http.Client) (*nodetest.Node, string, string) {
	t.Helper()
	n := nodetest.StartNode(t, nodetest.Options{Name: name, DataDir: sharedDataDir(t), Listen: listen,
		Config: "[Applications]\nRunAs = nobody\n[Scheduler]\nIdleTimeout = 5m\n" + cfg})
	if base == "" {
		base = n.URL
	}
	dashUser(t, n, "admin", "admin", "correct horse battery staple")
	adminKey, _, _ := nodetest.Run(t, nodetest.Binary(t), nil, "keys", "create", "--config", n.ConfigPath, "--username", "admin")
	pub := &apiClient{t: t, base: base, key: pubUser(t, n, "mallory", "publisher"), http: cl}
	guid := deployApp(t, pub, "innocent", attackBundleDir(t))
	if code := pub.do("PATCH", "/__api__/v1/content/"+guid, strings.NewReader(`{"access_type":"acl"}`), nil); code != 200 {
		t.Fatalf("make the app ACL content: %d", code)
	}
	return n, guid, strings.TrimSpace(adminKey)
}

// TestContentOriginBrowser replays issue 23's attack in headless Chromium:
// a publisher's app, opened by a logged-in administrator, tries to read
// /__api__/v1/user, create an API key with the CSRF token, and set
// podium_session (from script, from its answers, from its WebSocket
// upgrade).
//
//   - On a node without a content origin the app is on the dashboard's
//     origin and the API attack succeeds, as the node's warning says (the
//     dashboard shows it to administrators); the cookie attack fails
//     anyway: app answers cannot set Podium's cookies.
//   - On a node with [Server] ContentURL in its wildcard form
//     (http://*.content.test, one origin per content item) every attempt
//     fails, and the app still works: its fetch, XHR, WebSocket and
//     cookies, reached (ACL content) through the sign-in redirect.
//
// It also counts the redirects a first visit adds, checks that a ticket
// is good once, that a framed or scripted request is not redirected, and
// that logging out ends the content origin's cookie too.
func TestContentOriginBrowser(t *testing.T) {
	t.Parallel()
	attackBundleDir(t)
	browser := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP podium.test 127.0.0.1, MAP *.content.test 127.0.0.1"))

	// A: no content origin.
	a, guidA, adminKeyA := contentNode(t, "plain", "", "", "", nil)
	a.URL = strings.TrimRight(a.URL, "/")
	// B: content on http://{guid}.content.test:PORT, dashboard on
	// http://podium.test:PORT, one node, one port.
	port := testutil.FreePort(t)
	mainB := fmt.Sprintf("http://podium.test:%d", port)
	cl := loopbackClient(nil)
	b, guidB, adminKeyB := contentNode(t, "isolated",
		fmt.Sprintf("[Server]\nAddress = %s\nContentURL = http://*.content.test:%d\n", mainB, port),
		"127.0.0.1:"+strconv.Itoa(port), mainB, cl)
	_ = b
	contentB := fmt.Sprintf("http://%s.content.test:%d", guidB, port)

	t.Run("WithoutContentOrigin", func(t *testing.T) {
		br := &contentBrowser{t: t, browser: browser, main: a.URL}
		br.logIn("admin", "correct horse battery staple")
		warning := browserRun(t, browser, "warning", chromedp.Text(chromedp.CSS(".admin-warning"), chromedp.NodeVisible))
		if !strings.Contains(warning, "ContentURL is not set") || !strings.Contains(warning, "act as that user") {
			t.Errorf("dashboard warning to administrators: %q", warning)
		}
		session := br.cookie(a.URL, "podium_session")
		if session == "" {
			t.Fatal("no session cookie after logging in")
		}
		r := br.attack(a.URL + "/content/" + guidA + "/")
		// The API attack works here: this is what the content origin is for.
		if !r.CSRFFound || !strings.HasPrefix(r.KeyHere, "201 ") || !hasPwned(keyNames(t, http.DefaultClient, a.URL, adminKeyA)) {
			t.Errorf("on the dashboard's origin the app read the CSRF token (%v) and created a key (%q): want both, as the warning says", r.CSRFFound, r.KeyHere)
		}
		// The cookie attack does not, whatever the origin.
		if got := br.cookie(a.URL, "podium_session"); got != session {
			t.Errorf("podium_session changed from %q to %q: the app set Podium's cookie", session, got)
		}
		checkAppWorks(t, r)
		br.do("still logged in", chromedp.Navigate(a.URL+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#username")))

		// What the app's answers carry, seen by a client: its own cookie,
		// none of Podium's, on a plain answer and on a WebSocket upgrade.
		podiumSetCookies := func(h http.Header) (own, podium []string) {
			for _, v := range h.Values("Set-Cookie") {
				if strings.HasPrefix(strings.ToLower(v), "podium_") {
					podium = append(podium, v)
				} else {
					own = append(own, v)
				}
			}
			return own, podium
		}
		req, _ := http.NewRequest("GET", a.URL+"/content/"+guidA+"/set", nil)
		req.Header.Set("Authorization", "Key "+adminKeyA)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if own, podium := podiumSetCookies(res.Header); len(podium) != 0 || len(own) != 1 {
			t.Errorf("app answer's Set-Cookie: own %q, Podium's %q; want appcookie only", own, podium)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(20*time.Second))
		defer cancel()
		ws, wres, err := websocket.Dial(ctx, wsURL(a.URL)+"/content/"+guidA+"/ws",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Key " + adminKeyA}}})
		if err != nil {
			t.Fatalf("WebSocket to the app: %v", err)
		}
		ws.CloseNow()
		if _, podium := podiumSetCookies(wres.Header); wres.StatusCode != http.StatusSwitchingProtocols || len(podium) != 0 {
			t.Errorf("WebSocket upgrade answer %d sets Podium's cookies: %q", wres.StatusCode, podium)
		}
	})

	t.Run("WithContentOrigin", func(t *testing.T) {
		br := &contentBrowser{t: t, browser: browser, main: mainB}
		br.logIn("admin", "correct horse battery staple")
		if n := browserRun(t, browser, "warnings", chromedp.Evaluate[int](`document.querySelectorAll('.admin-warning').length`)); n != 0 {
			t.Errorf("%d dashboard warnings on a node with a content origin", n)
		}
		session := br.cookie(mainB, "podium_session")
		if session == "" {
			t.Fatal("no session cookie after logging in")
		}
		// Opened on the content origin directly, as a link would: ACL
		// content, so the browser goes through the sign-in redirect.
		page := contentB + "/content/" + guidB + "/?main=" + url.QueryEscape(mainB)
		r := br.attack(page)
		if loc := browserRun(t, browser, "location", chromedp.Location()); loc != page {
			t.Errorf("the app's page ended at %s, want %s", loc, page)
		}
		if !strings.HasPrefix(r.UserHere, "404 ") || !strings.HasPrefix(r.UserMain, "error:") || r.CSRFFound {
			t.Errorf("the app read the user: here %q, main %q (csrf found %v); want 404 and a CORS failure", r.UserHere, r.UserMain, r.CSRFFound)
		}
		if !strings.HasPrefix(r.KeyHere, "404 ") || !strings.HasPrefix(r.KeyMain, "error:") {
			t.Errorf("the app's key creation: here %q, main %q; want 404 and a CORS failure", r.KeyHere, r.KeyMain)
		}
		if names := keyNames(t, cl, mainB, adminKeyB); hasPwned(names) {
			t.Errorf("the administrator has keys %v: the app created one", names)
		}
		if got := br.cookie(mainB, "podium_session"); got != session {
			t.Errorf("podium_session of the dashboard changed from %q to %q", session, got)
		}
		if got := br.cookie(contentB, "podium_content"); got == "" || strings.Contains(got, "attacker") {
			t.Errorf("podium_content on the content origin: %q, want Podium's own", got)
		}
		if got := br.cookie(contentB, "podium_session"); got == session {
			t.Error("the dashboard's session cookie is on the content origin")
		}
		checkAppWorks(t, r)
		br.do("still logged in", chromedp.Navigate(mainB+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#username")))

		// The dashboard links to content on the content origin.
		br.do("dashboard content page", chromedp.Navigate(mainB+"/__dashboard__/content/"+guidB), chromedp.WaitVisible(chromedp.CSS("#open")))
		if href := browserRun(t, browser, "open link", chromedp.Evaluate[string](`document.getElementById('open').href`)); href != contentB+"/content/"+guidB+"/" {
			t.Errorf("dashboard's link to the content: %s, want %s", href, contentB+"/content/"+guidB+"/")
		}
		// A link to content on the main origin goes to the content origin
		// (signed in already: no sign-in round).
		br.do("content through the main origin", chromedp.Navigate(mainB+"/content/"+guidB+"/?main=x"), chromedp.WaitVisible(chromedp.CSS("#app")))
		if loc := browserRun(t, browser, "location", chromedp.Location()); loc != contentB+"/content/"+guidB+"/?main=x" {
			t.Errorf("main origin's /content/ ended at %s", loc)
		}

		// Redirects added by a first visit, with the dashboard session
		// alone (no content cookie yet), counted by a client that follows
		// them by hand.
		jar, _ := cookiejar.New(nil)
		mu, _ := url.Parse(mainB)
		jar.SetCookies(mu, []*http.Cookie{{Name: "podium_session", Value: session, Path: "/"}})
		hc := loopbackClient(jar)
		follow := func(u string, hdr map[string]string) (hops []string, status int) {
			t.Helper()
			for range 10 {
				req, _ := http.NewRequest("GET", u, nil)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				res, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode < 300 || res.StatusCode >= 400 {
					return hops, res.StatusCode
				}
				next, _ := res.Location()
				u = next.String()
				hops = append(hops, u)
			}
			t.Fatalf("redirect loop: %v", hops)
			return nil, 0
		}
		hops, status := follow(contentB+"/content/"+guidB+"/", nil)
		if status != 200 || len(hops) != 3 {
			t.Errorf("first visit on the content origin: %d after %d redirects %v; want 200 after 3 (to the main origin, back with a ticket, on to the content)", status, len(hops), hops)
		}
		t.Logf("FIGURE first visit to restricted content on the content origin: %d requests added (redirects) %v", len(hops), hops)
		if hops, status := follow(contentB+"/content/"+guidB+"/", nil); status != 200 || len(hops) != 0 {
			t.Errorf("second visit: %d after %v, want 200 at once", status, hops)
		}
		// A ticket is good once, and only in the browser that asked for
		// it (its state cookie): stepped by hand.
		jar3, _ := cookiejar.New(nil)
		jar3.SetCookies(mu, []*http.Cookie{{Name: "podium_session", Value: session, Path: "/"}})
		hc = loopbackClient(jar3)
		step := func(cl *http.Client, u string) (int, string) {
			t.Helper()
			res, err := cl.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return res.StatusCode, res.Header.Get("Location")
		}
		_, toMain := step(hc, contentB+"/content/"+guidB+"/")
		authURL, _ := url.Parse(contentB + "/__content-auth__")
		state := jar3.Cookies(authURL)
		if len(state) != 1 || !strings.HasPrefix(state[0].Name, "podium_content_state_") {
			t.Fatalf("state cookies for the sign-in: %v", state)
		}
		_, ticket := step(hc, toMain)
		if !strings.Contains(ticket, "/__content-auth__?ticket=") {
			t.Fatalf("main origin answered with %q, want a ticket", ticket)
		}
		if code, _ := step(loopbackClient(nil), ticket); code != http.StatusUnauthorized {
			t.Errorf("ticket in another browser: %d, want 401", code)
		}
		if code, loc := step(hc, ticket); code != http.StatusFound || loc != "/content/"+guidB+"/" {
			t.Errorf("ticket in its browser: %d to %q", code, loc)
		}
		again, _ := cookiejar.New(nil)
		again.SetCookies(authURL, state)
		if code, _ := step(loopbackClient(again), ticket); code != http.StatusUnauthorized {
			t.Errorf("ticket used a second time, with its state cookie: %d, want 401", code)
		}
		jar2, _ := cookiejar.New(nil)
		jar2.SetCookies(mu, []*http.Cookie{{Name: "podium_session", Value: session, Path: "/"}})
		hc = loopbackClient(jar2)
		hops, status = follow(mainB+"/content/"+guidB+"/", nil)
		if status != 200 || len(hops) != 4 {
			t.Errorf("first visit through the main origin's link: %d after %v; want 200 after 4 redirects", status, hops)
		}
		t.Logf("FIGURE first visit to restricted content from a main-origin link: %d requests added %v", len(hops), hops)
		// A frame or a script without the cookie is refused, not sent
		// round (it would loop: a framed site's cookies are not kept).
		hc = loopbackClient(nil)
		if hops, status := follow(contentB+"/content/"+guidB+"/", map[string]string{"Sec-Fetch-Dest": "iframe"}); status != 401 || len(hops) != 0 {
			t.Errorf("framed visit without the cookie: %d after %v, want 401 at once", status, hops)
		}
		// The content origin serves content only.
		for _, p := range []string{"/__api__/v1/user", "/__dashboard__/", "/__login__"} {
			res, err := loopbackClient(jar2).Get(contentB + p)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 404 {
				t.Errorf("GET %s on the content origin: %d, want 404", p, res.StatusCode)
			}
		}
		// Another content item's host name does not serve this one.
		res, err := loopbackClient(jar2).Get(fmt.Sprintf("http://other.content.test:%d/content/%s/", port, guidB))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("content on another item's sub-domain: %d, want 404", res.StatusCode)
		}

		// Logging out ends the content cookie with the session.
		// (#password: the login page's; the dashboard has a #username too,
		// so waiting for that would not wait for the logout to finish.)
		br.do("log out", chromedp.Navigate(mainB+"/__dashboard__/"), chromedp.Click(chromedp.CSS(`form[action$="__logout__"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#password")))
		br.do("content after logout", chromedp.Navigate(contentB+"/content/"+guidB+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
		if loc := browserRun(t, browser, "location", chromedp.Location()); !strings.HasPrefix(loc, mainB+"/__login__") {
			t.Errorf("restricted content after logout: at %s, want the main origin's login page", loc)
		}
		// Logging in there goes on to the content: the login form's
		// answer redirects through the ticket to the content origin
		// (which the login page's CSP form-action allows).
		br.do("log in on the way to content",
			chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
			chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery staple"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#app")))
		if loc := browserRun(t, browser, "location", chromedp.Location()); loc != contentB+"/content/"+guidB+"/" {
			t.Errorf("after logging in on the way to content: at %s", loc)
		}
	})
}

// TestContentOriginCluster: the same attack on two nodes on PostgreSQL
// behind the shipped HAProxy configuration (deploy/loadbalancer/haproxy.cfg),
// with the evaluation form that needs no DNS: the dashboard at
// http://localhost:PORT, content at http://127.0.0.1:PORT. Every attempt
// fails, the app works (its WebSocket through HAProxy too), and podium ha
// check --lb finds the content origin reachable and serving no API.
func TestContentOriginCluster(t *testing.T) {
	t.Parallel()
	attackBundleDir(t)
	pg := pgtest.NewDatabase(t)
	port := testutil.FreePort(t)
	mainURL, contentURL := fmt.Sprintf("http://localhost:%d", port), fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := fmt.Sprintf("[Applications]\nRunAs = nobody\n[Scheduler]\nIdleTimeout = 5m\n[HTTP]\nTrustedProxies = 127.0.0.1\n[Server]\nAddress = %s\nContentURL = %s\n", mainURL, contentURL)
	nodes := startNodes(t, 2, pg, sharedDataDir(t), cfg)
	dashUser(t, nodes[0], "admin", "admin", "correct horse battery staple")
	bin := nodetest.Binary(t)
	adminKey, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", nodes[0].ConfigPath, "--username", "admin")
	lb := startExampleHAProxyAt(t, filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer", "haproxy.cfg"), nodes, port)
	if lb != contentURL {
		t.Fatalf("load balancer at %s, want %s", lb, contentURL)
	}
	pub := &apiClient{t: t, base: mainURL, key: pubUser(t, nodes[0], "mallory", "publisher")}
	guid := deployApp(t, pub, "innocent", attackBundleDir(t))
	if code := pub.do("PATCH", "/__api__/v1/content/"+guid, strings.NewReader(`{"access_type":"acl"}`), nil); code != 200 {
		t.Fatalf("make the app ACL content: %d", code)
	}

	browser := newBrowser(t)
	br := &contentBrowser{t: t, browser: browser, main: mainURL}
	br.logIn("admin", "correct horse battery staple")
	session := br.cookie(mainURL, "podium_session")
	page := contentURL + "/content/" + guid + "/?main=" + url.QueryEscape(mainURL)
	r := br.attack(page)
	if r.CSRFFound || !strings.HasPrefix(r.UserHere, "404 ") || !strings.HasPrefix(r.KeyHere, "404 ") || !strings.HasPrefix(r.KeyMain, "error:") {
		t.Errorf("attack through HAProxy: %+v; want every attempt refused", r)
	}
	if names := keyNames(t, http.DefaultClient, mainURL, strings.TrimSpace(adminKey)); hasPwned(names) {
		t.Errorf("the administrator has keys %v: the app created one", names)
	}
	if got := br.cookie(mainURL, "podium_session"); got != session || session == "" {
		t.Errorf("podium_session %q, then %q", session, got)
	}
	checkAppWorks(t, r)

	res, code, _ := haCheck(t, bin, nodes[0].ConfigPath, "--lb", mainURL)
	if r := res[hacheck.ItemContentOrigin]; r.Status != hacheck.Pass || !strings.Contains(r.Detail, "serves no API") {
		t.Errorf("ha check content_origin: exit %d, %+v; want pass", code, r)
	}
	if r := res[hacheck.ItemLoadBalancer]; r.Status != hacheck.Pass {
		t.Errorf("ha check load_balancer: %+v", r)
	}
}
