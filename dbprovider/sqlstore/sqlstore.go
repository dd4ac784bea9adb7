// Package sqlstore implements the store methods of dbprovider.Executor once,
// over database/sql, for both dialects. The SQL is written to run on both
// SQLite (3.35+: RETURNING, ON CONFLICT, $N parameters) and PostgreSQL; the
// few places where they differ go through [Dialect], and each says why.
//
// It is used only by dbprovider/sqlite and dbprovider/postgres; nothing else
// should import it.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Queryer is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect holds the SQL fragments and error translation that differ.
type Dialect interface {
	// Now is an SQL expression for the database's current time.
	Now() string
	// Ago is an SQL expression for "now minus the milliseconds in
	// parameter param" (param is e.g. "$1").
	Ago(param string) string
	// SkipLocked is the locking clause that ends a claim's SELECT: "FOR
	// UPDATE SKIP LOCKED" where rows can be locked, "" where the single
	// writer already serializes claims.
	SkipLocked() string
	// WritableCTE says whether a WITH clause may hold INSERT, UPDATE or
	// DELETE (PostgreSQL), so that a change of several tables is one
	// statement and one round trip; SQLite does them one by one in a
	// transaction.
	WritableCTE() bool
	// Day is an SQL expression for the UTC day of the time column col, as
	// text 'YYYY-MM-DD' (PostgreSQL formats a timestamptz in the
	// session's time zone, SQLite stores UTC text).
	Day(col string) string
	// Param is the placeholder of a statement's n-th parameter (from 1),
	// for statements built with many parameters, numbered in order of
	// appearance (see insertRows).
	Param(n int) string
	// TranslateError turns a driver error into a *podium.Error (or returns
	// it unchanged when it already is one); nil stays nil.
	TranslateError(err error) error
}

// Store implements dbprovider.Executor. R serves reads and W writes; for
// PostgreSQL and inside a transaction both are the same handle, for SQLite
// R is the read-only pool and W the single writer connection.
type Store struct {
	R, W Queryer
	D    Dialect
	// Prep, when set, keeps the statements insertRows runs most often
	// prepared on the writer (see [Stmts]); nil prepares nothing.
	Prep *Stmts
}

var _ dbprovider.Executor = (*Store)(nil)

// Tx implements dbprovider.Tx over a *sql.Tx, for both dialects. The
// Store's Dialect translates the errors of Commit and Rollback, as it does
// those of every statement in the transaction.
type Tx struct {
	*Store
	tx *sql.Tx
}

var _ dbprovider.Tx = (*Tx)(nil)

// NewTx returns tx with the store methods, for dialect d.
func NewTx(tx *sql.Tx, d Dialect) *Tx {
	return &Tx{Store: &Store{R: tx, W: tx, D: d}, tx: tx}
}

// Commit implements dbprovider.Tx.
func (t *Tx) Commit() error { return t.D.TranslateError(t.tx.Commit()) }

// Rollback implements dbprovider.Tx. Rolling back a transaction that is
// already committed or rolled back is not an error.
func (t *Tx) Rollback() error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return t.D.TranslateError(err)
	}
	return nil
}

// UTC normalizes a time parameter: SQLite compares times as text, so every
// stored time must be UTC in one format.
func UTC(t time.Time) time.Time { return t.UTC() }

const nodeColumns = `id, hostname, pid, version, schema_version, listen, provider, ha_enabled,
	status, started_at, heartbeat_at, stopped_at, clock_offset_ms, info`

func scanNode(row scanner) (*podium.Node, error) {
	var (
		n        podium.Node
		stopped  sql.NullTime
		offsetMS int64
		info     string
	)
	if err := row.Scan(&n.ID, &n.Hostname, &n.PID, &n.Version, &n.SchemaVersion, &n.Listen, &n.Provider,
		&n.HAEnabled, &n.Status, &n.StartedAt, &n.HeartbeatAt, &stopped, &offsetMS, &info); err != nil {
		return nil, err
	}
	if stopped.Valid {
		t := stopped.Time.UTC()
		n.StoppedAt = &t
	}
	n.StartedAt, n.HeartbeatAt = n.StartedAt.UTC(), n.HeartbeatAt.UTC()
	n.ClockOffset = time.Duration(offsetMS) * time.Millisecond
	if info != "" {
		if err := json.Unmarshal([]byte(info), &n.Info); err != nil {
			return nil, fmt.Errorf("node %s: info: %w", n.ID, err)
		}
	}
	return &n, nil
}

func marshalInfo(info map[string]any) (string, error) {
	if info == nil {
		return "{}", nil
	}
	b, err := json.Marshal(info)
	return string(b), err
}

// NodeUpsert implements dbprovider.Executor.
func (s *Store) NodeUpsert(ctx context.Context, p *dbprovider.NodeUpsertParams) (*podium.Node, error) {
	info, err := marshalInfo(p.Info)
	if err != nil {
		return nil, fmt.Errorf("node upsert: %w", err)
	}
	status := p.Status
	if status == "" {
		status = podium.NodeStarting
	}
	q := `INSERT INTO nodes (id, hostname, pid, version, schema_version, listen, provider, ha_enabled,
		status, started_at, heartbeat_at, stopped_at, clock_offset_ms, info)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ` + s.D.Now() + `, ` + s.D.Now() + `, NULL, 0, $10)
	ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, pid = excluded.pid,
		version = excluded.version, schema_version = excluded.schema_version, listen = excluded.listen,
		provider = excluded.provider, ha_enabled = excluded.ha_enabled, status = excluded.status,
		started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = NULL,
		clock_offset_ms = 0, info = excluded.info
	RETURNING ` + nodeColumns
	n, err := scanNode(s.W.QueryRowContext(ctx, q, p.ID, p.Hostname, p.PID, p.Version, p.SchemaVersion,
		p.Listen, p.Provider, p.HAEnabled, status, info))
	if err != nil {
		return nil, fmt.Errorf("node upsert: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// NodeHeartbeat implements dbprovider.Executor.
func (s *Store) NodeHeartbeat(ctx context.Context, p *dbprovider.NodeHeartbeatParams) (*podium.Node, error) {
	var info any // NULL keeps the stored document
	if p.Info != nil {
		v, err := marshalInfo(p.Info)
		if err != nil {
			return nil, fmt.Errorf("node heartbeat: %w", err)
		}
		info = v
	}
	q := `UPDATE nodes SET heartbeat_at = ` + s.D.Now() + `, status = COALESCE(NULLIF($2, ''), status), clock_offset_ms = $3,
		info = COALESCE($4, info)
	WHERE id = $1 RETURNING ` + nodeColumns
	n, err := scanNode(s.W.QueryRowContext(ctx, q, p.ID, p.Status, p.ClockOffset.Milliseconds(), info))
	if err != nil {
		return nil, fmt.Errorf("node heartbeat: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// NodeGet implements dbprovider.Executor.
func (s *Store) NodeGet(ctx context.Context, id string) (*podium.Node, error) {
	n, err := scanNode(s.R.QueryRowContext(ctx, `SELECT `+nodeColumns+` FROM nodes WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("node get: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// NodeList implements dbprovider.Executor.
func (s *Store) NodeList(ctx context.Context) ([]*podium.Node, error) {
	return s.nodeQuery(ctx, `SELECT `+nodeColumns+` FROM nodes ORDER BY heartbeat_at DESC, id`)
}

// NodeListLive implements dbprovider.Executor.
func (s *Store) NodeListLive(ctx context.Context, timeout time.Duration) ([]*podium.Node, error) {
	return s.nodeQuery(ctx, `SELECT `+nodeColumns+` FROM nodes
		WHERE status <> 'stopped' AND heartbeat_at > `+s.D.Ago("$1")+`
		ORDER BY heartbeat_at DESC, id`, timeout.Milliseconds())
}

func (s *Store) nodeQuery(ctx context.Context, q string, args ...any) ([]*podium.Node, error) {
	return queryList(ctx, s.R, s.D, "node list", scanNode, q, args...)
}

// NodeSetStatus implements dbprovider.Executor.
func (s *Store) NodeSetStatus(ctx context.Context, id, status string) error {
	q := `UPDATE nodes SET status = $2,
		stopped_at = CASE WHEN $2 = 'stopped' THEN ` + s.D.Now() + ` ELSE NULL END
	WHERE id = $1`
	res, err := s.W.ExecContext(ctx, q, id, status)
	if err != nil {
		return fmt.Errorf("node set status: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "node", id)
}

// SettingGet implements dbprovider.Executor.
func (s *Store) SettingGet(ctx context.Context, key string) (string, error) {
	var v string
	err := s.R.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("setting get %s: %w", key, s.D.TranslateError(err))
	}
	return v, nil
}

// SettingPut implements dbprovider.Executor.
func (s *Store) SettingPut(ctx context.Context, key, value string) error {
	_, err := s.W.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, `+s.D.Now()+`)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value)
	if err != nil {
		return fmt.Errorf("setting put %s: %w", key, s.D.TranslateError(err))
	}
	return nil
}

// SettingPutChanged implements dbprovider.Executor: the upsert's WHERE
// leaves an equal value alone, so no row is affected.
func (s *Store) SettingPutChanged(ctx context.Context, key, value string) (bool, error) {
	res, err := s.W.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, `+s.D.Now()+`)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
		WHERE settings.value <> excluded.value`, key, value)
	if err != nil {
		return false, fmt.Errorf("setting put %s: %w", key, s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("setting put %s: %w", key, s.D.TranslateError(err))
	}
	return n > 0, nil
}

// SettingDelete implements dbprovider.Executor.
func (s *Store) SettingDelete(ctx context.Context, key string) error {
	if _, err := s.W.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key); err != nil {
		return fmt.Errorf("setting delete %s: %w", key, s.D.TranslateError(err))
	}
	return nil
}

// SchemaVersionList returns the versions in goose's table, ascending: the
// providers' SchemaVersionList, once they know the table exists.
func (s *Store) SchemaVersionList(ctx context.Context) ([]int64, error) {
	return queryList(ctx, s.R, s.D, "schema version list", func(row scanner) (int64, error) {
		var v int64
		err := row.Scan(&v)
		return v, err
	}, `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY version_id`)
}

// mustAffect returns ENOTFOUND when an UPDATE or DELETE matched no row.
func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return podium.Errorf(podium.ENOTFOUND, "%s %s not found", what, id)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common. It is an alias so
// that the scan functions' types match what [queryList] takes.
type scanner = interface{ Scan(...any) error }

// queryList runs a query on q and scans each row with scan. Every error is
// translated by d and prefixed with what. It returns nil when no row matches;
// wrap it in [nonNil] where the caller promises an empty list instead.
func queryList[T any](ctx context.Context, q Queryer, d Dialect, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, d.TranslateError(err))
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, d.TranslateError(err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, d.TranslateError(err))
	}
	return out, nil
}

// nonNil turns queryList's nil (no rows) into an empty, non-nil list, for
// the methods whose results are encoded as JSON arrays rather than null.
func nonNil[T any](out []T, err error) ([]T, error) {
	if err == nil && out == nil {
		out = []T{}
	}
	return out, err
}

// ErrNoRows reports whether err is database/sql's "no rows": both
// translators map it to ENOTFOUND.
func ErrNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
