// Package postgres is the PostgreSQL provider: the shared database of a
// Podium cluster. Every node opens a pgx pool whose connections carry
// application_name "podium/<node id>", so pg_stat_activity shows which node
// holds what.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlstore"
)

// Options configure Open.
type Options struct {
	// URL is the connection URL, password included.
	URL podium.Secret
	// MaxConns sizes the pool (default 10).
	MaxConns int
	// ApplicationName names the connections (default "podium").
	ApplicationName string
	// ConnectTimeout bounds each connection attempt (default 5s).
	ConnectTimeout time.Duration
}

// Provider is an open PostgreSQL database.
type Provider struct {
	*sqlstore.Store
	pool     *pgxpool.Pool
	db       *sql.DB
	cfg      *pgxpool.Config
	describe string
}

var _ dbprovider.Provider = (*Provider)(nil)

// Redact returns rawURL without its password, for messages. A URL that does
// not parse is not echoed at all.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable PostgreSQL URL)"
	}
	return u.Redacted()
}

// ParseConfig parses and checks opts into a pool configuration without
// connecting. Returns EINVALID for a malformed URL (without echoing it).
func ParseConfig(opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL.Reveal())
	if err != nil {
		// pgx's parse errors may quote the URL: never pass them on.
		return nil, podium.Errorf(podium.EINVALID,
			"postgres: [Postgres] URL %s is not a valid PostgreSQL connection URL", Redact(opts.URL.Reveal()))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	name := opts.ApplicationName
	if name == "" {
		name = "podium"
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	return cfg, nil
}

// Open connects to the database. Returns EINVALID for a bad URL and
// EUNAVAILABLE when the server cannot be reached; neither message holds the
// password.
func Open(ctx context.Context, opts Options) (*Provider, error) {
	cfg, err := ParseConfig(opts)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, describe: describe(cfg.ConnConfig)}
	p.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "postgres: %s: %s", p.describe, safeMessage(err, &cfg.ConnConfig.Config))
	}
	if err := p.pool.Ping(ctx); err != nil {
		p.pool.Close()
		return nil, &podium.Error{Code: podium.EUNAVAILABLE,
			Message: fmt.Sprintf("postgres: cannot connect to %s: %s", p.describe, safeMessage(err, &cfg.ConnConfig.Config))}
	}
	p.db = stdlib.OpenDBFromPool(p.pool)
	p.Store = &sqlstore.Store{R: retryDB{p.db}, W: retryDB{p.db}, D: dialect{}}
	return p, nil
}

func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s as %s", c.Host, c.Port, c.Database, c.User)
}

// Config returns the parsed pool configuration (it holds the password:
// never log it).
func (p *Provider) Config() *pgxpool.Config { return p.cfg }

// Name implements dbprovider.Provider.
func (p *Provider) Name() string { return dbprovider.Postgres }

// Describe implements dbprovider.Provider.
func (p *Provider) Describe() string { return p.describe }

// SupportsHA implements dbprovider.Provider.
func (p *Provider) SupportsHA() bool { return true }

// SupportsListenNotify implements dbprovider.Provider.
func (p *Provider) SupportsListenNotify() bool { return true }

// SupportsSkipLocked implements dbprovider.Provider.
func (p *Provider) SupportsSkipLocked() bool { return true }

// DB returns the pool. Not part of dbprovider.Provider, and no code
// outside dbprovider calls it (internal/importrules checks): callers use
// provider methods, tests look at the database with it.
func (p *Provider) DB() *sql.DB { return p.db }

// EnforcesColumnTypes implements dbprovider.Provider: every value
// stored fits its column's type.
func (p *Provider) EnforcesColumnTypes() bool { return true }

// GooseDialect implements dbprovider.Provider.
func (p *Provider) GooseDialect() string { return "postgres" }

// MigrationDB implements dbprovider.Provider: a dedicated handle with the
// node's connection settings but not its pool, closed by the caller.
func (p *Provider) MigrationDB() (*sql.DB, bool, error) {
	return stdlib.OpenDB(*p.cfg.ConnConfig.Copy()), true, nil
}

// MigrationRecover implements dbprovider.Provider: the migration handle
// is a dedicated one that its caller closes, which ends whatever a failed
// migration left open; the pool never saw the migration.
func (p *Provider) MigrationRecover(context.Context) error { return nil }

// RehearsalMethod implements dbprovider.Provider: PostgreSQL runs DDL in a
// transaction, so migrations are rehearsed in place and rolled back.
func (p *Provider) RehearsalMethod() string { return dbprovider.RehearseRollback }

// MigrationLockTryTx implements dbprovider.Provider with the advisory lock
// goose takes (MigrationLockID), held until tx ends.
func (p *Provider) MigrationLockTryTx(ctx context.Context, tx *sql.Tx) (bool, error) {
	var got bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, dbprovider.MigrationLockID).Scan(&got); err != nil {
		return false, fmt.Errorf("postgres: migration lock: %w", err)
	}
	return got, nil
}

// SessionID implements dbprovider.Provider: the backend's pid.
func (p *Provider) SessionID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var pid int64
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return 0, fmt.Errorf("postgres: backend pid: %w", err)
	}
	return pid, nil
}

// SessionWaitsOnLock implements dbprovider.Provider from pg_stat_activity:
// waiting on a heavyweight lock (a table's, a row's, an advisory one).
func (p *Provider) SessionWaitsOnLock(ctx context.Context, id int64) (bool, error) {
	var waiting bool
	err := p.db.QueryRowContext(ctx,
		`SELECT coalesce(wait_event_type = 'Lock', false) FROM pg_stat_activity WHERE pid = $1`, id).Scan(&waiting)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // the session has ended
	}
	if err != nil {
		return false, fmt.Errorf("postgres: lock waits: %w", err)
	}
	return waiting, nil
}

// ConnectionLimit implements dbprovider.Provider from the server's
// settings: max_connections, and superuser_reserved_connections reserved.
func (p *Provider) ConnectionLimit(ctx context.Context) (max, reserved int, err error) {
	if err := p.db.QueryRowContext(ctx, `SELECT current_setting('max_connections')::int,
		current_setting('superuser_reserved_connections')::int`).Scan(&max, &reserved); err != nil {
		return 0, 0, fmt.Errorf("postgres: max_connections: %w", err)
	}
	return max, reserved, nil
}

// SetLockTimeout implements dbprovider.Provider with the session's
// lock_timeout (RESET for 0).
func (p *Provider) SetLockTimeout(ctx context.Context, conn *sql.Conn, d time.Duration) error {
	if d == 0 {
		_, err := conn.ExecContext(ctx, `RESET lock_timeout`)
		return err
	}
	_, err := conn.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, false)`, fmt.Sprintf("%dms", d.Milliseconds()))
	return err
}

// MigrationDBUnchecked implements dbprovider.Provider: EUNSUPPORTED,
// PostgreSQL's constraints hold since each was added.
func (p *Provider) MigrationDBUnchecked(context.Context) (*sql.DB, error) {
	return nil, podium.Errorf(podium.EUNSUPPORTED, "postgres: no migration skips its constraints: they hold since each was added")
}

// TableRebuild implements dbprovider.Provider: EUNSUPPORTED, PostgreSQL
// adds a constraint to a table in place (ALTER TABLE ADD CONSTRAINT).
func (p *Provider) TableRebuild(context.Context, *dbprovider.TableRebuildParams) (int64, error) {
	return 0, podium.Errorf(podium.EUNSUPPORTED, "postgres: tables are not rebuilt: constraints are added in place")
}

// ConstraintCheck implements dbprovider.Provider: EUNSUPPORTED,
// PostgreSQL's column types and constraints refused such rows when they
// were written.
func (p *Provider) ConstraintCheck(context.Context, []dbprovider.ColumnCheck) ([]dbprovider.ConstraintViolation, error) {
	return nil, podium.Errorf(podium.EUNSUPPORTED, "postgres: rows are checked when written: nothing to check again")
}

// TextClean implements dbprovider.Provider: EUNSUPPORTED, PostgreSQL's
// text refuses NUL bytes and invalid UTF-8 when written.
func (p *Provider) TextClean(context.Context, *dbprovider.TextCleanParams) error {
	return podium.Errorf(podium.EUNSUPPORTED, "postgres: text is checked when written: nothing to clean")
}

// IntegerClamp implements dbprovider.Provider: EUNSUPPORTED, a
// PostgreSQL integer column refuses what does not fit.
func (p *Provider) IntegerClamp(context.Context, string, string, int64, int64, bool) (int64, error) {
	return 0, podium.Errorf(podium.EUNSUPPORTED, "postgres: integers are checked when written: nothing to clamp")
}

// TableHasConstraint implements dbprovider.Provider from pg_constraint,
// for the table the search path finds.
func (p *Provider) TableHasConstraint(ctx context.Context, table, name string) (bool, error) {
	var has bool
	err := p.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE t.relname = $1 AND c.conname = $2 AND pg_table_is_visible(t.oid))`, table, name).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("postgres: constraints of %s: %w", table, translate(err))
	}
	return has, nil
}

// SetApplicationName implements dbprovider.Provider with the session's
// application_name.
func (p *Provider) SetApplicationName(ctx context.Context, conn *sql.Conn, name string) error {
	_, err := conn.ExecContext(ctx, `SELECT set_config('application_name', $1, false)`, name)
	return err
}

// SetTxTimeouts implements dbprovider.Provider with lock_timeout and
// statement_timeout local to tx.
func (p *Provider) SetTxTimeouts(ctx context.Context, tx *sql.Tx, lock, statement time.Duration) error {
	_, err := tx.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
		fmt.Sprintf("%dms", lock.Milliseconds()), fmt.Sprintf("%dms", statement.Milliseconds()))
	return err
}

// DropInvalidIndexes implements dbprovider.Provider from pg_index:
// indisvalid is false after a failed CREATE INDEX CONCURRENTLY.
func (p *Provider) DropInvalidIndexes(ctx context.Context, db *sql.DB, names []string) error {
	for _, n := range names {
		var invalid bool
		err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			WHERE c.relname = $1 AND pg_table_is_visible(c.oid) AND NOT i.indisvalid)`, n).Scan(&invalid)
		if err != nil {
			return err
		}
		if invalid {
			if _, err := db.ExecContext(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{n}.Sanitize()); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrorDetail implements dbprovider.Provider from a *pgconn.PgError
// anywhere in err's chain.
func (p *Provider) ErrorDetail(err error) (dbprovider.DBError, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return dbprovider.DBError{}, false
	}
	return dbprovider.DBError{Code: pe.Code, Message: pe.Message, Detail: pe.Detail,
		LockTimeout: pe.Code == codeLockNotAvailable, Deadlock: pe.Code == codeDeadlock,
		Canceled: pe.Code == codeQueryCanceled}, true
}

// SchemaVersionList implements dbprovider.Provider: none while goose's
// table does not exist (SchemaVersion 0).
func (p *Provider) SchemaVersionList(ctx context.Context) ([]int64, error) {
	if v, err := p.SchemaVersion(ctx); err != nil || v == 0 {
		return nil, err
	}
	return p.Store.SchemaVersionList(ctx)
}

// Snapshot implements dbprovider.Provider: not needed (nor cheap) on
// PostgreSQL, which rehearses in a rolled-back transaction.
func (p *Provider) Snapshot(context.Context, string) (dbprovider.Provider, error) {
	return nil, podium.Errorf(podium.EUNSUPPORTED, "postgres: snapshots are not supported: migrations are rehearsed in a rolled-back transaction")
}

// Begin implements dbprovider.Provider.
func (p *Provider) Begin(ctx context.Context) (dbprovider.Tx, error) {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", translate(err))
	}
	return sqlstore.NewTx(tx, dialect{}), nil
}

// Ping implements dbprovider.Provider.
func (p *Provider) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return &podium.Error{Code: podium.EUNAVAILABLE,
			Message: fmt.Sprintf("postgres: %s: %s", p.describe, safeMessage(err, &p.cfg.ConnConfig.Config)), Err: err}
	}
	return nil
}

// Now implements dbprovider.Provider.
func (p *Provider) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := p.pool.QueryRow(ctx, `SELECT now()`).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("postgres: now: %w", translate(err))
	}
	return t.UTC(), nil
}

// SchemaVersion implements dbprovider.Provider: a cheap query on the pool,
// not through goose (whose GetDBVersion waits for the migration lock).
func (p *Provider) SchemaVersion(ctx context.Context) (int64, error) {
	var v *int64
	err := p.pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&v)
	if isUndefinedTable(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", translate(err))
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Notify implements dbprovider.Provider.
func (p *Provider) Notify(ctx context.Context, channel, payload string) error {
	_, err := p.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
	if err != nil {
		return fmt.Errorf("postgres: notify %s: %w", channel, translate(err))
	}
	return nil
}

// Close implements dbprovider.Provider.
func (p *Provider) Close() error {
	var err error
	if p.db != nil {
		err = p.db.Close()
	}
	p.pool.Close()
	return err
}

// dialect is PostgreSQL's side of sqlstore.Dialect.
type dialect struct{}

// Now: now() is the transaction's start time, the same for every row of a
// statement, from the database server's clock.
func (dialect) Now() string { return `now()` }

func (dialect) Ago(param string) string {
	return `(now() - (` + param + `::bigint * interval '1 millisecond'))`
}

// SkipLocked: concurrent claimers on several nodes lock the row they pick
// and pass over rows locked by others, so they never wait on each other or
// claim the same job.
func (dialect) SkipLocked() string { return "FOR UPDATE SKIP LOCKED" }

func (dialect) WritableCTE() bool { return true }

func (dialect) Day(col string) string { return `to_char(` + col + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD')` }

func (dialect) Param(n int) string { return "$" + strconv.Itoa(n) }

func (dialect) TranslateError(err error) error { return translate(err) }
