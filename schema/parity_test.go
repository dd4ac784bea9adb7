package schema_test

import (
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

// dumpSQLite renders every row of every table (quote() keeps each value's
// type), in rowid order: equal dumps mean equal data.
func dumpSQLite(t *testing.T, db *sql.DB) string {
	t.Helper()
	return dumpSQLiteColumns(t, db, sqliteColumns(t, db))
}

// sqliteColumns lists each table's columns (goose's own table left out).
func sqliteColumns(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' AND m.name <> 'goose_db_version' ORDER BY m.name, c.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := map[string][]string{}
	for rows.Next() {
		var tb, c string
		if err := rows.Scan(&tb, &c); err != nil {
			t.Fatal(err)
		}
		cols[tb] = append(cols[tb], c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

// dumpSQLiteColumns dumps the rows of the given tables and columns, so a
// database can be compared with an earlier state of itself on the columns
// that state had (later migrations add tables and columns).
func dumpSQLiteColumns(t *testing.T, db *sql.DB, cols map[string][]string) string {
	t.Helper()
	ctx := t.Context()
	tables := slices.Sorted(maps.Keys(cols))
	var b strings.Builder
	for _, tb := range tables {
		quoted := make([]string, len(cols[tb]))
		for i, c := range cols[tb] {
			quoted[i] = "quote(" + c + ")"
		}
		q := fmt.Sprintf(`SELECT %s FROM %s ORDER BY rowid`, strings.Join(quoted, " || ',' || "), tb)
		r, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "== %s\n", tb)
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				t.Fatal(err)
			}
			b.WriteString(line + "\n")
		}
		r.Close()
	}
	return b.String()
}

// parityBreakers put values that PostgreSQL refuses into a database at
// version 30, one per rule, and what the refusal must name.
var parityBreakers = []struct{ stmt, want string }{
	{`UPDATE audit_log SET detail = '{"a": ' WHERE id = 7`, `table audit_log, row (id=7), column detail: must be valid JSON`},
	{`UPDATE tasks SET result = '{"a": "x\u0000y"}' WHERE id = 'task-00000002'`, `table tasks, row (id="task-00000002"), column result: must be valid JSON`},
	{`UPDATE jobs SET max_attempts = 1099511627776 WHERE id = 3`, `table jobs, row (id=3), column max_attempts: must be an integer from -2147483648`},
	{`UPDATE content SET title = 'a' || char(0) || 'b' WHERE id = 2`, `table content, row (id=2), column title: must be text without NUL`},
	{`UPDATE users SET locked = 2 WHERE id = 2`, `table users, row (id=2), column locked: must be 0 or 1`},
	{`UPDATE content SET updated_at = '2026-02-30 10:00:00+00:00' WHERE id = 4`, `table content, row (id=4), column updated_at: must be a UTC time`},
	{`UPDATE bundles SET size = 'big' WHERE id = 5`, `table bundles, row (id=5), column size: must be an integer`},
	{`UPDATE bundles SET sha256 = 'text' WHERE id = 6`, `table bundles, row (id=6), column sha256: must be a blob`},
	{`UPDATE nodes SET hostname = CAST(x'6869ff' AS TEXT) WHERE id = 'node-0001'`, `table nodes, row (id="node-0001"), column hostname: text is not valid UTF-8`},
}

func TestParityMigration(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	p := openSQLite(t)
	gp, err := schema.NewGoose(p, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.UpTo(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if err := migratetest.Fill(ctx, p.DB(), migratetest.Small(), 1); err != nil {
		t.Fatal(err)
	}
	cols30 := sqliteColumns(t, p.DB())
	clean := dumpSQLiteColumns(t, p.DB(), cols30)

	t.Run("ViolatingRowsRefusedNothingChanged", func(t *testing.T) {
		// As an older binary or the sqlite3 shell would: without the
		// provider's UTF-8 check.
		raw, err := sql.Open("sqlite", "file:"+p.Path()+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, b := range parityBreakers {
			if _, err := raw.ExecContext(ctx, b.stmt); err != nil {
				t.Fatalf("%s: %v", b.stmt, err)
			}
		}
		before := dumpSQLite(t, p.DB())
		_, err = schema.Up(ctx, p, nil, schema.Options{})
		if podium.ErrorCode(err) != podium.EREFUSED {
			t.Fatalf("Up = %v, want EREFUSED", err)
		}
		msg := podium.ErrorMessage(err)
		for _, b := range parityBreakers {
			if !strings.Contains(msg, b.want) {
				t.Errorf("refusal does not name %q:\n%s", b.want, msg)
			}
		}
		if !strings.Contains(msg, "What to do") || !strings.Contains(msg, "nothing was changed") {
			t.Errorf("refusal does not say what to do: %s", msg)
		}
		if v, err := p.SchemaVersion(ctx); err != nil || v != 30 {
			t.Errorf("version after refusal = %d, %v; want 30", v, err)
		}
		if after := dumpSQLite(t, p.DB()); after != before {
			t.Error("the refused migration changed the data")
		}
	})

	t.Run("CleanRowsMigratedIdentical", func(t *testing.T) {
		p := openSQLite(t)
		gp, err := schema.NewGoose(p, schema.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gp.UpTo(ctx, 30); err != nil {
			t.Fatal(err)
		}
		if err := migratetest.Fill(ctx, p.DB(), migratetest.Small(), 1); err != nil {
			t.Fatal(err)
		}
		if got := dumpSQLite(t, p.DB()); got != clean {
			t.Fatal("second fill differs from the first")
		}
		if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
			t.Fatal(err)
		}
		if v, _ := p.SchemaVersion(ctx); v != schema.Latest() {
			t.Errorf("version = %d, want %d", v, schema.Latest())
		}
		// Later migrations add tables and columns: compare what version
		// 30 had. The one row the upgrade adds is the retention hold.
		dropHold(t, p.DB())
		if after := dumpSQLiteColumns(t, p.DB(), cols30); after != clean {
			t.Error("the parity migration changed the data")
		}
		var fk, on int
		if err := p.DB().QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
			t.Errorf("foreign_key_check: %d rows, %v", fk, err)
		}
		if err := p.DB().QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
			t.Errorf("foreign_keys = %d, %v after the migration; want 1", on, err)
		}
		// The same values are now refused at write time, by name.
		for _, b := range parityBreakers {
			_, err := p.DB().ExecContext(ctx, b.stmt)
			if err == nil || !strings.Contains(err.Error(), "CHECK constraint failed") && !strings.Contains(b.want, "UTF-8") {
				t.Errorf("%s: err = %v, want a CHECK failure (or the provider's UTF-8 refusal)", b.stmt, err)
			}
		}
		// ON DELETE CASCADE still works through the rebuilt tables.
		if _, err := p.DB().ExecContext(ctx, `DELETE FROM content WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := p.DB().QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE content_id = 1`).Scan(&left); err != nil || left != 0 {
			t.Errorf("jobs of deleted content: %d, %v", left, err)
		}
	})
}
