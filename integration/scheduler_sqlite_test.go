package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

type jobsBody struct {
	Jobs []*podium.Job `json:"jobs"`
}

// One SQLite node: schedules are checked (400 for bad specs and zones),
// run on time through real renders, shown with their history, and slots
// missed while the node was down run once when it comes back.
func TestSchedulerSQLiteSingleNode(t *testing.T) {
	t.Parallel()
	data := sharedDataDir(t)
	state := t.TempDir()
	opts := nodetest.Options{Name: "lite", DataDir: data, StateDir: state, Config: schedulerConfig(1)}
	n := nodetest.StartNode(t, opts)
	key := publisherKey(t, n, "publisher")
	api := &apiClient{t: t, base: n.URL, key: key}
	guid := deployApp(t, api, "report", reportBundleDir(t, "0.1"))
	path := "/__api__/v1/content/" + guid + "/schedule"

	for _, body := range []string{`{"spec": "not cron"}`, `{"spec": "61 * * * *"}`, `{"spec": "@every 10s", "timezone": "Mars/Olympus"}`, `{"spec": ""}`} {
		if code, msg := apiError(t, api, "PUT", path, body); code != 400 || !strings.Contains(msg, "schedule: ") {
			t.Errorf("PUT %s: %d %q, want 400 with a message", body, code, msg)
		}
	}
	if code := api.do("GET", path, nil, nil); code != 404 {
		t.Errorf("GET schedule before any: %d, want 404", code)
	}
	var sc podium.Schedule
	if code := api.do("PUT", path, strings.NewReader(`{"spec": "@every 1s", "timezone": "Europe/Paris"}`), &sc); code != 200 {
		t.Fatalf("PUT schedule: %d", code)
	}
	if sc.Spec != "@every 1s" || sc.Timezone != "Europe/Paris" || !sc.Enabled || sc.NextRunAt == nil {
		t.Errorf("schedule: %+v", sc)
	}
	var jb jobsBody
	testutil.WaitFor(t, 20*time.Second, "two scheduled renders succeeded", func() bool {
		api.do("GET", "/__api__/v1/content/"+guid+"/jobs", nil, &jb)
		ok := 0
		for _, j := range jb.Jobs {
			if j.Status == podium.JobSucceeded {
				ok++
			}
		}
		return ok >= 2
	})
	for _, j := range jb.Jobs {
		if j.Status != podium.JobSucceeded {
			continue
		}
		if len(j.History) != 1 || j.History[0].NodeID == "" || j.History[0].FinishedAt == nil || !strings.Contains(j.History[0].Log, "rendered") {
			t.Errorf("history of job %d: %+v", j.ID, j.History)
		}
		// Not before it was due. How soon after is a timing goal, measured
		// by make bench-scheduler, not asserted on a loaded machine.
		if j.StartedAt == nil || j.StartedAt.Before(j.DueAt) {
			t.Errorf("job %d due %s started at %v", j.ID, j.DueAt, j.StartedAt)
		}
	}
	// Publishers may not list every job.
	if code := api.do("GET", "/__api__/v1/jobs?status=succeeded", nil, nil); code != 403 {
		t.Errorf("GET /jobs as a publisher: %d, want 403", code)
	}
	if code := api.do("GET", "/__api__/v1/jobs?status=bogus", nil, nil); code != 403 && code != 400 {
		t.Errorf("GET /jobs?status=bogus: %d", code)
	}

	// Down for several due times: one job for all of them on return. The
	// first missed due time is the schedule's next run as the stopped node
	// left it (read from its database, so however long the stop took);
	// the node stays down until at least two more due times have passed.
	n.Stop(t)
	firstMissed := scheduleNextRun(t, data, guid)
	for time.Now().Before(firstMissed.Add(2500 * time.Millisecond)) {
		time.Sleep(100 * time.Millisecond) // let due times pass while no node runs
	}
	restart := time.Now()
	opts.Listen = ""
	n = nodetest.StartNode(t, opts)
	api.base = n.URL
	testutil.WaitFor(t, 20*time.Second, "the job for the missed due times", func() bool {
		api.do("GET", "/__api__/v1/content/"+guid+"/jobs?limit=500", nil, &jb)
		for _, j := range jb.Jobs {
			if j.DueAt.Equal(firstMissed) {
				return true
			}
		}
		return false
	})
	for _, j := range jb.Jobs {
		// The first missed due time has its one job; the next ones (at
		// least two, all before the restart) have none: the schedule moved
		// past them.
		if j.DueAt.After(firstMissed) && j.DueAt.Before(restart) {
			t.Errorf("job %d for %s, a due time missed while the node was down (the first, %s, has the job for all of them)",
				j.ID, j.DueAt, firstMissed)
		}
	}
	// That job records the due times it stands for.
	skipped := 0
	for _, j := range jb.Jobs {
		if j.Skipped > 0 {
			skipped += j.Skipped
			if !strings.Contains(j.SkippedReason, "had passed when this job was queued") {
				t.Errorf("job %d skipped %d due times with reason %q", j.ID, j.Skipped, j.SkippedReason)
			}
		}
	}
	if skipped < 1 {
		t.Errorf("no job records the due times skipped while the node was down")
	}

	// The history pages: next_before leads to the next page, without
	// overlap.
	var p1, p2 struct {
		Jobs       []*podium.Job `json:"jobs"`
		NextBefore int64         `json:"next_before"`
	}
	api.do("GET", "/__api__/v1/content/"+guid+"/jobs?limit=2", nil, &p1)
	if len(p1.Jobs) != 2 || p1.NextBefore != p1.Jobs[1].ID {
		t.Fatalf("first page: %d jobs, next_before %d", len(p1.Jobs), p1.NextBefore)
	}
	api.do("GET", fmt.Sprintf("/__api__/v1/content/%s/jobs?limit=2&before=%d", guid, p1.NextBefore), nil, &p2)
	if len(p2.Jobs) == 0 || !p2.Jobs[0].DueAt.Before(p1.Jobs[1].DueAt) {
		t.Fatalf("second page does not follow the first: %+v after %+v", p2.Jobs, p1.Jobs)
	}
	if code := api.do("GET", "/__api__/v1/content/"+guid+"/jobs?before=x", nil, nil); code != 400 {
		t.Errorf("before=x: %d, want 400", code)
	}
	if code := api.do("DELETE", path, nil, nil); code != 204 {
		t.Errorf("DELETE schedule: %d", code)
	}
	if code := api.do("GET", path, nil, nil); code != 404 {
		t.Errorf("GET schedule after delete: %d, want 404", code)
	}
}

// scheduleNextRun reads the next run of content guid's schedule from the
// SQLite database of a stopped node.
func scheduleNextRun(t *testing.T, dataDir, guid string) time.Time {
	t.Helper()
	p, err := sqlite.Open(testCtx(t), sqlite.Options{Dir: filepath.Join(dataDir, "db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := p.ContentGetByGUID(testCtx(t), guid)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := p.ScheduleGet(testCtx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sc.NextRunAt == nil {
		t.Fatalf("schedule of %s has no next run: %+v", guid, sc)
	}
	return *sc.NextRunAt
}

// A scheduled render whose command fails is recorded as failed with the
// command's own exit code, its output in the log, and the reason.
func TestSchedulerFailedRenderExitCode(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: schedulerConfig(1)})
	api := &apiClient{t: t, base: n.URL, key: publisherKey(t, n, "publisher")}
	// The deployment's render succeeds; the scheduled ones fail once the
	// content variable FAIL_ON_PURPOSE is set (a sandboxed render sees no
	// host file a test could use as the switch).
	dir := reportBundleDir(t, "0")
	script := "if [ -n \"$FAIL_ON_PURPOSE\" ]; then echo about to fail; exit 7; fi\necho ok > \"$PODIUM_OUTPUT_DIR/index.html\"\n"
	if err := os.WriteFile(filepath.Join(dir, "render.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	guid := deployApp(t, api, "failing", dir)
	if code := api.do("PATCH", "/__api__/v1/content/"+guid+"/environment", strings.NewReader(`[{"name": "FAIL_ON_PURPOSE", "value": "1"}]`), nil); code != 200 {
		t.Fatalf("PATCH environment: %d", code)
	}
	if code := api.do("PUT", "/__api__/v1/content/"+guid+"/schedule", strings.NewReader(`{"spec": "@every 1s"}`), nil); code != 200 {
		t.Fatalf("PUT schedule: %d", code)
	}
	var failed *podium.Job
	testutil.WaitFor(t, 20*time.Second, "a failed scheduled render", func() bool {
		var jb jobsBody
		api.do("GET", "/__api__/v1/content/"+guid+"/jobs", nil, &jb)
		for _, j := range jb.Jobs {
			if j.Status == podium.JobFailed {
				failed = j
				return true
			}
		}
		return false
	})
	if failed.ExitCode == nil {
		t.Errorf("the failed render has no exit code, want 7")
	} else if *failed.ExitCode != 7 {
		t.Errorf("exit code of the failed render: %d, want 7", *failed.ExitCode)
	}
	if !strings.Contains(failed.Error, "exit status 7") {
		t.Errorf("error of the failed render: %q, want the exit status", failed.Error)
	}
	if len(failed.History) == 0 || !strings.Contains(failed.History[len(failed.History)-1].Log, "about to fail") {
		t.Errorf("history of the failed render: %+v, want its output", failed.History)
	}
}
