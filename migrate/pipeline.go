package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"
)

// The run loads into a staging schema that no node looks at, each table
// by its own pipeline, then switches the staged tables into place in one
// short transaction:
//
//  1. stage: in one transaction, the staging schema is created afresh
//     (a leftover of an interrupted run is dropped first) with the whole
//     Podium schema, from the same migrations, and its keys, indexes and
//     foreign keys are taken off;
//  2. load: each worker takes the next table (largest first) and, in one
//     transaction on its own connection, copies it (binary COPY), builds
//     its keys and indexes, and verifies it (digest.go), then commits;
//  3. keys: the foreign keys are added NOT VALID, then validated, tables in
//     parallel; the identity sequences are reset;
//  4. switch: one transaction drops the target's empty (or, with
//     --drop-all, emptied) Podium tables, moves every staged table and
//     function into the target schema with ALTER ... SET SCHEMA, and drops
//     the staging schema.
//
// A node only ever sees the target schema, which the switch changes
// atomically: before it, the target is as it was; after it, complete. A
// failure drops the staging schema; a SIGKILL leaves it behind, invisible,
// and the next run drops it.

// stagingSchema is the schema the run loads into.
const stagingSchema = "podium_migrate_staging"

// dryRunSchema is where a dry run creates the schema, in a transaction it
// rolls back.
const dryRunSchema = "podium_migrate_dry_run"

// maxWorkers bounds Options.Workers.
const maxWorkers = 16

// workerCount is Options.Workers, or the default: one more than the
// cores of this machine, at most the server's max_parallel_workers (the
// share of its cores its administrator gives to one query's helpers, a
// stand-in for its own core count, which PostgreSQL does not report), at
// least 2 and at most 8. A worker's time alternates between this side
// (reading and converting) and the server's (COPY, index builds, the
// digest), so one worker more than the cores keeps the server busy while
// the others convert: on the 2-core benchmark, with PostgreSQL pinned to
// its own core, 3 workers gave 0.77 and 1.00 of the floor in two runs on
// the shared machine, against 0.65 with 2 (docs/moving-to-postgresql.md).
func (r *run) workerCount(ctx context.Context) int {
	if r.opts.Workers > 0 {
		return min(r.opts.Workers, maxWorkers)
	}
	n := runtime.NumCPU()
	if r.dst != nil {
		var server int
		if err := r.dst.conn.QueryRowContext(ctx, `SELECT current_setting('max_parallel_workers')::int`).Scan(&server); err == nil && server > 0 {
			n = min(n, server)
		}
	}
	return max(2, min(n+1, 8))
}

// readOnly: a dry run or a check, which only read the source.
func (r *run) readOnly() bool { return r.opts.DryRun || r.check != nil }

// querier is a transaction or a connection.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// lockSession takes the migration advisory lock for the whole run (so no
// node migrates the schema meanwhile, and no second "migrate db" runs).
func (t *target) lockSession(ctx context.Context) error {
	var locked bool
	if err := t.conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, schema.LockID).Scan(&locked); err != nil {
		return fmt.Errorf("migrate db: target: advisory lock: %w", err)
	}
	if !locked {
		return podium.Errorf(podium.EREFUSED,
			"migrate db: a podium node is migrating the schema of %s, or another \"podium migrate db\" is running on it: stop every node using it, then run this command again", t.describe)
	}
	return nil
}

// run is the whole migration (or the dry run) of an opened source and
// target.
func (r *run) run(ctx context.Context) (*Result, error) {
	res := &Result{DryRun: r.opts.DryRun, Source: r.src.path, Target: r.dst.describe,
		SourceUpgradedFrom: max(r.src.upgradedFrom, r.src.wouldUpgrade)}
	if err := r.dst.lockSession(ctx); err != nil {
		return nil, err
	}
	workers := r.workerCount(ctx)
	res.Workers = workers
	if err := r.src.snapshot(ctx, workers, r.log); err != nil {
		return nil, err
	}
	names, err := r.src.tables(ctx)
	if err != nil {
		return nil, err
	}
	st, err := r.dst.inspect(ctx, r.dst.conn, names, false)
	if err != nil {
		return nil, err
	}
	res.TargetVersionBefore = st.Version
	latest := schema.Latest()
	if st.Version > latest {
		return nil, podium.Errorf(podium.EREFUSED,
			"migrate db: the target %s has schema version %d, newer than this binary (%d): use an empty database", r.dst.describe, st.Version, latest)
	}
	if len(st.Existing) > 0 && !st.HasGoose {
		return nil, podium.Errorf(podium.EREFUSED,
			"migrate db: the target %s has tables named like Podium's (%s) but no %s table: use an empty database",
			r.dst.describe, strings.Join(st.Existing, ", "), versionTable)
	}
	if len(st.NonEmpty) > 0 {
		if !r.opts.DropAll {
			return nil, podium.Errorf(podium.EREFUSED,
				"migrate db: the target %s already holds Podium data (rows in %s): nothing was written. "+
					"Use an empty database, or pass --drop-all --yes to delete that data first",
				r.dst.describe, strings.Join(st.NonEmpty, ", "))
		}
		if !r.opts.DryRun && r.opts.ConfirmDropAll != nil {
			ok, err := r.opts.ConfirmDropAll(st.NonEmpty)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, podium.Errorf(podium.EREFUSED, "migrate db: not confirmed: nothing was written")
			}
		}
		res.Emptied = st.NonEmpty
	}
	res.AppliedMigrations = versionsAbove(st.Version)
	res.SchemaVersion = latest
	if r.opts.DryRun {
		res.SchemaVersion = r.src.version
	}

	began := time.Now()
	tables, lp, err := r.stage(ctx, names)
	if err != nil {
		return nil, err
	}
	r.log.WithField("seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds())).Debug("staging schema created")
	plan, err := r.countRows(ctx, tables)
	if err != nil {
		return nil, err
	}
	r.progress(Event{Phase: PhasePlan, Plan: plan})

	began = time.Now()
	if r.opts.DryRun {
		r.log.WithField("workers", workers).Info("reading every row (dry run)")
	} else {
		r.log.WithField("workers", workers).Info("copying, indexing and verifying each table")
	}
	if res.Tables, err = r.load(ctx, tables, plan, lp); err != nil {
		return nil, err
	}
	for _, tr := range res.Tables {
		res.Rows += tr.Rows
		res.Bytes += tr.Bytes
	}
	r.log.WithField("seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds())).Debug("every table loaded")
	if r.opts.DryRun {
		return res, nil
	}

	began = time.Now()
	r.log.Info("checking foreign keys")
	if res.Sequences, err = r.foreignKeys(ctx, tables, lp); err != nil {
		return nil, err
	}
	r.log.WithField("seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds())).Debug("foreign keys checked, sequences reset")

	began = time.Now()
	r.log.Info("switching the loaded tables into place")
	if err := r.switchIn(ctx, names); err != nil {
		return nil, err
	}
	r.log.WithField("seconds", fmt.Sprintf("%.2f", time.Since(began).Seconds())).Debug("switched")
	return res, nil
}

// versionsAbove lists the PostgreSQL migrations above version v.
func versionsAbove(v int64) []int64 {
	vs, err := schema.Versions("postgres")
	if err != nil {
		return nil
	}
	var out []int64
	for _, x := range vs {
		if x > v {
			out = append(out, x)
		}
	}
	return out
}

// inspect reads the target's state in its current schema: its Podium
// tables, which hold rows, its schema version. With lock (inside a
// transaction), the Podium tables are locked first, so what it finds stays
// true until the commit.
func (t *target) inspect(ctx context.Context, q querier, podiumTables []string, lock bool) (*state, error) {
	var schemaName sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schemaName); err != nil || !schemaName.Valid {
		return nil, podium.Errorf(podium.EREFUSED, "migrate db: the target %s has no schema to create tables in (check search_path)", t.describe)
	}
	t.schema = schemaName.String
	st := &state{}
	names := append([]string{versionTable}, podiumTables...)
	rows, err := q.QueryContext(ctx, `
		SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)
		ORDER BY c.relname`, names)
	if err != nil {
		return nil, fmt.Errorf("migrate db: target tables: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate db: target tables: %w", err)
		}
		if n == versionTable {
			st.HasGoose = true
		} else {
			st.Existing = append(st.Existing, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate db: target tables: %w", err)
	}
	if lock && len(st.Existing) > 0 {
		if _, err := q.ExecContext(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return nil, fmt.Errorf("migrate db: target: %w", err)
		}
		if _, err := q.ExecContext(ctx, `LOCK TABLE `+quoteList(st.Existing)+` IN ACCESS EXCLUSIVE MODE`); err != nil {
			return nil, podium.Errorf(podium.EREFUSED,
				"migrate db: the Podium tables in %s are in use (is a node running on it?): stop every node using it, then run this command again", t.describe)
		}
		if _, err := q.ExecContext(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
			return nil, fmt.Errorf("migrate db: target: %w", err)
		}
	}
	for _, n := range st.Existing {
		var any bool
		if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quoteIdent(n)+`)`).Scan(&any); err != nil {
			return nil, fmt.Errorf("migrate db: target: look at %s: %w", n, err)
		}
		if any {
			st.NonEmpty = append(st.NonEmpty, n)
		}
	}
	if st.HasGoose {
		var v sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT max(version_id) FROM `+versionTable).Scan(&v); err != nil {
			return nil, fmt.Errorf("migrate db: target schema version: %w", err)
		}
		st.Version = v.Int64
	}
	return st, nil
}

func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = quoteIdent(n)
	}
	return strings.Join(quoted, ", ")
}

// stage creates the staging schema (for a dry run, in a transaction it
// rolls back) and returns its tables, in foreign key order, and how their
// constraints and indexes come back.
func (r *run) stage(ctx context.Context, names []string) ([]*table, *loadPlan, error) {
	t := r.dst
	name := stagingSchema
	if r.opts.DryRun {
		name = dryRunSchema
	} else {
		// A leftover of an interrupted run (we hold the lock: no other run
		// uses it).
		if _, err := t.conn.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(stagingSchema)+` CASCADE`); err != nil {
			return nil, nil, fmt.Errorf("migrate db: remove the staging schema a previous run left: %w", err)
		}
		r.staged = true
	}
	tx, err := t.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("migrate db: target: begin: %w", err)
	}
	t.tx = tx
	defer func() {
		if t.tx != nil {
			_ = t.tx.Rollback()
			t.tx = nil
		}
	}()
	// One round trip. Durability comes from the switch's commit, whose
	// WAL flush covers every earlier record: this commit need not wait
	// for it (a crash before the switch leaves at most the staging
	// schema, which the next run drops).
	if _, err := tx.ExecContext(ctx, `CREATE SCHEMA `+quoteIdent(name)+`; SET LOCAL search_path = `+quoteIdent(name)+
		`; SET LOCAL synchronous_commit = off`); err != nil {
		if code, _ := postgres.SQLState(err); code == "42501" {
			return nil, nil, podium.Errorf(podium.EREFUSED,
				"migrate db: the role cannot create a schema in %s, which the copy loads into before switching it into place: "+
					"run as the database's owner, or GRANT CREATE ON DATABASE to the role, then run this command again", t.describe)
		}
		return nil, nil, fmt.Errorf("migrate db: create the staging schema: %w", err)
	}
	t.staging = true
	if _, err := t.migrateSchema(ctx, &state{}); err != nil {
		return nil, nil, err
	}
	tables, err := r.plan(ctx, names, r.opts.DryRun && r.src.wouldUpgrade > 0)
	if err != nil {
		return nil, nil, err
	}
	if tables, err = sortByForeignKeys(tables); err != nil {
		return nil, nil, err
	}
	if r.opts.DryRun {
		return tables, nil, nil
	}
	fks, keys, idx, err := loadItems(ctx, tx, names)
	if err != nil {
		return nil, nil, err
	}
	lp := buildLoadPlan(fks, keys, idx)
	if len(lp.drops) > 0 {
		if _, err := tx.ExecContext(ctx, strings.Join(lp.drops, ";\n")); err != nil {
			return nil, nil, fmt.Errorf("migrate db: detach constraints for the load: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("migrate db: create the staging schema: %w", err)
	}
	t.tx = nil
	return tables, lp, nil
}

// countRows counts every table's rows in the snapshot, on the readers in
// parallel.
func (r *run) countRows(ctx context.Context, tables []*table) ([]TablePlan, error) {
	plan := make([]TablePlan, len(tables))
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int, len(tables))
	for i := range tables {
		next <- i
	}
	close(next)
	for _, rd := range r.src.readers {
		g.Go(func() error {
			for i := range next {
				n, err := rd.count(gctx, tables[i])
				if err != nil {
					return fmt.Errorf("migrate db: count %s: %w", tables[i].Name, err)
				}
				plan[i] = TablePlan{Name: tables[i].Name, Rows: n}
			}
			return nil
		})
	}
	return plan, g.Wait()
}

// load runs the workers: each table is read (dry run, check), or
// copied, keyed and verified in its own transaction; then each of its
// other indexes is built in a transaction of its own, by whichever worker
// is free (CREATE INDEX takes a lock that lets others build on the same
// table at once), so that a table with many indexes does not keep one
// worker busy while the others have nothing left. Tables go largest
// first, and index builds before the next table.
func (r *run) load(ctx context.Context, tables []*table, plan []TablePlan, lp *loadPlan) ([]TableResult, error) {
	order := make([]int, len(tables))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(plan[b].Rows - plan[a].Rows) })
	sc := newScheduler(order)
	out := make([]TableResult, len(tables))
	g, gctx := errgroup.WithContext(ctx)
	for _, rd := range r.src.readers[:min(len(r.src.readers), len(tables))] {
		g.Go(func() (err error) {
			defer func() {
				if err != nil {
					sc.fail()
				}
			}()
			var conn *postgres.Conn
			if !r.readOnly() {
				c, err := r.dst.prov.Acquire(gctx)
				if err != nil {
					return fmt.Errorf("migrate db: target: %w", err)
				}
				defer c.Release()
				conn = c
				r.addBackend(conn.PID())
			}
			for {
				tk, ok := sc.next()
				if !ok {
					return gctx.Err()
				}
				if tk.index != "" {
					if err := r.buildIndex(gctx, rd.id, conn, tables[tk.table], tk.index); err != nil {
						return err
					}
					sc.done(nil)
					continue
				}
				i := tk.table
				began := time.Now()
				want := plan[i].Rows
				if r.src.shared {
					// Each reader has a snapshot of its own (--check):
					// count in the one that reads.
					var err error
					if want, err = rd.count(gctx, tables[i]); err != nil {
						return fmt.Errorf("migrate db: count %s: %w", tables[i].Name, err)
					}
				}
				tr, err := r.loadTable(gctx, rd, conn, tables[i], lp)
				if err != nil {
					return err
				}
				if tr.Rows != want {
					return fmt.Errorf("migrate db: %s: read %d rows, the snapshot counted %d", tables[i].Name, tr.Rows, want)
				}
				tr.Seconds = time.Since(began).Seconds()
				out[i] = tr
				r.log.WithFields(logrus.Fields{"table": tr.Name, "rows": tr.Rows, "bytes": tr.Bytes, "worker": rd.id,
					"seconds": fmt.Sprintf("%.2f", tr.Seconds)}).Debug("table done")
				var more []task
				if lp != nil {
					for _, stmt := range lp.indexes[tables[i].Name] {
						more = append(more, task{table: i, index: stmt})
					}
				}
				sc.done(more)
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// task is a table to load, or one index of a loaded table to build.
type task struct {
	table int
	index string
}

// scheduler hands out the load's tasks: index builds first, then tables
// in order; a worker waits while others may still add index builds.
type scheduler struct {
	mu      sync.Mutex
	cond    *sync.Cond
	indexes []task
	tables  []int
	running int
	stopped bool
}

func newScheduler(tables []int) *scheduler {
	s := &scheduler{tables: tables}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *scheduler) next() (task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.stopped:
			return task{}, false
		case len(s.indexes) > 0:
			t := s.indexes[0]
			s.indexes = s.indexes[1:]
			s.running++
			return t, true
		case len(s.tables) > 0:
			t := s.tables[0]
			s.tables = s.tables[1:]
			s.running++
			return task{table: t}, true
		case s.running == 0:
			return task{}, false
		}
		s.cond.Wait()
	}
}

// done ends a task, adding the index builds it made possible.
func (s *scheduler) done(more []task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	s.indexes = append(s.indexes, more...)
	s.cond.Broadcast()
}

// fail stops every worker.
func (s *scheduler) fail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.cond.Broadcast()
}

// buildIndex builds one index of a loaded table in its own transaction.
func (r *run) buildIndex(ctx context.Context, worker int, c *postgres.Conn, t *table, stmt string) error {
	r.progress(Event{Phase: PhaseIndex, Worker: worker, Table: t.Name})
	began := time.Now()
	err := c.InTx(ctx, func() error {
		if err := c.Exec(ctx, `SET LOCAL search_path = `+quoteIdent(stagingSchema)+`; SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return err
		}
		return c.Exec(ctx, stmt)
	})
	if err != nil {
		return fmt.Errorf("migrate db: restore index (%s): %w", stmt, err)
	}
	r.log.WithField("seconds", fmt.Sprintf("%.3f", time.Since(began).Seconds())).Debug(stmt)
	r.progress(Event{Phase: PhaseIndex, Worker: worker, Table: t.Name, Done: true})
	return nil
}

// loadTable is one table's pipeline.
func (r *run) loadTable(ctx context.Context, rd *reader, c *postgres.Conn, t *table, lp *loadPlan) (TableResult, error) {
	tr := TableResult{Name: t.Name}
	if r.readOnly() {
		tc, err := r.readTable(ctx, rd, t, discardChunk)
		if err != nil {
			return tr, err
		}
		r.progress(Event{Phase: PhaseRead, Worker: rd.id, Table: t.Name, Rows: tc.rows, Bytes: tc.bytes, Done: true})
		tr.Rows, tr.Bytes, tr.Checksum = tc.rows, tc.bytes, tc.checksum
		return tr, nil
	}
	if err := c.Begin(ctx); err != nil {
		return tr, fmt.Errorf("migrate db: target: begin: %w", err)
	}
	defer func() { _ = c.Rollback(context.Background()) }()
	// Durability comes from the switch's commit, whose WAL flush covers
	// every earlier record: a table's own commit need not wait for it.
	settings := `SET LOCAL search_path = ` + quoteIdent(stagingSchema) + `; SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'`
	if r.dst.lz4 {
		settings += `; SET LOCAL default_toast_compression = lz4`
	}
	// Emptied in this transaction (it is empty already), so that COPY may
	// write its rows frozen.
	settings += `; TRUNCATE ` + quoteIdent(t.Name)
	if err := c.Exec(ctx, settings); err != nil {
		return tr, fmt.Errorf("migrate db: target settings: %w", err)
	}
	began := time.Now()
	tc, err := r.copyTable(ctx, rd, c, t)
	if err != nil {
		return tr, err
	}
	copied := time.Since(began)
	tr.Rows, tr.Bytes, tr.Checksum = tc.rows, tc.bytes, tc.checksum
	r.progress(Event{Phase: PhaseIndex, Worker: rd.id, Table: t.Name, Rows: tc.rows})
	testPause(PhaseIndex)
	began = time.Now()
	for _, stmt := range lp.keys[t.Name] {
		began := time.Now()
		if err := c.Exec(ctx, stmt); err != nil {
			return tr, fmt.Errorf("migrate db: restore constraint (%s): %w", stmt, err)
		}
		r.log.WithField("seconds", fmt.Sprintf("%.3f", time.Since(began).Seconds())).Debug(stmt)
	}
	indexed := time.Since(began)
	if r.opts.beforeVerify != nil {
		if err := r.opts.beforeVerify(ctx, t.Name, c); err != nil {
			return tr, err
		}
	}
	r.progress(Event{Phase: PhaseVerify, Worker: rd.id, Table: t.Name})
	testPause(PhaseVerify)
	began = time.Now()
	n, sum, err := targetDigest(ctx, c, t, r.recordHash())
	if err != nil {
		return tr, err
	}
	if n != tc.rows || sum != tc.checksum {
		r.log.WithFields(logrus.Fields{"table": t.Name, "rows": n}).Info("the table's digests differ: comparing it row by row")
		if err := compareRows(ctx, rd, c, t); err != nil {
			return tr, err
		}
		// Equal row by row: the digests differed in how the client wrote
		// a jsonb text PostgreSQL normalizes (the comparison compares
		// canonical forms).
		r.log.WithField("table", t.Name).Warn("the table's digests differed but every row is equal: verified row by row")
	}
	tr.Verified = true
	verified := time.Since(began)
	r.progress(Event{Phase: PhaseVerify, Worker: rd.id, Table: t.Name, Rows: n, Done: true})
	if err := c.Commit(ctx); err != nil {
		return tr, fmt.Errorf("migrate db: commit %s into the staging schema: %w", t.Name, err)
	}
	r.log.WithFields(logrus.Fields{"table": t.Name, "copy": fmt.Sprintf("%.2f", copied.Seconds()),
		"index": fmt.Sprintf("%.2f", indexed.Seconds()), "verify": fmt.Sprintf("%.2f", verified.Seconds())}).Debug("table phases")
	return tr, nil
}

// foreignKeys adds the foreign keys NOT VALID and resets the sequences in
// one transaction, then validates each key, on as many connections as
// there are workers: a row that breaks one fails here, naming it.
func (r *run) foreignKeys(ctx context.Context, tables []*table, lp *loadPlan) ([]string, error) {
	t := r.dst
	r.progress(Event{Phase: PhaseKeys})
	testPause(PhaseKeys)
	tx, err := t.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate db: target: begin: %w", err)
	}
	t.tx = tx
	defer func() {
		if t.tx != nil {
			_ = t.tx.Rollback()
			t.tx = nil
		}
	}()
	if _, err := tx.ExecContext(ctx, `SET LOCAL search_path = `+quoteIdent(stagingSchema)); err != nil {
		return nil, fmt.Errorf("migrate db: target: %w", err)
	}
	for _, fk := range lp.fks {
		if _, err := tx.ExecContext(ctx, fk.addNotValid); err != nil {
			return nil, fmt.Errorf("migrate db: restore constraint (%s): %w", fk.add, err)
		}
	}
	var seqs []string
	for _, tb := range tables {
		s, err := t.resetSequences(ctx, tb)
		if err != nil {
			return nil, err
		}
		seqs = append(seqs, s...)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("migrate db: add foreign keys: %w", err)
	}
	t.tx = nil
	next := make(chan loadFK, len(lp.fks))
	for _, fk := range lp.fks {
		next <- fk
	}
	close(next)
	g, gctx := errgroup.WithContext(ctx)
	for range min(len(r.src.readers), len(lp.fks)) {
		g.Go(func() error {
			c, err := t.prov.Acquire(gctx)
			if err != nil {
				return fmt.Errorf("migrate db: target: %w", err)
			}
			defer c.Release()
			for fk := range next {
				began := time.Now()
				err := c.InTx(gctx, func() error {
					return c.Exec(gctx, `SET LOCAL search_path = `+quoteIdent(stagingSchema)+`; SET LOCAL synchronous_commit = off; `+fk.validate)
				})
				if err != nil {
					return fmt.Errorf("migrate db: restore constraint (%s): %w", fk.add, err)
				}
				r.log.WithField("seconds", fmt.Sprintf("%.3f", time.Since(began).Seconds())).Debug(fk.validate)
			}
			return nil
		})
	}
	return seqs, g.Wait()
}

// switchIn moves the staged tables into the target schema in one
// transaction, in place of the target's empty (or --drop-all) Podium
// tables.
func (r *run) switchIn(ctx context.Context, names []string) error {
	t := r.dst
	r.progress(Event{Phase: PhaseSwitch})
	tx, err := t.conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate db: target: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := t.inspect(ctx, tx, names, true)
	if err != nil {
		return err
	}
	if len(st.NonEmpty) > 0 && !r.opts.DropAll {
		return podium.Errorf(podium.EREFUSED,
			"migrate db: while the copy ran, rows were written to the target's Podium tables (%s): is a node running on %s? Stop it, then run this command again",
			strings.Join(st.NonEmpty, ", "), t.describe)
	}
	var old []string
	if st.HasGoose {
		old = append(old, versionTable)
	}
	old = append(old, st.Existing...)
	if len(old) > 0 {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+quoteList(old)); err != nil {
			return fmt.Errorf("migrate db: replace the target's Podium tables (%s): %w", strings.Join(old, ", "), err)
		}
	}
	target := quoteIdent(t.schema)
	staging := quoteIdent(stagingSchema)
	funcs, err := queryStrings(ctx, tx, `SELECT quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
		FROM pg_proc p WHERE p.pronamespace = $1::regnamespace ORDER BY 1`, stagingSchema)
	if err != nil {
		return fmt.Errorf("migrate db: staged functions: %w", err)
	}
	for _, f := range funcs {
		if _, err := tx.ExecContext(ctx, `DROP FUNCTION IF EXISTS `+target+`.`+f); err != nil {
			return fmt.Errorf("migrate db: replace the target's function %s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER FUNCTION `+staging+`.`+f+` SET SCHEMA `+target); err != nil {
			return fmt.Errorf("migrate db: move function %s into place: %w", f, err)
		}
	}
	staged, err := queryStrings(ctx, tx, `SELECT quote_ident(relname) FROM pg_class
		WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') ORDER BY 1`, stagingSchema)
	if err != nil {
		return fmt.Errorf("migrate db: staged tables: %w", err)
	}
	for _, tb := range staged {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+staging+`.`+tb+` SET SCHEMA `+target); err != nil {
			return fmt.Errorf("migrate db: move table %s into place: %w", tb, err)
		}
	}
	// Anything else in the staging schema would be lost: refuse it.
	if _, err := tx.ExecContext(ctx, `DROP SCHEMA `+staging); err != nil {
		return fmt.Errorf("migrate db: drop the staging schema after the switch: %w", err)
	}
	// What goose's trigger would have sent: nodes waiting for a schema
	// learn of it at the commit.
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify('podium_schema', $1)`, fmt.Sprint(schema.Latest())); err != nil {
		return fmt.Errorf("migrate db: notify: %w", err)
	}
	testPause(PhaseSwitch)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate db: commit the switch: %w", err)
	}
	r.staged = false
	return nil
}

func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// failed removes the staging schema after a failure, and says what the
// failure means for the target and what to do.
func (r *run) failed(err error) error {
	if r.dst == nil || !r.staged {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left := ""
	if derr := r.dropStaging(ctx); derr != nil {
		r.log.WithError(derr).Debug("drop the staging schema")
		left = fmt.Sprintf(" The staging schema %s may remain: no node looks at it, and the next run removes it.", stagingSchema)
	}
	what := ""
	code, _ := postgres.SQLState(err)
	switch {
	case strings.HasPrefix(code, "53"):
		what = " The PostgreSQL server ran out of disk space (or memory) while loading: free space on the server " +
			"(the data takes about as much room as the SQLite file, and its indexes more), then run this command again."
	case code == "57P01" || code == "57P02" || code == "57P03",
		postgres.SafeToRetry(err), isConnLost(err):
		what = " The connection to PostgreSQL was lost (was the server restarted?): run this command again once it is up."
	case podium.ErrorCode(err) == podium.EREFUSED:
	default:
		what = " Correct the cause, then run this command again."
	}
	msg := fmt.Sprintf("%s. The target %s was left as it was: nothing was switched in.%s%s",
		strings.TrimSuffix(err.Error(), "."), r.dst.describe, what, left)
	return &podium.Error{Code: podium.ErrorCode(err), Message: msg, Err: err}
}

// addBackend notes the server process of a worker's connection.
func (r *run) addBackend(pid uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backends = append(r.backends, int32(pid))
}

// dropStaging removes the staging schema after a failure. A worker whose
// statement was canceled may still hold its table's lock on the server
// for a moment, so the workers' server processes are ended first (ours:
// the run holds the migration lock, no other run uses this schema).
func (r *run) dropStaging(ctx context.Context) error {
	r.mu.Lock()
	pids := slices.Clone(r.backends)
	r.mu.Unlock()
	drop := func(q querier) error {
		if len(pids) > 0 {
			if _, err := q.ExecContext(ctx, `SELECT pg_terminate_backend(p, 5000) FROM unnest($1::int[]) p WHERE p <> pg_backend_pid()`, pids); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(stagingSchema)+` CASCADE`)
		if err == nil {
			return nil
		}
		// On a full disk even the catalog changes of dropping a schema
		// may find no room: drop its tables one at a time, largest first,
		// each freeing its space when it commits, then the rest.
		tables, lerr := queryStrings(ctx, q, `SELECT quote_ident(relname) FROM pg_class
			WHERE relnamespace = $1::regnamespace AND relkind = 'r' ORDER BY pg_total_relation_size(oid) DESC`, stagingSchema)
		if lerr != nil {
			return errors.Join(err, lerr)
		}
		for _, tb := range tables {
			_, _ = q.ExecContext(ctx, `DROP TABLE IF EXISTS `+quoteIdent(stagingSchema)+`.`+tb+` CASCADE`)
		}
		_, err = q.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(stagingSchema)+` CASCADE`)
		return err
	}
	err := drop(r.dst.conn)
	if err == nil {
		return nil
	}
	// The run's own connection broke (a server restart): a new one.
	c, cerr := r.dst.prov.SQLConn(ctx)
	if cerr != nil {
		return errors.Join(err, cerr)
	}
	defer c.Close()
	if err2 := drop(c); err2 != nil {
		return errors.Join(err, err2)
	}
	return nil
}

// isConnLost reports an error of a connection that broke under the
// command (the server went away).
func isConnLost(err error) bool {
	if _, ok := postgres.SQLState(err); ok {
		return false
	}
	s := err.Error()
	for _, m := range []string{"conn closed", "unexpected EOF", "connection reset", "broken pipe", "connection refused", "server closed", "failed to connect"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
