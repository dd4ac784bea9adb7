package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
)

// TestTags drives Connect's tag API over HTTP on each dialect: an
// administrator builds a tag tree (names unique among siblings, a move
// under a descendant refused, ids as strings as Connect sends them); a
// publisher may not change the tree but tags and untags content they own;
// content is found by tag through /v1/tags/{id}/content, the v0 listing's
// filter=tag:ID and the dashboard's content list; deleting a tag deletes
// its descendants and untags their content; each change is in the audit
// log.
func TestTags(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"SQLite", "PostgreSQL"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			pg := ""
			if db == "PostgreSQL" {
				pg = pgtest.NewDatabase(t)
			}
			n := pubNode(t, pg, t.TempDir(), "A")
			admin := newRSConnect(t, n.URL, pubUser(t, n, "root", "admin"))
			dashUser(t, n, "alice", "publisher", "alice-password-1")
			aliceKey := pubUser(t, n, "alice2", "publisher")
			alice := newRSConnect(t, n.URL, aliceKey)
			bob := newRSConnect(t, n.URL, pubUser(t, n, "bob", "publisher"))

			type tag struct {
				ID       string  `json:"id"`
				Name     string  `json:"name"`
				ParentID *string `json:"parent_id"`
			}
			create := func(c *rsconnect, name string, parent any) (tag, pubResp) {
				t.Helper()
				r := c.json("POST", "/__api__/v1/tags", map[string]any{"name": name, "parent_id": parent})
				var out tag
				if r.Status == 200 {
					if err := json.Unmarshal(r.Body, &out); err != nil {
						t.Fatal(err)
					}
				}
				return out, r
			}
			dept, r := create(admin, "Departments", nil)
			if r.Status != 200 || dept.ParentID != nil || dept.ID == "" {
				t.Fatalf("create root tag: %d %s", r.Status, r.Body)
			}
			sales, r := create(admin, "Sales", dept.ID)
			if r.Status != 200 || sales.ParentID == nil || *sales.ParentID != dept.ID {
				t.Fatalf("create child tag: %d %s", r.Status, r.Body)
			}
			emea, _ := create(admin, "EMEA", sales.ID)
			if _, r := create(admin, "Sales", dept.ID); r.Status != 409 || !strings.Contains(string(r.Body), "already has a child named") {
				t.Fatalf("duplicate sibling: %d %s, want 409", r.Status, r.Body)
			}
			if _, r := create(admin, "x", "999999"); r.Status != 400 || !strings.Contains(string(r.Body), "is not a tag") {
				t.Fatalf("unknown parent: %d %s, want 400", r.Status, r.Body)
			}
			if _, r := create(admin, " padded", nil); r.Status != 400 {
				t.Fatalf("padded name: %d %s, want 400", r.Status, r.Body)
			}
			if _, r := create(alice, "Mine", nil); r.Status != 403 {
				t.Fatalf("a publisher creating a tag: %d %s, want 403", r.Status, r.Body)
			}
			if r := admin.json("PATCH", "/__api__/v1/tags/"+dept.ID, map[string]any{"parent_id": emea.ID}); r.Status != 400 || !strings.Contains(string(r.Body), "under itself or one of its descendants") {
				t.Fatalf("moving a tag under its descendant: %d %s, want 400", r.Status, r.Body)
			}
			if r := alice.json("PATCH", "/__api__/v1/tags/"+dept.ID, map[string]any{"name": "Teams"}); r.Status != 403 {
				t.Fatalf("a publisher renaming a tag: %d %s, want 403", r.Status, r.Body)
			}
			var renamed tag
			admin.ok("rename", admin.json("PATCH", "/__api__/v1/tags/"+emea.ID, map[string]any{"name": "Europe"}), &renamed)
			if renamed.Name != "Europe" || renamed.ParentID == nil || *renamed.ParentID != sales.ID {
				t.Fatalf("renamed tag: %+v", renamed)
			}
			var children []tag
			alice.ok("list children", alice.do("GET", "/__api__/v1/tags", url.Values{"parent_id": {sales.ID}}, nil, ""), &children)
			if len(children) != 1 || children[0].ID != emea.ID {
				t.Fatalf("children of Sales: %+v", children)
			}

			// Alice tags her content; Bob may not tag it.
			mine := alice.deploy("", "tagged", "Tagged", htmlBundle(t, map[string]string{"index.html": "<p>tagged</p>"}, "index.html"), nil, true, nil)
			other := alice.deploy("", "untagged", "Untagged", htmlBundle(t, map[string]string{"index.html": "<p>untagged</p>"}, "index.html"), nil, true, nil)
			alice.waitForTask(mine.TaskID, 1)
			alice.waitForTask(other.TaskID, 1)
			alice.ok("tag", alice.json("POST", "/__api__/v1/content/"+mine.AppGUID+"/tags", map[string]any{"tag_id": emea.ID}), nil)
			alice.ok("tag again", alice.json("POST", "/__api__/v1/content/"+mine.AppGUID+"/tags", map[string]any{"tag_id": emea.ID}), nil)
			alice.ok("tag", alice.json("POST", "/__api__/v1/content/"+mine.AppGUID+"/tags", map[string]any{"tag_id": sales.ID}), nil)
			if r := alice.json("POST", "/__api__/v1/content/"+mine.AppGUID+"/tags", map[string]any{"tag_id": "424242"}); r.Status != 400 {
				t.Fatalf("tagging with an unknown tag: %d %s, want 400", r.Status, r.Body)
			}
			if r := bob.json("POST", "/__api__/v1/content/"+mine.AppGUID+"/tags", map[string]any{"tag_id": sales.ID}); r.Status != 404 {
				t.Fatalf("bob tagging alice's private content: %d %s, want 404", r.Status, r.Body)
			}
			var tags []tag
			alice.ok("content tags", alice.do("GET", "/__api__/v1/content/"+mine.AppGUID+"/tags", nil, nil, ""), &tags)
			if len(tags) != 2 || tags[0].ID != sales.ID || tags[1].ID != emea.ID {
				t.Fatalf("tags of the content: %+v", tags)
			}
			var tagged []rscContent
			alice.ok("content by tag", alice.do("GET", "/__api__/v1/tags/"+emea.ID+"/content", nil, nil, ""), &tagged)
			if len(tagged) != 1 || tagged[0].GUID != mine.AppGUID {
				t.Fatalf("content tagged Europe: %+v", tagged)
			}
			var none []rscContent
			bob.ok("content by tag for bob", bob.do("GET", "/__api__/v1/tags/"+emea.ID+"/content", nil, nil, ""), &none)
			if len(none) != 0 {
				t.Fatalf("bob sees alice's private content by tag: %+v", none)
			}
			var v0 struct {
				Applications []struct{ GUID string } `json:"applications"`
			}
			alice.ok("v0 by tag", alice.do("GET", "/__api__/applications", url.Values{"filter": {"tag:" + sales.ID}}, nil, ""), &v0)
			if len(v0.Applications) != 1 || v0.Applications[0].GUID != mine.AppGUID {
				t.Fatalf("filter=tag:%s: %+v", sales.ID, v0)
			}

			// The dashboard's content list, filtered by tag.
			login := loginPost(t, n, "alice", "alice-password-1")
			var session *http.Cookie
			for _, c := range (&http.Response{Header: login.Header}).Cookies() {
				if c.Name == "podium_session" {
					session = c
				}
			}
			if session == nil {
				t.Fatalf("login: %d %v", login.Status, login.Header)
			}
			// The dashboard user (alice, with a password) does not own the
			// items (alice2, with a key, does): shared with everyone logged
			// in, her list holds them.
			for _, g := range []string{mine.AppGUID, other.AppGUID} {
				alice.ok("share", alice.json("PATCH", "/__api__/v1/content/"+g, map[string]string{"access_type": "logged_in"}), nil)
			}
			req, _ := http.NewRequest("GET", n.URL+"/__dashboard__/?tag="+emea.ID, nil)
			req.AddCookie(session)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("dashboard: %d %v", res.StatusCode, err)
			}
			html := string(body)
			row := func(guid string) string {
				m := regexp.MustCompile(`<tr data-guid="` + guid + `"[^>]*>`).FindString(html)
				if m == "" {
					t.Fatalf("the dashboard list has no row for %s:\n%s", guid, html)
				}
				return m
			}
			if r := row(mine.AppGUID); !strings.Contains(r, "data-tagged") || strings.Contains(r, "hidden") {
				t.Errorf("the tagged content's row: %s", r)
			}
			if r := row(other.AppGUID); strings.Contains(r, "data-tagged") || !strings.Contains(r, "hidden") {
				t.Errorf("the untagged content's row: %s", r)
			}
			if !strings.Contains(html, `<option value="`+emea.ID+`" selected>Departments / Sales / Europe</option>`) {
				t.Errorf("the tag filter does not offer Departments / Sales / Europe, selected:\n%s", html)
			}

			// The content page shows the tags by path, the vanity URL and
			// nothing of the sort for the untagged item.
			admin.ok("vanity", admin.json("PUT", "/__api__/v1/content/"+mine.AppGUID+"/vanity", map[string]any{"path": "/tagged-site/"}), nil)
			contentPage := func(guid string) string {
				t.Helper()
				req, _ := http.NewRequest("GET", n.URL+"/__dashboard__/content/"+guid, nil)
				req.AddCookie(session)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if res.StatusCode != 200 {
					t.Fatalf("content page %s: %d", guid, res.StatusCode)
				}
				return string(b)
			}
			if p := contentPage(mine.AppGUID); !strings.Contains(p, `<span class="tag">Departments / Sales</span>, <span class="tag">Departments / Sales / Europe</span>`) ||
				!strings.Contains(p, `<dd id="vanity"><code>/tagged-site/</code></dd>`) {
				t.Errorf("the tagged content's page lacks its tags or vanity URL:\n%s", p)
			}
			if p := contentPage(other.AppGUID); strings.Contains(p, `id="tags"`) || strings.Contains(p, `id="vanity"`) {
				t.Errorf("the untagged content's page shows tags or a vanity URL")
			}

			// Untag, then delete the tree: its tags and taggings go.
			if r := alice.do("DELETE", "/__api__/v1/content/"+mine.AppGUID+"/tags/"+sales.ID, nil, nil, ""); r.Status != 204 {
				t.Fatalf("untag: %d %s", r.Status, r.Body)
			}
			if r := alice.do("DELETE", "/__api__/v1/content/"+mine.AppGUID+"/tags/"+sales.ID, nil, nil, ""); r.Status != 404 {
				t.Fatalf("untag again: %d %s, want 404", r.Status, r.Body)
			}
			if r := alice.do("DELETE", "/__api__/v1/tags/"+dept.ID, nil, nil, ""); r.Status != 403 {
				t.Fatalf("a publisher deleting a tag: %d %s, want 403", r.Status, r.Body)
			}
			if r := admin.do("DELETE", "/__api__/v1/tags/"+dept.ID, nil, nil, ""); r.Status != 204 {
				t.Fatalf("delete the root tag: %d %s", r.Status, r.Body)
			}
			if r := admin.do("GET", "/__api__/v1/tags/"+emea.ID, nil, nil, ""); r.Status != 404 {
				t.Fatalf("a descendant of a deleted tag: %d %s, want 404", r.Status, r.Body)
			}
			alice.ok("content tags after delete", alice.do("GET", "/__api__/v1/content/"+mine.AppGUID+"/tags", nil, nil, ""), &tags)
			if len(tags) != 0 {
				t.Fatalf("tags after the tree was deleted: %+v", tags)
			}

			// Every change is audited.
			var audit struct {
				Entries []struct {
					Action string `json:"action"`
					Target string `json:"target"`
				} `json:"entries"`
			}
			admin.ok("audit", admin.do("GET", "/__api__/v1/audit_log", url.Values{"limit": {"500"}}, nil, ""), &audit)
			seen := map[string]bool{}
			for _, e := range audit.Entries {
				seen[e.Action+" "+e.Target] = true
			}
			for _, want := range []string{"tag.create tag:" + dept.ID, "tag.update tag:" + emea.ID, "tag.delete tag:" + dept.ID,
				"content.tag_add content:" + mine.AppGUID, "content.tag_remove content:" + mine.AppGUID} {
				if !seen[want] {
					t.Errorf("audit log lacks %q", want)
				}
			}
		})
	}
}
