package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/podiumhq/podium/dbprovider"
	"golang.org/x/sync/errgroup"
)

// ConstraintCheck implements dbprovider.Provider on the reader pool
// ([ConstraintCheckOn]).
func (p *Provider) ConstraintCheck(ctx context.Context, checks []dbprovider.ColumnCheck) ([]dbprovider.ConstraintViolation, error) {
	return ConstraintCheckOn(ctx, p.reader, checks)
}

// Querier is what ConstraintCheckOn reads through: a *sql.DB, *sql.Conn
// or *sql.Tx of a SQLite database.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ConstraintCheckOn is ConstraintCheck through q, reading only: "podium
// migrate db --check" checks its source in the snapshot transaction it
// reads the rows in. A table's rows are checked by one query (and a
// second for UTF-8); on a pool of connections (a *sql.DB) two tables at a
// time, one per core of a small machine (the CHECK expressions are all
// CPU, and the largest history tables come last), on one connection or
// transaction one at a time. The result keeps the order of the tables.
func ConstraintCheckOn(ctx context.Context, q Querier, checks []dbprovider.ColumnCheck) ([]dbprovider.ConstraintViolation, error) {
	byTable := map[string][]dbprovider.ColumnCheck{}
	var tables []string
	for _, c := range checks {
		if _, ok := byTable[c.Table]; !ok {
			tables = append(tables, c.Table)
		}
		byTable[c.Table] = append(byTable[c.Table], c)
	}
	perTable := make([][]dbprovider.ConstraintViolation, len(tables))
	g, gctx := errgroup.WithContext(ctx)
	if _, ok := q.(*sql.DB); ok {
		g.SetLimit(2)
	} else {
		g.SetLimit(1)
	}
	for i, t := range tables {
		g.Go(func() error {
			vs, err := checkTable(gctx, q, t, byTable[t])
			perTable[i] = vs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []dbprovider.ConstraintViolation
	for _, vs := range perTable {
		out = append(out, vs...)
	}
	fk, err := q.QueryContext(ctx, `SELECT "table", rowid, parent FROM pragma_foreign_key_check`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: foreign key check: %w", translate(err))
	}
	defer fk.Close()
	for fk.Next() {
		var t, parent string
		var rowid sql.NullInt64
		if err := fk.Scan(&t, &rowid, &parent); err != nil {
			return nil, fmt.Errorf("sqlite: foreign key check: %w", translate(err))
		}
		key := "(no rowid)"
		if rowid.Valid {
			key = fmt.Sprintf("(rowid=%d)", rowid.Int64)
		}
		out = append(out, dbprovider.ConstraintViolation{Table: t, Key: key, Column: "references " + parent, Rule: "foreign_key"})
	}
	return out, fk.Err()
}

// checkExpr is a check's expression as the row check evaluates it: true
// and false on the same values, cheaper. SQLite's datetime(x) is
// strftime('%Y-%m-%d %H:%M:%S', x) (its documentation says so) without
// the interpretation of a format string; timestamps are most of what the
// check evaluates on a large history, and this takes a third off it
// (schema's TestCheckExprAgreesWithRule). The migration's own constraint
// is unchanged.
func checkExpr(expr string) string {
	return strings.ReplaceAll(expr, "strftime('%Y-%m-%d %H:%M:%S', ", "datetime(")
}

// checkTable lists the rows of table t that its checks refuse (nil when
// the database has no such table).
func checkTable(ctx context.Context, q Querier, t string, checks []dbprovider.ColumnCheck) ([]dbprovider.ConstraintViolation, error) {
	var out []dbprovider.ConstraintViolation
	cols, key, err := tableColumns(ctx, q, t)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, nil
	}
	var flags []string
	var cs []dbprovider.ColumnCheck
	for _, c := range checks {
		if !cols[c.Column] {
			continue // a column a later migration adds: its own CHECKs apply
		}
		flags = append(flags, fmt.Sprintf("(%s) IS 0", checkExpr(c.Expr)))
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	keyList := make([]string, len(key))
	for i, k := range key {
		keyList[i] = quoteIdent(k)
	}
	query := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s", strings.Join(keyList, ", "), strings.Join(flags, ", "),
		quoteIdent(t), strings.Join(flags, " OR "))
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: check of %s: %w", t, translate(err))
	}
	for rows.Next() {
		keys := make([]any, len(key))
		bad := make([]bool, len(cs))
		dst := make([]any, 0, len(key)+len(cs))
		for i := range keys {
			dst = append(dst, &keys[i])
		}
		for i := range bad {
			dst = append(dst, &bad[i])
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: check of %s: %w", t, translate(err))
		}
		k := rowKey(key, keys)
		for i, b := range bad {
			if b {
				out = append(out, dbprovider.ConstraintViolation{Table: t, Key: k, Column: cs[i].Column, Rule: cs[i].Rule})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: check of %s: %w", t, translate(err))
	}
	more, err := invalidUTF8(ctx, q, t, key, cs)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// invalidUTF8 lists the text values of a table that are not valid UTF-8,
// which no SQL of SQLite can see (the writer refuses them, utf8.go, but an
// older binary or the sqlite3 shell may have stored them).
func invalidUTF8(ctx context.Context, q Querier, table string, key []string, checks []dbprovider.ColumnCheck) ([]dbprovider.ConstraintViolation, error) {
	var cols []string
	for _, c := range checks {
		if c.Text && !slices.Contains(cols, c.Column) {
			cols = append(cols, c.Column)
		}
	}
	if len(cols) == 0 {
		return nil, nil
	}
	list := make([]string, 0, len(key)+len(cols))
	for _, c := range append(slices.Clone(key), cols...) {
		list = append(list, quoteIdent(c))
	}
	// Only values that are not plain ASCII can be invalid UTF-8: SQL picks
	// them (nonASCII), Go checks them.
	filters := make([]string, len(cols))
	for i, c := range cols {
		filters[i] = nonASCII(c)
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(list, ", "), quoteIdent(table), strings.Join(filters, " OR ")))
	if err != nil {
		return nil, fmt.Errorf("sqlite: UTF-8 check of %s: %w", table, translate(err))
	}
	defer rows.Close()
	vals := make([]any, len(list))
	dst := make([]any, len(list))
	for i := range vals {
		dst[i] = &vals[i]
	}
	var out []dbprovider.ConstraintViolation
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("sqlite: UTF-8 check of %s: %w", table, translate(err))
		}
		for i, c := range cols {
			s, ok := vals[len(key)+i].(string)
			if !ok || utf8.ValidString(s) {
				continue
			}
			out = append(out, dbprovider.ConstraintViolation{Table: table, Key: rowKey(key, vals[:len(key)]), Column: c, Rule: "utf8"})
		}
	}
	return out, rows.Err()
}

// nonASCII is the SQL filter for text values that are not plain ASCII
// without NUL: only such values can hold NUL or invalid UTF-8, so only
// they are read into Go (no SQL function of SQLite sees invalid UTF-8, but
// GLOB reads every byte of 0x80 and above as a character outside
// U+0001-U+007F, and a NUL shows as a byte of the value as a blob).
func nonASCII(col string) string {
	c := quoteIdent(col)
	return fmt.Sprintf("(typeof(%s) = 'text' AND (%s GLOB '*[^' || char(1) || '-' || char(127) || ']*' OR instr(CAST(%s AS BLOB), x'00') > 0))", c, c, c)
}

// tableColumns returns a table's columns and its key columns (the primary
// key, else rowid); nil columns when the table does not exist.
func tableColumns(ctx context.Context, q Querier, table string) (map[string]bool, []string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: columns of %s: %w", table, translate(err))
	}
	defer rows.Close()
	var cols map[string]bool
	type pk struct {
		name string
		pos  int
	}
	var pks []pk
	for rows.Next() {
		var name string
		var pos int
		if err := rows.Scan(&name, &pos); err != nil {
			return nil, nil, fmt.Errorf("sqlite: columns of %s: %w", table, translate(err))
		}
		if cols == nil {
			cols = map[string]bool{}
		}
		cols[name] = true
		if pos > 0 {
			pks = append(pks, pk{name, pos})
		}
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
	key := []string{"rowid"}
	if len(pks) > 0 {
		key = key[:0]
		for _, p := range pks {
			key = append(key, p.name)
		}
	}
	return cols, key, rows.Err()
}

// rowKey names a row by its key columns, as "podium migrate db" names
// rows: (id=5), (name="a", n=2).
func rowKey(key []string, vals []any) string {
	parts := make([]string, len(key))
	for i, k := range key {
		var v string
		switch x := vals[i].(type) {
		case string:
			v = fmt.Sprintf("%q", x)
		case []byte:
			v = fmt.Sprintf("x'%x'", x)
		default:
			v = fmt.Sprint(x)
		}
		parts[i] = k + "=" + v
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
