package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/podiumhq/podium"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// translate turns a modernc error into a *podium.Error by its result code,
// never by its text. Errors it does not know stay wrapped as EINTERNAL (not
// nil: a mapper that returns nil by default swallows real failures).
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pe *podium.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &podium.Error{Code: podium.ENOTFOUND, Message: "not found", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &podium.Error{Code: podium.ECANCELED, Message: "canceled", Err: err}
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &podium.Error{Code: podium.ECONFLICT, Message: "already exists", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &podium.Error{Code: podium.ECONFLICT, Message: "refers to a missing or still-referenced object", Err: err}
		case sqlite3.SQLITE_CONSTRAINT_COMMITHOOK:
			what := "a value PostgreSQL refuses"
			if p := lastUTF8.Load(); p != nil {
				what = *p
			}
			return &podium.Error{Code: podium.EINVALID, Message: "refused " + what + ": nothing was written", Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &podium.Error{Code: podium.EUNAVAILABLE, Message: "database is busy", Err: err}
		case sqlite3.SQLITE_FULL:
			// The disk under the database is full: the server's condition
			// (507), not the client's input.
			return &podium.Error{Code: podium.ENOSPACE, Message: "the server's database disk is full: ask the administrator to free space", Err: err}
		}
	}
	return &podium.Error{Code: podium.EINTERNAL, Err: err}
}
