package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testidp"
	"github.com/podiumhq/podium/internal/testutil"
)

// The identity providers' users in the single sign-on tests: alice gets
// her role from the provider's role claim (attribute), bob from the
// default role.
var (
	ssoAlice = testidp.User{ID: "u-alice-0001", Username: "alice", Password: "alice-idp-pw-1", First: "Alice", Last: "Liddell",
		Email: "alice@example.com", Groups: []string{"staff", "analysts"}, Role: "publisher"}
	ssoBob = testidp.User{ID: "u-bob-0002", Username: "bob", Password: "bob-idp-pw-2", First: "Bob", Last: "Builder",
		Email: "bob@example.com", Groups: []string{"staff"}}
)

// providerConfig selects the sign-in provider.
func providerConfig(p string) string { return "[Authentication]\nProvider = " + p + "\n" }

// oidcConfig is the configuration of a node that signs in through idp
// with secret as the client secret.
func oidcConfig(idp *testidp.OIDC, address, secret string) string {
	return providerConfig("oidc") + fmt.Sprintf("[Server]\nAddress = %s\n[OAuth2]\nClientId = %s\nClientSecret = %s\nOpenIDConnectIssuer = %s\n"+
		"CustomScope = groups\nRoleClaim = podium_role\nDisplayName = Example SSO\n", address, idp.ClientID, secret, idp.Issuer)
}

// ssoBrowser is one Chromium and what the SSO tests do with it.
type ssoBrowser struct {
	t       *testing.T
	browser context.Context
}

func newSSOBrowser(t *testing.T) *ssoBrowser {
	return &ssoBrowser{t: t, browser: newBrowser(t)}
}

func (b *ssoBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browserRun(b.t, b.browser, what, chromedp.Steps(steps...))
}

func (b *ssoBrowser) text(sel string) string {
	b.t.Helper()
	return browserRun(b.t, b.browser, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *ssoBrowser) location() string {
	b.t.Helper()
	return browserRun(b.t, b.browser, "location", chromedp.Location())
}

func (b *ssoBrowser) cookie(u, name string) string {
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

func (b *ssoBrowser) setCookie(u, name, value string) {
	b.t.Helper()
	browserRun(b.t, b.browser, "set cookie "+name, chromedp.Action[chromedp.Void](
		func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: u, Path: "/"})
			return chromedp.Void{}, err
		}))
}

func (b *ssoBrowser) deleteCookie(u, name string) {
	b.t.Helper()
	browserRun(b.t, b.browser, "delete cookie "+name, chromedp.Action[chromedp.Void](
		func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: u})
			return chromedp.Void{}, err
		}))
}

// clearCookies deletes the browser's cookies for u.
func (b *ssoBrowser) clearCookies(u string) {
	b.t.Helper()
	res := browserRun(b.t, b.browser, "cookies of "+u, chromedp.Action[network.GetCookiesResult](
		func(ctx context.Context, _ *chromedp.Target) (network.GetCookiesResult, error) {
			return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
		}))
	for _, c := range res.Cookies {
		b.deleteCookie(u, c.Name)
	}
}

// whoAmI opens base's GET /__api__/v1/user in the browser and decodes it.
func (b *ssoBrowser) whoAmI(base string) map[string]any {
	b.t.Helper()
	b.do("open v1/user on "+base, chromedp.Navigate(base+"/__api__/v1/user"), chromedp.WaitReady(chromedp.CSS("body")))
	raw := browserRun(b.t, b.browser, "v1/user body", chromedp.Evaluate[string](`document.body.innerText`))
	var me map[string]any
	if err := json.Unmarshal([]byte(raw), &me); err != nil {
		b.t.Fatalf("v1/user on %s: %v: %s", base, err, raw)
	}
	return me
}

// oidcLoginAtIdP fills the provider's login form (zitadel's example
// login page) and waits until the browser is back at Podium on waitSel.
func (b *ssoBrowser) oidcLoginAtIdP(user, password, waitSel string) {
	b.t.Helper()
	b.do("log in at the provider as "+user,
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(waitSel)),
	)
}

// status answers GET u's status and body without following redirects.
func ssoGet(t *testing.T, u string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: testutil.Timeout(30 * time.Second), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// TestOIDCBrowserCluster signs in through a real OpenID Connect provider
// in Chromium on a two-node PostgreSQL cluster behind the shipped HAProxy
// configuration: the sign-in starts on node A and its callback lands on
// node B (the browser's sticky cookie switched in between), which opens
// the sealed state cookie A set; the session then works on either node,
// with the role and groups the provider gave. An API key that the signed-in
// user makes deploys as rsconnect-python and the R rsconnect client do. Logout ends the session
// and goes on to the provider's end_session_endpoint.
func TestOIDCBrowserCluster(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	address := fmt.Sprintf("http://127.0.0.1:%d", port)
	idp := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{ssoAlice, ssoBob},
		RedirectURIs: []string{address + "/__login__/oidc/callback"}, PostLogoutRedirectURIs: []string{address + "/__login__"}})
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	cfg := pubConfig + oidcConfig(idp, address, idp.ClientSecret) + "[Authorization]\nAdministratorRoleMapping = staff\n"
	a := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "A", Config: cfg})
	b := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "B", Config: cfg})
	lb := startExampleHAProxyAt(t, filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer", "haproxy.cfg"), []*nodetest.Node{a, b}, port)
	br := newSSOBrowser(t)

	// A page that needs a user sends the browser to the login page, which
	// offers the provider and keeps where the user was going.
	br.do("open the dashboard", chromedp.Navigate(lb+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")))
	if got := br.text("#sso-sign-in"); got != "Sign in with Example SSO" {
		t.Fatalf("login page offers %q", got)
	}
	if st, body, _ := ssoGet(t, lb+"/__login__"); st != 200 || strings.Contains(body, `name="password"`) {
		t.Fatalf("the login page of an OIDC server still asks for a password: %d", st)
	}
	br.do("sign in with the provider", chromedp.Click(chromedp.CSS("#sso-sign-in")), chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := br.location(); !strings.HasPrefix(loc, idp.Issuer+"/login/username") {
		t.Fatalf("the browser is at %s, not the provider's login page", loc)
	}
	// The start went to one node (HAProxy's sticky cookie says which):
	// send the callback to the other.
	first := br.cookie(lb, "PODIUMNODE")
	starter, finisher, other := a, b, "node2"
	if first == "node2" {
		starter, finisher, other = b, a, "node1"
	} else if first != "node1" {
		t.Fatalf("HAProxy's PODIUMNODE cookie is %q", first)
	}
	br.setCookie(lb, "PODIUMNODE", other)
	br.oidcLoginAtIdP("alice", ssoAlice.Password, `form[action$="/__logout__"]`)
	if loc := br.location(); loc != lb+"/__dashboard__/" {
		t.Fatalf("after sign-in the browser is at %s, want the page it asked for", loc)
	}
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the sign-in logged by "+finisher.Name, func() bool {
		return strings.Contains(finisher.Log(), "signed in through the identity provider")
	})
	if strings.Contains(starter.Log(), "signed in through the identity provider") {
		t.Fatalf("node %s finished the sign-in it started: the callback did not cross nodes", starter.Name)
	}
	for _, n := range []*nodetest.Node{a, b} {
		if strings.Contains(n.Log(), idp.ClientSecret) {
			t.Fatalf("node %s logged the client secret", n.Name)
		}
	}

	// The session works on both nodes, with the provider's role.
	var aliceGUID any
	for _, n := range []*nodetest.Node{a, b} {
		me := br.whoAmI(n.URL)
		if me["username"] != "alice" || me["role"] != "publisher" || me["auth_method"] != "session" {
			t.Fatalf("v1/user on %s: %v", n.Name, me)
		}
		aliceGUID = me["guid"]
	}

	// Content restricted to the provider's group "analysts" opens for
	// alice once the group is granted.
	owner := pubUser(t, a, "owner", "publisher")
	br.wantGroupAccess(lb, owner, ssoRestricted(t, lb, owner), "oidc", "analysts")

	// An API key made by the signed-in user (on B, with the session's
	// CSRF token) deploys as rsconnect-python does, and the R rsconnect client.
	br.do("open B's dashboard", chromedp.Navigate(b.URL+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)))
	key := browserRun(t, br.browser, "create a key", chromedp.Evaluate[string](`(async () => {
		const me = await (await fetch('/__api__/v1/user')).json();
		const r = await fetch('/__api__/v1/keys', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
			body: JSON.stringify({name: 'rsconnect'})});
		return (await r.json()).key || ('status ' + r.status);
	})()`, chromedp.EvalAwaitPromise))
	if len(key) < 20 || strings.HasPrefix(key, "status") {
		t.Fatalf("key creation: %q", key)
	}
	rs := newRSConnect(t, lb, key)
	if me := rs.me(); me["username"] != "alice" {
		t.Fatalf("v1/user with the key: %v", me)
	}
	d := rs.deploy("", "sso_site", "SSO site", htmlBundle(t, map[string]string{"index.html": "<h1>signed in elsewhere</h1>"}, "index.html"), nil, true, nil)
	if lines, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("deploy with the OIDC user's key: %d %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}
	if r := rs.accessContent(d.AppGUID, ""); r.Status != 200 || !strings.Contains(string(r.Body), "signed in elsewhere") {
		t.Fatalf("deployed content: %d %q", r.Status, r.Body)
	}
	// The R rsconnect client's requests, with the same key, on node A.
	connectRFlow(t, a, key)

	// ha check: both nodes have the same provider settings and reach the
	// provider; a third node with another client secret is told apart
	// (by the secret's fingerprint, never the secret).
	bin := nodetest.Binary(t)
	res := waitSSOCheck(t, bin, a.ConfigPath)
	if r := res[hacheck.ItemSSO]; r.Status != hacheck.Pass || !strings.Contains(r.Detail, idp.Issuer) || len(r.Nodes) != 2 {
		t.Fatalf("ha check sso: %+v", r)
	}
	c := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "C",
		Config: pubConfig + oidcConfig(idp, address, "another-secret-7c1d") + "[Authorization]\nAdministratorRoleMapping = staff\n"})
	testutil.WaitFor(t, testutil.Timeout(60*time.Second), "ha check sees C's other settings", func() bool {
		res, _, _ = haCheck(t, bin, a.ConfigPath)
		return res[hacheck.ItemSSO].Status == hacheck.Fail
	})
	if r := res[hacheck.ItemSSO]; !strings.Contains(r.Detail, "differ") || !strings.Contains(r.Detail, "client_secret=sha256:") ||
		strings.Contains(r.Detail, "another-secret-7c1d") || strings.Contains(r.Detail, idp.ClientSecret) {
		t.Fatalf("ha check sso with a node of another client secret: %+v", r)
	}
	c.Stop(t)

	// Logout ends the session and goes on to the provider's logout.
	br.do("open the dashboard", chromedp.Navigate(lb+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)))
	session := br.cookie(lb, "podium_session")
	br.do("log out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action$="/__logout__"]').submit()`),
		chromedp.WaitReady(chromedp.CSS("body")))
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the browser through the provider's logout and back at the login page", func() bool {
		return idp.EndSessions() == 1 && strings.HasPrefix(br.location(), lb+"/__login__")
	})
	if br.cookie(lb, "podium_session") != "" {
		t.Fatal("the session cookie survived the logout")
	}
	if st, _, _ := ssoGetWithCookie(t, a.URL+"/__api__/v1/user", "podium_session="+session); st != 401 {
		t.Fatalf("the logged-out session still works: %d", st)
	}

	// bob sends no role claim: his group staff maps to admin
	// ([Authorization] AdministratorRoleMapping), which alice's role
	// claim overrode for her.
	br.do("sign in as bob", chromedp.Navigate(lb+"/__login__?next=%2F__dashboard__%2F"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
		chromedp.Click(chromedp.CSS("#sso-sign-in")))
	br.oidcLoginAtIdP("bob", ssoBob.Password, `form[action$="/__logout__"]`)
	if me := br.whoAmI(b.URL); me["username"] != "bob" || me["role"] != "admin" {
		t.Fatalf("v1/user of bob: %v", me)
	}

	// alice signs in again: the same user, found by the provider's id.
	br.do("log out bob", chromedp.Navigate(lb+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('form[action$="/__logout__"]').submit()`))
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "bob logged out at the provider too", func() bool {
		return idp.EndSessions() == 2 && strings.HasPrefix(br.location(), lb+"/__login__")
	})
	br.do("sign in as alice again", chromedp.Navigate(lb+"/__login__?next=%2F__dashboard__%2F"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
		chromedp.Click(chromedp.CSS("#sso-sign-in")))
	br.oidcLoginAtIdP("alice", ssoAlice.Password, `form[action$="/__logout__"]`)
	if me := br.whoAmI(a.URL); me["username"] != "alice" || me["guid"] != aliceGUID || me["role"] != "publisher" {
		t.Fatalf("alice's second sign-in: %v, want guid %v", me, aliceGUID)
	}
}

func ssoGetWithCookie(t *testing.T, u, cookie string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// navStatus is the HTTP status of the page the browser shows.
func (b *ssoBrowser) navStatus() int {
	b.t.Helper()
	return browserRun(b.t, b.browser, "navigation status", chromedp.Evaluate[int](`performance.getEntriesByType('navigation')[0].responseStatus`))
}

// wantSSOFailure checks the page the browser shows after a failed
// sign-in: the status (never a 500), the message to the user, and a log
// line of the node for the administrator.
func (b *ssoBrowser) wantSSOFailure(n *nodetest.Node, status int, message, logged string) {
	b.t.Helper()
	if got := b.navStatus(); got != status {
		b.t.Fatalf("failed sign-in page: status %d, want %d (page %s)", got, status, b.location())
	}
	if got := b.text("#message"); !strings.Contains(got, message) {
		b.t.Fatalf("failed sign-in page says %q, want %q", got, message)
	}
	if href := browserRun(b.t, b.browser, "retry link", chromedp.Evaluate[string](`document.getElementById('retry').href`)); !strings.HasSuffix(href, "/__login__") {
		b.t.Fatalf("the failed sign-in page offers no way back: %q", href)
	}
	testutil.WaitFor(b.t, testutil.Timeout(10*time.Second), "the node's log line: "+logged, func() bool {
		for _, line := range strings.Split(n.Log(), "\n") {
			if strings.Contains(line, "sign-in through the identity provider failed") && strings.Contains(line, logged) {
				return true
			}
		}
		return false
	})
}

// TestOIDCBrowserFailures: a misconfigured or unreachable provider, and a
// callback that does not belong to the browser, each give the user a
// clear page (never a 500) and the administrator a clear log line, without
// the client secret.
func TestOIDCBrowserFailures(t *testing.T) {
	t.Parallel()
	wPort, dPort := testutil.FreePort(t), testutil.FreePort(t)
	wURL, dURL := fmt.Sprintf("http://127.0.0.1:%d", wPort), fmt.Sprintf("http://127.0.0.1:%d", dPort)
	idp := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{ssoAlice}, RedirectURIs: []string{wURL + "/__login__/oidc/callback"}})
	const wrongSecret = "wrong-secret-value-2f8e"
	w := nodetest.StartNode(t, nodetest.Options{Name: "W", Listen: fmt.Sprintf("127.0.0.1:%d", wPort), Config: oidcConfig(idp, wURL, wrongSecret)})
	down := testidp.StartOIDC(t, testidp.OIDCOptions{})
	downCfg := oidcConfig(down, dURL, "any-secret-value")
	down.Close()
	d := nodetest.StartNode(t, nodetest.Options{Name: "D", Listen: fmt.Sprintf("127.0.0.1:%d", dPort), Config: downCfg})
	br := newSSOBrowser(t)

	t.Run("StateMismatch", func(t *testing.T) {
		br.t = t
		br.do("start", chromedp.Navigate(wURL+"/__login__/oidc"), chromedp.WaitVisible(chromedp.CSS("#username")))
		if br.cookie(wURL+"/__login__/oidc/callback", "podium_sso_state") == "" {
			t.Fatal("no sign-in state cookie")
		}
		// Another browser's sign-in, as far as Podium can tell.
		br.deleteCookie(wURL+"/__login__/oidc/callback", "podium_sso_state")
		br.oidcLoginAtIdP("alice", ssoAlice.Password, "#message")
		br.wantSSOFailure(w, 400, "expired or was started in another browser", `"kind":"expired"`)
		if st, body, hdr := ssoGet(t, wURL+"/__login__/oidc/callback?code=forged&state=forged"); st != 400 ||
			!strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "Please sign in again") {
			t.Fatalf("a forged callback: %d %s %s", st, hdr.Get("Content-Type"), body)
		}
	})
	t.Run("WrongClientSecret", func(t *testing.T) {
		br.t = t
		br.do("start", chromedp.Navigate(wURL+"/__login__"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
			chromedp.Click(chromedp.CSS("#sso-sign-in")))
		br.oidcLoginAtIdP("alice", ssoAlice.Password, "#message")
		br.wantSSOFailure(w, 502, "does not accept Podium's credentials", "check [OAuth2] ClientId and ClientSecret")
		if strings.Contains(w.Log(), wrongSecret) {
			t.Fatal("the node logged the client secret")
		}
	})
	t.Run("SAMLIdPDown", func(t *testing.T) {
		br.t = t
		idp := testidp.StartSAML(t, nil)
		idp.Close()
		port := testutil.FreePort(t)
		addr := fmt.Sprintf("http://127.0.0.1:%d", port)
		s := nodetest.StartNode(t, nodetest.Options{Name: "S", Listen: fmt.Sprintf("127.0.0.1:%d", port), Config: samlConfig(idp, addr)})
		br.do("start", chromedp.Navigate(addr+"/__login__"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
			chromedp.Click(chromedp.CSS("#sso-sign-in")), chromedp.WaitVisible(chromedp.CSS("#message")))
		br.wantSSOFailure(s, 502, "cannot be reached", idp.MetadataURL)
	})
	t.Run("ProviderDown", func(t *testing.T) {
		br.t = t
		res := waitSSOCheck(t, nodetest.Binary(t), d.ConfigPath)
		if r := res[hacheck.ItemSSO]; r.Status != hacheck.Fail || !strings.Contains(r.Detail, "cannot reach the provider at "+down.Issuer) {
			t.Fatalf("ha check sso with the provider down: %+v", r)
		}
		if !strings.Contains(d.Log(), "the sign-in provider cannot be reached") {
			t.Fatalf("the node did not log that the provider is down:\n%s", d.Log())
		}
		br.do("start", chromedp.Navigate(dURL+"/__login__"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")),
			chromedp.Click(chromedp.CSS("#sso-sign-in")), chromedp.WaitVisible(chromedp.CSS("#message")))
		br.wantSSOFailure(d, 502, "cannot be reached", down.Issuer+"/.well-known/openid-configuration")
	})
}

// ssoRestricted deploys a static site as owner (an API key) on base,
// restricted to its access list, and returns its GUID.
func ssoRestricted(t *testing.T, base, owner string) string {
	t.Helper()
	r := pubJSON(t, "POST", base+"/__api__/v1/content", owner, map[string]string{"name": "for_analysts", "title": "For analysts"})
	pubWant(t, "create", r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	r = pubDo(t, "POST", base+"/__api__/v1/content/"+c.GUID+"/bundles", owner, "application/gzip", pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1 id=hello>for analysts only</h1>",
	}))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", base+"/__api__/v1/content/"+c.GUID+"/deploy", owner, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, base, owner, started.TaskID); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	pubWant(t, "restrict", pubJSON(t, "PUT", base+"/__api__/v1/content/"+c.GUID+"/permissions", owner,
		map[string]any{"access_type": "acl", "permissions": []any{}}), 200)
	return c.GUID
}

// wantGroupAccess checks that the signed-in user cannot open the
// restricted content guid until owner grants the provider's group
// (provider, name: synchronised at the sign-in) the viewer role, and then
// can.
func (b *ssoBrowser) wantGroupAccess(base, owner, guid, provider, group string) {
	t := b.t
	t.Helper()
	open := func() bool {
		b.do("open the restricted content", chromedp.Navigate(base+"/content/"+guid+"/"), chromedp.WaitReady(chromedp.CSS("body")))
		return browserRun(t, b.browser, "content shown", chromedp.Evaluate[bool](`document.getElementById('hello') !== null`))
	}
	if open() {
		t.Fatal("the restricted content opened before its group was granted")
	}
	var groups struct {
		Results []struct {
			GUID, Name, Provider string
		}
	}
	r := pubJSON(t, "GET", base+"/__api__/v1/groups", owner, nil)
	pubWant(t, "groups", r, 200)
	r.JSON(t, &groups)
	gguid := ""
	for _, g := range groups.Results {
		if g.Name == group && g.Provider == provider {
			gguid = g.GUID
		}
	}
	if gguid == "" {
		t.Fatalf("no %s group %q after the sign-in: %s", provider, group, r.Body)
	}
	pubWant(t, "grant the group", pubJSON(t, "PUT", base+"/__api__/v1/content/"+guid+"/permissions", owner, map[string]any{
		"access_type": "acl", "permissions": []any{map[string]string{"principal_type": "group", "principal_guid": gguid, "role": "viewer"}}}), 200)
	if !open() {
		t.Fatalf("a member of %s cannot open content granted to it", group)
	}
}

// waitSSOCheck runs podium ha check until its sso item is no longer
// pending (each node checks the provider when it starts).
func waitSSOCheck(t *testing.T, bin, cfg string) map[string]hacheck.Result {
	t.Helper()
	var res map[string]hacheck.Result
	testutil.WaitFor(t, testutil.Timeout(60*time.Second), "ha check's sso item settles", func() bool {
		res, _, _ = haCheck(t, bin, cfg)
		r, ok := res[hacheck.ItemSSO]
		return ok && r.Status != hacheck.Pending && res[hacheck.ItemNodes].Status == hacheck.Pass
	})
	return res
}

// samlConfig is the configuration of a node that signs in through idp.
func samlConfig(idp *testidp.SAML, address string) string {
	return providerConfig("saml") + fmt.Sprintf("[Server]\nAddress = %s\n[SAML]\nIdPMetaDataURL = %s\nRoleAttribute = role\nDisplayName = Example IdP\n", address, idp.MetadataURL)
}

// TestSAMLBrowser signs in through a real SAML identity provider on
// another site in Chromium: the SP metadata registers Podium with the
// IdP, the IdP's signed response is posted back across sites (the state
// cookie rides on the same-origin bounce), and the user gets the role and
// groups the IdP asserted. A response replayed with a changed attribute
// is refused with a clear page and log line.
func TestSAMLBrowser(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	address := fmt.Sprintf("http://127.0.0.1:%d", port)
	idp := testidp.StartSAMLAt(t, "localhost", []testidp.User{ssoAlice, ssoBob})
	n := nodetest.StartNode(t, nodetest.Options{Name: "S", Listen: fmt.Sprintf("127.0.0.1:%d", port), Config: pubConfig + samlConfig(idp, address)})

	st, md, hdr := ssoGet(t, address+"/__login__/saml/metadata")
	if st != 200 || !strings.Contains(hdr.Get("Content-Type"), "xml") || !strings.Contains(md, address+"/__login__/saml/acs") {
		t.Fatalf("SP metadata: %d %s %s", st, hdr.Get("Content-Type"), md)
	}
	idp.AddServiceProvider(t, "podium", []byte(md))

	br := newSSOBrowser(t)
	br.do("open the dashboard", chromedp.Navigate(address+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#sso-sign-in")))
	if got := br.text("#sso-sign-in"); got != "Sign in with Example IdP" {
		t.Fatalf("login page offers %q", got)
	}
	br.do("sign in at the IdP", chromedp.Click(chromedp.CSS("#sso-sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ssoAlice.Password),
		chromedp.Click(chromedp.CSS(`input[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/__logout__"]`)))
	if loc := br.location(); loc != address+"/__dashboard__/" {
		t.Fatalf("after sign-in the browser is at %s, want the page it asked for", loc)
	}
	me := br.whoAmI(address)
	if me["username"] != "alice" || me["role"] != "publisher" {
		t.Fatalf("v1/user: %v", me)
	}
	if !strings.Contains(n.Log(), `"groups":["staff","analysts"]`) {
		t.Fatalf("the sign-in log line lacks the IdP's groups:\n%s", n.Log())
	}
	owner := pubUser(t, n, "owner", "publisher")
	br.wantGroupAccess(address, owner, ssoRestricted(t, address, owner), "saml", "analysts")

	// bob's genuine response, changed to say alice, posted back by the
	// same browser (its own state cookie): refused.
	br.clearCookies(idp.URL) // out of alice's session at the IdP
	br.do("start as bob", chromedp.Navigate(address+"/__login__/saml"), chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)))
	// Stop the IdP page's automatic post, to tamper with it first.
	br.do("log in at the IdP as bob",
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ssoBob.Password),
		chromedp.Evaluate[chromedp.Void](`(() => { const f = document.forms[0]; const x = new XMLHttpRequest();
			x.open('POST', f.action, false); x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
			x.send(new URLSearchParams(new FormData(f)).toString()); window.__idpAnswer = x.responseText; })()`))
	answer := browserRun(t, br.browser, "IdP answer", chromedp.Evaluate[string](`window.__idpAnswer`))
	resp := samlResponseIn(t, answer)
	forged := strings.Replace(resp, ">bob<", ">alice<", 1)
	if forged == resp {
		t.Fatalf("nothing to tamper with in %s", resp)
	}
	br.do("post the forged response", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const f = document.createElement('form'); f.method = 'POST'; f.action = %q;
		const i = document.createElement('input'); i.name = 'SAMLResponse'; i.value = %q; f.appendChild(i);
		document.body.appendChild(f); f.submit(); })()`, address+"/__login__/saml/acs", b64(forged))),
		chromedp.WaitVisible(chromedp.CSS("#message")))
	br.wantSSOFailure(n, 403, "could not be verified", "Signature could not be verified")
	if me := br.whoAmI(address); me["username"] != "alice" {
		t.Fatalf("after the forged response the browser is %v", me)
	}
}

// samlResponseIn returns the decoded SAMLResponse of the IdP's auto-post
// page.
func samlResponseIn(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no SAMLResponse in the IdP's answer: %s", page)
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
