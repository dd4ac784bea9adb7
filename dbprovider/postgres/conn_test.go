package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/postgres"
)

// TestConn: a held connection's transaction spans its calls (Rollback
// undoes, Commit keeps), binary COPY goes both ways, QueryBinary gives
// the binary values, and no pgx error type leaks (ErrNoRows is sql's).
func TestConn(t *testing.T) {
	ctx := context.Background()
	p := open(t).(*postgres.Provider)
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if c.PID() == 0 {
		t.Error("PID is 0")
	}
	if err := c.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY, s text)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := c.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Rolled back: the rows go.
	if err := c.Begin(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Begin(ctx); err == nil {
		t.Error("a second Begin on the same connection succeeded")
	}
	if n, err := c.CopyRows(ctx, "t", []string{"id", "s"}, [][]any{{1, "a"}, {2, "b"}}); err != nil || n != 2 {
		t.Fatalf("CopyRows = %d, %v", n, err)
	}
	if got := count(); got != 2 {
		t.Fatalf("inside the transaction: %d rows, want 2", got)
	}
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 0 {
		t.Fatalf("after Rollback: %d rows, want 0", got)
	}

	// Committed, through a binary COPY stream written by COPY TO.
	if err := c.InTx(ctx, func() error {
		_, err := c.CopyRows(ctx, "t", []string{"id", "s"}, [][]any{{1, "a"}, {2, "b"}, {3, nil}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if n, err := c.CopyTo(ctx, &stream, `COPY t (id, s) TO STDOUT (FORMAT binary)`); err != nil || n != 3 {
		t.Fatalf("CopyTo = %d, %v", n, err)
	}
	if err := c.Exec(ctx, `TRUNCATE t`); err != nil {
		t.Fatal(err)
	}
	if n, err := c.CopyFrom(ctx, bytes.NewReader(stream.Bytes()), `COPY t (id, s) FROM STDIN (FORMAT binary)`); err != nil || n != 3 {
		t.Fatalf("CopyFrom = %d, %v", n, err)
	}
	var got []string
	if err := c.QueryBinary(ctx, `SELECT s FROM t ORDER BY id`, func(raw [][]byte) error {
		if raw[0] == nil {
			got = append(got, "NULL")
		} else {
			got = append(got, string(raw[0]))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a,b,NULL" {
		t.Errorf("QueryBinary rows = %v, want a, b, NULL", got)
	}
	stop := errors.New("stop")
	if err := c.QueryBinary(ctx, `SELECT id FROM t`, func([][]byte) error { return stop }); err != stop {
		t.Errorf("QueryBinary returned %v, want fn's error", err)
	}

	// A failed transaction does not commit.
	err = c.InTx(ctx, func() error { return c.Exec(ctx, `INSERT INTO t VALUES (1, 'again')`) })
	if _, ok := p.ErrorDetail(err); !ok {
		t.Errorf("duplicate key in InTx: %v, want a database error", err)
	}
	if code, ok := postgres.SQLState(fmt.Errorf("wrapped: %w", err)); !ok || code != "23505" {
		t.Errorf("SQLState of a wrapped duplicate key = %q, %t; want 23505, true", code, ok)
	}
	if code, ok := postgres.SQLState(errors.New("not the server's")); ok {
		t.Errorf("SQLState of an error of ours = %q, true; want false", code)
	}
	if err := c.QueryRow(ctx, `SELECT id FROM t WHERE id = 99`).Scan(new(int)); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("QueryRow of no row: %v, want sql.ErrNoRows", err)
	}
	if err := c.Commit(ctx); err == nil {
		t.Error("Commit without a transaction succeeded")
	}

	sc, err := p.SQLConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var n int
	if err := sc.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Errorf("SQLConn count = %d, %v; want 3", n, err)
	}
}
