package scheduler_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/scheduler"
)

// TestServiceRecordsOutputItCannotStoreAsIs: a report whose output holds
// NUL bytes and invalid UTF-8 (and whose error quotes them) has its
// attempt recorded once, cleaned (NUL removed, bad bytes shown as U+FFFD),
// instead of "CHECK constraint failed: log_text" and the job running
// again and again.
func TestServiceRecordsOutputItCannotStoreAsIs(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		id := mustContent(t, db, "svc-nul-"+db.Name())
		clock := &fakeClock{now: time.Unix(1_700_000_000, 0), step: time.Second}
		runner := scheduler.RunnerFunc(func(ctx context.Context, job *podium.Job) (int, string, error) {
			return 2, "row\x00one\nbad \xff\xfe byte\n", errors.New("render failed: \x00\xc3")
		})
		s := newService(t, db, "svc-nul", runner, clock)
		now, err := db.Now(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := db.JobInsertDue(ctxT(t), &dbprovider.JobInsertParams{ContentID: id, DueAt: now.Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		startService(t, s)
		s.Wake()
		got := waitJob(t, db, job.ID, podium.JobFailed)
		if got.Attempts != 1 || got.Error != "render failed: \uFFFD" {
			t.Errorf("job: attempts %d error %q; want 1 attempt and the cleaned error", got.Attempts, got.Error)
		}
		attempts, err := db.JobAttemptList(ctxT(t), []int64{job.ID})
		if err != nil || len(attempts) != 1 {
			t.Fatalf("attempts: %+v %v; want exactly 1", attempts, err)
		}
		if want := "rowone\nbad \uFFFD byte\n"; attempts[0].Log != want {
			t.Errorf("attempt log %q, want %q", attempts[0].Log, want)
		}
	})
}

// TestServiceClampsConcurrency: a ScheduleConcurrency that older releases
// accepted (5000000000) is clamped to what the registry holds, and the
// node registers instead of failing on the database's range check.
func TestServiceClampsConcurrency(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		mustNode(t, db, "svc-big")
		s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"),
			Runner: scheduler.RunnerFunc(func(context.Context, *podium.Job) (int, string, error) { return 0, "", nil }),
			NodeID: "svc-big", Concurrency: 5_000_000_000, PollInterval: 50 * time.Millisecond, HeartbeatTimeout: 10 * time.Second,
			NodeTimeout: time.Minute})
		startService(t, s)
		nodes, err := db.JobNodeList(ctxT(t), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range nodes {
			if n.ID == "svc-big" {
				found = true
				if n.Concurrency != math.MaxInt32 {
					t.Errorf("recorded concurrency %d, want %d", n.Concurrency, math.MaxInt32)
				}
			}
		}
		if !found {
			t.Errorf("node not listed: %+v", nodes)
		}
	})
}
