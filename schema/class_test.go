package schema_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/podiumhq/podium/schema"
)

// TestMigrationsDeclareClass is the guard of rolling upgrades: every
// migration, in both dialects, declares its class, both dialects declare
// the same class for a version, and no migration marked expand contains a
// statement the previous binary may not survive. It runs on the embedded
// migrations of this build (build-tagged test migrations included when the
// tests are built with their tag).
func TestMigrationsDeclareClass(t *testing.T) {
	t.Parallel()
	classes := map[string]map[int64]schema.Class{}
	for _, dialect := range []string{"sqlite3", "postgres"} {
		fsys, err := schema.Migrations(dialect)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			if err := schema.CheckMigration(dialect, fsys, e.Name()); err != nil {
				t.Errorf("%s: %v", dialect, err)
			}
		}
		ms, err := schema.List(dialect)
		if err != nil {
			t.Fatal(err)
		}
		classes[dialect] = map[int64]schema.Class{}
		for _, m := range ms {
			classes[dialect][m.Version] = m.Class
		}
	}
	for v, c := range classes["postgres"] {
		if lite := classes["sqlite3"][v]; lite != c {
			t.Errorf("migration %d: class %q in postgres, %q in sqlite: declare the same class in both dialects", v, c, lite)
		}
	}
}

// TestCheckClass: the guard refuses an unmarked migration (saying what to
// add), an expand migration with a contract statement (naming it), and
// accepts additive expand migrations and any contract migration.
func TestCheckClass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, sql string
		wantErr   string // "" for none
	}{
		{"OKExpandNewTable", "-- podium:class expand\n-- +goose Up\nCREATE TABLE t (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '');\n-- +goose Down\nDROP TABLE t;\n", ""},
		{"OKExpandNullableColumn", "-- podium:class expand\n-- +goose Up\nALTER TABLE users ADD COLUMN nickname text;\nALTER TABLE users ADD COLUMN n integer NOT NULL DEFAULT 0;\n-- +goose Down\nALTER TABLE users DROP COLUMN nickname;\n", ""},
		{"OKExpandIndex", "-- podium:class expand\n-- +goose Up\nCREATE INDEX CONCURRENTLY users_n ON users (n);\nALTER TABLE users ALTER COLUMN n DROP NOT NULL;\n", ""},
		{"OKExpandFunctionBody", "-- podium:class expand\n-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS trigger AS $$ BEGIN DELETE FROM x; DROP TABLE y; RETURN NULL; END $$ LANGUAGE plpgsql;\n-- +goose StatementEnd\n", ""},
		{"OKContract", "-- podium:class contract\n-- +goose Up\nDROP TABLE t;\n", ""},
		{"ErrUnmarked", "-- +goose Up\nCREATE TABLE t (id bigint);\n", `add the line "-- podium:class expand"`},
		{"ErrUnknownClass", "-- podium:class sideways\n-- +goose Up\nCREATE TABLE t (id bigint);\n", `unknown class "sideways"`},
		{"ErrDropTable", "-- podium:class expand\n-- +goose Up\nDROP TABLE legacy;\n", "drops an object"},
		{"ErrDropColumn", "-- podium:class expand\n-- +goose Up\nALTER TABLE users DROP COLUMN legacy;\n", "drops a column"},
		{"ErrDropColumnShort", "-- podium:class expand\n-- +goose Up\nALTER TABLE users DROP legacy;\n", "drops a column"},
		{"ErrRenameColumn", "-- podium:class expand\n-- +goose Up\nALTER TABLE users RENAME COLUMN a TO b;\n", "renames"},
		{"ErrRenameTable", "-- podium:class expand\n-- +goose Up\nalter table users rename to people;\n", "renames"},
		{"ErrType", "-- podium:class expand\n-- +goose Up\nALTER TABLE users ALTER COLUMN n TYPE bigint;\n", "changes a column's type"},
		{"ErrSetNotNull", "-- podium:class expand\n-- +goose Up\nALTER TABLE users ALTER COLUMN n SET NOT NULL;\n", "NOT NULL"},
		{"ErrNotNullNoDefault", "-- podium:class expand\n-- +goose Up\nALTER TABLE users ADD COLUMN n integer NOT NULL;\n", "without a DEFAULT"},
		{"ErrConstraint", "-- podium:class expand\n-- +goose Up\nALTER TABLE users ADD CONSTRAINT n_pos CHECK (n > 0);\n", "adds a constraint"},
		{"ErrUniqueIndex", "-- podium:class expand\n-- +goose Up\nCREATE UNIQUE INDEX u ON users (email);\n", "unique index"},
		{"ErrSQLiteRebuild", "-- podium:class expand\n-- +goose Up\n-- +goose NO TRANSACTION\nPRAGMA foreign_keys = OFF;\nCREATE TABLE users_new (id INTEGER);\nINSERT INTO users_new SELECT id FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;\nPRAGMA foreign_keys = ON;\n", "rebuilds a table"},
		{"ErrDownIgnoredUpCounted", "-- podium:class expand\n-- +goose Up\nDELETE FROM sessions;\n-- +goose Down\nSELECT 1;\n", "deletes rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{"00098_x.sql": {Data: []byte(tc.sql)}}
			err := schema.CheckClass(fsys, "00098_x.sql")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("CheckClass: %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("CheckClass: %v, want an error containing %q", err, tc.wantErr)
			case err != nil && !strings.Contains(err.Error(), "00098_x.sql"):
				t.Fatalf("CheckClass: %v: the error must name the migration", err)
			}
		})
	}
}

// TestContractStatementsSkipQuotesAndComments: text inside quotes and
// comments is not a statement.
func TestContractStatementsSkipQuotesAndComments(t *testing.T) {
	t.Parallel()
	if got := schema.ContractStatements("SELECT 'DROP TABLE x; ' AS s; /* DROP TABLE y; */ SELECT 1"); len(got) != 0 {
		t.Fatalf("quoted and commented DROP TABLE counted as statements: %v", got)
	}
}
