package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/nodetest"
)

// browser is a cookie-keeping client logged in through the login form.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func login(t *testing.T, base, username, password string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := b.c.Get(base + "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("login form without token: %s", page)
	}
	resp, err = b.c.PostForm(base+"/__login__", url.Values{"username": {username}, "password": {password}, "login_csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d, want 303", username, resp.StatusCode)
	}
	return b
}

// whoami returns the status of GET /__api__/v1/user with the browser's
// session cookie (sent only if the jar still holds it).
func (b *browser) whoami() int {
	b.t.Helper()
	resp, err := b.c.Get(b.base + "/__api__/v1/user")
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// replay sends the session cookie the browser held at login, whether or
// not the jar dropped it since: an attacker who copied the cookie keeps it.
func replay(t *testing.T, base string, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/__api__/v1/user", nil)
	req.AddCookie(cookie)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (b *browser) sessionCookie() *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "podium_session" {
			return c
		}
	}
	b.t.Fatal("no session cookie after login")
	return nil
}

// TestSessionsEndWithCredentialChanges replays what an administrator
// expects of "users set-password", "lock", "set-role" and "end-sessions"
// on a running node: the user's existing session, copied by whoever had
// it, stops working at once; unlocking brings no old session back.
func TestSessionsEndWithCredentialChanges(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "sessions"})
	cfg := []string{"--config", node.ConfigPath, "--log-level", "warn"}
	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		return podium(t, stdin, append(append([]string{}, cfg...), args...)...)
	}
	const pw1, pw2 = "first correct horse", "second correct horse"
	out, errs, code := run(pw1+"\n", "users", "create", "--username", "alice", "--role", "publisher", "--password-stdin")
	wantExit(t, "users create alice", code, 0, out, errs)
	out, errs, code = run("", "users", "create", "--username", "root", "--role", "admin", "--no-password")
	wantExit(t, "users create root", code, 0, out, errs)
	out, errs, code = run("", "keys", "create", "--username", "root")
	wantExit(t, "keys create root", code, 0, out, errs)
	adminKey := strings.TrimSpace(out)

	// ends runs the change and checks that the session that existed
	// before it is refused afterwards.
	ends := func(what, password string, change func()) {
		t.Helper()
		b := login(t, node.URL, "alice", password)
		ck := b.sessionCookie()
		if s := b.whoami(); s != http.StatusOK {
			t.Fatalf("%s: session before: %d, want 200", what, s)
		}
		change()
		if s := replay(t, node.URL, ck); s != http.StatusUnauthorized {
			t.Fatalf("%s: the old session still works (%d), want 401", what, s)
		}
	}

	ends("set-password", pw1, func() {
		out, errs, code := run(pw2+"\n", "users", "set-password", "--username", "alice")
		wantExit(t, "users set-password", code, 0, out, errs)
	})
	// Lock ends the session, and unlock revives none of the sessions of
	// before the lock.
	b := login(t, node.URL, "alice", pw2)
	ck := b.sessionCookie()
	out, errs, code = run("", "users", "lock", "--username", "alice")
	wantExit(t, "users lock", code, 0, out, errs)
	if s := replay(t, node.URL, ck); s != http.StatusUnauthorized {
		t.Fatalf("lock: the old session still works (%d), want 401", s)
	}
	out, errs, code = run("", "users", "unlock", "--username", "alice")
	wantExit(t, "users unlock", code, 0, out, errs)
	if s := replay(t, node.URL, ck); s != http.StatusUnauthorized {
		t.Fatalf("unlock brought back the session of before the lock (%d), want 401", s)
	}

	ends("set-role", pw2, func() {
		out, errs, code := run("", "users", "set-role", "--username", "alice", "--role", "viewer")
		wantExit(t, "users set-role", code, 0, out, errs)
		if !strings.Contains(out, "role = viewer") {
			t.Fatalf("users set-role printed %q", out)
		}
	})
	ends("end-sessions (CLI)", pw2, func() {
		out, errs, code := run("", "users", "end-sessions", "--username", "alice")
		wantExit(t, "users end-sessions", code, 0, out, errs)
		if !strings.Contains(out, "alice: 1 sessions ended") {
			t.Fatalf("users end-sessions printed %q", out)
		}
	})
	ends("end-sessions (API)", pw2, func() {
		var me struct {
			GUID string `json:"guid"`
		}
		req, _ := http.NewRequest("GET", node.URL+"/__api__/v1/user", nil)
		b := login(t, node.URL, "alice", pw2) // a second session, ended too
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&me)
		resp.Body.Close()
		req, _ = http.NewRequest("DELETE", node.URL+"/__api__/v1/users/"+me.GUID+"/sessions", nil)
		req.Header.Set("Authorization", "Key "+adminKey)
		resp, err = (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"ended":2}` {
			t.Fatalf("DELETE /__api__/v1/users/%s/sessions: %d %s, want 200 {\"ended\":2}", me.GUID, resp.StatusCode, body)
		}
		if s := b.whoami(); s != http.StatusUnauthorized {
			t.Fatalf("second session after end-sessions: %d, want 401", s)
		}
	})
	// Only administrators end others' sessions; an unknown user is 404.
	for _, tc := range []struct {
		key, guid string
		want      int
	}{
		{"", "00000000-0000-4000-8000-000000000001", http.StatusUnauthorized},
		{adminKey, "00000000-0000-4000-8000-0000000000ff", http.StatusNotFound},
		{adminKey, "not-a-guid", http.StatusNotFound},
	} {
		req, _ := http.NewRequest("DELETE", node.URL+"/__api__/v1/users/"+tc.guid+"/sessions", nil)
		if tc.key != "" {
			req.Header.Set("Authorization", "Key "+tc.key)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("DELETE .../users/%s/sessions: %d, want %d", tc.guid, resp.StatusCode, tc.want)
		}
	}
	// A viewer may not end anyone's sessions (alice is a viewer now).
	out, errs, code = run("", "keys", "create", "--username", "alice")
	wantExit(t, "keys create alice", code, 0, out, errs)
	req, _ := http.NewRequest("DELETE", node.URL+"/__api__/v1/users/00000000-0000-4000-8000-000000000002/sessions", nil)
	req.Header.Set("Authorization", "Key "+strings.TrimSpace(out))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer ending root's sessions: %d, want 403", resp.StatusCode)
	}
}

// TestPasswordPolicyCommands: the policy refuses, with exit 2 and a
// message that does not echo the password, the commonest passwords, the
// username, one repeated character and passwords under [Password]
// MinimumLength.
func TestPasswordPolicyCommands(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "policy", Config: "[Password]\nMinimumLength = 12\n"})
	cfg := []string{"--config", node.ConfigPath, "--log-level", "warn"}
	for _, tc := range []struct{ name, password, want string }{
		{"Short", "elevenchars", "at least 12"},
		{"Common", "qwerty123456", "most common"},
		{"Username", "margaret-123", "username"},
		{"Repeated", "aaaaaaaaaaaa", "repeated"},
		{"Pattern", "abcabcabcabc", "repeated"},
	} {
		out, errs, code := podium(t, tc.password+"\n", append(cfg, "users", "create", "--username", "margaret", "--role", "viewer", "--password-stdin")...)
		wantExit(t, tc.name, code, 2, out, errs)
		if !strings.Contains(errs, tc.want) || strings.Contains(out+errs, tc.password) {
			t.Errorf("%s: stderr %q, want %q and not the password", tc.name, errs, tc.want)
		}
	}
	out, errs, code := podium(t, "twelve chars ok\n", append(cfg, "users", "create", "--username", "margaret", "--role", "viewer", "--password-stdin")...)
	wantExit(t, "acceptable password", code, 0, out, errs)
	out, errs, code = podium(t, "1qaz2wsx3edc\n", append(cfg, "users", "set-password", "--username", "margaret")...)
	wantExit(t, "set-password to a common one", code, 2, out, errs)
}
