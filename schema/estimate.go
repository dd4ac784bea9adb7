package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Per-row costs of a SQLite schema upgrade, from "make bench-upgrade" on
// the shared development machine under load (52.6 s for 1M history rows,
// docs/upgrading.md): checking every row and rebuilding every table
// (00035), and 00050's new columns and indexes on jobs and renders.
// Estimates only, on the high side: a quiet machine is faster.
var (
	parityCostPerRow = 35 * time.Microsecond
	indexCostPerRow  = 20 * time.Microsecond
)

// UpgradeEstimate is what an upgrade of a SQLite database from a version
// costs: the time it should take and the free space it asks for.
type UpgradeEstimate struct {
	From     int64         `json:"from"`
	To       int64         `json:"to"`
	Rows     int64         `json:"rows"`
	Duration time.Duration `json:"-"`
	// DiskNeeded is [DiskNeeded] of the file's size (0 when unknown).
	DiskNeeded int64 `json:"disk_needed_bytes"`
}

// Querier is what EstimateUpgrade reads through: a *sql.DB, *sql.Conn or
// *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// EstimateUpgrade estimates the schema upgrade of the SQLite database
// read through q (at version from) to this binary's schema, by its rows.
// size is the database file's size (0: unknown).
func EstimateUpgrade(ctx context.Context, q Querier, from, size int64) (UpgradeEstimate, error) {
	e := UpgradeEstimate{From: from, To: Latest()}
	if from >= e.To {
		return e, nil
	}
	if size > 0 {
		e.DiskNeeded = DiskNeeded(size)
	}
	rows := map[string]int64{}
	tr, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'goose_db_version'`)
	if err != nil {
		return e, fmt.Errorf("schema: estimate: %w", err)
	}
	var names []string
	for tr.Next() {
		var n string
		if err := tr.Scan(&n); err != nil {
			tr.Close()
			return e, fmt.Errorf("schema: estimate: %w", err)
		}
		names = append(names, n)
	}
	tr.Close()
	for _, n := range names {
		var c int64
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(n)).Scan(&c); err != nil {
			return e, fmt.Errorf("schema: estimate: %w", err)
		}
		rows[n] = c
		e.Rows += c
	}
	if from < ParityVersion {
		e.Duration += time.Duration(e.Rows) * parityCostPerRow
	}
	if from < 50 {
		e.Duration += time.Duration(rows["jobs"]+rows["renders"]) * indexCostPerRow
	}
	return e, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
