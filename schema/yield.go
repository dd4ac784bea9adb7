package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/pressly/goose/v3/lock"
	"github.com/sirupsen/logrus"
)

// Migrations yield to traffic (PostgreSQL). Every migration statement runs
// with a short lock_timeout: a statement that cannot get its lock within it
// gives up (SQLSTATE 55P03) instead of queueing every request behind its
// lock request, and the migration is tried again after a backoff. The
// migration waits; requests never wait longer than the lock timeout. See
// docs/upgrading.md, "Writing an expand migration".

// Defaults of the migration lock timeout and of how long a migration keeps
// retrying.
const (
	DefaultDDLLockTimeout = 2 * time.Second
	DefaultDDLRetryFor    = 10 * time.Minute
)

// ddlLocker is goose's PostgreSQL session locker plus the migration
// connection's lock_timeout: goose runs every migration of a run on the
// connection it locks, so setting lock_timeout there covers every
// statement, in a transaction or not, and nothing else.
type ddlLocker struct {
	lock.SessionLocker
	p       dbprovider.Provider
	timeout time.Duration
}

func (l ddlLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if err := l.SessionLocker.SessionLock(ctx, conn); err != nil {
		return err
	}
	if err := l.p.SetLockTimeout(ctx, conn, l.timeout); err != nil {
		_ = l.SessionLocker.SessionUnlock(context.WithoutCancel(ctx), conn)
		return fmt.Errorf("set lock_timeout: %w", err)
	}
	return nil
}

func (l ddlLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_ = l.p.SetLockTimeout(ctx, conn, 0)
	return l.SessionLocker.SessionUnlock(ctx, conn)
}

// lockYield reports whether a migration failed only because it yielded to
// traffic: it waited longer than lock_timeout for a lock (55P03), or was
// chosen as a deadlock's victim (40P01). Either way its transaction was
// rolled back and it can be tried again.
func lockYield(p dbprovider.Provider, err error) bool {
	de, ok := p.ErrorDetail(err)
	return ok && (de.LockTimeout || de.Deadlock)
}

// backoff returns the wait before retry attempt (1, 2, ...): 200ms doubling
// up to 5s, with up to 50% jitter so that several nodes do not retry in
// step.
func backoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << min(attempt-1, 5)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// retryYield runs try until it succeeds, fails for another reason than
// lockYield, or retryFor has passed (it returns the last error). Before each retry it calls
// before (may be nil).
func retryYield(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, what func() string, lockTimeout, retryFor time.Duration,
	try func() error, before func(context.Context) error) error {
	deadline := time.Now().Add(retryFor)
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil || !lockYield(p, err) {
			return err
		}
		wait := backoff(attempt)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		if log != nil {
			log.WithFields(logrus.Fields{"migration": what(), "attempt": attempt, "lock_timeout": lockTimeout.String(),
				"retry_in": wait.Round(time.Millisecond).String(), "reason": errorCode(p, err)}).
				Info("migration yielded to traffic: lock not granted within lock_timeout; trying again")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (while waiting to retry after: %w)", what(), ctx.Err(), err)
		case <-time.After(wait):
		}
		if before != nil {
			if err := before(ctx); err != nil {
				return fmt.Errorf("%s: before retry: %w", what(), err)
			}
		}
	}
}

func errorCode(p dbprovider.Provider, err error) string {
	if de, ok := p.ErrorDetail(err); ok {
		return de.Code + " " + de.Message
	}
	return err.Error()
}

// concurrentIndexRe finds the index a CREATE INDEX CONCURRENTLY statement
// builds (statements normalized by splitStatements, upper-cased).
var concurrentIndexRe = regexp.MustCompile(`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[A-Z0-9_]+"?)`)

// concurrentIndexes returns the names of the indexes that migration name
// builds with CREATE INDEX CONCURRENTLY.
func concurrentIndexes(fsys fs.FS, name string) ([]string, error) {
	up, _, err := upSection(fsys, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range splitStatements(up) {
		if m := concurrentIndexRe.FindStringSubmatch(strings.ToUpper(st)); m != nil {
			// Unquoted identifiers fold to lower case in PostgreSQL.
			n := m[1]
			if strings.HasPrefix(n, `"`) {
				// Take the original spelling of a quoted name.
				i := strings.Index(strings.ToUpper(st), n)
				n = st[i+1 : i+len(n)-1]
			} else {
				n = strings.ToLower(n)
			}
			out = append(out, n)
		}
	}
	return out, nil
}

// yieldHint explains a migration that kept giving up on its locks.
func yieldHint(p dbprovider.Provider, err error, opts Options) string {
	if !lockYield(p, err) {
		return ""
	}
	return fmt.Sprintf("; it waited more than lock_timeout (%s) for a lock held by other sessions on every attempt for %s: "+
		"look for long transactions in pg_stat_activity, or raise [Database] MigrationLockTimeout (docs/upgrading.md)",
		opts.ddlLockTimeout(), opts.ddlRetryFor())
}
