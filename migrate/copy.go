package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A table travels in three stages, each on its own goroutine, so that the
// SQLite reader, the converter and the COPY stream (and PostgreSQL's
// backend, on the other side of it) overlap on the cores there are:
//
//	SQLite rows --rowBatch--> convert, hash, encode --chunk--> COPY
//
// At most batchesInFlight row batches (each flushed at batchRows rows or
// batchBytes bytes of values) and chunksInFlight chunks of COPY data (each
// flushed at chunkBytes) exist at a time, so memory is bounded whatever the
// table's size or its rows' width.
const (
	batchRows       = 1024
	batchBytes      = 1 << 20
	batchesInFlight = 4
	chunkBytes      = 256 << 10
	chunksInFlight  = 4
	hashFlush       = 64 << 10
)

// rowBatch is rows as the SQLite driver returned them, n rows of the
// table's width in vals.
type rowBatch struct {
	vals []driver.Value
	n    int
}

// chunk is a piece of a table's binary COPY stream. rows is the number of
// rows whose encoding ends in it; last marks the chunk holding the stream's
// trailer: a stream that ends without it is a failed read, never a short
// table.
type chunk struct {
	buf  []byte
	rows int64
	last bool
}

// Binary COPY framing: the signature, flags and header extension length,
// then per row a 16-bit field count and the fields, then -1 as the count.
const (
	copySignature = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	copyTrailer   = "\xff\xff"
)

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

// readRows streams a table of the snapshot in primary key order into row
// batches on out, taking empty ones from free.
func (r *run) readRows(ctx context.Context, t *table, out chan<- *rowBatch, free <-chan *rowBatch) error {
	var cur *rowBatch
	size := 0
	take := func() bool {
		select {
		case cur = <-free:
		case <-ctx.Done():
			return false
		}
		cur.vals, cur.n, size = cur.vals[:0], 0, 0
		return true
	}
	send := func() bool {
		select {
		case out <- cur:
			cur = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !take() {
		return ctx.Err()
	}
	query := fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.sourceSelectList(), quoteIdent(t.Name), t.orderBy(false))
	err := r.src.stream(ctx, query, func(vals []driver.Value) error {
		// The driver reuses vals, not the values: keeping them is safe.
		cur.vals = append(cur.vals, vals...)
		cur.n++
		for _, v := range vals {
			switch x := v.(type) {
			case string:
				size += len(x)
			case []byte:
				size += len(x)
			default:
				size += 8
			}
		}
		if cur.n == batchRows || size >= batchBytes {
			if !send() || !take() {
				return ctx.Err()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cur.n > 0 && !send() {
		return ctx.Err()
	}
	return nil
}

// readTable reads a table of the snapshot (readRows, on its own
// goroutine), converts, checks and hashes every value, and hands the table's
// binary COPY stream to emit in chunks; emit returns the chunk to fill next,
// or nil to stop. A dry run's emit just hands the chunk back.
func (r *run) readTable(ctx context.Context, t *table, emit func(*chunk) *chunk) (tableCopy, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan *rowBatch, batchesInFlight)
	free := make(chan *rowBatch, batchesInFlight)
	ncol := len(t.Columns)
	for range batchesInFlight {
		free <- &rowBatch{vals: make([]driver.Value, 0, batchRows*ncol)}
	}
	// readErr is set before out is closed, so whoever sees out closed may
	// read it.
	var readErr error
	go func() {
		readErr = r.readRows(ctx, t, out, free)
		close(out)
	}()
	res, err := r.encodeRows(ctx, t, out, free, func() error { return readErr }, emit)
	if err != nil {
		cancel()
	}
	// Wait for the reader: it uses the snapshot's connection, which must
	// be free again when this returns.
	for range out {
	}
	return res, err
}

// encodeRows is readTable's conversion stage. readErr is the reader's
// error, once in is closed: the stream gets its trailer only if the reader
// read every row.
func (r *run) encodeRows(ctx context.Context, t *table, in <-chan *rowBatch, free chan<- *rowBatch,
	readErr func() error, emit func(*chunk) *chunk) (tableCopy, error) {
	var res tableCopy
	cs := newChecksum()
	ncol := len(t.Columns)
	cols := t.Columns
	cur := emit(nil)
	if cur == nil {
		return res, ctx.Err()
	}
	w := append(cur.buf[:0], copySignature...)
	for b := range in {
		for i := range b.n {
			row := b.vals[i*ncol : (i+1)*ncol : (i+1)*ncol]
			rowStart := len(w)
			w = binary.BigEndian.AppendUint16(w, uint16(ncol))
			h := cs.buf
			refused := false
			for j := range cols {
				var size int
				var err error
				h, w, size, err = cols[j].encode(row[j], h, w)
				if err != nil {
					if r.check == nil {
						return res, t.rowError(row, err)
					}
					// --check: note it, and look at the row's other
					// columns too; the row is dropped from the stream.
					if rerr := r.check.refuse(t, row, err); rerr != nil {
						return res, rerr
					}
					refused = true
					continue
				}
				res.bytes += int64(size)
			}
			if refused {
				w, h = w[:rowStart], cs.buf
			}
			cs.buf = h
			if len(cs.buf) >= hashFlush {
				cs.flush()
			}
			res.rows++
			if len(w) >= chunkBytes {
				cur.buf, cur.rows, cur.last = w, res.rows, false
				if cur = emit(cur); cur == nil {
					return res, ctx.Err()
				}
				w = cur.buf[:0]
			}
		}
		clear(b.vals) // let the values go before the batch is refilled
		free <- b
		if r.opts.DryRun || r.check != nil {
			r.progress(Event{Phase: PhaseRead, Table: t.Name, Rows: res.rows, Bytes: res.bytes})
		}
	}
	if err := readErr(); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	cur.buf, cur.rows, cur.last = append(w, copyTrailer...), res.rows, true
	if emit(cur) == nil {
		return res, ctx.Err()
	}
	res.checksum = cs.sum()
	return res, nil
}

// errSourceStopped ends a COPY whose source side failed: COPY is then
// aborted (CopyFail), never ended, so a short table never looks complete.
// The caller reports the source's own error.
var errSourceStopped = errors.New("migrate db: reading the source stopped")

// copyReader is the COPY stream of one table, read from the chunks the
// converter emits.
type copyReader struct {
	ctx    context.Context
	in     <-chan *chunk
	free   chan<- *chunk
	cur    *chunk
	off    int
	ended  bool
	onRows func(rows int64)
}

func (c *copyReader) Read(p []byte) (int, error) {
	for c.cur == nil || c.off == len(c.cur.buf) {
		if c.cur != nil {
			c.onRows(c.cur.rows)
			c.ended = c.cur.last
			c.free <- c.cur
			c.cur = nil
		}
		select {
		case ch, ok := <-c.in:
			if !ok {
				if c.ended {
					return 0, io.EOF
				}
				return 0, errSourceStopped
			}
			c.cur, c.off = ch, 0
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		}
	}
	n := copy(p, c.cur.buf[c.off:])
	c.off += n
	return n, nil
}

// copyTable reads a table of the source (readTable, on other goroutines)
// while COPY sends it to the target from this one.
func (r *run) copyTable(ctx context.Context, t *table) (tableCopy, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *chunk, chunksInFlight)
	free := make(chan *chunk, chunksInFlight+1)
	for range chunksInFlight {
		free <- &chunk{buf: make([]byte, 0, chunkBytes+64<<10)}
	}
	type result struct {
		tc  tableCopy
		err error
	}
	done := make(chan result, 1)
	go func() {
		tc, err := r.readTable(ctx, t, func(c *chunk) *chunk {
			if c != nil {
				select {
				case chunks <- c:
				case <-ctx.Done():
					return nil
				}
			}
			select {
			case c = <-free:
				return c
			case <-ctx.Done():
				return nil
			}
		})
		close(chunks)
		done <- result{tc, err}
	}()
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = quoteIdent(c.Name)
	}
	stmt := fmt.Sprintf(`COPY %s (%s) FROM STDIN (FORMAT binary)`, quoteIdent(t.Name), strings.Join(cols, ", "))
	src := &copyReader{ctx: ctx, in: chunks, free: free, onRows: func(n int64) {
		r.progress(Event{Phase: PhaseCopy, Table: t.Name, Rows: n})
	}}
	var n int64
	copyErr := r.dst.pgx(func(c *pgx.Conn) error {
		tag, err := c.PgConn().CopyFrom(ctx, src, stmt)
		n = tag.RowsAffected()
		return err
	})
	if copyErr != nil {
		cancel()
	}
	res := <-done
	// The source's own error comes first, unless it is only the
	// cancellation that a failed COPY caused.
	if res.err != nil && (copyErr == nil || !errors.Is(res.err, context.Canceled) || parent.Err() != nil) {
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
//
// COPY into a table created (or emptied) in this transaction appends rows
// in the order they were sent, which is key order, so the table is first
// read as it lies, without ORDER BY: no index scan, and no sort (a text key
// compared in the "C" collation is sorted, not read by its index, unless
// the database's collation is "C"). Each row's key is checked to follow
// the previous one's; only if one does not is the table read again, sorted.
func (r *run) targetChecksum(ctx context.Context, t *table) (int64, string, error) {
	if t.keyComparable() {
		n, sum, inOrder, err := r.targetChecksumRead(ctx, t, false)
		if err != nil || inOrder {
			return n, sum, err
		}
		r.log.WithField("table", t.Name).Debug("target rows are not stored in key order: reading them back sorted")
	}
	n, sum, _, err := r.targetChecksumRead(ctx, t, true)
	return n, sum, err
}

// targetChecksumRead is one read of targetChecksum: sorted by the key, or
// as stored, in which case inOrder reports whether every row's key followed
// the previous one's (when it is false, n and sum mean nothing).
func (r *run) targetChecksumRead(ctx context.Context, t *table, sorted bool) (n int64, sum string, inOrder bool, err error) {
	cs := newChecksum()
	query := fmt.Sprintf(`SELECT %s FROM %s`, t.selectList(), quoteIdent(t.Name))
	if sorted {
		query += ` ORDER BY ` + t.orderBy(true)
	}
	prev := make([][]byte, len(t.PK)) // nil: NULL
	keep := make([][]byte, len(t.PK))
	for i := range keep {
		keep[i] = make([]byte, 0, 64)
	}
	inOrder = true
	err = r.dst.pgx(func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, pgx.QueryResultFormats{pgx.BinaryFormatCode})
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			raw := rows.RawValues()
			if !sorted {
				if cs.rows > 0 && t.compareKeys(prev, raw) > 0 {
					inOrder = false
					return nil
				}
				for i, k := range t.PK {
					if raw[k] == nil {
						prev[i] = nil
					} else {
						keep[i] = append(keep[i][:0], raw[k]...)
						prev[i] = keep[i]
					}
				}
			}
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
		return 0, "", false, fmt.Errorf("migrate db: verify %s: %w", t.Name, err)
	}
	if !inOrder {
		return 0, "", false, nil
	}
	r.progress(Event{Phase: PhaseVerify, Table: t.Name, Rows: cs.rows, Done: true})
	return cs.rows, cs.sum(), true, nil
}
