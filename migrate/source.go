package migrate

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// sqliteHeader starts every SQLite 3 database file.
const sqliteHeader = "SQLite format 3\x00"

// source is the SQLite database being migrated, locked for the whole run,
// with one read transaction open: the snapshot every row comes from.
type source struct {
	prov *sqlite.Provider
	// tx is the snapshot's first read transaction, for the catalog and the
	// counts; readers are the others, one per worker, on the same snapshot.
	tx      *sql.Tx
	first   *reader
	readers []*reader
	path    string
	dir     string
	shared  bool
	// version is the schema version read; upgradedFrom is the version
	// before this run brought it up to date (0: no upgrade), wouldUpgrade
	// the same for a dry run, which never writes.
	version      int64
	upgradedFrom int64
	wouldUpgrade int64
}

// openSource checks that dir holds a Podium SQLite database that no node
// is using, takes its lock, brings its schema to this binary's version if
// it is behind (unless dryRun), and opens the read snapshot.
func openSource(ctx context.Context, dir string, dryRun bool, log *logrus.Entry) (_ *source, err error) {
	return openSourceMode(ctx, dir, dryRun, false, log)
}

// openSourceMode is openSource; with shared, for --check, it takes no lock
// (a node may be serving from the file) and never upgrades: the snapshot
// is a read transaction of a read-only connection, which in WAL mode
// neither blocks the node's writes nor is blocked by them.
func openSourceMode(ctx context.Context, dir string, dryRun, shared bool, log *logrus.Entry) (_ *source, err error) {
	if dir == "" {
		return nil, podium.Errorf(podium.EINVALID, "migrate db: [Database] Dir is not set: it names the SQLite database to copy")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("migrate db: %w", err)
	}
	path := filepath.Join(abs, sqlite.FileName)
	if err := checkSQLiteFile(path); err != nil {
		return nil, err
	}
	// Exclusive: hold the lock file for the whole run, so no node starts on
	// the source meanwhile (and refuse if one runs now). ReadOnly: this
	// command never writes the source.
	prov, err := sqlite.Open(ctx, sqlite.Options{Dir: abs, Exclusive: !shared, Purpose: "migrate db", ReadOnly: true})
	if err != nil {
		return nil, err
	}
	s := &source{prov: prov, path: path, dir: abs, shared: shared}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.checkPodium(ctx); err != nil {
		return nil, err
	}
	v, err := prov.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate db: source schema version: %w", err)
	}
	latest := schema.Latest()
	if v > latest {
		return nil, podium.Errorf(podium.EREFUSED,
			"migrate db: the SQLite database %s has schema version %d, newer than this binary (%d): run the migration with the podium binary that last served it, or a newer one",
			path, v, latest)
	}
	if v < latest {
		if dryRun || shared {
			s.wouldUpgrade = v
		} else if err := s.upgrade(ctx, abs, v, log); err != nil {
			return nil, err
		}
	}
	if s.version, err = prov.SchemaVersion(ctx); err != nil {
		return nil, fmt.Errorf("migrate db: source schema version: %w", err)
	}
	return s, nil
}

// checkSQLiteFile refuses a missing file or one that is not SQLite, before
// anything opens it (opening would create one, or change a foreign file).
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return podium.Errorf(podium.EREFUSED,
			"migrate db: no SQLite database at %s: nothing to copy (check [Database] Dir). "+
				"Moving from PostgreSQL back to SQLite is not supported", path)
	}
	if err != nil {
		return podium.Errorf(podium.EREFUSED, "migrate db: cannot read the SQLite database %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte(sqliteHeader)) {
		return podium.Errorf(podium.EREFUSED, "migrate db: %s is not a SQLite database, so not a Podium database", path)
	}
	return nil
}

// checkPodium refuses a SQLite file that is not a Podium database: one
// without goose's version table and the node registry.
func (s *source) checkPodium(ctx context.Context) error {
	names, err := s.prov.Tables(ctx)
	if err != nil {
		return podium.Errorf(podium.EREFUSED, "migrate db: %s is not a readable SQLite database: %w", s.path, err)
	}
	if !slices.Contains(names, "goose_db_version") || !slices.Contains(names, "nodes") {
		return podium.Errorf(podium.EREFUSED,
			"migrate db: %s is a SQLite database but not a Podium database (no goose_db_version and nodes tables)", s.path)
	}
	return nil
}

// upgrade brings the source schema to this binary's version on a second,
// writable handle, while the read-only provider keeps the lock.
func (s *source) upgrade(ctx context.Context, dir string, from int64, log *logrus.Entry) error {
	w, err := sqlite.Open(ctx, sqlite.Options{Dir: dir})
	if err != nil {
		return fmt.Errorf("migrate db: upgrade source schema: %w", err)
	}
	defer w.Close()
	log.WithFields(logrus.Fields{"from": from, "to": schema.Latest()}).Info("source schema is behind this binary: migrating it first")
	if _, err := schema.Up(ctx, w, log, schema.Options{}); err != nil {
		return fmt.Errorf("migrate db: upgrade source schema: %w", err)
	}
	s.upgradedFrom = from
	return nil
}

func (s *source) close() {
	for _, rd := range s.readers {
		rd.close()
	}
	if s.first != nil {
		s.first.close()
	}
	if s.prov != nil {
		_ = s.prov.Close()
	}
}

// tables lists the source's tables, goose's version table excepted (goose
// fills the target's).
func (s *source) tables(ctx context.Context) ([]string, error) {
	rows, err := s.tx.QueryContext(ctx,
		`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("migrate db: source tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("migrate db: source tables: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// columns lists a source table's columns.
func (s *source) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := s.tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, fmt.Errorf("migrate db: source columns of %s: %w", table, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("migrate db: source columns of %s: %w", table, err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// reader is one SQLite connection with its read transaction open, and a
// second one (fast) on the same snapshot that reads the tables: a
// sqlite.RowReader, without the driver's per-call mutex.
type reader struct {
	id   int // the worker's number, from 1
	conn *sql.Conn
	tx   *sql.Tx
	fast *sqlite.RowReader
}

func (rd *reader) close() {
	if rd.fast != nil {
		_ = rd.fast.Close()
	}
	if rd.tx != nil {
		_ = rd.tx.Rollback()
	}
	if rd.conn != nil {
		_ = rd.conn.Close()
	}
}

// snapshot opens n+1 read transactions (s.tx and n readers, one per
// worker) that all see the same committed state. SQLite has no way to
// share one snapshot between connections, so, unless shared (--check,
// beside a serving node), no writer may commit while they start: a
// writable handle holds the write lock (BEGIN IMMEDIATE) meanwhile, then
// rolls back having written nothing. With shared, each reader is one
// consistent snapshot of its own, taken one after the other.
func (s *source) snapshot(ctx context.Context, n int, log *logrus.Entry) error {
	s.prov.SetReadConns(n + 2)
	if !s.shared {
		w, err := sqlite.Open(ctx, sqlite.Options{Dir: s.dir})
		if err != nil {
			return fmt.Errorf("migrate db: source: %w", err)
		}
		defer w.Close()
		hold, err := w.WriteTx(ctx) // BEGIN IMMEDIATE: no commit until the rollback
		if err != nil {
			return fmt.Errorf("migrate db: source: hold writers while the snapshot starts: %w", err)
		}
		defer func() { _ = hold.Rollback() }()
	}
	for i := 0; i <= n; i++ {
		conn, tx, err := s.prov.ReadSnapshot(ctx)
		if err != nil {
			return fmt.Errorf("migrate db: source: begin snapshot: %w", err)
		}
		rd := &reader{id: i, conn: conn, tx: tx}
		s.readers = append(s.readers, rd)
		if i == 0 {
			continue // s.tx: the catalog and the checks, no table reads
		}
		if rd.fast, err = s.prov.OpenRowReader(); err != nil {
			return fmt.Errorf("migrate db: source: %w", err)
		}
		if err := rd.fast.Exec("BEGIN"); err != nil {
			return fmt.Errorf("migrate db: source: begin snapshot: %w", err)
		}
		if _, err := rd.countQuery(ctx, `SELECT count(*) FROM sqlite_master`, false); err != nil {
			return fmt.Errorf("migrate db: source: begin snapshot: %w", err)
		}
	}
	s.first, s.readers = s.readers[0], s.readers[1:]
	s.tx = s.first.tx
	log.WithField("readers", n).Debug("source snapshot taken")
	return nil
}

// count counts a table's rows in the snapshot its rows are read from:
// the RowReader's, or the driver's transaction for a table the RowReader
// hands to the driver (a date-declared column, see stream). The two are
// the same snapshot when the writers were held while they began, but not
// with shared readers (--check beside a live node), where a count from
// one and a read from the other would disagree on a table written in
// between.
func (rd *reader) count(ctx context.Context, t *table) (int64, error) {
	driverRead := false
	if rd.fast != nil {
		err := rd.fast.Stream(ctx, fmt.Sprintf(`SELECT %s FROM %s LIMIT 0`, t.sourceSelectList(), quoteIdent(t.Name)),
			func([]driver.Value) error { return nil })
		switch {
		case errors.Is(err, sqlite.ErrDriverValues):
			driverRead = true
		case err != nil:
			return 0, fmt.Errorf("migrate db: read source: %w", err)
		}
	}
	return rd.countQuery(ctx, `SELECT count(*) FROM `+quoteIdent(t.Name), driverRead)
}

// countQuery runs a count(*) query in the reader's snapshot: the
// RowReader's unless driverRead.
func (rd *reader) countQuery(ctx context.Context, query string, driverRead bool) (int64, error) {
	var n int64
	fn := func(vals []driver.Value) error {
		n, _ = vals[0].(int64)
		return nil
	}
	if driverRead || rd.fast == nil {
		return n, rd.streamDriver(ctx, query, fn)
	}
	return n, rd.stream(ctx, query, fn)
}

// stream runs query in the reader's snapshot and calls fn for each row.
// vals is reused between calls; the values in it are not.
func (rd *reader) stream(ctx context.Context, query string, fn func(vals []driver.Value) error) error {
	if rd.fast != nil {
		var fnErr error
		err := rd.fast.Stream(ctx, query, func(vals []driver.Value) error {
			fnErr = fn(vals)
			return fnErr
		})
		switch {
		case err == nil || err == fnErr:
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, sqlite.ErrDriverValues):
			return fmt.Errorf("migrate db: read source: %w", err)
		}
		// A date-declared column: the driver's values, as before.
	}
	return rd.streamDriver(ctx, query, fn)
}

// streamDriver runs query through the driver, in the reader's
// transaction.
func (rd *reader) streamDriver(ctx context.Context, query string, fn func(vals []driver.Value) error) error {
	return rd.conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("migrate db: the SQLite driver cannot query directly")
		}
		rows, err := q.QueryContext(ctx, query, nil)
		if err != nil {
			return fmt.Errorf("migrate db: read source: %w", err)
		}
		defer rows.Close()
		vals := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(vals); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("migrate db: read source: %w", err)
			}
			if err := fn(vals); err != nil {
				return err
			}
		}
	})
}

// quoteIdent quotes an identifier for both SQLite and PostgreSQL.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
