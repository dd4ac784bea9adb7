package schema

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/podiumhq/podium"
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

// nonASCII is the SQL filter for text values that are not plain ASCII
// without NUL: only such values can hold NUL or invalid UTF-8, so only
// they are read into Go (no SQL function of SQLite sees invalid UTF-8, but
// GLOB reads every byte of 0x80 and above as a character outside
// U+0001-U+007F, and a NUL shows as a byte of the value as a blob).
func nonASCII(col string) string {
	c := quoteIdent(col)
	return fmt.Sprintf("(typeof(%s) = 'text' AND (%s GLOB '*[^' || char(1) || '-' || char(127) || ']*' OR instr(CAST(%s AS BLOB), x'00') > 0))", c, c, c)
}

// ownBatch is how many rows one transaction of the repair changes: each
// commits, so a repair interrupted by a kill keeps what it did and the
// next start goes on from there (the repair is idempotent).
const ownBatch = 2000

// RepairOwnData cleans Podium's own data in a SQLite database as the
// parity migration needs it (see [OwnText], [OwnRange]), in committed
// batches, and returns per column what it changed. dry only counts. The
// reads go through r (a reader beside the writer, or w itself), the
// writes through w.
func RepairOwnData(ctx context.Context, w *sql.DB, r Querier, dry bool, prog *progress) ([]OwnRepair, error) {
	var out []OwnRepair
	for _, c := range OwnText {
		cols, _, err := sqliteColumns(ctx, r, c.Table)
		if err != nil {
			return out, err
		}
		if !cols[c.Column] {
			continue
		}
		rep := OwnRepair{Table: c.Table, Column: c.Column}
		k := "rowid" // every table has one (none is WITHOUT ROWID)
		last := int64(math.MinInt64)
		for {
			type fix struct {
				id  int64
				val string
			}
			var fixes []fix
			rows, err := r.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s > ? AND %s ORDER BY %s LIMIT %d",
				k, quoteIdent(c.Column), quoteIdent(c.Table), k, nonASCII(c.Column), k, ownBatch), last)
			if err != nil {
				return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
			}
			n := 0
			for rows.Next() {
				var id int64
				var v string
				if err := rows.Scan(&id, &v); err != nil {
					rows.Close()
					return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
				}
				n++
				last = id
				if cl := podium.CleanText(v); cl != v {
					if strings.IndexByte(v, 0) >= 0 {
						rep.NUL++
					}
					if !utf8.ValidString(v) {
						rep.Invalid++
					}
					rep.Changed++
					fixes = append(fixes, fix{id, cl})
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
			}
			if len(fixes) > 0 && !dry {
				err := inTx(ctx, w, func(tx *sql.Tx) error {
					st, err := tx.PrepareContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", quoteIdent(c.Table), quoteIdent(c.Column), k))
					if err != nil {
						return err
					}
					defer st.Close()
					for _, f := range fixes {
						if _, err := st.ExecContext(ctx, f.val, f.id); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
				}
			}
			if n < ownBatch {
				break
			}
			prog.note(Progress{Phase: PhaseRepair, Table: c.Table + "." + c.Column, Rows: last})
		}
		if rep.Rows() > 0 {
			out = append(out, rep)
		}
	}
	for _, c := range OwnRange {
		cols, _, err := sqliteColumns(ctx, r, c.Table)
		if err != nil {
			return out, err
		}
		if !cols[c.Column] {
			continue
		}
		col, tab := quoteIdent(c.Column), quoteIdent(c.Table)
		where := fmt.Sprintf("typeof(%s) = 'integer' AND (%s < %d OR %s > %d)", col, col, c.Min, col, c.Max)
		var n int64
		if err := r.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", tab, where)).Scan(&n); err != nil {
			return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
		}
		if n == 0 {
			continue
		}
		if !dry {
			if _, err := w.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = CASE WHEN %s < %d THEN %d ELSE %d END WHERE %s",
				tab, col, col, c.Min, c.Min, c.Max, where)); err != nil {
				return out, fmt.Errorf("schema: repair %s.%s: %w", c.Table, c.Column, err)
			}
		}
		out = append(out, OwnRepair{Table: c.Table, Column: c.Column, Changed: n, Clamped: n})
	}
	return out, nil
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

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sinceMillis rounds a duration for logs.
func sinceMillis(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
