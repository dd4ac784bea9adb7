package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web"
)

// TestConnectClientFlow drives a node as rsconnect-python's current
// release does for `rsconnect add`, `rsconnect deploy html` (with the
// draft-then-activate flow the reported server version selects),
// redeploys with a multipart upload, `rsconnect content search`, bundle
// download, environment variables, and the app modes this node cannot
// run, on SQLite and on PostgreSQL.
func TestConnectClientFlow(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"SQLite", "PostgreSQL"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			pg := ""
			if db == "PostgreSQL" {
				pg = pgtest.NewDatabase(t)
			}
			n := pubNode(t, pg, t.TempDir(), "A")
			key := pubUser(t, n, "alice", "publisher")
			bobKey := pubUser(t, n, "bob", "publisher")
			connectFlow(t, n, key, bobKey)
			connectRFlow(t, n, key)
		})
	}
}

func connectFlow(t *testing.T, n *nodetest.Node, key, bobKey string) {
	rs := newRSConnect(t, n.URL, key)

	// rsconnect add: the server answers server_settings (no key needed)
	// and the key verifies with GET v1/user.
	settings := newRSConnect(t, n.URL, "").serverSettings()
	if settings["version"] != web.ConnectVersion {
		t.Fatalf("server_settings version %v, want %s", settings["version"], web.ConnectVersion)
	}
	me := rs.me()
	myGUID, _ := me["guid"].(string)
	if me["username"] != "alice" || myGUID == "" {
		t.Fatalf("v1/user: %v", me)
	}
	if r := newRSConnect(t, n.URL, "not-a-key").do("GET", "/__api__/v1/user", nil, nil, ""); r.Status != 401 || !strings.Contains(string(r.Body), `"error"`) {
		t.Fatalf("a wrong key: %d %s, want 401 with an error the client prints", r.Status, r.Body)
	}
	var py struct {
		Installations []struct{ Version string } `json:"installations"`
	}
	rs.ok("python settings", rs.do("GET", "/__api__/v1/server_settings/python", nil, nil, ""), &py)
	if py.Installations == nil {
		t.Fatalf("server_settings/python has no installations list")
	}

	// rsconnect deploy html: unique name, create, title, upload (raw, no
	// Content-Type), deploy as a draft, wait, verify the draft, activate.
	v1 := map[string]string{"index.html": "<h1>v1</h1>", "style.css": "h1{}"}
	name := rs.findUniqueName("my_site")
	if name != "my_site" {
		t.Fatalf("unique name on an empty server: %q", name)
	}
	tarball := htmlBundle(t, v1, "index.html")
	d := rs.deploy("", name, "My Site", tarball, nil, false, nil)
	lines, task := rs.waitForTask(d.TaskID, 1)
	if task.Code != 0 || !containsLine(lines, "built as a draft") ||
		!containsLine(lines, "Manifest fields accepted but not used by this server: locale, metadata.entrypoint") {
		t.Fatalf("draft deployment: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}
	if r := rs.do("GET", "/content/"+d.AppGUID+"/", nil, nil, ""); r.Status != 404 {
		t.Fatalf("a draft must not be live: %d %s", r.Status, r.Body)
	}
	if r := rs.accessContent(d.AppGUID, d.BundleID); r.Status != 200 || string(r.Body) != v1["index.html"] {
		t.Fatalf("draft preview: %d %q", r.Status, r.Body)
	}
	if r := rs.do("GET", strings.TrimPrefix(d.DraftURL, n.URL), nil, nil, ""); r.Status != 200 || string(r.Body) != v1["index.html"] {
		t.Fatalf("draft URL %s: %d %q", d.DraftURL, r.Status, r.Body)
	}
	bob := newRSConnect(t, n.URL, bobKey)
	if r := bob.do("GET", "/content/"+d.AppGUID+"/_bundle"+d.BundleID+"/", nil, nil, ""); r.Status != 404 {
		t.Fatalf("another user previews the draft: %d", r.Status)
	}
	activation := rs.contentDeploy(d.AppGUID, d.BundleID, true)
	lines, task = rs.waitForTask(activation, 1)
	if task.Code != 0 || !containsLine(lines, "is now active") {
		t.Fatalf("activation: %d %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}
	if r := rs.accessContent(d.AppGUID, ""); r.Status != 200 || string(r.Body) != v1["index.html"] {
		t.Fatalf("live page: %d %q", r.Status, r.Body)
	}
	var item rscContent
	rs.ok("content get", rs.do("GET", "/__api__/v1/content/"+d.AppGUID, nil, nil, ""), &item)
	if item.DashboardURL != n.URL+"/__dashboard__/content/"+d.AppGUID || item.ContentURL != n.URL+"/content/"+d.AppGUID+"/" ||
		item.OwnerGUID != myGUID || item.BundleID.String() != d.BundleID || item.LastDeployedTime == nil ||
		item.AppMode == nil || *item.AppMode != "static" || item.Title == nil || *item.Title != "My Site" || item.Name != "my_site" {
		t.Fatalf("content item: %+v", item)
	}
	if r := rs.do("GET", "/__dashboard__/content/"+d.AppGUID+"/logs", nil, nil, ""); r.Status >= 500 {
		t.Fatalf("logs URL: %d", r.Status)
	}

	// Names are unique per owner, as in Connect: the client picks the
	// next free one, and a duplicate is 409; another owner may reuse it.
	if got := rs.findUniqueName("my_site"); got != "my_site1" {
		t.Fatalf("unique name after my_site: %q", got)
	}
	if r := rs.json("POST", "/__api__/v1/content", map[string]string{"name": "my_site"}); r.Status != 409 || !strings.Contains(string(r.Body), "my_site") {
		t.Fatalf("duplicate name: %d %s", r.Status, r.Body)
	}
	bob.ok("bob's my_site", bob.json("POST", "/__api__/v1/content", map[string]string{"name": "my_site"}), nil)

	// Redeploy with git metadata (multipart); the live page keeps v1
	// until the draft is activated.
	v2 := map[string]string{"index.html": "<h1>v2</h1>", "style.css": "h1{}"}
	tarball2 := htmlBundle(t, v2, "index.html")
	d2 := rs.deploy(d.AppGUID, "", "My Site", tarball2, nil, false, map[string]string{
		"source": "git", "source_repo": "https://example.com/site.git", "source_branch": "main", "source_commit": "0123abcd",
	})
	if _, task := rs.waitForTask(d2.TaskID, 1); task.Code != 0 {
		t.Fatalf("second draft: %+v", task)
	}
	if r := rs.accessContent(d.AppGUID, ""); string(r.Body) != v1["index.html"] {
		t.Fatalf("the live page changed before activation: %q", r.Body)
	}
	if r := rs.accessContent(d.AppGUID, d2.BundleID); string(r.Body) != v2["index.html"] {
		t.Fatalf("second draft preview: %q", r.Body)
	}
	if _, task := rs.waitForTask(rs.contentDeploy(d.AppGUID, d2.BundleID, true), 1); task.Code != 0 {
		t.Fatalf("second activation: %+v", task)
	}
	if r := rs.accessContent(d.AppGUID, ""); string(r.Body) != v2["index.html"] {
		t.Fatalf("the live page after activation: %q", r.Body)
	}
	var bundles []struct {
		ID       int64           `json:"id"`
		Metadata json.RawMessage `json:"metadata"`
	}
	rs.ok("bundles", rs.do("GET", "/__api__/v1/content/"+d.AppGUID+"/bundles", nil, nil, ""), &bundles)
	var md struct {
		SourceCommit string `json:"source_commit"`
	}
	if len(bundles) != 2 || json.Unmarshal(bundles[0].Metadata, &md) != nil || md.SourceCommit != "0123abcd" || string(bundles[1].Metadata) != "{}" {
		t.Fatalf("bundles and their metadata: %+v", bundles)
	}

	// Bundle download: the archive as uploaded.
	r := rs.do("GET", "/__api__/v1/content/"+d.AppGUID+"/bundles/"+d.BundleID+"/download", nil, nil, "")
	if r.Status != 200 || string(r.Body) != string(tarball) || r.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("download: %d %s, %d bytes (want %d)", r.Status, r.Header.Get("Content-Type"), len(r.Body), len(tarball))
	}
	if r := bob.do("GET", "/__api__/v1/content/"+d.AppGUID+"/bundles/"+d.BundleID+"/download", nil, nil, ""); r.Status != 404 {
		t.Fatalf("download by another user: %d", r.Status)
	}

	// rsconnect content search: GET v1/content, filtered by the client;
	// the server filters name and owner_guid.
	all := rs.contentList(nil)
	if i := slices.IndexFunc(all, func(c rscContent) bool { return c.GUID == d.AppGUID }); i < 0 || all[i].CreatedTime == "" {
		t.Fatalf("content search lacks the site: %+v", all)
	}
	if mine := rs.contentList(url.Values{"owner_guid": {myGUID}}); len(mine) != 1 || mine[0].GUID != d.AppGUID {
		t.Fatalf("owner_guid filter: %+v", mine)
	}
	if none := rs.contentList(url.Values{"owner_guid": {web.UserGUID(999999)}}); len(none) != 0 {
		t.Fatalf("owner_guid of nobody: %+v", none)
	}
	if byName := rs.contentList(url.Values{"name": {"my_site"}, "owner_guid": {myGUID}}); len(byName) != 1 {
		t.Fatalf("name and owner_guid: %+v", byName)
	}

	connectEnvironment(t, n, rs)
	connectRefusedModes(t, rs)

	// Every poll that came back with nothing new was held for its wait.
	for _, p := range rs.polls {
		if !p.Finished && p.Lines == 0 && p.Took < 900*time.Millisecond {
			t.Errorf("poll %s answered empty after %s: wait=1 must hold it", p.Query, p.Took)
		}
	}
	t.Logf("requests of the whole flow, by endpoint:\n%s", rs.summary())
}

// connectEnvironment sets, lists and deletes environment variables as
// rsconnect deploy -E does, and checks that a render sees the value while
// no response and no log line ever holds it.
func connectEnvironment(t *testing.T, n *nodetest.Node, rs *rsconnect) {
	const secret = "s3cret-value-4711"
	var c rscContent
	rs.ok("create", rs.json("POST", "/__api__/v1/content", map[string]string{"name": "env_report"}), &c)
	r := rs.json("PATCH", "/__api__/v1/content/"+c.GUID+"/environment", []map[string]any{{"name": "GREETING", "value": secret}, {"name": "OTHER", "value": "x"}})
	var names []string
	rs.ok("environment", r, &names)
	if !slices.Equal(names, []string{"GREETING", "OTHER"}) || strings.Contains(string(r.Body), secret) {
		t.Fatalf("PATCH environment: %s", r.Body)
	}
	r = rs.do("GET", "/__api__/v1/content/"+c.GUID+"/environment", nil, nil, "")
	if r.Status != 200 || strings.Contains(string(r.Body), secret) || !strings.Contains(string(r.Body), "GREETING") {
		t.Fatalf("GET environment: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{`[{"name": "PATH", "value": "/tmp"}]`, `[{"name": "1BAD", "value": "x"}]`, `{"name": "X"}`} {
		if r := rs.do("PATCH", "/__api__/v1/content/"+c.GUID+"/environment", nil, []byte(bad), "application/json; charset=utf-8"); r.Status != 400 {
			t.Errorf("PATCH environment %s: %d, want 400", bad, r.Status)
		}
	}
	tarball := pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `printf '<p>%s</p>' "$GREETING" > "$PODIUM_OUTPUT_DIR/index.html"`,
	})
	var b struct {
		ID json.Number `json:"id"`
	}
	rs.ok("upload", rs.do("POST", "/__api__/v1/content/"+c.GUID+"/bundles", nil, tarball, ""), &b)
	lines, task := rs.waitForTask(rs.contentDeploy(c.GUID, b.ID.String(), true), 1)
	if task.Code != 0 {
		t.Fatalf("report with environment: %+v\n%s", task, strings.Join(lines, "\n"))
	}
	if page := rs.accessContent(c.GUID, ""); string(page.Body) != "<p>"+secret+"</p>" {
		t.Fatalf("the render did not see its variable: %q", page.Body)
	}
	rs.ok("delete", rs.json("PATCH", "/__api__/v1/content/"+c.GUID+"/environment", []map[string]any{{"name": "GREETING", "value": nil}}), &names)
	if !slices.Equal(names, []string{"OTHER"}) {
		t.Fatalf("after delete: %v", names)
	}
	if strings.Contains(n.Log(), secret) {
		t.Fatalf("the node logged an environment value")
	}
}

// connectRefusedModes uploads the manifests Connect clients write for
// content this node cannot run: the upload is accepted, the deployment
// refused naming the app mode and what it needs. Quarto needs a runtime
// Podium lacks; a Python mode needs [Python] Executable and an R mode
// [R] Executable, which this node does not set (TestConnectPythonFlow and
// TestRSConnectRDeployApp run them).
func connectRefusedModes(t *testing.T, rs *rsconnect) {
	for _, tt := range []struct{ mode, want string }{
		{"python-api", "appmode python-api needs a Python interpreter: set [Python] Executable"},
		{"python-fastapi", "appmode python-fastapi needs a Python interpreter: set [Python] Executable"},
		{"jupyter-static", "appmode jupyter-static needs a Python interpreter: set [Python] Executable"},
		{"quarto-static", `metadata.appmode "quarto-static" is a Posit Connect app mode this server cannot run yet: it needs the Quarto runtime`},
		{"shiny", "appmode shiny needs R: set [R] Executable"},
		{"rmd-static", "appmode rmd-static needs R: set [R] Executable"},
		{"api", "appmode api needs R: set [R] Executable"}, // Connect's api: a Plumber API
	} {
		mode := tt.mode
		var c rscContent
		rs.ok("create", rs.json("POST", "/__api__/v1/content", map[string]string{"name": "app_" + strings.ReplaceAll(mode, "-", "_")}), &c)
		files := map[string]string{"app.py": "from flask import Flask\napp = Flask(__name__)\n", "requirements.txt": "flask\n"}
		manifest := fmt.Sprintf(`{"version": 1, "locale": "en_US.UTF-8",
  "metadata": {"appmode": %q, "entrypoint": "app:app"},
  "python": {"version": "3.11.2", "package_manager": {"name": "pip", "version": "23.0.1", "package_file": "requirements.txt"}},
  "files": {"app.py": {"checksum": %q}, "requirements.txt": {"checksum": %q}}}`, mode, md5hex(files["app.py"]), md5hex(files["requirements.txt"]))
		files["manifest.json"] = manifest
		var b struct {
			ID json.Number `json:"id"`
		}
		rs.ok(mode+" upload", rs.do("POST", "/__api__/v1/content/"+c.GUID+"/bundles", nil, pubBundle(t, files), "application/x-tar"), &b)
		r := rs.json("POST", "/__api__/v1/content/"+c.GUID+"/deploy", map[string]any{"bundle_id": b.ID.String()})
		var started struct {
			TaskID string `json:"task_id"`
		}
		rs.ok(mode+" deploy", r, &started)
		_, task := rs.waitForTask(started.TaskID, 1)
		if task.Code == 0 || !strings.Contains(task.Error, tt.want) {
			t.Errorf("%s: code %d error %q", mode, task.Code, task.Error)
		}
	}
}

// TestConnectTaskWaitRequests measures how many task polls one deployment
// costs a client that loops without sleeping (rsconnect-python's
// wait_for_task): with wait=0 (what a server that ignores wait gives it)
// and with wait=1, held until new output. Both follow the same task.
func TestConnectTaskWaitRequests(t *testing.T) {
	t.Parallel()
	n := pubNode(t, "", t.TempDir(), "A")
	key := pubUser(t, n, "alice", "publisher")
	rs := newRSConnect(t, n.URL, key)
	var c rscContent
	rs.ok("create", rs.json("POST", "/__api__/v1/content", map[string]string{"name": "slow_report"}), &c)
	tarball := pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `for i in 1 2 3; do echo "step $i"; sleep 1; done; echo '<p>ok</p>' > "$PODIUM_OUTPUT_DIR/index.html"`,
	})
	var b struct {
		ID json.Number `json:"id"`
	}
	rs.ok("upload", rs.do("POST", "/__api__/v1/content/"+c.GUID+"/bundles", nil, tarball, ""), &b)
	id := rs.contentDeploy(c.GUID, b.ID.String(), true)

	busy := newRSConnect(t, n.URL, key)
	held := newRSConnect(t, n.URL, key)
	done := make(chan []string, 1)
	go func() {
		lines, _ := busy.waitForTask(id, 0)
		done <- lines
	}()
	heldLines, task := held.waitForTask(id, 1)
	busyLines := <-done
	if task.Code != 0 || !slices.Equal(heldLines, busyLines) {
		t.Fatalf("the two clients saw different output:\nheld %q\nbusy %q", heldLines, busyLines)
	}
	nBusy, nHeld := busy.count("GET /__api__/v1/tasks/{task}"), held.count("GET /__api__/v1/tasks/{task}")
	t.Logf("task polls for one %d-line deployment: wait=0 (wait ignored) %d, wait=1 %d", len(heldLines), nBusy, nHeld)
	for _, p := range held.polls {
		if !p.Finished && p.Lines == 0 && p.Took < 900*time.Millisecond {
			t.Errorf("poll %s answered empty after %s", p.Query, p.Took)
		}
	}
	// Each held poll answers new output or the end: never more polls than
	// output lines plus the final one.
	if nHeld > len(heldLines)+1 {
		t.Errorf("wait=1 took %d polls for %d lines", nHeld, len(heldLines))
	}
}

// TestConnectThroughLoadBalancers runs the client flow through a sticky
// HAProxy (PODIUMNODE cookie kept by the client's cookie jar: every
// request of the deployment reaches one node), through the shipped
// HAProxy and nginx examples, and checks that a poll held on one node
// answers when the task on another node moves (PostgreSQL notification).
func TestConnectThroughLoadBalancers(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	nodes := startNodes(t, 2, pg, sharedDataDir(t), pubConfig+"[HTTP]\nTrustedProxies = 127.0.0.1\n")
	key := pubUser(t, nodes[0], "alice", "publisher")
	admin := pubUser(t, nodes[0], "root", "admin")
	const password = "a long enough password 42"
	pubWant(t, "create carol", pubJSON(t, "POST", nodes[0].URL+"/__api__/v1/users", admin,
		map[string]string{"username": "carol", "role": "publisher", "password": password}), 201)

	t.Run("StickyHAProxy", func(t *testing.T) {
		h := startHAProxy(t, nodes)
		rs := newRSConnect(t, h.URL, key)
		rs.serverSettings()
		var ping struct{ Node string }
		rs.ok("ping", rs.do("GET", "/__ping__", nil, nil, ""), &ping)
		u, _ := url.Parse(h.URL)
		if !slices.ContainsFunc(rs.hc.Jar.Cookies(u), func(c *http.Cookie) bool { return c.Name == "PODIUMNODE" }) {
			t.Fatalf("the client holds no PODIUMNODE cookie")
		}
		d := rs.deploy("", "sticky_site", "Sticky", htmlBundle(t, map[string]string{"index.html": "sticky"}, "index.html"), nil, false, nil)
		lines, task := rs.waitForTask(d.TaskID, 1)
		if task.Code != 0 || !containsLine(lines, "on node "+ping.Node) {
			t.Fatalf("the deployment did not stay on node %s:\n%s", ping.Node, strings.Join(lines, "\n"))
		}
		rs.accessContent(d.AppGUID, d.BundleID)
		lines, task = rs.waitForTask(rs.contentDeploy(d.AppGUID, d.BundleID, true), 1)
		if task.Code != 0 || !containsLine(lines, "on node "+ping.Node) {
			t.Fatalf("the activation did not stay on node %s:\n%s", ping.Node, strings.Join(lines, "\n"))
		}
		for range 4 {
			var again struct{ Node string }
			rs.ok("ping", rs.do("GET", "/__ping__", nil, nil, ""), &again)
			if again.Node != ping.Node {
				t.Fatalf("the client moved from %s to %s", ping.Node, again.Node)
			}
		}
	})

	dir := filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer")
	for _, lb := range []struct{ name, url string }{
		{"ShippedHAProxy", startExampleHAProxy(t, filepath.Join(dir, "haproxy.cfg"), nodes)},
		{"ShippedNginx", startExampleNginx(t, filepath.Join(dir, "nginx.conf"), nodes)},
	} {
		t.Run(lb.name, func(t *testing.T) {
			rs := newRSConnect(t, lb.url, key)
			if rs.serverSettings()["version"] != web.ConnectVersion {
				t.Fatal("server_settings through the load balancer")
			}
			rs.me()
			name := rs.findUniqueName("lb_" + strings.ToLower(lb.name))
			page := "through " + lb.name
			d := rs.deploy("", name, lb.name, htmlBundle(t, map[string]string{"index.html": page}, "index.html"), nil, false, nil)
			if _, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
				t.Fatalf("draft: %+v", task)
			}
			if r := rs.accessContent(d.AppGUID, d.BundleID); string(r.Body) != page {
				t.Fatalf("draft through %s: %d %q", lb.name, r.Status, r.Body)
			}
			if _, task := rs.waitForTask(rs.contentDeploy(d.AppGUID, d.BundleID, true), 1); task.Code != 0 {
				t.Fatalf("activation: %+v", task)
			}
			if r := rs.accessContent(d.AppGUID, ""); string(r.Body) != page {
				t.Fatalf("live through %s: %d %q", lb.name, r.Status, r.Body)
			}

			// A browser session (cookie jar, no key) survives the load
			// balancer: log in, then every request is still carol's.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar} // follows the 303 with a GET, as browsers do
			res, err := browser.Get(lb.url + "/__login__")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindSubmatch(body)
			if m == nil {
				t.Fatalf("login page: %d %s", res.StatusCode, body)
			}
			res, err = browser.PostForm(lb.url+"/__login__", url.Values{"login_csrf": {string(m[1])}, "username": {"carol"}, "password": {password}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			for range 4 {
				res, err := browser.Get(lb.url + "/__api__/v1/user")
				if err != nil {
					t.Fatal(err)
				}
				var who struct{ Username string }
				_ = json.NewDecoder(res.Body).Decode(&who)
				res.Body.Close()
				if res.StatusCode != 200 || who.Username != "carol" {
					t.Fatalf("the session did not survive %s: %d %+v", lb.name, res.StatusCode, who)
				}
			}
		})
	}

	t.Run("WaitAcrossNodes", func(t *testing.T) {
		a := newRSConnect(t, nodes[0].URL, key)
		b := newRSConnect(t, nodes[1].URL, key)
		var c rscContent
		a.ok("create", a.json("POST", "/__api__/v1/content", map[string]string{"name": "cross_node"}), &c)
		tarball := pubBundle(t, map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
			"render.sh":     `sleep 2; echo late; echo '<p>x</p>' > "$PODIUM_OUTPUT_DIR/index.html"`,
		})
		var bd struct {
			ID json.Number `json:"id"`
		}
		a.ok("upload", a.do("POST", "/__api__/v1/content/"+c.GUID+"/bundles", nil, tarball, ""), &bd)
		id := a.contentDeploy(c.GUID, bd.ID.String(), true)
		// Polled on B with the longest wait: without a notification from
		// A a held poll would answer only at its deadline.
		lines, task := b.waitForTask(id, int(publish.MaxTaskWait.Seconds()))
		if task.Code != 0 || !slices.Contains(lines, "late") {
			t.Fatalf("cross-node task: %+v\n%s", task, strings.Join(lines, "\n"))
		}
		for _, p := range b.polls {
			if p.Took > publish.MaxTaskWait*3/4 {
				t.Errorf("poll %s on B took %s: the notification from A did not wake it", p.Query, p.Took)
			}
		}
	})
}

func containsLine(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}

// connectRFlow replays the R rsconnect package (R/client-connect.R):
// users/current, the v0 application listing by name and owner, v1 content
// create, an upload as application/x-gzip, deploy with a numeric
// bundle_id, its task loop (first=0&wait=1, first advanced only on
// output, no sleep), the v0 lookup by id of a redeploy, and environment
// variables with null to unset.
func connectRFlow(t *testing.T, n *nodetest.Node, key string) {
	r := newRSConnect(t, n.URL, key)
	var me struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	r.ok("users/current", r.do("GET", "/__api__/users/current", nil, nil, ""), &me)
	if me.ID == 0 || me.Username != "alice" {
		t.Fatalf("users/current: %+v", me)
	}
	list := func(name string) int {
		t.Helper()
		var apps struct {
			Applications []struct{ GUID string } `json:"applications"`
			Count, Total int
		}
		q := url.Values{"filter": {fmt.Sprintf("account_id:%d", me.ID), "name:" + name}, "count": {"100"}, "start": {"0"}, "cont": {""}}
		r.ok("applications", r.do("GET", "/__api__/applications", q, nil, ""), &apps)
		if apps.Count != len(apps.Applications) || apps.Total != apps.Count {
			t.Fatalf("applications paging: %+v", apps)
		}
		return apps.Count
	}
	if list("r_site") != 0 {
		t.Fatal("r_site exists before it is created")
	}
	var app struct {
		ID           int64  `json:"id"`
		GUID         string `json:"guid"`
		ContentURL   string `json:"content_url"`
		DashboardURL string `json:"dashboard_url"`
	}
	r.ok("create", r.do("POST", "/__api__/v1/content", nil, []byte(`{"name":"r_site","title":"R site"}`), "application/json"), &app)
	if app.DashboardURL == "" || list("r_site") != 1 {
		t.Fatalf("created: %+v", app)
	}
	var b struct {
		ID int64 `json:"id"`
	}
	page := "<h1>from R</h1>"
	r.ok("upload", r.do("POST", "/__api__/v1/content/"+app.GUID+"/bundles", nil, htmlBundle(t, map[string]string{"index.html": page}, "index.html"), "application/x-gzip"), &b)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.ok("deploy", r.do("POST", "/__api__/v1/content/"+app.GUID+"/deploy", nil, []byte(fmt.Sprintf(`{"bundle_id":%d}`, b.ID)), "application/json"), &started)
	first := 0
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatal("the task loop did not end")
		}
		var task rscTask
		r.ok("task", r.do("GET", fmt.Sprintf("/__api__/v1/tasks/%s?first=%d&wait=1", started.TaskID, first), nil, nil, ""), &task)
		if len(task.Output) > 0 {
			first = task.Last
		}
		if task.Finished {
			if task.Code != 0 {
				t.Fatalf("R deploy: %+v", task)
			}
			break
		}
	}
	if got := r.accessContent(app.GUID, ""); string(got.Body) != page {
		t.Fatalf("R deploy page: %q", got.Body)
	}
	var v0 struct {
		GUID string `json:"guid"`
		URL  string `json:"url"`
	}
	r.ok("applications/{id}", r.do("GET", fmt.Sprintf("/__api__/applications/%d", app.ID), nil, nil, ""), &v0)
	if v0.GUID != app.GUID || v0.URL != app.ContentURL {
		t.Fatalf("v0 application: %+v", v0)
	}
	var names []string
	r.ok("set env", r.do("PATCH", "/__api__/v1/content/"+app.GUID+"/environment", nil, []byte(`[{"name":"A","value":"1"},{"name":"B","value":null}]`), "application/json"), &names)
	r.ok("get env", r.do("GET", "/__api__/v1/content/"+app.GUID+"/environment", nil, nil, ""), &names)
	if !slices.Equal(names, []string{"A"}) {
		t.Fatalf("R environment: %v", names)
	}
}

// TestConnectEnvironmentReachesApps sets an environment variable of app
// content through the Connect API, then deploys it: the app's process
// sees the value, which no API answer returns.
func TestConnectEnvironmentReachesApps(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 1, "", sharedDataDir(t), "[Applications]\nRunAs = nobody\n")
	key := pubUser(t, nodes[0], "alice", "publisher")
	rs := newRSConnect(t, nodes[0].URL, key)
	var c rscContent
	rs.ok("create", rs.json("POST", "/__api__/v1/content", map[string]string{"name": "env_app"}), &c)
	const secret = "app-secret-8812"
	r := rs.json("PATCH", "/__api__/v1/content/"+c.GUID+"/environment", []map[string]string{{"name": "GREETING", "value": secret}})
	if r.Status != 200 || strings.Contains(string(r.Body), secret) {
		t.Fatalf("PATCH environment: %d %s", r.Status, r.Body)
	}
	redeployApp(t, &apiClient{t: t, base: nodes[0].URL, key: key}, c.GUID, echoBundleDir(t))
	if got := rs.accessContent(c.GUID, ""); got.Status != 200 {
		t.Fatalf("app: %d %s", got.Status, got.Body)
	}
	if got := rs.do("GET", "/content/"+c.GUID+"/env/GREETING", nil, nil, ""); string(got.Body) != secret {
		t.Fatalf("the app's process sees GREETING=%q", got.Body)
	}
	if got := rs.do("GET", "/content/"+c.GUID+"/env/PATH", nil, nil, ""); strings.Contains(string(got.Body), secret) {
		t.Fatalf("server variables were overridden: PATH=%q", got.Body)
	}
	if strings.Contains(nodes[0].Log(), secret) {
		t.Fatal("the node logged the value")
	}
}
