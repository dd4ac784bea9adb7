package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	"github.com/podiumhq/podium/dbprovider"
)

// openUnchecked opens the database on one connection that does not
// evaluate CHECK constraints (ignore_check_constraints) and has none of
// the writer's hooks (the UTF-8 check of every write, utf8.go), for the
// steps of an upgrade whose rows were all checked just before. Foreign
// keys are on, as on the writer. The writer is idle meanwhile. Its page
// cache is 64 MiB instead of SQLite's 2 MiB: the copy of a large table
// and the sorts of its index builds then stay in memory rather than
// reading the same pages again.
func (p *Provider) openUnchecked() (*sql.DB, error) {
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: p.path,
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=ignore_check_constraints(1)&_pragma=cache_size(-65536)&_time_format=sqlite&_txlock=immediate"}).String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// MigrationDBUnchecked implements dbprovider.Provider: see openUnchecked.
func (p *Provider) MigrationDBUnchecked(context.Context) (*sql.DB, error) {
	db, err := p.openUnchecked()
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", p.path, err)
	}
	return db, nil
}

// TableHasConstraint implements dbprovider.Provider from the table's
// definition in sqlite_master (SQLite keeps no catalog of constraints).
func (p *Provider) TableHasConstraint(ctx context.Context, table, name string) (bool, error) {
	var n int
	if err := p.reader.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND instr(sql, ?) > 0`,
		table, "CONSTRAINT "+name+" ").Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: constraints of %s: %w", table, translate(err))
	}
	return n > 0, nil
}

// TableRebuild implements dbprovider.Provider. Every row was checked
// against the new constraints and for valid UTF-8 just before, and this
// process holds the database alone: the copy need not check them again,
// row by row, through the writer's hooks (a Go call per row) and the
// CHECK expressions. That halves the rebuild (openUnchecked).
func (p *Provider) TableRebuild(ctx context.Context, rp *dbprovider.TableRebuildParams) (int64, error) {
	db, err := p.openUnchecked()
	if err != nil {
		return 0, fmt.Errorf("sqlite: %05d: %w", rp.Version, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %05d: %w", rp.Version, err)
	}
	defer conn.Close()
	// Foreign keys off for the whole rebuild (DROP TABLE would cascade);
	// PRAGMA foreign_keys is a no-op inside a transaction, so it is set
	// between the steps, on the connection they run on.
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return 0, fmt.Errorf("sqlite: %05d: %w", rp.Version, err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON") }()

	var work []dbprovider.TableRebuildStep
	var tables []string
	var rows []int64
	skipped := 0
	for _, s := range rp.Steps {
		var sqlText string
		err := conn.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, s.Table).Scan(&sqlText)
		if err == sql.ErrNoRows {
			return 0, fmt.Errorf("sqlite: %05d: table %s is missing", rp.Version, s.Table)
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: %05d: %w", rp.Version, err)
		}
		if strings.Contains(sqlText, "CONSTRAINT "+s.Marker+" ") {
			skipped++
			continue
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(s.Table)).Scan(&n); err != nil {
			return 0, fmt.Errorf("sqlite: %05d: count %s: %w", rp.Version, s.Table, err)
		}
		work = append(work, s)
		tables = append(tables, s.Table)
		rows = append(rows, n)
	}
	if rp.Plan != nil {
		rp.Plan(tables, rows, skipped)
	}
	for _, s := range work {
		if rp.Begin != nil {
			rp.Begin(s.Table)
		}
		err := func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.SQL); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			// Between Begin and End: the caller names the table.
			return 0, err
		}
		// Keep the WAL to one table's worth: the next step reuses the
		// pages this one freed in the file.
		_, _ = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		if rp.End != nil {
			rp.End(s.Table)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %05d: %w", rp.Version, err)
	}
	defer func() { _ = tx.Rollback() }()
	var bad int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&bad); err != nil {
		return 0, fmt.Errorf("sqlite: %05d: foreign key check: %w", rp.Version, err)
	}
	if bad > 0 {
		return bad, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, rp.Version); err != nil {
		return 0, fmt.Errorf("sqlite: %05d: record the version: %w", rp.Version, err)
	}
	return 0, tx.Commit()
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
