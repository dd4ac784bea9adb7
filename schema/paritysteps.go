package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// The parity migration (00035) rebuilds every table of a SQLite database.
// goose would run it as one transaction: on a large history it is the
// longest step of an upgrade, silent, and a kill redoes all of it. A node
// runs it in steps instead, from the same file: one committed transaction
// per table (its rebuild and its indexes), then the foreign key check and
// goose's version row. A step already done (its table carries the new
// constraints) is skipped, so a run interrupted by a kill resumes from the
// last finished table, and each finished table is logged with the rows
// done and the time left. The schema that results is the one goose's run
// of the file gives ("podium migrate schema rehearse" still runs the file
// through goose, on a copy).

// parityStep is the rebuild of one table.
type parityStep struct {
	Table string
	SQL   string // create, copy, drop, rename, then the table's indexes
	// Marker is a constraint name that only the rebuilt table has.
	Marker string
}

var (
	createNewRe = regexp.MustCompile(`(?m)^CREATE TABLE podium_new_(\w+) \(`)
	indexOnRe   = regexp.MustCompile(`(?m)^CREATE INDEX \w+ ON (\w+) \(.*;$`)
	constraint  = regexp.MustCompile(`CONSTRAINT (\w+) CHECK`)
)

// paritySteps splits 00035's Up section into per-table steps.
func paritySteps() ([]parityStep, error) {
	b, err := fs.ReadFile(embedded, parityFile)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	src := string(b)
	if i := strings.Index(src, "-- +goose Down"); i >= 0 {
		src = src[:i]
	}
	var steps []parityStep
	idx := map[string]int{}
	locs := createNewRe.FindAllStringSubmatchIndex(src, -1)
	for _, l := range locs {
		table := src[l[2]:l[3]]
		end := "ALTER TABLE podium_new_" + table + " RENAME TO " + table + ";"
		j := strings.Index(src[l[0]:], end)
		if j < 0 {
			return nil, fmt.Errorf("schema: %s: no %q", parityFile, end)
		}
		body := src[l[0] : l[0]+j+len(end)]
		m := constraint.FindStringSubmatch(body)
		if m == nil {
			return nil, fmt.Errorf("schema: %s: table %s has no named constraint", parityFile, table)
		}
		idx[table] = len(steps)
		steps = append(steps, parityStep{Table: table, SQL: body + "\n", Marker: m[1]})
	}
	for _, m := range indexOnRe.FindAllStringSubmatch(src, -1) {
		i, ok := idx[m[1]]
		if !ok {
			return nil, fmt.Errorf("schema: %s: index on %s, a table it does not rebuild", parityFile, m[1])
		}
		steps[i].SQL += m[0] + "\n"
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("schema: %s: no tables", parityFile)
	}
	return steps, nil
}

// rebuildParity applies 00035 to a SQLite database step by step (see
// above) and records it in goose's version table. It assumes the rows
// were checked ([ParityViolations]): a row a constraint refuses fails its
// table's step, which is rolled back alone.
func rebuildParity(ctx context.Context, db *sql.DB, path string, pr *progress) error {
	steps, err := paritySteps()
	if err != nil {
		return err
	}
	if path != "" {
		// Every row was checked against these constraints and for valid
		// UTF-8 just before (upgradeSQLite), and this process holds the
		// database alone: the copy need not check them again, row by row,
		// through the provider's write hooks (a Go call per row) and the
		// CHECK expressions (ignore_check_constraints). That halves the
		// rebuild. A connection of its own, without the hooks, on the same
		// file; the provider's writer is idle meanwhile.
		raw, err := openUnchecked(path)
		if err != nil {
			return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
		}
		defer raw.Close()
		db = raw
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
	}
	defer conn.Close()
	// Foreign keys off for the whole rebuild (DROP TABLE would cascade);
	// PRAGMA foreign_keys is a no-op inside a transaction, so it is set
	// between the steps, on the connection they run on.
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON") }()

	const name = "00035_parity.sql"
	type todo struct {
		parityStep
		rows int64
	}
	var work []todo
	var total, skipped int64
	for _, s := range steps {
		var sqlText string
		err := conn.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, s.Table).Scan(&sqlText)
		if err == sql.ErrNoRows {
			return fmt.Errorf("schema: %05d: table %s is missing", ParityVersion, s.Table)
		}
		if err != nil {
			return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
		}
		if strings.Contains(sqlText, "CONSTRAINT "+s.Marker+" ") {
			skipped++
			continue
		}
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(s.Table)).Scan(&n); err != nil {
			return fmt.Errorf("schema: %05d: count %s: %w", ParityVersion, s.Table, err)
		}
		work = append(work, todo{s, n})
		total += n
	}
	if skipped > 0 {
		pr.step(Progress{Phase: PhaseMigrate, Migration: name, Table: fmt.Sprintf("resuming: %d of %d tables already rebuilt", skipped, len(steps))})
	}
	started := time.Now()
	var done int64
	for _, w := range work {
		p := Progress{Phase: PhaseMigrate, Migration: name, Table: w.Table, Rows: done, Total: total}
		// The time left for the whole rebuild, counting down while this
		// table runs: at the rate so far, once it is measured on enough
		// rows; before, the calibrated cost per row (estimate.go).
		est := time.Duration(total-done) * parityCostPerRow
		if done >= 10000 {
			est = eta(started, done, total)
		}
		stop := pr.during(p, est)
		err := func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, w.SQL); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}()
		stop()
		if err != nil {
			return fmt.Errorf("schema: migrate: %s failed at table %s: %w", name, w.Table, err)
		}
		// Keep the WAL to one table's worth: the next step reuses the
		// pages this one freed in the file.
		_, _ = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		done += w.rows
		left := time.Duration(total-done) * parityCostPerRow
		if done >= 10000 {
			left = eta(started, done, total)
		}
		pr.step(Progress{Phase: PhaseMigrate, Migration: name, Table: w.Table + " done", Rows: done, Total: total, Left: left})
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
	}
	defer func() { _ = tx.Rollback() }()
	var bad int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&bad); err != nil {
		return fmt.Errorf("schema: %05d: foreign key check: %w", ParityVersion, err)
	}
	if bad > 0 {
		return podium.Errorf(podium.EREFUSED, "schema: migration %s: %d row(s) refer to rows that do not exist; "+
			"run \"podium migrate schema repair --dry-run\" to list them", name, bad)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, ParityVersion); err != nil {
		return fmt.Errorf("schema: %05d: record the version: %w", ParityVersion, err)
	}
	return tx.Commit()
}

// rebuiltTables returns the tables that an interrupted run of the parity
// rebuild finished (their definition carries the new constraints).
func rebuiltTables(ctx context.Context, q Querier) (map[string]bool, error) {
	steps, err := paritySteps()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range steps {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND instr(sql, ?) > 0`,
			s.Table, "CONSTRAINT "+s.Marker+" ").Scan(&n); err != nil {
			return nil, fmt.Errorf("schema: %05d: %w", ParityVersion, err)
		}
		if n > 0 {
			out[s.Table] = true
		}
	}
	return out, nil
}

// openUnchecked opens the SQLite database at path on one connection that
// does not evaluate CHECK constraints (ignore_check_constraints) and has
// none of the provider's write hooks, for the steps of an upgrade whose
// rows were all checked just before ([upgradeSQLite]). Foreign keys are
// on, as on the provider's writer. The caller closes it; the provider's
// writer is idle meanwhile. Its page cache is 64 MiB instead of SQLite's
// 2 MiB: the copy of a large table and the sorts of its index builds
// then stay in memory rather than reading the same pages again.
func openUnchecked(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: path,
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=ignore_check_constraints(1)&_pragma=cache_size(-65536)&_time_format=sqlite&_txlock=immediate"}).String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}
