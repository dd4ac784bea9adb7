package hacheck

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestChecker: NewChecker's Check is Run against its database with its
// options, every time; CheckerFunc is a function as a Checker.
func TestChecker(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	defer cancel()
	db := migratedSQLite(t, ctx)
	opts := Options{NodeTimeout: time.Minute, BinarySchema: schema.Latest()}
	c := NewChecker(db, opts)
	before, err := c.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !Failed(before) {
		t.Fatalf("no node registered: want a failed item, got %+v", before)
	}
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "h", Provider: db.Name(),
		Status: podium.NodeServing, Info: map[string]any{InfoKey: (&Facts{ScheduleConcurrency: 2}).Map()}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Run(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The items and verdicts (details may name ages, read at each call).
	verdicts := func(rs []Result) map[string]Status {
		m := map[string]Status{}
		for _, r := range rs {
			m[r.Item] = r.Status
		}
		return m
	}
	if !reflect.DeepEqual(verdicts(got), verdicts(want)) {
		t.Fatalf("Check = %+v\nRun   = %+v", got, want)
	}
	if reflect.DeepEqual(verdicts(got), verdicts(before)) {
		t.Fatalf("Check did not read the registry again: %+v", got)
	}

	away := errors.New("away")
	if _, err := CheckerFunc(func(context.Context) ([]Result, error) { return nil, away }).Check(ctx); err != away {
		t.Fatalf("CheckerFunc: %v, want %v", err, away)
	}
}

// migratedSQLite is a new SQLite database at the latest schema, closed at
// the test's end.
func migratedSQLite(t *testing.T, ctx context.Context) *sqlite.Provider {
	t.Helper()
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := schema.Up(ctx, db, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	return db
}
