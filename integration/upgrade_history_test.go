package integration

import (
	"crypto/sha256"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// historyJobs is how many finished jobs the upgrade test adds to what the
// old node wrote (each with an attempt and a render record, and a line of
// task output per 4): enough for the upgrade to take a few seconds, so
// that the test can kill it in the middle.
const historyJobs = 80_000

// TestUpgradeFromEarliestRelease: a node of the earliest supported release
// (EarliestRelease, schema 30) runs a scheduled report whose output holds
// NUL bytes and invalid UTF-8, with ScheduleConcurrency = 5000000000; its
// history is grown to months' worth. "migrate db --check" on that file
// changes nothing and counts what the upgrade cleans. The current binary
// then starts on it: /__ping__ says 503 with the phase while it migrates,
// and the test kills it in the middle of 00035; restarted, it resumes
// from the last finished table and serves without any hand edit: every
// row is still there (the new retention deletes nothing unasked), the old
// output is cleaned and counted, progress lines were logged. "migrate db"
// then moves it all to PostgreSQL, verified.
func TestUpgradeFromEarliestRelease(t *testing.T) {
	t.Parallel()
	oldBin := nodetest.ReleaseBinary(t, EarliestRelease)
	bin := nodetest.Binary(t)
	data, state := sharedDataDir(t), t.TempDir()
	const appConfig = "[Applications]\nRunAs = nobody\nScheduleConcurrency = 5000000000\nJobPollInterval = 200ms\n"
	// The old release knows fewer keys than nodetest's configuration file
	// has: it gets its settings from the environment.
	oldEnv := []string{"PODIUM_SERVER_DATADIR=" + data, "PODIUM_SERVER_STATEDIR=" + state, "PODIUM_APPLICATIONS_RUNAS=nobody",
		"PODIUM_APPLICATIONS_SCHEDULECONCURRENCY=5000000000", "PODIUM_APPLICATIONS_JOBPOLLINTERVAL=200ms"}
	old := nodetest.StartNode(t, nodetest.Options{Binary: oldBin, Name: "release-2026-11-26", NoConfig: true, Dir: t.TempDir(),
		DataDir: data, StateDir: state, Env: oldEnv})
	if _, body, _ := old.Ping(); body["schema"] != float64(30) {
		t.Fatalf("the earliest release serves schema %v, want 30", body["schema"])
	}

	// The old release's own code paths: a user and key by its CLI, a
	// report deployed and scheduled through its API, rendered by its
	// scheduler, the output stored as that release stored it.
	if _, stderr, code := nodetest.Run(t, oldBin, oldEnv, "users", "create",
		"--username", "pub", "--role", "publisher", "--no-password"); code != 0 {
		t.Fatalf("old users create: %d %s", code, stderr)
	}
	key, stderr, code := nodetest.Run(t, oldBin, oldEnv, "keys", "create", "--username", "pub")
	if code != 0 {
		t.Fatalf("old keys create: %d %s", code, stderr)
	}
	api := &apiClient{t: t, base: old.URL, key: strings.TrimSpace(key)}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "printf 'frame 1\\000 done\\nprice: 12\\351 EUR\\n'\necho ok > \"$PODIUM_OUTPUT_DIR/index.html\"\n"
	if err := os.WriteFile(filepath.Join(dir, "render.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m := `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["/bin/sh", "render.sh"], "timeout": "60s"}}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	guid := deployApp(t, api, "nul-report", dir)
	if code := api.do("PUT", "/__api__/v1/content/"+guid+"/schedule", strings.NewReader(`{"spec": "@every 1s"}`), nil); code != 200 {
		t.Fatalf("PUT schedule on the old node: %d", code)
	}
	raw := rawSQLite(t, data)
	var cid, bundleID int64
	var taskID string
	if err := raw.QueryRow(`SELECT id, active_bundle_id FROM content WHERE guid = ?`, guid).Scan(&cid, &bundleID); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 60*time.Second, "three scheduled renders whose logs hold NUL and invalid UTF-8", func() bool {
		var n int
		_ = raw.QueryRow(`SELECT count(*) FROM job_attempts WHERE instr(CAST(log AS BLOB), x'00') > 0 AND instr(CAST(log AS BLOB), x'e9') > 0`).Scan(&n)
		return n >= 3
	})
	if code := old.Stop(t); code != 0 {
		t.Fatalf("old node stop: exit %d\n%s", code, old.Log())
	}
	if err := raw.QueryRow(`SELECT id FROM tasks ORDER BY created_at LIMIT 1`).Scan(&taskID); err != nil {
		t.Fatal(err)
	}
	var conc int64
	if err := raw.QueryRow(`SELECT max(schedule_concurrency) FROM nodes`).Scan(&conc); err != nil || conc != 5_000_000_000 {
		t.Fatalf("the old node stored schedule_concurrency %d (%v), want 5000000000", conc, err)
	}
	growHistory(t, raw, cid, bundleID, taskID, historyJobs)
	before := tableCounts(t, raw)
	var badLogs int64
	if err := raw.QueryRow(`SELECT count(*) FROM job_attempts WHERE instr(CAST(log AS BLOB), x'00') > 0 OR instr(CAST(log AS BLOB), x'e9') > 0`).Scan(&badLogs); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	t.Logf("history of the old node: %s; %d attempt logs with NUL or invalid UTF-8", formatTableCounts(before), badLogs)

	// The preflight on the old file: changes nothing, refuses nothing,
	// counts what the upgrade cleans, and its estimate has the upgrade.
	pg := pgtest.NewDatabase(t)
	conf := nodetest.WriteConfig(t, &nodetest.Options{DataDir: data, StateDir: state, Config: appConfig})
	dbFile := filepath.Join(data, "db", sqlite.FileName)
	sum := fileSHA(t, dbFile)
	pgEnv := []string{"PODIUM_POSTGRES_URL=" + pg}
	out, stderr, code := nodetest.Run(t, bin, pgEnv, "--config", conf, "migrate", "db", "--check", "--json")
	var check struct {
		Check struct {
			OK                   bool             `json:"ok"`
			Problems             []string         `json:"problems"`
			SchemaUpgradeSeconds float64          `json:"schema_upgrade_seconds"`
			EstimatedSeconds     float64          `json:"estimated_seconds"`
			Cleaned              map[string]int64 `json:"cleaned_by_upgrade"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(out), &check); err != nil || code != 0 || !check.Check.OK {
		t.Fatalf("migrate db --check on the old file: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	if check.Check.Cleaned["job_attempts.log"] != badLogs || check.Check.Cleaned["nodes.schedule_concurrency"] == 0 ||
		check.Check.SchemaUpgradeSeconds <= 0 || check.Check.EstimatedSeconds <= check.Check.SchemaUpgradeSeconds {
		t.Errorf("--check: cleaned %v (want job_attempts.log %d and the node's concurrency), estimate %.1f s with %.1f s of schema upgrade",
			check.Check.Cleaned, badLogs, check.Check.EstimatedSeconds, check.Check.SchemaUpgradeSeconds)
	}
	if fileSHA(t, dbFile) != sum {
		t.Error("migrate db --check changed the SQLite file")
	}

	// The upgrade, killed in the middle of 00035.
	opts := nodetest.Options{Binary: bin, Name: "upgrade-killed", DataDir: data, StateDir: state, Config: appConfig}
	first := nodetest.Start(t, opts)
	var phases []string
	killed := false
	deadline := time.Now().Add(testutil.Timeout(120 * time.Second))
	for !killed && time.Now().Before(deadline) {
		if _, done := first.Exited(); done {
			break
		}
		status, body, err := first.Ping()
		if err == nil && status == 503 {
			ph, _ := body["phase"].(string)
			if len(phases) == 0 || phases[len(phases)-1] != ph {
				phases = append(phases, ph)
			}
			// Past a few tables, not at the last: jobs and job_attempts
			// are the long ones.
			if strings.Contains(ph, "00035_parity.sql: table jobs") || strings.Contains(ph, "00035_parity.sql: table job_attempts") {
				first.Kill(t)
				killed = true
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !killed {
		t.Fatalf("never saw the upgrade at table jobs or job_attempts on /__ping__ (phases %q)\n%s", phases, first.Log())
	}
	t.Logf("/__ping__ phases before the kill: %q", phases)
	raw = rawSQLite(t, data)
	var v int64
	var rebuilt int
	if err := raw.QueryRow(`SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil || v != 30 {
		t.Errorf("version after the kill: %d %v, want 30", v, err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND sql LIKE '%CONSTRAINT%'`).Scan(&rebuilt); err != nil || rebuilt == 0 {
		t.Errorf("tables rebuilt before the kill: %d %v, want some", rebuilt, err)
	}
	var integrity string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Errorf("integrity_check after the kill: %q %v", integrity, err)
	}
	_ = raw.Close()

	// The killed run had cleaned Podium's own data, and said so.
	for _, want := range []string{`"upgrade progress"`, `"column":"log"`, `"table":"job_attempts"`, `"clamped":1`} {
		if !strings.Contains(first.Log(), want) {
			t.Errorf("the killed node's log lacks %s", want)
		}
	}

	opts.Name = "upgrade-resumed"
	started := time.Now()
	node := nodetest.Start(t, opts)
	node.WaitReady(t, 10*time.Minute)
	t.Logf("resumed upgrade: serving %s after the restart (%d tables were rebuilt before the kill)", time.Since(started).Round(time.Millisecond), rebuilt)
	node.WaitLog(t, 60*time.Second, "history retention on hold")
	log := node.Log()
	for _, want := range []string{`"upgrade progress"`, `resuming: `, `history retention on hold`, `ScheduleConcurrency is out of range: clamped`} {
		if !strings.Contains(log, want) {
			t.Errorf("the resumed node's log lacks %s", want)
		}
	}
	if status, body, err := node.Ping(); err != nil || status != 200 || body["schema"] != float64(schema.Latest()) {
		t.Fatalf("after the upgrade: %d %v %v", status, body, err)
	}
	// The retention pass has run (its notice is logged): nothing deleted.
	raw = rawSQLite(t, data)
	after := tableCounts(t, raw)
	for tb, n := range before {
		if after[tb] < n {
			t.Errorf("table %s: %d rows before the upgrade, %d after", tb, n, after[tb])
		}
	}
	if after["jobs"] > before["jobs"]+50 || after["renders"] > before["renders"]+50 {
		t.Errorf("rows after %s, before %s", formatTableCounts(after), formatTableCounts(before))
	}
	var stillBad, cleaned int64
	if err := raw.QueryRow(`SELECT count(*) FROM job_attempts WHERE instr(CAST(log AS BLOB), x'00') > 0`).Scan(&stillBad); err != nil || stillBad != 0 {
		t.Errorf("%d attempt logs still hold NUL (%v)", stillBad, err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM job_attempts WHERE log LIKE '%' || char(65533) || '%'`).Scan(&cleaned); err != nil || cleaned == 0 {
		t.Errorf("%d attempt logs show U+FFFD (%v), want the invalid bytes replaced visibly", cleaned, err)
	}
	if err := raw.QueryRow(`SELECT max(schedule_concurrency) FROM nodes`).Scan(&conc); err != nil || conc != math.MaxInt32 {
		t.Errorf("schedule_concurrency %d %v, want clamped to %d", conc, err, math.MaxInt32)
	}
	// The new binary's own renders of the same report are recorded.
	testutil.WaitFor(t, 60*time.Second, "a render of the new binary recorded", func() bool {
		var n int
		_ = raw.QueryRow(`SELECT count(*) FROM job_attempts WHERE node_id <> 'old-node' AND started_at > ? AND status = 'succeeded'`,
			started.UTC().Format("2006-01-02 15:04:05")).Scan(&n)
		return n > 0
	})
	_ = raw.Close()
	if code := node.Stop(t); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}

	// Then to PostgreSQL: everything, verified.
	out, stderr, code = nodetest.Run(t, bin, pgEnv, "--config", conf, "migrate", "db", "--json")
	var moved struct {
		Rows   int64 `json:"rows"`
		Tables []struct {
			Name     string `json:"table"`
			Rows     int64  `json:"rows"`
			Verified bool   `json:"verified"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &moved); err != nil || code != 0 {
		t.Fatalf("migrate db: exit %d %v\n%s\n%s", code, err, out, stderr)
	}
	raw = rawSQLite(t, data)
	final := tableCounts(t, raw)
	for _, tb := range moved.Tables {
		if !tb.Verified || tb.Rows != final[tb.Name] {
			t.Errorf("table %s: %d rows copied (verified %v), SQLite has %d", tb.Name, tb.Rows, tb.Verified, final[tb.Name])
		}
	}
	t.Logf("moved %d rows in %d tables to PostgreSQL, each verified", moved.Rows, len(moved.Tables))
	_ = podium.CleanText // the rule the upgrade applied to the old output
}

func fileSHA(tb testing.TB, path string) [32]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return sha256.Sum256(b)
}
