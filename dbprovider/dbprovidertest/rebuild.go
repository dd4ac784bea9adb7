package dbprovidertest

import (
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testTableRebuild: TableHasConstraint finds a named constraint on both
// dialects. Where column types are not enforced (SQLite), TableRebuild
// commits table by table, so a failed step keeps the tables before it and
// a second run skips them; it refuses to record the version while a
// foreign key points nowhere; and MigrationDBUnchecked does not evaluate
// CHECK constraints. PostgreSQL refuses both (EUNSUPPORTED).
func testTableRebuild(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	db := migrationDB(t, p)
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE rebuild_probe (id integer PRIMARY KEY, n integer CONSTRAINT n_positive CHECK (n > 0))`)
	for _, c := range []struct {
		table, name string
		want        bool
	}{{"rebuild_probe", "n_positive", true}, {"rebuild_probe", "n_negative", false}, {"no_such_table", "n_positive", false}} {
		if got, err := p.TableHasConstraint(ctx, c.table, c.name); err != nil || got != c.want {
			t.Errorf("TableHasConstraint(%s, %s) = %t, %v; want %t", c.table, c.name, got, err, c.want)
		}
	}

	unchecked, err := p.MigrationDBUnchecked(ctx)
	if p.EnforcesColumnTypes() {
		if !podium.IsCode(err, podium.EUNSUPPORTED) {
			t.Errorf("MigrationDBUnchecked on %s: %v, want EUNSUPPORTED", p.Name(), err)
		}
		if _, err := p.TableRebuild(ctx, &dbprovider.TableRebuildParams{Version: 1 << 30}); !podium.IsCode(err, podium.EUNSUPPORTED) {
			t.Errorf("TableRebuild on %s: %v, want EUNSUPPORTED", p.Name(), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("MigrationDBUnchecked: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO rebuild_probe (id, n) VALUES (1, -1)`); err == nil {
		t.Fatal("the migration handle stored a row its CHECK refuses")
	}
	if _, err := unchecked.ExecContext(ctx, `INSERT INTO rebuild_probe (id, n) VALUES (1, -1)`); err != nil {
		t.Fatalf("MigrationDBUnchecked evaluated a CHECK: %v", err)
	}
	if err := unchecked.Close(); err != nil {
		t.Fatal(err)
	}

	exec(`CREATE TABLE rebuild_a (id integer PRIMARY KEY, n integer)`)
	exec(`INSERT INTO rebuild_a (id, n) VALUES (1, 5), (2, 7)`)
	exec(`CREATE TABLE rebuild_b (id integer PRIMARY KEY, a_id integer REFERENCES rebuild_a (id), s text)`)
	exec(`INSERT INTO rebuild_b (id, a_id, s) VALUES (1, 1, NULL)`)
	steps := []dbprovider.TableRebuildStep{
		{Table: "rebuild_a", Marker: "n_a_int", SQL: `CREATE TABLE podium_new_rebuild_a (id integer PRIMARY KEY, n integer CONSTRAINT n_a_int CHECK (typeof(n) = 'integer'));
INSERT INTO podium_new_rebuild_a (id, n) SELECT id, n FROM rebuild_a;
DROP TABLE rebuild_a;
ALTER TABLE podium_new_rebuild_a RENAME TO rebuild_a;
CREATE INDEX rebuild_a_n ON rebuild_a (n);`},
		// NOT NULL is checked even on the unchecked connection: the NULL
		// in s fails this step until it is set.
		{Table: "rebuild_b", Marker: "s_b_text", SQL: `CREATE TABLE podium_new_rebuild_b (id integer PRIMARY KEY, a_id integer REFERENCES rebuild_a (id), s text NOT NULL CONSTRAINT s_b_text CHECK (typeof(s) = 'text'));
INSERT INTO podium_new_rebuild_b (id, a_id, s) SELECT id, a_id, s FROM rebuild_b;
DROP TABLE rebuild_b;
ALTER TABLE podium_new_rebuild_b RENAME TO rebuild_b;`},
	}
	const version = 1 << 30
	type calls struct {
		tables     []string
		rows       []int64
		skipped    int
		begun, end []string
	}
	run := func() (calls, int64, error) {
		var c calls
		dangling, err := p.TableRebuild(ctx, &dbprovider.TableRebuildParams{Version: version, Steps: steps,
			Plan:  func(tables []string, rows []int64, skipped int) { c.tables, c.rows, c.skipped = tables, rows, skipped },
			Begin: func(table string) { c.begun = append(c.begun, table) },
			End:   func(table string) { c.end = append(c.end, table) }})
		return c, dangling, err
	}
	recorded := func() bool {
		vs, err := p.SchemaVersionList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(vs, version)
	}

	c, _, err := run()
	if err == nil {
		t.Fatal("TableRebuild copied a NULL into a NOT NULL column")
	}
	if !slices.Equal(c.tables, []string{"rebuild_a", "rebuild_b"}) || !slices.Equal(c.rows, []int64{2, 1}) || c.skipped != 0 ||
		!slices.Equal(c.begun, []string{"rebuild_a", "rebuild_b"}) || !slices.Equal(c.end, []string{"rebuild_a"}) {
		t.Errorf("first run: %+v; want both tables planned (2 and 1 rows), rebuild_b begun and not ended", c)
	}
	if has, err := p.TableHasConstraint(ctx, "rebuild_a", "n_a_int"); err != nil || !has {
		t.Errorf("rebuild_a after its step committed: has its constraint %t, %v", has, err)
	}
	if has, err := p.TableHasConstraint(ctx, "rebuild_b", "s_b_text"); err != nil || has {
		t.Errorf("rebuild_b after its step failed: has its constraint %t, %v; want the old table", has, err)
	}
	if recorded() {
		t.Fatal("the version was recorded after a failed step")
	}

	// A row of rebuild_b refers to a row of rebuild_a that does not exist
	// (stored with foreign keys off, as an older release could).
	exec(`UPDATE rebuild_b SET s = 'x'`)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO rebuild_b (id, a_id, s) VALUES (2, 99, 'y')`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	c, dangling, err := run()
	if err != nil || dangling != 1 {
		t.Fatalf("second run: %d dangling, %v; want 1 row referring nowhere", dangling, err)
	}
	if !slices.Equal(c.tables, []string{"rebuild_b"}) || !slices.Equal(c.rows, []int64{2}) || c.skipped != 1 || !slices.Equal(c.end, []string{"rebuild_b"}) {
		t.Errorf("second run: %+v; want rebuild_a skipped, rebuild_b (2 rows) rebuilt", c)
	}
	if recorded() {
		t.Fatal("the version was recorded while a foreign key points nowhere")
	}
	exec(`DELETE FROM rebuild_b WHERE id = 2`)
	c, dangling, err = run()
	if err != nil || dangling != 0 || c.skipped != 2 || len(c.tables) != 0 {
		t.Fatalf("third run: %+v, %d dangling, %v; want every table skipped and the version recorded", c, dangling, err)
	}
	if !recorded() {
		t.Fatal("the version was not recorded")
	}
	// Foreign keys are on again for the writer.
	if _, err := db.ExecContext(ctx, `INSERT INTO rebuild_b (id, a_id, s) VALUES (3, 99, 'z')`); err == nil {
		t.Fatal("a row referring nowhere was stored after TableRebuild: foreign keys are off")
	}
}

// testConstraintCheck: where column types are not enforced (SQLite), a
// table may hold what new constraints refuse: ConstraintCheck names each
// such row and column (and invalid UTF-8, which no SQL sees), TextClean
// rewrites only the values its function changes, in batches, and
// IntegerClamp brings integers into range; dry runs change nothing.
// PostgreSQL refused such values when they were written: EUNSUPPORTED.
func testConstraintCheck(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	checks := []dbprovider.ColumnCheck{
		{Table: "check_probe", Column: "n", Rule: "int4", Expr: "typeof(n) = 'integer' AND n BETWEEN -2147483648 AND 2147483647"},
		{Table: "check_probe", Column: "s", Rule: "text", Expr: "instr(CAST(s AS BLOB), x'00') = 0", Text: true},
		{Table: "check_probe", Column: "no_such_column", Rule: "int4", Expr: "no_such_column = 1"},
		{Table: "no_such_table", Column: "n", Rule: "int4", Expr: "n = 1"},
	}
	clean := func(_ int, v string) string { return strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", ""), "\uFFFD") }
	if p.EnforcesColumnTypes() {
		if _, err := p.ConstraintCheck(ctx, checks); !podium.IsCode(err, podium.EUNSUPPORTED) {
			t.Errorf("ConstraintCheck on %s: %v, want EUNSUPPORTED", p.Name(), err)
		}
		if err := p.TextClean(ctx, &dbprovider.TextCleanParams{Table: "users", Columns: []string{"name"}, Clean: clean}); !podium.IsCode(err, podium.EUNSUPPORTED) {
			t.Errorf("TextClean on %s: %v, want EUNSUPPORTED", p.Name(), err)
		}
		if _, err := p.IntegerClamp(ctx, "users", "id", 0, 1, true); !podium.IsCode(err, podium.EUNSUPPORTED) {
			t.Errorf("IntegerClamp on %s: %v, want EUNSUPPORTED", p.Name(), err)
		}
		return
	}
	// Stored as an older release or the sqlite3 shell could: without the
	// writer's UTF-8 check.
	db, err := p.MigrationDBUnchecked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE check_probe (id integer PRIMARY KEY, n integer, s text)`,
		`INSERT INTO check_probe (id, n, s) VALUES (1, 5, 'ok'), (2, 'x', 'a' || char(0) || 'b'), (3, 7, CAST(x'ff41' AS TEXT)), (4, 5000000000, 'fine')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	vs, err := p.ConstraintCheck(ctx, checks)
	if err != nil {
		t.Fatal(err)
	}
	want := []dbprovider.ConstraintViolation{
		{Table: "check_probe", Key: "(id=2)", Column: "n", Rule: "int4"},
		{Table: "check_probe", Key: "(id=2)", Column: "s", Rule: "text"},
		{Table: "check_probe", Key: "(id=4)", Column: "n", Rule: "int4"},
		{Table: "check_probe", Key: "(id=3)", Column: "s", Rule: "utf8"},
	}
	if !slices.Equal(vs, want) {
		t.Fatalf("ConstraintCheck:\n got %+v\nwant %+v", vs, want)
	}
	value := func(id int) string {
		var s string
		if err := db.QueryRowContext(ctx, `SELECT s FROM check_probe WHERE id = ?`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, dry := range []bool{true, false} {
		calls, progress := 0, 0
		err := p.TextClean(ctx, &dbprovider.TextCleanParams{Table: "check_probe", Columns: []string{"no_such_column", "s"}, Dry: dry, Batch: 1,
			Clean: func(i int, v string) string {
				calls++
				if i != 1 {
					t.Errorf("Clean called for column %d, want 1 (s)", i)
				}
				return clean(i, v)
			},
			Progress: func(int64) { progress++ }})
		if err != nil {
			t.Fatalf("TextClean (dry %t): %v", dry, err)
		}
		if calls != 2 || progress != 2 {
			t.Errorf("TextClean (dry %t): Clean called %d times, Progress %d; want 2 and 2 (rows 2 and 3, one per batch)", dry, calls, progress)
		}
		if got2, got3 := value(2), value(3); dry && (got2 != "a\x00b" || got3 != "\xffA") || !dry && (got2 != "ab" || got3 != "\uFFFDA") {
			t.Errorf("after TextClean (dry %t): %q, %q", dry, got2, got3)
		}
	}
	for _, dry := range []bool{true, false} {
		n, err := p.IntegerClamp(ctx, "check_probe", "n", -2147483648, 2147483647, dry)
		if err != nil || n != 1 {
			t.Errorf("IntegerClamp (dry %t): %d, %v; want 1", dry, n, err)
		}
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT n FROM check_probe WHERE id = 4`).Scan(&n); err != nil || n != 2147483647 {
		t.Errorf("after IntegerClamp: %d, %v; want 2147483647", n, err)
	}
	if n, err := p.IntegerClamp(ctx, "check_probe", "no_such_column", 0, 1, false); err != nil || n != 0 {
		t.Errorf("IntegerClamp of a column that does not exist: %d, %v", n, err)
	}
	if vs, err := p.ConstraintCheck(ctx, checks); err != nil || !slices.Equal(vs, want[:1]) {
		t.Errorf("ConstraintCheck after the repairs: %+v, %v; want only the text in an integer column", vs, err)
	}
}
