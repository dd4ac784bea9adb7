package migrate

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/schema"
	"github.com/pressly/goose/v3/database"
	"github.com/sirupsen/logrus"
)

// versionTable is goose's version table, filled by goose's own store.
const versionTable = "goose_db_version"

// target is the PostgreSQL database, with the one transaction that carries
// the schema, the rows and the sequences.
type target struct {
	prov *postgres.Provider
	// conn is the run's control connection (the schema, the switch),
	// a connection of prov's pool.
	conn     *sql.Conn
	tx       *sql.Tx
	describe string
	log      *logrus.Entry
	// check (--check) looks without locking: the target may be serving.
	check bool
	// server is version() of the target.
	server string
	// schema is the target schema (current_schema()), once inspected.
	schema string
	// staging: the schema being created is the staging schema (goose's
	// trigger stays quiet until the switch).
	staging bool
	// lz4: the server compresses long values with lz4 when asked.
	lz4 bool
	// recordHash: the server has hash_record_extended (14 or newer),
	// which the cheaper verification digest needs for bytea columns
	// (digest.go).
	recordHash bool
}

// openTarget connects and refuses a server that is not PostgreSQL (a wire
// compatible database would take the COPY but not necessarily the schema).
func openTarget(ctx context.Context, url podium.Secret) (_ *target, err error) {
	return openTargetConns(ctx, url, 2)
}

// openTargetConns is openTarget with a pool of up to conns connections:
// one for the run's control connection, one per worker.
func openTargetConns(ctx context.Context, url podium.Secret, conns int) (_ *target, err error) {
	if url == "" {
		return nil, podium.Errorf(podium.EINVALID,
			"migrate db: [Postgres] URL is not set: it names the PostgreSQL database to copy into")
	}
	if err := checkPostgresURL(url.Reveal()); err != nil {
		return nil, err
	}
	prov, err := postgres.Open(ctx, postgres.Options{URL: url, ApplicationName: "podium/migrate-db", MaxConns: conns})
	if err != nil {
		return nil, err
	}
	t := &target{prov: prov, describe: prov.Describe()}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	if t.conn, err = prov.SQLConn(ctx); err != nil {
		return nil, fmt.Errorf("migrate db: target: %w", err)
	}
	var version string
	var num int
	err = t.conn.QueryRowContext(ctx, `SELECT version(), current_setting('server_version_num')::int`).Scan(&version, &num)
	if err != nil || !strings.HasPrefix(version, "PostgreSQL ") {
		return nil, podium.Errorf(podium.EREFUSED, "migrate db: the target %s is not PostgreSQL", t.describe)
	}
	if num < 120000 {
		return nil, podium.Errorf(podium.EREFUSED, "migrate db: the target %s runs PostgreSQL %d; Podium needs 12 or newer", t.describe, num/10000)
	}
	t.server = version
	t.recordHash = num >= 140000
	// lz4 compresses and reads back long values (TOAST) several times
	// faster than the default pglz; PostgreSQL 14 or newer, built with it.
	_ = t.conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))`).Scan(&t.lz4)
	return t, nil
}

// checkPostgresURL refuses a URL of another database (sqlite:, mysql:,
// file:...) with a message that does not echo it.
func checkPostgresURL(raw string) error {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		if strings.Contains(raw, "=") {
			return nil // a key=value connection string
		}
		return podium.Errorf(podium.EREFUSED, "migrate db: [Postgres] URL is not a PostgreSQL URL (postgres://...)")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return nil
	}
	return podium.Errorf(podium.EREFUSED,
		"migrate db: the target must be PostgreSQL, but [Postgres] URL is a %s:// URL", strings.ToLower(scheme))
}

func (t *target) close() {
	if t.tx != nil {
		_ = t.tx.Rollback()
	}
	if t.conn != nil {
		_ = t.conn.Close()
	}
	if t.prov != nil {
		_ = t.prov.Close()
	}
}

// state is what the target holds before the run.
type state struct {
	Version  int64    // goose version (0: no version table)
	HasGoose bool     // goose_db_version exists
	Existing []string // Podium tables that exist
	NonEmpty []string // Podium tables that hold rows
}

// begin opens the transaction, takes the migration advisory lock (so no
// node migrates the schema meanwhile) and locks the Podium tables that
// exist, so the emptiness checked here stays true until the commit.
func (t *target) begin(ctx context.Context, podiumTables []string) (*state, error) {
	var err error
	if t.tx, err = t.conn.BeginTx(ctx, nil); err != nil {
		return nil, fmt.Errorf("migrate db: target: begin: %w", err)
	}
	var locked bool
	if err := t.tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, schema.LockID).Scan(&locked); err != nil {
		return nil, fmt.Errorf("migrate db: target: advisory lock: %w", err)
	}
	if !locked {
		return nil, podium.Errorf(podium.EREFUSED,
			"migrate db: a podium node is migrating the schema of %s right now: stop every node using it, then run this command again", t.describe)
	}
	return t.inspect(ctx, t.tx, podiumTables, !t.check)
}

// migrateSchema applies the embedded PostgreSQL migrations above version
// from, inside the transaction, recording each in goose's version table
// (created, with its version 0 row, through goose's own store): the
// result is what "goose up" would have left, but it commits (or vanishes)
// together with the rows.
//
// The migrations' Up sections go to the server as one text, and their
// version rows as one INSERT (the rows goose's store inserts: the version,
// is_applied, and the table's defaults for the rest), in one round trip:
// the same statements in the same order as one round trip per migration,
// less the server's work and the waits per statement, which are spent
// inside the run's clock. Staging, goose's trigger is disabled around that
// INSERT: its notifications would announce a schema nodes cannot see yet,
// and the switch sends one.
func (t *target) migrateSchema(ctx context.Context, st *state) ([]int64, error) {
	store, err := database.NewStore(database.DialectPostgres, versionTable)
	if err != nil {
		return nil, fmt.Errorf("migrate db: goose store: %w", err)
	}
	if !st.HasGoose {
		if err := store.CreateVersionTable(ctx, t.tx); err != nil {
			return nil, fmt.Errorf("migrate db: create %s: %w", versionTable, err)
		}
		if err := store.Insert(ctx, t.tx, database.InsertRequest{Version: 0}); err != nil {
			return nil, fmt.Errorf("migrate db: create %s: %w", versionTable, err)
		}
	}
	migs, err := upMigrations()
	if err != nil {
		return nil, err
	}
	var pending []upMigration
	for _, m := range migs {
		if m.version > st.Version {
			pending = append(pending, m)
		}
	}
	if len(pending) == 0 {
		return nil, nil
	}
	script, starts := migrationScript(pending, t.staging)
	// No arguments: pgx sends the text as one simple-protocol query, so
	// several statements (and $$ bodies) run as goose runs them.
	if _, err := t.tx.ExecContext(ctx, script); err != nil {
		return nil, fmt.Errorf("migrate db: target schema: %s: %w", failedMigration(pending, starts, postgres.ErrorPosition(err)), err)
	}
	applied := make([]int64, len(pending))
	for i, m := range pending {
		applied[i] = m.version
	}
	return applied, nil
}

// migrationScript is the text migrateSchema sends: every pending Up
// section in order, each closed by a semicolon of its own (a last
// statement without one would otherwise run into the next migration's;
// an empty statement is allowed), then the version rows. starts holds
// where each section begins, in characters from 1, as PostgreSQL counts an
// error's position.
func migrationScript(pending []upMigration, staging bool) (string, []int) {
	var b strings.Builder
	starts := make([]int, len(pending))
	chars := 1
	for i, m := range pending {
		starts[i] = chars
		b.WriteString(m.up)
		b.WriteString("\n;\n")
		chars += utf8.RuneCountInString(m.up) + 3
	}
	if staging {
		b.WriteString(`ALTER TABLE ` + versionTable + ` DISABLE TRIGGER USER;` + "\n")
	}
	b.WriteString(`INSERT INTO ` + versionTable + ` (version_id, is_applied) VALUES `)
	for i, m := range pending {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, true)", m.version)
	}
	b.WriteString(";\n")
	if staging {
		b.WriteString(`ALTER TABLE ` + versionTable + ` ENABLE TRIGGER USER;` + "\n")
	}
	return b.String(), starts
}

// failedMigration names what a failed migrationScript was running: the
// migration whose text holds the error's position, or, for an error
// without one (most errors of execution), every pending migration.
func failedMigration(pending []upMigration, starts []int, pos int) string {
	if pos > 0 {
		for i := len(pending) - 1; i >= 0; i-- {
			if pos >= starts[i] {
				if i == len(pending)-1 && pos >= starts[i]+utf8.RuneCountInString(pending[i].up)+3 {
					return "recording the versions in " + versionTable
				}
				return "migration " + pending[i].name
			}
		}
	}
	if len(pending) == 1 {
		return "migration " + pending[0].name
	}
	return fmt.Sprintf("migrations %s to %s", pending[0].name, pending[len(pending)-1].name)
}

type upMigration struct {
	version int64
	name    string
	up      string
}

// upMigrations reads the Up sections of the embedded PostgreSQL
// migrations. A migration with environment substitution is refused; one
// that goose runs outside a transaction runs in the schema's transaction
// here, its CONCURRENTLY dropped (see upSection).
func upMigrations() ([]upMigration, error) {
	fsys, err := schema.Migrations("postgres")
	if err != nil {
		return nil, fmt.Errorf("migrate db: %w", err)
	}
	versions, err := schema.Versions("postgres")
	if err != nil {
		return nil, fmt.Errorf("migrate db: %w", err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate db: %w", err)
	}
	byVersion := map[int64]string{}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		if v, err := strconv.ParseInt(num, 10, 64); err == nil {
			byVersion[v] = e.Name()
		}
	}
	var out []upMigration
	for _, v := range versions {
		name := byVersion[v]
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrate db: %w", err)
		}
		up, err := upSection(string(b))
		if err != nil {
			return nil, fmt.Errorf("migrate db: migration %s: %w", name, err)
		}
		out = append(out, upMigration{version: v, name: name, up: up})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func upSection(text string) (string, error) {
	var b strings.Builder
	in, noTx := false, false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		directive := strings.TrimSpace(line)
		if strings.HasPrefix(directive, "-- +goose") {
			switch strings.ToUpper(strings.Join(strings.Fields(strings.TrimPrefix(directive, "-- +goose")), " ")) {
			case "UP":
				in = true
			case "DOWN":
				in = false
			case "NO TRANSACTION":
				// Run here in a transaction, on tables that are empty and
				// that nothing else uses: an index built CONCURRENTLY
				// (which a transaction refuses) is built plainly, the
				// same index.
				noTx = true
			case "ENVSUB ON":
				return "", fmt.Errorf("%q cannot run inside the migration's transaction", directive)
			}
			continue
		}
		if in {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if noTx {
		return concurrently.ReplaceAllString(b.String(), ""), nil
	}
	return b.String(), nil
}

// concurrently is the keyword of CREATE/DROP INDEX CONCURRENTLY, with the
// space before it.
var concurrently = regexp.MustCompile(`(?i)\s+CONCURRENTLY\b`)

// describeTables reads the target's catalog for the named tables: columns
// and their types, primary key, foreign keys and sequence columns.
func (t *target) describeTables(ctx context.Context, names []string) (map[string]*table, error) {
	out := map[string]*table{}
	rows, err := t.tx.QueryContext(ctx, `
		SELECT c.relname, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attidentity::text,
		       COALESCE(pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname), ''),
		       COALESCE(array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) + 1, 0),
		       a.attnotnull
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)
		  AND a.attgenerated = ''
		ORDER BY c.relname, a.attnum`, names)
	if err != nil {
		return nil, fmt.Errorf("migrate db: target catalog: %w", err)
	}
	defer rows.Close()
	type pkPos struct{ pos, idx int }
	pks := map[string][]pkPos{}
	for rows.Next() {
		var tname, cname, typeName, identity, serial string
		var oid uint32
		var pkpos int
		var notNull bool
		if err := rows.Scan(&tname, &cname, &oid, &typeName, &identity, &serial, &pkpos, &notNull); err != nil {
			return nil, fmt.Errorf("migrate db: target catalog: %w", err)
		}
		tb := out[tname]
		if tb == nil {
			tb = &table{Name: tname}
			out[tname] = tb
		}
		k, ok := kindByOID[oid]
		if !ok {
			return nil, podium.Errorf(podium.EINTERNAL,
				"migrate db: column %s.%s has type %s, which this command does not know how to copy yet", tname, cname, typeName)
		}
		tb.Columns = append(tb.Columns, column{Name: cname, TypeName: typeName, OID: oid, kind: k, NotNull: notNull})
		if pkpos > 0 {
			pks[tname] = append(pks[tname], pkPos{pkpos, len(tb.Columns) - 1})
		}
		switch {
		case identity == "a" || identity == "d":
			tb.Sequences = append(tb.Sequences, sequenceColumn{Column: cname, Identity: true})
		case serial != "":
			tb.Sequences = append(tb.Sequences, sequenceColumn{Column: cname, Sequence: serial})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate db: target catalog: %w", err)
	}
	for name, tb := range out {
		ps := pks[name]
		sort.Slice(ps, func(i, j int) bool { return ps[i].pos < ps[j].pos })
		for _, p := range ps {
			tb.PK = append(tb.PK, p.idx)
		}
		if len(tb.PK) == 0 {
			for i := range tb.Columns {
				tb.PK = append(tb.PK, i)
			}
		}
	}
	fk, err := t.tx.QueryContext(ctx, `
		SELECT c.relname, cf.relname
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class cf ON cf.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("migrate db: target foreign keys: %w", err)
	}
	defer fk.Close()
	for fk.Next() {
		var from, to string
		if err := fk.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("migrate db: target foreign keys: %w", err)
		}
		if tb := out[from]; tb != nil {
			tb.Refs = append(tb.Refs, to)
		}
	}
	return out, fk.Err()
}

// otherTables lists the target's tables in the current schema that are not
// in names (and not goose's), for the "every table is covered" check.
func (t *target) otherTables(ctx context.Context, names []string) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
		  AND c.relname <> ALL($1) AND c.relname <> $2 ORDER BY 1`, names, versionTable)
	if err != nil {
		return nil, fmt.Errorf("migrate db: target tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// resetSequences makes each identity or serial column's next value follow
// the largest copied one, so the first insert after cut-over does not
// collide. ALTER ... RESTART is transactional (setval is not), so an
// aborted run leaves the sequences as they were.
func (t *target) resetSequences(ctx context.Context, tb *table) ([]string, error) {
	var done []string
	for _, s := range tb.Sequences {
		var top int64
		q := fmt.Sprintf(`SELECT COALESCE(max(%s), 0) FROM %s`, quoteIdent(s.Column), quoteIdent(tb.Name))
		if err := t.tx.QueryRowContext(ctx, q).Scan(&top); err != nil {
			return nil, fmt.Errorf("migrate db: reset sequence of %s.%s: %w", tb.Name, s.Column, err)
		}
		next := top + 1
		if top == math.MaxInt64 {
			// SQLite then picks unused ids at random; a PostgreSQL sequence
			// cannot go past its maximum, so the next insert will fail.
			next = top
			if t.log != nil {
				t.log.WithField("column", tb.Name+"."+s.Column).Warn("the largest id is the largest bigint: the sequence is exhausted, new rows will need ids chosen by hand")
			}
		}
		stmt := fmt.Sprintf(`ALTER TABLE %s ALTER COLUMN %s RESTART WITH %d`, quoteIdent(tb.Name), quoteIdent(s.Column), next)
		if !s.Identity {
			stmt = fmt.Sprintf(`ALTER SEQUENCE %s RESTART WITH %d`, s.Sequence, next)
		}
		if _, err := t.tx.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("migrate db: reset sequence of %s.%s: %w", tb.Name, s.Column, err)
		}
		done = append(done, fmt.Sprintf("%s.%s=%d", tb.Name, s.Column, next))
	}
	return done, nil
}

// Queryer is what LoadStatements reads the catalog through (*sql.Tx,
// *sql.DB, *sql.Conn).
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// LoadStatements returns, for the named tables of the current schema, the
// statements that drop their foreign keys, primary and unique constraints
// and plain indexes (drops), and those that re-create them identically,
// keys and indexes first, then foreign keys (restore): the pg_restore way
// of loading, used by the migration and by the benchmark's floor.
func LoadStatements(ctx context.Context, q Queryer, tables []string) (drops, restore []string, err error) {
	fks, keys, idx, err := loadItems(ctx, q, tables)
	if err != nil {
		return nil, nil, err
	}
	lp := buildLoadPlan(fks, keys, idx)
	drops = lp.drops
	for _, k := range keys {
		restore = append(restore, lp.add[k])
	}
	for _, i := range idx {
		restore = append(restore, lp.add[i])
	}
	for _, f := range lp.fks {
		restore = append(restore, f.add)
	}
	return drops, restore, nil
}

// loadItem is a constraint or index of a table, as the catalog defines it.
type loadItem struct{ table, name, def string }

// loadPlan is how the load takes a schema's constraints and indexes off
// and puts them back.
type loadPlan struct {
	drops []string
	// keys re-creates a table's primary and unique keys, indexes its
	// other indexes.
	keys, indexes map[string][]string
	fks           []loadFK
	add           map[loadItem]string
}

// loadFK is a foreign key: added NOT VALID once every table is in, then
// validated (one query per key, tables in parallel).
type loadFK struct {
	table, name string
	add         string // ALTER TABLE ... ADD CONSTRAINT ... (valid)
	addNotValid string
	validate    string
}

func buildLoadPlan(fks, keys, idx []loadItem) *loadPlan {
	lp := &loadPlan{keys: map[string][]string{}, indexes: map[string][]string{}, add: map[loadItem]string{}}
	for _, f := range fks {
		lp.drops = append(lp.drops, fmt.Sprintf(`ALTER TABLE %s DROP CONSTRAINT %s`, quoteIdent(f.table), quoteIdent(f.name)))
		add := fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s %s`, quoteIdent(f.table), quoteIdent(f.name), f.def)
		lp.fks = append(lp.fks, loadFK{table: f.table, name: f.name, add: add, addNotValid: add + " NOT VALID",
			validate: fmt.Sprintf(`ALTER TABLE %s VALIDATE CONSTRAINT %s`, quoteIdent(f.table), quoteIdent(f.name))})
	}
	for _, k := range keys {
		lp.drops = append(lp.drops, fmt.Sprintf(`ALTER TABLE %s DROP CONSTRAINT %s`, quoteIdent(k.table), quoteIdent(k.name)))
		stmt := fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s %s`, quoteIdent(k.table), quoteIdent(k.name), k.def)
		lp.keys[k.table] = append(lp.keys[k.table], stmt)
		lp.add[k] = stmt
	}
	for _, i := range idx {
		lp.drops = append(lp.drops, `DROP INDEX `+quoteIdent(i.name))
		lp.indexes[i.table] = append(lp.indexes[i.table], i.def)
		lp.add[i] = i.def
	}
	return lp
}

// loadItems reads the foreign keys, primary and unique keys and plain
// indexes of the named tables of the current schema.
func loadItems(ctx context.Context, q Queryer, tables []string) (fks, keys, idx []loadItem, err error) {
	type item = loadItem
	rows, err := q.QueryContext(ctx, `
		SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = ANY($1) AND k.contype IN ('f', 'p', 'u')
		ORDER BY c.relname, k.conname`, tables)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("migrate db: target constraints: %w", err)
	}
	for rows.Next() {
		var it item
		var typ string
		if err := rows.Scan(&it.table, &it.name, &typ, &it.def); err != nil {
			rows.Close()
			return nil, nil, nil, fmt.Errorf("migrate db: target constraints: %w", err)
		}
		if typ == "f" {
			fks = append(fks, it)
		} else {
			keys = append(keys, it)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("migrate db: target constraints: %w", err)
	}
	rows, err = q.QueryContext(ctx, `
		SELECT c.relname, ic.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
		ORDER BY c.relname, ic.relname`, tables)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("migrate db: target indexes: %w", err)
	}
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.table, &it.name, &it.def); err != nil {
			rows.Close()
			return nil, nil, nil, fmt.Errorf("migrate db: target indexes: %w", err)
		}
		idx = append(idx, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("migrate db: target indexes: %w", err)
	}
	return fks, keys, idx, nil
}
