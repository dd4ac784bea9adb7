package migrate

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestRunNULTextIsRefusedBeforeWriting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stmt, want string
	}{
		{"Text", `UPDATE content SET title = 'before' || char(0) || 'after' WHERE id = 3`,
			`table content, row (id=3), column title`},
		{"JSONEscape", `UPDATE audit_log SET detail = '{"a": "x\u0000y"}' WHERE id = 7`,
			`table audit_log, row (id=7), column detail`},
		{"InvalidJSON", `UPDATE content SET settings = '{"a": ' WHERE id = 4`,
			`table content, row (id=4), column settings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The current schema refuses these values at write time; a
			// database written before the parity migration may hold them.
			dir := newSourceAt(t, migratetest.Small(), schema.ParityVersion-5)
			sqliteExec(t, dir, tc.stmt)
			url := pgtest.NewDatabase(t)
			// A dry run does not upgrade the source: the conversion refuses.
			_, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url), DryRun: true})
			if podium.ErrorCode(err) != podium.EREFUSED {
				t.Fatalf("dry run: err = %v, want EREFUSED", err)
			}
			msg := podium.ErrorMessage(err)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "nothing was written") || !strings.Contains(msg, "What to do") {
				t.Errorf("message %q does not name %q and what to do", msg, tc.want)
			}
			// A real run upgrades the source first: the parity migration
			// refuses, naming the same row, and changes nothing.
			_, err = Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)})
			if podium.ErrorCode(err) != podium.EREFUSED {
				t.Fatalf("err = %v, want EREFUSED", err)
			}
			msg = podium.ErrorMessage(err)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "What to do") {
				t.Errorf("message %q does not name %q and what to do", msg, tc.want)
			}
			if tables := pgTables(t, url); len(tables) != 0 {
				t.Errorf("target has tables %v after a refused run", tables)
			}
		})
	}
}

func TestRunDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	before := fileSum(t, filepath.Join(dir, sqlite.FileName))
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || res.Rows != int64(migratetest.Small().Total()) || len(res.Tables) != podiumTables(t, dir) {
		t.Errorf("dry run result: dry=%v rows=%d tables=%d", res.DryRun, res.Rows, len(res.Tables))
	}
	if len(res.AppliedMigrations) != len(mustVersions(t)) {
		t.Errorf("dry run would apply %v", res.AppliedMigrations)
	}
	if tables := pgTables(t, url); len(tables) != 0 {
		t.Errorf("target has tables %v after a dry run", tables)
	}
	if fileSum(t, filepath.Join(dir, sqlite.FileName)) != before {
		t.Error("the dry run changed the SQLite file")
	}

	// A real run then leaves the SQLite file byte for byte as it was too,
	// and its checksums are the dry run's.
	real, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range real.Tables {
		if real.Tables[i].Checksum != res.Tables[i].Checksum {
			t.Errorf("%s: checksum %s in the dry run, %s in the real run", res.Tables[i].Name, res.Tables[i].Checksum, real.Tables[i].Checksum)
		}
	}
	if fileSum(t, filepath.Join(dir, sqlite.FileName)) != before {
		t.Error("the migration changed the SQLite file")
	}
}

func mustVersions(t *testing.T) []int64 {
	vs, err := schema.Versions("postgres")
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestRunVerificationMismatchRollsBack(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	_, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url),
		beforeVerify: func(ctx context.Context, table string, c *postgres.Conn) error {
			if table != "bundles" {
				return nil
			}
			return c.Exec(ctx, `UPDATE bundles SET size = size + 1 WHERE id = 5`)
		}})
	if err == nil || !strings.Contains(err.Error(), "verification failed for table bundles: column size differs (row (id=5))") {
		t.Fatalf("err = %v, want a verification failure naming bundles, its row 5 and column size", err)
	}
	var staging int
	if err := pgConn(t, url).QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, stagingSchema).Scan(&staging); err != nil || staging != 0 {
		t.Errorf("staging schema left after a failed verification (%d, %v)", staging, err)
	}
	if tables := pgTables(t, url); len(tables) != 0 {
		t.Errorf("target has tables %v after a failed verification", tables)
	}
}

func TestRunSequencesContinueAfterCopiedIDs(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	// Every identity column of the schema was reset.
	var identities int
	if err := pgConn(t, url).QueryRow(t.Context(), `SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND a.attidentity <> '' AND c.relname <> 'goose_db_version'`).Scan(&identities); err != nil {
		t.Fatal(err)
	}
	if identities == 0 || len(res.Sequences) != identities {
		t.Errorf("reset %d sequences (%v), the schema has %d identity columns", len(res.Sequences), res.Sequences, identities)
	}
	c := pgConn(t, url)
	var id int64
	if err := c.QueryRow(t.Context(), `INSERT INTO users (username, role, created_at, updated_at)
		VALUES ('after-cutover', 'viewer', now(), now()) RETURNING id`).Scan(&id); err != nil {
		t.Fatalf("first insert after the migration: %v", err)
	}
	if want := int64(migratetest.Small().Users) + 1; id != want {
		t.Errorf("new user id %d, want %d", id, want)
	}
	if err := c.QueryRow(t.Context(), `INSERT INTO audit_log (at, action) VALUES (now(), 'x') RETURNING id`).Scan(&id); err != nil {
		t.Fatalf("first audit insert after the migration: %v", err)
	}
	if want := int64(migratetest.Small().AuditLog) + 1; id != want {
		t.Errorf("new audit id %d, want %d", id, want)
	}
}

// TestRunReadsOneSnapshot writes to the source, from another connection,
// while the copy runs (and another reader reads it): the rows committed
// meanwhile are in no table of the target, early or late in the copy
// order, and verification still passes.
func TestRunReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	other, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var once sync.Once
	var writeErr, readErr error
	var readRows int
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url),
		Progress: func(e Event) {
			if e.Phase != PhaseCopy {
				return
			}
			once.Do(func() {
				// One transaction touching a table copied first (nodes has no
				// foreign keys) and one copied last (audit_log).
				_, writeErr = other.DB().ExecContext(context.Background(), `
					INSERT INTO nodes (id, hostname, pid, version, schema_version, provider, started_at, heartbeat_at)
					VALUES ('written-during-copy', 'h', 1, 'v', 2, 'sqlite', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
					INSERT INTO audit_log (id, at, action) VALUES (999999, '2026-01-01 00:00:00+00:00', 'written-during-copy');`)
				readErr = other.ReadDB().QueryRowContext(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&readRows)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	if writeErr != nil || readErr != nil {
		t.Fatalf("concurrent write: %v, read: %v", writeErr, readErr)
	}
	if readRows != migratetest.Small().AuditLog+1 {
		t.Errorf("the other reader saw %d audit rows, want %d", readRows, migratetest.Small().AuditLog+1)
	}
	var n int
	if err := pgConn(t, url).QueryRow(t.Context(),
		`SELECT (SELECT count(*) FROM nodes WHERE id = 'written-during-copy') + (SELECT count(*) FROM audit_log WHERE id = 999999)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows written during the copy reached the target", n)
	}
	for _, tr := range res.Tables {
		if tr.Name == "audit_log" && tr.Rows != int64(migratetest.Small().AuditLog) {
			t.Errorf("audit_log: copied %d rows, want the snapshot's %d", tr.Rows, migratetest.Small().AuditLog)
		}
	}
}

func TestRunUpgradesABehindSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := sqlite.Open(t.Context(), sqlite.Options{Dir: dir, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	gp, err := schema.NewGoose(p, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.UpTo(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB().ExecContext(t.Context(), `INSERT INTO settings (key, value, updated_at) VALUES ('k', 'v', '2026-01-01 00:00:00+00:00')`); err != nil {
		t.Fatal(err)
	}
	p.Close()
	url := pgtest.NewDatabase(t)
	dry, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.SourceUpgradedFrom != 1 {
		t.Errorf("dry run: source upgrade from %d, want 1", dry.SourceUpgradedFrom)
	}
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)})
	if err != nil {
		t.Fatal(err)
	}
	// Two rows: the setting, and the retention hold that the upgrade from
	// before HistoryRetention records (podium.RetentionHoldKey).
	if res.SourceUpgradedFrom != 1 || res.SchemaVersion != schema.Latest() || res.Rows != 2 {
		t.Errorf("upgraded from %d, version %d, rows %d", res.SourceUpgradedFrom, res.SchemaVersion, res.Rows)
	}
}

func TestRunDropAllReplacesTargetData(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	first := newSource(t, migratetest.Small())
	if _, err := Run(t.Context(), Options{SQLiteDir: first, PostgresURL: podium.Secret(url)}); err != nil {
		t.Fatal(err)
	}
	second := newSource(t, migratetest.Sizes{Users: 3, Nodes: 1, Settings: 1})

	_, err := Run(t.Context(), Options{SQLiteDir: second, PostgresURL: podium.Secret(url)})
	if podium.ErrorCode(err) != podium.EREFUSED || !strings.Contains(err.Error(), "already holds Podium data") {
		t.Fatalf("err = %v, want a refusal: the target holds data", err)
	}
	asked := false
	_, err = Run(t.Context(), Options{SQLiteDir: second, PostgresURL: podium.Secret(url), DropAll: true,
		ConfirmDropAll: func([]string) (bool, error) { asked = true; return false, nil }})
	if !asked || podium.ErrorCode(err) != podium.EREFUSED {
		t.Fatalf("asked=%v err=%v: want a question answered no, and a refusal", asked, err)
	}
	var users int
	c := pgConn(t, url)
	c.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users)
	if users != migratetest.Small().Users {
		t.Fatalf("%d users after refusals, want the first copy's %d", users, migratetest.Small().Users)
	}
	res, err := Run(t.Context(), Options{SQLiteDir: second, PostgresURL: podium.Secret(url), DropAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Emptied) == 0 || res.Rows != 5 {
		t.Errorf("emptied %v, copied %d rows", res.Emptied, res.Rows)
	}
	c.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users)
	if users != 3 {
		t.Errorf("%d users after --drop-all, want 3", users)
	}
}

// TestRunLeavesTheSchemaGooseWouldCreate compares the target's catalog
// after a migration (which takes constraints and indexes off for the load
// and puts them back) with a database migrated by goose itself.
func TestRunLeavesTheSchemaGooseWouldCreate(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	url := pgtest.NewDatabase(t)
	if _, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(url)}); err != nil {
		t.Fatal(err)
	}
	ref := pgtest.NewDatabase(t)
	p, err := postgres.Open(t.Context(), postgres.Options{URL: podium.Secret(ref)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := schema.Up(t.Context(), p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	catalog := func(url string) []string {
		rows, err := pgConn(t, url).Query(t.Context(), `
			SELECT 'constraint ' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
			FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema()
			UNION ALL
			SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
			UNION ALL
			SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' ||
			       COALESCE(column_default, '') || ' ' || is_identity
			FROM information_schema.columns WHERE table_schema = current_schema()
			UNION ALL
			SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
			ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := catalog(url), catalog(ref)
	if !slices.Equal(got, want) {
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("missing after migrate db: %s", w)
			}
		}
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("extra after migrate db: %s", g)
			}
		}
	}
}
