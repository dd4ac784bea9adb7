package schema

import (
	"context"
	"database/sql"
	"io/fs"
)

// SetExtraMigrations replaces the build-tagged extra migrations of both
// dialects (keyed "sqlite" and "postgres"; nil for none) and returns the
// function that restores them. Tests that call it must not run in
// parallel with others: Latest and List change for the whole process.
func SetExtraMigrations(m map[string]fs.FS) (restore func()) {
	old := extra
	extra = map[string]fs.FS{}
	for k, v := range m {
		extra[k] = v
	}
	return func() { extra = old }
}

// Overlay reads from a, then b, as the build-tagged extras do.
func Overlay(a, b fs.FS) fs.FS { return overlay{a, b} }

// SetFreeSpace replaces the free-space probe of the disk check and
// returns the function that restores it.
func SetFreeSpace(fn func(dir string) (uint64, error)) (restore func()) {
	old := freeSpace
	freeSpace = fn
	return func() { freeSpace = old }
}

// RebuildParityTables runs the first n steps of the parity rebuild, as a
// run killed after its n-th table leaves the database.
func RebuildParityTables(db *sql.DB, n int) error {
	steps, err := paritySteps()
	if err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "PRAGMA foreign_keys = ON")
	for _, s := range steps[:n] {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.SQL); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
