// Package integration holds Podium's end-to-end tests: real podium
// processes (built by internal/nodetest) on real SQLite files and real
// PostgreSQL databases (dbprovider/pgtest), spoken to over real HTTP.
package integration

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testCtx is a context bounded by a scaled timeout, canceled at cleanup.
func testCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	tb.Cleanup(cancel)
	return ctx
}

// openPostgres opens a provider on url for inspecting what nodes wrote.
func openPostgres(tb testing.TB, url string) *postgres.Provider {
	tb.Helper()
	p, err := postgres.Open(testCtx(tb), postgres.Options{URL: podium.Secret(url), ApplicationName: "podium test"})
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// openSQLite opens the SQLite database of a stopped node's DataDir
// ([Database] Dir defaults to {DataDir}/db), taking its lock.
func openSQLite(tb testing.TB, dataDir string) *sqlite.Provider {
	tb.Helper()
	p, err := sqlite.Open(testCtx(tb), sqlite.Options{Dir: dataDir + "/db", Exclusive: true, Purpose: "test"})
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// nodeID asks a running node for its id.
func nodeID(tb testing.TB, n *nodetest.Node) string {
	tb.Helper()
	_, body, err := n.Ping()
	if err != nil {
		tb.Fatalf("ping %s: %v", n.Name, err)
	}
	id, _ := body["node"].(string)
	if id == "" {
		tb.Fatalf("ping %s: no node id in %v", n.Name, body)
	}
	return id
}

// pingStatus is the HTTP status of /__ping__, 0 when the node does not
// answer.
func pingStatus(n *nodetest.Node) int {
	status, _, err := n.Ping()
	if err != nil {
		return 0
	}
	return status
}

// versionCounts returns how many goose_db_version rows each version has.
func versionCounts(tb testing.TB, db *sql.DB) map[int64]int {
	tb.Helper()
	rows, err := db.QueryContext(testCtx(tb), `SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]int{}
	for rows.Next() {
		var v int64
		var c int
		if err := rows.Scan(&v, &c); err != nil {
			tb.Fatal(err)
		}
		got[v] = c
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return got
}
