package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
)

func TestPublishSQLite(t *testing.T) {
	t.Parallel()
	testPublish(t, "")
}

func TestPublishPostgres(t *testing.T) {
	t.Parallel()
	testPublish(t, pgtest.NewDatabase(t))
}

// testPublish runs the whole publishing story on one node: deploy a static
// site and a report with the CLI, render, redeploy, read as owner, viewer,
// stranger and anonymous, and every refusal.
func testPublish(t *testing.T, pg string) {
	n := pubNode(t, pg, "", "node")
	api := n.URL + "/__api__/v1"
	alice := pubUser(t, n, "alice", "publisher")
	bob := pubUser(t, n, "bob", "viewer")
	carol := pubUser(t, n, "carol", "publisher")

	// A static site, deployed with the CLI.
	siteV1 := pubDir(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1>site v1</h1>",
		"sub/page.html": "sub page",
		"secret.txt":    "ignored",
		".podiumignore": "secret.txt\n",
	})
	stdout, stderr, code := pubDeploy(t, n.URL, alice, siteV1, "--name", "site", "--title", "My site")
	if code != 0 {
		t.Fatalf("deploy site: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "is now active") {
		t.Errorf("deploy did not stream the task output:\n%s", stderr)
	}
	site := pubGUID(t, stdout)
	page := n.URL + "/content/" + site + "/"

	t.Run("ReadStatic", func(t *testing.T) {
		r := pubDo(t, "GET", page, alice, "", nil)
		pubWant(t, "owner reads", r, 200)
		if string(r.Body) != "<h1>site v1</h1>" {
			t.Fatalf("page = %q", r.Body)
		}
		if r := pubDo(t, "GET", page+"sub/page.html", alice, "", nil); r.Status != 200 || string(r.Body) != "sub page" {
			t.Fatalf("sub page: %d %q", r.Status, r.Body)
		}
		pubWant(t, ".podiumignore'd file", pubDo(t, "GET", page+"secret.txt", alice, "", nil), 404)
		pubWant(t, "escape by ..", pubDo(t, "GET", page+"..%2f..%2fmanifest.json", alice, "", nil), 404)
		pubWant(t, "anonymous", pubDo(t, "GET", page, "", "", nil), 401)
		pubWant(t, "stranger", pubDo(t, "GET", page, carol, "", nil), 404)
		pubWant(t, "viewer not yet on the list", pubDo(t, "GET", page, bob, "", nil), 404)
		pubWant(t, "wrong key", pubDo(t, "GET", api+"/content", "not-a-key", "", nil), 401)
		pubWant(t, "no key", pubDo(t, "GET", api+"/content", "", "", nil), 401)
	})

	t.Run("Permissions", func(t *testing.T) {
		perms := api + "/content/" + site + "/permissions"
		pubWant(t, "stranger sets", pubJSON(t, "PUT", perms, carol, map[string]any{"permissions": []map[string]string{{"username": "carol"}}}), 404)
		pubWant(t, "unknown user", pubJSON(t, "PUT", perms, alice, `{"permissions":[{"username":"nobody-such"}]}`), 400)
		// ("owner" is Connect's name for a collaborator: accepted.)
		pubWant(t, "bad role", pubJSON(t, "PUT", perms, alice, `{"permissions":[{"username":"bob","role":"emperor"}]}`), 400)
		pubWant(t, "bad access type", pubJSON(t, "PUT", perms, alice, `{"access_type":"everyone"}`), 400)
		pubWant(t, "owner sets", pubJSON(t, "PUT", perms, alice, `{"permissions":[{"username":"bob","role":"viewer"}]}`), 200)
		var p struct {
			AccessType  string `json:"access_type"`
			Permissions []struct{ Username, Role string }
		}
		r := pubDo(t, "GET", perms, alice, "", nil)
		pubWant(t, "owner reads permissions", r, 200)
		r.JSON(t, &p)
		if p.AccessType != "acl" || len(p.Permissions) != 1 || p.Permissions[0].Username != "bob" || p.Permissions[0].Role != "viewer" {
			t.Fatalf("permissions = %+v", p)
		}
		if r := pubDo(t, "GET", page, bob, "", nil); r.Status != 200 || string(r.Body) != "<h1>site v1</h1>" {
			t.Fatalf("viewer reads: %d %q", r.Status, r.Body)
		}
		pubWant(t, "viewer reads metadata", pubDo(t, "GET", api+"/content/"+site, bob, "", nil), 200)
		pubWant(t, "viewer sets permissions", pubJSON(t, "PUT", perms, bob, `{"permissions":[]}`), 403)
		pubWant(t, "viewer updates", pubJSON(t, "PATCH", api+"/content/"+site, bob, `{"title":"mine"}`), 403)
		pubWant(t, "viewer deletes", pubDo(t, "DELETE", api+"/content/"+site, bob, "", nil), 403)
		pubWant(t, "stranger reads metadata", pubDo(t, "GET", api+"/content/"+site, carol, "", nil), 404)

		var list []struct{ GUID string }
		pubDo(t, "GET", api+"/content", carol, "", nil).JSON(t, &list)
		for _, c := range list {
			if c.GUID == site {
				t.Fatal("a stranger's content list shows alice's site")
			}
		}
		pubDo(t, "GET", api+"/content", bob, "", nil).JSON(t, &list)
		if len(list) != 1 || list[0].GUID != site {
			t.Fatalf("viewer's list = %+v, want only the shared site", list)
		}

		// Public content: anonymous readers are welcome.
		pubWant(t, "owner opens", pubJSON(t, "PATCH", api+"/content/"+site, alice, `{"access_type":"all"}`), 200)
		pubWant(t, "anonymous reads public", pubDo(t, "GET", page, "", "", nil), 200)
		pubWant(t, "owner closes", pubJSON(t, "PATCH", api+"/content/"+site, alice, `{"access_type":"acl"}`), 200)
		pubWant(t, "anonymous after close", pubDo(t, "GET", page, "", "", nil), 401)

		// Any logged-in user reads logged_in content, and only reads it.
		pubWant(t, "owner sets logged_in", pubJSON(t, "PATCH", api+"/content/"+site, alice, `{"access_type":"logged_in"}`), 200)
		pubWant(t, "stranger reads logged_in", pubDo(t, "GET", page, carol, "", nil), 200)
		pubWant(t, "anonymous reads logged_in", pubDo(t, "GET", page, "", "", nil), 401)
		pubWant(t, "stranger edits logged_in", pubJSON(t, "PATCH", api+"/content/"+site, carol, `{"title":"x"}`), 403)
		pubWant(t, "owner closes again", pubJSON(t, "PATCH", api+"/content/"+site, alice, `{"access_type":"acl"}`), 200)

		// A collaborator edits but does not manage access.
		pubWant(t, "add collaborator", pubJSON(t, "PUT", perms, alice, `{"permissions":[{"username":"bob"},{"username":"carol","role":"collaborator"}]}`), 200)
		pubWant(t, "collaborator edits", pubJSON(t, "PATCH", api+"/content/"+site, carol, `{"title":"by carol"}`), 200)
		pubWant(t, "collaborator sets permissions", pubJSON(t, "PUT", perms, carol, `{"permissions":[]}`), 403)
		pubWant(t, "collaborator deletes", pubDo(t, "DELETE", api+"/content/"+site, carol, "", nil), 403)
		pubWant(t, "remove collaborator", pubJSON(t, "PUT", perms, alice, `{"permissions":[{"username":"bob"}]}`), 200)
		pubWant(t, "former collaborator", pubJSON(t, "PATCH", api+"/content/"+site, carol, `{"title":"x"}`), 404)
	})

	var bundleV1 int64
	t.Run("RedeployOlderBundle", func(t *testing.T) {
		var bundles []struct {
			ID     int64
			Active bool
		}
		pubDo(t, "GET", api+"/content/"+site+"/bundles", alice, "", nil).JSON(t, &bundles)
		if len(bundles) != 1 || !bundles[0].Active {
			t.Fatalf("bundles = %+v", bundles)
		}
		bundleV1 = bundles[0].ID
		siteV2 := pubDir(t, map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
			"index.html":    "<h1>site v2</h1>",
		})
		if _, stderr, code := pubDeploy(t, n.URL, alice, siteV2, "--content", site); code != 0 {
			t.Fatalf("deploy v2: exit %d\n%s", code, stderr)
		}
		if r := pubDo(t, "GET", page, alice, "", nil); string(r.Body) != "<h1>site v2</h1>" {
			t.Fatalf("after v2: %q", r.Body)
		}
		r := pubJSON(t, "POST", api+"/content/"+site+"/deploy", alice, map[string]any{"bundle_id": bundleV1})
		pubWant(t, "redeploy v1", r, 202)
		var started struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &started)
		if task := pubWaitTask(t, n.URL, alice, started.TaskID); task.Code != 0 {
			t.Fatalf("redeploy task: %+v", task)
		}
		if r := pubDo(t, "GET", page, alice, "", nil); string(r.Body) != "<h1>site v1</h1>" {
			t.Fatalf("after redeploying v1: %q", r.Body)
		}
	})

	t.Run("BadManifestsFailAtDeploy", func(t *testing.T) {
		cases := []struct {
			name  string
			files map[string]string
			want  string
		}{
			{"UnknownAppMode", map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"fortran-app"}}`, "index.html": "x"}, `appmode "fortran-app"`},
			{"MissingManifest", map[string]string{"index.html": "x"}, "no manifest.json"},
			{"MalformedJSON", map[string]string{"manifest.json": `{"version":1,`, "index.html": "x"}, "malformed JSON"},
			{"MissingFile", map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static","primary_html":"home.html"}}`, "index.html": "x"}, "home.html"},
		}
		for _, c := range cases {
			r := pubDo(t, "POST", api+"/content/"+site+"/bundles", alice, "application/gzip", pubBundle(t, c.files))
			pubWant(t, c.name+" upload", r, 201)
			var b struct{ ID int64 }
			r.JSON(t, &b)
			r = pubJSON(t, "POST", api+"/content/"+site+"/deploy", alice, map[string]any{"bundle_id": b.ID})
			pubWant(t, c.name+" deploy", r, 202)
			var started struct {
				TaskID string `json:"task_id"`
			}
			r.JSON(t, &started)
			task := pubWaitTask(t, n.URL, alice, started.TaskID)
			if task.Code == 0 || !strings.Contains(task.Error, c.want) {
				t.Errorf("%s: task code %d error %q, want an error with %q", c.name, task.Code, task.Error, c.want)
			}
		}
		if r := pubDo(t, "GET", page, alice, "", nil); string(r.Body) != "<h1>site v1</h1>" {
			t.Fatalf("a failed deployment changed the page: %q", r.Body)
		}
		// The CLI exits non-zero on a failed deployment.
		bad := pubDir(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"shiny"}}`})
		if _, stderr, code := pubDeploy(t, n.URL, alice, bad, "--content", site); code == 0 || !strings.Contains(stderr, "deployment failed") {
			t.Fatalf("deploy of a bad manifest: exit %d\n%s", code, stderr)
		}
	})

	t.Run("Report", func(t *testing.T) { testPublishReport(t, n, alice, bob) })

	t.Run("Refusals", func(t *testing.T) {
		content := api + "/content/" + site
		gz := pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "x"})
		for _, c := range []struct {
			what   string
			r      pubResp
			status int
		}{
			{"viewer creates content", pubJSON(t, "POST", api+"/content", bob, `{"name":"nope"}`), 403},
			{"unknown field", pubJSON(t, "POST", api+"/content", alice, `{"name":"x","colour":"red"}`), 400},
			{"wrong type", pubJSON(t, "POST", api+"/content", alice, `{"name":42}`), 400},
			{"not an object", pubJSON(t, "POST", api+"/content", alice, `["x"]`), 400},
			{"malformed JSON", pubJSON(t, "POST", api+"/content", alice, `{"name":`), 400},
			{"bad name", pubJSON(t, "POST", api+"/content", alice, `{"name":"../etc"}`), 400},
			{"not JSON", pubDo(t, "POST", api+"/content", alice, "text/html", []byte("<b>")), 415},
			{"oversized JSON", pubJSON(t, "PATCH", content, alice, `{"title":"`+strings.Repeat("x", 2<<20)+`"}`), 413},
			{"unknown content", pubDo(t, "GET", api+"/content/00000000-0000-4000-8000-000000000000", alice, "", nil), 404},
			{"not a guid", pubDo(t, "GET", api+"/content/..%2f..", alice, "", nil), 404},
			{"unknown task", pubDo(t, "GET", api+"/tasks/nope", alice, "", nil), 404},
			{"bad first", pubDo(t, "GET", api+"/tasks/nope?first=-1", alice, "", nil), 400},
			{"first over int32", pubDo(t, "GET", api+"/tasks/nope?first=99999999999", alice, "", nil), 400},
			{"deploy without bundle", pubJSON(t, "POST", content+"/deploy", alice, `{}`), 400},
			{"deploy bundle_id type", pubJSON(t, "POST", content+"/deploy", alice, `{"bundle_id":[1]}`), 400},
			{"deploy unknown bundle", pubJSON(t, "POST", content+"/deploy", alice, `{"bundle_id":999999}`), 404},
			{"stranger deploys", pubJSON(t, "POST", content+"/deploy", carol, `{"bundle_id":1}`), 404},
			{"stranger uploads", pubDo(t, "POST", content+"/bundles", carol, "application/gzip", gz), 404},
			{"viewer uploads", pubDo(t, "POST", content+"/bundles", bob, "application/gzip", gz), 403},
			{"upload not gzip", pubDo(t, "POST", content+"/bundles", alice, "application/gzip", []byte("plain text, not gzip")), 400},
			{"upload labelled zip (the type is not trusted: the archive is checked)", pubDo(t, "POST", content+"/bundles", alice, "application/zip", gz), 201},
			{"upload empty", pubDo(t, "POST", content+"/bundles", alice, "application/gzip", nil), 400},
			{"upload truncated", pubDo(t, "POST", content+"/bundles", alice, "application/gzip", gz[:len(gz)/2]), 400},
			{"upload gzip of garbage", pubDo(t, "POST", content+"/bundles", alice, "application/gzip", gzipOf(t, []byte(strings.Repeat("garbage!", 200)))), 400},
			{"upload over MaxBundleSize", pubDo(t, "POST", content+"/bundles", alice, "application/gzip", make([]byte, 3<<20)), 413},
			{"render a static site", pubDo(t, "POST", content+"/render", alice, "", nil), 412},
		} {
			pubWant(t, c.what, c.r, c.status)
		}
	})

	t.Run("HostileBundles", func(t *testing.T) { testHostileBundles(t, n, alice, site) })

	t.Run("Delete", func(t *testing.T) {
		pubWant(t, "stranger deletes", pubDo(t, "DELETE", api+"/content/"+site, carol, "", nil), 404)
		pubWant(t, "owner deletes", pubDo(t, "DELETE", api+"/content/"+site, alice, "", nil), 204)
		pubWant(t, "deleted metadata", pubDo(t, "GET", api+"/content/"+site, alice, "", nil), 404)
		pubWant(t, "deleted page", pubDo(t, "GET", page, alice, "", nil), 404)
		if _, err := os.Stat(filepath.Join(n.DataDir, "content", site)); !os.IsNotExist(err) {
			t.Fatalf("the deleted content's files are still there: %v", err)
		}
	})
}

// testPublishReport deploys a report whose shell script writes index.html,
// renders it again, and checks that a failed render keeps the good one.
func testPublishReport(t *testing.T, n *nodetest.Node, alice, bob string) {
	// The switch that makes the render fail is a content variable: a
	// render sees nothing of the host outside its sandbox.
	script := fmt.Sprintf(`echo "render starting"
if [ -n "$%s" ]; then echo "failing on purpose" >&2; exit 3; fi
{ echo "<p>report $(date +%%s%%N)</p><pre>"; echo "uid=$(id -u)"; env; echo "</pre>"; } > "$PODIUM_OUTPUT_DIR/index.html"
`, "FAIL_ON_PURPOSE")
	dir := pubDir(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"],"timeout":"30s"}}`,
		"render.sh":     script,
	})
	stdout, stderr, code := pubDeploy(t, n.URL, alice, dir, "--name", "report")
	if code != 0 {
		t.Fatalf("deploy report: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "render starting") {
		t.Errorf("the render's output is not in the streamed task log:\n%s", stderr)
	}
	guid := pubGUID(t, stdout)
	page := n.URL + "/content/" + guid + "/"
	first := pubDo(t, "GET", page, alice, "", nil)
	pubWant(t, "read report", first, 200)
	body := string(first.Body)
	if !strings.Contains(body, "<p>report ") || !strings.Contains(body, "PODIUM_OUTPUT_DIR=") {
		t.Fatalf("report page = %q", body)
	}
	for _, leak := range []string{"hunter2-canary", "SECRET_CANARY", "PODIUM_POSTGRES", "PODIUM_CONFIG", "PODIUM_TEST"} {
		if strings.Contains(body, leak) {
			t.Errorf("the render saw the server's environment (%s):\n%s", leak, body)
		}
	}
	if os.Geteuid() == 0 && !regexp.MustCompile(`uid=2\d{5}\b`).MatchString(body) {
		t.Errorf("podium runs as root: the render must run as its content's uid of [Applications] SandboxUIDRange (200000-299999):\n%s", body)
	}
	pubWant(t, "viewer without access", pubDo(t, "GET", page, bob, "", nil), 404)
	pubWant(t, "viewer renders", pubDo(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/render", bob, "", nil), 404)

	render := func() pubTask {
		r := pubDo(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/render", alice, "", nil)
		pubWant(t, "render", r, 202)
		var started struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &started)
		return pubWaitTask(t, n.URL, alice, started.TaskID)
	}
	task := render()
	if task.Code != 0 || !slices.Contains(task.Output, "render starting") {
		t.Fatalf("ad-hoc render: %+v", task)
	}
	second := pubDo(t, "GET", page, alice, "", nil)
	if second.Status != 200 || string(second.Body) == body {
		t.Fatalf("after an ad-hoc render the page did not change: %d %q", second.Status, second.Body)
	}

	pubWant(t, "set FAIL_ON_PURPOSE", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+guid+"/environment", alice,
		[]map[string]string{{"name": "FAIL_ON_PURPOSE", "value": "1"}}), 200)
	task = render()
	if task.Code == 0 || !strings.Contains(task.Error, "render command failed") || !slices.Contains(task.Output, "failing on purpose") {
		t.Fatalf("failing render: %+v", task)
	}
	if third := pubDo(t, "GET", page, alice, "", nil); string(third.Body) != string(second.Body) {
		t.Fatalf("a failed render replaced the good one: %q", third.Body)
	}
}

// testHostileBundles uploads bundles that try to write outside their
// directory or exhaust the disk: each is refused with a 4xx and leaves no
// file behind, inside or outside the data directory.
func testHostileBundles(t *testing.T, n *nodetest.Node, key, guid string) {
	up := n.URL + "/__api__/v1/content/" + guid + "/bundles"
	outside := t.TempDir()
	bundles := filepath.Join(n.DataDir, "content", guid, "bundles")
	before := pubListFiles(t, bundles)
	abs := filepath.Join(outside, "abs-evil")
	manifest := rawEntry{Name: "manifest.json", Body: `{"version":1,"metadata":{"appmode":"static"}}`}
	index := rawEntry{Name: "index.html", Body: "x"}
	cases := []struct {
		name    string
		entries []rawEntry
		status  int
	}{
		{"PathTraversal", []rawEntry{manifest, index, {Name: "../../../../../../" + strings.TrimPrefix(filepath.Join(outside, "dotdot-evil"), "/"), Body: "evil"}}, 400},
		{"AbsolutePath", []rawEntry{manifest, index, {Name: abs, Body: "evil"}}, 400},
		{"SymlinkEscape", []rawEntry{manifest, index, {Name: "link", Type: '2', Linkname: outside}, {Name: "link/through-link", Body: "evil"}}, 400},
		{"AbsoluteSymlink", []rawEntry{manifest, index, {Name: "abslink", Type: '2', Linkname: "/etc/passwd"}}, 400},
		{"HardLink", []rawEntry{manifest, index, {Name: "hard", Type: '1', Linkname: "/etc/passwd"}}, 400},
		{"TarBomb", []rawEntry{manifest, index, {Name: "zeros", Size: 64 << 20}}, 413},
	}
	for _, c := range cases {
		r := pubDo(t, "POST", up, key, "application/gzip", pubRawBundle(t, c.entries...))
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
			continue
		}
		r.ErrorCode(t)
	}
	if got := pubListFiles(t, outside); len(got) != 0 {
		t.Errorf("hostile bundles wrote outside their directory: %v", got)
	}
	if _, err := os.Lstat(abs); err == nil {
		t.Errorf("%s exists", abs)
	}
	if after := pubListFiles(t, bundles); !slices.Equal(before, after) {
		t.Errorf("refused bundles left files in %s:\nbefore %v\nafter  %v", bundles, before, after)
	}
}
