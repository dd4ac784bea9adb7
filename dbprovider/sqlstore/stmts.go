package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Stmts keeps statements prepared on one writer handle, for the few
// statements that are large, frequent and always the same text: the usage
// INSERTs of insertRows (a full chunk of 500 rows, and the power-of-two
// row counts a smaller batch is cut into), whose parameters and per-row
// CHECK constraints SQLite parsed and compiled anew on each batch, a
// quarter of recording's cost under load.
//
// Only the SQLite provider uses it. On PostgreSQL pgx's database/sql
// driver already prepares each statement once per connection (its
// statement cache), and a statement prepared through database/sql would
// be bound to server sessions that a pooler in front may not keep.
type Stmts struct {
	db *sql.DB

	mu     sync.Mutex
	m      map[stmtKey]*sql.Stmt
	closed bool
}

// stmtKey names a cached statement: what it inserts and how many rows.
type stmtKey struct {
	table, cols string
	rows        int
}

// NewStmts returns a cache of statements prepared on db, which must be the
// handle that Store.W writes through (or the one its transactions begin
// on).
func NewStmts(db *sql.DB) *Stmts {
	return &Stmts{db: db, m: map[stmtKey]*sql.Stmt{}}
}

// get returns the statement of k, preparing query (which must be k's
// text) the first time.
//
// The lock is not held while preparing: the preparation waits for the
// writer's connection, which a batch's transaction may hold while it
// looks up its statements under the same lock (prepared), and each would
// wait for the other until its context ended. Two first uses at once may
// both prepare; the second closes its copy.
func (c *Stmts) get(ctx context.Context, k stmtKey, query func() string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, closed := c.m[k], c.closed
	c.mu.Unlock()
	if closed {
		return nil, errors.New("sqlstore: statements closed")
	}
	if st != nil {
		return st, nil
	}
	// The context only bounds the preparation; the statement outlives it.
	st, err := c.db.PrepareContext(ctx, query())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = st.Close()
		return nil, errors.New("sqlstore: statements closed")
	}
	if prev := c.m[k]; prev != nil {
		_ = st.Close()
		return prev, nil
	}
	c.m[k] = st
	return st, nil
}

// on reports whether q is the handle the statements are prepared on.
func (c *Stmts) on(q Queryer) bool {
	db, ok := q.(*sql.DB)
	return ok && db == c.db
}

// prepare prepares the statement of k (text query) on the handle, unless
// it is already; exec in a transaction then finds it.
func (c *Stmts) prepare(ctx context.Context, k stmtKey, query func() string) error {
	_, err := c.get(ctx, k, query)
	return err
}

// Close closes the statements; later uses fail. Call it before closing
// the handle.
func (c *Stmts) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, st := range c.m {
		errs = append(errs, st.Close())
		delete(c.m, k)
	}
	c.closed = true
	return errors.Join(errs...)
}

// exec runs the statement of k (text query) on q with args: prepared
// once on the cache's handle. In a transaction on that handle it runs the
// statement already prepared, if any (database/sql reuses it on the
// transaction's connection, the writer's only one), and the text
// otherwise: preparing on the handle would wait for the connection the
// transaction holds. On any other handle it runs the text.
func (c *Stmts) exec(ctx context.Context, q Queryer, k stmtKey, query func() string, args []any) (sql.Result, error) {
	switch h := q.(type) {
	case *sql.DB:
		if h == c.db {
			st, err := c.get(ctx, k, query)
			if err != nil {
				return nil, err
			}
			return st.ExecContext(ctx, args...)
		}
	case *sql.Tx:
		if st := c.prepared(k); st != nil {
			txst := h.StmtContext(ctx, st)
			defer txst.Close()
			return txst.ExecContext(ctx, args...)
		}
	}
	return q.ExecContext(ctx, query(), args...)
}

// prepared returns the statement of k if it is prepared, else nil.
func (c *Stmts) prepared(k stmtKey) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.m[k]
}
