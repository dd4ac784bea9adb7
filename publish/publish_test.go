package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// setup returns a service on a fresh SQLite database, a publisher, and
// the database.
func setup(t *testing.T, runAs string) (*publish.Service, *podium.User, dbprovider.Provider) {
	t.Helper()
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(io.Discard)
	entry := logrus.NewEntry(log)
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := schema.Up(ctx, db, entry, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	u, err := auth.New(db, entry, auth.Options{}).CreateUser(ctx, auth.CreateUserParams{Username: "alice", Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	// Registered as a running node is: the sweep fails the tasks of a
	// node it does not find in the registry.
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "h", PID: 1, Version: "t",
		Provider: "sqlite", Status: podium.NodeServing}); err != nil {
		t.Fatal(err)
	}
	svc := publish.New(publish.Options{
		DB: db, DataDir: t.TempDir(), NodeID: "n1", Log: entry,
		Apps: config.ApplicationsConfig{RunAs: runAs, RenderTimeout: time.Minute, MaxBundleSize: 1 << 20},
	})
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc, u, db
}

// deployReport creates a report whose render runs script, deploys it and
// returns the content and the deployment's task id.
func deployReport(t *testing.T, svc *publish.Service, u *podium.User, script, timeout string) (*podium.Content, string) {
	t.Helper()
	ctx := context.Background()
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "report"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manifest := fmt.Sprintf(`{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"],"timeout":%q}}`, timeout)
	for name, body := range map[string]string{"manifest.json": manifest, "render.sh": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(ctx, dir, &buf); err != nil {
		t.Fatal(err)
	}
	b, err := svc.BundleUpload(ctx, u, c.GUID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	task, err := svc.Deploy(ctx, u, c.GUID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c, task.ID
}

func waitTask(t *testing.T, db dbprovider.Provider, id string, done func(*podium.Task) bool) *podium.Task {
	t.Helper()
	var task *podium.Task
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "task "+id, func() bool {
		var err error
		if task, err = db.TaskGet(context.Background(), id, 0); err != nil {
			t.Fatal(err)
		}
		return done(task)
	})
	return task
}

func finished(t *podium.Task) bool { return t.Finished }

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func pidDir(t *testing.T) string {
	t.Helper()
	return testutil.OpenTempDir(t, 0o777) // the render, as RunAs, writes its pid here
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestRenderTimeoutKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "nobody")
	pids := pidDir(t)
	script := fmt.Sprintf("sleep 60 &\necho $! > %s/child\necho started\nsleep 60\n", pids)
	c, id := deployReport(t, svc, u, script, "1s")
	start := time.Now()
	task := waitTask(t, db, id, finished)
	if task.Code == 0 || !strings.Contains(task.Error, "timeout of 1s") {
		t.Fatalf("task = %+v, want a timeout error", task)
	}
	if time.Since(start) > testutil.Timeout(20*time.Second) {
		t.Fatalf("the timed-out render took %s", time.Since(start))
	}
	if pid := readPID(t, filepath.Join(pids, "child")); alive(pid) {
		t.Fatalf("the render's background child %d survived the timeout", pid)
	}
	got, err := db.ContentGet(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ActiveBundleID != nil {
		t.Fatal("a deployment whose first render failed was activated")
	}
}

func TestRenderRunAsMissingUser(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "no-such-podium-user")
	_, id := deployReport(t, svc, u, `echo ok > "$PODIUM_OUTPUT_DIR/index.html"`, "10s")
	task := waitTask(t, db, id, finished)
	if os.Geteuid() == 0 {
		if task.Code == 0 || !strings.Contains(task.Error, `RunAs user "no-such-podium-user" does not exist`) {
			t.Fatalf("as root with a missing RunAs user: task = %+v", task)
		}
	} else if task.Code != 0 {
		// Not root: renders run as the current user, RunAs is not used.
		t.Fatalf("as a normal user: task = %+v", task)
	}
}

func TestStopCancelsRunningTasks(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "nobody")
	_, id := deployReport(t, svc, u, "echo started\nsleep 60\n", "5m")
	waitTask(t, db, id, func(task *podium.Task) bool {
		for _, l := range task.Output {
			if l == "started" {
				return true
			}
		}
		return task.Finished
	})
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(20*time.Second))
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	task, err := db.TaskGet(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !task.Finished || task.Code == 0 || !strings.Contains(task.Error, "node stopped") {
		t.Fatalf("after Stop the task is %+v, want it finished with an error", task)
	}
	if _, err := svc.RenderTask(context.Background(), u, "00000000-0000-4000-8000-000000000000"); !podium.IsCode(err, podium.ENOTFOUND) {
		t.Fatalf("RenderTask of unknown content = %v", err)
	}
}

func TestOldRenderOutputsArePruned(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "nobody")
	c, id := deployReport(t, svc, u, `date +%s%N > "$PODIUM_OUTPUT_DIR/index.html"`, "10s")
	if task := waitTask(t, db, id, finished); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	for range publish.KeepRenders + 2 {
		task, err := svc.RenderTask(context.Background(), u, c.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if task := waitTask(t, db, task.ID, finished); task.Code != 0 {
			t.Fatalf("render: %+v", task)
		}
	}
	renders, err := db.RenderList(context.Background(), &dbprovider.RenderListParams{ContentID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(renders) != publish.KeepRenders+3 {
		t.Fatalf("%d renders recorded, want %d", len(renders), publish.KeepRenders+3)
	}
	entries, err := os.ReadDir(filepath.Dir(svc.RenderDir(c.GUID, renders[0].ID)))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != publish.KeepRenders {
		t.Fatalf("%d render outputs kept, want %d", len(entries), publish.KeepRenders)
	}
	for _, r := range renders[:publish.KeepRenders] {
		if _, err := os.Stat(filepath.Join(svc.RenderDir(c.GUID, r.ID), "index.html")); err != nil {
			t.Fatalf("newest render %d lost its output: %v", r.ID, err)
		}
	}
	// The pruned renders are marked, so no later render visits them again.
	left, err := db.RenderListUnpruned(context.Background(), &dbprovider.RenderPruneParams{ContentID: c.ID,
		BundleID: renders[0].BundleID, Keep: publish.KeepRenders, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d old renders not marked pruned, want 0", len(left))
	}
}

// Renders share one read-only copy of the bundle through hard links: a
// render may create files in its tree, but cannot change the bundle's
// files for the renders after it.
func TestRenderCannotChangeTheBundle(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "nobody")
	script := `cat render.sh > "$PODIUM_OUTPUT_DIR/index.html"
echo scratch > scratch.txt
(echo 'echo tampered > "$PODIUM_OUTPUT_DIR/index.html"' > render.sh) 2>/dev/null || echo "render.sh is read-only"
`
	c, id := deployReport(t, svc, u, script, "10s")
	if task := waitTask(t, db, id, finished); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	task, err := svc.RenderTask(context.Background(), u, c.GUID)
	if err != nil {
		t.Fatal(err)
	}
	task = waitTask(t, db, task.ID, finished)
	if task.Code != 0 {
		t.Fatalf("render: %+v", task)
	}
	if !slices.Contains(task.Output, "render.sh is read-only") {
		t.Fatalf("the render could write to a bundle file; output %q", task.Output)
	}
	renders, err := db.RenderList(context.Background(), &dbprovider.RenderListParams{ContentID: c.ID, Limit: 1})
	if err != nil || len(renders) != 1 {
		t.Fatalf("renders: %v %v", renders, err)
	}
	got, err := os.ReadFile(filepath.Join(svc.RenderDir(c.GUID, renders[0].ID), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != script {
		t.Fatalf("second render ran a changed bundle: index.html = %q", got)
	}

	// A new deployment's first render replaces the node's source of the
	// old bundle.
	var buf bytes.Buffer
	dir := t.TempDir()
	manifest := `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"],"timeout":"10s"}}`
	for name, body := range map[string]string{"manifest.json": manifest, "render.sh": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	b2, err := svc.BundleUpload(context.Background(), u, c.GUID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := svc.Deploy(context.Background(), u, c.GUID, b2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if task := waitTask(t, db, dep.ID, finished); task.Code != 0 {
		t.Fatalf("second deploy: %+v", task)
	}
	sources, err := filepath.Glob(filepath.Join(os.TempDir(), "podium-bundle-src", c.GUID+"-*"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(os.TempDir(), "podium-bundle-src", fmt.Sprintf("%s-%d", c.GUID, b2.ID)); len(sources) != 1 || sources[0] != want {
		t.Fatalf("render sources of the report: %v, want only %s", sources, want)
	}
}

// TestRenderCommandResolvedInRenderPath renders a report whose command is
// the bare name "sh" while podium's own PATH starts with a directory
// holding another "sh" that RunAs may not enter (a root shell's pyenv
// shims): the render's own PATH must be searched, as RunAs. Not parallel:
// it sets PATH.
func TestRenderCommandResolvedInRenderPath(t *testing.T) {
	shims := testutil.OpenTempDir(t, 0o700)
	fake := "#!/bin/sh\necho 'the sh of podium PATH ran'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(shims, "sh"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", shims+":"+os.Getenv("PATH"))
	svc, u, db := setup(t, "nobody")
	_, id := deployReport(t, svc, u, `echo ok > "$PODIUM_OUTPUT_DIR/index.html"`, "30s")
	if task := waitTask(t, db, id, finished); task.Code != 0 {
		t.Fatalf("render with sh from the render's PATH: task = %+v", task)
	}
}

// TestTaskLogFlushesWhileRunning: a task's output reaches the database
// in batches while the task runs (the flush loop, not only at its end):
// the test waits on each batch's TaskLogFlushed signal until the
// render's line is stored, and the task is still running then.
func TestTaskLogFlushesWhileRunning(t *testing.T) {
	t.Parallel()
	svc, u, db := setup(t, "nobody")
	svc.TestSignals.Init()
	_, id := deployReport(t, svc, u, "echo started\nsleep 60\n", "5m")
	for stored := false; !stored; {
		if n := svc.TestSignals.TaskLogFlushed.WaitOrTimeout(t); n <= 0 {
			t.Fatalf("a flush signalled %d lines", n)
		}
		task, err := db.TaskGet(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		stored = slices.Contains(task.Output, "started")
		if stored && task.Finished {
			t.Fatalf("task %+v finished: the 60 s render should still run", task)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(20*time.Second))
	defer cancel()
	if err := svc.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
