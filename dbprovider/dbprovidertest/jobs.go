package dbprovidertest

import (
	"fmt"
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
	nodes, err := p.JobNodeList(ctx, time.Hour)
	found := false
	for _, nc := range nodes {
		found = found || nc.ID == node && nc.Concurrency == 2
	}
	if err != nil || !found {
		t.Errorf("JobNodeList = %+v, %v; want our node with concurrency 2", nodes, err)
	}

	if err := p.ScheduleDelete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = p.ScheduleGet(ctx, c.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.ScheduleDelete(ctx, c.ID), podium.ENOTFOUND)
}

// testHistoryPruneAndLeases: the outputs of a bundle's good renders are
// listed for pruning except the newest kept ones and then marked pruned;
// history pruning by age touches nothing younger than its bound (the
// shared database's other rows included); a lease is held by one holder
// at a time and released only by it.
func testHistoryPruneAndLeases(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := mustContent(t, p)
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for range 3 {
		r, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c.ID, BundleID: b.ID, NodeID: "n"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.RenderFinish(ctx, r.ID, podium.RenderOK); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	prune := &dbprovider.RenderPruneParams{ContentID: c.ID, BundleID: b.ID, Keep: 1, Limit: 10}
	old, err := p.RenderListUnpruned(ctx, prune)
	if err != nil || len(old) != 2 || old[0].ID != ids[1] || old[1].ID != ids[0] {
		t.Fatalf("RenderListUnpruned(keep 1) = %+v, %v; want renders %d and %d", old, err, ids[1], ids[0])
	}
	if err := p.RenderMarkPruned(ctx, []int64{ids[0], ids[1]}); err != nil {
		t.Fatal(err)
	}
	if left, err := p.RenderListUnpruned(ctx, prune); err != nil || len(left) != 0 {
		t.Fatalf("RenderListUnpruned after RenderMarkPruned = %+v, %v; want none", left, err)
	}
	longAgo := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if n, err := p.RenderHistoryPrune(ctx, longAgo, 100); err != nil || n != 0 {
		t.Errorf("RenderHistoryPrune(before 2001) = %d, %v; want 0", n, err)
	}
	if n, err := p.JobHistoryPrune(ctx, longAgo, 100); err != nil || n != 0 {
		t.Errorf("JobHistoryPrune(before 2001) = %d, %v; want 0", n, err)
	}
	if got, err := p.RenderGet(ctx, ids[0]); err != nil || got.ID != ids[0] {
		t.Errorf("a pruned render's row is gone before its time: %+v, %v", got, err)
	}

	lease := uniq(t, "lease")
	acquire := func(holder string) bool {
		t.Helper()
		ok, err := p.LeaseAcquire(ctx, lease, holder, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !acquire("a") {
		t.Fatal("a cannot take a free lease")
	}
	if acquire("b") {
		t.Fatal("b took a's live lease")
	}
	if err := p.LeaseRelease(ctx, lease, "b"); err != nil {
		t.Fatal(err)
	}
	if acquire("b") {
		t.Fatal("b's release freed a's lease")
	}
	if err := p.LeaseRelease(ctx, lease, "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire("b") {
		t.Fatal("b cannot take the lease a released")
	}
}

// testJobClaimBatchAndAhead (on a database of its own: it claims whatever
// is due): a schedule due within ScheduleEnqueueParams.Ahead is queued
// early but cannot be claimed before its due time; JobClaimBatch takes the
// oldest due jobs in due order, each under its own token and with its
// attempt recorded, and no more than are due.
func testJobClaimBatchAndAhead(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	node := uniq(t, "node")
	if _, err := p.NodeUpsert(ctx, nodeParams(node)); err != nil {
		t.Fatal(err)
	}
	now, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Three due jobs, and a schedule due in an hour.
	var due []*podium.Job
	for i := 3; i >= 1; i-- {
		j, inserted, err := p.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: c.ID, DueAt: now.Add(-time.Duration(i) * time.Minute).Truncate(time.Millisecond)})
		if err != nil || !inserted {
			t.Fatalf("JobInsertDue = %v, %v", inserted, err)
		}
		due = append(due, j)
	}
	c2, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: c.GUID + "-2", Name: c.Name + "-2", OwnerID: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	soon := now.Add(time.Hour).Truncate(time.Millisecond)
	if _, err := p.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: c2.ID, Spec: "@every 2h", Timezone: "UTC", Enabled: true, NextRunAt: &soon}); err != nil {
		t.Fatal(err)
	}
	plan := func(sc *podium.Schedule, _ time.Time) dbprovider.ScheduleStep {
		next := sc.NextRunAt.Add(2 * time.Hour)
		return dbprovider.ScheduleStep{Next: &next}
	}
	if jobs, err := p.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Ahead: time.Minute, Limit: 10, Plan: plan}); err != nil || len(jobs) != 0 {
		t.Fatalf("ScheduleEnqueueDue with the schedule an hour away, Ahead 1m = %+v, %v; want nothing queued", jobs, err)
	}
	ahead, err := p.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Ahead: 2 * time.Hour, Limit: 10, Plan: plan})
	if err != nil || len(ahead) != 1 || !ahead[0].DueAt.Equal(soon) || ahead[0].Skipped != 0 {
		t.Fatalf("ScheduleEnqueueDue with Ahead 2h = %+v, %v; want the job due in an hour, queued now", ahead, err)
	}

	claim := &dbprovider.JobClaimParams{NodeID: node, Token: "batch", Queues: []string{podium.QueueRender}}
	got, err := p.JobClaimBatch(ctx, claim, 2)
	if err != nil || len(got) != 2 || got[0].ID != due[0].ID || got[1].ID != due[1].ID {
		t.Fatalf("JobClaimBatch(2) = %+v, %v; want the two oldest due jobs %d, %d in due order", got, err, due[0].ID, due[1].ID)
	}
	for _, j := range got {
		if j.Status != podium.JobRunning || j.NodeID != node || j.Attempts != 1 || j.ClaimToken != fmt.Sprintf("batch.%d", j.ID) || j.ContentGUID != c.GUID {
			t.Errorf("claimed job = %+v; want running on %s, attempt 1, token batch.%d, guid %s", j, node, j.ID, c.GUID)
		}
		if err := p.JobHeartbeat(ctx, j.ID, j.ClaimToken); err != nil {
			t.Errorf("JobHeartbeat with the batch's token: %v", err)
		}
	}
	atts, err := p.JobAttemptList(ctx, []int64{got[0].ID, got[1].ID})
	if err != nil || len(atts) != 2 {
		t.Fatalf("JobAttemptList = %+v, %v; want one attempt per claimed job", atts, err)
	}
	// Only one job is due now: the one queued ahead is not, yet.
	got, err = p.JobClaimBatch(ctx, claim, 5)
	if err != nil || len(got) != 1 || got[0].ID != due[2].ID {
		t.Fatalf("JobClaimBatch(5) = %+v, %v; want only the last due job %d (not the one due in an hour)", got, err, due[2].ID)
	}
	_, err = p.JobClaimBatch(ctx, claim, 5)
	AssertCode(t, err, podium.ENOTFOUND)
	if j, err := p.JobGet(ctx, ahead[0].ID); err != nil || j.Status != podium.JobQueued {
		t.Fatalf("job queued ahead = %+v, %v; want still queued", j, err)
	}
}
