package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// vanityGet fetches base+path without following redirects, with key (""
// for anonymous).
func vanityGet(t *testing.T, base, path, key string) pubResp {
	t.Helper()
	return pubDo(t, "GET", base+path, key, "", nil)
}

// checkVanityHidden checks that vpath, the vanity of content guid, answers
// each of keys ("" for anonymous) exactly as a path that is no vanity:
// 404, with the trailing slash or without, no redirect, and nothing
// naming guid.
func checkVanityHidden(t *testing.T, base, vpath, guid string, keys ...string) {
	t.Helper()
	for _, key := range keys {
		who := "anonymous"
		if key != "" {
			who = "a user who may not see it"
		}
		for _, p := range []string{vpath, strings.TrimSuffix(vpath, "/"), vpath + "index.html?x=1", "/no-such-vanity/"} {
			r := vanityGet(t, base, p, key)
			if r.Status != 404 || r.Header.Get("Location") != "" || strings.Contains(string(r.Body), guid) || strings.Contains(r.Header.Get("Location"), guid) {
				t.Errorf("%s of hidden content, as %s: %d Location %q %s; want 404 naming nothing", p, who, r.Status, r.Header.Get("Location"), r.Body)
			}
		}
	}
}

// TestVanityURLsCluster: vanity URLs on two nodes sharing PostgreSQL, with
// [Authorization] PublishersCanManageVanities: a path set through one node
// serves the content on the other at once, with the content's access
// rules; a change or removal through the second node is seen by the first
// at once; collisions with other vanities (same path, prefixes either way)
// and with Podium's own paths are refused with 409, malformed paths with
// 400; an administrator may take a path with force; changes are audited.
func TestVanityURLsCluster(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	// With a landing directory, whose files answer every GET path they
	// have: a path it lacks still reaches the vanities.
	landing := t.TempDir()
	if err := os.WriteFile(filepath.Join(landing, "index.html"), []byte("<p>landing</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	nodes := startNodes(t, 2, pg, sharedDataDir(t), pubConfig+"[Authorization]\nPublishersCanManageVanities = true\n[Server]\nLandingDir = "+landing+"\n")
	n1, n2 := nodes[0], nodes[1]
	adminKey := pubUser(t, n1, "root", "admin")
	aliceKey := pubUser(t, n1, "alice", "publisher")
	alice1, alice2 := newRSConnect(t, n1.URL, aliceKey), newRSConnect(t, n2.URL, aliceKey)
	bob := newRSConnect(t, n1.URL, pubUser(t, n1, "bob", "publisher"))
	admin := newRSConnect(t, n1.URL, adminKey)

	deploy := func(name, body string) string {
		t.Helper()
		d := alice1.deploy("", name, name, htmlBundle(t, map[string]string{"index.html": body, "sub/page.html": "<p>sub of " + name + "</p>"}, "index.html"), nil, true, nil)
		if _, task := alice1.waitForTask(d.TaskID, 1); task.Code != 0 {
			t.Fatalf("deploy %s: %+v", name, task)
		}
		return d.AppGUID
	}
	a, b := deploy("site_a", "<p>site A</p>"), deploy("site_b", "<p>site B</p>")
	alice1.ok("share A", alice1.json("PATCH", "/__api__/v1/content/"+a, map[string]string{"access_type": "all"}), nil)

	var v struct {
		ContentGUID string `json:"content_guid"`
		Path        string `json:"path"`
	}
	alice1.ok("set A", alice1.json("PUT", "/__api__/v1/content/"+a+"/vanity", map[string]any{"path": "Sales/Report"}), &v)
	if v.Path != "/sales/report/" || v.ContentGUID != a {
		t.Fatalf("vanity of A: %+v, want /sales/report/", v)
	}
	// The other node serves it at once, to anyone (A is shared with all).
	if r := vanityGet(t, n2.URL, "/sales/report/", ""); r.Status != 200 || !strings.Contains(string(r.Body), "site A") {
		t.Fatalf("n2 /sales/report/: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n2.URL, "/SALES/report/sub/page.html", ""); r.Status != 200 || !strings.Contains(string(r.Body), "sub of site_a") {
		t.Fatalf("n2 /SALES/report/sub/page.html: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n2.URL, "/sales/report?x=1", ""); r.Status != 301 || r.Header.Get("Location") != "/sales/report/?x=1" {
		t.Fatalf("n2 /sales/report: %d %s, want 301 to /sales/report/?x=1", r.Status, r.Header.Get("Location"))
	}
	if r := vanityGet(t, n2.URL, "/index.html", ""); r.Status != 200 || !strings.Contains(string(r.Body), "landing") {
		t.Fatalf("n2 landing page: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n2.URL, "/sales/", ""); r.Status != 404 {
		t.Fatalf("n2 /sales/ (no vanity): %d, want 404", r.Status)
	}
	// The edge passes a vanity path's input through as it does under
	// /content/ (the content owns it): a form that is not text reaches
	// the static site, which refuses the method, as at /content/.
	for _, p := range []string{"/sales/report/", "/content/" + a + "/"} {
		if r := pubDo(t, "POST", n2.URL+p, "", "application/x-www-form-urlencoded", []byte("x=%FF%00")); r.Status != 405 {
			t.Errorf("POST %s with a form that is not text: %d %s, want 405 (the content's answer)", p, r.Status, r.Body)
		}
	}
	// B keeps its access list: anonymous readers do not get it through
	// its vanity, its owner does.
	alice1.ok("set B", alice1.json("PUT", "/__api__/v1/content/"+b+"/vanity", map[string]any{"path": "/team/b/"}), nil)
	if r := vanityGet(t, n2.URL, "/team/b/", ""); r.Status == 200 || strings.Contains(string(r.Body), "site B") {
		t.Fatalf("anonymous /team/b/ of ACL content: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n2.URL, "/team/b/", aliceKey); r.Status != 200 || !strings.Contains(string(r.Body), "site B") {
		t.Fatalf("owner /team/b/: %d %s", r.Status, r.Body)
	}
	// To those who may not see B, its vanity answers as a path that is
	// no vanity: neither B's existence nor its GUID (issue 23).
	checkVanityHidden(t, n2.URL, "/team/b/", b, "", bob.key)

	// Collisions and malformed paths.
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/sales/report/", 409, "taken by other content"},
		{"/sales/", 409, "is a prefix of the vanity path /sales/report/"},
		{"/sales/report/q3/", 409, "is under the vanity path /sales/report/"},
		{"/__api__/v1/", 409, "shadow Podium's own"},
		{"/__ping__", 409, "shadow Podium's own"},
		{"/__dashboard__/x/", 409, "shadow Podium's own"},
		{"/content/x/", 409, "shadow Podium's own"},
		{"/metrics", 409, "shadow Podium's own"},
		{"/", 400, "at least one segment"},
		{"/a b/", 400, "must be 1 to 100 letters"},
		{"/a//b/", 400, "no empty segments"},
		{"/../etc/", 400, "must be 1 to 100 letters"},
	} {
		r := alice1.json("PUT", "/__api__/v1/content/"+b+"/vanity", map[string]any{"path": tc.path})
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.says) {
			t.Errorf("PUT vanity %q: %d %s, want %d saying %q", tc.path, r.Status, r.Body, tc.status, tc.says)
		}
	}
	// Bob sees A (shared with all) but may not change it; a force is for
	// administrators.
	if r := bob.json("PUT", "/__api__/v1/content/"+a+"/vanity", map[string]any{"path": "/bob/"}); r.Status != 403 {
		t.Fatalf("bob sets A's vanity: %d %s, want 403", r.Status, r.Body)
	}
	if r := alice1.json("PUT", "/__api__/v1/content/"+b+"/vanity", map[string]any{"path": "/sales/report/", "force": true}); r.Status != 403 {
		t.Fatalf("a publisher forcing: %d %s, want 403", r.Status, r.Body)
	}

	// A change through n2 is served by n1 at once; the old path is gone.
	alice2.ok("move A", alice2.json("PUT", "/__api__/v1/content/"+a+"/vanity", map[string]any{"path": "/sales/q3/"}), nil)
	if r := vanityGet(t, n1.URL, "/sales/q3/", ""); r.Status != 200 || !strings.Contains(string(r.Body), "site A") {
		t.Fatalf("n1 /sales/q3/ after the change on n2: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n1.URL, "/sales/report/", ""); r.Status != 404 {
		t.Fatalf("n1 old path /sales/report/: %d, want 404", r.Status)
	}
	var list []struct {
		ContentGUID string `json:"content_guid"`
		Path        string `json:"path"`
	}
	alice1.ok("vanities", alice1.do("GET", "/__api__/v1/vanities", nil, nil, ""), &list)
	if len(list) != 2 || list[0].Path != "/sales/q3/" || list[1].Path != "/team/b/" {
		t.Fatalf("vanities: %+v", list)
	}
	var bobList []struct{ Path string }
	bob.ok("bob's vanities", bob.do("GET", "/__api__/v1/vanities", nil, nil, ""), &bobList)
	if len(bobList) != 1 || bobList[0].Path != "/sales/q3/" {
		t.Fatalf("bob lists the vanities of content he may not see: %+v", bobList)
	}

	// An administrator takes /team/b/ for A: B loses it.
	admin.ok("force", admin.json("PUT", "/__api__/v1/content/"+a+"/vanity", map[string]any{"path": "/team/b/", "force": true}), nil)
	if r := alice1.do("GET", "/__api__/v1/content/"+b+"/vanity", nil, nil, ""); r.Status != 404 {
		t.Fatalf("B's vanity after the force: %d %s, want 404", r.Status, r.Body)
	}
	if r := vanityGet(t, n2.URL, "/team/b/", ""); r.Status != 200 || !strings.Contains(string(r.Body), "site A") {
		t.Fatalf("n2 /team/b/ after the force: %d %s", r.Status, r.Body)
	}
	// Removed through n2: gone on n1.
	if r := alice2.do("DELETE", "/__api__/v1/content/"+a+"/vanity", nil, nil, ""); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := vanityGet(t, n1.URL, "/team/b/", ""); r.Status != 404 {
		t.Fatalf("n1 /team/b/ after the delete on n2: %d, want 404", r.Status)
	}
	if r := alice1.do("DELETE", "/__api__/v1/content/"+a+"/vanity", nil, nil, ""); r.Status != 404 {
		t.Fatalf("delete again: %d %s, want 404", r.Status, r.Body)
	}
	var audit struct {
		Entries []struct {
			Action string `json:"action"`
			Target string `json:"target"`
		} `json:"entries"`
	}
	admin.ok("audit", admin.do("GET", "/__api__/v1/audit_log", url.Values{"limit": {"500"}}, nil, ""), &audit)
	seen := map[string]int{}
	for _, e := range audit.Entries {
		seen[e.Action+" "+e.Target]++
	}
	if seen["vanity.set content:"+a] < 3 || seen["vanity.delete content:"+a] != 2 {
		t.Errorf("audit log: vanity.set of A %d times (want at least 3), vanity.delete %d (want 2)", seen["vanity.set content:"+a], seen["vanity.delete content:"+a])
	}
}

// TestVanityURLsAdminsOnly: on a SQLite node with the default setting only
// administrators set vanity URLs (a publisher gets 403 naming the
// setting); with a content origin ([Server] ContentURL) a vanity URL on the
// main origin redirects to the content's URL on the content origin, which
// serves no vanity path itself.
func TestVanityURLsAdminsOnly(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	mainURL, contentURL := fmt.Sprintf("http://localhost:%d", port), fmt.Sprintf("http://127.0.0.1:%d", port)
	n := nodetest.StartNode(t, nodetest.Options{Name: "A", DataDir: sharedDataDir(t), Listen: fmt.Sprintf("127.0.0.1:%d", port),
		Config: pubConfig + fmt.Sprintf("[Server]\nAddress = %s\nContentURL = %s\n", mainURL, contentURL)})
	aliceKey := pubUser(t, n, "alice", "publisher")
	alice := newRSConnect(t, mainURL, aliceKey)
	admin := newRSConnect(t, mainURL, pubUser(t, n, "root", "admin"))
	d := alice.deploy("", "site", "Site", htmlBundle(t, map[string]string{"index.html": "<p>the site</p>"}, "index.html"), nil, true, nil)
	if _, task := alice.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	alice.ok("share", alice.json("PATCH", "/__api__/v1/content/"+d.AppGUID, map[string]string{"access_type": "all"}), nil)
	if r := alice.json("PUT", "/__api__/v1/content/"+d.AppGUID+"/vanity", map[string]any{"path": "/site/"}); r.Status != 403 || !strings.Contains(string(r.Body), "PublishersCanManageVanities") {
		t.Fatalf("a publisher sets a vanity by default: %d %s, want 403 naming the setting", r.Status, r.Body)
	}
	admin.ok("admin sets", admin.json("PUT", "/__api__/v1/content/"+d.AppGUID+"/vanity", map[string]any{"path": "/site/"}), nil)

	// A browser on the main origin is sent to the content origin.
	r := vanityGet(t, mainURL, "/site/?q=1", "")
	if want := contentURL + "/content/" + d.AppGUID + "/?q=1"; r.Status != http.StatusFound || r.Header.Get("Location") != want {
		t.Fatalf("main origin /site/: %d %s, want 302 to %s", r.Status, r.Header.Get("Location"), want)
	}
	if r := vanityGet(t, contentURL, r.Header.Get("Location")[len(contentURL):], ""); r.Status != 200 || !strings.Contains(string(r.Body), "the site") {
		t.Fatalf("the content origin's URL: %d %s", r.Status, r.Body)
	}
	// ACL content's vanity: to anonymous readers and users not on its
	// access list, the answer of a path that is no vanity, never a
	// redirect that names the content's GUID (issue 23).
	secret := alice.deploy("", "secret", "Secret", htmlBundle(t, map[string]string{"index.html": "<p>the secret</p>"}, "index.html"), nil, true, nil)
	if _, task := alice.waitForTask(secret.TaskID, 1); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	admin.ok("admin sets", admin.json("PUT", "/__api__/v1/content/"+secret.AppGUID+"/vanity", map[string]any{"path": "/secret/"}), nil)
	checkVanityHidden(t, mainURL, "/secret/", secret.AppGUID, "", pubUser(t, n, "bob", "viewer"))
	if r := vanityGet(t, mainURL, "/secret/", aliceKey); r.Status != 200 || !strings.Contains(string(r.Body), "the secret") {
		t.Fatalf("owner /secret/ with her key: %d %s", r.Status, r.Body)
	}
	// The content origin serves /content/ only: no vanity path there.
	if r := vanityGet(t, contentURL, "/site/", ""); r.Status != 404 {
		t.Fatalf("content origin /site/: %d %s, want 404", r.Status, r.Body)
	}
	// An unknown API path is still a plain 404.
	if r := vanityGet(t, mainURL, "/__api__/v1/nothing-here", aliceKey); r.Status != 404 {
		t.Fatalf("unknown API path: %d %s, want 404", r.Status, r.Body)
	}
}
