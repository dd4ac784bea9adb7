package schema

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// OwnText lists the text columns that hold what Podium itself captured
// from processes (render, build and task output, job logs, the errors that
// quote them): values without identity, which releases before the parity
// migration stored raw (NUL bytes, invalid UTF-8). The upgrade cleans them
// as capture cleans them today ([podium.CleanText]), and counts what it
// changed. Every other column holds values a user entered (names, titles,
// settings, JSON details): those are never changed without the
// administrator ("podium migrate schema repair").
var OwnText = []OwnColumn{
	{Table: "job_attempts", Column: "log"},
	{Table: "job_attempts", Column: "error"},
	{Table: "jobs", Column: "error"},
	{Table: "task_output", Column: "line"},
	{Table: "tasks", Column: "error"},
}

// OwnRange lists the integer columns of node runtime state that older
// releases stored unchecked (an [Applications] ScheduleConcurrency of
// 5000000000): out-of-range values are clamped to the PostgreSQL integer
// range, with a warning.
var OwnRange = []OwnColumn{
	{Table: "nodes", Column: "schedule_concurrency", Min: math.MinInt32, Max: math.MaxInt32},
}

// OwnColumn is a column of Podium's own data.
type OwnColumn struct {
	Table, Column string
	// Min and Max bound an OwnRange column.
	Min, Max int64
}

// OwnRepair counts what the upgrade changed in one column of Podium's own
// data.
type OwnRepair struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	// NUL counts values that held NUL bytes (removed), Invalid values
	// that held invalid UTF-8 (replaced with U+FFFD), Clamped integers
	// brought into range.
	Changed int64 `json:"rows"`
	NUL     int64 `json:"nul_removed,omitempty"`
	Invalid int64 `json:"invalid_utf8_replaced,omitempty"`
	Clamped int64 `json:"clamped,omitempty"`
}

// Rows is the number of rows changed.
func (r OwnRepair) Rows() int64 { return r.Changed }

// ownBatch is how many rows one transaction of the repair changes: each
// commits, so a repair interrupted by a kill keeps what it did and the
// next start goes on from there (the repair is idempotent).
const ownBatch = 2000

// RepairOwnData cleans Podium's own data in a SQLite database as the
// parity migration needs it (see [OwnText], [OwnRange]), in committed
// batches, and returns per column what it changed. dry only counts.
func RepairOwnData(ctx context.Context, p dbprovider.Provider, dry bool, prog *progress) ([]OwnRepair, error) {
	var out []OwnRepair
	var tables []string
	byTable := map[string][]string{}
	for _, c := range OwnText {
		if byTable[c.Table] == nil {
			tables = append(tables, c.Table)
		}
		byTable[c.Table] = append(byTable[c.Table], c.Column)
	}
	for _, t := range tables {
		reps, err := cleanTextColumns(ctx, p, t, byTable[t], dry, prog)
		if err != nil {
			return out, err
		}
		for _, rep := range reps {
			if rep.Rows() > 0 {
				out = append(out, rep)
			}
		}
	}
	for _, c := range OwnRange {
		rep, err := clampColumn(ctx, p, c.Table, c.Column, c.Min, c.Max, dry)
		if err != nil {
			return out, err
		}
		if rep.Rows() > 0 {
			out = append(out, rep)
		}
	}
	return out, nil
}

// cleanTextColumns applies [podium.CleanText] to every value of the text
// columns of a table that needs it, in committed batches of ownBatch
// rows ([dbprovider.Provider.TextClean]), and counts what it changed per
// column.
func cleanTextColumns(ctx context.Context, p dbprovider.Provider, table string, columns []string, dry bool, prog *progress) ([]OwnRepair, error) {
	reps := make([]OwnRepair, len(columns))
	for i, c := range columns {
		reps[i] = OwnRepair{Table: table, Column: c}
	}
	err := p.TextClean(ctx, &dbprovider.TextCleanParams{Table: table, Columns: columns, Dry: dry, Batch: ownBatch,
		Clean: func(i int, v string) string {
			cl := podium.CleanText(v)
			if cl != v {
				if strings.IndexByte(v, 0) >= 0 {
					reps[i].NUL++
				}
				if !utf8.ValidString(v) {
					reps[i].Invalid++
				}
				reps[i].Changed++
			}
			return cl
		},
		Progress: func(last int64) { prog.note(Progress{Phase: PhaseRepair, Table: table, Rows: last}) }})
	if err != nil {
		return reps, fmt.Errorf("schema: repair %s: %w", table, err)
	}
	return reps, nil
}

// clampColumn brings the integers of a column outside [lo, hi] to the
// nearest bound.
func clampColumn(ctx context.Context, p dbprovider.Provider, table, column string, lo, hi int64, dry bool) (OwnRepair, error) {
	rep := OwnRepair{Table: table, Column: column}
	n, err := p.IntegerClamp(ctx, table, column, lo, hi, dry)
	if err != nil {
		return rep, fmt.Errorf("schema: repair %s.%s: %w", table, column, err)
	}
	rep.Changed, rep.Clamped = n, n
	return rep, nil
}

// logOwnRepairs logs what RepairOwnData changed, one line per column.
func logOwnRepairs(log *logrus.Entry, reps []OwnRepair) {
	if log == nil {
		return
	}
	for _, r := range reps {
		f := logrus.Fields{"table": r.Table, "column": r.Column, "rows": r.Rows()}
		if r.NUL > 0 {
			f["nul_removed"] = r.NUL
		}
		if r.Invalid > 0 {
			f["invalid_utf8_replaced"] = r.Invalid
		}
		if r.Clamped > 0 {
			f["clamped"] = r.Clamped
			log.WithFields(f).Warn("upgrade: out-of-range node runtime setting clamped to the PostgreSQL integer range")
			continue
		}
		log.WithFields(f).Info("upgrade: cleaned output Podium stored before it cleaned its capture (NUL removed, invalid UTF-8 shown as U+FFFD)")
	}
}

// sinceMillis rounds a duration for logs.
func sinceMillis(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
