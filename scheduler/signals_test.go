package scheduler_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/scheduler"
)

// TestServiceSignals follows a job abandoned by a dead node through the
// scheduler's parts by their test signals, without a sleep: the
// maintenance loop takes the enqueuer lease and reclaims the job, the
// claim loop claims it, the run ends and is recorded; at Stop every
// part's goroutine ends.
func TestServiceSignals(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "dead")
		mustNode(t, db, "live")
		cid := mustContent(t, db, "signals-"+db.Name())
		if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: time.Now().UTC().Add(-time.Minute),
			Queue: podium.QueueNoop}); err != nil {
			t.Fatal(err)
		}
		job, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "dead", Token: "dead-token", Queues: []string{podium.QueueNoop}})
		if err != nil {
			t.Fatal(err)
		}
		s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"),
			NodeID: "live", Concurrency: 1, PollInterval: 50 * time.Millisecond, HeartbeatTimeout: 300 * time.Millisecond,
			NodeTimeout: time.Minute})
		s.TestSignals.Init()
		stop := startService(t, s)

		if !s.TestSignals.Lease.WaitOrTimeout(t) {
			t.Fatal("first lease signal: lost, want taken")
		}
		res := s.TestSignals.Reclaimed.WaitOrTimeout(t)
		if !slices.Contains(res.Requeued, job.ID) {
			t.Fatalf("reclaimed %+v, want job %d requeued", res, job.ID)
		}
		if n := s.TestSignals.Claimed.WaitOrTimeout(t); n != 1 {
			t.Fatalf("claimed %d jobs, want 1", n)
		}
		if id := s.TestSignals.Finished.WaitOrTimeout(t); id != job.ID {
			t.Fatalf("finished job %d, want %d", id, job.ID)
		}
		j, err := db.JobGet(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != podium.JobSucceeded || j.NodeID != "live" || j.Attempts != 2 {
			t.Fatalf("job after the reclaim and the run: %+v", j)
		}
		s.TestSignals.Maintained.WaitOrTimeout(t)
		stop(10 * time.Second)
		// Stopped: no part runs any more, and Stop gave the lease back.
		holder, err := db.LeaseAcquire(context.Background(), scheduler.EnqueueLease, "other", time.Minute)
		if err != nil || !holder {
			t.Fatalf("lease after Stop: taken by another node = %v, %v; want it free", holder, err)
		}
	})
}

// TestEnqueuedSignal: the enqueuer turns every due schedule into one job
// in one batch, signals the batch's size, and moves each schedule to its
// next due time on its grid. The node takes no work, so the jobs stay
// queued for the assertions.
func TestEnqueuedSignal(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "enq-signal")
		due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		var cids []int64
		for i := range 2 {
			cid := mustContent(t, db, "enqueued-"+db.Name()+"-"+string(rune('a'+i)))
			if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1h", Timezone: "UTC",
				Enabled: true, NextRunAt: &due}); err != nil {
				t.Fatal(err)
			}
			cids = append(cids, cid)
		}
		s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"),
			NodeID: "enq-signal", Concurrency: 0, PollInterval: 50 * time.Millisecond, NodeTimeout: time.Minute})
		s.TestSignals.Init()
		stop := startService(t, s)

		if n := s.TestSignals.Enqueued.WaitOrTimeout(t); n != 2 {
			t.Fatalf("enqueued %d jobs in the first batch, want 2 (one per due schedule)", n)
		}
		// A few more passes: nothing else is due for an hour.
		for range 3 {
			s.TestSignals.Maintained.WaitOrTimeout(t)
		}
		stop(10 * time.Second)
		s.TestSignals.Enqueued.RequireEmpty(t)
		for _, cid := range cids {
			jobs := jobsOf(t, db, cid)
			if len(jobs) != 1 || !jobs[0].DueAt.Equal(due) || jobs[0].Status != podium.JobQueued || jobs[0].Queue != podium.QueueRender {
				t.Fatalf("jobs of content %d: %+v, want one render job queued for %s", cid, jobs, due)
			}
			sc, err := db.ScheduleGet(ctx, cid)
			if err != nil {
				t.Fatal(err)
			}
			if sc.NextRunAt == nil || !sc.NextRunAt.Equal(due.Add(time.Hour)) {
				t.Fatalf("schedule of content %d next due %v, want %s (one interval on)", cid, sc.NextRunAt, due.Add(time.Hour))
			}
		}
	})
}

// TestPrunedSignal: the history retention deletes the finished jobs older
// than the retention, signals how many rows it deleted, and keeps recent
// history and unfinished jobs however old.
func TestPrunedSignal(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "prune-signal")
		cid := mustContent(t, db, "pruned-"+db.Name())
		old := time.Now().UTC().Add(-48 * time.Hour)
		insert := func(at time.Time, status string) int64 {
			var id int64
			if err := dbprovidertest.RawDB(t, db).QueryRowContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, status, attempts,
				max_attempts, claim_token, node_id, created_at, started_at, finished_at)
				VALUES ($1, 'render', $2, $3, 1, 1, '', '', $2, $2, $2) RETURNING id`, cid, at, status).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		for i := range 3 {
			insert(old.Add(time.Duration(i)*time.Minute), podium.JobSucceeded)
		}
		recent := insert(time.Now().UTC().Add(-time.Minute), podium.JobSucceeded)
		var queued int64 // inserted last: the highest id
		if err := dbprovidertest.RawDB(t, db).QueryRowContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, status, attempts,
			max_attempts, claim_token, node_id, created_at) VALUES ($1, 'render', $2, 'queued', 0, 1, '', '', $2) RETURNING id`,
			cid, old.Add(-time.Hour)).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"),
			NodeID: "prune-signal", Concurrency: 0, PollInterval: 50 * time.Millisecond, NodeTimeout: time.Minute,
			HistoryRetention: time.Hour, HistoryRetentionSet: true})
		s.TestSignals.Init()
		stop := startService(t, s)

		if n := s.TestSignals.Pruned.WaitOrTimeout(t); n != 3 {
			t.Fatalf("the retention pass deleted %d rows, want the 3 finished jobs older than an hour", n)
		}
		stop(10 * time.Second)
		var left []int64
		for _, j := range jobsOf(t, db, cid) {
			left = append(left, j.ID)
		}
		slices.Sort(left)
		if want := []int64{recent, queued}; !slices.Equal(left, want) {
			t.Fatalf("jobs left %v, want the recent finished one %d and the old queued one %d", left, recent, queued)
		}
	})
}

// TestNotifiedSignal (PostgreSQL: SQLite has no notifications): the
// listener signals each notification it handled, the empty one it makes
// up once listening first; a "schedule" notification (a schedule was
// put) makes the maintenance loop run a pass at once, so a schedule due
// now is queued and run without waiting out the poll interval (an hour
// here), and the node's addressed wake-up makes it claim the job.
func TestNotifiedSignal(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	migrate(t, db)
	ctx := ctxT(t)
	mustNode(t, db, "notified")
	cid := mustContent(t, db, "notified")
	ran := make(chan int64, 1)
	s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"),
		NodeID: "notified", Concurrency: 1, PollInterval: time.Hour, NodeTimeout: time.Hour, HeartbeatTimeout: time.Minute,
		Runner: scheduler.RunnerFunc(func(_ context.Context, j *podium.Job) (int, string, error) {
			ran <- j.ID
			return 0, "", nil
		})})
	s.TestSignals.Init()
	startService(t, s)

	// The first maintenance pass found no schedule: the next is due in
	// an hour. The listener is listening once it signals "".
	if wait := s.TestSignals.Maintained.WaitOrTimeout(t); wait < time.Minute {
		t.Fatalf("first maintenance pass: next in %s, want the poll interval (no schedule yet)", wait)
	}
	if p := s.TestSignals.Notified.WaitOrTimeout(t); p != "" {
		t.Fatalf("first notification %q, want the empty one sent once listening", p)
	}
	due := time.Now().UTC().Add(-time.Second)
	if _, err := db.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: cid, Spec: "@every 1h", Timezone: "UTC",
		Enabled: true, NextRunAt: &due}); err != nil {
		t.Fatal(err)
	}
	if err := db.Notify(ctx, scheduler.Channel, "schedule"); err != nil {
		t.Fatal(err)
	}
	if p := s.TestSignals.Notified.WaitOrTimeout(t); p != "schedule" {
		t.Fatalf("notification %q, want \"schedule\"", p)
	}
	if n := s.TestSignals.Enqueued.WaitOrTimeout(t); n != 1 {
		t.Fatalf("enqueued %d jobs after the schedule notification, want 1", n)
	}
	id := s.TestSignals.Finished.WaitOrTimeout(t)
	jobs := jobsOf(t, db, cid)
	if len(jobs) != 1 || jobs[0].ID != id || jobs[0].Status != podium.JobSucceeded || jobs[0].NodeID != "notified" {
		t.Fatalf("jobs after the notification: %+v, want job %d run and succeeded on this node", jobs, id)
	}
	if got := <-ran; got != id {
		t.Fatalf("runner ran job %d, want %d", got, id)
	}
}
