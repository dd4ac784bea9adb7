package schema_test

import (
	"database/sql"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// TestConnectMigrationKeepsDuplicateNames upgrades a database of schema 30
// in which one owner has two content items of the same name (allowed
// then): 00070 keeps the oldest's name, renames the other, and the unique
// index holds, on both dialects.
func TestConnectMigrationKeepsDuplicateNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (dbprovider.Provider, *sql.DB)
	}{
		{"SQLite", func(t *testing.T) (dbprovider.Provider, *sql.DB) { p := openSQLite(t); return p, p.DB() }},
		{"Postgres", func(t *testing.T) (dbprovider.Provider, *sql.DB) {
			p := openPostgres(t, pgtest.NewDatabase(t))
			return p, p.DB()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			p, db := tc.open(t)
			g, err := schema.NewGoose(p, schema.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.UpTo(ctx, 30); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO users (id, username, role, created_at, updated_at) VALUES (1, 'u', 'publisher', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')`,
				`INSERT INTO content (id, guid, name, owner_id, created_at, updated_at) VALUES (1, 'g1', 'site', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')`,
				`INSERT INTO content (id, guid, name, owner_id, created_at, updated_at) VALUES (2, 'g2', 'site', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			log := logrus.New()
			log.SetOutput(testWriter{t})
			if _, err := schema.Up(ctx, p, logrus.NewEntry(log), schema.Options{}); err != nil {
				t.Fatal(err)
			}
			var n1, n2 string
			if err := db.QueryRowContext(ctx, `SELECT (SELECT name FROM content WHERE id = 1), (SELECT name FROM content WHERE id = 2)`).Scan(&n1, &n2); err != nil {
				t.Fatal(err)
			}
			if n1 != "site" || n2 != "site-2" {
				t.Fatalf("names after the migration: %q, %q", n1, n2)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO content (guid, name, owner_id, created_at, updated_at) VALUES ('g3', 'site', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')`); err == nil {
				t.Fatal("a duplicate name of one owner was accepted after the migration")
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }
