package integration

import (
	"strings"
	"testing"
)

// TestDashboardSQLite checks the dashboard's pages on a single node on
// SQLite (the browser test runs on PostgreSQL): the content page's lists
// of tasks and renders use plain SQL that both dialects must run alike.
// API keys authenticate dashboard pages as they do the API.
func TestDashboardSQLite(t *testing.T) {
	t.Parallel()
	n := pubNode(t, "", t.TempDir(), "sqlite")
	admin := pubUser(t, n, "root", "admin")
	key := pubUser(t, n, "alice", "publisher")
	r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]string{"name": "report"})
	pubWant(t, "create", r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	r = pubDo(t, "POST", n.URL+"/__api__/v1/content/"+c.GUID+"/bundles", key, "application/gzip", pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `echo "<p>sqlite report</p>" > "$PODIUM_OUTPUT_DIR/index.html"; echo rendered on sqlite`,
	}))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+c.GUID+"/deploy", key, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, n.URL, key, started.TaskID); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}

	dash := n.URL + "/__dashboard__"
	for _, tc := range []struct {
		name, key, path string
		status          int
		want            []string
	}{
		{"ContentList", key, "/", 200, []string{c.GUID, "report"}},
		{"ContentPage", key, "/content/" + c.GUID, 200, []string{"rendered on sqlite", `<span class="tag ok">ok</span>`, "#1"}},
		{"Jobs", key, "/jobs", 200, []string{"Nothing waiting."}},
		{"ClusterForbiddenToPublisher", key, "/cluster", 403, []string{"only administrators"}},
		{"Cluster", admin, "/cluster", 200, []string{`class="node live"`, "sqlite"}},
		{"UnknownContent", key, "/content/00000000-0000-0000-0000-000000000000", 404, []string{"not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := pubDo(t, "GET", dash+tc.path, tc.key, "", nil)
			if r.Status != tc.status {
				t.Fatalf("GET %s: %d, want %d: %s", tc.path, r.Status, tc.status, r.Body)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(r.Body), w) {
					t.Fatalf("GET %s lacks %q:\n%s", tc.path, w, r.Body)
				}
			}
		})
	}
}
