package migrate

import (
	"context"
	"database/sql/driver"
	"testing"

	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// TestCountFollowsTheRead: a reader's count of a table is taken in the
// snapshot the table's rows are read from. A table the RowReader hands to
// the driver (a TIMESTAMP-declared column copied as text) is read in the
// driver's transaction; with shared readers (--check beside a live node)
// that transaction and the RowReader's began at different moments, so a
// row committed between them was counted by one and not read by the
// other, and the check failed with "read N rows, the snapshot counted
// N+1". The test commits that row between the two, as a live node could.
func TestCountFollowsTheRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Exclusive: true, Purpose: "test"}) // the live node
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	exec := func(q string) {
		t.Helper()
		tx, err := w.WriteTx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL)`)
	exec(`INSERT INTO events (id, at) VALUES (1, '2026-12-07 15:00:00')`)

	r, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Purpose: "test", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	conn, tx, err := r.ReadSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rd := &reader{id: 1, conn: conn, tx: tx}
	defer rd.close()
	exec(`INSERT INTO events (id, at) VALUES (2, '2026-12-07 15:00:01')`) // between the two snapshots
	if rd.fast, err = r.OpenRowReader(); err != nil {
		t.Fatal(err)
	}
	if err := rd.fast.Exec("BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.countQuery(ctx, `SELECT count(*) FROM sqlite_master`, false); err != nil {
		t.Fatal(err)
	}

	// at goes to a text column: read as declared, so the driver reads it.
	tbl := &table{Name: "events", Columns: []column{{Name: "id", kind: kindInt8}, {Name: "at", kind: kindText}}}
	var read int64
	if err := rd.stream(ctx, `SELECT `+tbl.sourceSelectList()+` FROM events`, func([]driver.Value) error { read++; return nil }); err != nil {
		t.Fatal(err)
	}
	n, err := rd.count(ctx, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if n != read {
		t.Fatalf("count %d, rows read %d: the count and the read came from different snapshots", n, read)
	}
	if read != 1 {
		t.Errorf("read %d rows in the driver's snapshot, want the 1 committed before it began", read)
	}

	// A table the RowReader reads itself is counted in its snapshot.
	tbl = &table{Name: "events", Columns: []column{{Name: "id", kind: kindInt8}, {Name: "at", kind: kindTimestamptz}}}
	read = 0
	if err := rd.stream(ctx, `SELECT `+tbl.sourceSelectList()+` FROM events`, func([]driver.Value) error { read++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n, err = rd.count(ctx, tbl); err != nil {
		t.Fatal(err)
	}
	if n != read || read != 2 {
		t.Fatalf("RowReader: count %d, rows read %d, want 2 and 2", n, read)
	}
}
