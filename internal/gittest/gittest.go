// Package gittest makes real git repositories for tests of git-backed
// content: a bare repository that commits are pushed to, served over the
// file system and over HTTP (git http-backend behind net/http/cgi, with
// an optional Basic account).
package gittest

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Repo is a bare repository and a work tree that pushes to it.
type Repo struct {
	// Bare is the path of the bare repository (file:// + Bare is its URL).
	Bare string
	work string
	mu   sync.Mutex
	// Requests counts the HTTP requests served for the repository.
	Requests int
}

// New returns an empty repository whose branch main gets the commits.
func New(t testing.TB) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed: %v", err)
	}
	dir := t.TempDir()
	r := &Repo{Bare: filepath.Join(dir, "repo.git"), work: filepath.Join(dir, "work")}
	run(t, "", "init", "-q", "--bare", "-b", "main", r.Bare)
	run(t, "", "config", "--file", filepath.Join(r.Bare, "config"), "http.receivepack", "false")
	run(t, "", "init", "-q", "-b", "main", r.work)
	return r
}

// URL returns the file:// URL of the repository.
func (r *Repo) URL() string { return "file://" + r.Bare }

// Commit writes files (path → content; "" deletes) in the work tree,
// commits them to main, pushes, and returns the commit id.
func (r *Repo) Commit(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, body := range files {
		p := filepath.Join(r.work, name)
		if body == "" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, r.work, "add", "-A")
	run(t, r.work, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", msg)
	run(t, r.work, "push", "-q", r.Bare, "main:main")
	return strings.TrimSpace(run(t, r.work, "rev-parse", "HEAD"))
}

// ServeHTTP serves the repository read-only over HTTP (smart protocol,
// git http-backend) and returns its URL. With user set, requests without
// that Basic account get 401.
func (r *Repo) ServeHTTP(t testing.TB, user, password string) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(r.Bare), "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.Requests++
		r.mu.Unlock()
		if user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(r.Bare)
}

func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
