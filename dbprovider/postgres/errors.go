package postgres

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// SQLSTATE codes Podium reacts to.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeUndefinedTable      = "42P01"
	codeLockNotAvailable    = "55P03"
	codeQueryCanceled       = "57014"
	classConnection         = "08"
	codeAdminShutdown       = "57P01"
	codeCannotConnectNow    = "57P03"
)

// codeDiskFull is disk_full: the database server cannot write.
const codeDiskFull = "53100"

// translate turns a pgx error into a *podium.Error by SQLSTATE or type,
// never by text. Unknown errors stay wrapped as EINTERNAL.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pe *podium.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return &podium.Error{Code: podium.ENOTFOUND, Message: "not found", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == codeUniqueViolation:
			return &podium.Error{Code: podium.ECONFLICT, Message: "already exists", Err: err}
		case pgErr.Code == codeForeignKeyViolation:
			return &podium.Error{Code: podium.ECONFLICT, Message: "refers to a missing or still-referenced object", Err: err}
		case pgErr.Code == codeSerialization || pgErr.Code == codeDeadlock:
			// Retried first (retryDB, dbprovider.RunTx): this reaches a
			// client only when the retries ran out.
			return &podium.Error{Code: podium.ECONFLICT, Message: "concurrent update, retry", Err: &dbprovider.RetryableError{Err: err}}
		case pgErr.Code == codeCheckViolation || pgErr.Code == codeNotNullViolation:
			return &podium.Error{Code: podium.EINVALID, Message: "value not allowed", Err: err}
		case pgErr.Code == codeDiskFull:
			// The database server's disk is full: the server's condition
			// (507), not the client's input.
			return &podium.Error{Code: podium.ENOSPACE, Message: "the server's database disk is full: ask the administrator to free space", Err: err}
		case strings.HasPrefix(pgErr.Code, classConnection), pgErr.Code == codeAdminShutdown, pgErr.Code == codeCannotConnectNow:
			return &podium.Error{Code: podium.EUNAVAILABLE, Message: "database unavailable", Err: err}
		}
		return &podium.Error{Code: podium.EINTERNAL, Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &podium.Error{Code: podium.ECANCELED, Message: "canceled", Err: err}
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) {
		return &podium.Error{Code: podium.EUNAVAILABLE, Message: "database unavailable", Err: err}
	}
	return &podium.Error{Code: podium.EINTERNAL, Err: err}
}

func isUndefinedTable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUndefinedTable
}

// safeMessage returns err's text with the password removed, in case a
// driver message quotes the connection string.
func safeMessage(err error, c *pgconn.Config) string {
	msg := err.Error()
	if c != nil && c.Password != "" {
		msg = strings.ReplaceAll(msg, c.Password, podium.Mask)
	}
	return msg
}

// SQLState returns the SQLSTATE code of the PostgreSQL error in err's
// chain, and false when err holds none (a connection that failed, a
// canceled context, an error of the caller's own): for callers outside
// dbprovider that react to a server error by its code, as "podium migrate
// db" does to a role without CREATE (42501) or a full disk (53xxx).
func SQLState(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, true
	}
	return "", false
}

// ErrorPosition returns the position, in characters from 1, in the query
// text that the PostgreSQL error in err's chain points at, and 0 when it
// points at none (most errors of execution rather than parsing): for a
// caller that sends several statements in one query and wants to name
// the one that failed.
func ErrorPosition(err error) int {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return int(pgErr.Position)
	}
	return 0
}
