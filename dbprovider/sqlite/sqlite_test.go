package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// open returns a provider on a new SQLite file in a temp dir, holding its
// lock as a node does.
func open(tb testing.TB) dbprovider.Provider {
	tb.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: tb.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbprovidertest.Run(t, open)
}

// TestMigrationRecoverAfterHalfMigration: a NO TRANSACTION migration that
// failed half-way left foreign keys off and its transaction open on the
// writer; MigrationRecover rolls the transaction back (its write is gone)
// and switches foreign keys on again.
func TestMigrationRecoverAfterHalfMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := open(t)
	dbprovidertest.MustUp(t, p)
	w := p.(*sqlite.Provider).DB()
	for _, q := range []string{"PRAGMA foreign_keys = OFF", "BEGIN", "INSERT INTO settings (key, value, updated_at) VALUES ('half', 'done', '2026-01-01 00:00:00+00:00')"} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := p.MigrationRecover(ctx); err != nil {
		t.Fatal(err)
	}
	var on int
	if err := w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil || on != 1 {
		t.Fatalf("PRAGMA foreign_keys after MigrationRecover = %d, %v; want 1", on, err)
	}
	if _, err := p.SettingGet(ctx, "half"); err == nil {
		t.Error("the half-done migration's write survived MigrationRecover; want it rolled back")
	}
	if err := p.SettingPut(ctx, "after", "1"); err != nil {
		t.Errorf("a write after MigrationRecover: %v", err)
	}
}

// TestWriteTxAndCheckpoint: a WriteTx's rows are there once committed,
// and after Checkpoint the write-ahead log is empty.
func TestWriteTxAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tx, err := p.WriteTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	wal := filepath.Join(dir, sqlite.FileName+"-wal")
	if st, err := os.Stat(wal); err != nil || st.Size() == 0 {
		t.Fatalf("before Checkpoint the WAL should hold the commit: %v", err)
	}
	if err := p.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(wal); err == nil && st.Size() != 0 {
		t.Errorf("after Checkpoint the WAL holds %d bytes, want 0", st.Size())
	}
}

// TestReadSnapshot: Tables lists the tables but SQLite's own; a
// ReadSnapshot sees the database as it was when taken, through its
// transaction and through its connection, whatever commits later; the
// read pool holds as many snapshots as SetReadConns says, and no more.
func TestReadSnapshot(t *testing.T) {
	ctx := context.Background()
	p := newFile(t)
	write(t, p, `CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT)`, `CREATE TABLE a (id INTEGER PRIMARY KEY)`,
		`INSERT INTO a VALUES (1), (2)`, `INSERT INTO b DEFAULT VALUES`)
	names, err := p.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a,b" {
		t.Errorf("Tables = %v, want a, b (not sqlite_sequence)", names)
	}

	p.SetReadConns(2)
	conn, tx, err := p.ReadSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, `INSERT INTO a VALUES (3)`)
	count := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM a`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(tx); n != 2 {
		t.Errorf("the snapshot's transaction sees %d rows, want the 2 there when it was taken", n)
	}
	if n := count(conn); n != 2 {
		t.Errorf("the snapshot's connection sees %d rows, want 2", n)
	}
	if n := count(p.ReadDB()); n != 3 {
		t.Errorf("a read outside the snapshot sees %d rows, want 3", n)
	}

	// Two snapshots fill a pool of 2: a third waits, and gives up with
	// its context.
	conn2, tx2, err := p.ReadSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, err := p.ReadSnapshot(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third snapshot in a pool of 2: %v, want the context's deadline", err)
	}
	for _, end := range []func() error{tx.Rollback, conn.Close, tx2.Rollback, conn2.Close} {
		if err := end(); err != nil {
			t.Error(err)
		}
	}
}
