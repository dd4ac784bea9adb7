package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/internal/ldaptest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testidp"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestRSConnectRUnderEachProvider: under each sign-in provider (ldap,
// oidc, saml, proxy) a user provisioned by the provider's own sign-in (a
// POST of the login form checked against slapd; Chromium through the test
// OpenID Connect provider and the test SAML IdP; nginx's auth_request),
// a publisher by the provider's groups or role, makes an API key with
// their session (POST /__api__/v1/keys with the session's CSRF token);
// the R rsconnect package (Debian's, unchanged) registers that key with
// connectApiUser and deploys a static page with deployApp; the content
// is owned by that user and serves. rsconnect-python's requests (replayed)
// deploy with the same key.
func TestRSConnectRUnderEachProvider(t *testing.T) {
	t.Parallel()
	t.Run("ldap", func(t *testing.T) {
		t.Parallel()
		n := nodetest.StartNode(t, nodetest.Options{Name: "ldap", Config: ldapConfig(ldaptest.Start(t, ""))})
		c := jarClient(t, nil)
		// The login form's CSRF cookie and field, then the LDAP password.
		res := httpDo(t, c, "GET", n.URL+"/__login__", nil, nil)
		m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindStringSubmatch(res.body)
		if res.status != 200 || m == nil {
			t.Fatalf("login form: %d %s", res.status, res.body)
		}
		res = httpDo(t, c, "POST", n.URL+"/__login__", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte(url.Values{"username": {"bob"}, "password": {ldaptest.BobPassword}, "login_csrf": {m[1]}}.Encode()))
		if res.status != 200 { // 303 to the dashboard, followed
			t.Fatalf("bob's LDAP sign-in: %d %.500s", res.status, res.body)
		}
		me, key := sessionKey(t, c, n.URL)
		rDeployUnder(t, n, n.URL, "bob", me, key)
	})
	t.Run("proxy", func(t *testing.T) {
		t.Parallel()
		n := nodetest.StartNode(t, nodetest.Options{Name: "proxy", Config: proxyAuthConfig})
		proxy := startAuthNginx(t, n)
		// nginx authenticates pages with basic authentication; its
		// /__api__/ passes the session cookie the node set, without a user
		// header (and the API refuses Basic).
		c := jarClient(t, func(r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/__api__/") {
				r.Header.Set("Authorization", basicAuth("alice", "alice's proxy password"))
			}
		})
		if res := httpDo(t, c, "GET", proxy+"/__dashboard__/account", nil, nil); res.status != 200 {
			t.Fatalf("alice through nginx: %d %.500s", res.status, res.body)
		}
		me, key := sessionKey(t, c, proxy)
		rDeployUnder(t, n, proxy, "alice", me, key)
	})
	t.Run("oidc", func(t *testing.T) {
		t.Parallel()
		port := testutil.FreePort(t)
		address := fmt.Sprintf("http://127.0.0.1:%d", port)
		idp := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{ssoAlice},
			RedirectURIs: []string{address + "/__login__/oidc/callback"}, PostLogoutRedirectURIs: []string{address + "/__login__"}})
		n := nodetest.StartNode(t, nodetest.Options{Name: "oidc", Listen: fmt.Sprintf("127.0.0.1:%d", port),
			Config: pubConfig + oidcConfig(idp, address, idp.ClientSecret)})
		br := newSSOBrowser(t)
		br.do("sign in with the provider", chromedp.Navigate(address+"/__login__?next=%2F__dashboard__%2F"),
			chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")), chromedp.Click(chromedp.CSS("#sso-sign-in")))
		br.oidcLoginAtIdP("alice", ssoAlice.Password, `form[action$="/__logout__"]`)
		rDeployUnder(t, n, address, "alice", br.whoAmI(address), browserKey(t, br, address))
	})
	t.Run("saml", func(t *testing.T) {
		t.Parallel()
		port := testutil.FreePort(t)
		address := fmt.Sprintf("http://127.0.0.1:%d", port)
		idp := testidp.StartSAMLAt(t, "localhost", []testidp.User{ssoAlice})
		n := nodetest.StartNode(t, nodetest.Options{Name: "saml", Listen: fmt.Sprintf("127.0.0.1:%d", port), Config: pubConfig + samlConfig(idp, address)})
		st, md, _ := ssoGet(t, address+"/__login__/saml/metadata")
		if st != 200 {
			t.Fatalf("SP metadata: %d %s", st, md)
		}
		idp.AddServiceProvider(t, "podium", []byte(md))
		br := newSSOBrowser(t)
		br.do("sign in at the IdP", chromedp.Navigate(address+"/__login__?next=%2F__dashboard__%2F"),
			chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")), chromedp.Click(chromedp.CSS("#sso-sign-in")),
			chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "alice"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ssoAlice.Password),
			chromedp.Click(chromedp.CSS(`input[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)))
		rDeployUnder(t, n, address, "alice", br.whoAmI(address), browserKey(t, br, address))
	})
}

// rDeployUnder: the R rsconnect client registers key (user's, whose
// GET /__api__/v1/user by session was me) against base and deploys a
// static page, which must then be user's content and serve from n.
func rDeployUnder(t *testing.T, n *nodetest.Node, base, user string, me map[string]any, key string) {
	t.Helper()
	if me["username"] != user || me["role"] != "publisher" || me["auth_method"] != "session" {
		t.Fatalf("v1/user by the provider's session: %v, want %s, a publisher", me, user)
	}
	r := newRClient(t)
	r.account = user
	out := r.run(`
rsconnect::addServer(Sys.getenv("PODIUM_ARG_URL"), name = "podium")
rsconnect::connectApiUser(account = Sys.getenv("PODIUM_ARG_ACCOUNT"), server = "podium", apiKey = Sys.getenv("PODIUM_ARG_KEY"))
`, map[string]string{"URL": base + "/__api__", "KEY": key, "ACCOUNT": user})
	if !strings.Contains(out, "Account registered successfully: "+user) {
		t.Fatalf("connectApiUser:\n%s", out)
	}
	name := "r_under_" + n.Name
	marker := "deployed by R for " + user + " under " + n.Name
	start := time.Now()
	out, u, err := rDeployApp(t, r, filepath.Join(t.TempDir(), name), name, map[string]string{"index.html": "<h1>" + marker + "</h1>"}, "", "")
	_, guid, ok := strings.Cut(u, "/content/")
	if err != nil || !ok || !strings.HasPrefix(u, base+"/content/") {
		t.Fatalf("deployApp: %v (url %q)\n%s", err, u, out)
	}
	guid = strings.TrimSuffix(guid, "/")
	t.Logf("deployApp under %s: %s", n.Name, time.Since(start).Round(time.Millisecond))
	res := pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid, key, "", nil)
	var item struct {
		Name      string `json:"name"`
		OwnerGUID string `json:"owner_guid"`
	}
	res.JSON(t, &item)
	if res.Status != 200 || item.Name != name || item.OwnerGUID == "" || item.OwnerGUID != me["guid"] {
		t.Fatalf("the deployed content: %d %s, want %s owned by %s (%v)", res.Status, res.Body, name, user, me["guid"])
	}
	testutil.WaitFor(t, testutil.Timeout(time.Minute), name+" serves", func() bool {
		res = pubDo(t, "GET", n.URL+"/content/"+guid+"/", key, "", nil)
		return res.Status == 200
	})
	if !strings.Contains(string(res.Body), marker) {
		t.Fatalf("the served page: %.500s", res.Body)
	}

	// rsconnect-python (its requests, replayed as in the rest of the suite:
	// the client is not installable here) deploys with the same key.
	rs := newRSConnect(t, base, key)
	if who := rs.me(); who["username"] != user {
		t.Fatalf("rsconnect-python's v1/user with the key: %v, want %s", who, user)
	}
	pyMarker := "deployed by rsconnect-python for " + user + " under " + n.Name
	d := rs.deploy("", "py_under_"+n.Name, "Python client under "+n.Name,
		htmlBundle(t, map[string]string{"index.html": "<h1>" + pyMarker + "</h1>"}, "index.html"), nil, true, nil)
	if lines, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("rsconnect-python deploy under %s: %d %q\n%s", n.Name, task.Code, task.Error, strings.Join(lines, "\n"))
	}
	// Served by the node (behind nginx, pages need nginx's own sign-in).
	testutil.WaitFor(t, testutil.Timeout(time.Minute), "the rsconnect-python deployment serves", func() bool {
		res = pubDo(t, "GET", n.URL+"/content/"+d.AppGUID+"/", key, "", nil)
		return res.Status == 200
	})
	if !strings.Contains(string(res.Body), pyMarker) {
		t.Fatalf("content deployed by rsconnect-python under %s: %.300s", n.Name, res.Body)
	}
	res = pubDo(t, "GET", n.URL+"/__api__/v1/content/"+d.AppGUID, key, "", nil)
	res.JSON(t, &item)
	if res.Status != 200 || item.OwnerGUID != me["guid"] {
		t.Fatalf("content deployed by rsconnect-python: %d %s, want it owned by %s (%v)", res.Status, res.Body, user, me["guid"])
	}
}

// browserKey makes an API key in br's session at base, as the dashboard
// does: POST /__api__/v1/keys with the session's CSRF token.
func browserKey(t *testing.T, br *ssoBrowser, base string) string {
	t.Helper()
	br.do("open the dashboard", chromedp.Navigate(base+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)))
	key := browserRun(t, br.browser, "create a key", chromedp.Evaluate[string](`(async () => {
		const me = await (await fetch('/__api__/v1/user')).json();
		const r = await fetch('/__api__/v1/keys', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
			body: JSON.stringify({name: 'rsconnect'})});
		return (await r.json()).key || ('status ' + r.status);
	})()`, chromedp.EvalAwaitPromise))
	if len(key) < 20 || strings.HasPrefix(key, "status") {
		t.Fatalf("key creation: %q", key)
	}
	return key
}

// sessionKey reads GET /__api__/v1/user with c's session at base, then
// makes an API key with it (the session's CSRF token in X-CSRF-Token).
func sessionKey(t *testing.T, c *http.Client, base string) (map[string]any, string) {
	t.Helper()
	res := httpDo(t, c, "GET", base+"/__api__/v1/user", nil, nil)
	var me map[string]any
	if err := json.Unmarshal([]byte(res.body), &me); err != nil || res.status != 200 {
		t.Fatalf("v1/user by session: %d %s", res.status, res.body)
	}
	csrf, _ := me["csrf_token"].(string)
	res = httpDo(t, c, "POST", base+"/__api__/v1/keys", http.Header{"Content-Type": {"application/json"}, "X-CSRF-Token": {csrf}}, []byte(`{"name":"rsconnect"}`))
	var k struct{ Key string }
	if err := json.Unmarshal([]byte(res.body), &k); err != nil || res.status/100 != 2 || len(k.Key) < 20 {
		t.Fatalf("POST v1/keys by session: %d %s", res.status, res.body)
	}
	return me, k.Key
}

// jarClient is an HTTP client with a cookie jar, as a browser keeps its
// session; each request passes through edit first (nil for none).
func jarClient(t *testing.T, edit func(*http.Request)) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: testutil.Timeout(30 * time.Second), Transport: editTransport(edit)}
}

type editTransport func(*http.Request)

func (e editTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if e != nil {
		r = r.Clone(r.Context())
		e(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

type httpRes struct {
	status int
	body   string
}

func httpDo(t *testing.T, c *http.Client, method, u string, h http.Header, body []byte) httpRes {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpRes{resp.StatusCode, string(b)}
}
