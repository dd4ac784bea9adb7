package schema

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
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
// above, [dbprovider.Provider.TableRebuild]) and records it in goose's
// version table, reporting each table with the rows done and the time
// left. It assumes the rows were checked ([ParityChecks]): a row a
// constraint refuses fails its table's step, which is rolled back alone.
func rebuildParity(ctx context.Context, p dbprovider.Provider, pr *progress) error {
	steps, err := paritySteps()
	if err != nil {
		return err
	}
	const name = "00035_parity.sql"
	var rows map[string]int64
	var total, done int64
	var started time.Time
	current := ""
	var stop func()
	rp := &dbprovider.TableRebuildParams{Version: ParityVersion, Steps: make([]dbprovider.TableRebuildStep, len(steps))}
	for i, s := range steps {
		rp.Steps[i] = dbprovider.TableRebuildStep{Table: s.Table, SQL: s.SQL, Marker: s.Marker}
	}
	rp.Plan = func(tables []string, n []int64, skipped int) {
		rows = map[string]int64{}
		for i, t := range tables {
			rows[t] = n[i]
			total += n[i]
		}
		if skipped > 0 {
			pr.step(Progress{Phase: PhaseMigrate, Migration: name, Table: fmt.Sprintf("resuming: %d of %d tables already rebuilt", skipped, len(steps))})
		}
		started = time.Now()
	}
	rp.Begin = func(table string) {
		current = table
		// The time left for the whole rebuild, counting down while this
		// table runs: at the rate so far, once it is measured on enough
		// rows; before, the calibrated cost per row (estimate.go).
		est := time.Duration(total-done) * parityCostPerRow
		if done >= 10000 {
			est = eta(started, done, total)
		}
		stop = pr.during(Progress{Phase: PhaseMigrate, Migration: name, Table: table, Rows: done, Total: total}, est)
	}
	rp.End = func(table string) {
		stop()
		current = ""
		done += rows[table]
		left := time.Duration(total-done) * parityCostPerRow
		if done >= 10000 {
			left = eta(started, done, total)
		}
		pr.step(Progress{Phase: PhaseMigrate, Migration: name, Table: table + " done", Rows: done, Total: total, Left: left})
	}
	dangling, err := p.TableRebuild(ctx, rp)
	if current != "" {
		stop()
		return fmt.Errorf("schema: migrate: %s failed at table %s: %w", name, current, err)
	}
	if err != nil {
		return fmt.Errorf("schema: %05d: %w", ParityVersion, err)
	}
	if dangling > 0 {
		return podium.Errorf(podium.EREFUSED, "schema: migration %s: %d row(s) refer to rows that do not exist; "+
			"run \"podium migrate schema repair --dry-run\" to list them", name, dangling)
	}
	return nil
}

// rebuiltTables returns the tables that an interrupted run of the parity
// rebuild finished (their definition carries the new constraints).
func rebuiltTables(ctx context.Context, p dbprovider.Provider) (map[string]bool, error) {
	steps, err := paritySteps()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range steps {
		has, err := p.TableHasConstraint(ctx, s.Table, s.Marker)
		if err != nil {
			return nil, fmt.Errorf("schema: %05d: %w", ParityVersion, err)
		}
		if has {
			out[s.Table] = true
		}
	}
	return out, nil
}
