package schema_test

import (
	"database/sql"
	"io/fs"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// at30 returns a SQLite database at schema 30 (the release of 2026-11-26)
// filled with the small data set, and a raw handle that writes as that
// release did (without the provider's UTF-8 check).
func at30(t *testing.T) (*sqlite.Provider, *sql.DB) {
	t.Helper()
	p := openSQLite(t)
	gp, err := schema.NewGoose(p, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.UpTo(ctxT(t), 30); err != nil {
		t.Fatal(err)
	}
	if err := migratetest.Fill(ctxT(t), p.DB(), migratetest.Small(), 1); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+p.Path()+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return p, raw
}

func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctxT(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func counts(t *testing.T, db *sql.DB, tables ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tb := range tables {
		var n int64
		if err := db.QueryRowContext(ctxT(t), "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

var historyTables = []string{"jobs", "job_attempts", "renders", "tasks", "task_output", "nodes", "audit_log"}

// TestUpgradeCleansOwnData: what schema 30 stored of Podium's own output
// (NUL bytes, invalid UTF-8 in job logs and task output) and runtime state
// (a ScheduleConcurrency of 5000000000) is made valid by the upgrade, with
// the count per table and column logged; every row stays, progress lines
// are logged.
func TestUpgradeCleansOwnData(t *testing.T) {
	t.Parallel()
	p, raw := at30(t)
	mustExec(t, raw,
		`UPDATE job_attempts SET log = 'a' || char(0) || 'b' WHERE id IN (1, 2, 3)`,
		`UPDATE job_attempts SET log = 'x' || CAST(x'ff' AS TEXT) || 'y' WHERE id IN (4, 5)`,
		`UPDATE task_output SET line = 'p' || char(0) || CAST(x'c3' AS TEXT) WHERE rowid = 7`,
		// Two columns of one row: cleaned together (the provider refuses a
		// new row with invalid UTF-8 in any column).
		`UPDATE job_attempts SET log = CAST(x'ff' AS TEXT), error = CAST(x'fe' AS TEXT) WHERE id = 6`,
		`UPDATE nodes SET schedule_concurrency = 5000000000`,
	)
	before := counts(t, raw, historyTables...)
	l, hook := logtest.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	m, err := schema.Up(ctxT(t), p, logrus.NewEntry(l), schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != schema.Latest() || len(m.Applied) == 0 || m.Applied[0].Name != "00035_parity.sql" {
		t.Errorf("migrated %+v, want every migration from 00035 on", m)
	}
	if after := counts(t, p.DB(), historyTables...); len(after) != len(before) || after["job_attempts"] != before["job_attempts"] ||
		after["jobs"] != before["jobs"] || after["task_output"] != before["task_output"] || after["renders"] != before["renders"] {
		t.Errorf("rows before %v, after %v: every row must stay", before, after)
	}
	var log1, log4, line string
	var conc int64
	db := p.DB()
	if err := db.QueryRow(`SELECT log FROM job_attempts WHERE id = 1`).Scan(&log1); err != nil || log1 != "ab" {
		t.Errorf("attempt 1 log %q %v, want the NUL removed", log1, err)
	}
	if err := db.QueryRow(`SELECT log FROM job_attempts WHERE id = 4`).Scan(&log4); err != nil || log4 != "x\uFFFDy" {
		t.Errorf("attempt 4 log %q %v, want the bad byte shown as U+FFFD", log4, err)
	}
	if err := db.QueryRow(`SELECT line FROM task_output WHERE rowid = 7`).Scan(&line); err != nil || line != "p\uFFFD" {
		t.Errorf("task output line %q %v", line, err)
	}
	if err := db.QueryRow(`SELECT max(schedule_concurrency) FROM nodes`).Scan(&conc); err != nil || conc != math.MaxInt32 {
		t.Errorf("schedule_concurrency %d %v, want clamped to %d", conc, err, math.MaxInt32)
	}
	want := map[string]logrus.Fields{
		"job_attempts.log":           {"rows": int64(6), "nul_removed": int64(3), "invalid_utf8_replaced": int64(3)},
		"job_attempts.error":         {"rows": int64(1), "invalid_utf8_replaced": int64(1)},
		"task_output.line":           {"rows": int64(1)},
		"nodes.schedule_concurrency": {"clamped": int64(2)},
	}
	progress := 0
	for _, e := range hook.AllEntries() {
		if e.Message == "upgrade progress" {
			progress++
		}
		tc, _ := e.Data["table"].(string)
		col, _ := e.Data["column"].(string)
		w, ok := want[tc+"."+col]
		if !ok || !strings.HasPrefix(e.Message, "upgrade:") {
			continue
		}
		for k, v := range w {
			if e.Data[k] != v {
				t.Errorf("log line for %s.%s: %s = %v, want %v (%v)", tc, col, k, e.Data[k], v, e.Data)
			}
		}
		delete(want, tc+"."+col)
	}
	if len(want) > 0 {
		t.Errorf("no log line counting %v", want)
	}
	if progress < 3 {
		t.Errorf("%d progress lines, want one per phase and table at least", progress)
	}
}

// TestUpgradeRefusesUserValues: values users entered are never changed:
// the refusal counts them per table and column, lists the first few rows,
// writes every row to a file it names, names the repair command, and
// changes nothing.
func TestUpgradeRefusesUserValues(t *testing.T) {
	t.Parallel()
	p, raw := at30(t)
	mustExec(t, raw,
		`UPDATE content SET title = 'a' || char(0) WHERE id <= 5`,
		`UPDATE job_attempts SET log = 'a' || char(0) || 'b' WHERE id = 1`, // own data: not refused
	)
	dir := t.TempDir()
	before := dumpSQLite(t, p.DB())
	_, err := schema.Up(ctxT(t), p, nil, schema.Options{ReportDir: dir})
	if podium.ErrorCode(err) != podium.EREFUSED {
		t.Fatalf("Up = %v, want EREFUSED", err)
	}
	msg := podium.ErrorMessage(err)
	for _, w := range []string{"content.title 5;", "… and 2 more in content.title", "podium migrate schema repair --dry-run", "nothing was changed",
		"1 value(s) of Podium's own output"} {
		if !strings.Contains(msg, w) {
			t.Errorf("refusal lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "job_attempts") {
		t.Errorf("refusal names Podium's own data:\n%s", msg)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || !strings.Contains(msg, files[0].Name()) {
		t.Fatalf("report files %v; want one, named in the message", files)
	}
	b, _ := os.ReadFile(dir + "/" + files[0].Name())
	if n := strings.Count(string(b), "\ncontent\t"); n != 5 {
		t.Errorf("report file lists %d rows of content, want 5:\n%s", n, b)
	}
	if after := dumpSQLite(t, p.DB()); after != before {
		t.Error("a refused upgrade changed the data")
	}
}

// TestUpgradeResumesParityRebuild: an upgrade killed after some tables of
// 00035 were rebuilt resumes from there, and ends with the same data.
func TestUpgradeResumesParityRebuild(t *testing.T) {
	t.Parallel()
	p, _ := at30(t)
	cols30 := sqliteColumns(t, p.DB())
	clean := dumpSQLiteColumns(t, p.DB(), cols30)
	if err := schema.RebuildParityTables(p.DB(), 5); err != nil {
		t.Fatal(err)
	}
	l, hook := logtest.NewNullLogger()
	if _, err := schema.Up(ctxT(t), p, logrus.NewEntry(l), schema.Options{}); err != nil {
		t.Fatal(err)
	}
	resumed := false
	for _, e := range hook.AllEntries() {
		if tb, _ := e.Data["table"].(string); strings.HasPrefix(tb, "resuming: 5 of ") {
			resumed = true
		}
	}
	if !resumed {
		t.Error("no progress line says the rebuild resumed after 5 tables")
	}
	dropHold(t, p.DB())
	if after := dumpSQLiteColumns(t, p.DB(), cols30); after != clean {
		t.Error("the resumed migration changed the data")
	}
	if v, _ := p.SchemaVersion(ctxT(t)); v != schema.Latest() {
		t.Errorf("version %d, want %d", v, schema.Latest())
	}
}

// TestUpgradeRefusesWithoutDiskSpace: too little free space is refused
// before anything changes, with the figures.
func TestUpgradeRefusesWithoutDiskSpace(t *testing.T) {
	p, _ := at30(t)
	defer schema.SetFreeSpace(func(string) (uint64, error) { return 1 << 20, nil })()
	_, err := schema.Up(ctxT(t), p, nil, schema.Options{})
	if podium.ErrorCode(err) != podium.EREFUSED || !strings.Contains(podium.ErrorMessage(err), "the upgrade needs") ||
		!strings.Contains(podium.ErrorMessage(err), "only 1.0 MiB is free") {
		t.Fatalf("Up = %v, want EREFUSED with the figures", err)
	}
	if v, _ := p.SchemaVersion(ctxT(t)); v != 30 {
		t.Errorf("version %d after the refusal, want 30", v)
	}
}

// dropHold removes the retention hold that an upgrade from schema 30
// records (the one row it adds), failing if it is missing.
func dropHold(t *testing.T, db *sql.DB) {
	t.Helper()
	res, err := db.ExecContext(ctxT(t), `DELETE FROM settings WHERE key = ?`, podium.RetentionHoldKey)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Errorf("the upgrade from schema 30 recorded no retention hold (%s)", podium.RetentionHoldKey)
	}
}

// TestRehearseReportsEveryRowProblem: on SQLite, rehearse runs the
// start-up's row checks on its copy: each problem class with its count
// and first rows, what the upgrade cleans itself and what it refuses; it
// speaks of no rolling upgrade (SQLite serves one node), and the live
// file keeps its version.
func TestRehearseReportsEveryRowProblem(t *testing.T) {
	t.Parallel()
	p, raw := at30(t)
	mustExec(t, raw,
		`UPDATE content SET title = 'a' || char(0) WHERE id <= 4`,
		`UPDATE job_attempts SET log = 'a' || char(0) || 'b' WHERE id IN (1, 2)`,
		`UPDATE nodes SET schedule_concurrency = 5000000000`,
	)
	r, err := schema.Rehearse(ctxT(t), p, schema.RehearseOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || r.Roll != "" || r.CanRoll {
		t.Errorf("rehearsal ok %v, roll %q: want a failure and no word of rolling upgrades on SQLite", r.OK, r.Roll)
	}
	got := map[string]schema.RowProblem{}
	for _, rp := range r.Rows {
		got[rp.Table+"."+rp.Column] = rp
	}
	if c := got["content.title"]; c.Count != 4 || len(c.Examples) != 3 || !strings.HasPrefix(c.Action, "refused") {
		t.Errorf("content.title: %+v, want 4 refused, 3 examples", c)
	}
	if c := got["job_attempts.log"]; c.Count != 2 || !strings.HasPrefix(c.Action, "cleaned") {
		t.Errorf("job_attempts.log: %+v, want 2 cleaned", c)
	}
	if c := got["nodes.schedule_concurrency"]; c.Count != 2 || !strings.HasPrefix(c.Action, "cleaned") {
		t.Errorf("nodes.schedule_concurrency: %+v, want 2 cleaned", c)
	}
	if f := r.Failed(); f == nil || f.Name != "00035_parity.sql" || !strings.Contains(f.Error, "repair --dry-run") {
		t.Errorf("failed step %+v, want 00035 naming the repair command", f)
	}
	if v, _ := p.SchemaVersion(ctxT(t)); v != 30 {
		t.Errorf("live version %d after the rehearsal, want 30", v)
	}
}

// TestRepairFixesWhatIsSafe: repair --dry-run counts and changes nothing;
// repair removes NUL bytes from what users entered and clamps integers,
// lists what it cannot fix (in its file too), and the upgrade then refuses
// only that.
// TestRepairRefusesPostgres: PostgreSQL enforces its column types, so
// there is nothing to repair: Repair refuses (EUNSUPPORTED) and writes
// nothing.
func TestRepairRefusesPostgres(t *testing.T) {
	t.Parallel()
	p := openPostgres(t, pgtest.NewDatabase(t))
	dir := t.TempDir()
	rep, err := schema.Repair(t.Context(), p, false, dir)
	if podium.ErrorCode(err) != podium.EUNSUPPORTED || rep != nil ||
		!strings.Contains(podium.ErrorMessage(err), "nothing to repair") {
		t.Fatalf("Repair on PostgreSQL: %+v, %v; want EUNSUPPORTED, nothing to repair", rep, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("Repair on PostgreSQL wrote %d files", len(left))
	}
}

func TestRepairFixesWhatIsSafe(t *testing.T) {
	t.Parallel()
	p, raw := at30(t)
	mustExec(t, raw,
		`UPDATE content SET title = 'a' || char(0) || 'b' WHERE id IN (1, 2)`,
		`UPDATE jobs SET max_attempts = 1099511627776 WHERE id = 3`,
		`UPDATE content SET updated_at = '2026-02-30 10:00:00+00:00' WHERE id = 4`,
	)
	before := dumpSQLite(t, p.DB())
	dir := t.TempDir()
	dry, err := schema.Repair(ctxT(t), p, true, dir)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Left != 1 || len(dry.Columns) != 3 || dry.File == "" {
		t.Errorf("dry run: %+v, want 3 columns, 1 left for a hand, a file", dry)
	}
	if after := dumpSQLite(t, p.DB()); after != before {
		t.Error("repair --dry-run changed the data")
	}
	rep, err := schema.Repair(ctxT(t), p, false, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Left != 1 {
		t.Errorf("repair: %+v, want 1 left", rep)
	}
	var title string
	var maxAttempts int64
	if err := p.DB().QueryRow(`SELECT title FROM content WHERE id = 1`).Scan(&title); err != nil || title != "ab" {
		t.Errorf("title %q %v, want the NUL removed", title, err)
	}
	if err := p.DB().QueryRow(`SELECT max_attempts FROM jobs WHERE id = 3`).Scan(&maxAttempts); err != nil || maxAttempts != math.MaxInt32 {
		t.Errorf("max_attempts %d %v, want clamped", maxAttempts, err)
	}
	_, err = schema.Up(ctxT(t), p, nil, schema.Options{ReportDir: dir})
	if msg := podium.ErrorMessage(err); podium.ErrorCode(err) != podium.EREFUSED || !strings.Contains(msg, "content.updated_at 1;") ||
		strings.Contains(msg, "content.title") || strings.Contains(msg, "jobs.max_attempts") {
		t.Errorf("upgrade after repair: %v; want a refusal of content.updated_at only", err)
	}
}

// schemaSQL is the definition of every table, index and trigger of a
// SQLite database, by name.
func schemaSQL(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(ctxT(t), `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		out[n] = s
	}
	return out
}

// TestUpgradeGivesGooseSchema: the upgrade from schema 30 (checks,
// cleaning, the parity rebuild table by table, the later migrations
// without re-checking rows) ends with the very schema goose's run of the
// same files gives.
func TestUpgradeGivesGooseSchema(t *testing.T) {
	t.Parallel()
	p, _ := at30(t)
	if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	g, _ := at30(t)
	gp, err := schema.NewGoose(g, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.Up(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got, want := schemaSQL(t, p.DB()), schemaSQL(t, g.DB())
	for n, s := range want {
		if got[n] != s {
			t.Errorf("%s after the upgrade:\n%s\nafter goose:\n%s", n, got[n], s)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("the upgrade made %s, goose did not", n)
		}
	}
}

// TestUpgradeChecksMigrationsThatWriteRows: the migrations after 00035
// that only change the schema skip the re-check of every row, but one
// that writes rows is checked as anywhere else: a value its constraint
// refuses fails the upgrade, naming the migration. Not parallel: it
// swaps the binary's migrations.
func TestUpgradeChecksMigrationsThatWriteRows(t *testing.T) {
	p, _ := at30(t)
	latest := schema.Latest()
	restore := schema.SetExtraMigrations(map[string]fs.FS{"sqlite": fstest.MapFS{
		"00099_bad.sql": {Data: []byte("-- +goose Up\nUPDATE nodes SET schedule_concurrency = 5000000000;\n-- +goose Down\n")},
	}})
	defer restore()
	_, err := schema.Up(ctxT(t), p, nil, schema.Options{})
	if err == nil || !strings.Contains(err.Error(), "00099_bad.sql") || !strings.Contains(err.Error(), "CHECK constraint failed") {
		t.Fatalf("got %v, want 00099_bad.sql failing a CHECK constraint", err)
	}
	if v, _ := p.SchemaVersion(ctxT(t)); v != latest {
		t.Errorf("version %d, want %d (every migration before 00099)", v, latest)
	}
}
