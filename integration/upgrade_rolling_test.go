package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestRollingUpgradePostgres is the proof of rolling upgrades under load.
// Three nodes of binary N serve behind the shipped HAProxy configuration
// while a client reads, logs in, deploys (polling each task) and writes
// and reads notes through the test code of each binary, and a schedule
// renders every second. The nodes are replaced one by one by binary N+1
// (SIGTERM, drain, start on the same address), which applies its expand
// migration at once and defers its contract migration (it drops a column
// that N writes); "migrate schema finalize" applies it at the end. Binary N
// started mid-upgrade (schema ahead of it, floor not) serves. Then:
// no client request failed, every acknowledged deployment is there, every
// due time of the schedule ran once at least and never twice at the same
// time, the feature N could not handle turned on only at finalize, and an
// N node started after finalize exits 3 at once.
func TestRollingUpgradePostgres(t *testing.T) {
	t.Parallel()
	r := &rollingRun{tb: t}
	r.setup()
	r.roll(2 * time.Second)
	f, _ := r.figures()
	t.Logf("FIGURES rolling upgrade: %d requests, %d failed; p99 steady %s, during the upgrade %s; upgrade %s; %d deployments",
		f.Sent, f.Failed, f.SteadyP99.Round(time.Millisecond), f.RollP99.Round(time.Millisecond), f.Duration.Round(time.Millisecond), f.Deployments)

	for _, fail := range f.Failures {
		t.Errorf("client request failed: %s", fail)
	}
	if f.Sent < 50 || f.Deployments < 3 {
		t.Errorf("the client loop did too little to prove anything: %d requests, %d deployments", f.Sent, f.Deployments)
	}

	// The first N+1 node deferred the contract migration, and the old
	// nodes held the upgrade up.
	if st := r.statusMid; len(st.Deferred) != 1 || st.Deferred[0].Version != rollingNPlus1 || len(st.HeldBy) != 2 ||
		!st.UpgradeInProgress || st.Floor != rollingN {
		t.Errorf("status after the first replacement: deferred %v, held by %v, in progress %t, floor %d; "+
			"want [00098], two N nodes, true, %d", st.Deferred, st.HeldBy, st.UpgradeInProgress, st.Floor, rollingN)
	}
	if res := r.haCheckMid; res.Status != hacheck.Warn || !strings.Contains(res.Detail, "upgrade in progress") {
		t.Errorf("ha check after the first replacement: version item %s %q; want warn, \"upgrade in progress\"", res.Status, res.Detail)
	}
	classes := map[string]schema.Class{}
	for _, s := range r.rehearsal.Steps {
		classes[s.Name] = s.Class
	}
	if !r.rehearsal.OK || !r.rehearsal.CanRoll || classes["00097_rolling_author.sql"] != schema.ClassExpand ||
		classes["00098_rolling_drop_legacy.sql"] != schema.ClassContract || !strings.Contains(r.rehearsal.Roll, "00098_rolling_drop_legacy.sql deferred") {
		t.Errorf("rehearsal before the upgrade: ok %t, can roll %t, classes %v, %q; want ok, can roll, 00097 expand, 00098 contract deferred",
			r.rehearsal.OK, r.rehearsal.CanRoll, classes, r.rehearsal.Roll)
	}
	if !r.midNServed {
		t.Error("binary N was not started mid-upgrade")
	}
	if !strings.Contains(r.finalizeOut, "applied 00098_rolling_drop_legacy.sql") {
		t.Errorf("finalize did not apply the contract migration:\n%s", r.finalizeOut)
	}
	if r.featureBefore || !r.featureAfter {
		t.Errorf("N+1 feature enabled before finalize %t, after %t; want false, true", r.featureBefore, r.featureAfter)
	}

	db := openPostgres(t, r.pg)
	ctx := testCtx(t)
	var legacy bool
	if err := db.DB().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_name = 'rolling_notes' AND column_name = 'legacy_flag')`).Scan(&legacy); err != nil || legacy {
		t.Errorf("legacy_flag after finalize: exists %t (%v); want dropped", legacy, err)
	}

	// Every acknowledged deployment is active on its content.
	r.client.mu.Lock()
	deployed := r.client.deployed
	r.client.mu.Unlock()
	for guid, bundleID := range deployed {
		var active *int64
		err := db.DB().QueryRowContext(ctx, `SELECT active_bundle_id FROM content WHERE guid = $1`, guid).Scan(&active)
		if err != nil || active == nil || *active != bundleID {
			t.Errorf("acknowledged deployment of bundle %d to %s lost: active bundle %v (%v)", bundleID, guid, active, err)
		}
	}

	// Every due time of the schedule ran, at least once, never twice at
	// the same time.
	testutil.WaitFor(t, 60*time.Second, "scheduled jobs settle", func() bool {
		var open int
		_ = db.DB().QueryRowContext(ctx, `SELECT count(*) FROM jobs j JOIN content c ON c.id = j.content_id
			WHERE c.guid = $1 AND j.status IN ('queued', 'running')`, r.schedGUID).Scan(&open)
		return open == 0
	})
	rows, err := db.DB().QueryContext(ctx, `SELECT j.id, j.due_at, j.status FROM jobs j JOIN content c ON c.id = j.content_id
		WHERE c.guid = $1 AND j.due_at >= $2 ORDER BY j.due_at`, r.schedGUID, r.steadyFrom)
	if err != nil {
		t.Fatal(err)
	}
	var dues []time.Time
	var ids []int64
	for rows.Next() {
		var id int64
		var due time.Time
		var status string
		if err := rows.Scan(&id, &due, &status); err != nil {
			t.Fatal(err)
		}
		if status != "succeeded" {
			t.Errorf("scheduled job %d due %s: %s, want succeeded", id, due.Format("15:04:05"), status)
		}
		dues, ids = append(dues, due), append(ids, id)
	}
	rows.Close()
	if span := r.rollTo.Sub(r.rollFrom); len(dues) < int(span/time.Second) {
		t.Errorf("%d scheduled jobs over an upgrade of %s: due times were skipped", len(dues), span)
	}
	for i := 1; i < len(dues); i++ {
		if !dues[i].Equal(dues[i-1].Add(time.Second)) {
			t.Errorf("due times not one second apart: %s then %s", dues[i-1].Format("15:04:05"), dues[i].Format("15:04:05"))
		}
	}
	atts, err := db.JobAttemptList(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	byJob := map[int64][]time.Time{}
	for _, a := range atts {
		if a.FinishedAt == nil {
			t.Errorf("job %d attempt %d never finished", a.JobID, a.Attempt)
			continue
		}
		byJob[a.JobID] = append(byJob[a.JobID], a.StartedAt, *a.FinishedAt)
	}
	for id, spans := range byJob {
		for i := 2; i < len(spans); i += 2 {
			if spans[i].Before(spans[i-1]) {
				t.Errorf("job %d: two attempts ran at the same time", id)
			}
		}
	}
	t.Logf("scheduled renders: %d due times, %d attempts", len(dues), len(atts))

	// Binary N started after finalize is refused at once.
	started := time.Now()
	again := nodetest.Start(t, nodetest.Options{Binary: r.binN, Name: "N-after-finalize", Postgres: r.pg, DataDir: r.data, Config: r.cfg})
	code, err := again.Wait(30 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("binary N after finalize: exit %d (%v), want 3\n%s", code, err, again.Log())
	}
	if d := time.Since(started); d > testutil.Timeout(10*time.Second) {
		t.Errorf("binary N after finalize took %s to exit 3", d)
	}
}
