package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// RowReader is a read-only connection of its own to the database file, for
// reading whole tables fast (migrate db's source). database/sql's driver
// opens every connection with SQLITE_OPEN_FULLMUTEX, so each of the three
// calls it makes per value (type, bytes, text) and each step takes and
// releases the connection's mutex, through modernc's emulated pthread
// mutex: with the page reads, the largest cost of reading a million rows
// (about 40 % of migrate db's CPU). A RowReader is opened with
// SQLITE_OPEN_NOMUTEX and called directly through modernc's statement API,
// so it is not safe for concurrent use: one goroutine at a time.
//
// Its values are the driver's (see Stream), so a caller may use either.
type RowReader struct {
	tls *libc.TLS
	db  uintptr
}

// ErrDriverValues is returned by Stream, before any row, for a query with
// a column declared DATE, DATETIME or TIMESTAMP: the driver turns their
// text into time.Time with its own parser, which a RowReader does not
// copy; read such a query through database/sql.
var ErrDriverValues = errors.New("sqlite: a date-declared column: read it through the driver")

// Texts up to arenaMax bytes are copied into blocks of arenaBlock bytes.
const (
	arenaMax   = 1 << 10
	arenaBlock = 64 << 10
)

// OpenRowReader opens a RowReader on the provider's file, with the
// provider's busy timeout, unable to write (query_only).
func (p *Provider) OpenRowReader() (*RowReader, error) {
	r := &RowReader{tls: libc.NewTLS()}
	name, err := libc.CString(p.path)
	if err != nil {
		r.tls.Close()
		return nil, err
	}
	defer libc.Xfree(r.tls, name)
	pdb := r.tls.Alloc(8)
	rc := sqlite3.Xsqlite3_open_v2(r.tls, name, pdb,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	r.db = uintptr(binary.NativeEndian.Uint64(libc.GoBytes(pdb, 8)))
	r.tls.Free(8)
	if rc != sqlite3.SQLITE_OK {
		err := r.err(rc)
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", p.path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(r.tls, r.db, 1)
	sqlite3.Xsqlite3_busy_timeout(r.tls, r.db, 10000)
	// A small page cache (256 KiB, not 2 MB): a scan visits each page
	// once, and the process's memory is bounded (migrate db: 150 MB).
	if err := r.Exec("PRAGMA query_only = 1; PRAGMA cache_size = -256"); err != nil {
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", p.path, err)
	}
	return r, nil
}

// Close closes the connection (rolling back an open transaction).
func (r *RowReader) Close() error {
	var err error
	if r.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(r.tls, r.db); rc != sqlite3.SQLITE_OK {
			err = r.err(rc)
		}
		r.db = 0
	}
	if r.tls != nil {
		r.tls.Close()
		r.tls = nil
	}
	return err
}

func (r *RowReader) err(rc int32) error {
	msg := ""
	if r.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db))
	}
	if msg == "" {
		msg = fmt.Sprintf("result code %d", rc)
	}
	return fmt.Errorf("%s (%d)", msg, rc&0xff)
}

// Exec runs statements that return no rows (BEGIN, a PRAGMA).
func (r *RowReader) Exec(query string) error {
	q, err := libc.CString(query)
	if err != nil {
		return err
	}
	defer libc.Xfree(r.tls, q)
	if rc := sqlite3.Xsqlite3_exec(r.tls, r.db, q, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return r.err(rc)
	}
	return nil
}

// Stream runs one query and calls fn with each row's values, as
// database/sql's modernc driver gives them without DSN options: int64,
// float64, string, []byte (nil when empty), nil. vals is reused between
// calls; the values in it are not, so fn may keep them. A query with a
// column declared DATE, DATETIME or TIMESTAMP returns ErrDriverValues
// before reading any row. ctx interrupts the query.
func (r *RowReader) Stream(ctx context.Context, query string, fn func(vals []driver.Value) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	q, err := libc.CString(query)
	if err != nil {
		return err
	}
	defer libc.Xfree(r.tls, q)
	pstmt := r.tls.Alloc(8)
	rc := sqlite3.Xsqlite3_prepare_v2(r.tls, r.db, q, -1, pstmt, 0)
	stmt := uintptr(binary.NativeEndian.Uint64(libc.GoBytes(pstmt, 8)))
	r.tls.Free(8)
	if rc != sqlite3.SQLITE_OK {
		return r.err(rc)
	}
	defer sqlite3.Xsqlite3_finalize(r.tls, stmt)
	n := int(sqlite3.Xsqlite3_column_count(r.tls, stmt))
	for i := range n {
		switch strings.ToUpper(libc.GoString(sqlite3.Xsqlite3_column_decltype(r.tls, stmt, int32(i)))) {
		case "DATE", "DATETIME", "TIMESTAMP":
			return ErrDriverValues
		}
	}
	// A long step (a sort before the first row) ends when ctx does:
	// sqlite3_interrupt may be called from another thread, with its own
	// TLS. An interrupt that comes before the first step is lost (SQLite
	// clears it when a statement starts on a connection running none), so
	// it is repeated until Stream returns: a cancel between the check
	// above and the step once left a 20-million-row sort running.
	// It is waited for before this returns, so it never reaches a closed
	// connection.
	db := r.db
	finished := make(chan struct{})
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(interrupted)
		tls := libc.NewTLS()
		defer tls.Close()
		for {
			sqlite3.Xsqlite3_interrupt(tls, db)
			select {
			case <-finished:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	defer func() {
		close(finished)
		if !stop() {
			<-interrupted
			if err == nil {
				err = ctx.Err()
			}
		}
	}()
	vals := make([]driver.Value, n)
	var arena []byte
	for {
		switch rc := sqlite3.Xsqlite3_step(r.tls, stmt); rc {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return r.err(rc)
		}
		for i := range n {
			c := int32(i)
			switch sqlite3.Xsqlite3_column_type(r.tls, stmt, c) {
			case sqlite3.SQLITE_INTEGER:
				vals[i] = sqlite3.Xsqlite3_column_int64(r.tls, stmt, c)
			case sqlite3.SQLITE_FLOAT:
				vals[i] = sqlite3.Xsqlite3_column_double(r.tls, stmt, c)
			case sqlite3.SQLITE_TEXT:
				p := sqlite3.Xsqlite3_column_text(r.tls, stmt, c)
				size := int(sqlite3.Xsqlite3_column_bytes(r.tls, stmt, c))
				if p == 0 || size == 0 {
					vals[i] = ""
					continue
				}
				if size > arenaMax {
					vals[i] = string(libc.GoBytes(p, size))
					continue
				}
				// Short texts are copied into a shared block, one
				// allocation for many values; a block is never written
				// again once a string points into it, and lives as long
				// as any of them.
				if len(arena)+size > cap(arena) {
					arena = make([]byte, 0, arenaBlock)
				}
				start := len(arena)
				arena = append(arena, libc.GoBytes(p, size)...)
				vals[i] = unsafe.String(&arena[start], size)
			case sqlite3.SQLITE_BLOB:
				p := sqlite3.Xsqlite3_column_blob(r.tls, stmt, c)
				size := int(sqlite3.Xsqlite3_column_bytes(r.tls, stmt, c))
				if p == 0 || size == 0 {
					vals[i] = []byte(nil)
					continue
				}
				b := make([]byte, size)
				copy(b, libc.GoBytes(p, size))
				vals[i] = b
			default:
				vals[i] = nil
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
}
