package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// haFastConfig makes facts travel fast: a heartbeat every 200 ms.
const haFastConfig = "[HA]\nHeartbeatInterval = 200ms\nNodeTimeout = 5s\n"

// haCheck runs podium ha check --json on cfg and returns its results by
// item and its exit code.
func haCheck(t *testing.T, bin, cfg string, args ...string) (map[string]hacheck.Result, int, string) {
	t.Helper()
	return haCheckEnv(t, bin, nil, cfg, args...)
}

// haCheckEnv is haCheck with extra environment variables.
func haCheckEnv(t *testing.T, bin string, env []string, cfg string, args ...string) (map[string]hacheck.Result, int, string) {
	t.Helper()
	stdout, stderr, code := nodetest.Run(t, bin, env, append([]string{"ha", "check", "--config", cfg, "--json"}, args...)...)
	var list []hacheck.Result
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("ha check --json: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	out := map[string]hacheck.Result{}
	for _, r := range list {
		out[r.Item] = r
	}
	return out, code, stderr
}

// waitHACheck runs the check until every node has reported (the nodes
// item passes and names n nodes) and returns that run.
func waitHACheck(t *testing.T, bin, cfg string, n int, args ...string) (map[string]hacheck.Result, int) {
	t.Helper()
	var res map[string]hacheck.Result
	var code int
	testutil.WaitFor(t, 30*time.Second, "every node reports its facts", func() bool {
		res, code, _ = haCheck(t, bin, cfg, args...)
		r := res[hacheck.ItemNodes]
		// Two heartbeats after start, every marker written is seen.
		return r.Status == hacheck.Pass && len(r.Nodes) == n && res[hacheck.ItemDataDir].Status != hacheck.Fail
	})
	return res, code
}

// TestHACheckClusterPasses: two HA nodes on PostgreSQL sharing DataDir,
// with the same RunAs user, pass every item (exit 0). Leaving HA: with one
// node stopped, the remaining node passes alone, "single node".
func TestHACheckClusterPasses(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	bin := nodetest.Binary(t)
	conf := haFastConfig + "[Applications]\nRunAs = nobody\n"
	n1 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node1", Postgres: url, DataDir: data, Config: conf})
	n2 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node2", Postgres: url, DataDir: data, Config: conf})
	n1.WaitReady(t, 60*time.Second)
	n2.WaitReady(t, 60*time.Second)

	testutil.WaitFor(t, 30*time.Second, "ha check passes on two nodes", func() bool {
		_, code, _ := haCheck(t, bin, n1.ConfigPath)
		return code == 0
	})
	res, code, _ := haCheck(t, bin, n1.ConfigPath)
	if code != 0 {
		t.Fatalf("ha check exit %d, want 0: %+v", code, res)
	}
	for _, item := range []string{hacheck.ItemNodes, hacheck.ItemVersion, hacheck.ItemDatabase, hacheck.ItemDataDir, hacheck.ItemDirs,
		hacheck.ItemMetrics, hacheck.ItemClock, hacheck.ItemRunAs, hacheck.ItemSandbox, hacheck.ItemScheduling, hacheck.ItemDisk, hacheck.ItemConnections} {
		if r, ok := res[item]; !ok || r.Status != hacheck.Pass {
			t.Errorf("item %s: %+v, want pass", item, r)
		}
	}
	if r := res[hacheck.ItemDataDir]; !strings.Contains(r.Detail, "every node sees") || len(r.Nodes) != 2 {
		t.Errorf("data_dir: %+v, want both nodes seeing each other's markers", r)
	}
	if r := res[hacheck.ItemRunAs]; !strings.Contains(r.Detail, "nobody uid=65534") {
		t.Errorf("run_as: %+v, want nobody's uid as resolved by the nodes", r)
	}

	// The table form says the same, one row per item.
	stdout, _, code := nodetest.Run(t, bin, nil, "ha", "check", "--config", n1.ConfigPath)
	if code != 0 || strings.Count(stdout, "PASS") != 12 || !strings.Contains(stdout, "ITEM") {
		t.Errorf("table (exit %d), want 12 PASS rows:\n%s", code, stdout)
	}

	// Leaving HA: stop node2; node1 alone passes.
	n2.Stop(t)
	res, code, _ = haCheck(t, bin, n1.ConfigPath)
	if code != 0 || !strings.Contains(res[hacheck.ItemDataDir].Detail, "single node") {
		t.Errorf("single node: exit %d, data_dir %+v; want exit 0 and \"single node\"", code, res[hacheck.ItemDataDir])
	}
}

// TestHACheckJustAfterStart: two healthy nodes started together, with a
// slow heartbeat, are checked at once: the first node has not looked for
// the second's marker yet, which must never be reported as a failure
// (the command waits for the next heartbeat, or says pending).
func TestHACheckJustAfterStart(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	bin := nodetest.Binary(t)
	conf := "[HA]\nHeartbeatInterval = 15s\nNodeTimeout = 60s\n[Applications]\nRunAs = nobody\n"
	n1 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node1", Postgres: url, DataDir: data, Config: conf})
	n2 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node2", Postgres: url, DataDir: data, Config: conf})
	n1.WaitReady(t, 60*time.Second)
	n2.WaitReady(t, 60*time.Second)

	res, code, stderr := haCheck(t, bin, n1.ConfigPath)
	r := res[hacheck.ItemDataDir]
	if code != 0 || (r.Status != hacheck.Pass && r.Status != hacheck.Pending) {
		t.Fatalf("ha check just after start: exit %d, data_dir %+v, want exit 0 and pass or pending (stderr %s)", code, r, stderr)
	}
	if r.Status == hacheck.Pending && !strings.Contains(r.Detail, "has not looked for the markers since") {
		t.Errorf("pending data_dir: %+v, want the node that has not looked yet named", r)
	}
	testutil.WaitFor(t, 60*time.Second, "data_dir passes once the nodes heartbeat", func() bool {
		res, code, _ := haCheck(t, bin, n1.ConfigPath)
		return code == 0 && res[hacheck.ItemDataDir].Status == hacheck.Pass
	})
}

// TestHACheckMarkersBeforeRegistration: a node that another node sees as
// started must already have its markers in the shared DataDir. node1
// stalls (test hook) between registering and building its parts for
// longer than node2's heartbeat interval, so node2 lists the markers in
// that window; the check right after node1 is ready must not report the
// DataDir as unshared.
func TestHACheckMarkersBeforeRegistration(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	bin := nodetest.BinaryWithTags(t, "podium_testhooks")
	conf := "[HA]\nHeartbeatInterval = 10s\nNodeTimeout = 60s\n[Applications]\nRunAs = nobody\n"
	n2 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node2", Postgres: url, DataDir: data, Config: conf})
	n2.WaitReady(t, 60*time.Second)
	n1 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node1", Postgres: url, DataDir: data, Config: conf,
		Env: []string{"PODIUM_TEST_START_DELAY=11s"}})
	n1.WaitReady(t, 90*time.Second)
	var res map[string]hacheck.Result
	testutil.WaitFor(t, 30*time.Second, "both nodes report their facts", func() bool {
		res, _, _ = haCheck(t, bin, n2.ConfigPath)
		r := res[hacheck.ItemNodes]
		return r.Status == hacheck.Pass && len(r.Nodes) == 2
	})
	if r := res[hacheck.ItemDataDir]; r.Status != hacheck.Pass && r.Status != hacheck.Pending {
		t.Fatalf("data_dir just after node1 started: %+v, want pass or pending", r)
	}
}

// TestHACheckClusterFails: a DataDir that is not shared (markers not
// seen), different RunAs users (uids differ), and a node whose clock is
// skewed by 7 s (over ClockFailOffset: the check fails, and the node says
// so in its log and /__ping__ body) while another's 2 s skew only warns.
func TestHACheckClusterFails(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	// PODIUM_TEST_CLOCK_SKEW is compiled only into binaries with this tag.
	bin := nodetest.BinaryWithTags(t, "podium_testhooks")
	n1 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node1", Postgres: url, DataDir: t.TempDir(),
		Config: haFastConfig + "[Applications]\nRunAs = nobody\n", Env: []string{"PODIUM_TEST_CLOCK_SKEW=2s"}})
	n2 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node2", Postgres: url, DataDir: t.TempDir(),
		Config: haFastConfig + "[Applications]\nRunAs = daemon\n", Env: []string{"PODIUM_TEST_CLOCK_SKEW=7s"}})
	n1.WaitReady(t, 60*time.Second)
	n2.WaitReady(t, 60*time.Second)
	id1, id2 := nodeID(t, n1), nodeID(t, n2)

	var res map[string]hacheck.Result
	var code int
	testutil.WaitFor(t, 30*time.Second, "both nodes report", func() bool {
		res, code, _ = haCheck(t, bin, n1.ConfigPath)
		return res[hacheck.ItemNodes].Status == hacheck.Pass && len(res[hacheck.ItemNodes].Nodes) == 2
	})
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if r := res[hacheck.ItemDataDir]; r.Status != hacheck.Fail || !strings.Contains(r.Detail, "does not see the markers") || r.Action == "" {
		t.Errorf("data_dir: %+v, want fail: markers not seen, with what to do", r)
	}
	if r := res[hacheck.ItemRunAs]; r.Status != hacheck.Fail || !strings.Contains(r.Detail, "uid=65534") || !strings.Contains(r.Detail, "uid=1") {
		t.Errorf("run_as: %+v, want fail naming nobody (65534) and daemon (1)", r)
	}
	// The offset is measured over round trips (the shortest of the last
	// few): on a loaded machine the first may take a few hundred ms, so
	// allow half a second; 7 s stays far over ClockFailOffset (5 s).
	if r := res[hacheck.ItemClock]; r.Status != hacheck.Fail || len(r.Nodes) != 2 || !offsetNear(r.Detail, id2, 7*time.Second) {
		t.Errorf("clock: %+v, want fail with %s at 7s (and %s warned)", r, id2, id1)
	}
	// Passing items stay passing beside the failures.
	if r := res[hacheck.ItemVersion]; r.Status != hacheck.Pass {
		t.Errorf("version: %+v, want pass", r)
	}

	// The skewed node says so itself.
	_, body, err := n2.Ping()
	if err != nil {
		t.Fatal(err)
	}
	if ws, _ := json.Marshal(body["warnings"]); !strings.Contains(string(ws), "ClockFailOffset") {
		t.Errorf("node2 /__ping__ warnings = %s, want the clock offset warning", ws)
	}
	n2.WaitLog(t, 10*time.Second, "clock offset over [HA] ClockFailOffset")
	if _, body, _ := n1.Ping(); body["warnings"] != nil {
		t.Errorf("node1 (2 s skew, under the failure threshold) /__ping__ warnings = %v, want none", body["warnings"])
	}
}

// TestHACheckSQLite: a single node on SQLite (HA off) fails the database
// item with what to do, and exits 1.
func TestHACheckSQLite(t *testing.T) {
	t.Parallel()
	bin := nodetest.Binary(t)
	n := nodetest.StartNode(t, nodetest.Options{Binary: bin, Config: haFastConfig})
	res, code := waitHACheck(t, bin, n.ConfigPath, 1)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	r := res[hacheck.ItemDatabase]
	if r.Status != hacheck.Fail || !strings.Contains(r.Action, "podium migrate db") || !strings.Contains(r.Detail, "sqlite") {
		t.Errorf("database: %+v, want fail on sqlite telling to run podium migrate db", r)
	}
	if r := res[hacheck.ItemDataDir]; r.Status != hacheck.Pass || r.Detail != "single node" {
		t.Errorf("data_dir: %+v, want a trivial pass for a single node", r)
	}
}

// offsetNear reports whether detail ("offsets: ID 6.996s, ...") gives node
// id an offset within 100ms of want.
func offsetNear(detail, id string, want time.Duration) bool {
	m := regexp.MustCompile(regexp.QuoteMeta(id) + ` (-?[0-9.]+m?s)`).FindStringSubmatch(detail)
	if m == nil {
		return false
	}
	got, err := time.ParseDuration(m[1])
	if err != nil {
		return false
	}
	return (got - want).Abs() <= 500*time.Millisecond
}
