package integration

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/sqlite"
	_ "modernc.org/sqlite" // the raw driver: writes as the old release did, without the provider's checks
)

// EarliestRelease is the earliest release an installation may upgrade
// from: the last commit of the release of 2026-11-26 (schema 30, "podium
// dev (schema 30)"). The upgrade tests build its binary from this commit.
const EarliestRelease = "80e72603275205c19a731e9631b9ff30f7772749"

// rawSQLite opens a node's SQLite database without the provider (no lock,
// no UTF-8 hooks), as the old release or the sqlite3 shell writes it.
func rawSQLite(tb testing.TB, dataDir string) *sql.DB {
	tb.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(dataDir, "db", sqlite.FileName),
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_time_format=sqlite"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// growHistory adds n finished scheduled jobs of content cid, each with one
// attempt and one render record, finished 60 to 90 days ago (older than
// any retention default), in the shape the release of 2026-11-26 wrote
// them: every 97th attempt log holds a NUL byte, every 89th invalid UTF-8
// (raw render output), and lines of task output per 4 jobs. It is the bulk
// part of "months of history".
func growHistory(tb testing.TB, db *sql.DB, cid, bundleID int64, taskID string, n int) {
	tb.Helper()
	ctx := context.Background()
	const at = `strftime('%Y-%m-%d %H:%M:%S', 'now', '-60 days', '-' || g.n || ' minutes') || '+00:00'`
	type stmt struct {
		sql  string
		args []any
	}
	stmts := []stmt{
		{`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?2)
		INSERT INTO jobs (content_id, queue, due_at, status, attempts, max_attempts, claim_token, node_id, heartbeat_at, created_at, started_at, finished_at, exit_code, error)
		SELECT ?1, 'render', ` + at + `, 'succeeded', 1, 3, 'tok-' || g.n, 'old-node', ` + at + `, ` + at + `, ` + at + `, ` + at + `, 0, '' FROM g`, []any{cid, n}},
		{`INSERT INTO job_attempts (job_id, attempt, node_id, claim_token, status, started_at, heartbeat_at, finished_at, exit_code, error, log)
		SELECT id, 1, 'old-node', claim_token, 'succeeded', started_at, heartbeat_at, finished_at, 0, '',
			CASE WHEN id % 97 = 0 THEN 'frame ' || id || char(0) || ' done' || char(10)
			     WHEN id % 89 = 0 THEN 'caf' || CAST(x'e9' AS TEXT) || ' ' || id || char(10)
			     ELSE 'Rendering report ' || id || char(10) || 'wrote index.html (12 kB)' || char(10) END
		FROM jobs WHERE node_id = 'old-node' AND claim_token LIKE 'tok-%'`, nil},
		{`INSERT INTO renders (content_id, bundle_id, task_id, job_id, node_id, status, started_at, finished_at)
		SELECT content_id, ?1, NULL, id, 'old-node', 'failed', started_at, finished_at FROM jobs WHERE node_id = 'old-node' AND claim_token LIKE 'tok-%'`, []any{bundleID}},
		{`INSERT INTO task_output (task_id, line_no, at, line)
		SELECT ?1, 1000000 + id, started_at, 'step ' || id || ' of the build' FROM jobs WHERE node_id = 'old-node' AND claim_token LIKE 'tok-%' AND id % 4 = 0`, []any{taskID}},
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.sql, s.args...); err != nil {
			tb.Fatalf("grow history: %v\n%s", err, s.sql)
		}
	}
}

// tableCounts counts the rows of every table but goose's.
func tableCounts(tb testing.TB, db *sql.DB) map[string]int64 {
	tb.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'goose_db_version'`)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+n+`"`).Scan(&c); err != nil {
			tb.Fatal(err)
		}
		out[n] = c
	}
	return out
}

func formatTableCounts(c map[string]int64) string {
	var keys []string
	var total int64
	for k, v := range c {
		keys = append(keys, k)
		total += v
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, c[k])
	}
	fmt.Fprintf(&b, "(total %d)", total)
	return b.String()
}
