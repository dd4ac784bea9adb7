package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
)

// mustReclaim waits until the job's heartbeat, by the database clock, is
// older than timeout, which the reclaim that returns it shows, and returns
// that reclaim's result. A reclaim that finds nothing changes nothing, so
// asking again is safe.
func mustReclaim(t *testing.T, ctx context.Context, db dbprovider.Provider, timeout time.Duration) *dbprovider.JobReclaimResult {
	t.Helper()
	var res *dbprovider.JobReclaimResult
	testutil.WaitFor(t, 10*time.Second, "a job abandoned for "+timeout.String(), func() bool {
		r, err := db.JobReclaimAbandoned(ctx, timeout)
		if err != nil {
			t.Fatalf("reclaim: %v", err)
		}
		res = r
		return len(r.Requeued)+len(r.Failed) > 0
	})
	return res
}

func TestJobStoreLifecycle(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "n1")
		mustNode(t, db, "n2")
		cid := mustContent(t, db, "guid-1")
		due := time.Now().UTC().Add(-time.Second).Truncate(time.Second)

		job, inserted, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: due})
		if err != nil || !inserted {
			t.Fatalf("insert: %v %v", inserted, err)
		}
		again, inserted, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: due})
		if err != nil || inserted || again.ID != job.ID {
			t.Fatalf("second insert of the same due time: inserted=%v id=%v want %d, err %v", inserted, again, job.ID, err)
		}

		c1, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: "t1"})
		if err != nil {
			t.Fatal(err)
		}
		if c1.ID != job.ID || c1.Status != podium.JobRunning || c1.Attempts != 1 || c1.NodeID != "n1" || c1.ContentGUID != "guid-1" {
			t.Fatalf("claim: %+v", c1)
		}
		if _, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n2", Token: "t2"}); !podium.IsCode(err, podium.ENOTFOUND) {
			t.Fatalf("second claim: want ENOTFOUND, got %v", err)
		}
		if err := db.JobHeartbeat(ctx, job.ID, "t1"); err != nil {
			t.Fatal(err)
		}
		// Not abandoned yet under a long timeout.
		res, err := db.JobReclaimAbandoned(ctx, time.Minute)
		if err != nil || len(res.Requeued)+len(res.Failed) != 0 {
			t.Fatalf("reclaim under a long timeout: %+v %v", res, err)
		}
		res = mustReclaim(t, ctx, db, 100*time.Millisecond)
		if len(res.Requeued) != 1 || res.Requeued[0] != job.ID {
			t.Fatalf("reclaim: %+v", res)
		}
		if err := db.JobHeartbeat(ctx, job.ID, "t1"); !podium.IsCode(err, podium.ECONFLICT) {
			t.Fatalf("heartbeat after reclaim: want ECONFLICT, got %v", err)
		}
		c2, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n2", Token: "t2"})
		if err != nil || c2.Attempts != 2 {
			t.Fatalf("reclaimed job claimed again: %+v %v", c2, err)
		}
		_, err = db.JobFinish(ctx, &dbprovider.JobFinishParams{ID: job.ID, Token: "t1", Status: podium.JobFailed, ExitCode: 9, Log: "stale"})
		if !podium.IsCode(err, podium.ECONFLICT) {
			t.Fatalf("stale finish: want ECONFLICT, got %v", err)
		}
		done, err := db.JobFinish(ctx, &dbprovider.JobFinishParams{ID: job.ID, Token: "t2", Status: podium.JobSucceeded, Log: "ok"})
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != podium.JobSucceeded || done.NodeID != "n2" || done.ExitCode == nil || *done.ExitCode != 0 {
			t.Fatalf("final record: %+v", done)
		}
		atts, err := db.JobAttemptList(ctx, []int64{job.ID})
		if err != nil || len(atts) != 2 {
			t.Fatalf("attempts: %v %v", atts, err)
		}
		if a := atts[0]; a.NodeID != "n1" || a.Status != podium.AttemptAbandoned || a.Log != "stale" || a.Attempt != 1 {
			t.Fatalf("first attempt: %+v", a)
		}
		if a := atts[1]; a.NodeID != "n2" || a.Status != podium.AttemptSucceeded || a.Log != "ok" || a.Attempt != 2 || a.FinishedAt == nil {
			t.Fatalf("second attempt: %+v", a)
		}
	})
}

func TestJobStoreMaxAttemptsAndRelease(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "n1")
		cid := mustContent(t, db, "guid-2")
		due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		job, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: due, MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		// A release does not count as an attempt.
		if _, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: "r"}); err != nil {
			t.Fatal(err)
		}
		if err := db.JobRelease(ctx, job.ID, "r", "stopping"); err != nil {
			t.Fatal(err)
		}
		if j, _ := db.JobGet(ctx, job.ID); j.Status != podium.JobQueued || j.Attempts != 0 {
			t.Fatalf("after release: %+v", j)
		}
		for i, tok := range []string{"a", "b"} {
			if _, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: tok}); err != nil {
				t.Fatalf("claim %d: %v", i, err)
			}
			res := mustReclaim(t, ctx, db, 50*time.Millisecond)
			if i == 0 && len(res.Requeued) != 1 || i == 1 && len(res.Failed) != 1 {
				t.Fatalf("reclaim %d: %+v", i, res)
			}
		}
		j, err := db.JobGet(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != podium.JobFailed || j.Attempts != 2 || j.Error == "" || j.FinishedAt == nil {
			t.Fatalf("abandoned on every attempt: %+v", j)
		}
		if _, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: "c"}); !podium.IsCode(err, podium.ENOTFOUND) {
			t.Fatalf("failed job claimed again: %v", err)
		}
		atts, _ := db.JobAttemptList(ctx, []int64{job.ID})
		var statuses []string
		for _, a := range atts {
			statuses = append(statuses, a.Status)
		}
		if len(statuses) != 3 || statuses[0] != podium.AttemptReleased || statuses[2] != podium.AttemptAbandoned {
			t.Fatalf("attempt statuses: %v", statuses)
		}
	})
}

// Concurrent claimers, each on its own connection pool on PostgreSQL,
// never claim one job twice.
func TestJobClaimConcurrent(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		mustNode(t, db, "n1")
		const jobs = 30
		due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		for i := range jobs {
			cid := mustContent(t, db, "c-"+string(rune('a'+i)))
			if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, DueAt: due}); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			claimed = map[int64]int{}
			wg      sync.WaitGroup
		)
		for w := range 6 {
			wdb := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					j, err := wdb.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: string(rune('A'+w)) + time.Now().String()})
					if podium.IsCode(err, podium.ENOTFOUND) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					claimed[j.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(claimed) != jobs {
			t.Fatalf("claimed %d distinct jobs, want %d", len(claimed), jobs)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("job %d claimed %d times", id, n)
			}
		}
	})
}
