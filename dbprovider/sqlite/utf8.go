package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync/atomic"
	"unicode/utf8"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PostgreSQL refuses text that is not valid UTF-8; SQLite stores any bytes.
// (The same guard refuses JSON numbers that PostgreSQL's numeric cannot
// hold: see numeric.go.)
// The schema holds every other rule of parity (migration 00035's CHECK
// constraints), but no SQL function of SQLite sees an invalid UTF-8
// sequence: length(), substr(), GLOB and unicode() skip or replace bad bytes,
// json_valid() accepts them inside strings, and CHECK constraints cannot
// loop over bytes. A user-defined function in a CHECK would make the file
// unwritable for the sqlite3 shell ("no such function"), which the
// documentation sends administrators to for fixing rows.
//
// So the provider enforces it on every write of its writer connections,
// whatever the code path or SQL, literals included: a pre-update hook looks
// at the new row of every INSERT and UPDATE, and the commit hook turns the
// commit of a transaction (or an autocommit statement) that wrote invalid
// UTF-8 text into a rollback, which the statement or Commit reports as
// SQLITE_CONSTRAINT_COMMITHOOK (translated to EINVALID). Writes from outside
// podium (the sqlite3 shell) are not covered; "podium migrate db --check"
// and the migration itself find such values before anything is copied.

// writeHooks is what modernc's connections offer for the hooks.
type writeHooks interface {
	RegisterPreUpdateHook(msqlite.PreUpdateHookFn)
	RegisterCommitHook(msqlite.CommitHookFn)
	RegisterRollbackHook(msqlite.RollbackHookFn)
}

// utf8Connector opens writer connections with the UTF-8 hooks installed.
type utf8Connector struct{ driver.Connector }

func (c utf8Connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	h, ok := conn.(writeHooks)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("sqlite: the driver's connections have no write hooks (%T)", conn)
	}
	g := &utf8Guard{}
	h.RegisterPreUpdateHook(g.preUpdate)
	h.RegisterCommitHook(g.commit)
	h.RegisterRollbackHook(g.rollback)
	return conn, nil
}

// utf8Guard is one connection's state: SQLite calls the hooks on the
// goroutine running that connection's statement, one at a time.
type utf8Guard struct {
	bad string // the first invalid value of the current transaction
	// vals receives each new row, kept from row to row: the hook runs for
	// every row written (500 per usage batch), and a new slice per row was
	// one of its ten allocations per usage row.
	vals []any
}

// lastUTF8 names the value of the last write refused for invalid UTF-8, for
// the error message (translate).
var lastUTF8 atomic.Pointer[string]

func (g *utf8Guard) preUpdate(d msqlite.SQLitePreUpdateData) {
	if d.Op == sqlite3.SQLITE_DELETE || g.bad != "" {
		return
	}
	n := d.Count()
	if cap(g.vals) < n {
		g.vals = make([]any, n)
	}
	vals := g.vals[:n]
	defer clear(vals) // hold no row's values until the next write
	if err := d.New(vals...); err != nil {
		g.bad = fmt.Sprintf("table %s: the new row could not be read (%v)", d.TableName, err)
		return
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if !utf8.ValidString(s) {
			g.bad = fmt.Sprintf("text that is not valid UTF-8 (table %s, column %d), which PostgreSQL refuses", d.TableName, i+1)
			return
		}
		if err := jsonNumbersFit(s); err != nil {
			g.bad = fmt.Sprintf("a %v (table %s, column %d)", err, d.TableName, i+1)
			return
		}
	}
}

func (g *utf8Guard) commit() int32 {
	if g.bad == "" {
		return 0
	}
	msg := g.bad
	lastUTF8.Store(&msg)
	g.bad = ""
	return 1 // roll back
}

func (g *utf8Guard) rollback() { g.bad = "" }
