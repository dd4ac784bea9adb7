package hacheck

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The connections item warns when max_connections (300 on the test
// cluster) cannot hold the live nodes' pools and listeners.
func TestConnections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		pool   int
		status Status
	}{
		{"EnoughForSmallPools", 10, Pass},
		{"WarnForLargePools", 150, Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
			defer cancel()
			db, err := postgres.Open(ctx, postgres.Options{URL: podium.Secret(pgtest.NewDatabase(t))})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := schema.Up(ctx, db, nil, schema.Options{}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"n1", "n2"} {
				f := Facts{DBPoolMax: tc.pool, ScheduleConcurrency: 2}
				if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: id, Hostname: "h", Provider: db.Name(),
					Status: podium.NodeServing, Info: map[string]any{InfoKey: f.Map()}}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Run(ctx, db, Options{NodeTimeout: time.Minute, BinarySchema: schema.Latest()})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Item != ItemConnections {
					continue
				}
				// Each node: pool + schema watcher + scheduler listener.
				want := 2 * (tc.pool + 2)
				if r.Status != tc.status || !strings.Contains(r.Detail, "may hold "+itoa(want)+" connections") {
					t.Fatalf("connections = %s: %s (%s); want %s with %d connections", r.Status, r.Detail, r.Action, tc.status, want)
				}
				if tc.status == Warn && !strings.Contains(r.Action, "max_connections") {
					t.Fatalf("no action given: %+v", r)
				}
				return
			}
			t.Fatal("no connections item")
		})
	}
}

// On SQLite (one node) the connections item passes: there is no limit.
func TestConnectionsSQLite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	defer cancel()
	db := migratedSQLite(t, ctx)
	f := Facts{ScheduleConcurrency: 2}
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "h", Provider: db.Name(),
		Status: podium.NodeServing, Info: map[string]any{InfoKey: f.Map()}}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, db, Options{NodeTimeout: time.Minute, BinarySchema: schema.Latest()})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Item == ItemConnections {
			if r.Status != Pass || r.Detail != "SQLite: one node, no connection limit" {
				t.Fatalf("connections on SQLite = %s: %s; want pass, no limit", r.Status, r.Detail)
			}
			return
		}
	}
	t.Fatal("no connections item")
}

func itoa(n int) string { return strconv.Itoa(n) }
