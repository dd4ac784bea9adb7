package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestContentAccessEveryEndpoint runs every content endpoint of the API
// (content, permissions, bundles, deploy, render, schedule, jobs, app
// processes) and the content itself, for every kind of caller and every
// access type, against the one rule of docs/publishing.md ("Who may do
// what"): anonymous gets 401 from the API; content the caller may not see
// is 404; content it sees but may not change in the way asked is 403.
func TestContentAccessEveryEndpoint(t *testing.T) {
	t.Parallel()
	n := pubNode(t, "", sharedDataDir(t), "access")
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
	site := pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "hello"})

	// newContent makes a deployed static site with access type at, the
	// access list above and a (disabled) schedule, as its owner.
	newContent := func(t *testing.T, name, at string) (guid string, bundleID int) {
		t.Helper()
		r := pubJSON(t, "POST", base+"/content", owner.key, map[string]string{"name": name, "access_type": at})
		pubWant(t, "create", r, 201)
		var c struct {
			GUID string `json:"guid"`
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
		return c.GUID, b.ID
	}

	// need is what an endpoint asks of its caller.
	type need int
	const (
		read need = iota
		edit
		manage
	)
	type endpoint struct {
		method, path string // path after /content/{guid}
		need         need
		ctype, body  string
		ok           int // the status of an allowed caller; 0: any but 401, 403, 404
	}
	endpoints := func(bundleID int) []endpoint {
		return []endpoint{
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
				guid, bundleID := newContent(t, "c-"+strings.ReplaceAll(at, "_", "-")+"-"+who.name, at)
				sees := who.reader || (who.key != "" && at != "acl")
				for _, ep := range endpoints(bundleID) {
					var want int
					switch {
					case who.key == "":
						want = http.StatusUnauthorized
					case !sees:
						want = http.StatusNotFound
					case ep.need == edit && !who.edit, ep.need == manage && !who.manage:
						want = http.StatusForbidden
					default:
						want = ep.ok
					}
					var body []byte
					if ep.body != "" {
						body = []byte(ep.body)
					}
					r := pubDo(t, ep.method, base+"/content/"+guid+ep.path, who.key, ep.ctype, body)
					what := fmt.Sprintf("%s /content/{guid}%s as %s on %s content", ep.method, ep.path, who.name, at)
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
				guid2, _ := newContent(t, "s-"+strings.ReplaceAll(at, "_", "-")+"-"+who.name, at)
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
