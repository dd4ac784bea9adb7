package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Conn is one connection of the provider's pool, held by one goroutine
// for bulk work: "podium migrate db" loads each table on one, and its
// benchmark loads the floor on one. Its statements run in order on one
// server session, so a transaction begun with Begin spans the calls up to
// Commit or Rollback. What it offers is what a bulk load needs of the
// driver (binary COPY both ways, results in binary format); callers
// outside dbprovider never see a pgx type.
type Conn struct {
	pc *pgxpool.Conn
	tx pgx.Tx // the open transaction, if any
}

// Row is one row of Conn.QueryRow: Scan reports pgx's ErrNoRows as
// sql.ErrNoRows.
type Row interface {
	Scan(dest ...any) error
}

// Acquire takes a connection of the pool, held until Release.
func (p *Provider) Acquire(ctx context.Context) (*Conn, error) {
	pc, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: acquire a connection: %w", err)
	}
	return &Conn{pc: pc}, nil
}

// SQLConn returns a connection of the pool as database/sql sees it, for
// callers that compose database/sql statements (the catalog queries and
// DDL of "podium migrate db"); the caller closes it.
func (p *Provider) SQLConn(ctx context.Context) (*sql.Conn, error) {
	return p.db.Conn(ctx)
}

// Release rolls back a transaction left open and gives the connection
// back to the pool.
func (c *Conn) Release() {
	if c.tx != nil {
		_ = c.tx.Rollback(context.Background())
		c.tx = nil
	}
	c.pc.Release()
}

// PID is the server process of the connection (pg_backend_pid()).
func (c *Conn) PID() uint32 { return c.pc.Conn().PgConn().PID() }

// Begin starts a transaction on the connection.
func (c *Conn) Begin(ctx context.Context) error {
	if c.tx != nil {
		return errors.New("postgres: begin: a transaction is already open on this connection")
	}
	tx, err := c.pc.Begin(ctx)
	if err != nil {
		return err
	}
	c.tx = tx
	return nil
}

// Commit commits the open transaction. A transaction that failed earlier
// is rolled back by the server, and Commit then returns an error
// (pgx.ErrTxCommitRollback), never nil.
func (c *Conn) Commit(ctx context.Context) error {
	if c.tx == nil {
		return errors.New("postgres: commit: no transaction is open on this connection")
	}
	tx := c.tx
	c.tx = nil
	return tx.Commit(ctx)
}

// Rollback rolls back the open transaction; without one it does nothing.
func (c *Conn) Rollback(ctx context.Context) error {
	if c.tx == nil {
		return nil
	}
	tx := c.tx
	c.tx = nil
	return tx.Rollback(ctx)
}

// InTx runs fn in a transaction of its own: committed when fn returns nil,
// rolled back otherwise.
func (c *Conn) InTx(ctx context.Context, fn func() error) error {
	if err := c.Begin(ctx); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_ = c.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return c.Commit(ctx)
}

// Exec runs sql, which may hold several statements when there are no
// args.
func (c *Conn) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := c.pc.Exec(ctx, sql, args...)
	return err
}

// QueryRow runs a query that returns at most one row.
func (c *Conn) QueryRow(ctx context.Context, sql string, args ...any) Row {
	return row{c.pc.QueryRow(ctx, sql, args...)}
}

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

// QueryBinary runs query with every result column in PostgreSQL's binary
// format and calls fn with each row's raw values (nil for NULL), which are
// valid only during the call. An error of fn ends the query and is
// returned as it is.
func (c *Conn) QueryBinary(ctx context.Context, query string, fn func(raw [][]byte) error) error {
	rows, err := c.pc.Query(ctx, query, pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.RawValues()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CopyFrom runs stmt, a COPY ... FROM STDIN, with r as its data (in the
// format stmt names), and returns the number of rows it loaded.
func (c *Conn) CopyFrom(ctx context.Context, r io.Reader, stmt string) (int64, error) {
	tag, err := c.pc.Conn().PgConn().CopyFrom(ctx, r, stmt)
	return tag.RowsAffected(), err
}

// CopyTo runs stmt, a COPY ... TO STDOUT, writing its data to w, and
// returns the number of rows.
func (c *Conn) CopyTo(ctx context.Context, w io.Writer, stmt string) (int64, error) {
	tag, err := c.pc.Conn().PgConn().CopyTo(ctx, w, stmt)
	return tag.RowsAffected(), err
}

// CopyRows loads rows, Go values of the columns' types, into table's
// columns with a binary COPY that the driver encodes.
func (c *Conn) CopyRows(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	return c.pc.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
}

// QuoteIdent quotes a PostgreSQL identifier.
func QuoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// SafeToRetry reports an error of a statement that certainly did not
// reach the server (the connection failed before sending it).
func SafeToRetry(err error) bool { return pgconn.SafeToRetry(err) }
