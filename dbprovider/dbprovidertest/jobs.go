package dbprovidertest

import (
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testJobs: schedules (put, get, next due, enqueued once, delete) and a
// job's life (queued once per due time, listed and counted, claimed,
// released without counting an attempt, claimed again, finished, its
// attempts), and the node capacity registry. The only test of the shared
// database that creates jobs, so claims take its own.
func testJobs(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	node := uniq(t, "node")
	if _, err := p.NodeUpsert(ctx, nodeParams(node)); err != nil {
		t.Fatal(err)
	}
	if sc, err := p.ScheduleContent(ctx, c.GUID, owner.ID); err != nil || sc.ID != c.ID || sc.OwnerID != owner.ID || sc.ACLRole != "" {
		t.Fatalf("ScheduleContent = %+v, %v", sc, err)
	}
	_, err := p.ScheduleContent(ctx, "no-such-guid", owner.ID)
	AssertCode(t, err, podium.ENOTFOUND)

	now, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := now.Add(-time.Minute).Truncate(time.Second)
	if _, err := p.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: c.ID, Spec: "@every 1h", Timezone: "UTC", Enabled: true, NextRunAt: &next}); err != nil {
		t.Fatal(err)
	}
	sc, err := p.ScheduleGet(ctx, c.ID)
	if err != nil || sc.Spec != "@every 1h" || !sc.Enabled || sc.NextRunAt == nil || !sc.NextRunAt.Equal(next) {
		t.Fatalf("ScheduleGet = %+v, %v", sc, err)
	}
	if first, err := p.ScheduleNextDue(ctx); err != nil || first == nil || first.After(next) {
		t.Fatalf("ScheduleNextDue = %v, %v; want at most %s", first, err, next)
	}
	// Enqueue the due schedules (no other subtest has one): ours gets the
	// job of its due time and moves on to the next.
	later := next.Add(time.Hour)
	enqueued, err := p.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Limit: 100, MaxAttempts: 3,
		Plan: func(sc *podium.Schedule, _ time.Time) dbprovider.ScheduleStep {
			if sc.ContentID == c.ID {
				return dbprovider.ScheduleStep{Next: &later}
			}
			return dbprovider.ScheduleStep{Next: sc.NextRunAt}
		}})
	var job *podium.Job
	for _, j := range enqueued {
		if j.ContentID == c.ID {
			job = j
		}
	}
	if err != nil || job == nil || job.Status != podium.JobQueued || !job.DueAt.Equal(next) {
		t.Fatalf("ScheduleEnqueueDue = %+v, %v; want our job due %s", enqueued, err, next)
	}
	if sc, err := p.ScheduleGet(ctx, c.ID); err != nil || sc.NextRunAt == nil || !sc.NextRunAt.Equal(later) {
		t.Fatalf("schedule after ScheduleEnqueueDue = %+v, %v; want next run %s", sc, err, later)
	}
	again, err := p.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Limit: 100,
		Plan: func(sc *podium.Schedule, _ time.Time) dbprovider.ScheduleStep {
			return dbprovider.ScheduleStep{Next: sc.NextRunAt}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range again {
		if j.ContentID == c.ID {
			t.Fatalf("second ScheduleEnqueueDue queued our schedule again: %+v", j)
		}
	}

	if dup, inserted, err := p.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: c.ID, DueAt: next}); err != nil || inserted || dup.ID != job.ID {
		t.Fatalf("JobInsertDue of the queued due time = %+v %v, %v; want the same job", dup, inserted, err)
	}
	if got, err := p.JobGet(ctx, job.ID); err != nil || got.ContentID != c.ID || !got.DueAt.Equal(next) {
		t.Fatalf("JobGet = %+v, %v", got, err)
	}
	if list, err := p.JobList(ctx, &dbprovider.JobListParams{ContentID: c.ID}); err != nil || len(list) != 1 || list[0].ID != job.ID {
		t.Fatalf("JobList = %+v, %v", list, err)
	}
	if st, err := p.JobQueueStats(ctx); err != nil || st.Waiting < 1 || st.OldestWaiting <= 0 {
		t.Fatalf("JobQueueStats = %+v, %v; want our waiting job", st, err)
	}
	claimed, err := p.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: node, Token: "tok-1", Queues: []string{podium.QueueRender}})
	if err != nil || claimed.ID != job.ID || claimed.Attempts != 1 {
		t.Fatalf("JobClaim = %+v, %v", claimed, err)
	}
	if err := p.JobRelease(ctx, job.ID, "tok-1", "node stopped"); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.JobRelease(ctx, job.ID, "tok-1", "again"), podium.ECONFLICT)
	if got, _ := p.JobGet(ctx, job.ID); got.Status != podium.JobQueued || got.Attempts != 0 {
		t.Errorf("after JobRelease: status %s attempts %d; want queued and 0 (a release is not an attempt)", got.Status, got.Attempts)
	}
	claimed, err = p.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: node, Token: "tok-2", Queues: []string{podium.QueueRender}})
	if err != nil || claimed.ID != job.ID {
		t.Fatalf("JobClaim after release = %+v, %v", claimed, err)
	}
	if err := p.JobHeartbeat(ctx, job.ID, "tok-2"); err != nil {
		t.Fatal(err)
	}
	done, err := p.JobFinish(ctx, &dbprovider.JobFinishParams{ID: job.ID, Token: "tok-2", Status: podium.JobSucceeded, Log: "ok"})
	if err != nil || done.Status != podium.JobSucceeded {
		t.Fatalf("JobFinish = %+v, %v", done, err)
	}
	if atts, err := p.JobAttemptList(ctx, []int64{job.ID}); err != nil || len(atts) == 0 || atts[len(atts)-1].Log != "ok" {
		t.Errorf("JobAttemptList = %+v, %v", atts, err)
	}
	_, err = p.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: node, Token: "tok-3", Queues: []string{podium.QueueRender}})
	AssertCode(t, err, podium.ENOTFOUND)
	if res, err := p.JobReclaimAbandoned(ctx, time.Hour); err != nil || len(res.Requeued)+len(res.Failed) != 0 {
		t.Errorf("JobReclaimAbandoned with nothing abandoned = %+v, %v", res, err)
	}
	_, err = p.JobGet(ctx, -1)
	AssertCode(t, err, podium.ENOTFOUND)

	if err := p.JobNodeCapacitySet(ctx, node, 2); err != nil {
		t.Fatal(err)
	}
	if live, capacity, err := p.JobNodeCapacity(ctx, time.Hour); err != nil || live < 1 || capacity < 2 {
		t.Errorf("JobNodeCapacity = %d live, %d capacity, %v; want our node's 2", live, capacity, err)
	}

	if err := p.ScheduleDelete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = p.ScheduleGet(ctx, c.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.ScheduleDelete(ctx, c.ID), podium.ENOTFOUND)
}
