package integration

import (
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestStalledNodeRenderNotRecordedGood (issue 12, defect 12): a node
// SIGSTOPped past the job heartbeat timeout while its scheduled render
// runs; another node reclaims the job and renders it again. When the
// stalled node resumes, its render (finished while it was stopped) is
// recorded failed, never ok, and readers see the new run's render.
func TestStalledNodeRenderNotRecordedGood(t *testing.T) {
	t.Parallel()
	nodes, db, _, guid := startSchedulerCluster(t, 2, 1, "3")
	byID := nodeOf(t, nodes)
	cid := contentID(t, db, guid)
	id := queueJobs(t, db, cid, 1)[0]
	first := waitRunning(t, db, id, 1)
	// The job is claimed before its render is recorded and its command
	// started: stop the node only once its render is recorded, so that
	// the stalled node has a render to lose (stopped earlier, it resumes
	// to a lost claim and never records one).
	testutil.WaitFor(t, 30*time.Second, "the first node's render recorded", func() bool {
		rs, err := db.RenderList(testCtx(t), &dbprovider.RenderListParams{ContentID: cid})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.JobID != nil && *r.JobID == id && r.NodeID == first.NodeID {
				return true
			}
		}
		return false
	})
	stale := byID[first.NodeID]
	testutil.WaitFor(t, 30*time.Second, "the first node's render command running", func() bool {
		return renderRunning(t, stale, "sleep")
	})
	if err := stale.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stale.Signal(syscall.SIGCONT) })
	second := waitRunning(t, db, id, 2)
	// The stalled node's render command (3 s) ends while its node is
	// stopped (a zombie it cannot reap yet): on resume, the node finds it
	// done.
	testutil.WaitFor(t, 30*time.Second, "the stalled node's render command ended", func() bool {
		return !renderRunning(t, stale, "sleep")
	})
	if err := stale.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stale.WaitLog(t, 20*time.Second, "completion rejected")
	testutil.WaitFor(t, 30*time.Second, "the new run to finish", func() bool {
		j, _ := jobState(t, db, id)
		return j.Status != podium.JobRunning
	})
	renders, err := db.RenderList(testCtx(t), &dbprovider.RenderListParams{ContentID: cid})
	if err != nil {
		t.Fatal(err)
	}
	var staleRender, newRender *podium.Render
	for _, r := range renders {
		if r.JobID == nil || *r.JobID != id {
			continue
		}
		switch r.NodeID {
		case first.NodeID:
			staleRender = r
		case second.NodeID:
			newRender = r
		}
	}
	if staleRender == nil || newRender == nil {
		t.Fatalf("renders of job %d: %+v; want one per node", id, renders)
	}
	if staleRender.Status != podium.RenderFailed {
		t.Errorf("render of the stalled node (claim lost): %q, want %q", staleRender.Status, podium.RenderFailed)
	}
	if newRender.Status != podium.RenderOK {
		t.Errorf("render of the new run: %q, want ok", newRender.Status)
	}
	good, err := db.RenderGetLatestGood(testCtx(t), cid, newRender.BundleID)
	if err != nil || good.ID != newRender.ID {
		t.Errorf("readers see render %+v (%v), want the new run's %d", good, err, newRender.ID)
	}
}
