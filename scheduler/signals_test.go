package scheduler_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
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
