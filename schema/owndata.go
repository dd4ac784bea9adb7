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
	var tables []string
	byTable := map[string][]string{}
	for _, c := range OwnText {
		if byTable[c.Table] == nil {
			tables = append(tables, c.Table)
		}
		byTable[c.Table] = append(byTable[c.Table], c.Column)
	}
	for _, t := range tables {
		reps, err := cleanTextColumns(ctx, w, r, t, byTable[t], dry, prog)
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
		rep, err := clampColumn(ctx, w, r, c.Table, c.Column, c.Min, c.Max, dry)
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
// rows. A row's columns are cleaned in one UPDATE: the SQLite provider
// refuses a write whose new row holds invalid UTF-8 in any column.
func cleanTextColumns(ctx context.Context, w *sql.DB, r Querier, table string, columns []string, dry bool, prog *progress) ([]OwnRepair, error) {
	have, _, err := sqliteColumns(ctx, r, table)
	if err != nil {
		return nil, err
	}
	var cols, filters, sets []string
	var reps []OwnRepair
	for _, c := range columns {
		if have[c] {
			cols = append(cols, quoteIdent(c))
			filters = append(filters, nonASCII(c))
			sets = append(sets, quoteIdent(c)+" = ?")
			reps = append(reps, OwnRepair{Table: table, Column: c})
		}
	}
	if len(cols) == 0 {
		return nil, nil
	}
	last := int64(math.MinInt64)
	for {
		var fixes [][]any
		rows, err := r.QueryContext(ctx, fmt.Sprintf("SELECT rowid, %s FROM %s WHERE rowid > ? AND (%s) ORDER BY rowid LIMIT %d",
			strings.Join(cols, ", "), quoteIdent(table), strings.Join(filters, " OR "), ownBatch), last)
		if err != nil {
			return reps, fmt.Errorf("schema: repair %s: %w", table, err)
		}
		n := 0
		for rows.Next() {
			var id int64
			vals := make([]sql.NullString, len(cols))
			dst := []any{&id}
			for i := range vals {
				dst = append(dst, &vals[i])
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return reps, fmt.Errorf("schema: repair %s: %w", table, err)
			}
			n++
			last = id
			args, changed := make([]any, 0, len(cols)+1), false
			for i, v := range vals {
				if !v.Valid {
					args = append(args, nil)
					continue
				}
				cl := podium.CleanText(v.String)
				if cl != v.String {
					changed = true
					if strings.IndexByte(v.String, 0) >= 0 {
						reps[i].NUL++
					}
					if !utf8.ValidString(v.String) {
						reps[i].Invalid++
					}
					reps[i].Changed++
				}
				args = append(args, cl)
			}
			if changed {
				fixes = append(fixes, append(args, id))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return reps, fmt.Errorf("schema: repair %s: %w", table, err)
		}
		if len(fixes) > 0 && !dry {
			err := inTx(ctx, w, func(tx *sql.Tx) error {
				st, err := tx.PrepareContext(ctx, fmt.Sprintf("UPDATE %s SET %s WHERE rowid = ?", quoteIdent(table), strings.Join(sets, ", ")))
				if err != nil {
					return err
				}
				defer st.Close()
				for _, f := range fixes {
					if _, err := st.ExecContext(ctx, f...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return reps, fmt.Errorf("schema: repair %s: %w", table, err)
			}
		}
		if n < ownBatch {
			return reps, nil
		}
		prog.note(Progress{Phase: PhaseRepair, Table: table, Rows: last})
	}
}

// clampColumn brings the integers of a column outside [lo, hi] to the
// nearest bound.
func clampColumn(ctx context.Context, w *sql.DB, r Querier, table, column string, lo, hi int64, dry bool) (OwnRepair, error) {
	rep := OwnRepair{Table: table, Column: column}
	cols, _, err := sqliteColumns(ctx, r, table)
	if err != nil || !cols[column] {
		return rep, err
	}
	col, tab := quoteIdent(column), quoteIdent(table)
	where := fmt.Sprintf("typeof(%s) = 'integer' AND (%s < %d OR %s > %d)", col, col, lo, col, hi)
	var n int64
	if err := r.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", tab, where)).Scan(&n); err != nil {
		return rep, fmt.Errorf("schema: repair %s.%s: %w", table, column, err)
	}
	if n > 0 && !dry {
		if _, err := w.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = CASE WHEN %s < %d THEN %d ELSE %d END WHERE %s",
			tab, col, col, lo, lo, hi, where)); err != nil {
			return rep, fmt.Errorf("schema: repair %s.%s: %w", table, column, err)
		}
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
