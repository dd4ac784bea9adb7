package postgres_test

import (
	"context"
	"database/sql"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestRequestSurvivesDeadlockWithMigration replays the deadlock of issue
// 28 deterministically: a "migration" transaction (as an expand migration
// that altered two tables in one transaction did) holds users exclusively;
// an API-key lookup (api_keys JOIN users) takes api_keys and waits for
// users; the migration then asks for api_keys. PostgreSQL aborts the
// request, which waited first (the migration's session waits longer before
// looking for deadlocks), with SQLSTATE 40P01. The request must still
// succeed: the provider sends it again, and it goes through once the
// migration commits. pg_stat_database shows that the deadlock did happen.
func TestRequestSurvivesDeadlockWithMigration(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	p := openURL(t, url)
	ctx := context.Background()
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "alice", Role: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	if _, err := p.APIKeyCreate(ctx, &dbprovider.APIKeyCreateParams{UserID: u.ID, Name: "k", Hash: hash, Prefix: "pdm_0123"}); err != nil {
		t.Fatal(err)
	}
	deadlocks := func() int64 {
		var n int64
		if err := dbprovidertest.RawDB(t, p).QueryRowContext(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()

	// The migration's session looks for deadlocks only after 60s: the
	// request, which waits first, is the victim every time.
	tx := lockingTx(t, ctx, url, "users")

	type result struct {
		user string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		_, ku, err := p.APIKeyGetByHash(ctx, hash)
		r := result{err: err}
		if ku != nil {
			r.user = ku.Username
		}
		done <- r
	}()
	waitLockWait(t, ctx, tx, "users", "the API-key lookup waits for users", func() bool {
		if len(done) == 0 {
			return false
		}
		r := <-done
		t.Fatalf("the API-key lookup returned before the deadlock: user %q, error %v", r.user, r.err)
		return true
	})
	// Completes once PostgreSQL has aborted the request (deadlock_timeout,
	// 1s by default on the request's session).
	if _, err := tx.Exec(ctx, `LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("the migration's second lock: %v (the migration, not the request, was the deadlock's victim)", err)
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE api_keys ADD COLUMN deadlock_test text`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.user != "alice" {
			t.Fatalf("API-key lookup after a deadlock with a migration: user %q, error %v; want alice, no error", r.user, r.err)
		}
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("the API-key lookup did not return")
	}
	if after := deadlocks(); after <= before {
		t.Fatalf("pg_stat_database.deadlocks %d -> %d: the test did not provoke a deadlock", before, after)
	}
}

// TestRunTxRetriesDeadlock: a transaction that PostgreSQL aborts as a
// deadlock's victim is run again by dbprovider.RunTx, and commits.
func TestRunTxRetriesDeadlock(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	p := openURL(t, url)
	ctx := context.Background()
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	a, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "a", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	otx := lockingTx(t, ctx, url, "sessions")
	attempts := 0
	done := make(chan error, 1)
	go func() {
		done <- dbprovider.RunTx(ctx, p, func(tx dbprovider.Tx) error {
			attempts++
			if _, err := tx.UserGetByID(ctx, a.ID); err != nil { // holds users
				return err
			}
			_, err := tx.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: []byte("h"), UserID: a.ID, CSRFToken: "c",
				ExpiresAt: time.Now().Add(time.Hour)}) // waits for sessions
			return err
		})
	}()
	waitLockWait(t, ctx, otx, "sessions", "the transaction waits for sessions", nil)
	if _, err := otx.Exec(ctx, `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("the other transaction's second lock: %v", err)
	}
	if err := otx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunTx after a deadlock: %v, want nil", err)
		}
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("RunTx did not return")
	}
	if attempts < 2 {
		t.Fatalf("RunTx ran the transaction %d time(s): the deadlock did not abort it", attempts)
	}
}

// TestStoreTransactionRetriesDeadlock: the SQL store's own multi-statement
// transactions (here ScheduleDelete, which a request runs: it deletes the
// schedule, then its queued jobs) are run again after a deadlock, as
// RunTx's are, instead of answering the client 409. The other session
// holds jobs and then asks for schedules, which the request holds.
func TestStoreTransactionRetriesDeadlock(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	p := openURL(t, url)
	ctx := context.Background()
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "alice", Role: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "0b6f5a52-4b8e-4b8e-9d1c-2b7d0c1e5f10", Name: "report", OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	next := time.Now().Add(time.Hour).Truncate(time.Second)
	if _, err := p.SchedulePut(ctx, &dbprovider.SchedulePutParams{ContentID: c.ID, Spec: "@every 1h", Timezone: "UTC", Enabled: true, NextRunAt: &next}); err != nil {
		t.Fatal(err)
	}
	deadlocks := func() int64 {
		var n int64
		if err := dbprovidertest.RawDB(t, p).QueryRowContext(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()

	otx := lockingTx(t, ctx, url, "jobs")
	done := make(chan error, 1)
	go func() { done <- p.ScheduleDelete(ctx, c.ID) }()
	waitLockWait(t, ctx, otx, "jobs", "the schedule's deletion waits for jobs", func() bool {
		if len(done) == 0 {
			return false
		}
		t.Fatalf("ScheduleDelete returned before the deadlock: %v", <-done)
		return true
	})
	if _, err := otx.Exec(ctx, `LOCK TABLE schedules IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatalf("the other transaction's second lock: %v (it, not the request, was the deadlock's victim)", err)
	}
	if err := otx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ScheduleDelete after a deadlock: %v, want nil (the transaction run again)", err)
		}
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("ScheduleDelete did not return")
	}
	if _, err := p.ScheduleGet(ctx, c.ID); !podium.IsCode(err, podium.ENOTFOUND) {
		t.Fatalf("the schedule after ScheduleDelete: %v, want ENOTFOUND", err)
	}
	if after := deadlocks(); after <= before {
		t.Fatalf("pg_stat_database.deadlocks %d -> %d: the test did not provoke a deadlock", before, after)
	}
}

// TestStoreWriterBeginsTransactions: the statement retry wraps the pool,
// and must keep the BeginTx that sqlstore's multi-statement methods (job
// claims, orphaned tasks) look for: without it they would run statement by
// statement, outside any transaction.
func TestStoreWriterBeginsTransactions(t *testing.T) {
	t.Parallel()
	p := open(t).(*postgres.Provider)
	type beginner interface {
		BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	}
	if _, ok := p.Store.W.(beginner); !ok {
		t.Fatalf("the store's writer %T cannot begin transactions", p.Store.W)
	}
	tx, err := p.Store.W.(beginner).BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
}

// lockingTx opens a session of its own that looks for deadlocks only after
// 60s (so the other side is always the victim), begins a transaction and
// locks table in ACCESS EXCLUSIVE mode. The test's end rolls it back.
func lockingTx(t *testing.T, ctx context.Context, url, table string) pgx.Tx {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(ctx)) })
	if _, err := conn.Exec(ctx, `SET deadlock_timeout = '60s'`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	if _, err := tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{table}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitLockWait waits until a session of the provider (application_name
// "podium test") of this test's database waits for a lock on table. It
// reads pg_locks, not pg_stat_activity's query: a statement that waits
// while PostgreSQL parses it (a first use, prepared by pgx) still shows
// the session's previous query there. ended, when not nil, fails the test
// if the session's work returned before waiting.
func waitLockWait(t *testing.T, ctx context.Context, tx pgx.Tx, table, what string, ended func() bool) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, what, func() bool {
		if ended != nil && ended() {
			return true
		}
		var n int
		err := tx.Conn().QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
			WHERE NOT l.granted AND a.application_name = 'podium test' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND l.relation = $1::regclass`, table).Scan(&n)
		return err == nil && n > 0
	})
}
