package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/testutil"
)

// BenchmarkSchedulerScale (make bench-scheduler-scale) runs N nodes
// (PODIUM_BENCH_NODES, default 10) on one private PostgreSQL with
// pg_stat_statements, gives them scheduled renders at a rate
// (PODIUM_BENCH_RATE jobs per minute, default 1000: 50 reports, each
// "@every 3s", a trivial sh render), and measures one window
// (PODIUM_BENCH_WINDOW, default 60s) before and one after the render and
// job history has grown by 100,000 rows each. For each window it prints:
// jobs due and run per minute, duplicate runs and due times lost (neither
// run nor recorded as skipped), due-to-start p50/p99, statements per job
// and the share of the top statements, the share of active backends
// waiting on a lock (sampled from pg_stat_activity), and CPU per job split
// into node, PostgreSQL and render (from /proc).
func BenchmarkSchedulerScale(b *testing.B) {
	for range b.N {
		benchSchedulerScale(b)
	}
}

func benchSchedulerScale(b *testing.B) {
	nNodes := envInt("PODIUM_BENCH_NODES", 10)
	rate := envInt("PODIUM_BENCH_RATE", 1000)
	window := time.Duration(envInt("PODIUM_BENCH_WINDOW", 60)) * time.Second
	const reports = 50
	period := max(1, reports*60/rate) // seconds between two due times of one report

	cluster := pgtest.StartClusterWithSettings(b, "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n")
	pg := cluster.CreateDatabase(b, "bench")
	nodes := startNodes(b, nNodes, pg, sharedDataDir(b), "[Applications]\nRunAs = nobody\n")
	db := openPostgres(b, pg)
	ctx := testCtx(b)
	if _, err := db.DB().ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		b.Fatal(err)
	}

	key := publisherKey(b, nodes[0], "publisher")
	dir := reportBundleDir(b, "0")
	var guids []string
	for i := range reports {
		api := &benchAPI{tb: b, base: nodes[i%len(nodes)].URL, key: key}
		guids = append(guids, api.deployReport(fmt.Sprintf("scale-%d", i), dir))
	}
	// Statements of idle nodes (polls, heartbeats, leases): a cost per
	// node and second, not per job.
	var dbid int64
	if err := db.DB().QueryRowContext(ctx, `SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&dbid); err != nil {
		b.Fatal(err)
	}
	if _, err := db.DB().ExecContext(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		b.Fatal(err)
	}
	const idle = 10 * time.Second
	time.Sleep(idle)
	var idleCalls int64
	if err := db.DB().QueryRowContext(ctx, `SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements WHERE dbid = $1
		AND query NOT LIKE '%pg_stat_statements%'`, dbid).Scan(&idleCalls); err != nil {
		b.Fatal(err)
	}
	bgPerSec := float64(idleCalls) / idle.Seconds()
	b.Logf("idle cluster: %.1f statements/s (%.2f per node and second)", bgPerSec, bgPerSec/float64(nNodes))

	spread := time.Now()
	for i, g := range guids {
		api := &benchAPI{tb: b, base: nodes[i%len(nodes)].URL, key: key}
		if code := api.do("PUT", "/__api__/v1/content/"+g+"/schedule", strings.NewReader(fmt.Sprintf(`{"spec": "@every %ds"}`, period)), nil); code != 200 {
			b.Fatalf("put schedule: %d", code)
		}
		// Spread the schedules over one period, as independent reports
		// would be, rather than all due in the same second. "@every"
		// anchors on whole seconds, so the due times fall on the period's
		// seconds, reports/period of them each: put them at fixed offsets
		// of one start (a sleep after each request would stretch the
		// spread past the period by the requests' own time, and crowd
		// more reports into one second).
		time.Sleep(time.Until(spread.Add(time.Duration(i+1) * time.Duration(period) * time.Second / reports)))
	}
	b.Logf("%d nodes, %d reports @every %ds = %d due times/min; window %s", nNodes, reports, period, reports*60/period, window)
	time.Sleep(10 * time.Second) // warm up: every node has seen the schedules

	pids := make([]int, len(nodes))
	for i, n := range nodes {
		pids[i] = n.Cmd.Process.Pid
	}
	first := measureScale(b, db.DB(), cluster.PID(), pids, window, period, bgPerSec)
	first.print(b, "history as deployed")
	connectionsPerNode(b, db.DB())

	// Grow the history by 100,000 renders and 100,000 finished jobs, a
	// day old (within the default retention).
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(5*time.Minute))
	defer cancel()
	start := time.Now()
	pruned, pcol := "", ""
	if hasColumn(b, db.DB(), "renders", "output_pruned") {
		pcol, pruned = ", output_pruned", ", true"
	}
	if _, err := db.DB().ExecContext(ctx, `INSERT INTO renders (content_id, bundle_id, node_id, status, started_at, finished_at`+pcol+`)
		SELECT c.id, c.active_bundle_id, 'old', 'ok', now() - interval '1 day' - g * interval '1 second', now() - interval '1 day'`+pruned+`
		FROM generate_series(1, 100000) g JOIN content c ON c.guid = ($1::text[])[1 + g % 50]`, guids); err != nil {
		b.Fatal(err)
	}
	if _, err := db.DB().ExecContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, status, attempts, created_at, started_at, finished_at, exit_code)
		SELECT c.id, 'render', now() - interval '1 day' - g * interval '1 second', 'succeeded', 1, now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 0
		FROM generate_series(1, 100000) g JOIN content c ON c.guid = ($1::text[])[1 + g % 50]`, guids); err != nil {
		b.Fatal(err)
	}
	// A day's history arrives here at once: vacuum it now, as autovacuum
	// would have while it accrued, so that the window does not measure
	// autovacuum catching up on 200,000 fresh rows.
	_, _ = db.DB().ExecContext(ctx, `VACUUM ANALYZE renders, jobs, job_attempts`)
	_, _ = db.DB().ExecContext(ctx, `CHECKPOINT`)
	var nr int
	_ = db.DB().QueryRowContext(ctx, `SELECT count(*) FROM renders`).Scan(&nr)
	b.Logf("history grown by 100,000 renders and 100,000 jobs in %s (renders now %d rows)", time.Since(start).Round(time.Millisecond), nr)
	time.Sleep(5 * time.Second)
	second := measureScale(b, db.DB(), cluster.PID(), pids, window, period, bgPerSec)
	second.print(b, "history +100,000 rows")
	b.Logf("ratio after/before: statements/job %.2f, due-to-start p99 %.2f, node CPU/job %.2f, PostgreSQL CPU/job %.2f",
		second.stmtPerJob/first.stmtPerJob, float64(second.p99)/float64(max(first.p99, 1)),
		second.nodeCPU/first.nodeCPU, second.pgCPU/first.pgCPU)
	b.ReportMetric(second.stmtPerJob, "stmts/job")
	b.ReportMetric(second.pathPerJob, "path_stmts/job")
	b.ReportMetric(float64(second.p99.Milliseconds()), "due_to_start_p99_ms")
}

// connectionsPerNode prints how many connections each node holds now (by
// application_name): pool connections open plus listeners.
func connectionsPerNode(b *testing.B, db *sql.DB) {
	rows, err := db.Query(`SELECT application_name, count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var app string
		var n int
		if err := rows.Scan(&app, &n); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", app, n))
	}
	b.Logf("connections held now, by application_name: %s", strings.Join(parts, " "))
}

func hasColumn(tb testing.TB, db *sql.DB, table, col string) bool {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`, table, col).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n > 0
}

// scaleFigures are the figures of one measurement window.
type scaleFigures struct {
	window                    time.Duration
	due, run, dup, lost, skip int
	p50, p99, max             time.Duration
	stmts                     int64
	stmtPerJob                float64
	pathPerJob                float64 // stmtPerJob less the idle cluster's statements
	top                       []string
	lockShare                 float64
	nodeCPU, pgCPU, renderCPU float64 // ms per job
	split                     string  // where due-to-start goes
}

// pct returns the p-th percentile of d (sorted here), rounded.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Millisecond / 10)
}

func (f *scaleFigures) print(tb testing.TB, label string) {
	perMin := func(n int) float64 { return float64(n) / f.window.Minutes() }
	tb.Logf("== %s (window %s)\n"+
		"  jobs due %.0f/min, run %.0f/min; duplicate runs %d; due times lost %d (recorded skipped: %d)\n"+
		"  due-to-start p50 %s, p99 %s, max %s (%s)\n"+
		"  statements %d = %.1f per job (%.1f per job beyond the idle cluster's polls); lock-wait share of active backends %.1f%%\n"+
		"  top statements by time: %s\n"+
		"  CPU per job: node %.1f ms, PostgreSQL %.1f ms, render %.1f ms",
		label, f.window, perMin(f.due), perMin(f.run), f.dup, f.lost, f.skip,
		f.p50.Round(time.Millisecond/10), f.p99.Round(time.Millisecond/10), f.max.Round(time.Millisecond/10), f.split,
		f.stmts, f.stmtPerJob, f.pathPerJob, 100*f.lockShare, strings.Join(f.top, "; "),
		f.nodeCPU, f.pgCPU, f.renderCPU)
}

// measureScale resets pg_stat_statements and the CPU counters, waits for
// window, then reads the figures of the jobs due in it.
func measureScale(b *testing.B, db *sql.DB, pgPID int, nodePIDs []int, window time.Duration, period int, bgPerSec float64) *scaleFigures {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(window+2*time.Minute))
	defer cancel()
	f := &scaleFigures{window: window}
	var dbid int64
	if err := db.QueryRowContext(ctx, `SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&dbid); err != nil {
		b.Fatal(err)
	}
	nodeBefore, renderBefore := nodesCPU(nodePIDs)
	pgBefore := pgCPU(pgPID)
	var t0, t1 time.Time
	if err := db.QueryRowContext(ctx, `SELECT pg_stat_statements_reset(), now()`).Scan(new(any), &t0); err != nil {
		b.Fatal(err)
	}
	// Sample lock waits on a connection of its own while the window runs.
	stop := make(chan struct{})
	var (
		wg             sync.WaitGroup
		active, locked int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			var a, l int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')
				FROM pg_stat_activity WHERE datid = $1 AND pid <> pg_backend_pid() AND query NOT LIKE 'SELECT count(*) FILTER%'`, dbid).Scan(&a, &l); err == nil {
				active += a
				locked += l
			}
		}
	}()
	time.Sleep(window)
	close(stop)
	wg.Wait()
	if err := db.QueryRowContext(ctx, `SELECT now()`).Scan(&t1); err != nil {
		b.Fatal(err)
	}
	nodeAfter, renderAfter := nodesCPU(nodePIDs)
	pgAfter := pgCPU(pgPID)
	// Statements of the window, before this function's own queries below.
	rows, err := db.QueryContext(ctx, `SELECT calls, total_exec_time, query FROM pg_stat_statements WHERE dbid = $1
		AND query NOT LIKE '%pg_stat_activity%' AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC`, dbid)
	if err != nil {
		b.Fatal(err)
	}
	type stmt struct {
		calls int64
		ms    float64
		q     string
	}
	var (
		stmts   []stmt
		totalMS float64
	)
	for rows.Next() {
		var s stmt
		if err := rows.Scan(&s.calls, &s.ms, &s.q); err != nil {
			b.Fatal(err)
		}
		stmts = append(stmts, s)
		f.stmts += s.calls
		totalMS += s.ms
	}
	rows.Close()
	if os.Getenv("PODIUM_BENCH_DEBUG") != "" {
		for _, s := range stmts[:min(15, len(stmts))] {
			q := strings.Join(strings.Fields(s.q), " ")
			b.Logf("stmt %8.1f ms %6d calls %6.3f ms/call %.110s", s.ms, s.calls, s.ms/float64(max(s.calls, 1)), q)
		}
	}
	for _, s := range stmts[:min(3, len(stmts))] {
		q := strings.Join(strings.Fields(s.q), " ")
		if len(q) > 70 {
			q = q[:70] + "…"
		}
		f.top = append(f.top, fmt.Sprintf("%.0f%% %d calls %q", 100*s.ms/max(totalMS, 1e-9), s.calls, q))
	}
	if active > 0 {
		f.lockShare = float64(locked) / float64(active)
	}

	// Jobs due in the window (give the last ones time to finish).
	time.Sleep(3 * time.Second)
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'succeeded') FROM jobs WHERE due_at >= $1 AND due_at < $2 AND queue = 'render'`, t0, t1).Scan(&f.due, &f.run); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(sum(n - 1), 0) FROM (SELECT count(*) n FROM renders r JOIN jobs j ON j.id = r.job_id
		WHERE j.due_at >= $1 AND j.due_at < $2 AND r.status = 'ok' GROUP BY r.job_id HAVING count(*) > 1) d`, t0, t1).Scan(&f.dup); err != nil {
		b.Fatal(err)
	}
	// Lost: gaps between a report's consecutive due times longer than one
	// period, not accounted for by recorded skipped due times.
	skipped := "0"
	if hasColumn(b, db, "jobs", "skipped") {
		skipped = "skipped"
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(sum(GREATEST(round(gap / $3) - 1 - prev_skipped, 0)), 0), COALESCE(sum(prev_skipped), 0) FROM (
		SELECT EXTRACT(EPOCH FROM due_at - lag(due_at) OVER w)::float8 gap, lag(`+skipped+`) OVER w prev_skipped
		FROM jobs WHERE due_at >= $1 AND due_at < $2 AND queue = 'render' WINDOW w AS (PARTITION BY content_id ORDER BY due_at)) g
		WHERE gap IS NOT NULL`, t0, t1, float64(period)).Scan(&f.lost, &f.skip); err != nil {
		b.Fatal(err)
	}
	var delays, queued, claimed []time.Duration
	rows, err = db.QueryContext(ctx, `SELECT EXTRACT(EPOCH FROM a.started_at - j.due_at)::float8, EXTRACT(EPOCH FROM j.created_at - j.due_at)::float8,
		EXTRACT(EPOCH FROM a.started_at - j.created_at)::float8
		FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt = 1
		WHERE j.due_at >= $1 AND j.due_at < $2 AND j.queue = 'render'`, t0, t1)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var secs, q, c float64
		if err := rows.Scan(&secs, &q, &c); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, time.Duration(secs*float64(time.Second)))
		queued = append(queued, time.Duration(q*float64(time.Second)))
		claimed = append(claimed, time.Duration(c*float64(time.Second)))
	}
	rows.Close()
	if os.Getenv("PODIUM_BENCH_DEBUG") != "" {
		r2, err := db.QueryContext(ctx, `SELECT j.id, a.node_id, EXTRACT(EPOCH FROM a.started_at - j.due_at)::float8, EXTRACT(EPOCH FROM j.created_at - j.due_at)::float8,
			(SELECT count(*) FROM jobs x WHERE x.node_id = a.node_id AND x.started_at BETWEEN j.due_at - interval '1 second' AND a.started_at)
			FROM jobs j JOIN job_attempts a ON a.job_id = j.id AND a.attempt = 1
			WHERE j.due_at >= $1 AND j.due_at < $2 AND j.queue = 'render' ORDER BY 3 DESC LIMIT 15`, t0, t1)
		if err == nil {
			for r2.Next() {
				var id, n int64
				var node string
				var d, c float64
				_ = r2.Scan(&id, &node, &d, &c, &n)
				b.Logf("slow job %d node %s due->start %.1fms due->queued %.1fms node starts in [due-1s,start] %d", id, node, d*1000, c*1000, n)
			}
			r2.Close()
		}
		var p50, p99, mx float64
		_ = db.QueryRowContext(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM
			(SELECT EXTRACT(EPOCH FROM finished_at - started_at)::float8 * 1000 d FROM jobs WHERE due_at >= $1 AND due_at < $2 AND queue = 'render') x`, t0, t1).Scan(&p50, &p99, &mx)
		b.Logf("job run time p50 %.1fms p99 %.1fms max %.1fms", p50, p99, mx)
		if perNode, err := perNodeCounts(ctx, db, `SELECT node_id, count(*) FROM jobs WHERE due_at >= $1 AND due_at < $2 AND queue = 'render' GROUP BY 1 ORDER BY 1`, t0, t1); err == nil {
			b.Logf("jobs per node: %s", perNode)
		}
	}
	f.split = fmt.Sprintf("due to queued p50 %s p99 %s; queued to started p50 %s p99 %s",
		pct(queued, 50), pct(queued, 99), pct(claimed, 50), pct(claimed, 99))
	if len(delays) == 0 {
		b.Fatal("no scheduled job ran in the window")
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	f.p50, f.p99, f.max = delays[len(delays)/2], delays[min(len(delays)-1, len(delays)*99/100)], delays[len(delays)-1]
	jobs := float64(max(f.run, 1))
	f.stmtPerJob = float64(f.stmts) / jobs
	f.pathPerJob = (float64(f.stmts) - bgPerSec*window.Seconds()) / jobs
	f.nodeCPU = (nodeAfter - nodeBefore) / jobs
	f.renderCPU = (renderAfter - renderBefore) / jobs
	f.pgCPU = (pgAfter - pgBefore) / jobs
	return f
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times on Linux.
const clockTick = 100

// procStat returns utime+stime and cutime+cstime of pid in milliseconds.
func procStat(pid int) (self, children float64, ppid int) {
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, 0
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0
	}
	f := strings.Fields(s[i+2:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, 0
	}
	num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k-3], 64); return v * 1000 / clockTick }
	ppid, _ = strconv.Atoi(f[1])
	return num(14) + num(15), num(16) + num(17), ppid
}

// nodesCPU sums the nodes' own CPU (node) and that of their reaped
// children (the renders), in ms.
func nodesCPU(pids []int) (node, render float64) {
	for _, p := range pids {
		s, c, _ := procStat(p)
		node += s
		render += c
	}
	return node, render
}

// pgCPU is the CPU of the postmaster and every backend, live or reaped, in
// ms.
func pgCPU(postmaster int) float64 {
	s, c, _ := procStat(postmaster)
	total := s + c
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, c, pp := procStat(pid); pp == postmaster {
			total += s + c
		}
	}
	return total
}
