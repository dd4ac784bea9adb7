package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/scheduler"
)

// gatedScript is a render that says "started", waits until the file gate
// exists, then writes its output.
func gatedScript(gate string) string {
	return "echo started\nwhile [ ! -e '" + gate + "' ]; do sleep 0.05; done\necho good > \"$PODIUM_OUTPUT_DIR/index.html\"\n"
}

func waitRunningRender(t *testing.T, db dbprovider.Provider, contentID int64, match func(*podium.Render) bool) *podium.Render {
	t.Helper()
	var found *podium.Render
	testutil.WaitFor(t, 30*time.Second, "a running render", func() bool {
		list, err := db.RenderList(context.Background(), &dbprovider.RenderListParams{ContentID: contentID})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.Status == podium.RenderRunning && match(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// TestLateRenderOfLostClaimIsNotRecordedGood (issue 12, defect 12): a
// scheduled render whose job was reclaimed by another node while it ran
// finishes later; its render row is recorded failed, not ok, its output is
// not kept, and readers still see the previous good render.
func TestLateRenderOfLostClaimIsNotRecordedGood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, db := setup(t, "nobody")
	gate := filepath.Join(pidDir(t), "gate")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, id := deployReport(t, svc, u, gatedScript(gate), "1m")
	if task := waitTask(t, db, id, finished); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	c, _ = db.ContentGet(ctx, c.ID)
	good, err := db.RenderGetLatestGood(ctx, c.ID, *c.ActiveBundleID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(gate); err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: c.ID, DueAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	job, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: "claim-of-n1"})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, _, err := (&scheduler.RenderRunner{Publish: svc}).RunJob(ctx, job)
		done <- result{code, err}
	}()
	late := waitRunningRender(t, db, c.ID, func(r *podium.Render) bool { return r.JobID != nil && *r.JobID == job.ID })
	// Another node takes the job over once its heartbeat is older than
	// the (tiny) timeout, by the database clock.
	var reclaimed *dbprovider.JobReclaimResult
	testutil.WaitFor(t, 10*time.Second, "the job abandoned", func() bool {
		res, err := db.JobReclaimAbandoned(ctx, time.Millisecond)
		if err != nil {
			t.Fatalf("reclaim: %v", err)
		}
		reclaimed = res
		return len(res.Requeued)+len(res.Failed) > 0
	})
	if len(reclaimed.Requeued) != 1 {
		t.Fatalf("reclaim: %+v", reclaimed)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err == nil || res.code == 0 {
		t.Errorf("the late render reports success: code %d, %v", res.code, res.err)
	}
	r, err := db.RenderGet(ctx, late.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != podium.RenderFailed {
		t.Errorf("render of the lost claim recorded %q, want %q", r.Status, podium.RenderFailed)
	}
	if now, _ := db.RenderGetLatestGood(ctx, c.ID, *c.ActiveBundleID); now == nil || now.ID != good.ID {
		t.Errorf("readers see render %+v, want the previous good one %d", now, good.ID)
	}
	if _, err := os.Stat(svc.RenderDir(c.GUID, late.ID)); !os.IsNotExist(err) {
		t.Errorf("output of the fenced-out render kept: %v", err)
	}
}

// TestDeploymentOfDeadNodeIsNotActivated (issue 12, defect 1, the same
// fence for tasks): a deployment whose task another node failed (its node
// was taken for dead: stopped, or cut off from the database, for longer
// than the node timeout) cannot record its render good nor activate its
// bundle when its node comes back; the task keeps the reason it was
// failed with.
func TestDeploymentOfDeadNodeIsNotActivated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, db := setup(t, "nobody")
	gate := filepath.Join(pidDir(t), "gate")
	c, id := deployReport(t, svc, u, gatedScript(gate), "1m")
	waitRunningRender(t, db, c.ID, func(r *podium.Render) bool { return r.TaskID == id })
	// Node n1 stops (as the registry shows a node that was taken for
	// dead): any other node's sweep fails its tasks.
	if err := db.NodeSetStatus(ctx, "n1", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}
	failed, err := db.TaskFailOrphaned(ctx, &dbprovider.OrphanedParams{NodeID: "n2", NodeTimeout: time.Hour})
	if err != nil || len(failed) != 1 || failed[0].ID != id {
		t.Fatalf("orphaned tasks: %+v, %v", failed, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the late render to end", func() bool {
		list, _ := db.RenderList(ctx, &dbprovider.RenderListParams{ContentID: c.ID})
		return len(list) == 1 && list[0].Status != podium.RenderRunning
	})
	// Stop waits for the task goroutine to end.
	stopCtx, cancel := context.WithTimeout(ctx, testutil.Timeout(20*time.Second))
	defer cancel()
	if err := svc.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	list, _ := db.RenderList(ctx, &dbprovider.RenderListParams{ContentID: c.ID})
	if list[0].Status != podium.RenderFailed {
		t.Errorf("render of the dead node's task: %q, want failed", list[0].Status)
	}
	if c, _ := db.ContentGet(ctx, c.ID); c.ActiveBundleID != nil {
		t.Errorf("the dead node's deployment activated bundle %d", *c.ActiveBundleID)
	}
	task, _ := db.TaskGet(ctx, id, 0)
	if task.Code != 1 || task.Error != failed[0].Reason {
		t.Errorf("task: code %d error %q, want the orphan reason %q", task.Code, task.Error, failed[0].Reason)
	}
}
