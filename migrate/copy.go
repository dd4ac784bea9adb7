package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/jackc/pgx/v5"
)

// Rows travel from the SQLite reader to COPY in batches. At most
// batchesInFlight exist at a time and each is flushed at batchRows rows or
// batchBytes bytes of values, so memory is bounded whatever the table's
// size or its rows' width.
const (
	batchRows       = 1024
	batchBytes      = 1 << 20
	batchesInFlight = 4
	hashFlush       = 64 << 10
)

type batch struct {
	rows [][]any
	vals []any
	err  error
}

// checksum accumulates the canonical encoding of a table's rows, in
// primary key order.
type checksum struct {
	h    hash.Hash
	buf  []byte
	rows int64
}

func newChecksum() *checksum { return &checksum{h: sha256.New(), buf: make([]byte, 0, hashFlush+4096)} }

func (c *checksum) flush() {
	c.h.Write(c.buf)
	c.buf = c.buf[:0]
}

func (c *checksum) sum() string {
	c.flush()
	return hex.EncodeToString(c.h.Sum(nil))
}

// tableCopy is what reading one table of the source gave.
type tableCopy struct {
	rows, bytes int64
	checksum    string
}

// readTable streams a table of the snapshot in primary key order, converts
// each value, hashes it and hands the rows to emit in batches (emit nil:
// a dry run, which only converts and hashes).
func (r *run) readTable(ctx context.Context, t *table, emit func(*batch) bool, free <-chan *batch) (tableCopy, error) {
	cs := newChecksum()
	var res tableCopy
	ncol := len(t.Columns)
	var cur *batch
	curBytes := 0
	next := func() bool {
		if emit == nil {
			if cur == nil {
				cur = &batch{vals: make([]any, batchRows*ncol)}
			}
			cur.rows = cur.rows[:0]
			return true
		}
		select {
		case cur = <-free:
		case <-ctx.Done():
			return false
		}
		cur.rows = cur.rows[:0]
		if cap(cur.vals) < batchRows*ncol {
			cur.vals = make([]any, batchRows*ncol)
		}
		curBytes = 0
		return true
	}
	if !next() {
		return res, ctx.Err()
	}
	query := fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.sourceSelectList(), quoteIdent(t.Name), t.orderBy(false))
	err := r.src.stream(ctx, query, func(vals []driver.Value) error {
		n := len(cur.rows)
		row := cur.vals[n*ncol : (n+1)*ncol : (n+1)*ncol]
		for i := range t.Columns {
			v, buf, size, err := t.Columns[i].convert(vals[i], cs.buf)
			if err != nil {
				return t.rowError(vals, err)
			}
			cs.buf = buf
			row[i] = v
			curBytes += size
			res.bytes += int64(size)
		}
		if len(cs.buf) >= hashFlush {
			cs.flush()
		}
		cur.rows = append(cur.rows, row)
		res.rows++
		if len(cur.rows) == batchRows || curBytes >= batchBytes {
			if emit == nil {
				r.progress(Event{Phase: PhaseRead, Table: t.Name, Rows: res.rows, Bytes: res.bytes})
				cur.rows = cur.rows[:0]
				return nil
			}
			if !emit(cur) {
				return ctx.Err()
			}
			if !next() {
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if emit != nil && len(cur.rows) > 0 {
		if !emit(cur) {
			return res, ctx.Err()
		}
	}
	res.checksum = cs.sum()
	return res, nil
}

// batchSource feeds CopyFrom from the reader's batches.
type batchSource struct {
	ch    <-chan *batch
	free  chan<- *batch
	cur   *batch
	i     int
	err   error
	onRow func(n int)
}

func (s *batchSource) Next() bool {
	s.i++
	for s.cur == nil || s.i >= len(s.cur.rows) {
		if s.cur != nil {
			s.onRow(len(s.cur.rows))
			s.free <- s.cur
			s.cur = nil
		}
		b, ok := <-s.ch
		if !ok {
			return false
		}
		if b.err != nil {
			s.err = b.err
			return false
		}
		s.cur, s.i = b, 0
	}
	return true
}

func (s *batchSource) Values() ([]any, error) { return s.cur.rows[s.i], nil }

func (s *batchSource) Err() error { return s.err }

// copyTable reads a table of the source in one goroutine while COPY sends
// it to the target in this one: SQLite decoding, conversion and hashing
// overlap with the network and PostgreSQL's work.
func (r *run) copyTable(ctx context.Context, t *table) (tableCopy, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *batch, batchesInFlight)
	free := make(chan *batch, batchesInFlight+1)
	for range batchesInFlight {
		free <- &batch{}
	}
	type result struct {
		tc  tableCopy
		err error
	}
	done := make(chan result, 1)
	go func() {
		tc, err := r.readTable(ctx, t, func(b *batch) bool {
			select {
			case ch <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}, free)
		if err != nil {
			// Make COPY fail (CopyFrom then aborts the COPY) rather than
			// end: a short table must never look complete.
			select {
			case ch <- &batch{err: err}:
			case <-ctx.Done():
			}
		}
		close(ch)
		done <- result{tc, err}
	}()
	var copied int64
	src := &batchSource{ch: ch, free: free, i: -1, onRow: func(n int) {
		copied += int64(n)
		r.progress(Event{Phase: PhaseCopy, Table: t.Name, Rows: copied})
	}}
	var n int64
	copyErr := r.dst.pgx(func(c *pgx.Conn) error {
		var err error
		n, err = c.CopyFrom(ctx, pgx.Identifier{t.Name}, t.columnNames(), src)
		return err
	})
	if copyErr != nil {
		cancel()
	}
	res := <-done
	if res.err != nil {
		return res.tc, res.err
	}
	if copyErr != nil {
		return res.tc, fmt.Errorf("migrate db: copy %s: %w", t.Name, copyErr)
	}
	if n != res.tc.rows {
		return res.tc, fmt.Errorf("migrate db: copy %s: COPY took %d rows of %d", t.Name, n, res.tc.rows)
	}
	r.progress(Event{Phase: PhaseCopy, Table: t.Name, Rows: n, Done: true})
	return res.tc, nil
}

// targetChecksum reads a table back from the target, inside the
// transaction, in primary key order and binary format, and computes its row
// count and checksum with the same canonical encoding as the source side.
func (r *run) targetChecksum(ctx context.Context, t *table) (int64, string, error) {
	cs := newChecksum()
	query := fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.selectList(), quoteIdent(t.Name), t.orderBy(true))
	err := r.dst.pgx(func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, pgx.QueryResultFormats{pgx.BinaryFormatCode})
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			raw := rows.RawValues()
			for i := range t.Columns {
				if cs.buf, err = t.Columns[i].appendTargetCanonical(cs.buf, raw[i]); err != nil {
					return fmt.Errorf("column %s: %w", t.Columns[i].Name, err)
				}
			}
			if len(cs.buf) >= hashFlush {
				cs.flush()
			}
			cs.rows++
			if cs.rows%(16*batchRows) == 0 {
				r.progress(Event{Phase: PhaseVerify, Table: t.Name, Rows: cs.rows})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, "", fmt.Errorf("migrate db: verify %s: %w", t.Name, err)
	}
	r.progress(Event{Phase: PhaseVerify, Table: t.Name, Rows: cs.rows, Done: true})
	return cs.rows, cs.sum(), nil
}
