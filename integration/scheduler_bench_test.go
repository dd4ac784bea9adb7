package integration

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// BenchmarkScheduler (make bench-scheduler) runs three nodes on one
// PostgreSQL database with default scheduler settings ([Applications]
// ScheduleConcurrency 2, JobPollInterval 5s, JobHeartbeatTimeout 30s) and
// reports:
//   - claim throughput: 2000 no-op jobs queued at once (one NOTIFY), jobs/s
//     until all have succeeded;
//   - due-to-start delay of scheduled renders: five reports scheduled every
//     second for 10 s, started_at - due_at, median and p99;
//   - kill-to-reclaim: SIGKILL the node running a long render, time until
//     another node starts it again.
func BenchmarkScheduler(b *testing.B) {
	for range b.N {
		benchScheduler(b)
	}
}

func benchScheduler(b *testing.B) {
	pg := pgtest.NewDatabase(b)
	nodes := startNodes(b, 3, pg, sharedDataDir(b), "[Applications]\nRunAs = nobody\n")
	db := openPostgres(b, pg)
	ctx := testCtx(b)

	// Claim throughput with no-op jobs.
	const n = 2000
	var cid int64
	if err := db.DB().QueryRowContext(ctx, `INSERT INTO users (username, role, created_at, updated_at) VALUES ('bench', 'admin', now(), now()) RETURNING id`).Scan(&cid); err != nil {
		b.Fatal(err)
	}
	if err := db.DB().QueryRowContext(ctx, `INSERT INTO content (guid, name, owner_id, created_at, updated_at) VALUES ('bench-noop', 'noop', $1, now(), now()) RETURNING id`, cid).Scan(&cid); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := db.DB().ExecContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, created_at)
		SELECT $1, 'noop', now() - interval '1 hour' + g * interval '1 millisecond', now() FROM generate_series(1, $2) g`, cid, n); err != nil {
		b.Fatal(err)
	}
	if err := db.Notify(ctx, "podium_jobs", "bench"); err != nil {
		b.Fatal(err)
	}
	testutil.WaitFor(b, 5*time.Minute, "no-op jobs done", func() bool {
		var done int
		_ = db.DB().QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE content_id = $1 AND status = 'succeeded'`, cid).Scan(&done)
		return done == n
	})
	elapsed := time.Since(start)
	perNode, err := perNodeCounts(ctx, db.DB(), `SELECT a.node_id, count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id WHERE j.content_id = $1 GROUP BY a.node_id ORDER BY a.node_id`, cid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "noop_jobs/s")
	b.Logf("claim throughput: %d no-op jobs in %s = %.0f jobs/s (per node: %s)", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), perNode)

	// Due-to-start delay of scheduled renders.
	key := publisherKey(b, nodes[0], "publisher")
	api := &benchAPI{tb: b, base: nodes[0].URL, key: key}
	dir := reportBundleDir(b, "0")
	var guids []string
	for i := range 5 {
		guids = append(guids, api.deployReport(fmt.Sprintf("sched-%d", i), dir))
	}
	for _, g := range guids {
		if code := api.do("PUT", "/__api__/v1/content/"+g+"/schedule", strings.NewReader(`{"spec": "* * * * * *"}`), nil); code != 200 {
			b.Fatalf("put schedule: %d", code)
		}
	}
	time.Sleep(10 * time.Second)
	for _, g := range guids {
		api.do("DELETE", "/__api__/v1/content/"+g+"/schedule", nil, nil)
	}
	time.Sleep(3 * time.Second)
	var delays []time.Duration
	rows, err := db.DB().QueryContext(ctx, `SELECT EXTRACT(EPOCH FROM a.started_at - j.due_at)::float8 FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt = 1
		WHERE j.queue = 'render' AND j.content_id <> $1`, cid)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var secs float64
		if err := rows.Scan(&secs); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, time.Duration(secs*float64(time.Second)))
	}
	rows.Close()
	if len(delays) == 0 {
		b.Fatal("no scheduled job ran")
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	med, p99 := delays[len(delays)/2], delays[min(len(delays)-1, len(delays)*99/100)]
	b.ReportMetric(float64(med.Milliseconds()), "due_to_start_median_ms")
	b.ReportMetric(float64(p99.Milliseconds()), "due_to_start_p99_ms")
	b.Logf("due-to-start of %d scheduled renders: median %s, p99 %s, max %s", len(delays), med, p99, delays[len(delays)-1])

	// Kill-to-reclaim with default settings.
	sleep, arm := armedSleep(b, 120)
	long := api.deployReport("long", reportBundleDir(b, sleep))
	arm(api, long)
	lcid := int64(0)
	_ = db.DB().QueryRowContext(ctx, `SELECT id FROM content WHERE guid = $1`, long).Scan(&lcid)
	var jobID int64
	if err := db.DB().QueryRowContext(ctx, `INSERT INTO jobs (content_id, due_at, created_at) VALUES ($1, now(), now()) RETURNING id`, lcid).Scan(&jobID); err != nil {
		b.Fatal(err)
	}
	_ = db.Notify(ctx, "podium_jobs", "bench")
	var holder string
	testutil.WaitFor(b, 30*time.Second, "long job running", func() bool {
		j, err := db.JobGet(ctx, jobID)
		holder = j.NodeID
		return err == nil && j.Status == podium.JobRunning
	})
	byID := map[string]*nodetest.Node{}
	for _, n := range nodes {
		byID[nodeID(b, n)] = n
	}
	killed := time.Now()
	byID[holder].Kill(b)
	var rerun time.Time
	testutil.WaitFor(b, 2*time.Minute, "long job reclaimed", func() bool {
		atts, err := db.JobAttemptList(ctx, []int64{jobID})
		if err != nil || len(atts) < 2 {
			return false
		}
		rerun = atts[1].StartedAt
		return true
	})
	k2r := rerun.Sub(killed)
	b.ReportMetric(k2r.Seconds(), "kill_to_reclaim_s")
	b.Logf("kill-to-reclaim (JobHeartbeatTimeout 30s, JobPollInterval 5s): %s", k2r.Round(time.Millisecond))
}

// perNodeCounts runs query, whose rows are a node id and a count, and
// formats them "node=count node=count ...".
func perNodeCounts(ctx context.Context, db *sql.DB, query string, args ...any) (string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var node string
		var n int
		if err := rows.Scan(&node, &n); err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s=%d", node, n))
	}
	return strings.Join(parts, " "), rows.Err()
}
