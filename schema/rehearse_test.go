package schema_test

import (
	"os"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/schema"
)

// TestRehearseKeepsNothing: Rehearse applies every pending migration and
// keeps none: on PostgreSQL from an empty database (goose's version table
// included) and from version 1, on SQLite from version 1 through a copy
// that is deleted afterwards.
func TestRehearseKeepsNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) dbprovider.Provider
		at   int64 // migrate to this version first (0: leave empty)
	}{
		{"PostgresEmpty", func(t *testing.T) dbprovider.Provider { return openPostgres(t, pgtest.NewDatabase(t)) }, 0},
		{"PostgresAtV1", func(t *testing.T) dbprovider.Provider { return openPostgres(t, pgtest.NewDatabase(t)) }, 1},
		{"SQLiteAtV1", func(t *testing.T) dbprovider.Provider { return openSQLite(t) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.open(t)
			if tc.at > 0 {
				gp, err := schema.NewGoose(p, schema.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := gp.UpTo(ctxT(t), tc.at); err != nil {
					t.Fatal(err)
				}
				if p.Name() == dbprovider.Postgres {
					_ = gp.Close() // its own handle; on SQLite it is the provider's writer
				}
			}
			pending, err := schema.PendingMigrations(ctxT(t), p)
			if err != nil || len(pending) == 0 {
				t.Fatalf("pending: %v, %v; want some", pending, err)
			}
			tmp := t.TempDir()
			r, err := schema.Rehearse(ctxT(t), p, schema.RehearseOptions{TempDir: tmp})
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK || r.From != tc.at || r.To != schema.Latest() || len(r.Steps) != len(pending) {
				t.Fatalf("report %+v; want OK from %d to %d with %d steps", r, tc.at, schema.Latest(), len(pending))
			}
			for i, s := range r.Steps {
				if !s.OK || s.Name != pending[i].Name || s.Duration <= 0 {
					t.Errorf("step %d: %+v; want %s applied with a duration", i, s, pending[i].Name)
				}
			}
			if v, err := p.SchemaVersion(ctxT(t)); err != nil || v != tc.at {
				t.Errorf("schema after the rehearsal: %d, %v; want %d", v, err, tc.at)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("the rehearsal left %d entries in its temp dir", len(left))
			}
		})
	}
}
