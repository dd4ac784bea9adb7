package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestClusterStartsTogetherOnEmptyDatabase: three HA nodes started at the
// same moment on an empty PostgreSQL database all serve, and every
// migration was applied exactly once.
func TestClusterStartsTogetherOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	bin := nodetest.Binary(t)
	var nodes []*nodetest.Node
	for i := range 3 {
		nodes = append(nodes, nodetest.Start(t, nodetest.Options{Binary: bin, Name: fmt.Sprintf("node%d", i+1), Postgres: url, DataDir: data}))
	}
	for _, n := range nodes {
		n.WaitReady(t, 60*time.Second)
	}
	p := openPostgres(t, url)
	versions, err := schema.Versions("postgres")
	if err != nil {
		t.Fatal(err)
	}
	got := versionCounts(t, p.DB())
	for _, v := range versions {
		if got[v] != 1 {
			t.Errorf("version %d has %d rows in goose_db_version, want 1 (all: %v)", v, got[v], got)
		}
	}
	live, err := p.NodeListLive(testCtx(t), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 3 {
		t.Errorf("%d live nodes, want 3", len(live))
	}
	for _, n := range live {
		if n.Status != podium.NodeServing || !n.HAEnabled {
			t.Errorf("node %s: status %q ha %t; want serving, true", n.ID, n.Status, n.HAEnabled)
		}
	}
}

// TestPostgresRestartUnderRunningNodes: while PostgreSQL is down, nodes
// answer 503 and keep running; when it returns they serve again by
// themselves, the data is still there and heartbeats advance.
func TestPostgresRestartUnderRunningNodes(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	url := c.CreateDatabase(t, "podium")
	data := t.TempDir()
	// Heartbeat every second so that the outage is noticed quickly.
	cfg := "[HA]\nHeartbeatInterval = 1s\nNodeTimeout = 10s"
	var nodes []*nodetest.Node
	for i := range 2 {
		nodes = append(nodes, nodetest.StartNode(t, nodetest.Options{Name: fmt.Sprintf("node%d", i+1), Postgres: url, DataDir: data, Config: cfg}))
	}
	id := nodeID(t, nodes[0])
	p := openPostgres(t, url)
	ctx := testCtx(t)
	if err := p.SettingPut(ctx, "restart.test", "kept"); err != nil {
		t.Fatal(err)
	}
	before, err := p.NodeGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	c.Stop(t)
	for _, n := range nodes {
		testutil.WaitFor(t, 20*time.Second, n.Name+" answers 503 while PostgreSQL is down", func() bool { return pingStatus(n) == 503 })
	}
	for _, n := range nodes {
		if code, done := n.Exited(); done {
			t.Fatalf("%s exited (code %d) while PostgreSQL was down\n%s", n.Name, code, n.Log())
		}
	}

	c.Start(t)
	recovered := time.Now()
	for _, n := range nodes {
		testutil.WaitFor(t, 20*time.Second, n.Name+" answers 200 after PostgreSQL returned", func() bool { return pingStatus(n) == 200 })
	}
	t.Logf("nodes recovered %s after PostgreSQL accepted connections again", time.Since(recovered).Round(time.Millisecond))

	if v, err := p.SettingGet(ctx, "restart.test"); err != nil || v != "kept" {
		t.Fatalf("setting after restart = %q, %v; want kept", v, err)
	}
	testutil.WaitFor(t, 10*time.Second, "a heartbeat after the restart", func() bool {
		after, err := p.NodeGet(ctx, id)
		return err == nil && after.HeartbeatAt.After(before.HeartbeatAt) && after.Status == podium.NodeServing
	})
	for _, n := range nodes {
		if code := n.Stop(t); code != 0 {
			t.Errorf("%s: exit %d after SIGTERM\n%s", n.Name, code, n.Log())
		}
	}
}
