package migrate

import (
	"bytes"
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// kindByUDT maps information_schema.columns.udt_name to how the migration
// converts a column.
var kindByUDT = map[string]kind{
	"bool": kindBool, "bytea": kindBytea, "int2": kindInt2, "int4": kindInt4, "int8": kindInt8,
	"float4": kindFloat4, "float8": kindFloat8, "text": kindText, "varchar": kindText, "bpchar": kindText,
	"timestamp": kindTimestamp, "timestamptz": kindTimestamptz, "json": kindJSON, "jsonb": kindJSONB,
}

// parityValue is an edge value tried in every column.
type parityValue struct {
	name string
	v    any
}

func deepJSON(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// parityValues are the edge values of every PostgreSQL type Podium uses,
// tried in every column whatever its type: a value meant for another type
// is an edge value too.
func parityValues() []parityValue {
	return []parityValue{
		{"NULL", nil},
		{"int32 min", int64(math.MinInt32)}, {"int32 max", int64(math.MaxInt32)},
		{"int32 min-1", int64(math.MinInt32) - 1}, {"int32 max+1", int64(math.MaxInt32) + 1},
		{"int64 min", int64(math.MinInt64)}, {"int64 max", int64(math.MaxInt64)},
		{"2", int64(2)}, {"-1", int64(-1)}, {"0", int64(0)}, {"1", int64(1)},
		{"real 1.5", 1.5}, {"real 1.0", 1.0}, {"numeric text '12'", "12"}, {"text 'true'", "true"},
		{"empty string", ""}, {"text", "abc"}, {"text with NUL", "a\x00b"}, {"invalid UTF-8", "bad \xff\xfe"},
		{"truncated UTF-8", "\xe2\x82"}, {"1 MB string", strings.Repeat("x", 1<<20)}, {"UTF-8", "héllo ✓"},
		{"JSON object", `{"a": [1, 2.5, {"b": null}]}`}, {"JSON scalar", `"s"`},
		{"invalid JSON", `{"a": `}, {"JSON with \\u0000", `{"a": "x\u0000y"}`}, {"JSON with \\\\u0000", `{"a": "x\\u0000y"}`},
		{"JSON nested 999", deepJSON(999)}, {"JSON nested 1001", deepJSON(1001)}, {"JSON nested 100000", deepJSON(100000)},
		{"JSON lone surrogate", `"\ud800"`}, {"JSON surrogate pair", `"\ud83d\ude00"`}, {"JSON5", `{a: 1}`},
		{"JSON number 1e131071", `[1e131071]`}, {"JSON number 1e131072", `[1e131072]`}, {"JSON number 1e400000", `[1e400000]`},
		{"JSON number 1e-16383", `[1e-16383]`}, {"JSON number 1e-16384", `[1e-16384]`},
		{"time", "2026-12-02 00:15:06+00:00"}, {"time ns", "2026-12-02 00:15:06.123456789+00:00"},
		{"time ms", "2026-12-02 00:15:06.123+00:00"}, {"time go", time.Date(2026, 12, 2, 0, 15, 6, 7000, time.UTC)},
		{"time month 13", "2026-13-01 00:00:00+00:00"}, {"time Feb 30", "2026-02-30 00:00:00+00:00"},
		{"time 24:00", "2026-12-02 24:00:00+00:00"}, {"time year 0", "0000-01-01 00:00:00+00:00"},
		{"time year 1", "0001-01-01 00:00:00+00:00"}, {"time 9999 rounding up", "9999-12-31 23:59:59.9999999+00:00"},
		{"time RFC 3339", "2026-12-02T00:15:06Z"}, {"time no zone", "2026-12-02 00:15:06"},
		{"time other zone", "2026-12-02 00:15:06+02:00"}, {"time word", "yesterday"},
		{"blob", []byte{0x00, 0xff}}, {"empty blob", []byte{}}, {"blob text", []byte("abc")},
		{"1 MB blob", bytes.Repeat([]byte{0xa5}, 1<<20)}, {"2048-byte text", strings.Repeat("k", 2048)},
		{"2049-byte text", strings.Repeat("k", 2049)},
	}
}

// TestParitySQLiteAcceptsOnlyWhatPostgreSQLAccepts reads both schemas
// from their catalogs and, for every column of every table, writes each
// edge value into a real row of the SQLite database (through the SQLite
// provider, as Podium writes), one column at a time. Every value SQLite
// accepts is read back as "podium migrate db" reads it, converted by the
// migration's own code, and copied (binary COPY, as the migration does)
// into the same row of a PostgreSQL copy of the database, in a transaction
// that is rolled back. PostgreSQL must take it. A table or column added by
// a future migration is covered without a change here (migratetest.Fill
// must give the table a row).
func TestParitySQLiteAcceptsOnlyWhatPostgreSQLAccepts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	if _, err := Run(ctx, Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)}); err != nil {
		t.Fatal(err)
	}
	lite, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := pgConn(t, url)

	// PostgreSQL's catalog: table -> column -> udt_name.
	pgCols := map[string]map[string]string{}
	rows, err := pg.Query(ctx, `SELECT table_name, column_name, udt_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tb, col, udt string
		if err := rows.Scan(&tb, &col, &udt); err != nil {
			t.Fatal(err)
		}
		if pgCols[tb] == nil {
			pgCols[tb] = map[string]string{}
		}
		pgCols[tb][col] = udt
	}
	rows.Close()

	var tables []string
	srows, err := lite.DB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for srows.Next() {
		var n string
		srows.Scan(&n)
		tables = append(tables, n)
	}
	srows.Close()
	if len(tables) != len(pgCols) {
		t.Errorf("SQLite has tables %v, PostgreSQL %d tables", tables, len(pgCols))
	}

	values := parityValues()
	var columns, tried, acceptedSQLite, acceptedPG int
	// accepted holds, per table and column, the values SQLite took: the
	// second half of the test stores some of them for good.
	type colValues struct {
		table, column string
		values        []parityValue
	}
	var accepted []colValues
	var failures []string
	for _, name := range tables {
		tb := &table{Name: name}
		type litecol struct {
			name string
			pk   int
		}
		var lcs []litecol
		crows, err := lite.DB().QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			t.Fatal(err)
		}
		for crows.Next() {
			var c litecol
			crows.Scan(&c.name, &c.pk)
			lcs = append(lcs, c)
		}
		crows.Close()
		for i, c := range lcs {
			udt, ok := pgCols[name][c.name]
			if !ok {
				t.Errorf("table %s, column %s: in SQLite, not in PostgreSQL", name, c.name)
				continue
			}
			k, ok := kindByUDT[udt]
			if !ok {
				t.Fatalf("table %s, column %s: PostgreSQL type %s is not one the migration converts", name, c.name, udt)
			}
			tb.Columns = append(tb.Columns, column{Name: c.name, TypeName: udt, kind: k})
			if c.pk > 0 {
				tb.PK = append(tb.PK, i)
			}
		}
		if len(tb.Columns) != len(pgCols[name]) {
			t.Errorf("table %s: %d columns in SQLite, %d in PostgreSQL", name, len(tb.Columns), len(pgCols[name]))
		}
		// The base row: the first row, as the migration reads it.
		var baseRowid int64
		if err := lite.DB().QueryRowContext(ctx, `SELECT rowid FROM `+quoteIdent(name)+` ORDER BY rowid LIMIT 1`).Scan(&baseRowid); err != nil {
			t.Fatalf("table %s has no row to vary (give it rows in migratetest.Fill): %v", name, err)
		}
		readRow := func(rowid int64) []driver.Value {
			t.Helper()
			vals := make([]any, len(tb.Columns))
			dst := make([]any, len(vals))
			for i := range vals {
				dst[i] = &vals[i]
			}
			out := make([]driver.Value, len(vals))
			defer func() {
				for i, v := range vals {
					out[i] = v
				}
			}()
			q := `SELECT ` + tb.sourceSelectList() + ` FROM ` + quoteIdent(name) + ` WHERE rowid = ?`
			if err := lite.DB().QueryRowContext(ctx, q, rowid).Scan(dst...); err != nil {
				t.Fatalf("read %s rowid %d: %v", name, rowid, err)
			}
			return out
		}
		base := readRow(baseRowid)

		for ci, col := range tb.Columns {
			columns++
			accepted = append(accepted, colValues{table: name, column: col.Name})
			took := &accepted[len(accepted)-1].values
			for _, pv := range values {
				tried++
				// SQLite: an autocommit UPDATE through the provider, so that
				// every check (CHECK constraints, foreign keys, the commit
				// hook's UTF-8 check) runs as for Podium's own writes.
				var rowid int64
				err := lite.DB().QueryRowContext(ctx, `UPDATE `+quoteIdent(name)+` SET `+quoteIdent(col.Name)+` = ? WHERE rowid = ? RETURNING rowid`,
					pv.v, baseRowid).Scan(&rowid)
				if err != nil {
					continue // refused by SQLite
				}
				acceptedSQLite++
				*took = append(*took, pv)
				row := readRow(rowid)
				// Put the base row back.
				if _, err := lite.DB().ExecContext(ctx, `UPDATE `+quoteIdent(name)+` SET `+quoteIdent(col.Name)+` = ? WHERE rowid = ?`, base[ci], rowid); err != nil {
					t.Fatalf("restore %s.%s: %v", name, col.Name, err)
				}
				fail := func(why string) {
					failures = append(failures, fmt.Sprintf("table %s, column %s (%s), value %s: SQLite accepts it, %s", name, col.Name, col.TypeName, pv.name, why))
				}
				// The migration's conversion of the whole row.
				w := append([]byte(copySignature), 0, byte(len(tb.Columns)))
				var h []byte
				ok := true
				for j := range tb.Columns {
					var err error
					if h, w, _, err = tb.Columns[j].encode(row[j], h[:0], w, true); err != nil {
						fail("the migration refuses it: " + err.Error())
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				w = append(w, copyTrailer...)
				if err := pgTry(ctx, pg, tb, base, w); err != nil {
					fail("PostgreSQL refuses it: " + err.Error())
					continue
				}
				acceptedPG++
			}
		}
	}
	sort.Strings(failures)
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("parity: %d tables, %d columns, %d values tried (%d per column); SQLite accepted %d, PostgreSQL took %d of them",
		len(tables), columns, tried, len(values), acceptedSQLite, acceptedPG)
	if columns < 100 || acceptedPG == 0 {
		t.Errorf("covered %d columns and %d accepted values: the test is not looking at the schema", columns, acceptedPG)
	}
	if t.Failed() {
		return
	}

	// Then a database full of such values, many in one row, migrates and
	// verifies: in each table the first rows take, column after column, one
	// of the values SQLite accepted for that column (a different mix per
	// row), as far as the row's other rules allow.
	stored := 0
	for k := range 4 { // the first four rows of each table, each its own mix
		for i, cv := range accepted {
			if len(cv.values) == 0 {
				continue
			}
			pv := cv.values[(i*7+k*3)%len(cv.values)]
			_, err := lite.DB().ExecContext(ctx, `UPDATE `+quoteIdent(cv.table)+` SET `+quoteIdent(cv.column)+` = ?
				WHERE rowid = (SELECT rowid FROM `+quoteIdent(cv.table)+` ORDER BY rowid LIMIT 1 OFFSET ?)`, pv.v, k)
			if err == nil {
				stored++
			}
		}
	}
	url2 := pgtest.NewDatabase(t)
	logger, hook := logtest.NewNullLogger()
	res, err := Run(ctx, Options{SQLiteDir: dir, PostgresURL: podium.Secret(url2), Log: logrus.NewEntry(logger)})
	if err != nil {
		t.Fatalf("a database holding %d edge values SQLite accepted does not migrate: %v", stored, err)
	}
	for _, tr := range res.Tables {
		if !tr.Verified {
			t.Errorf("table %s not verified", tr.Name)
		}
	}
	// The digests agree at once: the client hashes every edge value as
	// PostgreSQL hashes what it stored (no row-by-row fallback).
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "row by row") {
			t.Errorf("table %v: %s", e.Data["table"], e.Message)
		}
	}
	t.Logf("parity: a database holding %d edge values (in the first rows of every table) migrated and verified", stored)
}

// pgTry replaces the table's base row with the row in copyData (a binary
// COPY stream of one row), in a transaction that it rolls back. Foreign
// keys are not checked there (session_replication_role = replica): SQLite
// has checked them against the same rows, and the base row must be deleted
// without cascading. Every other rule of the PostgreSQL schema applies.
func pgTry(ctx context.Context, pg *pgx.Conn, tb *table, base []driver.Value, copyData []byte) error {
	tx, err := pg.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		return err
	}
	var where []string
	var args []any
	for i, k := range tb.PK {
		where = append(where, fmt.Sprintf("%s = $%d", quoteIdent(tb.Columns[k].Name), i+1))
		args = append(args, base[k])
	}
	tag, err := tx.Exec(ctx, `DELETE FROM `+quoteIdent(tb.Name)+` WHERE `+strings.Join(where, " AND "), args...)
	if err != nil {
		return fmt.Errorf("delete the base row: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("the base row is not in PostgreSQL (%d rows deleted)", tag.RowsAffected())
	}
	cols := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i] = quoteIdent(c.Name)
	}
	_, err = tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(copyData),
		fmt.Sprintf(`COPY %s (%s) FROM STDIN (FORMAT binary)`, quoteIdent(tb.Name), strings.Join(cols, ", ")))
	return err
}
