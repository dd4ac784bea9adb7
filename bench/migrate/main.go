// Command bench-migrate measures "podium migrate db" against pgloader and
// against the floor (the fastest way PostgreSQL takes the same rows: binary
// COPY into bare tables, then keys, indexes and sequences), on the
// same SQLite file and the same PostgreSQL server, in one run. It is run by
// "make bench-migrate" (scripts/bench-migrate.sh); see docs/moving-to-postgresql.md.
//
// PostgreSQL: PODIUM_BENCH_DATABASE_URL (a URL whose user may create
// databases), else the local server at postgres://postgres@127.0.0.1:5432
// (trust authentication). Three scratch databases are created and dropped.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgscratch"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/migrate"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

func main() {
	bin := flag.String("bin", "bin/podium", "podium binary to measure")
	work := flag.String("dir", filepath.Join(os.TempDir(), "podium-bench-migrate"), "work folder (the SQLite file is kept there between runs)")
	scale := flag.Float64("scale", 1, "fraction of the million-row data set")
	skipPgloader := flag.Bool("skip-pgloader", false, "do not run pgloader")
	repeat := flag.Int("repeat", 3, "rounds; each tool runs once per round and its best round is kept (the machine may be shared)")
	pinned := flag.Bool("pinned", true, "then run podium and the floor again with PostgreSQL pinned to CPU 0 and the tools to the others (taskset), a stand-in for a database on its own host")
	flag.Parse()
	if abs, err := filepath.Abs(*bin); err == nil {
		*bin = abs
	}
	if err := run(context.Background(), *bin, *work, *scale, *skipPgloader, max(*repeat, 1), *pinned); err != nil {
		fmt.Fprintln(os.Stderr, "bench-migrate:", err)
		os.Exit(1)
	}
}

type measure struct {
	name    string
	rows    int64
	seconds float64
	rssKB   int64
	note    string
	tables  map[string]int64 // podium's rows per table
}

func (m measure) rate() float64 { return float64(m.rows) / m.seconds }

func run(ctx context.Context, bin, work string, scale float64, skipPgloader bool, repeat int, pinned bool) error {
	admin := os.Getenv("PODIUM_BENCH_DATABASE_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	unlock, err := lockServer(ctx, admin)
	if err != nil {
		return err
	}
	defer unlock()
	sizes := migratetest.Million()
	if scale != 1 {
		sizes = scaled(sizes, scale)
	}
	dataDir := filepath.Join(work, fmt.Sprintf("db-%d", sizes.Total()))
	dbFile := filepath.Join(dataDir, sqlite.FileName)
	if _, err := os.Stat(dbFile); err != nil {
		fmt.Printf("building %s with %d rows...\n", dbFile, sizes.Total())
		if err := build(ctx, dataDir, sizes); err != nil {
			return err
		}
	}

	if !skipPgloader {
		if _, err := exec.LookPath("pgloader"); err != nil {
			return fmt.Errorf("pgloader is not installed (scripts/bench-migrate.sh installs it)")
		}
	}
	// The floor's rows are loaded into memory once, untimed.
	fl, err := loadFloor(ctx, dataDir)
	if err != nil {
		return err
	}
	st, _ := os.Stat(dbFile)
	fmt.Printf("source: %s, %d rows over %d tables, %.0f MB\n", dbFile, fl.total, len(fl.order), float64(st.Size())/1e6)
	fmt.Printf("target: PostgreSQL at %s\n", postgres.Redact(admin))
	tools := []func() (measure, error){
		func() (measure, error) { return runPodium(ctx, bin, work, dataDir, admin) },
	}
	if !skipPgloader {
		tools = append(tools, func() (measure, error) { return runPgloader(ctx, work, dbFile, admin) })
	}
	tools = append(tools, func() (measure, error) { return fl.run(ctx, admin) })
	best := make([]measure, len(tools))
	for round := 1; round <= repeat; round++ {
		for i, tool := range tools {
			m, err := tool()
			if err != nil {
				return err
			}
			if m.tables != nil {
				if err := fl.same(m.tables); err != nil {
					return err
				}
			}
			fmt.Printf("round %d: %-20s %8.2f s %10.0f rows/s\n", round, m.name, m.seconds, m.rate())
			if best[i].seconds == 0 || m.seconds < best[i].seconds {
				m.rssKB = max(m.rssKB, best[i].rssKB)
				best[i] = m
			} else {
				best[i].rssKB = max(best[i].rssKB, m.rssKB)
			}
		}
	}
	results := best
	fmt.Printf("\nbest of %d rounds; peak RSS is the largest of all rounds\n", repeat)
	fmt.Printf("\n%-20s %10s %9s %12s %12s  %s\n", "", "rows", "seconds", "rows/s", "peak RSS", "")
	for _, r := range results {
		rss := "-"
		if r.rssKB > 0 {
			rss = fmt.Sprintf("%.0f MB", float64(r.rssKB)/1024)
		}
		fmt.Printf("%-20s %10d %9.2f %12.0f %12s  %s\n", r.name, r.rows, r.seconds, r.rate(), rss, r.note)
	}
	p := results[0]
	fmt.Println()
	for _, r := range results[1:] {
		fmt.Printf("podium migrate db / %-18s rows/s ratio: %.2f\n", r.name, p.rate()/r.rate())
	}
	if pinned {
		if err := runPinned(ctx, bin, work, dataDir, admin, fl, repeat); err != nil {
			return err
		}
	}
	// The preflight on the same data, against an empty target: its own
	// time, and how its estimate compares with the real run's best.
	c, err := runCheck(ctx, bin, work, dataDir, admin)
	if err != nil {
		return err
	}
	fmt.Printf("\npodium migrate db --check: %.2f s wall (read and checked %d rows in %.2f s, %.0f rows/s), peak RSS %.0f MB;"+
		" estimated migration %.1f s, measured %.1f s\n",
		c.seconds, c.rows, c.read, float64(c.rows)/c.read, float64(c.rssKB)/1024, c.estimate, p.seconds)
	return nil
}

type checkMeasure struct {
	seconds, read, estimate float64
	rows, rssKB             int64
}

func runCheck(ctx context.Context, bin, work, dataDir, admin string) (checkMeasure, error) {
	out, secs, rssKB, err := runMigrate(ctx, bin, work, dataDir, admin, "podium_bench_check", "--check")
	if err != nil {
		return checkMeasure{}, err
	}
	var res struct {
		Rows  int64 `json:"rows"`
		Check struct {
			OK        bool    `json:"ok"`
			Read      float64 `json:"read_seconds"`
			Estimated float64 `json:"estimated_seconds"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Check.OK {
		return checkMeasure{}, fmt.Errorf("podium migrate db --check output (ok=%v, %v): %s", res.Check.OK, err, out)
	}
	return checkMeasure{seconds: secs, read: res.Check.Read, estimate: res.Check.Estimated, rows: res.Rows, rssKB: rssKB}, nil
}

// runMigrate runs "podium migrate db" with the extra flags into a scratch
// database named db, and returns its JSON output, its wall time and its
// peak RSS in KB.
func runMigrate(ctx context.Context, bin, work, dataDir, admin, db string, extra ...string) (string, float64, int64, error) {
	url, drop, err := scratch(ctx, admin, db)
	if err != nil {
		return "", 0, 0, err
	}
	defer drop()
	args := append(append([]string{"migrate", "db"}, extra...), "--json", "--log-format", "text", "--log-level", "warn")
	cmd, rss := timed(ctx, bin, args...)
	cmd.Env = filterEnv(append(os.Environ(), "PODIUM_DATABASE_DIR="+dataDir, "PODIUM_POSTGRES_URL="+url), "PODIUM_CONFIG")
	cmd.Dir = work
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	err = cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return "", 0, 0, fmt.Errorf("podium %s: %w\n%s", strings.Join(append([]string{"migrate", "db"}, extra...), " "), err, out.String())
	}
	return out.String(), secs, rss(), nil
}

func runPodium(ctx context.Context, bin, work, dataDir, admin string) (measure, error) {
	out, secs, rssKB, err := runMigrate(ctx, bin, work, dataDir, admin, "podium_bench_migrate")
	if err != nil {
		return measure{}, err
	}
	var res struct {
		Rows   int64 `json:"rows"`
		Tables []struct {
			Name     string `json:"table"`
			Rows     int64  `json:"rows"`
			Verified bool   `json:"verified"`
		} `json:"tables"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return measure{}, fmt.Errorf("podium migrate db output: %w", err)
	}
	verified := 0
	tables := map[string]int64{}
	for _, t := range res.Tables {
		if t.Verified {
			verified++
		}
		tables[t.Name] = t.Rows
	}
	return measure{name: "podium migrate db", rows: res.Rows, seconds: secs, rssKB: rssKB, tables: tables,
		note: fmt.Sprintf("%d/%d tables verified, wall time of the whole command", verified, len(res.Tables))}, nil
}

// runPgloader loads the SQLite file with pgloader's defaults (create
// tables, indexes, foreign keys, reset sequences; fewer rows prefetched),
// minus goose's version table, whose SQLite default datetime('now')
// pgloader cannot translate.
func runPgloader(ctx context.Context, work, dbFile, admin string) (measure, error) {
	url, drop, err := scratch(ctx, admin, "podium_bench_pgloader")
	if err != nil {
		return measure{}, err
	}
	defer drop()
	load := filepath.Join(work, "pgloader.load")
	// prefetch rows: with its default (100,000) pgloader exhausts its 1 GB
	// heap on the long job logs ("Heap exhausted, game over").
	spec := fmt.Sprintf("LOAD DATABASE\n  FROM sqlite://%s\n  INTO %s\n"+
		"  WITH include drop, create tables, create indexes, reset sequences, prefetch rows = 10000\n"+
		"  EXCLUDING TABLE NAMES LIKE 'goose_db_version';\n", dbFile, url)
	if err := os.WriteFile(load, []byte(spec), 0o600); err != nil {
		return measure{}, err
	}
	cmd, rss := timed(ctx, "pgloader", "--quiet", load)
	cmd.Dir = work
	var pout strings.Builder
	cmd.Stdout, cmd.Stderr = &pout, &pout
	start := time.Now()
	err = cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return measure{}, fmt.Errorf("pgloader: %w\n%s", err, pout.String())
	}
	n, err := pgscratch.CountRows(ctx, url)
	if err != nil {
		return measure{}, err
	}
	return measure{name: "pgloader", rows: n, seconds: secs, rssKB: rss(), note: "no verification"}, nil
}

// timed returns a command that runs name under /usr/bin/time, when there
// is one, and a function that reads its peak RSS in KiB after it ran. The
// rusage of a child forked from this (large) process would count this
// process's memory too; time's own is a few MB.
func timed(ctx context.Context, name string, args ...string) (*exec.Cmd, func() int64) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		cmd := exec.CommandContext(ctx, name, args...)
		return cmd, func() int64 { return maxRSS(cmd) }
	}
	f, err := os.CreateTemp("", "bench-rss-*")
	if err != nil {
		cmd := exec.CommandContext(ctx, name, args...)
		return cmd, func() int64 { return maxRSS(cmd) }
	}
	f.Close()
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-f", "%M", "-o", f.Name(), name}, args...)...)
	return cmd, func() int64 {
		defer os.Remove(f.Name())
		b, _ := os.ReadFile(f.Name())
		var kb int64
		fmt.Sscan(strings.TrimSpace(string(b)), &kb)
		return kb
	}
}

func scaled(s migratetest.Sizes, f float64) migratetest.Sizes {
	m := func(n int) int { return max(1, int(float64(n)*f)) }
	return migratetest.Sizes{Users: m(s.Users), APIKeys: m(s.APIKeys), Sessions: m(s.Sessions), LoginAttempts: m(s.LoginAttempts),
		Content: m(s.Content), ACL: m(s.ACL), Bundles: m(s.Bundles), Tasks: m(s.Tasks), TaskOutput: m(s.TaskOutput),
		Renders: m(s.Renders), Schedules: m(s.Schedules), Jobs: m(s.Jobs), JobAttempts: m(s.JobAttempts), AuditLog: m(s.AuditLog),
		Settings: s.Settings, Nodes: s.Nodes, LongTextEvery: s.LongTextEvery}
}

func filterEnv(env []string, drop string) []string {
	out := env[:0]
	for _, e := range env {
		if !strings.HasPrefix(e, drop+"=") {
			out = append(out, e)
		}
	}
	return out
}

func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}

func build(ctx context.Context, dir string, sizes migratetest.Sizes) error {
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	p, err := sqlite.Open(ctx, sqlite.Options{Dir: tmp, Exclusive: true, Purpose: "bench"})
	if err != nil {
		return err
	}
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		p.Close()
		return err
	}
	tx, err := p.WriteTx(ctx)
	if err != nil {
		p.Close()
		return err
	}
	if err := migratetest.FillTx(ctx, tx, sizes, 42); err != nil {
		_ = tx.Rollback()
		p.Close()
		return err
	}
	if err := tx.Commit(); err != nil {
		p.Close()
		return err
	}
	if err := p.Checkpoint(ctx); err != nil {
		p.Close()
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// lockServer holds, for the whole run, a session advisory lock on the
// server that every bench-migrate run takes. Two runs against one server
// (two engineers on a shared machine) used the same scratch databases: one
// run's scratch() dropped, WITH (FORCE), the database the other's podium
// migrate db was connecting to, which then failed with "database
// podium_bench_migrate does not exist"; and each would have timed the
// other's load. The second run now waits for the first.
func lockServer(ctx context.Context, admin string) (func(), error) {
	return pgscratch.Lock(ctx, admin, "podium bench-migrate", func() {
		fmt.Println("another bench-migrate run is using this PostgreSQL server: waiting for it to end...")
	})
}

// scratch (re)creates an empty database and returns its URL.
func scratch(ctx context.Context, admin, name string) (string, func(), error) {
	u, err := pgscratch.Create(ctx, admin, name)
	if err != nil {
		return "", nil, err
	}
	// Each tool starts on a quiet server: a checkpoint writes out what the
	// previous tool and CREATE DATABASE left dirty, instead of the server
	// writing it during the next tool's timed run. Needs a superuser or
	// pg_checkpoint; without either, the figures are only noisier.
	if err := pgscratch.Checkpoint(ctx, admin); err != nil {
		fmt.Fprintf(os.Stderr, "bench-migrate: CHECKPOINT before the run refused (%v): figures will be noisier\n", err)
	}
	drop := func() { _ = pgscratch.Drop(context.Background(), admin, name) }
	return u, drop, nil
}

// floorData is every row of the source, already as the Go types the
// target columns take.
type floorData struct {
	order []string
	cols  map[string][]string
	rows  map[string][][]any
	count map[string]int64
	total int64
	// bin is each table's binary COPY stream, as PostgreSQL itself writes
	// it (COPY TO, once): the floor sends these bytes, so no client-side
	// encoding is timed either.
	bin map[string][]byte
}

// loadFloor reads every row of every table podium migrate db copies: the
// source's tables as it lists them (sqlite_master, SQLite's own and goose's
// version table excepted, which goose fills on the target), not a list kept
// by hand, which missed the tables added since it was written. The order
// does not matter: the floor loads into tables without keys.
func loadFloor(ctx context.Context, dataDir string) (*floorData, error) {
	src, err := sqlite.Open(ctx, sqlite.Options{Dir: dataDir, ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd := &floorData{cols: map[string][]string{}, rows: map[string][][]any{}, count: map[string]int64{}}
	names, err := src.Tables(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range names {
		if t != "goose_db_version" {
			fd.order = append(fd.order, t)
		}
	}
	// One read transaction for every table.
	conn, tx, err := src.ReadSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	defer func() { _ = tx.Rollback() }()
	for _, t := range fd.order {
		rows, err := tx.QueryContext(ctx, "SELECT * FROM "+postgres.QuoteIdent(t))
		if err != nil {
			return nil, err
		}
		cols, _ := rows.Columns()
		fd.cols[t] = cols
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, err
			}
			fd.rows[t] = append(fd.rows[t], vals)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		fd.count[t] = int64(len(fd.rows[t]))
		fd.total += fd.count[t]
	}
	return fd, nil
}

// same fails unless podium migrate db copied exactly the floor's tables
// and rows: the comparison is only fair if both load the same data.
func (fd *floorData) same(podium map[string]int64) error {
	for t, n := range podium {
		if m, ok := fd.count[t]; !ok || m != n {
			return fmt.Errorf("the floor loads %d rows of %s, podium migrate db copied %d", m, t, n)
		}
	}
	for t := range fd.count {
		if _, ok := podium[t]; !ok {
			return fmt.Errorf("the floor loads %s, which podium migrate db did not copy", t)
		}
	}
	return nil
}

// run is the floor: the fastest way this PostgreSQL server takes the same
// rows, the way pg_restore loads. Untimed: a fresh database migrated by
// goose, its keys, indexes and foreign keys dropped, every table already in
// memory as the binary COPY stream PostgreSQL itself writes for it (so no
// reading, conversion or encoding is timed). Timed, in one transaction:
// a binary COPY of every table into the bare tables (long values
// compressed with lz4, as podium does), then every key and index built
// once, every foreign key checked once, every identity sequence reset,
// and the commit. No reading, conversion, checks or verification.
//
// No COPY FREEZE, as pg_restore does not freeze either, and it would not
// take work off the floor: freezing spares the first later transaction
// that reads the rows from setting hint bits (dirtying and writing every
// page again), and every read of the floor (index builds, foreign key
// checks) is in the loading transaction, whose own rows need no hint
// bits. Podium freezes because it reads its rows again in later
// transactions (foreign key validation, after each table's commit).
func (fd *floorData) run(ctx context.Context, admin string) (measure, error) {
	url, drop, err := scratch(ctx, admin, "podium_bench_floor")
	if err != nil {
		return measure{}, err
	}
	defer drop()
	pg, err := postgres.Open(ctx, postgres.Options{URL: podium.Secret(url)})
	if err != nil {
		return measure{}, err
	}
	defer pg.Close()
	// Untimed, but printed: podium migrate db creates the schema (in its
	// staging schema) inside its own timed run.
	schemaStart := time.Now()
	if _, err := schema.Up(ctx, pg, nil, schema.Options{}); err != nil {
		return measure{}, err
	}
	schemaSecs := time.Since(schemaStart).Seconds()
	db, err := pg.SQLConn(ctx)
	if err != nil {
		return measure{}, err
	}
	defer db.Close()
	// Every table's keys, the empty ones' too: a key another table's
	// foreign key depends on (content's, from tables the data set leaves
	// empty) can only go with that foreign key.
	var all []string
	rows, err := db.QueryContext(ctx, `SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'`)
	if err != nil {
		return measure{}, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return measure{}, err
		}
		all = append(all, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return measure{}, err
	}
	drops, restore, err := migrate.LoadStatements(ctx, db, all)
	if err != nil {
		return measure{}, err
	}
	if _, err := db.ExecContext(ctx, strings.Join(drops, ";\n")); err != nil {
		return measure{}, fmt.Errorf("floor: drop keys and indexes: %w", err)
	}
	type identity struct{ table, column string }
	var ids []identity
	rows, err = db.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return measure{}, err
	}
	for rows.Next() {
		var id identity
		if err := rows.Scan(&id.table, &id.column); err != nil {
			rows.Close()
			return measure{}, err
		}
		ids = append(ids, id)
	}
	rows.Close()

	if fd.bin == nil {
		if err := fd.encode(ctx, pg); err != nil {
			return measure{}, err
		}
	}

	tx, err := pg.Acquire(ctx)
	if err != nil {
		return measure{}, err
	}
	defer tx.Release() // rolls back, unless committed
	start := time.Now()
	if err := tx.Begin(ctx); err != nil {
		return measure{}, err
	}
	var lz4 bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_settings
		WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))`).Scan(&lz4); err != nil {
		return measure{}, err
	}
	if lz4 {
		if err := tx.Exec(ctx, `SET LOCAL default_toast_compression = lz4`); err != nil {
			return measure{}, err
		}
	}
	for _, t := range fd.order {
		if _, err := tx.CopyFrom(ctx, bytes.NewReader(fd.bin[t]), fd.copyStmt(t, "FROM STDIN")); err != nil {
			return measure{}, fmt.Errorf("floor copy %s: %w", t, err)
		}
	}
	copied := time.Since(start)
	if err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
		return measure{}, err
	}
	for _, stmt := range restore {
		if err := tx.Exec(ctx, stmt); err != nil {
			return measure{}, fmt.Errorf("floor: %s: %w", stmt, err)
		}
	}
	for _, id := range ids {
		var next int64
		q := fmt.Sprintf(`SELECT COALESCE(max(%s), 0) + 1 FROM %s`, postgres.QuoteIdent(id.column), postgres.QuoteIdent(id.table))
		if err := tx.QueryRow(ctx, q).Scan(&next); err != nil {
			return measure{}, err
		}
		if err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s ALTER COLUMN %s RESTART WITH %d`,
			postgres.QuoteIdent(id.table), postgres.QuoteIdent(id.column), next)); err != nil {
			return measure{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return measure{}, err
	}
	secs := time.Since(start).Seconds()
	return measure{name: "floor", rows: fd.total, seconds: secs,
		note: fmt.Sprintf("COPY streams in memory; binary COPY into bare tables %.2f s, then keys, indexes, FKs, sequences; no checks; schema by goose %.2f s before, untimed",
			copied.Seconds(), schemaSecs)}, nil
}

func (fd *floorData) copyStmt(t, dir string) string {
	cols := make([]string, len(fd.cols[t]))
	for i, c := range fd.cols[t] {
		cols[i] = postgres.QuoteIdent(c)
	}
	return fmt.Sprintf("COPY %s (%s) %s (FORMAT binary)", postgres.QuoteIdent(t), strings.Join(cols, ", "), dir)
}

// encode loads the rows once, untimed, in a transaction it rolls back,
// and keeps each table's binary COPY stream as PostgreSQL writes it.
func (fd *floorData) encode(ctx context.Context, pg *postgres.Provider) error {
	c, err := pg.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release() // rolls the transaction back
	if err := c.Begin(ctx); err != nil {
		return err
	}
	sc, err := pg.SQLConn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	// SQLite keeps booleans as 0 and 1: the target's catalog says which
	// columns take them as booleans.
	boolCols := map[string]bool{}
	rows, err := sc.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'boolean'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		boolCols[t+"."+c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	fd.bin = map[string][]byte{}
	for _, t := range fd.order {
		for i, c := range fd.cols[t] {
			if !boolCols[t+"."+c] {
				continue
			}
			for _, row := range fd.rows[t] {
				if x, ok := row[i].(int64); ok {
					row[i] = x != 0
				}
			}
		}
		if _, err := c.CopyRows(ctx, t, fd.cols[t], fd.rows[t]); err != nil {
			return fmt.Errorf("floor: load %s: %w", t, err)
		}
		var buf bytes.Buffer
		if _, err := c.CopyTo(ctx, &buf, fd.copyStmt(t, "TO STDOUT")); err != nil {
			return fmt.Errorf("floor: encode %s: %w", t, err)
		}
		fd.bin[t] = buf.Bytes()
	}
	fd.rows = nil // the streams stand for them now
	return nil
}

// runPinned runs podium and the floor again, repeat rounds each, with
// PostgreSQL on CPU 0 and both clients on the other CPUs, and prints the
// second comparison line.
func runPinned(ctx context.Context, bin, work, dataDir, admin string, fl *floorData, repeat int) error {
	if nproc() < 2 {
		fmt.Println("\npinned: skipped, this machine has one CPU")
		return nil
	}
	unpin, err := pinPostgres(ctx, admin)
	if err != nil {
		return fmt.Errorf("pin PostgreSQL to CPU 0: %w", err)
	}
	defer unpin()
	fmt.Printf("\nPostgreSQL pinned to CPU 0, podium and the floor's client to the other %d (taskset):\n", nproc()-1)
	var best [2]measure
	for round := 1; round <= repeat; round++ {
		for i, tool := range []func() (measure, error){
			func() (measure, error) { return runPodium(ctx, bin, work, dataDir, admin) },
			func() (measure, error) { return fl.run(ctx, admin) },
		} {
			m, err := tool()
			if err != nil {
				return err
			}
			fmt.Printf("pinned round %d: %-20s %8.2f s %10.0f rows/s\n", round, m.name, m.seconds, m.rate())
			if best[i].seconds == 0 || m.seconds < best[i].seconds {
				best[i] = m
			}
		}
	}
	fmt.Printf("pinned: podium migrate db %.2f s, floor %.2f s (best of %d): podium migrate db / floor rows/s ratio: %.2f\n",
		best[0].seconds, best[1].seconds, repeat, best[0].rate()/best[1].rate())
	return nil
}
