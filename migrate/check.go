package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// maxListedPerTable bounds the refused values a check lists per table;
// beyond it they are counted only.
const maxListedPerTable = 1000

// realRunFactor is how much longer "podium migrate db" takes than the
// check's read of the same data (reading, converting and checking every
// value). In the real run that read overlaps PostgreSQL's ingestion of the
// COPY and takes about as long; the index builds and the verification
// read-back then add about as much again (make bench-migrate's phases, on
// a quiet machine: copy 2.3 s, keys and indexes 1.3 s, verification
// 0.95 s). On a loaded machine the estimate runs high.
const realRunFactor = 2.0

// Refusal is a value the real run would refuse.
type Refusal struct {
	Table  string `json:"table"`
	Key    string `json:"key"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// Readiness is the state of the target, as a check found it.
type Readiness struct {
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	Server    string `json:"server_version,omitempty"`
	// SchemaVersion is the target's Podium schema version (0: none).
	SchemaVersion   int64    `json:"schema_version"`
	HoldsPodiumData bool     `json:"holds_podium_data"`
	NonEmptyTables  []string `json:"non_empty_tables,omitempty"`
	// CanCreateSchema: the role created the whole schema, in a
	// transaction that was rolled back.
	CanCreateSchema bool `json:"can_create_schema"`
}

// CheckReport is what Run found with Options.Check.
type CheckReport struct {
	// OK: the real run would succeed (as of this snapshot).
	OK       bool     `json:"ok"`
	Problems []string `json:"problems"`
	// Refused lists the refused values, at most maxListedPerTable per
	// table; RefusedPerTable counts all of them.
	Refused         []Refusal        `json:"refused"`
	RefusedPerTable map[string]int64 `json:"refused_per_table"`
	Target          Readiness        `json:"target"`
	// ReadSeconds is the time the check took to read, convert and check
	// every row; EstimatedSeconds the real run's estimated duration.
	ReadSeconds      float64 `json:"read_seconds"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	EstimatedSeconds float64 `json:"estimated_seconds"`
	// SchemaUpgradeSeconds is the part of EstimatedSeconds that the real
	// run spends bringing the source's schema to this binary's first.
	SchemaUpgradeSeconds float64 `json:"schema_upgrade_seconds,omitempty"`
	// CleanedByUpgrade counts, per "table.column", the values of Podium's
	// own output and runtime state that the schema upgrade cleans (NUL
	// removed, invalid UTF-8 shown as U+FFFD, clamped): not refused.
	CleanedByUpgrade map[string]int64 `json:"cleaned_by_upgrade,omitempty"`
}

type checkState struct {
	rep *CheckReport
	// behind: the source is older than the parity migration, whose
	// upgrade cleans Podium's own data before the real run copies it.
	behind bool
	// seen holds table, key and column of every refusal: a value that both
	// the parity migration and the conversion refuse is listed once.
	seen map[[3]string]bool
}

func (c *checkState) add(r Refusal) {
	k := [3]string{r.Table, r.Key, r.Column}
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	n := c.rep.RefusedPerTable[r.Table]
	c.rep.RefusedPerTable[r.Table] = n + 1
	if n < maxListedPerTable {
		c.rep.Refused = append(c.rep.Refused, r)
	}
}

// refuse records a value the conversion refused; any other error stops
// the check.
func (c *checkState) refuse(t *table, row []driver.Value, err error) error {
	var ve *valueError
	if !errors.As(err, &ve) {
		return fmt.Errorf("migrate db: table %s: %w", t.Name, err)
	}
	if c.cleanedByUpgrade(t.Name, t.keyString(row), ve.Column) {
		return nil
	}
	c.add(Refusal{Table: t.Name, Key: t.keyString(row), Column: ve.Column, Reason: ve.Reason})
	return nil
}

func (c *checkState) problem(format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, fmt.Sprintf(format, args...))
}

// runCheck is Run with Options.Check: the preflight. It reads one snapshot
// of the SQLite database without its lock and without writing to it,
// converts and checks every row as the real run would, and looks at the
// target in a transaction that it rolls back. Problems go into the
// report, not the error: the error is for a check that could not be made
// (EINVALID or EREFUSED for a bad configuration or source).
func runCheck(ctx context.Context, opts Options, log *logrus.Entry) (*Result, error) {
	start := time.Now()
	src, err := openSourceMode(ctx, opts.SQLiteDir, true, true, log)
	if err != nil {
		return nil, err
	}
	defer src.close()
	workers := opts.Workers
	if workers <= 0 {
		workers = max(2, min(runtime.NumCPU(), 8))
	}
	if err := src.snapshot(ctx, min(workers, maxWorkers), log); err != nil {
		return nil, err
	}
	rep := &CheckReport{RefusedPerTable: map[string]int64{}, Problems: []string{}, Refused: []Refusal{}}
	cs := &checkState{rep: rep, seen: map[[3]string]bool{}, behind: src.version < schema.ParityVersion}
	res := &Result{DryRun: true, Source: src.path, SchemaVersion: src.version, SourceUpgradedFrom: src.wouldUpgrade, Check: rep}
	r := &run{opts: opts, log: log, src: src, check: cs}
	names, err := src.tables(ctx)
	if err != nil {
		return nil, err
	}
	if src.version < schema.ParityVersion {
		// The real run first brings the source to this binary's schema;
		// the parity migration refuses rows that break its constraints.
		checks, err := schema.ParityChecks()
		if err != nil {
			return nil, err
		}
		cvs, err := sqlite.ConstraintCheckOn(ctx, src.tx, checks)
		if err != nil {
			return nil, err
		}
		for _, v := range schema.ParityViolationsOf(cvs) {
			if cs.cleanedByUpgrade(v.Table, v.Key, v.Column) {
				continue
			}
			cs.add(Refusal{Table: v.Table, Key: v.Key, Column: v.Column,
				Reason: v.Reason + fmt.Sprintf(" (refused by SQLite migration %05d, which the real run applies to this file first)", schema.ParityVersion)})
		}
	}

	var tables []*table
	dst, err := openTarget(ctx, opts.PostgresURL)
	if err != nil {
		if podium.ErrorCode(err) == podium.EINVALID {
			return nil, err
		}
		rep.Target.Error = podium.ErrorMessage(err)
		cs.problem("target: %s", podium.ErrorMessage(err))
	} else {
		defer dst.close()
		dst.check, dst.log = true, log
		r.dst = dst
		res.Target = dst.describe
		rep.Target.Reachable, rep.Target.Server = true, dst.server
		tables = r.checkTarget(ctx, names, res)
	}
	if tables == nil {
		// Without the target's catalog, the source's declared types stand
		// in (JSON columns then read as text).
		if tables, err = r.dryRunTables(ctx, names); err != nil {
			return nil, err
		}
	}
	if tables, err = sortByForeignKeys(tables); err != nil {
		return nil, err
	}
	// Each worker reads its tables on its own connection, in its own
	// snapshot (see source.snapshot).
	plan, err := r.countRows(ctx, tables)
	if err != nil {
		return nil, err
	}
	r.progress(Event{Phase: PhasePlan, Plan: plan})
	read := time.Now()
	res.Workers = len(src.readers)
	if res.Tables, err = r.load(ctx, tables, plan, nil); err != nil {
		return nil, err
	}
	for _, tr := range res.Tables {
		res.Rows += tr.Rows
		res.Bytes += tr.Bytes
	}
	rep.ReadSeconds = time.Since(read).Seconds()
	rep.RowsPerSecond = float64(res.Rows) / max(rep.ReadSeconds, 1e-3)
	rep.EstimatedSeconds = rep.ReadSeconds*realRunFactor + 0.2
	if err := addSchemaUpgrade(ctx, src, rep); err != nil {
		return nil, err
	}
	if n := len(rep.RefusedPerTable); n > 0 {
		var total int64
		for _, c := range rep.RefusedPerTable {
			total += c
		}
		cs.problem("%d value(s) in %d table(s) would be refused: correct them in SQLite (see refused), then check again", total, n)
	}
	rep.OK = len(rep.Problems) == 0
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// checkTarget looks at the target as the real run would, in a transaction
// that is rolled back: its state, and whether the role can create the
// schema (by creating it). It returns the tables described by the target's
// catalog, or nil when it could not get that far.
func (r *run) checkTarget(ctx context.Context, names []string, res *Result) []*table {
	cs, rep := r.check, r.check.rep
	st, err := r.dst.begin(ctx, names)
	if err != nil {
		cs.problem("target: %s", podium.ErrorMessage(err))
		return nil
	}
	rep.Target.SchemaVersion = st.Version
	res.TargetVersionBefore = st.Version
	if st.Version > schema.Latest() {
		cs.problem("target: %s has schema version %d, newer than this binary (%d): use an empty database", r.dst.describe, st.Version, schema.Latest())
		return nil
	}
	if len(st.Existing) > 0 && !st.HasGoose {
		cs.problem("target: %s has tables named like Podium's (%s) but no %s table: use an empty database",
			r.dst.describe, strings.Join(st.Existing, ", "), versionTable)
		return nil
	}
	if len(st.NonEmpty) > 0 {
		rep.Target.HoldsPodiumData, rep.Target.NonEmptyTables = true, st.NonEmpty
		if !r.opts.DropAll {
			cs.problem("target: %s already holds Podium data (rows in %s): use an empty database, or run with --drop-all --yes to delete that data first",
				r.dst.describe, strings.Join(st.NonEmpty, ", "))
		}
	}
	applied, err := r.dst.migrateSchema(ctx, st)
	if err != nil {
		cs.problem("target: the role cannot create Podium's schema: %s", podium.ErrorMessage(err))
		return nil
	}
	rep.Target.CanCreateSchema = true
	res.AppliedMigrations = applied
	tables, err := r.plan(ctx, names, r.src.wouldUpgrade > 0)
	if err != nil {
		cs.problem("%s", podium.ErrorMessage(err))
		return nil
	}
	return tables
}

// restrict returns t with only the named columns (in t's order), its key
// re-indexed.
func (t *table) restrict(names []string) *table {
	nt := &table{Name: t.Name, Refs: t.Refs, Sequences: t.Sequences}
	idx := map[int]int{}
	for i, c := range t.Columns {
		if slices.Contains(names, c.Name) {
			idx[i] = len(nt.Columns)
			nt.Columns = append(nt.Columns, c)
		}
	}
	for _, k := range t.PK {
		if j, ok := idx[k]; ok {
			nt.PK = append(nt.PK, j)
		}
	}
	if len(nt.PK) == 0 {
		for i := range nt.Columns {
			nt.PK = append(nt.PK, i)
		}
	}
	return nt
}
