// Package dbprovidertest is the conformance suite every dbprovider.Provider
// must pass: migrations up, down to zero and up again through goose, the
// node registry (heartbeats on the database clock, liveness), settings,
// transactions, error codes, the schema version probe, the clock, and
// every other method of dbprovider.Executor: accounts, content, jobs and
// the audit log and usage (TestSuiteCallsEveryExecutorMethod keeps it so).
//
// dbprovider/sqlite and dbprovider/postgres run it from their tests against
// a real database. It is for tests only.
package dbprovidertest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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
		if vs, err := p.SchemaVersionList(context.Background()); err != nil || len(vs) != 0 {
			t.Fatalf("SchemaVersionList on an empty database = %v, %v; want none", vs, err)
		}
	})
	t.Run("MigrateUpDownUp", func(t *testing.T) {
		t.Parallel()
		testMigrateUpDownUp(t, open(t))
	})
	t.Run("JobClaimBatchAndAhead", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testJobClaimBatchAndAhead(t, p)
	})
	t.Run("AuditPrune", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testAuditPrune(t, p)
	})
	t.Run("MigrationLock", func(t *testing.T) {
		t.Parallel()
		testMigrationLock(t, open(t))
	})
	t.Run("EnforcesColumnTypes", func(t *testing.T) {
		t.Parallel()
		testEnforcesColumnTypes(t, open(t))
	})
	t.Run("Timeouts", func(t *testing.T) {
		t.Parallel()
		testTimeouts(t, open(t))
	})
	t.Run("DropInvalidIndexes", func(t *testing.T) {
		t.Parallel()
		testDropInvalidIndexes(t, open(t))
	})
	t.Run("ErrorDetail", func(t *testing.T) {
		t.Parallel()
		testErrorDetail(t, open(t))
	})
	t.Run("MigrationRecover", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testMigrationRecover(t, p)
	})
	t.Run("TableRebuild", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testTableRebuild(t, p)
	})
	t.Run("ConstraintCheck", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testConstraintCheck(t, p)
	})
	t.Run("HistoryCount", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testHistoryCount(t, p)
	})
	t.Run("Usage", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testUsage(t, p)
	})
	t.Run("UsageBatchSizes", func(t *testing.T) {
		t.Parallel()
		p := open(t)
		MustUp(t, p)
		testUsageBatchSizes(t, p)
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
		{"ConnectionLimit", testConnectionLimit},
		{"NodeUpsertGetList", testNodeUpsertGetList},
		{"NodeHeartbeatUsesDatabaseClock", testNodeHeartbeat},
		{"NodeListLiveTimeout", testNodeListLive},
		{"NodeSetStatus", testNodeSetStatus},
		{"ErrNotFound", testErrNotFound},
		{"Settings", testSettings},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"OrphanedWorkOfDeadNodes", testOrphanedWork},
		{"FencedFinish", testFencedFinish},
		{"ContentNameUniquePerOwner", testContentNameUnique},
		{"ContentEnvSetList", testContentEnv},
		{"ContentActivateSetsLastDeployed", testContentLastDeployed},
		{"HotQueriesUseIndexes", testHotQueriesUseIndexes},
		{"ContentSettings", testContentSettings},
		{"TaskList", testTaskList},
		{"RenderListRecent", testRenderListRecent},
		{"AuditLog", testAuditLog},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"LoginAttempts", testLoginAttempts},
		{"UserProfile", testUserProfile},
		{"UserIdentities", testUserIdentities},
		{"Groups", testGroups},
		{"ContentGroupACL", testContentGroupACL},
		{"UserDelete", testUserDelete},
		{"ContentLifecycle", testContentLifecycle},
		{"Tags", testTags},
		{"Vanities", testVanities},
		{"Git", testGit},
		{"Jobs", testJobs},
		{"HistoryPruneAndLeases", testHistoryPruneAndLeases},
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
	// Every migration three times (up, down, up) under the race detector:
	// about 10 s alone on SQLite, past 30 s on a loaded machine, so this
	// one test gets a longer deadline than the rest.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(120*time.Second))
	t.Cleanup(cancel)
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
	all, err := schema.List(p.GooseDialect())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := p.SchemaVersionList(ctxT(t))
	if err != nil || len(vs) != len(all) || !slices.IsSorted(vs) || vs[len(vs)-1] != schema.Latest() {
		t.Fatalf("SchemaVersionList after migrating up = %v, %v; want the %d versions ascending, up to %d", vs, err, len(all), schema.Latest())
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
	for i, tc := range []struct {
		value   string
		changed bool
	}{{"three", true}, {"three", false}, {"four", true}} {
		if changed, err := p.SettingPutChanged(ctx, "conformance.k", tc.value); err != nil || changed != tc.changed {
			t.Fatalf("SettingPutChanged %d (%s) = %t, %v; want %t", i, tc.value, changed, err, tc.changed)
		}
	}
	for range 2 { // the second time, the key is not there: not an error
		if err := p.SettingDelete(ctx, "conformance.k"); err != nil {
			t.Fatalf("SettingDelete: %v", err)
		}
	}
	_, err = p.SettingGet(ctx, "conformance.k")
	AssertCode(t, err, podium.ENOTFOUND)
}

// testHistoryCount: JobHistoryCount and RenderHistoryCount count what
// JobHistoryPrune and RenderHistoryPrune would delete: finished jobs, and
// renders that keep no output (failed), finished before 'before'.
func testHistoryCount(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := mustContent(t, p)
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{podium.RenderOK, podium.RenderFailed} {
		r, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c.ID, BundleID: b.ID, NodeID: "n"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.RenderFinish(ctx, r.ID, status); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: c.ID, DueAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	job, err := p.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n", Token: "count"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.JobFinish(ctx, &dbprovider.JobFinishParams{ID: job.ID, Token: "count", Status: podium.JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	longAgo, later := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(time.Hour)
	for _, tc := range []struct {
		before        time.Time
		jobs, renders int64
	}{{longAgo, 0, 0}, {later, 1, 1}} {
		if n, err := p.JobHistoryCount(ctx, tc.before); err != nil || n != tc.jobs {
			t.Errorf("JobHistoryCount(%s) = %d, %v; want %d", tc.before, n, err, tc.jobs)
		}
		if n, err := p.RenderHistoryCount(ctx, tc.before); err != nil || n != tc.renders {
			t.Errorf("RenderHistoryCount(%s) = %d, %v; want %d (the failed render)", tc.before, n, err, tc.renders)
		}
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

// workFixture registers node id and gives it content with a bundle, so
// tasks and renders can be recorded for it.
func workFixture(t *testing.T, p dbprovider.Provider, id string) (contentID, bundleID int64) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := p.NodeUpsert(ctx, nodeParams(id)); err != nil {
		t.Fatal(err)
	}
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "owner-" + id, Role: podium.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "guid-" + id, Name: "c-" + id, OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, b.ID
}

// testOrphanedWork: the unfinished tasks and running renders of a node
// that stopped heartbeating, stopped or restarted are failed with a reason
// naming the node; those of live nodes, and the asking node's own current
// work, are not.
func testOrphanedWork(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	cid, bid := workFixture(t, p, "orphan-dead")
	cidLive, bidLive := workFixture(t, p, "orphan-live")
	task := func(id, node string) {
		if _, err := p.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: id, Kind: podium.TaskDeploy, NodeID: node}); err != nil {
			t.Fatal(err)
		}
		if err := p.TaskAppendOutput(ctx, &dbprovider.TaskAppendOutputParams{TaskID: id, Lines: []string{"working"}}); err != nil {
			t.Fatal(err)
		}
	}
	render := func(c, b int64, node string) int64 {
		r, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c, BundleID: b, NodeID: node})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	task("orphan-task-dead", "orphan-dead")
	task("orphan-task-live", "orphan-live")
	deadRender := render(cid, bid, "orphan-dead")
	liveRender := render(cidLive, bidLive, "orphan-live")
	params := &dbprovider.OrphanedParams{NodeID: "orphan-live", NodeTimeout: 200 * time.Millisecond}

	// orphan-live heartbeats; orphan-dead does not. Once orphan-dead's
	// heartbeat is older than the timeout, its work is failed.
	var failed []*dbprovider.OrphanedTask
	testutil.WaitFor(t, 10*time.Second, "the dead node's task to be failed", func() bool {
		if _, err := p.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: "orphan-live"}); err != nil {
			t.Fatal(err)
		}
		list, err := p.TaskFailOrphaned(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			if o.NodeID == "orphan-dead" || o.NodeID == "orphan-live" {
				failed = append(failed, o)
			}
		}
		return len(failed) > 0
	})
	if len(failed) != 1 || failed[0].ID != "orphan-task-dead" || !strings.Contains(failed[0].Reason, "node orphan-dead stopped heartbeating at") {
		t.Fatalf("failed tasks: %+v; want orphan-task-dead, node orphan-dead stopped heartbeating", failed)
	}
	got, err := p.TaskGet(ctx, "orphan-task-dead", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Finished || got.Code != 1 || got.Error != failed[0].Reason ||
		len(got.Output) != 2 || got.Output[1] != "Error: "+failed[0].Reason {
		t.Errorf("dead node's task: %+v", got)
	}
	// Its node's late end does not overwrite the verdict.
	err = p.TaskFinish(ctx, &dbprovider.TaskFinishParams{ID: "orphan-task-dead"})
	AssertCode(t, err, podium.ECONFLICT)
	AssertCode(t, p.TaskHold(ctx, "orphan-task-dead"), podium.ECONFLICT)
	if got, _ := p.TaskGet(ctx, "orphan-task-live", 0); got == nil || got.Finished {
		t.Errorf("live node's task: %+v, want unfinished", got)
	}
	ids, err := p.RenderFailOrphaned(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, deadRender) || slices.Contains(ids, liveRender) {
		t.Errorf("renders failed: %v; want %d and not %d", ids, deadRender, liveRender)
	}
	if r, _ := p.RenderGet(ctx, deadRender); r == nil || r.Status != podium.RenderFailed {
		t.Errorf("dead node's render: %+v", r)
	}
	AssertCode(t, p.RenderFinish(ctx, deadRender, podium.RenderOK), podium.ECONFLICT)

	// A restart (the same id registers again) orphans the work of the
	// previous run at once, even for the asking node itself.
	task("orphan-task-restart", "orphan-live")
	restarted := render(cidLive, bidLive, "orphan-live")
	time.Sleep(5 * time.Millisecond) // register strictly after, on a millisecond clock
	if _, err := p.NodeUpsert(ctx, nodeParams("orphan-live")); err != nil {
		t.Fatal(err)
	}
	list, err := p.TaskFailOrphaned(ctx, &dbprovider.OrphanedParams{NodeID: "orphan-live", NodeTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, o := range list {
		if o.NodeID == "orphan-live" {
			reasons = append(reasons, o.ID+": "+o.Reason)
		}
	}
	if len(reasons) != 2 || !strings.Contains(strings.Join(reasons, "\n"), "node orphan-live restarted") {
		t.Errorf("after a restart: %q; want orphan-task-live and orphan-task-restart failed as restarted", reasons)
	}
	ids, err = p.RenderFailOrphaned(ctx, &dbprovider.OrphanedParams{NodeID: "orphan-live", NodeTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, restarted) || !slices.Contains(ids, liveRender) {
		t.Errorf("renders failed after a restart: %v; want %d and %d", ids, restarted, liveRender)
	}
	// Work begun after the restart is the node's own: left alone.
	task("orphan-task-new", "orphan-live")
	fresh := render(cidLive, bidLive, "orphan-live")
	if list, _ := p.TaskFailOrphaned(ctx, &dbprovider.OrphanedParams{NodeID: "orphan-live", NodeTimeout: time.Hour}); len(list) != 0 {
		t.Errorf("work of the current run failed: %+v", list)
	}
	if ids, _ := p.RenderFailOrphaned(ctx, &dbprovider.OrphanedParams{NodeID: "orphan-live", NodeTimeout: time.Hour}); slices.Contains(ids, fresh) {
		t.Errorf("render of the current run failed: %v", ids)
	}
}

// testFencedFinish: a render is recorded good inside a transaction only
// while the job claim (JobHeartbeat) or the task (TaskHold) that fences it
// holds.
func testFencedFinish(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	cid, bid := workFixture(t, p, "fence")
	job, _, err := p.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: cid, Queue: podium.QueueNoop, DueAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := p.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "fence", Token: "fence-token-1", Queues: []string{podium.QueueNoop}})
	if err != nil || claimed.ID != job.ID {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	finish := func(r int64, token string) error {
		tx, err := p.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		if err := tx.JobHeartbeat(ctx, job.ID, token); err != nil {
			return err
		}
		if err := tx.RenderFinish(ctx, r, podium.RenderOK); err != nil {
			return err
		}
		return tx.Commit()
	}
	r1, _ := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: cid, BundleID: bid, JobID: job.ID, NodeID: "fence"})
	AssertCode(t, finish(r1.ID, "not-the-token"), podium.ECONFLICT)
	if r, _ := p.RenderGet(ctx, r1.ID); r.Status != podium.RenderRunning {
		t.Errorf("fenced-out render: %s, want still running", r.Status)
	}
	if err := finish(r1.ID, "fence-token-1"); err != nil {
		t.Fatalf("render under the current claim: %v", err)
	}
	if r, _ := p.RenderGet(ctx, r1.ID); r.Status != podium.RenderOK {
		t.Errorf("render under the current claim: %s, want ok", r.Status)
	}
}

// contentOwner creates a user and a content of theirs named name.
func contentOwner(t *testing.T, p dbprovider.Provider, username, name string) (*podium.User, *podium.Content) {
	t.Helper()
	ctx := ctxT(t)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: username, Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", u.ID), Name: name, OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return u, c
}

// testContentNameUnique: a name is unique per owner (ECONFLICT), and
// another owner may use it.
func testContentNameUnique(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, _ := contentOwner(t, p, "conf-name-a", "same")
	_, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "00000000-0000-4000-8000-00000000aaaa", Name: "same", OwnerID: u.ID})
	AssertCode(t, err, podium.ECONFLICT)
	contentOwner(t, p, "conf-name-b", "same")
}

// testContentEnv: set, replace, delete and list environment variables, in
// name order, with their bytes unchanged.
func testContentEnv(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := contentOwner(t, p, "conf-env", "env")
	set := func(params *dbprovider.ContentEnvSetParams) {
		t.Helper()
		params.ContentID = c.ID
		if err := p.ContentEnvSet(ctx, params); err != nil {
			t.Fatal(err)
		}
	}
	set(&dbprovider.ContentEnvSetParams{Set: []dbprovider.ContentEnvVar{{Name: "B", Value: []byte{0, 1, 2}}, {Name: "A", Value: []byte("x")}}})
	set(&dbprovider.ContentEnvSetParams{Set: []dbprovider.ContentEnvVar{{Name: "B", Value: []byte{9}}}, Delete: []string{"A", "NONE"}})
	list, err := p.ContentEnvList(ctx, c.ID)
	if err != nil || len(list) != 1 || list[0].Name != "B" || string(list[0].Value) != "\x09" {
		t.Fatalf("ContentEnvList = %+v, %v", list, err)
	}
}

// testContentLastDeployed: last_deployed_time is NULL until a bundle is
// activated.
func testContentLastDeployed(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, c := contentOwner(t, p, "conf-deployed", "site")
	if c.LastDeployedAt != nil {
		t.Fatalf("new content has last_deployed_time %v", c.LastDeployedAt)
	}
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: make([]byte, 32), CreatedBy: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	c, err = p.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b.ID, AppMode: "static"})
	if err != nil || c.LastDeployedAt == nil {
		t.Fatalf("after activation: %+v, %v", c, err)
	}
}

// testMigrationLock: MigrationLockTryTx takes the migration lock for a
// transaction, and a second session cannot take it until the first ends;
// SessionWaitsOnLock sees a session that waits for a row another
// transaction holds, and no longer once it got it. SQLite: the process
// holds the database exclusively, so the lock is always taken and no
// session waits.
func testMigrationLock(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	db := migrationDB(t, p)
	tx1, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx1.Rollback() }()
	if got, err := p.MigrationLockTryTx(ctx, tx1); err != nil || !got {
		t.Fatalf("MigrationLockTryTx on a free lock: %t, %v; want true", got, err)
	}
	id1, err := p.SessionID(ctx, tx1)
	if err != nil {
		t.Fatal(err)
	}
	if waits, err := p.SessionWaitsOnLock(ctx, id1); err != nil || waits {
		t.Fatalf("SessionWaitsOnLock of a session that runs nothing: %t, %v; want false", waits, err)
	}
	if !p.SupportsHA() {
		if id1 != 0 {
			t.Errorf("SessionID on %s: %d, want 0 (one connection writes)", p.Name(), id1)
		}
		return
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE lock_probe (id integer PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx1.ExecContext(ctx, `INSERT INTO lock_probe VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	tx2, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx2.Rollback() }()
	if got, err := p.MigrationLockTryTx(ctx, tx2); err != nil || got {
		t.Fatalf("MigrationLockTryTx while another session holds it: %t, %v; want false", got, err)
	}
	id2, err := p.SessionID(ctx, tx2)
	if err != nil || id2 == id1 {
		t.Fatalf("SessionID of a second session: %d, %v (first %d)", id2, err, id1)
	}
	// tx2 inserts the key tx1 inserted and has not committed: it waits
	// for tx1 to end.
	done := make(chan error, 1)
	go func() {
		_, err := tx2.ExecContext(ctx, `INSERT INTO lock_probe VALUES (1)`)
		done <- err
	}()
	testutil.WaitFor(t, 10*time.Second, "the second session to wait on the first's lock", func() bool {
		waits, err := p.SessionWaitsOnLock(ctx, id2)
		return err == nil && waits
	})
	if err := tx1.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the second session's insert after the first rolled back: %v", err)
	}
	testutil.WaitFor(t, 10*time.Second, "the second session to stop waiting", func() bool {
		waits, err := p.SessionWaitsOnLock(ctx, id2)
		return err == nil && !waits
	})
}

// testEnforcesColumnTypes: EnforcesColumnTypes says what the database
// does with text stored in an integer column that has no CHECK: refuse it
// (true) or keep it (false).
func testEnforcesColumnTypes(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	db := migrationDB(t, p)
	var err error
	if _, err := db.ExecContext(ctx, `CREATE TABLE type_probe (n integer)`); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO type_probe (n) VALUES ('not a number')`)
	if enforced := err != nil; enforced != p.EnforcesColumnTypes() {
		t.Fatalf("%s: EnforcesColumnTypes %t, but storing text in an integer column gave %v",
			p.Name(), p.EnforcesColumnTypes(), err)
	}
	if err == nil {
		var got string
		if err := db.QueryRowContext(ctx, `SELECT n FROM type_probe`).Scan(&got); err != nil || got != "not a number" {
			t.Fatalf("%s kept %q, %v; want the text as stored", p.Name(), got, err)
		}
	}
}

// testTimeouts: SetLockTimeout holds for the session until set back to
// the default (0); SetTxTimeouts holds inside the transaction only;
// SetApplicationName names the session. PostgreSQL reports them in SHOW
// (and the name in pg_stat_activity); SQLite has nothing to set and must
// accept the calls.
func testTimeouts(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	db := migrationDB(t, p)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	show := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}, name string) string {
		var v string
		if err := q.QueryRowContext(ctx, `SHOW `+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := p.SetLockTimeout(ctx, conn, 1500*time.Millisecond); err != nil {
		t.Fatalf("SetLockTimeout: %v", err)
	}
	if p.SupportsHA() {
		if got := show(conn, "lock_timeout"); got != "1500ms" {
			t.Errorf("lock_timeout after SetLockTimeout(1.5s): %q", got)
		}
	}
	if err := p.SetLockTimeout(ctx, conn, 0); err != nil {
		t.Fatalf("SetLockTimeout(0): %v", err)
	}
	if p.SupportsHA() {
		if got := show(conn, "lock_timeout"); got != "0" {
			t.Errorf("lock_timeout after SetLockTimeout(0): %q, want the default 0", got)
		}
	}
	if err := p.SetApplicationName(ctx, conn, "podium conformance"); err != nil {
		t.Fatalf("SetApplicationName: %v", err)
	}
	if p.SupportsHA() {
		if got := show(conn, "application_name"); got != "podium conformance" {
			t.Errorf("application_name after SetApplicationName: %q", got)
		}
		// Seen by other sessions too, which is what it is for.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'podium conformance'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("sessions named \"podium conformance\" in pg_stat_activity: %d, %v; want 1", n, err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := p.SetTxTimeouts(ctx, tx, 2500*time.Millisecond, 3500*time.Millisecond); err != nil {
		t.Fatalf("SetTxTimeouts: %v", err)
	}
	if !p.SupportsHA() {
		return
	}
	if l, s := show(tx, "lock_timeout"), show(tx, "statement_timeout"); l != "2500ms" || s != "3500ms" {
		t.Errorf("in the transaction after SetTxTimeouts(2.5s, 3.5s): lock_timeout %q, statement_timeout %q", l, s)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if l, s := show(conn, "lock_timeout"), show(conn, "statement_timeout"); l != "0" || s != "0" {
		t.Errorf("after the transaction: lock_timeout %q, statement_timeout %q, want the defaults 0", l, s)
	}
}

// testDropInvalidIndexes: an index a failed unique build left behind
// (PostgreSQL: CREATE UNIQUE INDEX CONCURRENTLY over duplicates leaves it
// invalid) is dropped; a valid index, and a name that matches none, are
// left alone.
func testDropInvalidIndexes(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	db := migrationDB(t, p)
	for _, q := range []string{`CREATE TABLE index_probe (a integer, b integer)`,
		`INSERT INTO index_probe VALUES (1, 1), (1, 2)`, `CREATE INDEX index_probe_b ON index_probe (b)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	build := `CREATE UNIQUE INDEX index_probe_a ON index_probe (a)`
	if p.SupportsHA() {
		build = `CREATE UNIQUE INDEX CONCURRENTLY index_probe_a ON index_probe (a)`
	}
	if _, err := db.ExecContext(ctx, build); err == nil {
		t.Fatal("a unique index over duplicates was built")
	}
	indexes := func() []string {
		q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'index_probe' ORDER BY name`
		if p.SupportsHA() {
			q = `SELECT indexname FROM pg_indexes WHERE tablename = 'index_probe' ORDER BY indexname`
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := []string{"index_probe_b"}
	if p.SupportsHA() {
		want = []string{"index_probe_a", "index_probe_b"} // the invalid one stays until dropped
	}
	if got := indexes(); !slices.Equal(got, want) {
		t.Fatalf("indexes after the failed build: %v, want %v", got, want)
	}
	if err := p.DropInvalidIndexes(ctx, db, []string{"index_probe_a", "index_probe_b", "no_such_index"}); err != nil {
		t.Fatalf("DropInvalidIndexes: %v", err)
	}
	if got := indexes(); !slices.Equal(got, []string{"index_probe_b"}) {
		t.Fatalf("indexes after DropInvalidIndexes: %v, want only the valid index_probe_b", got)
	}
}

// testErrorDetail: ErrorDetail describes the database's own errors, even
// wrapped, and says which are a lock timeout or a canceled statement
// (what the migrations' retries and the rehearsal's report go by);
// errors that are not the database's are not described. SQLite
// describes none.
func testErrorDetail(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	if _, ok := p.ErrorDetail(errors.New("not the database's")); ok {
		t.Errorf("ErrorDetail of a plain error: ok, want false")
	}
	db := migrationDB(t, p)
	_, syntaxErr := db.ExecContext(ctx, `SELEC 1`)
	if syntaxErr == nil {
		t.Fatal("SELEC 1 did not fail")
	}
	de, ok := p.ErrorDetail(fmt.Errorf("wrapped: %w", syntaxErr))
	if !p.SupportsHA() {
		if ok {
			t.Errorf("ErrorDetail on %s: %+v, want none", p.Name(), de)
		}
		return
	}
	if !ok || de.Code != "42601" || !strings.Contains(de.Message, "syntax error") || de.LockTimeout || de.Deadlock || de.Canceled {
		t.Fatalf("ErrorDetail of a syntax error: %+v, %t; want SQLSTATE 42601, a syntax error, no timeout", de, ok)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE error_probe (id integer PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	tx1, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx1.Rollback() }()
	if _, err := tx1.ExecContext(ctx, `LOCK TABLE error_probe`); err != nil {
		t.Fatal(err)
	}
	tx2, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx2.Rollback() }()
	if _, err := tx2.ExecContext(ctx, `SET LOCAL lock_timeout = '50ms'`); err != nil {
		t.Fatal(err)
	}
	_, err = tx2.ExecContext(ctx, `LOCK TABLE error_probe`)
	if de, ok := p.ErrorDetail(err); !ok || !de.LockTimeout || de.Canceled || de.Deadlock {
		t.Fatalf("ErrorDetail of a lock wait beyond lock_timeout (%v): %+v, %t; want LockTimeout", err, de, ok)
	}
	tx3, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx3.Rollback() }()
	if _, err := tx3.ExecContext(ctx, `SET LOCAL statement_timeout = '50ms'`); err != nil {
		t.Fatal(err)
	}
	_, err = tx3.ExecContext(ctx, `SELECT pg_sleep(5)`)
	if de, ok := p.ErrorDetail(err); !ok || !de.Canceled || de.LockTimeout {
		t.Fatalf("ErrorDetail of a statement beyond statement_timeout (%v): %+v, %t; want Canceled", err, de, ok)
	}
}

// testMigrationRecover: after MigrationRecover on a database no failed
// migration left in disorder, writes go on and foreign keys hold (the
// state a failed migration leaves is the dialect's own: see the SQLite
// provider's TestMigrationRecoverAfterHalfMigration).
func testMigrationRecover(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	if err := p.MigrationRecover(ctx); err != nil {
		t.Fatalf("MigrationRecover: %v", err)
	}
	if err := p.SettingPut(ctx, "recover_probe", "1"); err != nil {
		t.Fatalf("a write after MigrationRecover: %v", err)
	}
	if _, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: 1 << 40, SHA256: make([]byte, 32)}); err == nil {
		t.Fatal("a bundle of content that does not exist was stored after MigrationRecover: foreign keys are off")
	}
}

// testConnectionLimit: a database several nodes share reports its
// connection limit, with fewer reserved connections than that; SQLite
// has none.
func testConnectionLimit(t *testing.T, p dbprovider.Provider) {
	maxConns, reserved, err := p.ConnectionLimit(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.SupportsHA() && (maxConns <= 0 || reserved < 0 || reserved >= maxConns) {
		t.Fatalf("ConnectionLimit: %d, %d reserved; want a limit above the reserved ones", maxConns, reserved)
	}
	if !p.SupportsHA() && (maxConns != 0 || reserved != 0) {
		t.Fatalf("ConnectionLimit on %s: %d, %d; want 0, 0 (no limit)", p.Name(), maxConns, reserved)
	}
}

// RawDB returns the handle that writes of a database provider (both
// dialects' providers have a DB method, which dbprovider.Provider does not
// name), for tests that set up or inspect rows with their own SQL. Fails
// the test for a provider without one.
func RawDB(tb testing.TB, p any) *sql.DB {
	tb.Helper()
	r, ok := p.(interface{ DB() *sql.DB })
	if !ok {
		tb.Fatalf("%T has no DB handle", p)
	}
	return r.DB()
}

// migrationDB returns p's migration handle, closed at the end of the test
// when the provider opened it for the caller.
func migrationDB(t *testing.T, p dbprovider.Provider) *sql.DB {
	t.Helper()
	db, owned, err := p.MigrationDB()
	if err != nil {
		t.Fatal(err)
	}
	if owned {
		t.Cleanup(func() { _ = db.Close() })
	}
	return db
}
