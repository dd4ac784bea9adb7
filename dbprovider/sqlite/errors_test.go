package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/podiumhq/podium"
)

// realErrors provokes each SQLite error the translator knows, on a real
// file, and returns them by name.
func realErrors(t *testing.T) map[string]error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{
		`PRAGMA journal_mode=WAL`,
		`CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))`,
		`INSERT INTO parent (id, name) VALUES (1, 'a')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	errs := map[string]error{}
	_, errs["unique"] = db.ExecContext(ctx, `INSERT INTO parent (id, name) VALUES (2, 'a')`)
	_, errs["primary key"] = db.ExecContext(ctx, `INSERT INTO parent (id, name) VALUES (1, 'b')`)
	_, errs["foreign key"] = db.ExecContext(ctx, `INSERT INTO child (id, parent_id) VALUES (1, 99)`)
	var s string
	errs["no rows"] = db.QueryRowContext(ctx, `SELECT name FROM parent WHERE id = 42`).Scan(&s)
	_, errs["syntax"] = db.ExecContext(ctx, `SELEKT 1`)

	// SQLITE_BUSY: a second connection, without busy_timeout, tries to
	// write while the first holds the write lock.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, errs["busy"] = other.BeginTx(ctx, nil)
	_ = tx.Rollback()

	// SQLITE_FULL: the database may not grow past its pages.
	if _, err := db.ExecContext(ctx, `PRAGMA max_page_count = 8`); err != nil {
		t.Fatal(err)
	}
	_, errs["full"] = db.ExecContext(ctx, `INSERT INTO parent (id, name) VALUES (3, zeroblob(1000000))`)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, errs["canceled"] = db.ExecContext(canceled, `SELECT 1`)
	for name, err := range errs {
		if err == nil {
			t.Fatalf("provoking %q gave no error", name)
		}
	}
	return errs
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	real := realErrors(t)
	podiumErr := podium.Errorf(podium.EINVALID, "already translated")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"UniqueViolationIsConflict", real["unique"], podium.ECONFLICT},
		{"PrimaryKeyViolationIsConflict", real["primary key"], podium.ECONFLICT},
		{"ForeignKeyViolationIsConflict", real["foreign key"], podium.ECONFLICT},
		{"NoRowsIsNotFound", real["no rows"], podium.ENOTFOUND},
		{"WrappedNoRowsIsNotFound", fmt.Errorf("get: %w", sql.ErrNoRows), podium.ENOTFOUND},
		{"BusyIsUnavailable", real["busy"], podium.EUNAVAILABLE},
		{"FullIsNoSpace", real["full"], podium.ENOSPACE},
		{"CanceledIsCanceled", real["canceled"], podium.ECANCELED},
		{"SyntaxErrorIsInternal", real["syntax"], podium.EINTERNAL},
		{"UnknownErrorIsInternal", errors.New("something else"), podium.EINTERNAL},
		{"PodiumErrorUnchanged", podiumErr, podium.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate(tc.err)
			if got == nil {
				t.Fatalf("translate(%v) = nil", tc.err)
			}
			if code := podium.ErrorCode(got); code != tc.want {
				t.Fatalf("translate(%v) code = %s, want %s", tc.err, code, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("translate(%v) = %v does not wrap the original", tc.err, got)
			}
		})
	}
	t.Run("NilIsNil", func(t *testing.T) {
		if err := translate(nil); err != nil {
			t.Fatalf("translate(nil) = %v", err)
		}
	})
}
