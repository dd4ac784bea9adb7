package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

// checkJSON runs "podium migrate db --check --json" and decodes its result.
func (s *cmdSetup) checkJSON(t *testing.T, args ...string) (*Result, string, int) {
	t.Helper()
	stdout, stderr, code := s.migrate(t, append([]string{"--check", "--json"}, args...)...)
	var res Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Check == nil {
		t.Fatalf("--check --json: exit %d, output is not a check result (%v):\n%s\n%s", code, err, stdout, stderr)
	}
	return &res, stderr, code
}

// TestCheckBesideRunningNode runs the preflight on the database of a real
// node that serves API requests which write to it all along: the check
// passes (exit 0), and every request of the node succeeds meanwhile.
func TestCheckBesideRunningNode(t *testing.T) {
	t.Parallel()
	s := newCmdSetup(t, migratetest.Small())
	node := nodetest.StartNode(t, nodetest.Options{Binary: s.bin, DataDir: s.dataDir,
		// The generated history is months old: keep it, so every row is checked.
		Config: "[Applications]\nHistoryRetention = 0s\n"})
	// user00003 is an admin in the generated data.
	key, stderr, code := nodetest.Run(t, s.bin, nil, "--config", node.ConfigPath, "keys", "create", "--username", "user00003")
	if code != 0 {
		t.Fatalf("keys create: exit %d: %s", code, stderr)
	}
	key = strings.TrimSpace(key)

	// Write load: content created one after the other until told to stop.
	ctx, stop := context.WithCancel(t.Context())
	var created, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			req, _ := http.NewRequestWithContext(ctx, "POST", node.URL+"/__api__/v1/content",
				strings.NewReader(fmt.Sprintf(`{"name":"load-%d"}`, i)))
			req.Header.Set("Authorization", "Key "+key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d", resp.StatusCode))
				continue
			}
			created.Add(1)
		}
	}()
	// The check starts once the load is running.
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "write load started", func() bool { return created.Load() >= 5 })
	before := created.Load()

	res, stderr, code := s.checkJSON(t)
	during := created.Load() - before
	stdout, stderr2, code2 := s.migrate(t, "--check")
	stop()
	wg.Wait()

	if code != 0 || !res.Check.OK {
		t.Fatalf("--check: exit %d, ok %v, problems %v\n%s", code, res.Check.OK, res.Check.Problems, stderr)
	}
	if tables := podiumTables(t, s.dbDir); len(res.Tables) != tables || res.Rows < int64(migratetest.Small().Total()) {
		t.Errorf("checked %d tables, %d rows; want %d and at least %d", len(res.Tables), res.Rows, tables, migratetest.Small().Total())
	}
	tg := res.Check.Target
	if !tg.Reachable || !strings.HasPrefix(tg.Server, "PostgreSQL ") || tg.HoldsPodiumData || !tg.CanCreateSchema {
		t.Errorf("target readiness %+v", tg)
	}
	if res.Check.EstimatedSeconds <= 0 || res.Check.RowsPerSecond <= 0 {
		t.Errorf("no estimate: %+v", res.Check)
	}
	if code2 != 0 || !strings.Contains(stdout, "OK: podium migrate db would succeed") || !strings.Contains(stdout, "role may create the schema: yes") {
		t.Errorf("--check: exit %d\n%s\n%s", code2, stdout, stderr2)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of the node's requests failed during the check (first: %v)", n, firstErr.Load())
	}
	if during == 0 {
		t.Error("no request completed while the check ran: it blocked the node")
	}
	// Nothing was written to the target either.
	if tables := pgTables(t, s.url); len(tables) != 0 {
		t.Errorf("target has tables %v after --check", tables)
	}
	if _, done := node.Exited(); done {
		t.Fatalf("the node exited:\n%s", node.Log())
	}
	t.Logf("%d rows checked in %.2fs while the node created %d content items", res.Rows, res.Check.ReadSeconds, during)
}

// TestCheckListsEveryRefusedValue runs the preflight on a database written
// before the parity migration, which holds values PostgreSQL refuses, while
// a writer (the older node) keeps writing to it: exit 1, every value
// listed with its table, row and column, and nothing written anywhere.
func TestCheckListsEveryRefusedValue(t *testing.T) {
	t.Parallel()
	s := &cmdSetup{bin: nodetest.Binary(t), dataDir: t.TempDir(), url: pgtest.NewDatabase(t)}
	s.dbDir = filepath.Join(s.dataDir, "db")
	if err := os.Rename(newSourceAt(t, migratetest.Small(), schema.ParityVersion-5), s.dbDir); err != nil {
		t.Fatal(err)
	}
	s.config = nodetest.WriteConfig(t, &nodetest.Options{DataDir: s.dataDir})
	bad := []struct{ stmt, table, key, column string }{
		{`UPDATE audit_log SET detail = '{"a": ' WHERE id = 7`, "audit_log", "(id=7)", "detail"},
		{`UPDATE audit_log SET detail = 'not json' WHERE id = 8`, "audit_log", "(id=8)", "detail"},
		{`UPDATE tasks SET result = '{"a": "x\u0000y"}' WHERE id = 'task-00000002'`, "tasks", `(id="task-00000002")`, "result"},
		{`UPDATE jobs SET max_attempts = 1099511627776 WHERE id = 3`, "jobs", "(id=3)", "max_attempts"},
		{`UPDATE content SET title = 'a' || char(0) || 'b' WHERE id = 3`, "content", "(id=3)", "title"},
		{`UPDATE users SET locked = 2 WHERE id = 2`, "users", "(id=2)", "locked"},
		{`UPDATE content SET settings = '[1,' WHERE id = 4`, "content", "(id=4)", "settings"},
	}
	for _, b := range bad {
		sqliteExec(t, s.dbDir, b.stmt)
	}
	// Podium's own output as that release stored it: the real run's
	// schema upgrade cleans it, so the check counts it, not refuses it.
	sqliteExec(t, s.dbDir, `UPDATE task_output SET line = 'a' || char(0) || 'b' WHERE task_id = 'task-00000003' AND line_no = 2`,
		`UPDATE job_attempts SET log = 'x' || char(0) WHERE id IN (1, 2)`)
	// The older node: it holds no lock here (a node would), and writes
	// all along.
	w, err := sqlite.Open(t.Context(), sqlite.Options{Dir: s.dbDir})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var writes atomic.Int64
	var writeErr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			_, err := w.DB().ExecContext(ctx, `INSERT INTO audit_log (at, action, detail) VALUES (?, 'load', '{}')`, time.Now().UTC())
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				writeErr.CompareAndSwap(nil, err.Error())
				return
			}
			writes.Add(1)
		}
	}()
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "writer started", func() bool { return writes.Load() >= 5 })

	res, stderr, code := s.checkJSON(t)
	stdout, _, code2 := s.migrate(t, "--check")
	stop()
	wg.Wait()
	if e := writeErr.Load(); e != nil {
		t.Errorf("the writer failed during the check: %v", e)
	}
	if code != 1 || res.Check.OK {
		t.Fatalf("--check: exit %d, ok %v; want 1 and not ok\n%s", code, res.Check.OK, stderr)
	}
	if code2 != 1 {
		t.Errorf("--check (text): exit %d, want 1", code2)
	}
	t.Logf("podium migrate db --check:\n%s", stdout)
	for _, b := range bad {
		found := false
		for _, r := range res.Check.Refused {
			if r.Table == b.table && r.Key == b.key && r.Column == b.column {
				found = true
			}
		}
		if !found {
			t.Errorf("--check --json does not list table %s, row %s, column %s: %+v", b.table, b.key, b.column, res.Check.Refused)
		}
		if line := fmt.Sprintf("table %s, row %s, column %s:", b.table, b.key, b.column); !strings.Contains(stdout, line) {
			t.Errorf("--check does not print %q:\n%s", line, stdout)
		}
	}
	var total int64
	for _, n := range res.Check.RefusedPerTable {
		total += n
	}
	if total != int64(len(bad)) || res.Check.RefusedPerTable["audit_log"] != 2 {
		t.Errorf("refused per table %v, want %d in all, 2 in audit_log", res.Check.RefusedPerTable, len(bad))
	}
	if c := res.Check.CleanedByUpgrade; c["task_output.line"] != 1 || c["job_attempts.log"] != 2 {
		t.Errorf("cleaned by the upgrade: %v, want task_output.line 1 and job_attempts.log 2", c)
	}
	if res.Check.SchemaUpgradeSeconds <= 0 || res.Check.EstimatedSeconds <= res.Check.SchemaUpgradeSeconds {
		t.Errorf("estimate %.2f s with schema upgrade %.2f s: the schema upgrade must be part of it",
			res.Check.EstimatedSeconds, res.Check.SchemaUpgradeSeconds)
	}
	if v, err := w.SchemaVersion(t.Context()); err != nil || v != schema.ParityVersion-5 {
		t.Errorf("source version %d, %v after --check: it must not be upgraded", v, err)
	}
	if tables := pgTables(t, s.url); len(tables) != 0 {
		t.Errorf("target has tables %v after --check", tables)
	}
}

// TestCheckTargetNotReady: an unreachable target is a problem found (exit
// 1), a target that already holds Podium data too; --check with --dry-run
// is a bad invocation (exit 2).
func TestCheckTargetNotReady(t *testing.T) {
	t.Parallel()
	s := newCmdSetup(t, migratetest.Sizes{Users: 2, Nodes: 1})
	before := fileSum(t, filepath.Join(s.dbDir, sqlite.FileName))
	good := s.url
	s.url = "postgres://nobody@127.0.0.1:1/podium?connect_timeout=2"
	res, _, code := s.checkJSON(t)
	if code != 1 || res.Check.Target.Reachable || len(res.Check.Problems) == 0 {
		t.Errorf("unreachable target: exit %d, %+v", code, res.Check)
	}
	s.url = good
	if res, _, code := s.checkJSON(t); code != 0 || !res.Check.OK {
		t.Errorf("empty target: exit %d, %+v", code, res.Check)
	}
	if fileSum(t, filepath.Join(s.dbDir, sqlite.FileName)) != before {
		t.Error("--check changed the SQLite file")
	}
	if _, stderr, code := s.migrate(t); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr)
	}
	res, _, code = s.checkJSON(t)
	if code != 1 || !res.Check.Target.HoldsPodiumData {
		t.Errorf("target with data: exit %d, %+v", code, res.Check)
	}
	if res, _, code = s.checkJSON(t, "--drop-all"); code != 0 || !res.Check.OK {
		t.Errorf("target with data, --drop-all: exit %d, %+v", code, res.Check)
	}
	if _, _, code := s.migrate(t, "--check", "--dry-run"); code != 2 {
		t.Errorf("--check --dry-run: exit %d, want 2", code)
	}
}
