// Package dbprovidertest is the conformance suite every dbprovider.Provider
// must pass: migrations up, down to zero and up again through goose, the
// node registry (heartbeats on the database clock, liveness), settings,
// transactions, error codes, the schema version probe, the clock, and
// every other method of dbprovider.Executor: accounts, content, jobs and
// the audit log (TestSuiteCallsEveryExecutorMethod keeps it so).
//
// dbprovider/sqlite and dbprovider/postgres run it from their tests against
// a real database. It is for tests only.
package dbprovidertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// OpenFunc opens a provider on a fresh, empty database (no migrations
// applied) and closes it at the end of the test.
type OpenFunc func(tb testing.TB) dbprovider.Provider

// Run runs the conformance suite against the providers that open returns.
func Run(t *testing.T, open OpenFunc) {
	t.Run("SchemaVersionZeroBeforeMigrations", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		v, err := p.SchemaVersion(context.Background())
		if err != nil || v != 0 {
			t.Fatalf("SchemaVersion on an empty database = %d, %v; want 0, nil", v, err)
		}
	})
	t.Run("MigrateUpDownUp", func(t *testing.T) {
		t.Parallel()
		testMigrateUpDownUp(t, open(t))
	})
	t.Run("AuditPrune", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testAuditPrune(t, p)
	})

	// The rest share one migrated database; each subtest uses its own ids.
	shared := open(t)
	MustUp(t, shared)
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, p dbprovider.Provider)
	}{
		{"SchemaVersionIsLatest", testSchemaVersionLatest},
		{"Now", testNow},
		{"Ping", testPing},
		{"NodeUpsertGetList", testNodeUpsertGetList},
		{"NodeHeartbeatUsesDatabaseClock", testNodeHeartbeat},
		{"NodeListLiveTimeout", testNodeListLive},
		{"NodeSetStatus", testNodeSetStatus},
		{"ErrNotFound", testErrNotFound},
		{"Settings", testSettings},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"ContentSettings", testContentSettings},
		{"TaskList", testTaskList},
		{"RenderListRecent", testRenderListRecent},
		{"AuditLog", testAuditLog},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"LoginAttempts", testLoginAttempts},
		{"ContentLifecycle", testContentLifecycle},
		{"Jobs", testJobs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, shared)
		})
	}
}

// MustUp migrates p to the binary's latest schema or fails the test.
func MustUp(tb testing.TB, p dbprovider.Provider) {
	tb.Helper()
	if _, err := schema.Up(context.Background(), p, nil, schema.Options{}); err != nil {
		tb.Fatalf("schema up: %v", err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	t.Cleanup(cancel)
	return ctx
}

func testMigrateUpDownUp(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	gp, err := schema.NewGoose(p, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Close releases goose's own handle on PostgreSQL, and leaves the
	// SQLite writer open.
	t.Cleanup(func() { _ = gp.Close() })
	latest := schema.Latest()
	versions, err := schema.Versions(p.GooseDialect())
	if err != nil {
		t.Fatal(err)
	}
	up := func(step string) {
		res, err := gp.Up(ctx)
		if err != nil {
			t.Fatalf("%s: up: %v", step, err)
		}
		if len(res) != len(versions) {
			t.Errorf("%s: up applied %d migrations, want %d", step, len(res), len(versions))
		}
		if v, err := p.SchemaVersion(ctx); err != nil || v != latest {
			t.Fatalf("%s: SchemaVersion after up = %d, %v; want %d", step, v, err, latest)
		}
		// The schema works: a node can register.
		if _, err := p.NodeUpsert(ctx, nodeParams("migrate-"+step)); err != nil {
			t.Fatalf("%s: NodeUpsert after up: %v", step, err)
		}
	}
	up("first")
	res, err := gp.DownTo(ctx, 0)
	if err != nil {
		t.Fatalf("down to 0: %v", err)
	}
	if len(res) != len(versions) {
		t.Errorf("down to 0 reverted %d migrations, want %d", len(res), len(versions))
	}
	if v, err := p.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("SchemaVersion after down to 0 = %d, %v; want 0", v, err)
	}
	if _, err := p.NodeGet(ctx, "migrate-first"); err == nil {
		t.Fatal("NodeGet after down to 0 found the node: the nodes table should be gone")
	}
	up("second")
}

func nodeParams(id string) *dbprovider.NodeUpsertParams {
	return &dbprovider.NodeUpsertParams{
		ID: id, Hostname: "host-" + id, PID: 4242, Version: "test", SchemaVersion: schema.Latest(),
		Listen: "127.0.0.1:3939", Provider: "test", HAEnabled: true, Status: podium.NodeStarting,
		Info: map[string]any{"data_dir": "/data"},
	}
}

func testSchemaVersionLatest(t *testing.T, p dbprovider.Provider) {
	v, err := p.SchemaVersion(ctxT(t))
	if err != nil || v != schema.Latest() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, schema.Latest())
	}
	if _, err := schema.Check(ctxT(t), p); err != nil {
		t.Fatalf("schema.Check: %v", err)
	}
}

func testNow(t *testing.T, p dbprovider.Provider) {
	before := time.Now()
	now, err := p.Now(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if now.Location() != time.UTC {
		t.Errorf("Now() location = %v, want UTC", now.Location())
	}
	// Same machine: the database clock is within a second of ours.
	if d := now.Sub(before); d < -time.Second || d > 5*time.Second {
		t.Errorf("Now() = %v, %v away from the local clock", now, d)
	}
}

func testPing(t *testing.T, p dbprovider.Provider) {
	if err := p.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func testNodeUpsertGetList(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	n, err := p.NodeUpsert(ctx, nodeParams("upsert-a"))
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != "upsert-a" || n.Hostname != "host-upsert-a" || n.PID != 4242 || !n.HAEnabled ||
		n.Status != podium.NodeStarting || n.SchemaVersion != schema.Latest() || n.Info["data_dir"] != "/data" {
		t.Errorf("NodeUpsert returned %+v", n)
	}
	if n.StartedAt.IsZero() || n.HeartbeatAt.IsZero() || n.StoppedAt != nil {
		t.Errorf("NodeUpsert times: started %v, heartbeat %v, stopped %v", n.StartedAt, n.HeartbeatAt, n.StoppedAt)
	}
	// Upsert again: replaces, does not conflict.
	again := nodeParams("upsert-a")
	again.PID, again.HAEnabled = 7, false
	if _, err := p.NodeUpsert(ctx, again); err != nil {
		t.Fatalf("second NodeUpsert of the same id: %v", err)
	}
	got, err := p.NodeGet(ctx, "upsert-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != 7 || got.HAEnabled {
		t.Errorf("NodeGet after re-upsert: pid %d, ha %t; want 7, false", got.PID, got.HAEnabled)
	}
	if _, err := p.NodeUpsert(ctx, nodeParams("upsert-b")); err != nil {
		t.Fatal(err)
	}
	all, err := p.NodeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range all {
		seen[x.ID] = true
	}
	if !seen["upsert-a"] || !seen["upsert-b"] {
		t.Errorf("NodeList misses upsert-a or upsert-b: %v", seen)
	}
}

func testNodeHeartbeat(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	first, err := p.NodeUpsert(ctx, nodeParams("beat"))
	if err != nil {
		t.Fatal(err)
	}
	var hb *podium.Node
	// The heartbeat time comes from the database clock and moves forward.
	testutil.WaitFor(t, 5*time.Second, "a heartbeat later than registration", func() bool {
		hb, err = p.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: "beat", Status: podium.NodeServing,
			ClockOffset: 1500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return hb.HeartbeatAt.After(first.HeartbeatAt)
	})
	dbNow, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := dbNow.Sub(hb.HeartbeatAt); d < 0 || d > 5*time.Second {
		t.Errorf("heartbeat_at %v is %v before the database's now %v", hb.HeartbeatAt, d, dbNow)
	}
	if hb.Status != podium.NodeServing || hb.ClockOffset != 1500*time.Millisecond {
		t.Errorf("heartbeat: status %q offset %v; want serving, 1.5s", hb.Status, hb.ClockOffset)
	}
	if hb.Info["data_dir"] != "/data" {
		t.Errorf("heartbeat without Info changed info: %v", hb.Info)
	}
	if !hb.StartedAt.Equal(first.StartedAt) {
		t.Errorf("heartbeat changed started_at: %v -> %v", first.StartedAt, hb.StartedAt)
	}
	hb, err = p.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: "beat", Status: podium.NodeServing,
		Info: map[string]any{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if hb.Info["k"] != "v" {
		t.Errorf("heartbeat with Info: info = %v", hb.Info)
	}
}

func testNodeListLive(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	if _, err := p.NodeUpsert(ctx, nodeParams("live-a")); err != nil {
		t.Fatal(err)
	}
	live := func(timeout time.Duration) bool {
		nodes, err := p.NodeListLive(ctx, timeout)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.ID == "live-a" {
				return true
			}
		}
		return false
	}
	if !live(time.Hour) {
		t.Fatal("a node that just registered is not live with a 1h timeout")
	}
	// With a 50ms timeout, the node stops being live 50ms after its last
	// heartbeat (by the database clock).
	testutil.WaitFor(t, 5*time.Second, "live-a to time out", func() bool { return !live(50 * time.Millisecond) })
	if _, err := p.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: "live-a", Status: podium.NodeServing}); err != nil {
		t.Fatal(err)
	}
	if !live(time.Minute) {
		t.Fatal("a node that just heartbeated is not live")
	}
	if err := p.NodeSetStatus(ctx, "live-a", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}
	if live(time.Hour) {
		t.Fatal("a stopped node is live")
	}
}

func testNodeSetStatus(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	if _, err := p.NodeUpsert(ctx, nodeParams("status")); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{podium.NodeServing, podium.NodeDraining, podium.NodeStopped} {
		if err := p.NodeSetStatus(ctx, "status", st); err != nil {
			t.Fatalf("NodeSetStatus %s: %v", st, err)
		}
		n, err := p.NodeGet(ctx, "status")
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != st {
			t.Errorf("status = %q, want %q", n.Status, st)
		}
		if (st == podium.NodeStopped) != (n.StoppedAt != nil) {
			t.Errorf("status %s: stopped_at = %v", st, n.StoppedAt)
		}
	}
	// Registering again clears stopped_at.
	n, err := p.NodeUpsert(ctx, nodeParams("status"))
	if err != nil {
		t.Fatal(err)
	}
	if n.StoppedAt != nil || n.Status != podium.NodeStarting {
		t.Errorf("re-register: status %q stopped_at %v", n.Status, n.StoppedAt)
	}
}

// AssertCode fails the test unless err carries the podium code want.
func AssertCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("error = nil, want %s", want)
	}
	var pe *podium.Error
	if !errors.As(err, &pe) {
		tb.Fatalf("error %v (%T) is not a *podium.Error, want %s", err, err, want)
	}
	if got := podium.ErrorCode(err); got != want {
		tb.Fatalf("error code = %s (%v), want %s", got, err, want)
	}
}

func testErrNotFound(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, err := p.NodeGet(ctx, "nobody")
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: "nobody", Status: podium.NodeServing})
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.NodeSetStatus(ctx, "nobody", podium.NodeStopped), podium.ENOTFOUND)
	_, err = p.SettingGet(ctx, "no.such.setting")
	AssertCode(t, err, podium.ENOTFOUND)
}

func testSettings(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	if err := p.SettingPut(ctx, "conformance.k", "one"); err != nil {
		t.Fatal(err)
	}
	if err := p.SettingPut(ctx, "conformance.k", "two"); err != nil {
		t.Fatalf("SettingPut of an existing key: %v", err)
	}
	v, err := p.SettingGet(ctx, "conformance.k")
	if err != nil || v != "two" {
		t.Fatalf("SettingGet = %q, %v; want two", v, err)
	}
}

func testTxCommit(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.SettingPut(ctx, "tx.commit", "yes"); err != nil {
		t.Fatal(err)
	}
	if v, err := tx.SettingGet(ctx, "tx.commit"); err != nil || v != "yes" {
		t.Fatalf("read own write in tx = %q, %v", v, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("Rollback after Commit = %v, want nil", err)
	}
	if v, err := p.SettingGet(ctx, "tx.commit"); err != nil || v != "yes" {
		t.Fatalf("after commit: %q, %v", v, err)
	}
}

func testTxRollback(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.SettingPut(ctx, "tx.rollback", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.NodeUpsert(ctx, nodeParams("tx-rollback")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	_, err = p.SettingGet(ctx, "tx.rollback")
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.NodeGet(ctx, "tx-rollback")
	AssertCode(t, err, podium.ENOTFOUND)
}
