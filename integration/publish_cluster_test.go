package integration

import (
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
)

// TestPublishTwoNodes deploys through node A and polls the task through
// node B (tasks and their output live in the database), reads through
// both (bundles and renders live in the shared data directory), renders
// through B, and deploys with the CLI through a round-robin load balancer.
func TestPublishTwoNodes(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := t.TempDir()
	a := pubNode(t, pg, data, "A")
	b := pubNode(t, pg, data, "B")
	idA, idB := nodeID(t, a), nodeID(t, b)
	key := pubUser(t, a, "alice", "publisher")

	start := func(n *nodetest.Node, guid string, files map[string]string) string {
		return pubStartDeploy(t, n, key, guid, files)
	}
	create := func(name string) string { return pubCreate(t, a, key, name) }

	// A static site: deployed on A, polled on B, read on both.
	site := create("site")
	task := pubWaitTask(t, b.URL, key, start(a, site, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "cluster site",
	}))
	if task.Code != 0 || !slices.ContainsFunc(task.Output, func(l string) bool { return strings.Contains(l, "on node "+idA) }) {
		t.Fatalf("deploy on A polled through B: %+v", task)
	}
	for _, n := range []*nodetest.Node{a, b} {
		if r := pubDo(t, "GET", n.URL+"/content/"+site+"/", key, "", nil); r.Status != 200 || string(r.Body) != "cluster site" {
			t.Fatalf("read site through %s: %d %q", n.Name, r.Status, r.Body)
		}
	}

	// A report: first render on A, ad-hoc render on B, both seen everywhere.
	report := create("report")
	task = pubWaitTask(t, b.URL, key, start(a, report, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `echo "<p>$(date +%s%N)</p>" > "$PODIUM_OUTPUT_DIR/index.html"; echo rendered`,
	}))
	if task.Code != 0 || !slices.Contains(task.Output, "rendered") {
		t.Fatalf("report deploy: %+v", task)
	}
	first := pubDo(t, "GET", b.URL+"/content/"+report+"/", key, "", nil)
	pubWant(t, "read report on B", first, 200)
	r := pubDo(t, "POST", b.URL+"/__api__/v1/content/"+report+"/render", key, "", nil)
	pubWant(t, "render on B", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	task = pubWaitTask(t, a.URL, key, started.TaskID)
	if task.Code != 0 || !slices.ContainsFunc(task.Output, func(l string) bool { return strings.Contains(l, "on node "+idB) }) {
		t.Fatalf("render on B polled through A: %+v", task)
	}
	second := pubDo(t, "GET", a.URL+"/content/"+report+"/", key, "", nil)
	if second.Status != 200 || string(second.Body) == string(first.Body) {
		t.Fatalf("A does not show B's new render: %d %q (before %q)", second.Status, second.Body, first.Body)
	}

	// The CLI through a round-robin balancer: its cookie jar keeps it on
	// one node; readers without cookies alternate and see the same thing.
	lb := startHAProxy(t, []*nodetest.Node{a, b})
	dir := pubDir(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "via the balancer",
	})
	stdout, stderr, code := pubDeploy(t, lb.URL, key, dir, "--name", "balanced")
	if code != 0 {
		t.Fatalf("deploy through haproxy: exit %d\n%s", code, stderr)
	}
	guid := pubGUID(t, stdout)
	for i := range 4 {
		if r := pubDo(t, "GET", lb.URL+"/content/"+guid+"/", key, "", nil); r.Status != 200 || string(r.Body) != "via the balancer" {
			t.Fatalf("read %d through haproxy: %d %q", i, r.Status, r.Body)
		}
	}
}
