// Package dbprovider is the abstraction over Podium's two databases: an
// embedded SQLite file for a single node, and a shared PostgreSQL database
// for a cluster.
//
// It holds interfaces and parameter structs only. Each dialect lives in its
// own package (dbprovider/sqlite, dbprovider/postgres) with its own
// connection handling and error translator; the SQL both dialects share is
// in dbprovider/sqlstore, which says at each place where the two differ.
// Callers ask capability methods (SupportsHA, SupportsListenNotify) instead
// of switching on the dialect's name, and never see a driver error: every
// error is translated into a *podium.Error code (ENOTFOUND, ECONFLICT,
// EUNAVAILABLE, EINTERNAL).
//
// The conformance suite in dbprovider/dbprovidertest runs against both.
package dbprovider

import (
	"context"
	"database/sql"
	"time"

	"github.com/podiumhq/podium"
)

// Dialect names, as used by [Provider.Name] and the [Database] Provider key.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Rehearsal methods, as returned by [Provider.RehearsalMethod].
const (
	// RehearseRollback runs the pending migrations in place, in one
	// transaction that is rolled back.
	RehearseRollback = "rollback"
	// RehearseCopy runs them on a throwaway Snapshot of the database.
	RehearseCopy = "copy"
)

// MigrationLockID is the lock that serializes migrations across nodes
// (PostgreSQL: an advisory lock). It is pinned (goose's default changed in
// v3.26.0): every Podium binary, old or new, must use the same one.
// ("podium" in ASCII.)
const MigrationLockID int64 = 0x706f6469756d

// DBError is a database error's fields, for reports and retries
// (Provider.ErrorDetail).
type DBError struct {
	Code    string // the database's code for it (PostgreSQL: SQLSTATE)
	Message string
	Detail  string // may be empty
	// LockTimeout: the statement waited longer than lock_timeout for a
	// lock other sessions held, and was rolled back.
	LockTimeout bool
	// Deadlock: the statement was chosen as a deadlock's victim.
	Deadlock bool
	// Canceled: the statement was canceled (statement_timeout, or a
	// cancel request).
	Canceled bool
}

// Provider is an open database. It is safe for concurrent use.
type Provider interface {
	Executor

	// Name returns the dialect: SQLite or Postgres.
	Name() string
	// Describe returns a one-line, secret-free description of where the
	// data lives (a file path, or host:port/dbname as user).
	Describe() string

	// SupportsHA reports whether several nodes may share this database.
	SupportsHA() bool
	// SupportsListenNotify reports whether Listen delivers notifications.
	SupportsListenNotify() bool
	// SupportsSkipLocked reports whether claims can skip rows locked by
	// other transactions (SELECT ... FOR UPDATE SKIP LOCKED). Without it the
	// single writer connection serializes claims instead.
	SupportsSkipLocked() bool

	// EnforcesColumnTypes reports whether the database refuses a value
	// that does not fit its column's declared type. PostgreSQL: true.
	// SQLite: false (a column's type is an affinity, not a constraint):
	// only CHECK constraints refuse such values, which the parity
	// migration (schema's 00035) adds, so a database from before it may
	// hold values it refuses (schema checks and repairs them first).
	EnforcesColumnTypes() bool

	// GooseDialect returns the goose dialect name of this database.
	GooseDialect() string
	// MigrationDB returns the handle goose migrations run on, and whether
	// it is a new one that the caller must close. PostgreSQL opens a
	// dedicated handle (migrations must not inherit the pool's settings,
	// and goose closes the handle it is given); several nodes may migrate
	// at once, so callers serialize them with an advisory lock where
	// SupportsHA. SQLite returns its single writer, which the process holds
	// exclusively (the lock file) and which the caller must not close.
	MigrationDB() (db *sql.DB, owned bool, err error)
	// MigrationRecover puts the migration handle back in its normal state
	// after a migration failed, so the node can go on using it (it reports
	// the failure, and a later start retries). SQLite: a NO TRANSACTION
	// migration (00035) that failed half-way leaves its explicit
	// transaction open and foreign keys off on the writer's one
	// connection, which every later write would inherit: it is rolled back
	// and foreign keys switched on again. PostgreSQL: nothing to do (the
	// migration handle is a dedicated one the caller closes).
	MigrationRecover(ctx context.Context) error
	// MigrationDBUnchecked returns a new handle, on one connection, on
	// which migrations run without evaluating CHECK constraints (NOT
	// NULL, types and foreign keys are still checked), for an upgrade
	// that checked every row against them just before and holds the
	// database alone; the caller closes it. SQLite: ALTER TABLE ADD
	// COLUMN checks every row against all of a table's CHECKs again, once
	// per column added (ignore_check_constraints spares it). PostgreSQL:
	// EUNSUPPORTED (its constraints hold since each was added; nothing
	// is checked twice).
	MigrationDBUnchecked(ctx context.Context) (*sql.DB, error)
	// TableRebuild runs a migration that rebuilds tables as one committed
	// transaction per table instead of one for the whole file, so that a
	// run interrupted by a kill resumes from the last table done and the
	// caller can report each one (p.Plan, p.Begin, p.End); then records
	// p.Version. It assumes every row was checked against the new
	// constraints, and does not check them again. It returns, without
	// recording the version, how many rows refer to rows that do not
	// exist (foreign keys are off while tables are dropped and renamed).
	// SQLite only (the parity migration, 00035); PostgreSQL:
	// EUNSUPPORTED.
	TableRebuild(ctx context.Context, p *TableRebuildParams) (dangling int64, err error)
	// TableHasConstraint reports whether table has a constraint of that
	// name (false when the table does not exist).
	TableHasConstraint(ctx context.Context, table, name string) (bool, error)
	// ConstraintCheck lists, reading only, every row that checks refuses
	// (tables or columns the database does not have are skipped), every
	// text value among the Text columns that is not valid UTF-8, and
	// every row whose foreign key points nowhere, table by table in the
	// order of checks. Values are not reported: they may be secrets.
	// SQLite only (the parity migration's pre-check: its column types do
	// not refuse values, so rows may hold what new constraints refuse);
	// PostgreSQL: EUNSUPPORTED.
	ConstraintCheck(ctx context.Context, checks []ColumnCheck) ([]ConstraintViolation, error)
	// TextClean rewrites, batch by batch, the text values of a table's
	// columns that p.Clean changes (the cleaning of what older releases
	// stored raw: NUL bytes, invalid UTF-8). SQLite only (a text column
	// there may hold what PostgreSQL's text refuses); PostgreSQL:
	// EUNSUPPORTED.
	TextClean(ctx context.Context, p *TextCleanParams) error
	// IntegerClamp counts the integers of table.column outside [lo, hi]
	// and, unless dry, sets each to the nearest bound; 0 when the table
	// or the column does not exist. SQLite only (an integer column there
	// holds any 64-bit value); PostgreSQL: EUNSUPPORTED.
	IntegerClamp(ctx context.Context, table, column string, lo, hi int64, dry bool) (int64, error)
	// RehearsalMethod says how pending migrations are tried without
	// keeping them: RehearseRollback (in place, in one transaction that is
	// rolled back, PostgreSQL) or RehearseCopy (on a Snapshot, SQLite).
	RehearsalMethod() string
	// Snapshot writes a consistent copy of the database into the empty
	// directory dir, while others may keep writing, and opens the copy
	// exclusively (for RehearseCopy). Returns EUNSUPPORTED when the method
	// is RehearseRollback.
	Snapshot(ctx context.Context, dir string) (Provider, error)

	// MigrationLockTryTx takes the migration lock (MigrationLockID) for the
	// rest of tx if no other session holds it, and reports whether it did:
	// a rehearsal holds it while it runs the pending migrations in tx, so
	// that no node migrates meanwhile. SQLite: the process holds the
	// database exclusively (its lock file), so it always succeeds.
	MigrationLockTryTx(ctx context.Context, tx *sql.Tx) (bool, error)
	// SessionID returns the database's id of the session that runs tx
	// (PostgreSQL: its backend pid), for SessionWaitsOnLock. SQLite: 0,
	// one connection writes.
	SessionID(ctx context.Context, tx *sql.Tx) (int64, error)
	// SessionWaitsOnLock reports whether session id waits, now, for a lock
	// another session holds: a rehearsal samples it to add up how long each
	// migration waited. SQLite: false (one connection writes; the others
	// wait in busy_timeout, not on the database's locks).
	SessionWaitsOnLock(ctx context.Context, id int64) (bool, error)
	// ConnectionLimit returns how many connections the database accepts
	// (PostgreSQL: max_connections) and how many of those are reserved for
	// superusers: the HA check compares the rest with the nodes' pools.
	// SQLite: 0, 0 (one process, no limit).
	ConnectionLimit(ctx context.Context) (max, reserved int, err error)
	// SetLockTimeout sets, for the rest of session conn (the migration
	// handle's), how long a statement waits for a lock before it gives up
	// with an error ErrorDetail reports as LockTimeout; 0 puts back the
	// server's default. SQLite: nothing to set (one connection writes;
	// waits are busy_timeout's, set at open).
	SetLockTimeout(ctx context.Context, conn *sql.Conn, d time.Duration) error
	// SetApplicationName names session conn (the migration handle's) in
	// the database's list of sessions, so that an administrator sees
	// which of them is what ("podium rehearse"). PostgreSQL: its
	// application_name, which pg_stat_activity shows. SQLite: nothing to
	// set (one process holds the file; it lists no sessions).
	SetApplicationName(ctx context.Context, conn *sql.Conn, name string) error
	// SetTxTimeouts sets, for the rest of tx only, the lock timeout and
	// the statement timeout (an error ErrorDetail reports as Canceled).
	// SQLite: nothing to set, as for SetLockTimeout.
	SetTxTimeouts(ctx context.Context, tx *sql.Tx, lock, statement time.Duration) error
	// DropInvalidIndexes drops, through db (the migration handle), those
	// of the indexes named that a failed concurrent build left invalid,
	// so that a retried "CREATE INDEX CONCURRENTLY IF NOT EXISTS" builds
	// them again instead of keeping the invalid one; valid indexes and
	// names that match none are left alone. PostgreSQL keeps such an
	// index, unused but maintained. SQLite: nothing to do (an index is
	// built in a transaction, or not at all).
	DropInvalidIndexes(ctx context.Context, db *sql.DB, names []string) error
	// ErrorDetail returns what the database said in err (a migration's or
	// a rehearsal's error, which reach the caller untranslated), and
	// whether err holds a database error the dialect describes this way.
	// PostgreSQL: its error fields (SQLSTATE, message, detail). SQLite:
	// false (its errors carry nothing more than their text).
	ErrorDetail(err error) (DBError, bool)

	// Begin starts a read-write transaction.
	Begin(ctx context.Context) (Tx, error)
	// Ping checks that the database answers. Returns EUNAVAILABLE if not.
	Ping(ctx context.Context) error
	// Now returns the database's clock, in UTC.
	Now(ctx context.Context) (time.Time, error)
	// SchemaVersion returns the highest applied goose version, without
	// taking the migration lock; 0 when no migration was ever applied.
	SchemaVersion(ctx context.Context) (int64, error)
	// SchemaVersionList returns every applied goose version, ascending
	// (a version can be missing below the highest one: a migration merged
	// late); none when no migration was ever applied.
	SchemaVersionList(ctx context.Context) ([]int64, error)
	// Listen calls fn with the payload of every notification on channel
	// until ctx ends, reconnecting as needed; after each (re)connect it
	// calls fn with an empty payload so the caller re-checks state it may
	// have missed. Returns EUNSUPPORTED when SupportsListenNotify is false.
	Listen(ctx context.Context, channel string, fn func(payload string)) error
	// Notify sends a notification (no-op where unsupported).
	Notify(ctx context.Context, channel, payload string) error

	// Close releases the connections (and the SQLite lock file).
	Close() error
}

// Tx is a transaction. Rollback after Commit is a no-op, so callers can
// defer it.
type Tx interface {
	Executor
	Commit() error
	Rollback() error
}

// Executor holds the store methods, usable on a Provider or inside a Tx.
// Method names are Noun+Verb so that they sort together.
type Executor interface {
	AccountStore
	GroupStore
	ContentStore
	JobStore
	AuditStore
	CatalogStore
	UsageStore
	GitStore

	// NodeUpsert registers a node (insert, or replace the row of the same
	// id) with heartbeat and start time set from the database clock.
	NodeUpsert(ctx context.Context, p *NodeUpsertParams) (*podium.Node, error)
	// NodeHeartbeat records a heartbeat at the database's now, with the
	// node's status, and returns the row. Returns ENOTFOUND if the node is
	// not registered.
	NodeHeartbeat(ctx context.Context, p *NodeHeartbeatParams) (*podium.Node, error)
	// NodeGet returns one node. Returns ENOTFOUND.
	NodeGet(ctx context.Context, id string) (*podium.Node, error)
	// NodeList returns every registered node, newest heartbeat first.
	NodeList(ctx context.Context) ([]*podium.Node, error)
	// NodeListLive returns the nodes that are not stopped and whose
	// heartbeat is younger than timeout by the database clock.
	NodeListLive(ctx context.Context, timeout time.Duration) ([]*podium.Node, error)
	// NodeSetStatus sets a node's status (and stopped_at for NodeStopped).
	NodeSetStatus(ctx context.Context, id, status string) error

	// SettingGet returns a setting's value. Returns ENOTFOUND.
	SettingGet(ctx context.Context, key string) (string, error)
	// SettingPut sets a setting.
	SettingPut(ctx context.Context, key, value string) error
	// SettingPutChanged sets a setting and reports whether that changed
	// it (false when it already held value): of several nodes writing the
	// same value, one learns it was first.
	SettingPutChanged(ctx context.Context, key, value string) (bool, error)
	// SettingDelete removes a setting; removing one that is not there is
	// not an error.
	SettingDelete(ctx context.Context, key string) error
}

// NodeUpsertParams registers a node.
type NodeUpsertParams struct {
	ID            string
	Hostname      string
	PID           int
	Version       string
	SchemaVersion int64
	Listen        string
	Provider      string
	HAEnabled     bool
	Status        string
	Info          map[string]any
}

// NodeHeartbeatParams records a heartbeat.
type NodeHeartbeatParams struct {
	ID string
	// Status, when not empty, replaces the node's status.
	Status string
	// ClockOffset is the node's clock minus the database's, measured by
	// the caller.
	ClockOffset time.Duration
	// Info, when not nil, replaces the node's info document.
	Info map[string]any
}
