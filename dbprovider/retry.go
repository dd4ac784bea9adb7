package dbprovider

import (
	"context"
	"errors"
	"time"
)

// RetryableError marks a database error after which the whole transaction
// can be run again with a fair chance of success: PostgreSQL aborted it as
// a deadlock's victim (SQLSTATE 40P01) or for a serialization failure
// (40001). The providers wrap such errors in it (inside the
// *podium.Error, code ECONFLICT); Err is the driver's error, for logs.
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the driver's error.
func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is, or wraps, a RetryableError.
func IsRetryable(err error) bool {
	var re *RetryableError
	return errors.As(err, &re)
}

// TxRetries is how many times RunTx runs a transaction again after a
// retryable failure.
const TxRetries = 4

// Beginner starts transactions: a Provider.
type Beginner interface {
	Begin(ctx context.Context) (Tx, error)
}

// RunTx runs fn in a transaction and commits it. When fn or the commit
// fails with a RetryableError (a deadlock or serialization failure: the
// database rolled everything back), the transaction is run again, up to
// TxRetries times, after a short pause, before the error reaches the
// caller; a request thus survives a deadlock with a migration that runs
// beside it. fn must do nothing outside the transaction that a second run
// would repeat wrongly. Any other error rolls back and is returned as it
// is.
func RunTx(ctx context.Context, db Beginner, fn func(Tx) error) error {
	return RetryConflicts(ctx, func() error { return runTxOnce(ctx, db, fn) })
}

// RetryConflicts runs try, and again after a short pause while it fails
// with a RetryableError, up to TxRetries more times; it returns try's last
// error. try must run a whole transaction (begin to commit) and leave
// nothing behind that a second run would repeat wrongly. RunTx and the SQL
// store's multi-statement methods retry through it.
func RetryConflicts(ctx context.Context, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || attempt > TxRetries || !IsRetryable(err) {
			return err
		}
		t := time.NewTimer(time.Duration(attempt) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func runTxOnce(ctx context.Context, db Beginner, fn func(Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
