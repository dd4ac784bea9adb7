package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/podiumhq/podium/dbprovider"
	"golang.org/x/sync/errgroup"
)

// ParityVersion is the SQLite migration that gives every column the CHECK
// constraints mirroring what PostgreSQL refuses (00035_parity.sql).
const ParityVersion int64 = 35

const parityFile = "migrations/sqlite/00035_parity.sql"

// parityRule is one named column constraint of the parity migration:
// "CONSTRAINT <column>_<rule> CHECK (<expr>)" inside "CREATE TABLE
// podium_new_<table>". The migration file is the only place the rules are
// written; the pre-check reads them from it.
type parityRule struct {
	Table, Column, Rule, Expr string
}

// parityReasons says, per rule, what a value must be and what to do.
var parityReasons = map[string]string{
	"int4":     "must be an integer from -2147483648 to 2147483647 (PostgreSQL integer)",
	"int8":     "must be an integer (PostgreSQL bigint), not text or a real number",
	"bool":     "must be 0 or 1 (PostgreSQL boolean)",
	"time":     "must be a UTC time in the form 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00', a real date and time from year 0001 (PostgreSQL timestamptz)",
	"text":     "must be text without NUL bytes (PostgreSQL text)",
	"key":      "must be text without NUL bytes, at most 2048 bytes (PostgreSQL text in a key or index)",
	"json":     "must be valid JSON text without \\u0000 and without \\uD800-\\uDFFF escapes (PostgreSQL jsonb)",
	"bytea":    "must be a blob (PostgreSQL bytea)",
	"keybytea": "must be a blob of at most 2048 bytes (PostgreSQL bytea in a key)",
}

// ParityReason explains a rule of the parity migration ("json", "int4",
// ...), as named in its constraints.
func ParityReason(rule string) string {
	if r, ok := parityReasons[rule]; ok {
		return r
	}
	return "violates CHECK constraint " + rule
}

func parityRules() ([]parityRule, error) {
	b, err := fs.ReadFile(embedded, parityFile)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	src := string(b)
	if i := strings.Index(src, "-- +goose Down"); i >= 0 {
		src = src[:i]
	}
	var out []parityRule
	const create = "CREATE TABLE podium_new_"
	for _, part := range strings.Split(src, create)[1:] {
		table := part[:strings.IndexAny(part, " (")]
		body := part
		for {
			i := strings.Index(body, "CONSTRAINT ")
			if i < 0 {
				break
			}
			body = body[i+len("CONSTRAINT "):]
			name := body[:strings.IndexByte(body, ' ')]
			j := strings.Index(body, "CHECK (")
			if j < 0 {
				return nil, fmt.Errorf("schema: %s: constraint %s has no CHECK", parityFile, name)
			}
			expr, ok := balanced(body[j+len("CHECK "):])
			if !ok {
				return nil, fmt.Errorf("schema: %s: constraint %s: unbalanced parentheses", parityFile, name)
			}
			k := strings.LastIndexByte(name, '_')
			if k < 0 {
				return nil, fmt.Errorf("schema: %s: constraint %s is not named <column>_<rule>", parityFile, name)
			}
			out = append(out, parityRule{Table: table, Column: name[:k], Rule: name[k+1:], Expr: expr})
			body = body[j:]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schema: %s: no constraints found", parityFile)
	}
	return out, nil
}

// checkExpr is a rule's expression as the row check evaluates it: true
// and false on the same values, cheaper. SQLite's datetime(x) is
// strftime('%Y-%m-%d %H:%M:%S', x) (its documentation says so) without
// the interpretation of a format string; timestamps are most of what the
// check evaluates on a large history, and this takes a third off it
// (TestCheckExprAgreesWithRule). The migration's own constraint is
// unchanged.
func checkExpr(expr string) string {
	return strings.ReplaceAll(expr, "strftime('%Y-%m-%d %H:%M:%S', ", "datetime(")
}

// balanced returns the parenthesized expression at the start of s,
// parentheses included, skipping quoted strings.
func balanced(s string) (string, bool) {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return s[:i+1], true
			}
		}
	}
	return "", false
}

// ParityViolation is an existing row that a parity constraint would
// refuse, or a row whose foreign key points nowhere (Rule "foreign_key").
type ParityViolation struct {
	Table  string `json:"table"`
	Key    string `json:"key"`
	Column string `json:"column"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

func (v ParityViolation) String() string {
	return fmt.Sprintf("table %s, row %s, column %s: %s", v.Table, v.Key, v.Column, v.Reason)
}

// Querier is what ParityViolations reads through: a *sql.DB, *sql.Conn or
// *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkParity lists every row of the database of p that the parity
// migration's constraints would refuse, every text value that is not
// valid UTF-8 and every foreign key that points nowhere
// ([dbprovider.Provider.ConstraintCheck]), except in the tables of skip
// (rebuilt already by an interrupted upgrade: their constraints hold).
func checkParity(ctx context.Context, p dbprovider.Provider, skip map[string]bool) ([]ParityViolation, error) {
	rules, err := parityRules()
	if err != nil {
		return nil, err
	}
	var checks []dbprovider.ColumnCheck
	for _, r := range rules {
		if !skip[r.Table] {
			checks = append(checks, dbprovider.ColumnCheck{Table: r.Table, Column: r.Column, Rule: r.Rule, Expr: r.Expr,
				Text: r.Rule == "text" || r.Rule == "key" || r.Rule == "json"})
		}
	}
	cvs, err := p.ConstraintCheck(ctx, checks)
	if err != nil {
		return nil, fmt.Errorf("schema: parity check: %w", err)
	}
	out := make([]ParityViolation, len(cvs))
	for i, v := range cvs {
		out[i] = ParityViolation{Table: v.Table, Key: v.Key, Column: v.Column, Rule: v.Rule, Reason: violationReason(v.Rule, v.Column)}
	}
	return out, nil
}

// violationReason says what a value must be, for a rule of the parity
// migration or one of the two checks beside them ("utf8",
// "foreign_key", whose column is "references <table>").
func violationReason(rule, column string) string {
	switch rule {
	case "utf8":
		return utf8Reason
	case "foreign_key":
		return "refers to a row of " + strings.TrimPrefix(column, "references ") + " that does not exist (PostgreSQL enforces foreign keys)"
	}
	return ParityReason(rule)
}

const utf8Reason = "text is not valid UTF-8, which PostgreSQL refuses"

// ParityViolations lists every row of a SQLite database that the parity
// migration's constraints would refuse, and every foreign key that points
// nowhere (the migration's foreign_key_check would refuse those), reading
// only, through q: "podium migrate db --check" reads its source in one
// snapshot transaction of its own. schema's own steps check a provider
// (checkParity), whose SQL is dbprovider/sqlite's; this copy of it goes
// when migrate asks its provider too (issue 25 item 3, migrate's part). Values are not included: they may be secrets. Tables the database
// does not have are skipped.
func ParityViolations(ctx context.Context, q Querier) ([]ParityViolation, error) {
	return parityViolationsExcept(ctx, q, nil)
}

// parityViolationsExcept is ParityViolations without the tables in skip
// (rebuilt already by an interrupted upgrade: their constraints hold).
func parityViolationsExcept(ctx context.Context, q Querier, skip map[string]bool) ([]ParityViolation, error) {
	rules, err := parityRules()
	if err != nil {
		return nil, err
	}
	byTable := map[string][]parityRule{}
	var tables []string
	for _, r := range rules {
		if _, ok := byTable[r.Table]; !ok {
			tables = append(tables, r.Table)
		}
		byTable[r.Table] = append(byTable[r.Table], r)
	}
	// A table's rows are checked by one query (and a second for UTF-8);
	// on a pool of connections (a *sql.DB) two tables at a time, one per
	// core of a small machine: the CHECK expressions are all CPU, and
	// the largest history tables come last. The result keeps the order of
	// the tables.
	perTable := make([][]ParityViolation, len(tables))
	g, gctx := errgroup.WithContext(ctx)
	if _, ok := q.(*sql.DB); ok {
		g.SetLimit(2)
	} else {
		g.SetLimit(1)
	}
	for i, t := range tables {
		if skip[t] {
			continue
		}
		g.Go(func() error {
			vs, err := checkTable(gctx, q, t, byTable[t])
			perTable[i] = vs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []ParityViolation
	for _, vs := range perTable {
		out = append(out, vs...)
	}
	fk, err := q.QueryContext(ctx, `SELECT "table", rowid, parent FROM pragma_foreign_key_check`)
	if err != nil {
		return nil, fmt.Errorf("schema: foreign key check: %w", err)
	}
	defer fk.Close()
	for fk.Next() {
		var t, parent string
		var rowid sql.NullInt64
		if err := fk.Scan(&t, &rowid, &parent); err != nil {
			return nil, fmt.Errorf("schema: foreign key check: %w", err)
		}
		key := "(no rowid)"
		if rowid.Valid {
			key = fmt.Sprintf("(rowid=%d)", rowid.Int64)
		}
		out = append(out, ParityViolation{Table: t, Key: key, Column: "references " + parent, Rule: "foreign_key",
			Reason: violationReason("foreign_key", "references "+parent)})
	}
	return out, fk.Err()
}

// checkTable lists the rows of table t that its rules refuse (nil when the
// database has no such table).
func checkTable(ctx context.Context, q Querier, t string, rules []parityRule) ([]ParityViolation, error) {
	var out []ParityViolation
	cols, key, err := sqliteColumns(ctx, q, t)
	if err != nil {
		return nil, err
	}
	if cols == nil {
		return nil, nil
	}
	var flags []string
	var rs []parityRule
	for _, r := range rules {
		if !cols[r.Column] {
			continue // a column a later migration adds: its own CHECKs apply
		}
		flags = append(flags, fmt.Sprintf("(%s) IS 0", checkExpr(r.Expr)))
		rs = append(rs, r)
	}
	if len(rs) == 0 {
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
		return nil, fmt.Errorf("schema: parity check of %s: %w", t, err)
	}
	for rows.Next() {
		keys := make([]any, len(key))
		bad := make([]bool, len(rs))
		dst := make([]any, 0, len(key)+len(rs))
		for i := range keys {
			dst = append(dst, &keys[i])
		}
		for i := range bad {
			dst = append(dst, &bad[i])
		}
		if err := rows.Scan(dst...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("schema: parity check of %s: %w", t, err)
		}
		parts := make([]string, len(key))
		for i, k := range key {
			parts[i] = k + "=" + keyValue(keys[i])
		}
		for i, b := range bad {
			if b {
				out = append(out, ParityViolation{Table: t, Key: "(" + strings.Join(parts, ", ") + ")",
					Column: rs[i].Column, Rule: rs[i].Rule, Reason: ParityReason(rs[i].Rule)})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schema: parity check of %s: %w", t, err)
	}
	more, err := invalidUTF8(ctx, q, t, key, rs)
	if err != nil {
		return nil, err
	}
	return append(out, more...), nil
}

// invalidUTF8 lists the text values of a table that are not valid UTF-8,
// which no SQL of SQLite can see (the SQLite provider refuses them on
// write, but an older binary or the sqlite3 shell may have stored them).
func invalidUTF8(ctx context.Context, q Querier, table string, key []string, rules []parityRule) ([]ParityViolation, error) {
	var cols []string
	for _, r := range rules {
		if r.Rule == "text" || r.Rule == "key" || r.Rule == "json" {
			cols = append(cols, r.Column)
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
		return nil, fmt.Errorf("schema: UTF-8 check of %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(list))
	dst := make([]any, len(list))
	for i := range vals {
		dst[i] = &vals[i]
	}
	var out []ParityViolation
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("schema: UTF-8 check of %s: %w", table, err)
		}
		for i, c := range cols {
			s, ok := vals[len(key)+i].(string)
			if !ok || utf8.ValidString(s) {
				continue
			}
			parts := make([]string, len(key))
			for j, k := range key {
				parts[j] = k + "=" + keyValue(vals[j])
			}
			out = append(out, ParityViolation{Table: table, Key: "(" + strings.Join(parts, ", ") + ")", Column: c, Rule: "utf8",
				Reason: utf8Reason})
		}
	}
	return out, rows.Err()
}

// sqliteColumns returns a table's columns and its key columns (the primary
// key, else rowid); nil columns when the table does not exist.
func sqliteColumns(ctx context.Context, q Querier, table string) (map[string]bool, []string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, fmt.Errorf("schema: columns of %s: %w", table, err)
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
			return nil, nil, fmt.Errorf("schema: columns of %s: %w", table, err)
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

// keyValue formats a key value as "podium migrate db" names rows.
func keyValue(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case []byte:
		return fmt.Sprintf("x'%x'", x)
	}
	return fmt.Sprint(v)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
