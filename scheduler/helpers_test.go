package scheduler_test

import (
	"context"
	"fmt"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"os"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if err := goleak.Find(pgtest.GoleakIgnore()); code == 0 && err != nil {
		fmt.Println(err)
		code = 1
	}
	os.Exit(code)
}

// dialects runs fn once per database: a fresh SQLite file and a fresh
// PostgreSQL database, both migrated.
func dialects(t *testing.T, fn func(t *testing.T, open func() dbprovider.Provider)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var first dbprovider.Provider
		fn(t, func() dbprovider.Provider {
			if first != nil {
				return first // one process per SQLite file
			}
			p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dir, Exclusive: true, Purpose: "test"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			migrate(t, p)
			first = p
			return p
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		migrated := false
		fn(t, func() dbprovider.Provider {
			p, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			if !migrated {
				migrate(t, p)
				migrated = true
			}
			return p
		})
	})
}

func migrate(t *testing.T, p dbprovider.Provider) {
	t.Helper()
	if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	t.Cleanup(cancel)
	return ctx
}

// mustContent inserts a user (once) and a content item, returning its id.
func mustContent(t *testing.T, db dbprovider.Provider, guid string) int64 {
	t.Helper()
	ctx := ctxT(t)
	_, err := dbprovidertest.RawDB(t, db).ExecContext(ctx, `INSERT INTO users (id, username, role, created_at, updated_at)
		VALUES (1, 'owner', 'publisher', $1, $1) ON CONFLICT (id) DO NOTHING`, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = dbprovidertest.RawDB(t, db).QueryRowContext(ctx, `INSERT INTO content (guid, name, owner_id, created_at, updated_at)
		VALUES ($1, $1, 1, $2, $2) RETURNING id`, guid, time.Now().UTC()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// mustNode registers a node row.
func mustNode(t *testing.T, db dbprovider.Provider, id string) {
	t.Helper()
	if _, err := db.NodeUpsert(ctxT(t), &dbprovider.NodeUpsertParams{ID: id, Hostname: "h", Provider: db.Name(),
		Status: podium.NodeServing}); err != nil {
		t.Fatal(err)
	}
}
