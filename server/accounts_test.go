package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// accountsNode runs an in-process node on SQLite in a temp dir with cheap
// password hashing and the given throttle, serving on a free loopback
// port until the test ends. extraConfig is appended to its gcfg file.
func accountsNode(t *testing.T, throttle auth.ThrottleOptions, extraConfig string) (*Node, string) {
	t.Helper()
	return accountsNodeWith(t, auth.Options{Hash: auth.CheapHashParams, Throttle: throttle}, extraConfig)
}

// accountsNodeWith is accountsNode with the accounts service's options
// (a test clock, say) set by the caller.
func accountsNodeWith(t *testing.T, opts auth.Options, extraConfig string) (*Node, string) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	return loggedNode(t, opts, extraConfig, log)
}

// loggedNode is accountsNodeWith logging to log.
func loggedNode(t *testing.T, opts auth.Options, extraConfig string, log *logrus.Logger) (*Node, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "podium.gcfg")
	src := "[Server]\nDataDir = " + dir + "/data\nStateDir = " + dir + "/state\nShutdownGracePeriod = 5s\n" +
		"[HTTP]\nListen = 127.0.0.1:0\n" + extraConfig
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Path: path, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	n := New(cfg, log)
	n.AuthOptions = opts
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	base := "http://" + n.Addr()
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "ping 200", func() bool {
		code, _ := get(base + "/__ping__")
		return code == http.StatusOK
	})
	return n, base
}

// mustUserKey creates a user with an API key through the node's service.
func mustUserKey(t *testing.T, n *Node, name, role string) (*podium.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := n.Auth().CreateUser(ctx, auth.CreateUserParams{Username: name, Role: role, Password: "password of " + name})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := n.Auth().CreateAPIKey(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return u, key
}

type call struct {
	method, path, key string
	body              any
	header            map[string]string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func do(t *testing.T, client *http.Client, base string, c call) reply {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		b, _ := json.Marshal(c.body)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Key "+c.key)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func wantStatus(t *testing.T, what string, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d (%s), want %d", what, r.status, r.body, status)
	}
}

// TestKeyAuthentication: 401 for a missing, malformed, wrong or revoked key
// (with a JSON error body that never repeats the key), 200 for a good one.
func TestKeyAuthentication(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	bob, key := mustUserKey(t, n, "bob", podium.RolePublisher)

	r := do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: key})
	wantStatus(t, "good key", r, http.StatusOK)
	var me web.UserBody
	r.decode(t, &me)
	if me.ID != bob.ID || me.Username != "bob" || me.Role != podium.RolePublisher || me.AuthMethod != web.AuthKey || me.CSRFToken != "" {
		t.Fatalf("who am I = %s", r.body)
	}

	wrong := key[:len(key)-2] + "xx"
	for _, tc := range []struct {
		name   string
		header string
	}{
		{"Missing", ""},
		{"Wrong", "Key " + wrong},
		{"Malformed", "Key nonsense"},
		{"OtherScheme", "Bearer " + key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			r := do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", header: h})
			wantStatus(t, tc.name, r, http.StatusUnauthorized)
			var eb web.ErrorBody
			r.decode(t, &eb)
			if eb.Code != podium.EUNAUTHORIZED || eb.Request == "" || strings.Contains(string(r.body), key[4:]) || strings.Contains(string(r.body), wrong[4:]) {
				t.Fatalf("error body = %s", r.body)
			}
		})
	}

	// Outside /__api__/ another scheme belongs to the hosted app: ignored.
	// A wrong Key is refused everywhere.
	r = do(t, nil, base, call{method: "GET", path: web.LoginPath, header: map[string]string{"Authorization": "Basic YTpi"}})
	wantStatus(t, "Basic outside the API", r, http.StatusOK)
	r = do(t, nil, base, call{method: "GET", path: web.LoginPath, key: wrong})
	wantStatus(t, "wrong key outside the API", r, http.StatusUnauthorized)

	if err := n.Auth().RevokeAPIKey(context.Background(), bob.ID, mustKeyID(t, n, bob.ID)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "revoked key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: key}), http.StatusUnauthorized)
}

func mustKeyID(t *testing.T, n *Node, userID int64) int64 {
	t.Helper()
	keys, err := n.Auth().ListAPIKeys(context.Background(), userID)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of %d: %v, %v", userID, keys, err)
	}
	return keys[0].ID
}

// TestKeysAPI: a user creates, lists and revokes their own keys; another
// user's key is 404; an administrator may revoke any.
func TestKeysAPI(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	_, bobKey := mustUserKey(t, n, "bob", podium.RolePublisher)
	_, eveKey := mustUserKey(t, n, "eve", podium.RoleViewer)
	_, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)

	r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/keys", key: bobKey, body: map[string]string{"name": "deploy"}})
	wantStatus(t, "create key", r, http.StatusCreated)
	var created web.KeyBody
	r.decode(t, &created)
	if created.Name != "deploy" || !strings.HasPrefix(created.Key, auth.KeyPrefix) || created.ID == 0 {
		t.Fatalf("created = %s", r.body)
	}
	wantStatus(t, "new key works", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: created.Key}), http.StatusOK)

	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/keys", key: bobKey})
	wantStatus(t, "list keys", r, http.StatusOK)
	var list []web.KeyBody
	r.decode(t, &list)
	if len(list) != 2 || list[1].Name != "deploy" || strings.Contains(string(r.body), created.Key) || strings.Contains(string(r.body), bobKey) ||
		strings.Contains(string(r.body), `"key"`) {
		t.Fatalf("list = %s", r.body)
	}

	wantStatus(t, "bad body", do(t, nil, base, call{method: "POST", path: "/__api__/v1/keys", key: bobKey, body: map[string]any{"name": 5}}), http.StatusBadRequest)
	wantStatus(t, "empty name", do(t, nil, base, call{method: "POST", path: "/__api__/v1/keys", key: bobKey, body: map[string]string{}}), http.StatusBadRequest)
	wantStatus(t, "anonymous create", do(t, nil, base, call{method: "POST", path: "/__api__/v1/keys", body: map[string]string{"name": "x"}}), http.StatusUnauthorized)
	wantStatus(t, "all keys as non-admin", do(t, nil, base, call{method: "GET", path: "/__api__/v1/keys?all=true", key: bobKey}), http.StatusForbidden)
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/keys?all=true", key: adminKey})
	wantStatus(t, "all keys as admin", r, http.StatusOK)
	r.decode(t, &list)
	if len(list) != 4 {
		t.Fatalf("admin sees %d keys, want 4: %s", len(list), r.body)
	}

	path := "/__api__/v1/keys/" + itoa(created.ID)
	wantStatus(t, "revoke another user's key", do(t, nil, base, call{method: "DELETE", path: path, key: eveKey}), http.StatusNotFound)
	wantStatus(t, "revoke unknown key", do(t, nil, base, call{method: "DELETE", path: "/__api__/v1/keys/99999", key: bobKey}), http.StatusNotFound)
	wantStatus(t, "revoke own key", do(t, nil, base, call{method: "DELETE", path: path, key: bobKey}), http.StatusNoContent)
	wantStatus(t, "revoked key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: created.Key}), http.StatusUnauthorized)
	wantStatus(t, "revoke twice", do(t, nil, base, call{method: "DELETE", path: path, key: bobKey}), http.StatusNotFound)

	eveID := mustKeyIDByName(t, n, "eve")
	wantStatus(t, "admin revokes eve's key", do(t, nil, base, call{method: "DELETE", path: "/__api__/v1/keys/" + itoa(eveID), key: adminKey}), http.StatusNoContent)
	wantStatus(t, "eve's revoked key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: eveKey}), http.StatusUnauthorized)
}

func mustKeyIDByName(t *testing.T, n *Node, username string) int64 {
	t.Helper()
	u, err := n.Auth().GetUserByName(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return mustKeyID(t, n, u.ID)
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// TestUsersAPI: only administrators list and create users.
func TestUsersAPI(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	_, pubKey := mustUserKey(t, n, "bob", podium.RolePublisher)
	_, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	newUser := map[string]string{"username": "carol", "role": "viewer", "password": "a long password"}

	wantStatus(t, "anonymous list", do(t, nil, base, call{method: "GET", path: "/__api__/v1/users"}), http.StatusUnauthorized)
	wantStatus(t, "publisher list", do(t, nil, base, call{method: "GET", path: "/__api__/v1/users", key: pubKey}), http.StatusForbidden)
	wantStatus(t, "publisher create", do(t, nil, base, call{method: "POST", path: "/__api__/v1/users", key: pubKey, body: newUser}), http.StatusForbidden)

	r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/users", key: adminKey, body: newUser})
	wantStatus(t, "admin create", r, http.StatusCreated)
	var u podium.User
	r.decode(t, &u)
	if u.Username != "carol" || u.Role != podium.RoleViewer || strings.Contains(string(r.body), "password") {
		t.Fatalf("created = %s", r.body)
	}
	wantStatus(t, "duplicate", do(t, nil, base, call{method: "POST", path: "/__api__/v1/users", key: adminKey, body: newUser}), http.StatusConflict)
	wantStatus(t, "bad role", do(t, nil, base, call{method: "POST", path: "/__api__/v1/users", key: adminKey,
		body: map[string]string{"username": "dave", "role": "root"}}), http.StatusBadRequest)

	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/users", key: adminKey})
	wantStatus(t, "admin list", r, http.StatusOK)
	var users []podium.User
	r.decode(t, &users)
	if len(users) != 3 || users[0].Username != "bob" || users[1].Username != "carol" || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("users = %s", r.body)
	}
}

var hiddenCSRF = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// postLogin loads the login form (for its CSRF token) and posts it.
func postLogin(t *testing.T, c *http.Client, base, username, password, next string) *http.Response {
	t.Helper()
	resp, err := c.Get(base + web.LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := hiddenCSRF.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("login form: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"username": {username}, "password": {password}, "login_csrf": {string(m[1])}, "next": {next}}
	resp, err = c.PostForm(base+web.LoginPath, form)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

// TestLoginSessionCSRF: the login form sets an HttpOnly, SameSite=Lax
// session cookie that authenticates API calls; state changes with the
// cookie need the CSRF token; logout ends the session.
func TestLoginSessionCSRF(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	mustUserKey(t, n, "bob", podium.RolePublisher)
	c := browser(t)

	// A login post without the form's token is refused.
	resp, err := c.PostForm(base+web.LoginPath, url.Values{"username": {"bob"}, "password": {"password of bob"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil {
		t.Fatalf("login without login_csrf: %d, cookie %v", resp.StatusCode, sessionCookie(resp))
	}

	resp = postLogin(t, c, base, "bob", "wrong password", "")
	if resp.StatusCode != http.StatusUnauthorized || sessionCookie(resp) != nil {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}

	resp = postLogin(t, c, base, "bob", "password of bob", "//evil.example/x")
	ck := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || ck == nil {
		t.Fatalf("login: %d, Location %q, cookie %v", resp.StatusCode, resp.Header.Get("Location"), ck)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
		t.Fatalf("session cookie = %+v", ck)
	}

	r := do(t, c, base, call{method: "GET", path: "/__api__/v1/user"})
	wantStatus(t, "who am I with the cookie", r, http.StatusOK)
	var me web.UserBody
	r.decode(t, &me)
	if me.Username != "bob" || me.AuthMethod != web.AuthSession || len(me.CSRFToken) < 40 {
		t.Fatalf("who am I = %s", r.body)
	}

	create := call{method: "POST", path: "/__api__/v1/keys", body: map[string]string{"name": "from browser"}}
	r = do(t, c, base, create)
	wantStatus(t, "cookie POST without CSRF token", r, http.StatusForbidden)
	create.header = map[string]string{web.CSRFHeader: "not-the-token"}
	wantStatus(t, "cookie POST with a wrong CSRF token", do(t, c, base, create), http.StatusForbidden)
	create.header = map[string]string{web.CSRFHeader: me.CSRFToken}
	wantStatus(t, "cookie POST with the CSRF token", do(t, c, base, create), http.StatusCreated)

	// Logout needs the token too, then the cookie is worthless.
	wantStatus(t, "logout without token", do(t, c, base, call{method: "POST", path: web.LogoutPath}), http.StatusForbidden)
	resp, err = c.PostForm(base+web.LogoutPath, url.Values{web.CSRFFormField: {me.CSRFToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != web.LoginPath {
		t.Fatalf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := n.Auth().AuthenticateSession(context.Background(), ck.Value); !podium.IsCode(err, podium.EUNAUTHORIZED) {
		t.Fatalf("session after logout: %v", err)
	}
	// The old cookie sent again is ignored: anonymous, 401.
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", header: map[string]string{"Cookie": web.SessionCookie + "=" + ck.Value}})
	wantStatus(t, "old cookie", r, http.StatusUnauthorized)

	// A safe next is followed.
	resp = postLogin(t, c, base, "bob", "password of bob", "/content/42?x=1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/content/42?x=1" {
		t.Fatalf("login with next: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSecureCookieBehindTrustedProxy: the cookie is Secure when a trusted
// proxy says the client used https, and not when an untrusted client says
// so.
func TestSecureCookieBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config string
		secure bool
	}{
		{"TrustedProxy", "TrustedProxies = 127.0.0.1\n", true},
		{"NoTrustedProxy", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, base := accountsNode(t, auth.ThrottleOptions{}, "[HTTP]\n"+tc.config)
			mustUserKey(t, n, "bob", podium.RolePublisher)
			c := browser(t)
			c.Transport = headerTransport{"X-Forwarded-Proto": "https"}
			resp := postLogin(t, c, base, "bob", "password of bob", "")
			ck := sessionCookie(resp)
			if resp.StatusCode != http.StatusSeeOther || ck == nil || ck.Secure != tc.secure {
				t.Fatalf("login: %d, cookie %+v, want Secure=%t", resp.StatusCode, ck, tc.secure)
			}
		})
	}
}

// TestSecureCookieWithHTTPSAddress: behind a TLS proxy that is not in
// TrustedProxies (the request reaches the node as plain http, with no
// believed X-Forwarded-Proto), [Server] Address = https://... still makes
// every cookie Secure. Without it the cookies silently lose Secure.
func TestSecureCookieWithHTTPSAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config string
		secure       bool
	}{
		{"HTTPSAddress", "[Server]\nAddress = https://podium.example\n", true},
		{"HTTPAddress", "[Server]\nAddress = http://podium.example\n", false},
		{"NoAddress", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, base := accountsNode(t, auth.ThrottleOptions{}, tc.config)
			mustUserKey(t, n, "bob", podium.RolePublisher)
			// No cookie jar: a jar would not send Secure cookies back over
			// http, which is the point of them.
			c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(base + web.LoginPath)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var loginCSRF *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == "podium_login_csrf" {
					loginCSRF = ck
				}
			}
			m := hiddenCSRF.FindSubmatch(page)
			if loginCSRF == nil || m == nil || loginCSRF.Secure != tc.secure {
				t.Fatalf("login form: cookie %+v, want Secure=%t", loginCSRF, tc.secure)
			}
			form := url.Values{"username": {"bob"}, "password": {"password of bob"}, "login_csrf": {string(m[1])}}
			req, _ := http.NewRequest("POST", base+web.LoginPath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: loginCSRF.Name, Value: loginCSRF.Value})
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			ck := sessionCookie(resp)
			if resp.StatusCode != http.StatusSeeOther || ck == nil || ck.Secure != tc.secure {
				t.Fatalf("login: %d, cookie %+v, want Secure=%t", resp.StatusCode, ck, tc.secure)
			}
		})
	}
}

type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestLoginThrottleHTTP: after MaxFailures wrong passwords the login page
// answers 429 with Retry-After, even for the right password.
func TestLoginThrottleHTTP(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{MaxFailures: 3, BaseDelay: time.Minute}, "")
	mustUserKey(t, n, "bob", podium.RolePublisher)
	c := browser(t)
	for i := 0; i < 3; i++ {
		if resp := postLogin(t, c, base, "bob", "wrong password", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := postLogin(t, c, base, "bob", "password of bob", "")
	if resp.StatusCode != http.StatusTooManyRequests || sessionCookie(resp) != nil {
		t.Fatalf("throttled login: %d", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "60" && ra != "59" {
		t.Fatalf("Retry-After = %q, want about 60", ra)
	}
}

// TestLoginLockoutFromAnotherAddress replays the lock-out attack over HTTP
// (issue 23): a stranger posts wrong passwords for bob through the trusted
// proxy from one client address and is throttled; bob, from another
// address, logs in with the right password at once.
func TestLoginLockoutFromAnotherAddress(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "[HTTP]\nTrustedProxies = 127.0.0.1\n")
	mustUserKey(t, n, "bob", podium.RolePublisher)
	stranger := browser(t)
	stranger.Transport = headerTransport{"X-Forwarded-For": "203.0.113.9"}
	for i := range 5 {
		if resp := postLogin(t, stranger, base, "bob", "wrong password", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := postLogin(t, stranger, base, "bob", "password of bob", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("stranger after 5 guesses: %d, want 429", resp.StatusCode)
	}
	user := browser(t)
	user.Transport = headerTransport{"X-Forwarded-For": "192.0.2.10"}
	if resp := postLogin(t, user, base, "bob", "password of bob", ""); resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
		t.Fatalf("bob from his own address after a stranger's guesses: %d, want 303 with a session", resp.StatusCode)
	}
}

// TestSessionLifetimesFromConfig: [Authentication] SessionIdleTimeout and
// SessionLifetime reach the node: a session in use outlives the idle
// timeout but not the lifetime; an unused one ends after the idle timeout.
// The accounts service runs on a clock the test moves on by hours, so the
// test does not depend on how fast the machine answers. (A session's
// lifetime counts from its creation by the database's clock: the test
// clock is the real one plus an offset.)
func TestSessionLifetimesFromConfig(t *testing.T) {
	t.Parallel()
	clk := &testClock{}
	n, base := accountsNodeWith(t, auth.Options{Hash: auth.CheapHashParams, Now: clk.Now},
		"[Authentication]\nSessionIdleTimeout = 90m\nSessionLifetime = 4h\n")
	mustUserKey(t, n, "bob", podium.RolePublisher)
	whoami := func(c *http.Client) int {
		resp, err := c.Get(base + "/__api__/v1/user")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login := func() *http.Client {
		c := browser(t)
		resp := postLogin(t, c, base, "bob", "password of bob", "")
		if ck := sessionCookie(resp); resp.StatusCode != http.StatusSeeOther || ck == nil {
			t.Fatalf("login: %d, cookie %+v; want a session cookie", resp.StatusCode, ck)
		}
		return c
	}
	// In use every 30 minutes: alive past the idle timeout (90m), refused
	// once the lifetime (4h) has passed.
	active := login()
	for elapsed := time.Duration(0); elapsed < 4*time.Hour; elapsed += 30 * time.Minute {
		if code := whoami(active); code != http.StatusOK {
			t.Fatalf("active session refused (%d) after %v, before its lifetime of 4h (idle timeout 90m)", code, elapsed)
		}
		clk.Add(30 * time.Minute)
	}
	clk.Add(time.Minute)
	if code := whoami(active); code != http.StatusUnauthorized {
		t.Fatalf("active session after its lifetime of 4h: %d, want 401", code)
	}
	// Unused: alive just before the idle timeout, refused after it, long
	// before the lifetime.
	clk.Reset()
	unused := login()
	clk.Add(89 * time.Minute)
	if code := whoami(unused); code != http.StatusOK {
		t.Fatalf("session unused for 89m (idle timeout 90m): %d, want 200", code)
	}
	clk.Add(91 * time.Minute)
	if code := whoami(unused); code != http.StatusUnauthorized {
		t.Fatalf("session unused for 91m (idle timeout 90m): %d, want 401", code)
	}
}

// testClock is the real clock moved on by an offset the test sets.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
func (c *testClock) Reset() { c.mu.Lock(); defer c.mu.Unlock(); c.offset = 0 }
