// Package schema owns Podium's database schema: goose migrations embedded
// in the binary, one folder per dialect with identical version numbers,
// each marked expand or contract ([Class]); the database's compatibility
// floor ([Floor]); the start-up check that refuses a database whose floor
// is above the binary, the watcher that notices it while a node runs, and
// the rolling-upgrade rule (expand migrations beside live nodes, contract
// ones at [Finalize]).
//
// goose never says "the database is newer than this binary" (with an old
// binary on a newer database, Up is a silent no-op), so every entry point
// here compares the versions itself.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/sirupsen/logrus"
)

// LockID is the lock that serializes migrations across nodes:
// dbprovider.MigrationLockID, pinned.
const LockID = dbprovider.MigrationLockID

// NotifyChannel is the PostgreSQL channel on which a trigger on goose's
// version table announces each applied migration (see 00001_core.sql).
const NotifyChannel = "podium_schema"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var embedded embed.FS

// extra holds migrations added by build tags (the upgrade rehearsal builds a
// binary with one more migration); keyed by dialect folder name.
var extra = map[string]fs.FS{}

// Migrations returns the migration files of a goose dialect
// ([dbprovider.Provider.GooseDialect]: goose.DialectSQLite3 or
// goose.DialectPostgres) at the root of an fs.FS, as goose wants them.
func Migrations(gooseDialect string) (fs.FS, error) {
	dir := folder(gooseDialect)
	base, err := fs.Sub(embedded, "migrations/"+dir)
	if err != nil {
		return nil, err
	}
	if x, ok := extra[dir]; ok {
		return overlay{base, x}, nil
	}
	return base, nil
}

// folder is the migrations' folder of a goose dialect, named as the
// provider names its dialect.
func folder(gooseDialect string) string {
	if gooseDialect == string(goose.DialectSQLite3) {
		return dbprovider.SQLite
	}
	return dbprovider.Postgres
}

// Versions returns the sorted migration versions of a goose dialect: the
// versions of [List].
func Versions(gooseDialect string) ([]int64, error) {
	ms, err := List(gooseDialect)
	if err != nil {
		return nil, err
	}
	return versionsOf(ms), nil
}

func versionsOf(ms []Migration) []int64 {
	var vs []int64
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

// Latest returns the highest schema version this binary knows.
func Latest() int64 {
	vs, err := Versions(string(goose.DialectPostgres))
	if err != nil || len(vs) == 0 {
		panic(fmt.Sprintf("schema: embedded migrations unreadable: %v", err))
	}
	return vs[len(vs)-1]
}

// NewerError is the refusal for a database whose schema is newer than the
// binary: exit code 3.
func NewerError(dbVersion, binVersion int64) *podium.Error {
	return podium.Errorf(podium.ESCHEMA,
		"database schema version %d is newer than this binary (%d): upgrade this node", dbVersion, binVersion)
}

// Check returns the database's schema version, and ESCHEMA when the
// database no longer supports this binary: its compatibility floor
// ([Floor]) is above the binary's schema. A database whose schema is newer
// than the binary but whose floor is not (a rolling upgrade in progress)
// passes. It takes no lock.
func Check(ctx context.Context, p dbprovider.Provider) (int64, error) {
	floor, v, err := Floor(ctx, p)
	if err != nil {
		return v, err
	}
	if latest := Latest(); floor > latest {
		return v, NewerError(max(v, floor), latest)
	}
	return v, nil
}

// Options configure NewGoose.
type Options struct {
	// LockPeriod is how often a waiting node retries the advisory lock
	// (PostgreSQL only; at least 1s, goose's minimum).
	LockPeriod time.Duration
	// LockTimeout bounds the wait for the lock (default 5 minutes).
	LockTimeout time.Duration
	// Self is the migrating node's id, left out when Up looks for other
	// live nodes ("" for a command).
	Self string
	// NodeTimeout decides which registered nodes count as live (default
	// 30s, the [HA] NodeTimeout default).
	NodeTimeout time.Duration
	// Progress, when set, receives each step of a long upgrade (the
	// node's /__ping__ shows it); the log gets progress lines anyway.
	Progress func(Progress)
	// ReportDir is where a refused upgrade writes its full list of rows
	// (default: the SQLite database's folder).
	ReportDir string
	// DDLLockTimeout is the lock_timeout of every migration statement on
	// PostgreSQL ([Database] MigrationLockTimeout, default
	// DefaultDDLLockTimeout): a statement that waits longer for a lock
	// gives up, so that requests queued behind its lock request wait at
	// most this long, and the migration is tried again after a backoff.
	DDLLockTimeout time.Duration
	// DDLRetryFor bounds how long a migration keeps trying again after
	// giving up on a lock (default DefaultDDLRetryFor).
	DDLRetryFor time.Duration
}

func (o Options) ddlLockTimeout() time.Duration {
	if o.DDLLockTimeout > 0 {
		return o.DDLLockTimeout
	}
	return DefaultDDLLockTimeout
}

func (o Options) ddlRetryFor() time.Duration {
	if o.DDLRetryFor > 0 {
		return o.DDLRetryFor
	}
	return DefaultDDLRetryFor
}

// Goose is a goose provider on a Podium database. Its Close releases what
// NewGoose opened, and never the node's own SQLite writer.
type Goose struct {
	*goose.Provider
	owned bool
	db    *sql.DB
	fsys  fs.FS
}

// Close closes the dedicated handle NewGoose opened, if any.
func (g *Goose) Close() error {
	if !g.owned {
		return nil
	}
	return g.Provider.Close()
}

// NewGoose returns a goose provider for p's database, on the handle
// p.MigrationDB gives (on PostgreSQL a dedicated one, closed by Close; on
// SQLite the single writer, which callers already hold exclusively through
// the lock file). Where several nodes may share the database
// (SupportsHA), migrations run under the pinned advisory lock. Close it
// when done.
func NewGoose(p dbprovider.Provider, opts Options) (*Goose, error) {
	fsys, err := Migrations(p.GooseDialect())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	// Out of order: a rolling upgrade defers contract migrations and
	// applies later expand ones, so finalize applies versions below the
	// highest applied one.
	gopts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true)}
	if p.SupportsHA() {
		period := max(opts.LockPeriod, time.Second)
		timeout := opts.LockTimeout
		if timeout == 0 {
			timeout = 5 * time.Minute
		}
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(LockID),
			lock.WithLockTimeout(uint64(period/time.Second), uint64(max(timeout/period, 1))),
		)
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		gopts = append(gopts, goose.WithSessionLocker(ddlLocker{SessionLocker: locker, p: p, timeout: opts.ddlLockTimeout()}))
	}
	db, owned, err := p.MigrationDB()
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	gp, err := goose.NewProvider(goose.Dialect(p.GooseDialect()), db, fsys, gopts...)
	if err != nil {
		if owned {
			_ = db.Close()
		}
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &Goose{Provider: gp, owned: owned, db: db, fsys: fsys}, nil
}

// Result is one applied migration.
type Result struct {
	Version  int64
	Name     string
	Duration time.Duration
}

// Migrated is what Up did: the migrations it applied (also those before a
// failure), the contract migrations it deferred, and the database's
// version afterwards.
type Migrated struct {
	Applied  []Result
	Deferred []Migration
	Version  int64
	// Floor is the database's compatibility floor afterwards.
	Floor int64
}

// Up brings the database to this binary's schema. It refuses (ESCHEMA) a
// database whose floor is above this binary, and logs each migration with
// its duration. On PostgreSQL, simultaneous callers wait for each other on
// the advisory lock and apply each migration exactly once.
//
// The rolling-upgrade rule: while other nodes are live on the database
// (registered, not stopped, heartbeat younger than opts.NodeTimeout), Up
// applies only the expand migrations and defers the others (contract or
// unmarked) to [Finalize], leaving the floor where it is so that the older
// nodes keep serving. A node alone on the database (single node, SQLite,
// or the stop-all procedure) applies everything and raises the floor to
// its own schema.
func Up(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, opts Options) (Migrated, error) {
	before, err := Check(ctx, p)
	if err != nil {
		return Migrated{}, err
	}
	pending, err := PendingMigrations(ctx, p)
	if err != nil {
		return Migrated{}, err
	}
	pr := newProgress(log, opts.Progress)
	var parity []Result // 00035, when applied by upgradeSQLite
	if !p.EnforcesColumnTypes() && len(pending) > 0 {
		if err := checkDisk(p, pr); err != nil {
			return Migrated{}, err
		}
		if before > 0 && before < ParityVersion {
			// The parity migration would stop at the first row its new
			// constraints refuse, naming none, and redo every table after
			// a kill: check every row first (refusing values users
			// entered, changing nothing), clean Podium's own data, then
			// rebuild table by table (upgrade.go).
			if parity, err = upgradeSQLite(ctx, p, log, opts, pr, before); err != nil {
				return Migrated{Applied: parity}, err
			}
			if pending, err = PendingMigrations(ctx, p); err != nil {
				return Migrated{}, err
			}
		}
	}
	// Looked up even with nothing pending: only a node alone may raise the
	// floor (a second new node of an expand-only upgrade must not retire
	// the old nodes).
	var others []*podium.Node
	if p.SupportsHA() {
		if others, err = otherLiveNodes(ctx, p, opts.Self, opts.NodeTimeout); err != nil {
			return Migrated{}, err
		}
	}
	out := Migrated{Applied: parity}
	if len(others) > 0 {
		if err := CanRoll(pending); err != nil {
			return out, podium.Errorf(podium.EREFUSED, "%s; %d other node(s) are live: %s. Stop every node, then start "+
				"one node with this binary (it migrates), then the others (docs/upgrading.md)", err, len(others), describeNodes(others))
		}
	}
	if err := holdRetention(ctx, p, before, log); err != nil {
		return out, err
	}
	if len(pending) > 0 {
		if len(others) == 0 {
			stop := pr.during(Progress{Phase: PhaseMigrate, Migration: strings.Join(migrationNames(pending), ", ")}, 0)
			var m Migrated
			m, err = apply(ctx, p, log, opts, true, nil)
			stop()
			out.Applied = append(out.Applied, m.Applied...)
		} else {
			var expand []int64
			for _, m := range pending {
				if m.Deferrable() {
					out.Deferred = append(out.Deferred, m)
				} else {
					expand = append(expand, m.Version)
				}
			}
			if len(out.Deferred) > 0 {
				fields := logrus.Fields{"deferred": migrationNames(out.Deferred), "live_nodes": len(others)}
				first := announceDeferral(ctx, p, out.Deferred)
				switch {
				case log == nil:
				case first:
					log.WithFields(fields).Warn("other nodes are live: deferring the contract migrations to \"podium migrate schema finalize\"")
				default:
					log.WithFields(fields).Info("contract migrations still deferred to \"podium migrate schema finalize\" (announced by the first node of this upgrade)")
				}
			}
			// Record the floor before the schema version moves past it.
			if len(expand) > 0 {
				if err := initFloor(ctx, p, before); err != nil {
					return out, err
				}
			}
			var m Migrated
			m, err = apply(ctx, p, log, opts, false, expand)
			out.Applied = m.Applied
		}
		if err != nil {
			return out, err
		}
	}
	if len(others) == 0 {
		// Alone: nothing was deferred, and no older node can be left.
		if _, err := raiseFloor(ctx, p, Latest()); err != nil {
			return out, err
		}
	}
	// Another binary may have migrated past us, or raised the floor, while
	// we waited for the lock.
	v, err := Check(ctx, p)
	out.Version = v
	if err != nil {
		return out, err
	}
	if out.Floor, _, err = Floor(ctx, p); err != nil {
		return out, err
	}
	return out, nil
}

// apply runs migrations under the migration lock: every pending one when
// all (goose Up, out of order allowed), else exactly versions, in order
// (each under the lock; one already applied by another node meanwhile is
// skipped).
func apply(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, opts Options, all bool, versions []int64) (Migrated, error) {
	if !all && len(versions) == 0 {
		return Migrated{}, nil
	}
	gp, err := NewGoose(p, opts)
	if err != nil {
		return Migrated{}, err
	}
	defer gp.Close()
	started := time.Now()
	var res []*goose.MigrationResult
	// run is one attempt; on PostgreSQL a migration that gave up on a lock
	// (lock_timeout) is tried again by retryYield, after dropping what a
	// failed CREATE INDEX CONCURRENTLY left behind.
	run := func(try func() ([]*goose.MigrationResult, error)) error {
		once := func() error {
			r, err := try()
			res = append(res, r...)
			var pe *goose.PartialError
			if errors.As(err, &pe) {
				res = append(res, pe.Applied...)
			}
			return err
		}
		if !p.SupportsHA() {
			return once()
		}
		var failed string
		return retryYield(ctx, p, log, func() string { return failed }, opts.ddlLockTimeout(), opts.ddlRetryFor(), func() error {
			err := once()
			var pe *goose.PartialError
			if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
				failed = baseName(pe.Failed.Source.Path)
			}
			return err
		}, func(ctx context.Context) error {
			if failed == "" {
				return nil
			}
			names, err := concurrentIndexes(gp.fsys, failed)
			if err != nil {
				return err
			}
			return p.DropInvalidIndexes(ctx, gp.db, names)
		})
	}
	if all {
		err = run(func() ([]*goose.MigrationResult, error) { return gp.Up(ctx) })
	} else {
		for _, v := range versions {
			err = run(func() ([]*goose.MigrationResult, error) {
				r, err := gp.ApplyVersion(ctx, v, true)
				if errors.Is(err, goose.ErrAlreadyApplied) {
					return nil, nil
				}
				if r != nil {
					return []*goose.MigrationResult{r}, err
				}
				return nil, err
			})
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		// A migration that failed half-way may leave the migration handle
		// unusable (SQLite: a NO TRANSACTION migration's transaction open,
		// foreign keys off): the provider puts it back.
		if rerr := p.MigrationRecover(context.WithoutCancel(ctx)); rerr != nil && log != nil {
			log.WithError(rerr).Warn("after the failed migration, the database connection could not be restored")
		}
	}
	var out []Result
	for _, r := range res {
		if r.Source == nil {
			continue
		}
		out = append(out, Result{Version: r.Source.Version, Name: baseName(r.Source.Path), Duration: r.Duration})
		if log != nil {
			log.WithFields(logrus.Fields{"version": r.Source.Version, "migration": baseName(r.Source.Path),
				"duration": r.Duration.Round(time.Microsecond).String()}).Info("applied migration")
		}
	}
	if err != nil {
		// Name the failing migration: goose's own message gives its version
		// only.
		var pe *goose.PartialError
		if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
			return Migrated{Applied: out}, fmt.Errorf("schema: migrate: %s failed: %w%s", baseName(pe.Failed.Source.Path), pe.Err, yieldHint(p, err, opts))
		}
		return Migrated{Applied: out}, fmt.Errorf("schema: migrate: %w%s", err, yieldHint(p, err, opts))
	}
	if log != nil && len(out) > 0 {
		log.WithFields(logrus.Fields{"migrations": len(out),
			"duration": time.Since(started).Round(time.Millisecond).String()}).Info("schema migrated")
	}
	return Migrated{Applied: out}, nil
}

func migrationNames(ms []Migration) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// Pending returns the versions of the migrations this binary would apply,
// without taking any lock: the versions of [PendingMigrations].
func Pending(ctx context.Context, p dbprovider.Provider) ([]int64, error) {
	ms, err := PendingMigrations(ctx, p)
	if err != nil {
		return nil, err
	}
	return versionsOf(ms), nil
}

// overlay is an fs.FS that reads from a, then b (for build-tagged extra
// migrations).
type overlay struct{ a, b fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if f, err := o.a.Open(name); err == nil {
		return f, nil
	}
	return o.b.Open(name)
}

func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	ea, err := fs.ReadDir(o.a, name)
	if err != nil {
		return nil, err
	}
	eb, err := fs.ReadDir(o.b, name)
	if err != nil {
		return ea, nil
	}
	all := append(ea, eb...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name() < all[j].Name() })
	return all, nil
}
