package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"

	"github.com/podiumhq/podium/dbprovider"
)

// TextClean implements dbprovider.Provider: the rows are read from the
// reader pool in rowid order, ownBatch at a time; a batch's changed rows
// are written in one transaction on the writer, each row's columns in one
// UPDATE (the writer refuses a row that still holds invalid UTF-8 in any
// column, utf8.go).
func (p *Provider) TextClean(ctx context.Context, tp *dbprovider.TextCleanParams) error {
	have, _, err := tableColumns(ctx, p.reader, tp.Table)
	if err != nil {
		return err
	}
	var cols, filters, sets []string
	var index []int // position in tp.Columns
	for i, c := range tp.Columns {
		if have[c] {
			cols = append(cols, quoteIdent(c))
			filters = append(filters, nonASCII(c))
			sets = append(sets, quoteIdent(c)+" = ?")
			index = append(index, i)
		}
	}
	if len(cols) == 0 {
		return nil
	}
	batch := max(tp.Batch, 1)
	last := int64(math.MinInt64)
	for {
		var fixes [][]any
		rows, err := p.reader.QueryContext(ctx, fmt.Sprintf("SELECT rowid, %s FROM %s WHERE rowid > ? AND (%s) ORDER BY rowid LIMIT %d",
			strings.Join(cols, ", "), quoteIdent(tp.Table), strings.Join(filters, " OR "), batch), last)
		if err != nil {
			return fmt.Errorf("sqlite: clean %s: %w", tp.Table, translate(err))
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
				return fmt.Errorf("sqlite: clean %s: %w", tp.Table, translate(err))
			}
			n++
			last = id
			args, changed := make([]any, 0, len(cols)+1), false
			for i, v := range vals {
				if !v.Valid {
					args = append(args, nil)
					continue
				}
				cl := tp.Clean(index[i], v.String)
				changed = changed || cl != v.String
				args = append(args, cl)
			}
			if changed {
				fixes = append(fixes, append(args, id))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: clean %s: %w", tp.Table, translate(err))
		}
		if len(fixes) > 0 && !tp.Dry {
			if err := p.updateRows(ctx, fmt.Sprintf("UPDATE %s SET %s WHERE rowid = ?", quoteIdent(tp.Table), strings.Join(sets, ", ")), fixes); err != nil {
				return fmt.Errorf("sqlite: clean %s: %w", tp.Table, translate(err))
			}
		}
		if n < batch {
			return nil
		}
		if tp.Progress != nil {
			tp.Progress(last)
		}
	}
}

// updateRows runs the statement once per row of args, in one transaction
// on the writer.
func (p *Provider) updateRows(ctx context.Context, query string, args [][]any) error {
	tx, err := p.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range args {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// IntegerClamp implements dbprovider.Provider.
func (p *Provider) IntegerClamp(ctx context.Context, table, column string, lo, hi int64, dry bool) (int64, error) {
	cols, _, err := tableColumns(ctx, p.reader, table)
	if err != nil || !cols[column] {
		return 0, err
	}
	col, tab := quoteIdent(column), quoteIdent(table)
	where := fmt.Sprintf("typeof(%s) = 'integer' AND (%s < %d OR %s > %d)", col, col, lo, col, hi)
	var n int64
	if err := p.reader.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", tab, where)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: clamp %s.%s: %w", table, column, translate(err))
	}
	if n > 0 && !dry {
		if _, err := p.DB().ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = CASE WHEN %s < %d THEN %d ELSE %d END WHERE %s",
			tab, col, col, lo, lo, hi, where)); err != nil {
			return 0, fmt.Errorf("sqlite: clamp %s.%s: %w", table, column, translate(err))
		}
	}
	return n, nil
}
