package dbprovidertest

import (
	"slices"
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
	db, owned, err := p.MigrationDB()
	if err != nil {
		t.Fatal(err)
	}
	if owned {
		defer db.Close()
	}
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
