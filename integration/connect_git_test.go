package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/gittest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// gitConfig polls repositories every 200ms (the default is 15m).
const gitConfig = pubConfig + "[Git]\nPollingFrequency = 200ms\nAllowLocalRepositories = true\n"

// rscRepository is RepositoryInfo (Connect's GitLocationOutput).
type rscRepository struct {
	Repository      string  `json:"repository"`
	Branch          string  `json:"branch"`
	Directory       string  `json:"directory"`
	Polling         bool    `json:"polling"`
	LastError       string  `json:"last_error"`
	LastKnownCommit string  `json:"last_known_commit"`
	LastFetchedTime *string `json:"last_fetched_time"`
}

// getRepository is RSConnectClient.get_repository (`content repository
// get`): 404 means "not git-managed", nil.
func (c *rsconnect) getRepository(guid string) *rscRepository {
	c.t.Helper()
	r := c.do("GET", "/__api__/v1/content/"+guid+"/repository", nil, nil, "")
	if r.Status == 404 {
		return nil
	}
	var out rscRepository
	c.ok("get repository", r, &out)
	return &out
}

// deployGit is RSConnectClient.deploy_git (`rsconnect deploy git`):
// create the content (or get it), PUT its repository (PATCH when it has
// one), set the title and environment, and deploy with "bundle_id": null.
// A 404 from the repository endpoint is "Git-backed deployment is not
// enabled", returned as notEnabled.
func (c *rsconnect) deployGit(appGUID, name, repository, branch, subdirectory, title string, env map[string]string, polling, activate bool) (d rscDeployed, notEnabled bool) {
	c.t.Helper()
	var app rscContent
	if appGUID == "" {
		c.ok("content create", c.json("POST", "/__api__/v1/content", map[string]string{"name": name}), &app)
	} else {
		c.ok("content get", c.do("GET", "/__api__/v1/content/"+appGUID, nil, nil, ""), &app)
	}
	directory := subdirectory
	if directory == "" {
		directory = "."
	}
	body := map[string]any{"repository": repository, "branch": branch, "directory": directory, "polling": polling}
	var r pubResp
	if c.getRepository(app.GUID) != nil {
		r = c.json("PATCH", "/__api__/v1/content/"+app.GUID+"/repository", body)
	} else {
		r = c.json("PUT", "/__api__/v1/content/"+app.GUID+"/repository", body)
	}
	if r.Status == 404 {
		return rscDeployed{AppGUID: app.GUID}, true
	}
	c.ok("set repository", r, nil)
	if title != "" && (app.Title == nil || *app.Title != title) {
		c.ok("content update", c.json("PATCH", "/__api__/v1/content/"+app.GUID, map[string]string{"title": title}), nil)
	}
	if len(env) > 0 {
		var eb []map[string]string
		for k, v := range env {
			eb = append(eb, map[string]string{"name": k, "value": v})
		}
		c.ok("environment", c.json("PATCH", "/__api__/v1/content/"+app.GUID+"/environment", eb), nil)
	}
	db := map[string]any{"bundle_id": nil}
	if !activate {
		db["activate"] = false
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	c.ok("deploy", c.json("POST", "/__api__/v1/content/"+app.GUID+"/deploy", db), &task)
	return rscDeployed{TaskID: task.TaskID, AppID: app.ID.String(), AppGUID: app.GUID, AppURL: app.ContentURL, DashboardURL: app.DashboardURL, Title: title}, false
}

// bundleCommits returns the source_commit of each bundle of content,
// oldest first, and the commit of the active one.
func (c *rsconnect) bundleCommits(guid string) (all []string, active string) {
	c.t.Helper()
	var bundles []struct {
		Active   bool `json:"active"`
		Metadata struct {
			Source       string `json:"source"`
			SourceCommit string `json:"source_commit"`
			SourceRepo   string `json:"source_repo"`
		} `json:"metadata"`
	}
	c.ok("bundles", c.do("GET", "/__api__/v1/content/"+guid+"/bundles", nil, nil, ""), &bundles)
	for i := len(bundles) - 1; i >= 0; i-- {
		all = append(all, bundles[i].Metadata.SourceCommit)
		if bundles[i].Active {
			active = bundles[i].Metadata.SourceCommit
		}
	}
	return all, active
}

func gitSite(body string) map[string]string {
	return map[string]string{
		"site/manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"site/index.html":    body,
	}
}

// TestConnectDeployGit replays rsconnect-python's `deploy git` and
// `content repository get/set/update/delete` against a node on each
// dialect, with a private repository served over HTTP by git
// http-backend: without a credential for its host the deployment fails
// saying the repository cannot be read; an administrator sets one (a
// publisher may not, and nobody reads it back); the deployment then
// deploys the head of the branch, the poller deploys a pushed commit, a
// deployment on request deploys one pushed while polling is off, and a
// second `deploy git` to the same content updates its repository (PATCH).
func TestConnectDeployGit(t *testing.T) {
	t.Parallel()
	for _, dbName := range []string{"SQLite", "PostgreSQL"} {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			pg := ""
			if dbName == "PostgreSQL" {
				pg = pgtest.NewDatabase(t)
			}
			n := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: t.TempDir(), Name: "A", Config: gitConfig})
			key := pubUser(t, n, "alice", "publisher")
			adminKey := pubUser(t, n, "root", "admin")
			rs := newRSConnect(t, n.URL, key)
			admin := newRSConnect(t, n.URL, adminKey)

			repo := gittest.New(t)
			first := repo.Commit(t, gitSite("<p>one</p>"), "first")
			repoURL := repo.ServeHTTP(t, "deploy-bot", "tok-SECRET-123")
			host := strings.Split(repoURL, "/")[2]

			d, notEnabled := rs.deployGit("", "git_site", repoURL, "main", "site", "Git site", nil, true, true)
			if notEnabled {
				t.Fatal("the server answered 404: rsconnect says git-backed deployment is not enabled")
			}
			lines, task := rs.waitForTask(d.TaskID, 1)
			if task.Code == 0 || !strings.Contains(task.Error, "cannot be read") {
				t.Fatalf("deploy without a credential: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
			}
			if r := rs.getRepository(d.AppGUID); r == nil || !strings.Contains(r.LastError, "cannot be read") || r.LastFetchedTime == nil {
				t.Fatalf("content repository get after a failed fetch: %+v", r)
			}

			// Credentials: administrators only, never returned.
			cred := map[string]string{"username": "deploy-bot", "secret": "tok-SECRET-123"}
			if r := rs.json("PUT", "/__api__/v1/git/credentials/"+host, cred); r.Status != 403 {
				t.Fatalf("a publisher set a credential: %d %s", r.Status, r.Body)
			}
			// The administrator sets it with the CLI, the secret from the
			// environment (never on the command line).
			cliEnv := []string{"PODIUM_SERVER=" + n.URL, "PODIUM_API_KEY=" + adminKey, "GIT_TOKEN=tok-SECRET-123"}
			if out, errs, code := nodetest.Run(t, "", cliEnv, "git", "credential", "set", host, "--username", "deploy-bot", "--secret-from-env", "GIT_TOKEN"); code != 0 || !strings.Contains(out, host) {
				t.Fatalf("podium git credential set: exit %d: %s %s", code, out, errs)
			}
			if out, errs, code := nodetest.Run(t, "", cliEnv, "git", "credential", "list"); code != 0 || out != host+"\tdeploy-bot\n" {
				t.Fatalf("podium git credential list: exit %d: %q %s", code, out, errs)
			}
			if _, errs, code := nodetest.Run(t, "", []string{"PODIUM_SERVER=" + n.URL, "PODIUM_API_KEY=" + key, "GIT_TOKEN=x"},
				"git", "credential", "set", host, "--username", "x", "--secret-from-env", "GIT_TOKEN"); code != 1 || !strings.Contains(errs, "only administrators") {
				t.Fatalf("podium git credential set by a publisher: exit %d %s, want 1 saying only administrators may", code, errs)
			}
			if _, _, code := nodetest.Run(t, "", cliEnv, "git", "credential", "set", host, "--username", "x"); code != 2 {
				t.Fatalf("podium git credential set without a secret: exit %d, want 2", code)
			}
			r := admin.do("GET", "/__api__/v1/git/credentials", nil, nil, "")
			if r.Status != 200 || strings.Contains(string(r.Body), "SECRET") || !strings.Contains(string(r.Body), `"deploy-bot"`) {
				t.Fatalf("credential list: %d %s", r.Status, r.Body)
			}

			// deploy git again, to the same content: PATCH, then a
			// deployment of the head.
			d2, _ := rs.deployGit(d.AppGUID, "", repoURL, "main", "site", "Git site", map[string]string{"GREETING": "hi"}, true, true)
			if lines, task := rs.waitForTask(d2.TaskID, 1); task.Code != 0 || !containsLine(lines, "Fetched commit "+first) {
				t.Fatalf("deploy git: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
			}
			if rs.count("PATCH /__api__/v1/content/{guid}/repository") != 1 || rs.count("PUT /__api__/v1/content/{guid}/repository") != 1 {
				t.Fatalf("requests: %s", rs.summary())
			}
			all, active := rs.bundleCommits(d.AppGUID)
			if len(all) != 1 || active != first {
				t.Fatalf("bundles of commits %v, active %s; want one, of %s", all, active, first)
			}
			got := rs.getRepository(d.AppGUID)
			if got == nil || got.Repository != repoURL || got.Branch != "main" || got.Directory != "site" || !got.Polling ||
				got.LastKnownCommit != first || got.LastError != "" {
				t.Fatalf("content repository get: %+v", got)
			}
			if r := rs.do("GET", "/content/"+d.AppGUID+"/", nil, nil, ""); r.Status != 200 || !strings.Contains(string(r.Body), "one") {
				t.Fatalf("content: %d %s", r.Status, r.Body)
			}

			// The poller deploys a pushed commit.
			second := repo.Commit(t, gitSite("<p>two</p>"), "second")
			testutil.WaitFor(t, 60*time.Second, "commit "+second+" deployed by the poller", func() bool {
				_, active := rs.bundleCommits(d.AppGUID)
				return active == second
			})

			// content repository update --no-polling: a pushed commit
			// waits for a deployment on request.
			var upd rscRepository
			rs.ok("update repository", rs.json("PATCH", "/__api__/v1/content/"+d.AppGUID+"/repository", map[string]any{"polling": false}), &upd)
			if upd.Polling || upd.Branch != "main" || upd.LastKnownCommit != second {
				t.Fatalf("content repository update: %+v", upd)
			}
			third := repo.Commit(t, gitSite("<p>three</p>"), "third")
			if all, _ := rs.bundleCommits(d.AppGUID); len(all) != 2 {
				t.Fatalf("bundles %v after a push with polling off", all)
			}
			task3 := rs.contentDeployNull(d.AppGUID)
			if lines, task := rs.waitForTask(task3, 1); task.Code != 0 {
				t.Fatalf("deploy on request: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
			}
			all, active = rs.bundleCommits(d.AppGUID)
			if strings.Join(all, ",") != first+","+second+","+third || active != third {
				t.Fatalf("bundles of commits %v, active %s; want one each of %s %s %s", all, active, first, second, third)
			}

			// content repository set: PUT replaces, defaults included.
			var set rscRepository
			rs.ok("set repository", rs.json("PUT", "/__api__/v1/content/"+d.AppGUID+"/repository",
				map[string]any{"repository": repoURL, "branch": "main", "directory": ".", "polling": false}), &set)
			if set.Directory != "." || set.LastKnownCommit != "" {
				t.Fatalf("content repository set to another directory: %+v (a new location forgets the last commit)", set)
			}
			// Refused: a URL that would run a command.
			if r := rs.json("PUT", "/__api__/v1/content/"+d.AppGUID+"/repository", map[string]any{"repository": "ext::sh -c id", "branch": "main"}); r.Status != 400 {
				t.Fatalf("ext:: repository: %d %s, want 400", r.Status, r.Body)
			}
			// content repository delete: 204, then 404, and a deploy
			// without a bundle is refused.
			if r := rs.do("DELETE", "/__api__/v1/content/"+d.AppGUID+"/repository", nil, nil, ""); r.Status != 204 {
				t.Fatalf("content repository delete: %d %s", r.Status, r.Body)
			}
			if rs.getRepository(d.AppGUID) != nil {
				t.Fatal("the repository is still there after delete")
			}
			if r := rs.json("POST", "/__api__/v1/content/"+d.AppGUID+"/deploy", map[string]any{"bundle_id": nil}); r.Status != 400 {
				t.Fatalf("deploy without bundle of content without repository: %d %s", r.Status, r.Body)
			}
			// Someone who cannot see the content does not learn it exists.
			bob := newRSConnect(t, n.URL, pubUser(t, n, "bob", "publisher"))
			if r := bob.do("GET", "/__api__/v1/content/"+d.AppGUID+"/repository", nil, nil, ""); r.Status != 404 {
				t.Fatalf("repository for a user without access: %d", r.Status)
			}
			if strings.Contains(n.Log(), "tok-SECRET-123") {
				t.Fatal("the node's log holds the secret")
			}
		})
	}
}

// contentDeployNull is content_deploy with bundle_id None (what deploy_git
// sends to deploy the head of the branch).
func (c *rsconnect) contentDeployNull(guid string) string {
	c.t.Helper()
	var task struct {
		TaskID string `json:"task_id"`
	}
	c.ok("deploy", c.json("POST", "/__api__/v1/content/"+guid+"/deploy", map[string]any{"bundle_id": nil}), &task)
	return task.TaskID
}

// TestGitClusterFollowsCommitsAcrossKill: a git-backed item on two nodes
// sharing PostgreSQL and a data directory follows three commits pushed
// during the test; the node polling the repository (the holder of its
// lease) is killed with SIGKILL once it has made the bundle of the third;
// the other node takes the lease and deploys that bundle (the dead node's
// task failed, so the deployment it cut short is done again). Each commit becomes exactly one bundle,
// and the last is active.
func TestGitClusterFollowsCommitsAcrossKill(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	cfg := gitConfig + "[HA]\nHeartbeatInterval = 200ms\nNodeTimeout = 3s\n"
	nodes := startNodes(t, 2, pg, sharedDataDir(t), cfg)
	db := openPostgres(t, pg)
	byID := nodeOf(t, nodes)
	key := pubUser(t, nodes[0], "alice", "publisher")

	repo := gittest.New(t)
	first := repo.Commit(t, gitSite("<p>one</p>"), "first")
	repoURL := repo.ServeHTTP(t, "", "")
	rs := newRSConnect(t, nodes[0].URL, key)
	d, _ := rs.deployGit("", "git_cluster", repoURL, "main", "site", "Cluster", nil, true, true)
	if lines, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("deploy git: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}
	holder := func() string {
		var h string
		_ = db.DB().QueryRowContext(testCtx(t), `SELECT holder FROM leases WHERE name = $1`, "git-poll:"+d.AppGUID).Scan(&h)
		return h
	}
	testutil.WaitFor(t, 30*time.Second, "a node holds the poll lease", func() bool { return byID[holder()] != nil })
	victim := byID[holder()]
	var survivor = nodes[0]
	if survivor == victim {
		survivor = nodes[1]
	}
	t.Logf("the poller is %s; %s survives", victim.Name, survivor.Name)

	second := repo.Commit(t, gitSite("<p>two</p>"), "second")
	testutil.WaitFor(t, 60*time.Second, "commit "+second+" deployed by the poller", func() bool {
		_, active := rs.bundleCommits(d.AppGUID)
		return active == second
	})

	third := repo.Commit(t, gitSite("<p>three</p>"), "third")
	// Killed once its bundle of the third commit is recorded: its
	// deployment is cut short (or just done), and the survivor must
	// neither make a second bundle of the commit nor leave it undeployed.
	testutil.WaitFor(t, 60*time.Second, "the poller made the bundle of "+third, func() bool {
		for _, l := range strings.Split(victim.Log(), "\n") {
			if strings.Contains(l, "bundle made from a git commit") && strings.Contains(l, third) {
				return true
			}
		}
		return false
	})
	victim.Kill(t)
	killedAt := time.Now()
	rs2 := newRSConnect(t, survivor.URL, key)
	testutil.WaitFor(t, 90*time.Second, "commit "+third+" deployed after the poller died", func() bool {
		_, active := rs2.bundleCommits(d.AppGUID)
		return active == third
	})
	t.Logf("kill to the third commit active: %s", time.Since(killedAt).Round(time.Millisecond))
	testutil.WaitFor(t, 30*time.Second, "the survivor holds the poll lease", func() bool { return byID[holder()] == survivor })
	// A few more polls by the survivor make no bundle.
	before := rs2.getRepository(d.AppGUID).LastFetchedTime
	testutil.WaitFor(t, 30*time.Second, "more polls", func() bool {
		r := rs2.getRepository(d.AppGUID)
		return r.LastFetchedTime != nil && before != nil && *r.LastFetchedTime != *before
	})
	all, active := rs2.bundleCommits(d.AppGUID)
	if strings.Join(all, ",") != first+","+second+","+third || active != third {
		t.Fatalf("bundles of commits %v, active %s; want exactly one each of %s %s %s", all, active, first, second, third)
	}
	if r := rs2.do("GET", "/content/"+d.AppGUID+"/", nil, nil, ""); r.Status != 200 || !strings.Contains(string(r.Body), "three") {
		t.Fatalf("content on the survivor: %d %s", r.Status, r.Body)
	}
}
