package sqlite_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// TestRowReaderValues: a RowReader gives the values database/sql's driver
// gives for every storage class (empty text and blobs, NULL, values over a
// page, UTF-8), refuses date-declared columns, cannot write, and stops
// when its context ends.
func TestRowReaderValues(t *testing.T) {
	ctx := context.Background()
	p := newFile(t)
	long := strings.Repeat("long é value ", 2000)
	write(t, p,
		`CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, f REAL, s TEXT, b BLOB, x, at DATETIME)`,
		`INSERT INTO t (id, i, f, s, b, x) VALUES (1, -9223372036854775808, 1.5, 'héllo', x'00ff10', 7)`,
		`INSERT INTO t (id, i, f, s, b, x) VALUES (2, 0, -0.0, '', x'', 'text')`,
		`INSERT INTO t (id, i, f, s, b, x) VALUES (3, NULL, NULL, NULL, NULL, 2.25)`,
		`INSERT INTO t (id, i, f, s, b, x) VALUES (4, 9223372036854775807, 1e300, '`+long+`', zeroblob(5000), x'61')`,
	)
	const query = `SELECT id, i, f, s, b, x FROM t ORDER BY id`
	conn, err := p.ReadDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var want [][]driver.Value
	err = conn.Raw(func(dc any) error {
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, query, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		for {
			vals := make([]driver.Value, len(rows.Columns()))
			if err := rows.Next(vals); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
			want = append(want, vals)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.OpenRowReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got [][]driver.Value
	if err := r.Stream(ctx, query, func(vals []driver.Value) error {
		got = append(got, append([]driver.Value(nil), vals...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !reflect.DeepEqual(got, want) {
		t.Errorf("RowReader values differ from the driver's:\n got %#v\nwant %#v", got, want)
	}

	if err := r.Stream(ctx, `SELECT id, at FROM t`, func([]driver.Value) error { return nil }); !errors.Is(err, sqlite.ErrDriverValues) {
		t.Errorf("a DATETIME column: %v, want ErrDriverValues", err)
	}
	if err := r.Exec(`INSERT INTO t (id) VALUES (5)`); err == nil {
		t.Error("a RowReader wrote a row")
	}
	stop := errors.New("stop")
	n := 0
	if err := r.Stream(ctx, query, func([]driver.Value) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("fn's error: %v after %d rows, want it after 1", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Stream(cctx, query, func([]driver.Value) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	// A sort that runs long before its first row ends with the context,
	// whether it ends before the sort starts or during it.
	cctx, cancel = context.WithCancel(ctx)
	go cancel()
	err = r.Stream(cctx, `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 20000000) SELECT n FROM c ORDER BY -n`,
		func([]driver.Value) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled during a sort: %v", err)
	}
	// A cancel that comes after Stream's first look at the context but
	// before its first step still ends the query: SQLite forgets an
	// interrupt made while no statement runs.
	n = 0
	err = r.Stream(&cancelAfterCheck{Context: ctx}, `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 5000000) SELECT n FROM c`,
		func([]driver.Value) error { n++; return nil })
	if !errors.Is(err, context.Canceled) || n == 5000000 {
		t.Errorf("canceled before the first step: %v after %d rows, want it before the last", err, n)
	}
	// The connection reads on after an interrupt.
	n = 0
	if err := r.Stream(ctx, query, func([]driver.Value) error { n++; return nil }); err != nil || n != 4 {
		t.Errorf("after an interrupt: %d rows, %v", n, err)
	}
}

// newFile is a new database file, closed at the test's end.
func newFile(t *testing.T) *sqlite.Provider {
	t.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// write runs stmts in one write transaction and commits it.
func write(t *testing.T, p *sqlite.Provider, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := p.WriteTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// cancelAfterCheck is a context already done whose first Err says it is
// not: a cancel that lands just after the caller's first check.
type cancelAfterCheck struct {
	context.Context
	checked atomic.Bool
}

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *cancelAfterCheck) Done() <-chan struct{} { return closedDone }

func (c *cancelAfterCheck) Err() error {
	if c.checked.Swap(true) {
		return context.Canceled
	}
	return nil
}
