package postgres

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/podiumhq/podium/dbprovider/sqlstore"
)

// A statement that PostgreSQL aborted as a deadlock's victim (40P01) or for
// a serialization failure (40001) did nothing: outside a transaction its
// implicit transaction was rolled back whole. Such a statement is sent
// again, a bounded number of times, before its error reaches the caller:
// during a rolling upgrade the other side of a deadlock is typically a
// migration, which yields (lock_timeout) and tries again later, so the
// request's second try goes through. Statements inside a transaction are
// retried by dbprovider.RunTx, which runs the whole transaction again.

// StatementRetries is how many times a statement is sent again after a
// deadlock or serialization failure.
const StatementRetries = 4

// retryable reports whether err is a deadlock or serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeDeadlock || pe.Code == codeSerialization)
}

// retryWait is the pause before retry attempt (1, 2, ...): a few
// milliseconds, growing, with jitter so that two victims do not collide
// again.
func retryWait(attempt int) time.Duration {
	d := 5 * time.Millisecond << min(attempt-1, 4)
	return d/2 + rand.N(d/2+1)
}

// retryDB sends statements outside a transaction on db, again after a
// deadlock or serialization failure. pgx's database/sql driver reads the
// first row before QueryContext returns, so a lock error surfaces there
// (or in Row.Err) before the caller has seen any row.
type retryDB struct{ db *sql.DB }

var _ sqlstore.Queryer = retryDB{}

func pause(ctx context.Context, attempt int) bool {
	t := time.NewTimer(retryWait(attempt))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (r retryDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	for attempt := 1; ; attempt++ {
		res, err := r.db.ExecContext(ctx, query, args...)
		if attempt > StatementRetries || !retryable(err) || !pause(ctx, attempt) {
			return res, err
		}
	}
}

func (r retryDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	for attempt := 1; ; attempt++ {
		rows, err := r.db.QueryContext(ctx, query, args...)
		if attempt > StatementRetries || !retryable(err) || !pause(ctx, attempt) {
			return rows, err
		}
	}
}

func (r retryDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	for attempt := 1; ; attempt++ {
		row := r.db.QueryRowContext(ctx, query, args...)
		if attempt > StatementRetries || !retryable(row.Err()) || !pause(ctx, attempt) {
			return row
		}
	}
}

// BeginTx starts a transaction on db: sqlstore runs its multi-statement
// methods in one (its inTx looks for this method), and statements inside
// a transaction are not retried one by one.
func (r retryDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return r.db.BeginTx(ctx, opts)
}
