// Package sqlite is the embedded SQLite provider: one file on local disk,
// serving exactly one node.
//
// A node (and every command that needs the database to itself) holds an
// exclusive flock on a lock file beside the database for as long as it runs;
// a second one is refused with the holder's host and pid. Short
// administrative commands open the same file without the lock: WAL mode
// lets them write beside a running node.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlstore"
	msqlite "modernc.org/sqlite" // also registers the "sqlite" database/sql driver
)

// FileName is the database file's name inside [Database] Dir.
const FileName = "podium.db"

// LockName is the lock file's name inside [Database] Dir.
const LockName = "podium.db.lock"

// Options configure Open.
type Options struct {
	// Dir is the folder of the database file; created if missing.
	Dir string
	// Exclusive takes the database lock (serve, migrate db, migrate schema
	// up). Without it, the database must already exist.
	Exclusive bool
	// Purpose is recorded in the lock file ("serve", "migrate db", ...) so
	// that a refused process can say who holds the database.
	Purpose string
	// ReadOnly opens only readers (no writes possible), for commands that
	// must not modify the file, such as migrate db reading its source.
	ReadOnly bool
}

// Provider is an open SQLite database.
type Provider struct {
	*sqlstore.Store
	path   string
	writer *sql.DB
	reader *sql.DB
	lock   *Lock
}

var _ dbprovider.Provider = (*Provider)(nil)

// Path returns the database file's path.
func (p *Provider) Path() string { return p.path }

// Open opens (and with Exclusive, creates) the database in opts.Dir.
//
// Returns EREFUSED when the folder is on a network filesystem, or when
// Exclusive is set and another process holds the lock.
func Open(ctx context.Context, opts Options) (*Provider, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if opts.Exclusive {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, podium.Errorf(podium.EINVALID, "sqlite: cannot create [Database] Dir %s: %w", dir, err)
		}
	}
	if err := refuseNetworkFS(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	p := &Provider{path: path}
	if opts.Exclusive {
		lock, err := AcquireLock(filepath.Join(dir, LockName), opts.Purpose)
		if err != nil {
			return nil, err
		}
		p.lock = lock
	} else if _, err := os.Stat(path); err != nil {
		return nil, podium.Errorf(podium.EREFUSED,
			"sqlite: no Podium database at %s: start the node once (podium serve) to create it, or check [Database] Dir", path)
	}
	if err := p.open(ctx, opts.ReadOnly); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// dsn builds a file: URI. Concatenation would break on '#', '?', '%' and
// spaces in the path, and without "file:" modernc ignores the URI keys.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// busy_timeout: wait for the other connection's write instead of
	// failing at once with SQLITE_BUSY.
	q.Add("_pragma", "busy_timeout(10000)")
	// foreign_keys: SQLite does not enforce REFERENCES unless asked, per
	// connection.
	q.Add("_pragma", "foreign_keys(1)")
	// synchronous=NORMAL is durable in WAL mode except for the last
	// transactions before a power loss, and much faster than FULL.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Store times as SQLite's text format (not Go's String(), which carries a
	// monotonic clock suffix); sqlstore passes every time in UTC.
	q.Set("_time_format", "sqlite")
	if readOnly {
		// query_only makes a stray write fail instead of taking the lock.
		q.Add("_pragma", "query_only(1)")
	} else {
		// Immediate transactions take the write lock at BEGIN: deferred ones
		// that read then write fail with SQLITE_BUSY_SNAPSHOT under
		// concurrency.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

func (p *Provider) open(ctx context.Context, readOnly bool) error {
	var err error
	if !readOnly {
		c, err := msqlite.NewConnector(dsn(p.path, false))
		if err != nil {
			return fmt.Errorf("sqlite: open %s: %w", p.path, err)
		}
		// Every write is checked for invalid UTF-8 (see utf8.go).
		p.writer = sql.OpenDB(utf8Connector{c})
		// One writer connection: SQLite has one writer at a time anyway, and
		// queueing in Go is cheaper than spinning on busy_timeout.
		p.writer.SetMaxOpenConns(1)
		p.writer.SetConnMaxIdleTime(0)
		// WAL lets readers run beside the writer, and lets administrative
		// commands write while a node runs. It is persistent in the file.
		if _, err := p.writer.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
			return fmt.Errorf("sqlite: open %s: %w", p.path, translate(err))
		}
	}
	p.reader, err = sql.Open("sqlite", dsn(p.path, true))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", p.path, err)
	}
	p.reader.SetMaxOpenConns(4)
	// Keep every reader open: database/sql keeps 2 idle by default, and
	// reopening a SQLite connection (pragmas, schema parse) on each burst of
	// reads cost the app proxy's access check a sixth of its CPU.
	p.reader.SetMaxIdleConns(4)
	if err := p.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", p.path, translate(err))
	}
	p.Store = &sqlstore.Store{R: p.reader, W: p.reader, D: dialect{}}
	if !readOnly {
		// The writer keeps the large, frequent statements prepared: modernc
		// keeps a prepared statement's compiled program, so a full batch of
		// usage rows is parsed once per connection, not once per batch.
		p.Store.W, p.Store.Prep = p.writer, sqlstore.NewStmts(p.writer)
	}
	return nil
}

// Name implements dbprovider.Provider.
func (p *Provider) Name() string { return dbprovider.SQLite }

// Describe implements dbprovider.Provider.
func (p *Provider) Describe() string { return p.path }

// SupportsHA implements dbprovider.Provider: a SQLite file serves one node.
func (p *Provider) SupportsHA() bool { return false }

// SupportsListenNotify implements dbprovider.Provider.
func (p *Provider) SupportsListenNotify() bool { return false }

// SupportsSkipLocked implements dbprovider.Provider: SQLite has no row
// locks; the single writer connection serializes claims.
func (p *Provider) SupportsSkipLocked() bool { return false }

// DB returns the handle that writes: the single writer connection (the
// reader pool when opened read-only). Not part of dbprovider.Provider,
// and no code outside dbprovider calls it (internal/importrules checks):
// callers use provider methods, tests look at the database with it.
func (p *Provider) DB() *sql.DB {
	if p.writer == nil {
		return p.reader
	}
	return p.writer
}

// ReadDB returns the read-only pool; like DB, for dbprovider and tests.
func (p *Provider) ReadDB() *sql.DB { return p.reader }

// Tables lists the database's tables by name, SQLite's own (sqlite_*)
// excepted: what "podium migrate db" checks a file against, and what its
// benchmark copies.
func (p *Provider) Tables(ctx context.Context) ([]string, error) {
	rows, err := p.reader.QueryContext(ctx,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tables: %w", translate(err))
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: tables: %w", translate(err))
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tables: %w", translate(err))
	}
	return names, nil
}

// SetReadConns sizes the read-only pool to n connections, every one kept
// open when idle (Open makes it 4): "podium migrate db" holds one
// ReadSnapshot per worker for the whole run, and reads beside them.
func (p *Provider) SetReadConns(n int) {
	p.reader.SetMaxOpenConns(n)
	p.reader.SetMaxIdleConns(n)
}

// ReadSnapshot holds a connection of the read-only pool with a read
// transaction open on it, its snapshot taken (a deferred transaction
// takes it at its first read, done here): what tx reads, and what conn
// reads while tx is open (conn.Raw, for reads straight from the driver),
// is the database as it was at that moment, whatever commits later (WAL
// mode). Snapshots taken while a WriteTx is open, which no commit can
// pass, all see the same state. The caller rolls tx back, then closes
// conn.
func (p *Provider) ReadSnapshot(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	conn, err := p.reader.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: read snapshot: %w", translate(err))
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("sqlite: read snapshot: %w", translate(err))
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		_ = tx.Rollback()
		_ = conn.Close()
		return nil, nil, fmt.Errorf("sqlite: read snapshot: %w", translate(err))
	}
	return conn, tx, nil
}

// WriteTx begins a transaction on the writer (BEGIN IMMEDIATE), for bulk
// fills of generated data (migratetest.FillTx, the migration benchmark's
// data set), which insert into many tables with SQL of their own, and for
// holding writers off: until it ends no other connection commits, as
// "podium migrate db" needs while its workers' ReadSnapshots start.
func (p *Provider) WriteTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := p.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", translate(err))
	}
	return tx, nil
}

// Checkpoint copies every page of the write-ahead log into the database
// file and empties the log (PRAGMA wal_checkpoint(TRUNCATE)), so that the
// file alone holds the whole database, e.g. before it is kept as a
// benchmark's source.
func (p *Provider) Checkpoint(ctx context.Context) error {
	if _, err := p.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", translate(err))
	}
	return nil
}

// EnforcesColumnTypes implements dbprovider.Provider: a declared type
// is an affinity, and a value of another type is stored as it is.
func (p *Provider) EnforcesColumnTypes() bool { return false }

// GooseDialect implements dbprovider.Provider.
func (p *Provider) GooseDialect() string { return "sqlite3" }

// MigrationDB implements dbprovider.Provider: the single writer, which
// the process holds exclusively through the lock file; never close it.
func (p *Provider) MigrationDB() (*sql.DB, bool, error) { return p.DB(), false, nil }

// MigrationRecover implements dbprovider.Provider: a NO TRANSACTION
// migration (00035 rebuilds tables with foreign keys off, since SQLite
// ignores PRAGMA foreign_keys inside a transaction) that failed half-way
// leaves its explicit transaction open and foreign keys off on the
// writer's one connection. ROLLBACK fails harmlessly when no transaction
// is open; foreign keys must be on again for every later write.
func (p *Provider) MigrationRecover(ctx context.Context) error {
	_, _ = p.DB().ExecContext(ctx, "ROLLBACK")
	if _, err := p.DB().ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		return translate(err)
	}
	return nil
}

// RehearsalMethod implements dbprovider.Provider: a rehearsal works on a
// copy of the file (Snapshot), so a node beside it keeps writing and
// nothing of the rehearsal touches the live database.
func (p *Provider) RehearsalMethod() string { return dbprovider.RehearseCopy }

// MigrationLockTryTx implements dbprovider.Provider: the process holds
// the database exclusively through the lock file, so no one else migrates.
func (p *Provider) MigrationLockTryTx(context.Context, *sql.Tx) (bool, error) { return true, nil }

// SessionID implements dbprovider.Provider: one connection writes, 0.
func (p *Provider) SessionID(context.Context, *sql.Tx) (int64, error) { return 0, nil }

// SessionWaitsOnLock implements dbprovider.Provider: never, since one
// connection writes (others wait in busy_timeout, not on a lock table).
func (p *Provider) SessionWaitsOnLock(context.Context, int64) (bool, error) { return false, nil }

// ConnectionLimit implements dbprovider.Provider: one process opens the
// file, there is no limit to report.
func (p *Provider) ConnectionLimit(context.Context) (max, reserved int, err error) { return 0, 0, nil }

// SetLockTimeout implements dbprovider.Provider: nothing to set (waits
// are busy_timeout's, set at open).
func (p *Provider) SetLockTimeout(context.Context, *sql.Conn, time.Duration) error { return nil }

// SetApplicationName implements dbprovider.Provider: SQLite lists no
// sessions to name them in.
func (p *Provider) SetApplicationName(context.Context, *sql.Conn, string) error { return nil }

// SetTxTimeouts implements dbprovider.Provider: nothing to set.
func (p *Provider) SetTxTimeouts(context.Context, *sql.Tx, time.Duration, time.Duration) error {
	return nil
}

// DropInvalidIndexes implements dbprovider.Provider: SQLite builds an
// index in a transaction, so none is ever left invalid.
func (p *Provider) DropInvalidIndexes(context.Context, *sql.DB, []string) error { return nil }

// ErrorDetail implements dbprovider.Provider: SQLite's errors carry only
// their text, so none is described.
func (p *Provider) ErrorDetail(error) (dbprovider.DBError, bool) { return dbprovider.DBError{}, false }

// SchemaVersionList implements dbprovider.Provider: none while goose's
// table does not exist (SchemaVersion 0).
func (p *Provider) SchemaVersionList(ctx context.Context) ([]int64, error) {
	if v, err := p.SchemaVersion(ctx); err != nil || v == 0 {
		return nil, err
	}
	return p.Store.SchemaVersionList(ctx)
}

// Snapshot implements dbprovider.Provider. VACUUM INTO writes a consistent
// snapshot of the live database to a new file, from a read transaction:
// a node beside us keeps writing. It runs on the writer: the readers'
// query_only pragma refuses VACUUM INTO, even though the live file is only
// read.
func (p *Provider) Snapshot(ctx context.Context, dir string) (dbprovider.Provider, error) {
	if _, err := p.DB().ExecContext(ctx, `VACUUM INTO ?`, filepath.Join(dir, FileName)); err != nil {
		return nil, fmt.Errorf("sqlite: copy %s: %w", p.path, translate(err))
	}
	cp, err := Open(ctx, Options{Dir: dir, Exclusive: true, Purpose: "snapshot"})
	if err != nil {
		return nil, fmt.Errorf("sqlite: open the copy: %w", err)
	}
	return cp, nil
}

// Begin implements dbprovider.Provider. The transaction runs on the writer
// (BEGIN IMMEDIATE), so it reads what it writes.
func (p *Provider) Begin(ctx context.Context) (dbprovider.Tx, error) {
	tx, err := p.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", translate(err))
	}
	return sqlstore.NewTx(tx, dialect{}), nil
}

// Ping implements dbprovider.Provider.
func (p *Provider) Ping(ctx context.Context) error {
	if err := p.reader.PingContext(ctx); err != nil {
		return podium.Errorf(podium.EUNAVAILABLE, "sqlite: %s: %w", p.path, err)
	}
	return nil
}

// Now implements dbprovider.Provider. SQLite runs in this process, so the
// database clock is this machine's clock.
func (p *Provider) Now(ctx context.Context) (time.Time, error) { return time.Now().UTC(), nil }

// SchemaVersion implements dbprovider.Provider. It asks sqlite_master first
// rather than matching the text of a "no such table" error.
func (p *Provider) SchemaVersion(ctx context.Context) (int64, error) {
	var n int
	err := p.reader.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", translate(err))
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := p.reader.QueryRowContext(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", translate(err))
	}
	return v.Int64, nil
}

// Listen implements dbprovider.Provider: not supported; callers poll.
func (p *Provider) Listen(ctx context.Context, channel string, fn func(string)) error {
	return podium.Errorf(podium.EUNSUPPORTED, "sqlite: LISTEN/NOTIFY is not supported")
}

// Notify implements dbprovider.Provider as a no-op.
func (p *Provider) Notify(ctx context.Context, channel, payload string) error { return nil }

// Close implements dbprovider.Provider. It closes the connections, then
// releases the lock.
func (p *Provider) Close() error {
	var errs []error
	if p.Store != nil && p.Store.Prep != nil {
		errs = append(errs, p.Store.Prep.Close())
	}
	if p.writer != nil {
		errs = append(errs, p.writer.Close())
	}
	if p.reader != nil {
		errs = append(errs, p.reader.Close())
	}
	if p.lock != nil {
		errs = append(errs, p.lock.Release())
		p.lock = nil
	}
	return errors.Join(errs...)
}

// dialect is SQLite's side of sqlstore.Dialect.
type dialect struct{}

// Now: SQLite's 'now' is evaluated once per statement; the format matches
// what _time_format=sqlite writes for UTC times, so text comparisons order
// correctly.
func (dialect) Now() string { return `strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')` }

func (dialect) Ago(param string) string {
	return `strftime('%Y-%m-%d %H:%M:%f+00:00', 'now', printf('-%.3f seconds', ` + param + ` / 1000.0))`
}

// SkipLocked: SQLite has no row locks and no FOR UPDATE; a claim runs in
// an immediate transaction on the single writer connection, so claims are
// serialized and cannot pick the same row.
func (dialect) SkipLocked() string { return "" }

func (dialect) WritableCTE() bool { return false }

// Day: times are stored as UTC text 'YYYY-MM-DD HH:MM:SS...+00:00'.
func (dialect) Day(col string) string { return `substr(` + col + `, 1, 10)` }

// Param: an anonymous "?" (taken in order). SQLite finds a named or
// numbered parameter ($1, ?1) by a linear search of the statement's
// parameters, when it parses the statement and again when the driver binds
// each one: quadratic in the parameters, which made a 500-row batch INSERT
// (3500 parameters) cost about 200 µs per row, most of a proxied request's
// CPU when every request is a visit.
func (dialect) Param(int) string { return "?" }

func (dialect) TranslateError(err error) error { return translate(err) }
