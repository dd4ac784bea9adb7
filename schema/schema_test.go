package schema_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	t.Cleanup(cancel)
	return ctx
}

func openSQLite(t *testing.T) *sqlite.Provider {
	t.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func openPostgres(t *testing.T, url string) *postgres.Provider {
	t.Helper()
	p, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestDialectsListSameVersions(t *testing.T) {
	t.Parallel()
	lite, err := schema.Versions("sqlite3")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := schema.Versions("postgres")
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) == 0 || !reflect.DeepEqual(lite, pg) {
		t.Fatalf("migration versions differ: sqlite %v, postgres %v", lite, pg)
	}
	// Versions are assigned in ranges per area, so gaps are expected; what
	// matters is that both dialects list the same ones.
	if schema.Latest() != pg[len(pg)-1] {
		t.Errorf("Latest() = %d, want %d", schema.Latest(), pg[len(pg)-1])
	}
}

// columns returns "table.column" for every column of every user table.
func columns(t *testing.T, p dbprovider.Provider) []string {
	t.Helper()
	q := `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`
	if p.Name() == dbprovider.SQLite {
		q = `SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := dbprovidertest.RawDB(t, p).QueryContext(ctxT(t), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.ToLower(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestDialectsSameTablesAndColumns(t *testing.T) {
	t.Parallel()
	lite := openSQLite(t)
	pg := openPostgres(t, pgtest.NewDatabase(t))
	for _, p := range []dbprovider.Provider{lite, pg} {
		if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
			t.Fatalf("%s: up: %v", p.Name(), err)
		}
	}
	lc, pc := columns(t, lite), columns(t, pg)
	if len(lc) < 20 {
		t.Fatalf("only %d columns on SQLite after Up: %v", len(lc), lc)
	}
	inLite, inPG := map[string]bool{}, map[string]bool{}
	for _, c := range lc {
		inLite[c] = true
	}
	for _, c := range pc {
		inPG[c] = true
	}
	for _, c := range lc {
		if !inPG[c] {
			t.Errorf("column %s exists on SQLite but not on PostgreSQL", c)
		}
	}
	for _, c := range pc {
		if !inLite[c] {
			t.Errorf("column %s exists on PostgreSQL but not on SQLite", c)
		}
	}
}

// TestNewerDatabaseRefused: a database whose goose_db_version holds a
// version above the binary's makes Check and Up fail with ESCHEMA (exit 3)
// and the exact message.
func TestNewerDatabaseRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) dbprovider.Provider
	}{
		{"SQLite", func(t *testing.T) dbprovider.Provider { return openSQLite(t) }},
		{"Postgres", func(t *testing.T) dbprovider.Provider { return openPostgres(t, pgtest.NewDatabase(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.open(t)
			ctx := ctxT(t)
			if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
				t.Fatal(err)
			}
			newer := schema.Latest() + 7
			// As a newer node beside this one records it before expanding.
			if err := p.SettingPut(ctx, schema.FloorKey, fmt.Sprint(schema.Latest())); err != nil {
				t.Fatal(err)
			}
			if _, err := dbprovidertest.RawDB(t, p).ExecContext(ctx,
				`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
				t.Fatal(err)
			}
			// A newer schema alone (expand migrations of a rolling upgrade)
			// still supports this binary: its floor has not passed it.
			if v, err := schema.Check(ctx, p); v != newer || err != nil {
				t.Fatalf("Check with a newer schema, floor at the binary = %d, %v; want %d, nil", v, err, newer)
			}
			if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
				t.Fatalf("Up with a newer schema, floor at the binary: %v", err)
			}
			// The floor raised past the binary (finalize): refused.
			if err := p.SettingPut(ctx, schema.FloorKey, fmt.Sprint(newer)); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("database schema version %d is newer than this binary (%d): upgrade this node", newer, schema.Latest())
			v, err := schema.Check(ctx, p)
			if v != newer || podium.ErrorCode(err) != podium.ESCHEMA || podium.ExitCode(err) != 3 || podium.ErrorMessage(err) != want {
				t.Fatalf("Check = %d, %v (exit %d); want %d and %q", v, err, podium.ExitCode(err), newer, want)
			}
			_, err = schema.Up(ctx, p, nil, schema.Options{})
			if podium.ErrorMessage(err) != want {
				t.Fatalf("Up = %v, want %q", err, want)
			}
		})
	}
}

// TestConcurrentUpAppliesOnce: several providers migrating one empty
// PostgreSQL database at the same moment apply each migration exactly once.
func TestConcurrentUpAppliesOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	const n = 4
	ps := make([]*postgres.Provider, n)
	for i := range ps {
		ps[i] = openPostgres(t, url)
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make([]error, n)
	applied := make([]int, n)
	start := make(chan struct{})
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := schema.Up(ctx, p, nil, schema.Options{})
			errs[i], applied[i] = err, len(res.Applied)
		}()
	}
	close(start)
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("Up %d: %v", i, err)
		}
		total += applied[i]
	}
	versions, _ := schema.Versions("postgres")
	if total != len(versions) {
		t.Errorf("the %d callers applied %d migrations in all (%v), want %d", n, total, applied, len(versions))
	}
	assertAppliedOnce(t, ps[0].DB(), versions)
}

// assertAppliedOnce checks that goose_db_version holds exactly one row per
// migration version (and the version 0 row goose creates with its table).
func assertAppliedOnce(t *testing.T, db *sql.DB, versions []int64) {
	t.Helper()
	rows, err := db.QueryContext(ctxT(t), `SELECT version_id, count(*) FROM goose_db_version GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]int{}
	for rows.Next() {
		var v int64
		var c int
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		got[v] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{0: 1}
	for _, v := range versions {
		want[v] = 1
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("goose_db_version rows per version = %v, want %v", got, want)
	}
}

// TestLibcMatchesSQLite: modernc.org/sqlite supports exactly the
// modernc.org/libc its go.mod names; goose asks for a newer one, so go.mod
// pins it with a replace. The libc the module builds with (after replace)
// must be the one sqlite's go.mod requires. (A test binary's
// debug.ReadBuildInfo lists no dependencies, hence go list.)
func TestLibcMatchesSQLite(t *testing.T) {
	t.Parallel()
	libc := goListModule(t, "modernc.org/libc")
	built := libc.Version
	if libc.Replace != nil {
		built = libc.Replace.Version
	}
	sqliteMod := goListModule(t, "modernc.org/sqlite")
	f, err := os.Open(sqliteMod.GoMod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var required string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == "modernc.org/libc" {
			required = fields[1]
		}
	}
	if required == "" {
		t.Fatalf("%s does not require modernc.org/libc", sqliteMod.GoMod)
	}
	if built != required {
		t.Fatalf("modernc.org/libc in the build is %s, but modernc.org/sqlite %s requires exactly %s: "+
			"keep `replace modernc.org/libc => modernc.org/libc %s` in go.mod", built, sqliteMod.Version, required, required)
	}
	// And the binary really links it.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../cmd/podium").Output()
	if err != nil {
		t.Fatalf("go list -deps ../cmd/podium: %v", err)
	}
	if !strings.Contains(string(out), "modernc.org/libc\n") {
		t.Errorf("cmd/podium does not link modernc.org/libc")
	}
}

type module struct {
	Path, Version, GoMod string
	Replace              *module
}

func goListModule(t *testing.T, path string) module {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -m -json %s: %v\n%s", path, err, ee.Stderr)
		}
		t.Fatalf("go list -m -json %s: %v", path, err)
	}
	var m module
	if err := json.Unmarshal(out, &m); err != nil || m.GoMod == "" {
		t.Fatalf("go list -m -json %s: %s: %v", path, out, err)
	}
	return m
}
