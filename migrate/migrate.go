package migrate

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// Options configure Run.
type Options struct {
	// SQLiteDir is [Database] Dir: the folder of the source podium.db.
	SQLiteDir string
	// PostgresURL is the target, password included.
	PostgresURL podium.Secret
	// DropAll allows a target that already holds Podium data: its Podium
	// tables are emptied in the copy's transaction.
	DropAll bool
	// ConfirmDropAll, when set, is asked before a target holding data is
	// emptied (an interactive terminal); false refuses. Not asked in a dry
	// run or when the target holds no data.
	ConfirmDropAll func(tables []string) (bool, error)
	// DryRun performs every check and reads the whole source, converting
	// and hashing every value, but writes nothing anywhere.
	DryRun bool
	// Check is the preflight ("--check"): it reads the source without its
	// lock (a node may be serving from it) and never writes to either
	// side; it lists every value the real run would refuse and the
	// target's readiness in Result.Check instead of stopping at the
	// first problem.
	Check bool
	// Log receives the run's log lines; nil discards them.
	Log *logrus.Entry
	// Progress, when set, is called as rows are read, copied and verified,
	// from the goroutine doing the work, one call at a time: it must be quick.
	Progress func(Event)
	// Workers is the number of tables loaded at once, each by its own
	// pipeline (SQLite connection, converter, PostgreSQL connection and
	// transaction); 0 picks defaultWorkers.
	Workers int
	// beforeVerify is a test hook run in a table's transaction after its
	// copy and index builds, before its verification.
	beforeVerify func(ctx context.Context, table string, c *postgres.Conn) error
	// md5Digest: verify with the MD5 digest even on a server that has
	// hash_record_extended (tests of the older servers' path).
	md5Digest bool
}

// Phases of a run, in Event.Phase.
const (
	PhasePlan   = "plan"   // Total and Tables are known
	PhaseRead   = "read"   // dry run, check: rows read, converted and hashed
	PhaseCopy   = "copy"   // rows sent with COPY
	PhaseIndex  = "index"  // the table's keys and indexes being built
	PhaseVerify = "verify" // the table's digest computed by PostgreSQL
	PhaseKeys   = "keys"   // foreign keys checked, once every table is in
	PhaseSwitch = "switch" // the staged tables moved into place
)

// Event reports progress.
type Event struct {
	Phase string
	// Worker is the pipeline (from 1) doing it; 0 for the whole run's
	// phases (plan, keys, switch).
	Worker int
	// Table is the table being worked on ("" for PhasePlan).
	Table string
	// Rows is the number of rows of Table done so far in this phase.
	Rows int64
	// Bytes is the payload read so far (PhaseRead only).
	Bytes int64
	// Done is set on the last event of a table in a phase.
	Done bool
	// Plan is set for PhasePlan: every table with its row count, in copy
	// order.
	Plan []TablePlan
}

// TablePlan is a table to copy with its row count in the snapshot.
type TablePlan struct {
	Name string
	Rows int64
}

// TableResult is one copied (or, in a dry run, read) table.
type TableResult struct {
	Name     string  `json:"table"`
	Rows     int64   `json:"rows"`
	Bytes    int64   `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	Verified bool    `json:"verified"`
	// Checksum is the table's digest (digest.go: the sum of the rows'
	// hashes), computed by the client from what it sent and by PostgreSQL
	// from what it stored, equal when Verified.
	Checksum string `json:"checksum"`
}

// Result is what Run did.
type Result struct {
	DryRun bool   `json:"dry_run"`
	Source string `json:"source"`
	Target string `json:"target"`
	// SchemaVersion is the schema version of the copy (both sides).
	SchemaVersion int64 `json:"schema_version"`
	// SourceUpgradedFrom is the source's version before it was brought up
	// to date (0: it was current). In a dry run, the upgrade a real run
	// would make.
	SourceUpgradedFrom int64 `json:"source_upgraded_from,omitempty"`
	// TargetVersionBefore is the target's schema version before the run.
	TargetVersionBefore int64 `json:"target_version_before"`
	// AppliedMigrations are the target migrations applied (would apply).
	AppliedMigrations []int64 `json:"applied_migrations"`
	// Emptied lists the target tables that held data and were emptied
	// (--drop-all).
	Emptied []string `json:"emptied,omitempty"`
	// Sequences lists the reset sequences as table.column=next.
	Sequences []string      `json:"sequences,omitempty"`
	Tables    []TableResult `json:"tables"`
	Rows      int64         `json:"rows"`
	Bytes     int64         `json:"bytes"`
	Seconds   float64       `json:"seconds"`
	// Workers is the number of tables loaded (or read) at once.
	Workers int `json:"workers"`
	// Check is the preflight's report (Options.Check).
	Check *CheckReport `json:"check,omitempty"`
}

type run struct {
	opts Options
	log  *logrus.Entry
	src  *source
	dst  *target
	// check collects refused values instead of stopping (--check).
	check *checkState
	// staged: the staging schema may exist, and a failure removes it.
	staged bool
	// backends are the server processes of the workers' connections.
	mu       sync.Mutex
	backends []int32
	// progressMu serializes Options.Progress: workers report at once,
	// and callers write plain state from it.
	progressMu sync.Mutex
}

// recordHash: the tables' digests are sums of the rows' column hashes
// (digest.go).
func (r *run) recordHash() bool {
	return r.dst != nil && r.dst.recordHash && !r.opts.md5Digest
}

// progress hands e to Options.Progress, one call at a time.
func (r *run) progress(e Event) {
	if r.opts.Progress != nil {
		r.progressMu.Lock()
		defer r.progressMu.Unlock()
		r.opts.Progress(e)
	}
}

// Run copies every row of the SQLite database to PostgreSQL, as described
// in the package documentation.
//
// Returns EREFUSED, with nothing written, when a node holds the SQLite
// database, when the source is not a Podium database or its schema is
// newer than this binary, when the target is not PostgreSQL, is newer
// than this binary, or holds Podium data without DropAll (or ConfirmDropAll
// said no), and when a value cannot be stored unchanged in PostgreSQL (the
// message names the table, key and column). Returns EINVALID when either
// side is not configured, and EUNAVAILABLE when PostgreSQL cannot be
// reached. Any other failure, including a verification mismatch, rolls the
// target back.
func Run(ctx context.Context, opts Options) (*Result, error) {
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		log = logrus.NewEntry(l)
	}
	log = log.WithField("component", "migrate-db")
	start := time.Now()
	defer startCPUProfile()()
	// The copy allocates every value it reads (the SQLite driver's strings)
	// but keeps only a few batches alive: with the default GOGC the
	// collector runs every few MB, a tenth of the CPU the copy needs. Its
	// live heap is bounded, so a higher target bounds memory too (about
	// 55 MB of RSS on the benchmark instead of 40); the setting is put back
	// on return.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	if opts.PostgresURL == "" {
		return nil, podium.Errorf(podium.EINVALID,
			"migrate db: [Postgres] URL is not set: it names the PostgreSQL database to copy into (set it, and PODIUM_POSTGRES_PASSWORD)")
	}
	if err := checkPostgresURL(opts.PostgresURL.Reveal()); err != nil {
		return nil, err
	}
	if opts.Check {
		return runCheck(ctx, opts, log)
	}
	src, err := openSource(ctx, opts.SQLiteDir, opts.DryRun, log)
	if err != nil {
		return nil, err
	}
	defer src.close()
	dst, err := openTargetConns(ctx, opts.PostgresURL, maxWorkers+2)
	if err != nil {
		return nil, err
	}
	// Cleanups must run even when ctx is canceled: they are what keeps
	// the target as it was.
	defer dst.close()
	dst.log = log
	r := &run{opts: opts, log: log, src: src, dst: dst}
	res, err := r.run(ctx)
	if err != nil {
		return nil, r.failed(err)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// plan describes the tables to copy from the target's catalog (created in
// this transaction) and checks that both sides have the same tables and
// columns: the migrations of the two dialects are meant to be identical.
// With older, for a source whose schema is behind the target's (a check or
// dry run that does not upgrade it), each table keeps only the columns the
// source has instead: the real run first brings the source up to date, and
// the columns that adds hold defaults.
func (r *run) plan(ctx context.Context, names []string, older bool) ([]*table, error) {
	desc, err := r.dst.describeTables(ctx, names)
	if err != nil {
		return nil, err
	}
	var tables []*table
	for _, n := range names {
		t, ok := desc[n]
		if !ok {
			return nil, podium.Errorf(podium.EINTERNAL,
				"migrate db: the SQLite table %s has no counterpart in the PostgreSQL schema (version %d): the two sets of migrations differ", n, schema.Latest())
		}
		cols, err := r.src.columns(ctx, n)
		if err != nil {
			return nil, err
		}
		if older {
			tables = append(tables, t.restrict(cols))
			continue
		}
		if err := sameColumns(t, cols); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	others, err := r.dst.otherTables(ctx, names)
	if err != nil {
		return nil, err
	}
	if len(others) > 0 {
		r.log.WithField("tables", strings.Join(others, ",")).Warn("target tables with no SQLite counterpart are left as they are")
	}
	return tables, nil
}

func sameColumns(t *table, srcCols []string) error {
	tgt := t.columnNames()
	a, b := slices.Clone(tgt), slices.Clone(srcCols)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return podium.Errorf(podium.EINTERNAL,
			"migrate db: table %s has columns (%s) in SQLite but (%s) in PostgreSQL: the two sets of migrations differ",
			t.Name, strings.Join(srcCols, ", "), strings.Join(tgt, ", "))
	}
	return nil
}

// dryRunTables describes the source tables for a dry run, which creates
// nothing in the target: each column's kind comes from its SQLite
// declared type, mapped as the migrations map them.
func (r *run) dryRunTables(ctx context.Context, names []string) ([]*table, error) {
	var out []*table
	for _, n := range names {
		rows, err := r.src.tx.QueryContext(ctx, `SELECT name, upper(type), pk FROM pragma_table_info(?) ORDER BY cid`, n)
		if err != nil {
			return nil, fmt.Errorf("migrate db: source columns of %s: %w", n, err)
		}
		t := &table{Name: n}
		type pk struct{ pos, idx int }
		var pks []pk
		for rows.Next() {
			var name, typ string
			var pos int
			if err := rows.Scan(&name, &typ, &pos); err != nil {
				rows.Close()
				return nil, err
			}
			c := column{Name: name, TypeName: strings.ToLower(typ)}
			switch {
			case typ == "BOOLEAN":
				c.kind, c.TypeName = kindBool, "boolean"
			case strings.Contains(typ, "INT"):
				c.kind, c.TypeName = kindInt8, "bigint"
			case typ == "TIMESTAMP" || typ == "DATETIME":
				c.kind, c.TypeName = kindTimestamptz, "timestamptz"
			case typ == "BLOB":
				c.kind, c.TypeName = kindBytea, "bytea"
			case typ == "REAL" || typ == "DOUBLE" || typ == "FLOAT":
				c.kind, c.TypeName = kindFloat8, "double precision"
			default:
				c.kind, c.TypeName = kindText, "text"
			}
			t.Columns = append(t.Columns, c)
			if pos > 0 {
				pks = append(pks, pk{pos, len(t.Columns) - 1})
			}
		}
		rows.Close()
		slices.SortFunc(pks, func(a, b pk) int { return a.pos - b.pos })
		for _, p := range pks {
			t.PK = append(t.PK, p.idx)
		}
		if len(t.PK) == 0 {
			for i := range t.Columns {
				t.PK = append(t.PK, i)
			}
		}
		fk, err := r.src.tx.QueryContext(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n)
		if err != nil {
			return nil, err
		}
		for fk.Next() {
			var ref string
			if err := fk.Scan(&ref); err != nil {
				fk.Close()
				return nil, err
			}
			t.Refs = append(t.Refs, ref)
		}
		fk.Close()
		out = append(out, t)
	}
	return out, nil
}

// discardChunk is a dry run's COPY stream: every chunk is dropped.
func discardChunk(c *chunk) *chunk {
	if c == nil {
		return &chunk{buf: make([]byte, 0, chunkBytes+64<<10)}
	}
	return c
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
