package migrate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newSource creates a Podium SQLite database in a new folder, filled with
// sizes' rows, and returns the folder.
func newSource(t *testing.T, sizes migratetest.Sizes) string {
	t.Helper()
	return newSourceAt(t, sizes, 0)
}

// newSourceAt is newSource with the schema at version (0: the latest). A
// database older than the parity migration (schema.ParityVersion) can hold
// values that PostgreSQL refuses, as databases written by older binaries
// can.
func newSourceAt(t *testing.T, sizes migratetest.Sizes, version int64) string {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	p, err := sqlite.Open(ctx, sqlite.Options{Dir: dir, Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if version == 0 {
		if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
			t.Fatal(err)
		}
	} else {
		gp, err := schema.NewGoose(p, schema.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gp.UpTo(ctx, version); err != nil {
			t.Fatal(err)
		}
	}
	if err := migratetest.Fill(ctx, p.DB(), sizes, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sqliteExec runs statements on the source without the lock, as an
// administrative command would.
func sqliteExec(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	p, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, s := range stmts {
		if _, err := p.DB().ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func pgConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// pgTables lists the tables of the target's public schema.
func pgTables(t *testing.T, url string) []string {
	t.Helper()
	rows, err := pgConn(t, url).Query(t.Context(),
		`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestRunCopiesEveryRowOfEveryTable(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	var events []Event
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url),
		Progress: func(e Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.SchemaVersion != schema.Latest() {
		t.Errorf("schema version %d, want %d", res.SchemaVersion, schema.Latest())
	}
	if want := migratetest.Small().Total(); res.Rows != int64(want) {
		t.Errorf("copied %d rows, want %d", res.Rows, want)
	}
	for _, tr := range res.Tables {
		if !tr.Verified || tr.Checksum == "" {
			t.Errorf("table %s not verified: %+v", tr.Name, tr)
		}
	}
	if len(events) == 0 || events[0].Phase != PhasePlan {
		t.Errorf("first progress event is not the plan: %+v", events[:min(1, len(events))])
	}

	// Every table of the schema is covered: the copied tables are exactly
	// the target's tables but goose's, and exactly the source's.
	var copied []string
	for _, tr := range res.Tables {
		copied = append(copied, tr.Name)
	}
	sort.Strings(copied)
	pg := slices.DeleteFunc(pgTables(t, url), func(s string) bool { return s == "goose_db_version" })
	if !slices.Equal(copied, pg) {
		t.Errorf("copied tables %v, target tables %v", copied, pg)
	}
	src := sqliteTables(t, dir)
	if !slices.Equal(copied, src) {
		t.Errorf("copied tables %v, source tables %v", copied, src)
	}
	// The target's goose version table is what goose would have written.
	var versions []int64
	rows, _ := pgConn(t, url).Query(t.Context(), `SELECT version_id FROM goose_db_version ORDER BY id`)
	versions, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := schema.Versions("postgres")
	if !slices.Equal(versions, append([]int64{0}, want...)) {
		t.Errorf("goose versions %v, want 0 then %v", versions, want)
	}

	// Compare every row of every table, independently of the command's own
	// checksum: values normalized by a different route (encoding/json,
	// time rounding) on each side.
	for _, table := range copied {
		s := readSQLite(t, dir, url, table)
		p := readPostgres(t, url, table)
		if len(s) != len(p) {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL", table, len(s), len(p))
			continue
		}
		for i := range s {
			if !reflect.DeepEqual(s[i], p[i]) {
				t.Errorf("%s row %d differs:\nsqlite   %v\npostgres %v", table, i, s[i], p[i])
				break
			}
		}
	}
}

func sqliteTables(t *testing.T, dir string) []string {
	p, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rows, err := p.ReadDB().QueryContext(t.Context(),
		`SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// pgColumns returns a table's columns and their PostgreSQL types, and the
// primary key's columns.
func pgColumns(t *testing.T, url, table string) (cols, types []string, pk []string) {
	c := pgConn(t, url)
	rows, err := c.Query(t.Context(), `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, ty string
		rows.Scan(&n, &ty)
		cols, types = append(cols, n), append(types, ty)
	}
	rows.Close()
	rows, err = c.Query(t.Context(), `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
		AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY array_position(i.indkey::int2[], a.attnum)`, table)
	if err != nil {
		t.Fatal(err)
	}
	pk, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return cols, types, pk
}

// normalize maps a value of either side to a comparable Go value for a
// column of PostgreSQL type typ.
func normalize(t *testing.T, typ string, v any) any {
	if v == nil {
		return nil
	}
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x
		case int64:
			return x != 0
		}
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x
		case int32:
			return int64(x)
		case int16:
			return int64(x)
		}
	case "timestamp with time zone":
		if x, ok := v.(time.Time); ok {
			return x.UTC().Round(time.Microsecond).Format(time.RFC3339Nano)
		}
	case "jsonb":
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		var out any
		d := json.NewDecoder(strings.NewReader(s))
		if err := d.Decode(&out); err != nil {
			t.Fatalf("json %q: %v", s, err)
		}
		return normJSONNumbers(out)
	case "bytea":
		if x, ok := v.([]byte); ok {
			return fmt.Sprintf("%x", x)
		}
	case "text":
		if x, ok := v.(string); ok {
			return x
		}
	}
	t.Fatalf("unexpected %T for %s", v, typ)
	return nil
}

func normJSONNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normJSONNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normJSONNumbers(e)
		}
	case float64:
		return math.Round(x*1e9) / 1e9
	}
	return v
}

func readSQLite(t *testing.T, dir, url, table string) [][]any {
	p, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Column list and order from the target, so both sides line up.
	return readRows(t, p.ReadDB(), url, table)
}

func readRows(t *testing.T, db *sql.DB, url, table string) [][]any {
	cols, types, pk := pgColumns(t, url, table)
	rows, err := db.QueryContext(t.Context(), fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`,
		strings.Join(cols, ", "), table, strings.Join(pk, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			vals[i] = normalize(t, types[i], vals[i])
		}
		out = append(out, vals)
	}
	return out
}

func readPostgres(t *testing.T, url, table string) [][]any {
	cols, types, pk := pgColumns(t, url, table)
	for i, k := range pk {
		pk[i] = k + ` COLLATE "C"`
		if slices.Index(cols, k) >= 0 && types[slices.Index(cols, k)] != "text" {
			pk[i] = k
		}
	}
	rows, err := pgConn(t, url).Query(t.Context(), fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`,
		strings.Join(cols, ", "), table, strings.Join(pk, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		for i := range vals {
			vals[i] = normalize(t, types[i], vals[i])
		}
		out = append(out, vals)
	}
	return out
}
