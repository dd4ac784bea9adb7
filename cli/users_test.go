package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// podium runs the binary with stdin and returns stdout, stderr and the
// exit code. The test process's PODIUM_* variables are not passed on.
func podium(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, nodetest.Binary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PODIUM_") || strings.HasPrefix(kv, "PODIUM_TEST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podium %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func wantExit(t *testing.T, what string, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, code, want, stdout, stderr)
	}
}

func whoami(t *testing.T, base, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/__api__/v1/user", nil)
	req.Header.Set("Authorization", "Key "+key)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

var keyLine = regexp.MustCompile(`^pdm_[A-Za-z0-9_-]{43}\n$`)

// TestAccountsCommandsBesideRunningNode: podium users and podium keys work
// on the SQLite database of a running node (no lock conflict), with exit
// code 2 for invalid input and duplicates, and the key that keys create
// prints alone on stdout is accepted by the node at once.
func TestAccountsCommandsBesideRunningNode(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "accounts"})
	cfg := []string{"--config", node.ConfigPath, "--log-level", "warn"}
	run := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		return podium(t, stdin, append(append([]string{}, cfg...), args...)...)
	}

	out, errs, code := run("a good password\n", "users", "create", "--username", "alice", "--role", "publisher", "--password-stdin")
	wantExit(t, "users create", code, 0, out, errs)
	if !strings.Contains(out, "created user alice") || strings.Contains(out+errs, "a good password") {
		t.Fatalf("users create printed stdout %q stderr %q", out, errs)
	}

	for _, tc := range []struct {
		name, stdin, wantErr string
		args                 []string
	}{
		{"Duplicate", "a good password\n", "already exists", []string{"--username", "alice", "--role", "viewer", "--password-stdin"}},
		{"BadRole", "", "role \"root\"", []string{"--username", "bob", "--role", "root", "--no-password"}},
		{"BadUsername", "", "username \"Bob\"", []string{"--username", "Bob", "--role", "viewer", "--no-password"}},
		{"ShortPassword", "short\n", "at least 10", []string{"--username", "bob", "--role", "viewer", "--password-stdin"}},
		{"EmptyStdin", "", "no password", []string{"--username", "bob", "--role", "viewer", "--password-stdin"}},
	} {
		out, errs, code := run(tc.stdin, append([]string{"users", "create"}, tc.args...)...)
		wantExit(t, tc.name, code, 2, out, errs)
		if !strings.Contains(errs, tc.wantErr) {
			t.Fatalf("%s: stderr %q, want %q", tc.name, errs, tc.wantErr)
		}
	}

	out, errs, code = run("", "keys", "create", "--username", "alice", "--name", "laptop")
	wantExit(t, "keys create", code, 0, out, errs)
	if !keyLine.MatchString(out) {
		t.Fatalf("keys create stdout = %q, want the key alone on one line", out)
	}
	key := strings.TrimSpace(out)
	status, me := whoami(t, node.URL, key)
	if status != http.StatusOK || me["username"] != "alice" || me["role"] != "publisher" {
		t.Fatalf("node with the new key: %d %v", status, me)
	}

	// The commands are in the audit log (no actor: whoever ran them on the
	// host), which an administrator reads through the node.
	out, errs, code = run("", "users", "create", "--username", "root", "--role", "admin", "--no-password")
	wantExit(t, "users create root", code, 0, out, errs)
	out, errs, code = run("", "keys", "create", "--username", "root")
	wantExit(t, "keys create root", code, 0, out, errs)
	req, _ := http.NewRequest("GET", node.URL+"/__api__/v1/audit_log?action=user.create", nil)
	req.Header.Set("Authorization", "Key "+strings.TrimSpace(out))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var audit struct {
		Entries []struct{ Target, Detail json.RawMessage }
	}
	_ = json.NewDecoder(resp.Body).Decode(&audit)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(audit.Entries) != 2 || string(audit.Entries[1].Target) != `"user:alice"` ||
		!strings.Contains(string(audit.Entries[1].Detail), `"via":"cli"`) {
		t.Fatalf("audit log of user.create: %d %+v", resp.StatusCode, audit.Entries)
	}
	out, errs, code = run("", "users", "lock", "--username", "root")
	wantExit(t, "users lock root", code, 0, out, errs)

	out, errs, code = run("", "users", "list", "--json")
	wantExit(t, "users list", code, 0, out, errs)
	var users []map[string]any
	if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 2 || users[0]["username"] != "alice" {
		t.Fatalf("users list --json = %q (%v)", out, err)
	}
	out, errs, code = run("", "users", "list")
	wantExit(t, "users list table", code, 0, out, errs)
	if !regexp.MustCompile(`(?m)^1\s+alice\s+publisher\s+false\s`).MatchString(out) {
		t.Fatalf("users list = %q", out)
	}

	out, errs, code = run("", "keys", "list", "--username", "alice", "--json")
	wantExit(t, "keys list", code, 0, out, errs)
	if !strings.Contains(out, `"name": "laptop"`) || strings.Contains(out, key) || strings.Contains(out, key[12:]) {
		t.Fatalf("keys list = %q", out)
	}

	out, errs, code = run("", "keys", "create", "--username", "nobody")
	wantExit(t, "keys create for an unknown user", code, 2, out, errs)
	out, errs, code = run("", "keys", "revoke", "--username", "alice")
	wantExit(t, "keys revoke without --name or --id", code, 2, out, errs)
	out, errs, code = run("", "keys", "revoke", "--id", "999")
	wantExit(t, "keys revoke unknown id", code, 2, out, errs)

	// Locking stops the key on the running node at once; unlocking
	// restores it.
	out, errs, code = run("", "users", "lock", "--username", "alice")
	wantExit(t, "users lock", code, 0, out, errs)
	if status, _ := whoami(t, node.URL, key); status != http.StatusUnauthorized {
		t.Fatalf("key of a locked user: %d, want 401", status)
	}
	out, errs, code = run("", "users", "unlock", "--username", "alice")
	wantExit(t, "users unlock", code, 0, out, errs)
	if status, _ := whoami(t, node.URL, key); status != http.StatusOK {
		t.Fatalf("key of an unlocked user: %d, want 200", status)
	}

	out, errs, code = run("", "keys", "revoke", "--username", "alice", "--name", "laptop")
	wantExit(t, "keys revoke", code, 0, out, errs)
	if status, _ := whoami(t, node.URL, key); status != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d, want 401", status)
	}

	// Without --password-stdin a password is generated, shown once on
	// stderr, and works on the node's login page.
	out, errs, code = run("", "users", "create", "--username", "bob", "--role", "viewer")
	wantExit(t, "users create with a generated password", code, 0, out, errs)
	m := regexp.MustCompile(`Generated password for bob \(shown only now\): (\S+)`).FindStringSubmatch(errs)
	if m == nil || strings.Contains(out, m[1]) {
		t.Fatalf("generated password: stdout %q stderr %q", out, errs)
	}
	if status := browserLogin(t, node.URL, "bob", m[1]); status != http.StatusSeeOther {
		t.Fatalf("login with the generated password: %d, want 303", status)
	}
	if status := browserLogin(t, node.URL, "bob", m[1]+"x"); status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: %d, want 401", status)
	}

	// The node still serves: the commands took no lock from it.
	if status, _, err := node.Ping(); err != nil || status != http.StatusOK {
		t.Fatalf("ping after the commands: %d, %v", status, err)
	}
}

// browserLogin logs in through the login form and returns the status of
// the POST.
func browserLogin(t *testing.T, base, username, password string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("login form without token: %s", page)
	}
	resp, err = c.PostForm(base+"/__login__", url.Values{"username": {username}, "password": {password}, "login_csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAccountsCommandsBeforeFirstStart: on SQLite, before any node created
// the database, the commands refuse (exit 2) and say what to do.
func TestAccountsCommandsBeforeFirstStart(t *testing.T) {
	t.Parallel()
	cfgPath := nodetest.WriteConfig(t, &nodetest.Options{})
	for _, args := range [][]string{
		{"users", "list"},
		{"keys", "create", "--username", "alice"},
	} {
		out, errs, code := podium(t, "", append([]string{"--config", cfgPath}, args...)...)
		wantExit(t, strings.Join(args, " "), code, 2, out, errs)
		if !strings.Contains(errs, "start the node once") {
			t.Fatalf("%v: stderr %q", args, errs)
		}
	}
}
