package publish_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/gittest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// gitSetup returns a started service that polls every 100ms, on a fresh
// SQLite database, with a publisher and an administrator. logs receives
// the service's log.
func gitSetup(t *testing.T, logs io.Writer) (*publish.Service, *podium.User, *podium.User, dbprovider.Provider) {
	t.Helper()
	return gitSetupWith(t, logs, publish.GitOptions{PollingFrequency: 100 * time.Millisecond, Timeout: 30 * time.Second, AllowLocal: true})
}

func gitSetupWith(t *testing.T, logs io.Writer, git publish.GitOptions) (*publish.Service, *podium.User, *podium.User, dbprovider.Provider) {
	t.Helper()
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(logs)
	log.SetLevel(logrus.DebugLevel)
	entry := logrus.NewEntry(log)
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := schema.Up(ctx, db, entry, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	a := auth.New(db, entry, auth.Options{})
	u, err := a.CreateUser(ctx, auth.CreateUserParams{Username: "alice", Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.CreateUser(ctx, auth.CreateUserParams{Username: "root", Role: podium.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	// The node is in the registry, as a running node is: the sweep fails
	// the tasks of a node it does not find there, which would end a
	// deployment that outlasts the first sweep on a loaded machine.
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "h", PID: 1, Version: "t",
		Provider: "sqlite", Status: podium.NodeServing}); err != nil {
		t.Fatal(err)
	}
	svc := publish.New(publish.Options{
		DB: db, DataDir: t.TempDir(), NodeID: "n1", Log: entry,
		Apps: config.ApplicationsConfig{RenderTimeout: time.Minute, MaxBundleSize: 1 << 20},
		Git:  git,
	})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc, u, admin, db
}

// lockedBuffer is a log output the test reads while the service writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func site(body string) map[string]string {
	return map[string]string{
		"site/manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"site/index.html":    body,
		"README.md":          "not deployed",
	}
}

// commitsOf returns the source_commit of each bundle of content, oldest
// first.
func commitsOf(t *testing.T, db dbprovider.Provider, contentID int64) []string {
	t.Helper()
	list, err := db.BundleList(context.Background(), contentID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		var md struct {
			Source       string `json:"source"`
			SourceCommit string `json:"source_commit"`
		}
		if err := json.Unmarshal([]byte(list[i].Metadata), &md); err != nil || md.Source != "git" {
			t.Fatalf("bundle %d metadata %s: %v", list[i].ID, list[i].Metadata, err)
		}
		out = append(out, md.SourceCommit)
	}
	return out
}

// waitActiveCommit waits until the active bundle of content was made of
// commit.
func waitActiveCommit(t *testing.T, db dbprovider.Provider, contentID int64, commit string) {
	t.Helper()
	testutil.WaitFor(t, 90*time.Second, "commit "+commit+" active", func() bool {
		c, err := db.ContentGet(context.Background(), contentID)
		if err != nil || c.ActiveBundleID == nil {
			return false
		}
		b, err := db.BundleGet(context.Background(), *c.ActiveBundleID)
		return err == nil && strings.Contains(b.Metadata, commit)
	})
}

// TestGitPollingDeploysEachCommitOnce: content following a repository
// over the file system and over HTTP (with a host credential the server
// insists on) gets one bundle per pushed commit, made of the directory
// that holds the manifest, and activated.
func TestGitPollingDeploysEachCommitOnce(t *testing.T) {
	for _, transport := range []string{"file", "http"} {
		t.Run(transport, func(t *testing.T) {
			var logs lockedBuffer
			svc, u, admin, db := gitSetup(t, &logs)
			ctx := context.Background()
			repo := gittest.New(t)
			first := repo.Commit(t, site("one"), "first")
			url := repo.URL()
			if transport == "http" {
				url = repo.ServeHTTP(t, "deployer", "s3cret-token-value")
			}
			c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "site-" + transport})
			if err != nil {
				t.Fatal(err)
			}
			yes := true
			dir := "site"
			if _, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &url, Directory: &dir, Polling: &yes}, true); err != nil {
				t.Fatal(err)
			}
			if transport == "http" {
				// Without the credential the poller records why it cannot read.
				testutil.WaitFor(t, 30*time.Second, "the poll's error", func() bool {
					r, err := db.RepositoryGet(ctx, c.ID)
					return err == nil && strings.Contains(r.LastError, "cannot be read")
				})
				host := strings.TrimPrefix(strings.Split(url, "/")[2], "")
				if _, err := svc.GitCredentialSet(ctx, u, host, "deployer", "x"); !podium.IsCode(err, podium.EFORBIDDEN) {
					t.Fatalf("a publisher set a credential: %v", err)
				}
				if _, err := svc.GitCredentialSet(ctx, admin, host, "deployer", "s3cret-token-value"); err != nil {
					t.Fatal(err)
				}
				stored, err := db.GitCredentialGet(ctx, host)
				if err != nil || bytes.Contains(stored.Secret, []byte("s3cret")) {
					t.Fatalf("the secret is stored in the clear: %v", err)
				}
				list, err := svc.GitCredentialList(ctx, admin)
				if err != nil || len(list) != 1 || list[0].Secret != nil {
					t.Fatalf("GitCredentialList = %+v, %v; want one, without its secret", list, err)
				}
			}
			waitActiveCommit(t, db, c.ID, first)
			second := repo.Commit(t, site("two"), "second")
			waitActiveCommit(t, db, c.ID, second)
			third := repo.Commit(t, map[string]string{"README.md": "changed outside the directory"}, "third")
			waitActiveCommit(t, db, c.ID, third)
			// Polls after the last commit make no bundle.
			r, err := db.RepositoryGet(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			fetched := *r.LastFetchedAt
			testutil.WaitFor(t, 30*time.Second, "two more polls", func() bool {
				r, err := db.RepositoryGet(ctx, c.ID)
				return err == nil && r.LastFetchedAt.After(fetched.Add(150*time.Millisecond))
			})
			if got := commitsOf(t, db, c.ID); strings.Join(got, ",") != first+","+second+","+third {
				t.Fatalf("bundles of commits %v, want one each of %s %s %s", got, first, second, third)
			}
			if r.LastKnownCommit != third || r.LastError != "" {
				t.Fatalf("repository = %+v", r)
			}
			dirOf, err := svc.BundleList(ctx, u, c.GUID)
			if err != nil {
				t.Fatal(err)
			}
			f, _, err := svc.BundleOpen(ctx, u, c.GUID, dirOf[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if strings.Contains(logs.String(), "s3cret") {
				t.Fatal("the log holds the secret")
			}
		})
	}
}

// TestGitDeployErrors: a deployment on request of a branch that does not
// exist, a directory without a manifest, a missing directory and an
// unreachable repository fail with a message that says which, in the
// task and in the repository's last_error.
func TestGitDeployErrors(t *testing.T) {
	svc, u, _, db := gitSetup(t, io.Discard)
	ctx := context.Background()
	repo := gittest.New(t)
	big := make([]byte, 2<<20) // random: gzip leaves it larger than the test's 1 MiB bundle limit
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, map[string]string{"site/index.html": "no manifest", "other/manifest.json": "{}",
		"big/manifest.json": `{"version": 1, "metadata": {"appmode": "static", "primary_html": "index.html"}}`, "big/index.html": "x", "big/blob.bin": string(big)}, "first")
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "broken"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, branch, dir, want string
	}{
		{repo.URL(), "nope", ".", "branch nope not found in repository"},
		{repo.URL(), "main", "site", "no manifest.json in directory site"},
		{repo.URL(), "main", "missing", "directory missing not found in commit"},
		{"file:///nonexistent/repo.git", "main", ".", "repository file:///nonexistent/repo.git cannot be read"},
		{repo.URL(), "main", "big", "(directory big) is larger than 1048576 bytes"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			no := false
			if _, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &tc.url, Branch: &tc.branch, Directory: &tc.dir, Polling: &no}, true); err != nil {
				t.Fatal(err)
			}
			task, err := svc.DeployLatest(ctx, u, c.GUID, true)
			if err != nil {
				t.Fatal(err)
			}
			task = waitTask(t, db, task.ID, finished)
			if task.Code == 0 || !strings.Contains(task.Error, tc.want) {
				t.Fatalf("task = code %d, %q; want an error with %q", task.Code, task.Error, tc.want)
			}
			r, err := svc.RepositoryGet(ctx, u, c.GUID)
			if err != nil || !strings.Contains(r.LastError, tc.want) {
				t.Fatalf("last_error = %+v, %v", r, err)
			}
		})
	}
	if bs, err := db.BundleList(ctx, c.ID); err != nil || len(bs) != 0 {
		t.Fatalf("failed deployments made bundles: %d, %v", len(bs), err)
	}
}

// TestGitDisabled: with [Git] Enabled = false the repository endpoints
// answer ENOTFOUND (404, which rsconnect reports as "not enabled") and a
// deployment without a bundle is refused.
func TestGitDisabled(t *testing.T) {
	svc, u, _, _ := gitSetupWith(t, io.Discard, publish.GitOptions{Disabled: true})
	ctx := context.Background()
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "off"})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://git.example.com/x.git"
	if _, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &url}, true); !podium.IsCode(err, podium.ENOTFOUND) || !strings.Contains(podium.ErrorMessage(err), "[Git] Enabled") {
		t.Fatalf("RepositorySet with Git off = %v, want ENOTFOUND naming [Git] Enabled", err)
	}
	if _, err := svc.RepositoryGet(ctx, u, c.GUID); !podium.IsCode(err, podium.ENOTFOUND) {
		t.Fatalf("RepositoryGet with Git off = %v", err)
	}
	if _, err := svc.DeployLatest(ctx, u, c.GUID, true); !podium.IsCode(err, podium.EINVALID) {
		t.Fatalf("DeployLatest with Git off = %v, want EINVALID", err)
	}
}

// TestGitRefusesLocalRepositories: with [Git] AllowLocalRepositories off
// (the default) a publisher cannot point content at a repository on the
// node's file system, which git, running as the server's user, would
// read; a remote URL is still taken.
func TestGitRefusesLocalRepositories(t *testing.T) {
	svc, u, _, _ := gitSetupWith(t, io.Discard, publish.GitOptions{PollingFrequency: time.Hour, Timeout: 30 * time.Second})
	ctx := context.Background()
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "local"})
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"/etc", "file:///etc", "FILE:///etc", t.TempDir()} {
		_, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &repo}, true)
		if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(podium.ErrorMessage(err), "[Git] AllowLocalRepositories") {
			t.Errorf("RepositorySet(%q) = %v, want EINVALID naming [Git] AllowLocalRepositories", repo, err)
		}
	}
	remote := "https://git.example.com/x.git"
	if _, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &remote}, true); err != nil {
		t.Fatalf("RepositorySet(%q) = %v", remote, err)
	}
}

// TestGitRefusesUnsafeRepositories: URLs that would run a command, use a
// transport Podium does not allow, hold a password, or pass for an
// option; branches and directories that leave the repository.
func TestGitRefusesUnsafeRepositories(t *testing.T) {
	svc, u, _, _ := gitSetup(t, io.Discard)
	ctx := context.Background()
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "unsafe"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []struct{ url, branch, dir string }{
		{"ext::sh -c touch% /tmp/pwned", "main", "."},
		{"git://example.com/repo.git", "main", "."},
		{"https://user:password@example.com/repo.git", "main", "."},
		{"--upload-pack=touch /tmp/pwned", "main", "."},
		{"fd::3", "main", "."},
		{"https://example.com/repo.git", "--upload-pack=x", "."},
		{"https://example.com/repo.git", "a..b", "."},
		{"https://example.com/repo.git", "main", "../../etc"},
	} {
		_, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &ch.url, Branch: &ch.branch, Directory: &ch.dir}, true)
		if !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("RepositorySet(%q, %q, %q) = %v, want EINVALID", ch.url, ch.branch, ch.dir, err)
		}
	}
	for _, ok := range []string{"https://github.com/org/repo.git", "ssh://git@example.com/repo.git", "git@github.com:org/repo.git", "file:///srv/git/repo.git", "/srv/git/repo.git"} {
		if _, err := svc.RepositorySet(ctx, u, c.GUID, publish.RepositoryChange{Repository: &ok}, true); err != nil {
			t.Errorf("RepositorySet(%q) = %v", ok, err)
		}
	}
}
