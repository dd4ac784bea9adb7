package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// TestFirstRunWithoutTerminal sets up a fresh node from a browser only:
// the login page offers to create the first administrator when given the
// setup token from the node's log (a wrong token is refused), the token
// is spent once used, and the dashboard creates, lists and revokes the API
// key that `rsconnect add` asks for.
func TestFirstRunWithoutTerminal(t *testing.T) {
	t.Parallel()
	n := pubNode(t, "", t.TempDir(), "A")
	var token string
	tokenPattern := regexp.MustCompile(`first-run setup token ([0-9a-f]{32})`)
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the setup token in the log", func() bool {
		m := tokenPattern.FindStringSubmatch(n.Log())
		if m != nil {
			token = m[1]
		}
		return m != nil
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := browser.Get(n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", n.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	field := func(page, name string) string {
		t.Helper()
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s field in the page:\n%s", name, page)
		}
		return m[1]
	}

	status, page := get("/__login__")
	if status != 200 || !strings.Contains(page, "Set up Podium") || !strings.Contains(page, `name="setup_token"`) {
		t.Fatalf("the login page of a node without users: %d\n%s", status, page)
	}
	form := url.Values{"login_csrf": {field(page, "login_csrf")}, "setup_token": {strings.Repeat("0", 32)},
		"username": {"admin"}, "password": {"correct horse battery staple"}}
	if res, body := post("/__login__/setup", form); res.StatusCode != 403 || !strings.Contains(body, "Wrong setup token") ||
		!strings.Contains(body, `value="`+strings.Repeat("0", 32)+`"`) {
		t.Fatalf("a wrong token (the refused form keeps what was typed): %d\n%s", res.StatusCode, body)
	}
	// The token also stands out as a plain line of the log, and the
	// landing page says where to look.
	if !strings.Contains(n.Log(), "PODIUM FIRST-RUN SETUP TOKEN: "+token) {
		t.Fatalf("no plain setup token line in the log:\n%s", n.Log())
	}
	if status, page := get("/"); status != 200 || !strings.Contains(page, "PODIUM FIRST-RUN SETUP TOKEN") {
		t.Fatalf("the landing page does not mention the first-run setup: %d\n%s", status, page)
	}
	_, page = get("/__login__")
	form.Set("login_csrf", field(page, "login_csrf"))
	form.Set("setup_token", token)
	res, body := post("/__login__/setup", form)
	if res.StatusCode != 303 || !strings.HasSuffix(res.Header.Get("Location"), "/__dashboard__/") {
		t.Fatalf("setup: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}

	// Logged in as the new administrator; the token is spent.
	status, page = get("/__dashboard__/keys")
	if status != 200 || !strings.Contains(page, `id="username">admin<`) {
		t.Fatalf("keys page after setup: %d\n%s", status, page)
	}
	csrf := field(page, "csrf_token")
	stranger := &http.Client{CheckRedirect: browser.CheckRedirect}
	if res, err := stranger.Get(n.URL + "/__login__"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), "setup_token") {
			t.Fatalf("the setup form is still offered after the first administrator")
		}
	}
	if res, _ := post("/__login__/setup", form); res.StatusCode != 409 && res.StatusCode != 403 {
		t.Fatalf("a second setup with the spent token: %d", res.StatusCode)
	}

	// The dashboard creates a key; rsconnect add accepts it; revoked, it
	// no longer works.
	// POST-redirect-GET: the form's answer is a redirect, the page it
	// leads to shows the key once, and reloading it creates no other.
	res, page = post("/__dashboard__/keys", url.Values{"csrf_token": {csrf}, "name": {"laptop rsconnect"}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/__dashboard__/keys" {
		t.Fatalf("create key: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), page)
	}
	_, page = get("/__dashboard__/keys")
	m := regexp.MustCompile(`<code id="new-key-value">([^<]+)</code>`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "laptop rsconnect") || !strings.Contains(page, `data-copy="new-key-value"`) {
		t.Fatalf("the keys page after creating a key:\n%s", page)
	}
	key := m[1]
	if n := strings.Count(page, `class="key" data-key=`); n != 1 {
		t.Fatalf("%d keys listed after one creation", n)
	}
	rs := newRSConnect(t, n.URL, key)
	rs.serverSettings()
	if me := rs.me(); me["username"] != "admin" {
		t.Fatalf("the new key is not admin's: %v", me)
	}
	_, page = get("/__dashboard__/keys")
	if strings.Contains(page, key) {
		t.Fatalf("the keys page shows the key again")
	}
	id := regexp.MustCompile(`data-key="(\d+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatalf("the key is not listed:\n%s", page)
	}
	if res, _ := post("/__dashboard__/keys/"+id[1]+"/revoke", url.Values{"csrf_token": {csrf}}); res.StatusCode != 303 {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if r := rs.do("GET", "/__api__/v1/user", nil, nil, ""); r.Status != 401 {
		t.Fatalf("a revoked key: %d", r.Status)
	}
	if _, page = get("/__dashboard__/keys"); strings.Contains(page, `data-key="`+id[1]+`"`) {
		t.Fatalf("the revoked key is still listed")
	}

	// The audit log holds the setup (the refused attempt without an
	// actor, the one that created the administrator with it) and the
	// key's creation and revocation on the keys page, never the key.
	status, page = get("/__api__/v1/audit_log?limit=100")
	if status != 200 {
		t.Fatalf("audit log: %d\n%s", status, page)
	}
	var audit struct {
		Entries []struct {
			Action, Target, Actor string
			Detail                json.RawMessage
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(page), &audit); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range audit.Entries {
		if strings.Contains(string(e.Detail), key) || strings.Contains(string(e.Detail), token) {
			t.Errorf("audit entry %s holds a secret: %s", e.Action, e.Detail)
		}
		switch {
		case e.Action == "setup" && e.Actor == "admin" && e.Target == "user:admin" && strings.Contains(string(e.Detail), `"status":303`):
			seen["setup"]++
		case e.Action == "setup" && e.Actor == "" && strings.Contains(string(e.Detail), `"status":403`):
			seen["setup refused"]++
		case (e.Action == "key.create" || e.Action == "key.revoke") && e.Actor == "admin" && e.Target == "key:"+id[1]:
			seen[e.Action]++
		}
	}
	for _, want := range []string{"setup", "setup refused", "key.create", "key.revoke"} {
		if seen[want] == 0 {
			t.Errorf("no %q entry in the audit log: %s", want, page)
		}
	}
}
