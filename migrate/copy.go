package migrate

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/podiumhq/podium/dbprovider/postgres"
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

// tableCopy is what reading one table of the source gave.
type tableCopy struct {
	rows, bytes int64
	// checksum is the digest's sum (see digest.go), "" when not computed
	// (--check).
	checksum string
}

// readRows streams a table of the snapshot, as stored, into row batches on
// out, taking empty ones from free.
func (r *run) readRows(ctx context.Context, rd *reader, t *table, out chan<- *rowBatch, free <-chan *rowBatch) error {
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
	// In storage order: the digest does not depend on the order, and a
	// table whose key is not its rowid would otherwise be read through its
	// key's index, one table lookup per row.
	query := fmt.Sprintf(`SELECT %s FROM %s`, t.sourceSelectList(), quoteIdent(t.Name))
	err := rd.stream(ctx, query, func(vals []driver.Value) error {
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
func (r *run) readTable(ctx context.Context, rd *reader, t *table, emit func(*chunk) *chunk) (tableCopy, error) {
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
		readErr = r.readRows(ctx, rd, t, out, free)
		close(out)
	}()
	res, err := r.encodeRows(ctx, rd.id, t, out, free, func() error { return readErr }, emit)
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
func (r *run) encodeRows(ctx context.Context, worker int, t *table, in <-chan *rowBatch, free chan<- *rowBatch,
	readErr func() error, emit func(*chunk) *chunk) (tableCopy, error) {
	var res tableCopy
	var dg digest
	// --check computes no digest.
	dig := r.check == nil
	var h []byte
	ncol := len(t.Columns)
	cols := t.Columns
	// rec: each row's hash is the XOR of its columns' hashes (digest.go),
	// from each field (columnHash); only json columns need digest bytes
	// in h.
	rec := dig && r.recordHash()
	digCol := make([]bool, ncol)
	for j := range cols {
		digCol[j] = dig && (!rec || cols[j].kind == kindJSON || cols[j].kind == kindJSONB)
	}
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
			h = h[:0]
			refused := false
			var rh uint64
			for j := range cols {
				var size int
				var err error
				fs := len(w)
				if rec {
					h = h[:0]
				}
				h, w, size, err = cols[j].encode(row[j], h, w, digCol[j])
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
				if rec {
					rh ^= cols[j].columnHash(w[fs:], h, columnHashSeed(j))
				}
				res.bytes += int64(size)
			}
			switch {
			case refused:
				w = w[:rowStart]
			case rec:
				dg.addHash(rh)
			case dig:
				dg.add(h)
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
			r.progress(Event{Phase: PhaseRead, Worker: worker, Table: t.Name, Rows: res.rows, Bytes: res.bytes})
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
	if dig {
		res.checksum = dg.sum()
	}
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
// while COPY sends it to the target from this one, on c (the table's
// transaction, whose search_path is the staging schema).
func (r *run) copyTable(ctx context.Context, rd *reader, c *postgres.Conn, t *table) (tableCopy, error) {
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
		tc, err := r.readTable(ctx, rd, t, func(c *chunk) *chunk {
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
	// FREEZE (the table was emptied in this transaction, see loadTable):
	// the rows are written frozen, so the index builds, the digest and
	// the foreign key checks that read them later in other transactions
	// do not each set their hint bits and dirty every page again.
	stmt := fmt.Sprintf(`COPY %s (%s) FROM STDIN (FORMAT binary, FREEZE)`, quoteIdent(t.Name), strings.Join(cols, ", "))
	src := &copyReader{ctx: ctx, in: chunks, free: free, onRows: func(n int64) {
		r.progress(Event{Phase: PhaseCopy, Worker: rd.id, Table: t.Name, Rows: n})
		testPause(PhaseCopy)
	}}
	n, copyErr := c.CopyFrom(ctx, src, stmt)
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
	r.progress(Event{Phase: PhaseCopy, Worker: rd.id, Table: t.Name, Rows: n, Done: true})
	return res.tc, nil
}
