package scheduler_test

import (
	"context"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/scheduler"
)

func mustSpec(t *testing.T, expr, tz string) *scheduler.Spec {
	t.Helper()
	s, err := scheduler.ParseSpec(expr, tz)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// @every stays on the grid of the schedule's first due time, whenever the
// job is queued; due times that passed before it was queued are counted.
func TestSpecStepAnchored(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	every := mustSpec(t, "@every 10s", "")
	for _, tc := range []struct {
		name    string
		now     time.Time
		next    time.Time
		skipped int
	}{
		{"OnTime", t0, t0.Add(10 * time.Second), 0},
		{"LateWithinPeriod", t0.Add(9*time.Second + 900*time.Millisecond), t0.Add(10 * time.Second), 0},
		{"LateByExactlyOnePeriod", t0.Add(10 * time.Second), t0.Add(20 * time.Second), 1},
		{"LateByThreeAndAHalfPeriods", t0.Add(35 * time.Second), t0.Add(40 * time.Second), 3},
	} {
		t.Run("Every/"+tc.name, func(t *testing.T) {
			next, skipped, atLeast := every.Step(t0, tc.now)
			if !next.Equal(tc.next) || skipped != tc.skipped || atLeast {
				t.Fatalf("Step(t0, t0+%s) = %s, %d, %v; want %s, %d", tc.now.Sub(t0), next, skipped, atLeast, tc.next, tc.skipped)
			}
		})
	}
	cron := mustSpec(t, "0 * * * *", "Europe/Paris")
	next, skipped, _ := cron.Step(t0, t0.Add(3*time.Hour+time.Minute))
	if want := t0.Add(4 * time.Hour); !next.Equal(want) || skipped != 3 {
		t.Fatalf("hourly cron 3h01m late: %s, %d; want %s, 3", next, skipped, want)
	}
}

// clock is an injected database clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *clock) now(context.Context) (time.Time, error) {
	return time.Unix(0, c.ns.Load()).UTC(), nil
}

// runEnqueuer starts a scheduler that takes no work on db with the injected
// clock, waits until cond holds, and stops it.
func runEnqueuer(t *testing.T, db dbprovider.Provider, node string, c *clock, what string, cond func() bool) {
	t.Helper()
	s := scheduler.New(scheduler.Options{DB: db, NodeID: node, Concurrency: 0, PollInterval: 50 * time.Millisecond, DBNow: c.now})
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = s.Stop(context.Background())
	}()
	testutil.WaitFor(t, 30*time.Second, what, cond)
}

func jobsOf(t *testing.T, db dbprovider.Provider, cid int64) []*podium.Job {
	t.Helper()
	jobs, err := db.JobList(ctxT(t), &dbprovider.JobListParams{ContentID: cid, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

// Under overload (the enqueuer reaches a schedule late), the due time
// queued runs late, later due times that already passed are recorded as
// skipped with a reason, and the next due time stays on the schedule's
// grid. With the injected clock, nothing depends on timing.
func TestEnqueueLateAnchoredAndSkipped(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "enq")
		cid := mustContent(t, db, "late")
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 10s", Timezone: "UTC",
			Enabled: true, NextRunAt: &t0}); err != nil {
			t.Fatal(err)
		}
		var c clock

		// 1.5 s late: the due time runs late, the next stays at t0+10s.
		c.set(t0.Add(1500 * time.Millisecond))
		runEnqueuer(t, db, "enq", &c, "first job queued", func() bool { return len(jobsOf(t, db, cid)) == 1 })
		j := jobsOf(t, db, cid)[0]
		sc, err := db.ScheduleGet(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if !j.DueAt.Equal(t0) || j.Skipped != 0 || !sc.NextRunAt.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("after a 1.5s late pass: job due %s skipped %d, next %s; want due t0, 0 skipped, next t0+10s", j.DueAt, j.Skipped, sc.NextRunAt)
		}

		// 35 s late for t0+10s: it runs; t0+20s and t0+30s are recorded.
		c.set(t0.Add(45 * time.Second))
		runEnqueuer(t, db, "enq", &c, "second job queued", func() bool { return len(jobsOf(t, db, cid)) == 2 })
		j = jobsOf(t, db, cid)[0] // newest first
		sc, err = db.ScheduleGet(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if !j.DueAt.Equal(t0.Add(10*time.Second)) || j.Skipped != 3 || j.SkippedReason == "" {
			t.Fatalf("after a 35s late pass: job due %s skipped %d (%q); want due t0+10s, 3 skipped (t0+20s, +30s, +40s) with a reason",
				j.DueAt, j.Skipped, j.SkippedReason)
		}
		if !sc.NextRunAt.Equal(t0.Add(50 * time.Second)) {
			t.Fatalf("next run %s, want t0+50s (on the schedule's grid)", sc.NextRunAt)
		}
		// Every due time from t0 to t0+40s is accounted for: run or skipped.
		total := 0
		for _, j := range jobsOf(t, db, cid) {
			total += 1 + j.Skipped
		}
		if total != 5 {
			t.Fatalf("%d due times accounted for, want 5 (t0 ... t0+40s)", total)
		}
	})
}

// Concurrent enqueuers (a lease hand-over, say) each lock different due
// schedules: every due time gets exactly one job and every schedule moves
// exactly one period.
func TestScheduleEnqueueDueConcurrent(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		const n = 40
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var cids []int64
		for i := range n {
			cid := mustContent(t, db, "conc-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
			cids = append(cids, cid)
			if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1m", Timezone: "UTC",
				Enabled: true, NextRunAt: &t0}); err != nil {
				t.Fatal(err)
			}
		}
		plan := func(sc *podium.Schedule, now time.Time) dbprovider.ScheduleStep {
			next := sc.NextRunAt.Add(time.Minute)
			return dbprovider.ScheduleStep{Next: &next}
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			inserted = map[int64]int{}
		)
		for range 4 {
			w := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					jobs, err := w.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: t0.Add(time.Second), Limit: 5, Plan: plan})
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						inserted[j.ContentID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, cid := range cids {
			if inserted[cid] != 1 {
				t.Errorf("content %d: %d jobs inserted, want 1", cid, inserted[cid])
			}
			sc, err := db.ScheduleGet(ctx, cid)
			if err != nil {
				t.Fatal(err)
			}
			if !sc.NextRunAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("content %d: next run %s, want t0+1m", cid, sc.NextRunAt)
			}
		}
	})
}

// One holder at a time; the lease passes on when released or expired.
func TestLease(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		got := func(holder string, ttl time.Duration) bool {
			t.Helper()
			ok, err := db.LeaseAcquire(ctx, "test", holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !got("a", time.Minute) {
			t.Fatal("a cannot take a free lease")
		}
		if !got("a", time.Minute) {
			t.Fatal("a cannot renew its lease")
		}
		if got("b", time.Minute) {
			t.Fatal("b took a's live lease")
		}
		if err := db.LeaseRelease(ctx, "test", "b"); err != nil {
			t.Fatal(err)
		}
		if got("b", time.Minute) {
			t.Fatal("b's release freed a's lease")
		}
		if err := db.LeaseRelease(ctx, "test", "a"); err != nil {
			t.Fatal(err)
		}
		if !got("b", 100*time.Millisecond) {
			t.Fatal("b cannot take a released lease")
		}
		testutil.WaitFor(t, 30*time.Second, "b's lease expired", func() bool { return got("a", 100*time.Millisecond) })
	})
}

// Only the lease holder queues due schedules; when it stops, another node
// takes over at its next poll.
func TestEnqueuerFailOver(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "a")
		mustNode(t, db, "b")
		start := func(node string, p dbprovider.Provider) (*scheduler.Service, context.CancelFunc) {
			s := scheduler.New(scheduler.Options{DB: p, NodeID: node, PollInterval: 50 * time.Millisecond})
			sctx, cancel := context.WithCancel(context.Background())
			if err := s.Start(sctx); err != nil {
				t.Fatal(err)
			}
			return s, cancel
		}
		a, cancelA := start("a", db)
		holder := func() string {
			var h string
			_ = dbprovidertest.RawDB(t, db).QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = $1`, scheduler.EnqueueLease).Scan(&h)
			return h
		}
		testutil.WaitFor(t, 30*time.Second, "a holds the lease", func() bool { return holder() == "a" })
		b, cancelB := start("b", open())
		defer func() {
			cancelB()
			_ = b.Stop(context.Background())
		}()
		cancelA()
		_ = a.Stop(context.Background())
		cid := mustContent(t, db, "failover")
		due := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
		if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1h", Timezone: "UTC",
			Enabled: true, NextRunAt: &due}); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 30*time.Second, "b queued the due schedule", func() bool { return len(jobsOf(t, db, cid)) == 1 })
		if h := holder(); h != "b" {
			t.Fatalf("lease holder %q, want b", h)
		}
	})
}

// Pages of job history follow each other without gap or overlap.
func TestJobListPages(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		cid := mustContent(t, db, "pages")
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range 7 {
			if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, filter := range []dbprovider.JobListParams{{ContentID: cid}, {}, {Status: podium.JobQueued}} {
			var seen []time.Time
			p := filter
			p.Limit = 3
			for range 5 {
				page, err := db.JobList(ctx, &p)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range page {
					seen = append(seen, j.DueAt)
				}
				if len(page) < p.Limit {
					break
				}
				p.Before = page[len(page)-1].ID
			}
			if len(seen) != 7 {
				t.Fatalf("%+v: %d jobs over the pages, want 7", filter, len(seen))
			}
			for i, d := range seen {
				if want := t0.Add(time.Duration(6-i) * time.Second); !d.Equal(want) {
					t.Fatalf("%+v: job %d due %s, want %s (newest first, no gap, no repeat)", filter, i, d, want)
				}
			}
		}
	})
}

// Retention deletes old finished jobs and render records without output,
// in batches, and nothing else.
func TestHistoryPrune(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		cid := mustContent(t, db, "retention")
		old := time.Now().UTC().Add(-48 * time.Hour)
		recent := time.Now().UTC().Add(-time.Hour)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := dbprovidertest.RawDB(t, db).ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO bundles (id, content_id, created_at, size, sha256) VALUES (1, $1, $2, 1, $3)`, cid, old, []byte{1})
		// Jobs: 5 old finished, 1 old queued, 1 recent finished.
		for i := range 5 {
			exec(`INSERT INTO jobs (content_id, due_at, status, created_at, finished_at) VALUES ($1, $2, 'succeeded', $2, $2)`,
				cid, old.Add(time.Duration(i)*time.Second))
		}
		exec(`INSERT INTO jobs (content_id, due_at, status, created_at) VALUES ($1, $2, 'queued', $2)`, cid, old.Add(time.Minute))
		exec(`INSERT INTO jobs (content_id, due_at, status, created_at, finished_at) VALUES ($1, $2, 'failed', $2, $2)`, cid, recent)
		// Renders: 3 old pruned, 1 old failed, 1 old ok with output, 1 recent pruned.
		for range 3 {
			exec(`INSERT INTO renders (content_id, bundle_id, node_id, status, started_at, output_pruned) VALUES ($1, 1, 'n', 'ok', $2, true)`, cid, old)
		}
		exec(`INSERT INTO renders (content_id, bundle_id, node_id, status, started_at) VALUES ($1, 1, 'n', 'failed', $2)`, cid, old)
		exec(`INSERT INTO renders (content_id, bundle_id, node_id, status, started_at) VALUES ($1, 1, 'n', 'ok', $2)`, cid, old)
		exec(`INSERT INTO renders (content_id, bundle_id, node_id, status, started_at, output_pruned) VALUES ($1, 1, 'n', 'ok', $2, true)`, cid, recent)

		before := time.Now().UTC().Add(-24 * time.Hour)
		for _, tc := range []struct {
			name    string
			prune   func(context.Context, time.Time, int) (int, error)
			batches []int
			left    string
			want    int
		}{
			{"jobs", db.JobHistoryPrune, []int{2, 2, 1, 0}, `SELECT count(*) FROM jobs`, 2},
			{"renders", db.RenderHistoryPrune, []int{2, 2, 0}, `SELECT count(*) FROM renders`, 2},
		} {
			for i, want := range tc.batches {
				n, err := tc.prune(ctx, before, 2)
				if err != nil || n != want {
					t.Fatalf("%s batch %d: deleted %d, %v; want %d", tc.name, i, n, err, want)
				}
			}
			var left int
			if err := dbprovidertest.RawDB(t, db).QueryRowContext(ctx, tc.left).Scan(&left); err != nil || left != tc.want {
				t.Fatalf("%s left: %d %v, want %d", tc.name, left, err, tc.want)
			}
		}
	})
}

// A schedule planned to stop is disabled with its last job queued; a due
// time whose job exists already adds none but still advances.
func TestScheduleEnqueueDueDisableAndExisting(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		stop, exists := mustContent(t, db, "stop"), mustContent(t, db, "exists")
		for _, cid := range []int64{stop, exists} {
			if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1m", Timezone: "UTC",
				Enabled: true, NextRunAt: &t0}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: exists, DueAt: t0}); err != nil {
			t.Fatal(err)
		}
		jobs, err := db.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: t0, Plan: func(sc *podium.Schedule, _ time.Time) dbprovider.ScheduleStep {
			if sc.ContentID == stop {
				return dbprovider.ScheduleStep{}
			}
			next := t0.Add(time.Minute)
			return dbprovider.ScheduleStep{Next: &next}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].ContentID != stop || jobs[0].ID == 0 || !jobs[0].DueAt.Equal(t0) {
			t.Fatalf("jobs inserted: %+v; want only the stopping schedule's", jobs)
		}
		sc, err := db.ScheduleGet(ctx, stop)
		if err != nil || sc.Enabled || sc.NextRunAt != nil {
			t.Fatalf("stopped schedule: %+v %v; want disabled, no next run", sc, err)
		}
		sc, err = db.ScheduleGet(ctx, exists)
		if err != nil || !sc.Enabled || !sc.NextRunAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("schedule whose job existed: %+v %v; want enabled, next t0+1m", sc, err)
		}
	})
}

// A scheduled job is queued EnqueueAhead before its due time and started
// on it by the node it was announced to: on PostgreSQL a worker woken by
// the enqueuer's notification with a delay, on SQLite the single node by
// its own timer. Nobody polls (PollInterval 1h), so only that wake-up can
// start the job; the claim itself never takes a job before its due time.
func TestEnqueueAheadStartsOnDueTime(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		cid := mustContent(t, db, "ahead")
		ran, runner := recordingRunner()
		opts := func(node string, concurrency int) scheduler.Options {
			mustNode(t, db, node)
			return scheduler.Options{DB: db, NodeID: node, Concurrency: concurrency, Runner: runner, PollInterval: time.Hour,
				NodeTimeout: time.Hour, EnqueueAhead: time.Minute}
		}
		enqOpts := opts("enq", 1)
		if db.SupportsListenNotify() {
			// The enqueuer takes no work; the worker does, and learns of
			// the job only from the notification.
			enqOpts = opts("enq", 0)
			if ok, err := db.LeaseAcquire(ctx, scheduler.EnqueueLease, "enq", time.Hour); err != nil || !ok {
				t.Fatalf("LeaseAcquire = %v, %v", ok, err)
			}
			startService(t, scheduler.New(opts("worker", 1)))
			testutil.WaitFor(t, 30*time.Second, "the worker listens", func() bool {
				var n int
				_ = dbprovidertest.RawDB(t, db).QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n)
				return n > 0
			})
		}
		due := putScheduleDueIn(t, db, cid, 8*time.Second)
		startService(t, scheduler.New(enqOpts))
		var job *podium.Job
		select {
		case job = <-ran:
		case <-ctx.Done():
			t.Fatal("the job was never started: the timed wake-up did not happen")
		}
		if !job.DueAt.Equal(due) {
			t.Fatalf("ran the job due %s, want %s", job.DueAt, due)
		}
		if !job.CreatedAt.Before(due) {
			t.Errorf("job queued at %s, not before its due time %s (EnqueueAhead 1m)", job.CreatedAt, due)
		}
		atts, err := db.JobAttemptList(ctx, []int64{job.ID})
		if err != nil || len(atts) != 1 {
			t.Fatalf("attempts = %+v, %v", atts, err)
		}
		if atts[0].StartedAt.Before(due) {
			t.Errorf("job claimed at %s, before its due time %s", atts[0].StartedAt, due)
		}
		if db.SupportsListenNotify() && atts[0].NodeID != "worker" {
			t.Errorf("job ran on %s, want worker (the node the enqueuer announced it to)", atts[0].NodeID)
		}
	})
}

// A job announced to a node that never claims it (it died after its last
// heartbeat) still runs: another node finds it at its own poll, on or
// after its due time. The test listens on the channel to see that the
// announcement named the dead node and not the live one.
func TestAnnouncedNodeGoneJobRunsOnPoll(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	migrate(t, db)
	ctx := ctxT(t)
	cid := mustContent(t, db, "orphan")
	// "a-ghost" sorts first among the live claimers, so the round-robin
	// names it for the first job; it has no scheduler.
	mustNode(t, db, "a-ghost")
	if err := db.JobNodeCapacitySet(ctx, "a-ghost", 1); err != nil {
		t.Fatal(err)
	}
	listen, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close(context.Background())
	if _, err := listen.Exec(ctx, "LISTEN "+scheduler.Channel); err != nil {
		t.Fatal(err)
	}
	ran, runner := recordingRunner()
	start := func(node string, concurrency int) {
		mustNode(t, db, node)
		startService(t, scheduler.New(scheduler.Options{DB: db, NodeID: node, Concurrency: concurrency, Runner: runner,
			PollInterval: 500 * time.Millisecond, NodeTimeout: time.Hour, HeartbeatTimeout: time.Hour, EnqueueAhead: time.Minute}))
	}
	if ok, err := db.LeaseAcquire(ctx, scheduler.EnqueueLease, "enq", time.Hour); err != nil || !ok {
		t.Fatalf("LeaseAcquire = %v, %v", ok, err)
	}
	start("worker", 1)
	due := putScheduleDueIn(t, db, cid, 3*time.Second)
	start("enq", 0)
	for {
		n, err := listen.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("no wake-up notification: %v", err)
		}
		if !strings.HasPrefix(n.Payload, "wake:") {
			continue
		}
		if !strings.Contains(n.Payload, "a-ghost=1@") || strings.Contains(n.Payload, "worker") {
			t.Fatalf("announcement %q: want it addressed to a-ghost only, with a delay", n.Payload)
		}
		break
	}
	var job *podium.Job
	select {
	case job = <-ran:
	case <-ctx.Done():
		t.Fatal("the job announced to a dead node never ran")
	}
	atts, err := db.JobAttemptList(ctx, []int64{job.ID})
	if err != nil || len(atts) != 1 || atts[0].NodeID != "worker" || atts[0].StartedAt.Before(due) {
		t.Fatalf("attempts = %+v, %v; want one, by worker, at or after %s", atts, err, due)
	}
}

// recordingRunner is a Runner that hands every job it runs to ran.
func recordingRunner() (ran chan *podium.Job, r scheduler.Runner) {
	ran = make(chan *podium.Job, 1)
	return ran, scheduler.RunnerFunc(func(_ context.Context, j *podium.Job) (int, string, error) {
		ran <- j
		return 0, "", nil
	})
}

// putScheduleDueIn gives content cid an hourly schedule whose next run is
// in d by the database clock, and returns that due time.
func putScheduleDueIn(t *testing.T, db dbprovider.Provider, cid int64, d time.Duration) time.Time {
	t.Helper()
	ctx := ctxT(t)
	now, err := db.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	due := now.Add(d).Truncate(time.Millisecond)
	if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1h", Timezone: "UTC",
		Enabled: true, NextRunAt: &due}); err != nil {
		t.Fatal(err)
	}
	return due
}

// claimHook runs after on every claim that finds nothing due.
type claimHook struct {
	dbprovider.Provider
	after func()
}

func (h *claimHook) JobClaimBatch(ctx context.Context, p *dbprovider.JobClaimParams, limit int) ([]*podium.Job, error) {
	jobs, err := h.Provider.JobClaimBatch(ctx, p, limit)
	if podium.IsCode(err, podium.ENOTFOUND) {
		h.after()
	}
	return jobs, err
}

// A wake-up that arrives while a claim finds the queue empty (a job fell
// due, and its timer fired, after the claim looked) is not lost with the
// counts the claim has shown to be stale. Nobody polls (PollInterval 1h):
// only that wake-up can start the job.
func TestWakeDuringEmptyClaimNotLost(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		cid := mustContent(t, db, "wake-race")
		mustNode(t, db, "n")
		ran, runner := recordingRunner()
		var s *scheduler.Service
		var once sync.Once
		hook := &claimHook{Provider: db, after: func() {
			once.Do(func() {
				now, err := db.Now(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid,
					DueAt: now.Add(-time.Second).Truncate(time.Millisecond)}); err != nil {
					t.Error(err)
				}
				s.WakeFor(1)
			})
		}}
		s = scheduler.New(scheduler.Options{DB: hook, NodeID: "n", Concurrency: 1, Runner: runner,
			PollInterval: time.Hour, NodeTimeout: time.Hour})
		startService(t, s)
		s.WakeFor(1) // a claim that finds nothing: the hook runs during it
		select {
		case <-ran:
		case <-ctx.Done():
			t.Fatal("the job whose wake-up came during an empty claim never started")
		}
	})
}

// A spec is refused when it would not run as written: the cron library
// rounds @every to whole seconds (and up to one second), and gives up on
// dates that never come.
func TestParseSpecRefusesWhatCannotRunAsWritten(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ spec, want string }{
		{"@every 1200ms", "whole seconds"},
		{"@every 1.5s", "write @every 1s or @every 2s"},
		{"@every 500ms", "at least 1s"},
		{"@every 0s", "at least 1s"},
		{"@every soon", "needs a duration"},
		{"0 0 30 2 *", "never runs"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := scheduler.ParseSpec(tc.spec, "")
			if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(podium.ErrorMessage(err), tc.want) {
				t.Fatalf("ParseSpec(%q) = %v; want EINVALID saying %q", tc.spec, err, tc.want)
			}
		})
	}
	for _, ok := range []string{"@every 2s", "@every 1m30s", "0 6 * * 1-5", "*/10 * * * * *", "@daily"} {
		if _, err := scheduler.ParseSpec(ok, "Europe/Paris"); err != nil {
			t.Fatalf("ParseSpec(%q): %v", ok, err)
		}
	}
	runs := mustSpec(t, "0 6 * * *", "Europe/Paris").NextRuns(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), 3)
	if len(runs) != 3 || !runs[0].Equal(time.Date(2026, 7, 2, 4, 0, 0, 0, time.UTC)) || !runs[2].Equal(time.Date(2026, 7, 4, 4, 0, 0, 0, time.UTC)) {
		t.Fatalf("NextRuns: %v", runs)
	}
}
