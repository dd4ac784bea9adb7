package integration

import (
	"fmt"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// startSchedulerCluster starts n nodes on one PostgreSQL database and one
// data directory, creates a publisher key and deploys a report whose render
// sleeps for sleep.
func startSchedulerCluster(t *testing.T, n, concurrency int, sleep string) (nodes []*nodetest.Node, db dbprovider.Provider, api *apiClient, guid string) {
	t.Helper()
	pg := pgtest.NewDatabase(t)
	nodes = startNodes(t, n, pg, sharedDataDir(t), schedulerConfig(concurrency))
	key := publisherKey(t, nodes[0], "publisher")
	api = &apiClient{t: t, base: nodes[0].URL, key: key}
	guid = deployApp(t, api, "report", reportBundleDir(t, sleep))
	return nodes, openPostgres(t, pg), api, guid
}

// nodeOf maps node ids to the test's nodes.
func nodeOf(t *testing.T, nodes []*nodetest.Node) map[string]*nodetest.Node {
	out := map[string]*nodetest.Node{}
	for _, n := range nodes {
		out[nodeID(t, n)] = n
	}
	return out
}

// Three nodes at concurrency 1 share 20 due jobs: all complete, no node ever
// runs two at once (from the recorded start and end times), every node
// takes some. Then a schedule firing every second, noticed by all three
// nodes, yields exactly one job per due time.
func TestSchedulerClusterSpreadsWork(t *testing.T) {
	t.Parallel()
	_, db, api, guid := startSchedulerCluster(t, 3, 1, "1")
	cid := contentID(t, db, guid)
	ids := queueJobs(t, db, cid, 20)
	testutil.WaitFor(t, 90*time.Second, "20 jobs succeeded", func() bool {
		jobs, err := db.JobList(testCtx(t), &dbprovider.JobListParams{ContentID: cid, Status: podium.JobSucceeded})
		return err == nil && len(jobs) == len(ids)
	})
	atts, err := db.JobAttemptList(testCtx(t), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != len(ids) {
		t.Errorf("%d attempts for %d jobs: a job ran twice", len(atts), len(ids))
	}
	byNode := attemptsByNode(atts)
	if len(byNode) != 3 {
		t.Errorf("work went to %d nodes, want 3: %v", len(byNode), counts(byNode))
	}
	for node, l := range byNode {
		for i := 1; i < len(l); i++ {
			if l[i].StartedAt.Before(*l[i-1].FinishedAt) {
				t.Errorf("node %s ran two jobs at once: job %d started %s before job %d finished %s", node,
					l[i].JobID, l[i].StartedAt, l[i-1].JobID, *l[i-1].FinishedAt)
			}
		}
	}
	t.Logf("jobs per node: %v", counts(byNode))

	// A schedule every second, noticed by three nodes.
	if code := api.do("PUT", "/__api__/v1/content/"+guid+"/schedule", strings.NewReader(`{"spec": "* * * * * *"}`), nil); code != 200 {
		t.Fatalf("put schedule: %d", code)
	}
	// Until three jobs of it have been claimed (about three seconds;
	// longer on a loaded machine), then the schedule goes: deleting it
	// removes the jobs still queued, not those a node took.
	testutil.WaitFor(t, 60*time.Second, "three jobs of the every-second schedule claimed", func() bool {
		var n int
		err := dbprovidertest.RawDB(t, db).QueryRowContext(testCtx(t), `SELECT count(*) FROM jobs WHERE content_id = $1 AND status <> 'queued' AND due_at > now() - interval '1 minute'`, cid).Scan(&n)
		return err == nil && n >= 3
	})
	if code := api.do("DELETE", "/__api__/v1/content/"+guid+"/schedule", nil, nil); code != 204 {
		t.Fatalf("delete schedule: %d", code)
	}
	var dues []time.Time
	rows, err := dbprovidertest.RawDB(t, db).QueryContext(testCtx(t), `SELECT due_at FROM jobs WHERE content_id = $1 AND due_at > now() - interval '1 minute' ORDER BY due_at`, cid)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		dues = append(dues, d)
	}
	rows.Close()
	if len(dues) < 3 {
		t.Fatalf("schedule every second produced %d jobs, want at least the three waited for", len(dues))
	}
	for i := 1; i < len(dues); i++ {
		if !dues[i].Equal(dues[i-1].Add(time.Second)) {
			t.Errorf("due times not one second apart, once each: %v", dues)
			break
		}
	}
}

func counts(m map[string][]*podium.JobAttempt) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// waitRunning waits until the job runs and returns its current attempt.
func waitRunning(t *testing.T, db dbprovider.Provider, id int64, attempt int) *podium.Job {
	t.Helper()
	var job *podium.Job
	testutil.WaitFor(t, 30*time.Second, fmt.Sprintf("job %d attempt %d running", id, attempt), func() bool {
		job, _ = jobState(t, db, id)
		return job.Status == podium.JobRunning && job.Attempts == attempt
	})
	return job
}

// SIGKILL the node running a job: another node reruns it, within the
// heartbeat timeout plus one poll interval of the kill.
func TestSchedulerKilledNodeJobRerun(t *testing.T) {
	t.Parallel()
	nodes, db, _, guid := startSchedulerCluster(t, 2, 1, "5")
	byID := nodeOf(t, nodes)
	id := queueJobs(t, db, contentID(t, db, guid), 1)[0]
	job := waitRunning(t, db, id, 1)
	victim := byID[job.NodeID]
	// Mid-render: the render command runs (the job is claimed before it
	// starts).
	testutil.WaitFor(t, 30*time.Second, "the victim's render command running", func() bool {
		return renderRunning(t, victim, "sleep")
	})
	killedAt := time.Now()
	victim.Kill(t)
	job = waitRunning(t, db, id, 2)
	_, atts := jobState(t, db, id)
	rerun := atts[len(atts)-1].StartedAt
	delay := rerun.Sub(killedAt)
	t.Logf("kill to rerun start: %s", delay.Round(time.Millisecond))
	if job.NodeID == victim.Name || byID[job.NodeID] == victim {
		t.Fatalf("the killed node %s runs the job again", job.NodeID)
	}
	if bound := testHeartbeatTimeout + testPollInterval + testutil.Timeout(time.Second); delay > bound {
		t.Errorf("kill to rerun took %s, want at most heartbeat timeout + poll interval (+1s slack) = %s", delay, bound)
	}
	if delay < testHeartbeatTimeout-time.Second {
		t.Errorf("job rerun %s after the kill: before the heartbeat timeout could expire", delay)
	}
	testutil.WaitFor(t, 30*time.Second, "rerun succeeded", func() bool {
		j, _ := jobState(t, db, id)
		return j.Status == podium.JobSucceeded
	})
	final, atts := jobState(t, db, id)
	if len(atts) != 2 || atts[0].Status != podium.AttemptAbandoned || atts[1].Status != podium.AttemptSucceeded || final.Attempts != 2 {
		t.Errorf("history: job %+v attempts %+v %+v", final, atts[0], atts[len(atts)-1])
	}
}

// SIGSTOP the node running a job past the heartbeat timeout: another node
// takes over; after SIGCONT the stale node's completion is rejected and the
// job's final record is the new run's.
func TestSchedulerStalledNodeCompletionRejected(t *testing.T) {
	t.Parallel()
	nodes, db, _, guid := startSchedulerCluster(t, 2, 1, "3")
	byID := nodeOf(t, nodes)
	id := queueJobs(t, db, contentID(t, db, guid), 1)[0]
	first := waitRunning(t, db, id, 1)
	stale := byID[first.NodeID]
	if err := stale.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	second := waitRunning(t, db, id, 2)
	if err := stale.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if second.NodeID == first.NodeID {
		t.Fatalf("the stalled node %s took the job again", first.NodeID)
	}
	stale.WaitLog(t, 20*time.Second, "completion rejected")
	testutil.WaitFor(t, 30*time.Second, "new run finished", func() bool {
		j, _ := jobState(t, db, id)
		return j.Status != podium.JobRunning
	})
	final, atts := jobState(t, db, id)
	if final.Status != podium.JobSucceeded || final.NodeID != second.NodeID || final.Attempts != 2 {
		t.Errorf("final record is not the new run's: %+v (new run on %s)", final, second.NodeID)
	}
	if len(atts) != 2 || atts[0].NodeID != first.NodeID || atts[0].Status != podium.AttemptAbandoned ||
		atts[1].NodeID != second.NodeID || atts[1].Status != podium.AttemptSucceeded {
		t.Errorf("attempts: %+v / %+v", atts[0], atts[len(atts)-1])
	}
}

// Every live node at concurrency 0: nothing runs and /__ping__ says why;
// a node that takes work clears the warning and runs the job.
func TestSchedulerNoNodeTakesWork(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	nodes := startNodes(t, 2, pg, data, schedulerConfig(0))
	db := openPostgres(t, pg)
	// A content row of its own: no deployment, the job must simply never
	// be claimed.
	key := publisherKey(t, nodes[0], "publisher")
	api := &apiClient{t: t, base: nodes[0].URL, key: key}
	var ct struct {
		GUID string `json:"guid"`
	}
	if code := api.do("POST", "/__api__/v1/content", strings.NewReader(`{"name":"idle"}`), &ct); code != 201 {
		t.Fatalf("create content: %d", code)
	}
	id := queueJobs(t, db, contentID(t, db, ct.GUID), 1)[0]
	for _, n := range nodes {
		n.WaitLog(t, 10*time.Second, "no live node takes scheduled work")
		_, body, err := n.Ping()
		if err != nil {
			t.Fatal(err)
		}
		if w := fmt.Sprint(body["warnings"]); !strings.Contains(w, "ScheduleConcurrency = 0") {
			t.Errorf("%s: /__ping__ warnings %q do not say that no node takes scheduled work", n.Name, w)
		}
	}
	if j, _ := jobState(t, db, id); j.Status != podium.JobQueued || j.Attempts != 0 {
		t.Fatalf("a job ran with every node at concurrency 0: %+v", j)
	}
	// A node that takes work joins: the warning goes, the job is claimed,
	// by it: its first attempt shows that no node at concurrency 0 took
	// the job while it waited (from its queueing to n3's start, many
	// poll intervals), with no sleep as the window.
	n3 := nodetest.StartNode(t, nodetest.Options{Name: "n3", Postgres: pg, DataDir: data, Config: schedulerConfig(1)})
	testutil.WaitFor(t, 10*time.Second, "warning cleared", func() bool {
		_, body, _ := nodes[0].Ping()
		return body["warnings"] == nil
	})
	testutil.WaitFor(t, 10*time.Second, "job claimed", func() bool {
		j, _ := jobState(t, db, id)
		return j.Attempts > 0
	})
	if _, atts := jobState(t, db, id); len(atts) == 0 || atts[0].NodeID != nodeID(t, n3) {
		t.Fatalf("first attempt %+v, want one on n3 (%s), the only node that takes work", atts, nodeID(t, n3))
	}
}

// A clean stop releases the render it cannot finish within the grace
// period: another node starts it at once, long before the heartbeat
// timeout (30s here) would have let it.
func TestSchedulerCleanStopReleases(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	cfg := "[Applications]\nRunAs = nobody\nScheduleConcurrency = 1\nJobHeartbeatTimeout = 30s\nJobPollInterval = 200ms\n"
	nodes := startNodes(t, 2, pg, sharedDataDir(t), cfg)
	db := openPostgres(t, pg)
	api := &apiClient{t: t, base: nodes[0].URL, key: publisherKey(t, nodes[0], "publisher")}
	sleep, arm := armedSleep(t, 30)
	guid := deployApp(t, api, "long", reportBundleDir(t, sleep))
	arm(api, guid)
	byID := nodeOf(t, nodes)
	id := queueJobs(t, db, contentID(t, db, guid), 1)[0]
	first := waitRunning(t, db, id, 1)
	stopping := byID[first.NodeID]
	if stopping == nodes[0] {
		api.base = nodes[1].URL
	}
	stoppedAt := time.Now()
	if err := stopping.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var second *podium.Job
	testutil.WaitFor(t, 20*time.Second, "released job claimed by the other node", func() bool {
		j, atts := jobState(t, db, id)
		second = j
		return j.Status == podium.JobRunning && j.NodeID != first.NodeID && len(atts) == 2
	})
	_, atts := jobState(t, db, id)
	delay := atts[1].StartedAt.Sub(stoppedAt)
	t.Logf("stop to rerun start: %s", delay.Round(time.Millisecond))
	if delay > 10*time.Second {
		t.Errorf("released job restarted %s after the stop: want within the 5s grace period plus a poll", delay)
	}
	if atts[0].Status != podium.AttemptReleased || second.NodeID == first.NodeID || second.Attempts != 1 {
		t.Errorf("release: first attempt %+v, job now %+v", atts[0], second)
	}
	if code, err := stopping.Wait(15 * time.Second); err != nil || code != 0 {
		t.Errorf("stopped node exit: %d %v", code, err)
	}
}
