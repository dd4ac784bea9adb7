package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestContentAccessEveryEndpoint runs every endpoint that takes a content
// or task id, on both API generations (/__api__/v1 and the older /__api__
// of the R rsconnect package: content, permissions, bundles and their
// download, deploy, build, render, environment, schedule, jobs, tasks,
// app processes, applications by numeric id), and the content itself,
// for every kind of caller and every access type, against the one rule of
// docs/publishing.md ("Who may do what"): anonymous gets 401 from the API;
// content the caller may not see is 404, and the answer never names the
// content's GUID (ids are sequential: a 404 that named it would reveal
// the GUID of content the caller may not see); content it sees but may
// not change in the way asked is 403. Job logs are for editors only.
// Tags, vanity URLs and the git repository of content, its lockfile, and the dashboard URLs
// that clients print are among those endpoints (issue 23: every route that
// takes an id).
func TestContentAccessEveryEndpoint(t *testing.T) {
	t.Parallel()
	// Publishers set the vanity URLs of content they may change, so that
	// the vanity endpoints follow the same rule as the others.
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Name: "access",
		Config: pubConfig + "[Authorization]\nPublishersCanManageVanities = true\n"})
	base := n.URL + "/__api__/v1"

	// Callers. "user" is any user not on the access list.
	type caller struct {
		name, key      string
		onACL, edit    bool // on the access list; may change the content
		manage, reader bool // may change permissions and delete; always sees the content
	}
	owner := caller{name: "owner", key: pubUser(t, n, "owner", "publisher"), edit: true, manage: true, reader: true}
	callers := []caller{
		{name: "anonymous"},
		{name: "user", key: pubUser(t, n, "user", "viewer")},
		{name: "viewer", key: pubUser(t, n, "viewer", "viewer"), onACL: true, reader: true},
		{name: "collaborator", key: pubUser(t, n, "collab", "publisher"), onACL: true, edit: true, reader: true},
		owner,
		{name: "admin", key: pubUser(t, n, "admin", "admin"), edit: true, manage: true, reader: true},
	}
	acl := `[{"username": "viewer", "role": "viewer"}, {"username": "collab", "role": "collaborator"}]`
	// A tag, for the content tag endpoints.
	r := pubJSON(t, "POST", base+"/tags", callers[len(callers)-1].key, map[string]string{"name": "access"})
	pubWant(t, "create a tag", r, 200)
	var tag struct {
		ID string `json:"id"`
	}
	r.JSON(t, &tag)
	site := pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "hello"})

	// newContent makes a deployed static site with access type at, the
	// access list above, a (disabled) schedule and a vanity URL, as its
	// owner; it returns the content's GUID and numeric id, the bundle, the
	// deployment task and the vanity path.
	type made struct {
		guid, taskID, vanity string
		id, bundleID         int
	}
	newContent := func(t *testing.T, name, at string) made {
		t.Helper()
		r := pubJSON(t, "POST", base+"/content", owner.key, map[string]string{"name": name, "access_type": at})
		pubWant(t, "create", r, 201)
		var c struct {
			GUID string `json:"guid"`
			ID   int    `json:"id"`
		}
		r.JSON(t, &c)
		pubWant(t, "permissions", pubJSON(t, "PUT", base+"/content/"+c.GUID+"/permissions", owner.key,
			`{"access_type": "`+at+`", "permissions": `+acl+`}`), 200)
		r = pubDo(t, "POST", base+"/content/"+c.GUID+"/bundles", owner.key, "application/gzip", site)
		pubWant(t, "upload", r, 201)
		var b struct {
			ID int `json:"id"`
		}
		r.JSON(t, &b)
		r = pubJSON(t, "POST", base+"/content/"+c.GUID+"/deploy", owner.key, fmt.Sprintf(`{"bundle_id": %d}`, b.ID))
		pubWant(t, "deploy", r, 202)
		var task struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &task)
		if res := pubWaitTask(t, n.URL, owner.key, task.TaskID); res.Code != 0 {
			t.Fatalf("deploy: %+v", res)
		}
		pubWant(t, "schedule", pubJSON(t, "PUT", base+"/content/"+c.GUID+"/schedule", owner.key,
			`{"spec": "0 6 * * *", "enabled": false}`), 200)
		vanity := "/v-" + name + "/"
		pubWant(t, "vanity", pubJSON(t, "PUT", base+"/content/"+c.GUID+"/vanity", owner.key, map[string]string{"path": vanity}), 200)
		return made{guid: c.GUID, id: c.ID, bundleID: b.ID, taskID: task.TaskID, vanity: vanity}
	}

	// need is what an endpoint asks of its caller.
	type need int
	const (
		read need = iota
		edit
		manage
		anyone // answered from the path alone, the same to every caller
	)
	type endpoint struct {
		method, path string // path after /__api__/v1/content/{guid}, or a whole path from /
		need         need
		ctype, body  string
		ok           int // the status of an allowed caller; 0: any but 401, 403, 404
	}
	endpoints := func(m made) []endpoint {
		bundleID := m.bundleID
		app := fmt.Sprintf("/__api__/applications/%d", m.id)
		return []endpoint{
			// The older API, by numeric id and by GUID.
			{"GET", app, read, "", "", 200},
			{"GET", app + "/config", read, "", "", 200},
			{"GET", "/__api__/applications/" + m.guid + "/config", read, "", "", 200},
			{"POST", app + "/upload", edit, "application/x-gzip", "not gzip", 400},
			{"POST", app + "/deploy", edit, "application/json", fmt.Sprintf(`{"bundle": %d}`, bundleID), 200},
			// The dashboard's page of the content: anyone who may see the
			// content gets it (a viewer sees what a viewer may: issue 27);
			// anonymous callers are sent to the login page.
			{"GET", "/__dashboard__/content/" + m.guid, read, "", "", 200},
			// The dashboard URLs clients print redirect by the path alone:
			// they look nothing up, so they reveal nothing.
			{"GET", "/__dashboard__/content/" + m.guid + "/logs", anyone, "", "", 302},
			{"GET", fmt.Sprintf("/__dashboard__/content/%s/draft/%d", m.guid, bundleID), anyone, "", "", 302},
			// Tasks: the starter's, else those who may change the content.
			{"GET", "/__api__/v1/tasks/" + m.taskID, edit, "", "", 200},
			{"GET", "/__api__/tasks/" + m.taskID, edit, "", "", 200},
			{"GET", fmt.Sprintf("/bundles/%d/download", bundleID), edit, "", "", 200},
			{"POST", "/build", edit, "application/json", fmt.Sprintf(`{"bundle_id": %d, "activate": false}`, bundleID), 202},
			{"GET", "/lockfile", edit, "", "", 404}, // allowed: a static site has no lockfile
			// Git-backed content (polling off: nothing is fetched).
			{"PUT", "/repository", edit, "application/json", `{"repository": "https://git.example.com/x.git", "branch": "main", "directory": ".", "polling": false}`, 200},
			{"GET", "/repository", edit, "", "", 200},
			{"PATCH", "/repository", edit, "application/json", `{"branch": "release"}`, 200},
			{"GET", "/environment", edit, "", "", 200},
			{"PATCH", "/environment", edit, "application/json", `[{"name": "X", "value": "1"}]`, 200},
			{"GET", "", read, "", "", 200},
			{"PATCH", "", edit, "application/json", `{"title": "changed"}`, 200},
			{"GET", "/permissions", edit, "", "", 200},
			{"PUT", "/permissions", manage, "application/json", `{"permissions": ` + acl + `}`, 200},
			{"GET", "/bundles", edit, "", "", 200},
			{"POST", "/bundles", edit, "application/gzip", "not gzip", 400},
			{"POST", "/deploy", edit, "application/json", fmt.Sprintf(`{"bundle_id": %d}`, bundleID), 202},
			{"POST", "/render", edit, "application/json", `{}`, 0},
			{"GET", "/schedule", read, "", "", 200},
			{"PUT", "/schedule", edit, "application/json", `{"spec": "0 7 * * *", "enabled": false}`, 200},
			{"GET", "/jobs", read, "", "", 200},
			{"GET", "/tags", read, "", "", 200},
			{"POST", "/tags", edit, "application/json", `{"tag_id": "` + tag.ID + `"}`, 200},
			{"DELETE", "/tags/" + tag.ID, edit, "", "", 204},
			{"GET", "/vanity", read, "", "", 200},
			{"PUT", "/vanity", edit, "application/json", `{"path": "` + m.vanity + `"}`, 200},
			{"DELETE", "/vanity", edit, "", "", 204},
			{"GET", "/processes", edit, "", "", 200},
			{"GET", "/processes/1/log", edit, "", "", 404}, // allowed: no such process on this node
			{"GET", "/processes-settings", edit, "", "", 200},
			{"PATCH", "/processes-settings", edit, "application/json", `{}`, 200},
			{"DELETE", "/schedule", edit, "", "", 204},
			{"DELETE", "", manage, "", "", 204}, // last: the content goes
		}
	}

	for _, at := range []string{"acl", "logged_in", "all"} {
		for _, who := range callers {
			t.Run(at+"/"+who.name, func(t *testing.T) {
				m := newContent(t, "c-"+strings.ReplaceAll(at, "_", "-")+"-"+who.name, at)
				guid := m.guid
				sees := who.reader || (who.key != "" && at != "acl")
				for _, ep := range endpoints(m) {
					url, shown := base+"/content/"+guid+ep.path, "/content/{guid}"+ep.path
					if strings.HasPrefix(ep.path, "/__") { // a whole path
						url, shown = n.URL+ep.path, strings.NewReplacer(guid, "{guid}", m.taskID, "{task}").Replace(ep.path)
					}
					task := strings.Contains(ep.path, "/tasks/")
					var want int
					switch {
					case ep.need == anyone:
						want = ep.ok
					case who.key == "" && strings.HasPrefix(ep.path, "/__dashboard__/"):
						want = http.StatusSeeOther
					case who.key == "":
						want = http.StatusUnauthorized
					case !sees:
						want = http.StatusNotFound
					case task && !who.edit:
						want = http.StatusNotFound // a task is not content: whoever may not see it gets 404
					case ep.need == edit && !who.edit, ep.need == manage && !who.manage:
						want = http.StatusForbidden
					default:
						want = ep.ok
					}
					var body []byte
					if ep.body != "" {
						body = []byte(ep.body)
					}
					r := pubDo(t, ep.method, url, who.key, ep.ctype, body)
					what := fmt.Sprintf("%s %s as %s on %s content", ep.method, shown, who.name, at)
					// A 404 never names a GUID the caller did not send.
					if r.Status == http.StatusNotFound && !strings.Contains(ep.path, guid) && !strings.HasPrefix(url, base+"/content/") &&
						strings.Contains(string(r.Body), guid) {
						t.Errorf("%s: 404 names the content's GUID: %s", what, r.Body)
					}
					if want == 0 {
						if r.Status == 401 || r.Status == 403 || r.Status == 404 {
							t.Errorf("%s: %d %s, want it allowed", what, r.Status, r.Body)
						}
						continue
					}
					if r.Status != want {
						t.Errorf("%s: %d %s, want %d", what, r.Status, r.Body, want)
					}
				}
				// The content itself (not the API): anonymous readers see
				// only "all" content, and get 401 for the rest.
				guid2 := newContent(t, "s-"+strings.ReplaceAll(at, "_", "-")+"-"+who.name, at).guid
				r := pubDo(t, "GET", n.URL+"/content/"+guid2+"/", who.key, "", nil)
				want := 200
				switch {
				case who.key == "" && at != "all":
					want = http.StatusUnauthorized
				case who.key != "" && !sees:
					want = http.StatusNotFound
				}
				if r.Status != want {
					t.Errorf("GET /content/{guid}/ as %s on %s content: %d, want %d", who.name, at, r.Status, want)
				}
			})
		}
	}
}
