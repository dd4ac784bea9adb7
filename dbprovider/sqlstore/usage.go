package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// usageChunk bounds the rows of one INSERT: 500 rows of 7 values stay far
// below both dialects' limits on parameters (SQLite 32766, PostgreSQL
// 65535).
const usageChunk = 500

// insertRows inserts the rows of args (each n values, in the order of
// cols) into table, all or none, so that a failed batch leaves nothing
// behind for its retry to write twice.
//
// Where the provider keeps prepared statements (Store.Prep: SQLite) and s
// writes through their handle, every statement is one prepared once per
// size: a batch is cut into full chunks and a remainder written as
// statements of 256, 128, ... 1 rows (137 rows: 128, 8 and 1), in one
// transaction when there is more than one. Parsing a statement anew cost
// SQLite about 1 µs per row (plus 25 µs) on top of the 8 to 9 µs per row
// of running it: the batches the interval writes (a quiet node, the rest
// after a burst) and those of a BatchSize other than 500 paid it on every
// flush, a single visit twice over. Measured by
// BenchmarkRecorderVisitBatches: about half the CPU per visit for batches
// of 1, 0.88x for batches of 1000, 0.95x to 0.97x between 137 and 499;
// no gain for a few dozen rows, where the transaction and its three
// statements cost what the parse saved (figures in docs/usage.md). One
// prepared single-row statement per row was dearer than either (about
// 1.25x a 500-row statement's CPU per row).
//
// Elsewhere (PostgreSQL, whose driver caches statements per connection,
// or inside a caller's transaction) a batch is one statement per
// usageChunk rows, the last one the remainder.
//
// The placeholders come from the dialect (Param): SQLite's "?" instead of
// "$1" turned a 500-row batch from about 90 µs of CPU per row, spent
// searching the statement's 3500 named parameters, into about 10.
func (s *Store) insertRows(ctx context.Context, what, table, cols string, n int, args []any) error {
	rows := len(args) / n
	if rows == 0 {
		return nil
	}
	prepared := s.Prep != nil && s.Prep.on(s.W)
	pieces := insertPieces(rows, prepared)
	if len(pieces) == 1 {
		return s.insertStmt(ctx, what, table, cols, n, args)
	}
	if prepared {
		// Prepared on the handle before the transaction, which holds the
		// writer's only connection: inside it, exec finds them ready.
		for _, k := range pieces {
			if err := s.Prep.prepare(ctx, stmtKey{table, cols, k}, func() string { return insertSQL(s.D, table, cols, n, k) }); err != nil {
				return fmt.Errorf("%s: %w", what, s.D.TranslateError(err))
			}
		}
	}
	return s.inTx(ctx, func(tx *Store) error { // run again whole on a conflict
		off := 0
		for _, k := range pieces {
			if err := tx.insertStmt(ctx, what, table, cols, n, args[off*n:(off+k)*n]); err != nil {
				return err
			}
			off += k
		}
		return nil
	})
}

// insertPieces cuts rows into the row counts of insertRows' statements:
// full chunks, then the remainder whole or, with prepared statements, as
// powers of two.
func insertPieces(rows int, prepared bool) []int {
	var pieces []int
	for ; rows >= usageChunk; rows -= usageChunk {
		pieces = append(pieces, usageChunk)
	}
	if !prepared {
		if rows > 0 {
			pieces = append(pieces, rows)
		}
		return pieces
	}
	for k := 1 << (bits.Len(uint(usageChunk-1)) - 1); k > 0; k >>= 1 {
		if rows&k != 0 {
			pieces = append(pieces, k)
		}
	}
	return pieces
}

// insertStmt runs one INSERT of all the rows of args, through Prep when
// the provider keeps statements (which prepares it on its handle, runs it
// if prepared in a transaction, and runs the text elsewhere).
func (s *Store) insertStmt(ctx context.Context, what, table, cols string, n int, args []any) error {
	rows := len(args) / n
	query := func() string { return insertSQL(s.D, table, cols, n, rows) }
	var err error
	if s.Prep != nil {
		_, err = s.Prep.exec(ctx, s.W, stmtKey{table, cols, rows}, query, args)
	} else {
		_, err = s.W.ExecContext(ctx, query(), args...)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, s.D.TranslateError(err))
	}
	return nil
}

// insertSQL is the INSERT of rows rows of n values into table (cols).
func insertSQL(d Dialect, table, cols string, n, rows int) string {
	var b strings.Builder
	b.Grow(len(table) + len(cols) + 32 + rows*n*6)
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range n {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(d.Param(i*n + j + 1))
		}
		b.WriteByte(')')
	}
	return b.String()
}

func nullID(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// UsageVisitInsert implements dbprovider.UsageStore.
func (s *Store) UsageVisitInsert(ctx context.Context, visits []*podium.Visit) error {
	args := make([]any, 0, len(visits)*7)
	for _, v := range visits {
		args = append(args, v.At.UTC(), v.ContentID, v.ContentGUID, nullID(v.BundleID), nullID(v.UserID), v.NodeID, v.Path)
	}
	return s.insertRows(ctx, "usage visit insert", "usage_visits", "at, content_id, content_guid, bundle_id, user_id, node_id, path", 7, args)
}

// UsageSessionInsert implements dbprovider.UsageStore.
func (s *Store) UsageSessionInsert(ctx context.Context, sessions []*podium.AppSession) error {
	args := make([]any, 0, len(sessions)*7)
	for _, v := range sessions {
		args = append(args, v.StartedAt.UTC(), v.EndedAt.UTC(), v.ContentID, v.ContentGUID, nullID(v.BundleID), nullID(v.UserID), v.NodeID)
	}
	return s.insertRows(ctx, "usage session insert", "usage_sessions",
		"started_at, ended_at, content_id, content_guid, bundle_id, user_id, node_id", 7, args)
}

// usagePage turns p into the shared arguments of the list queries: a
// zero filter is passed as a value that matches everything, so one
// statement serves every filter (as AuditList does).
func usagePage(p *dbprovider.UsageListParams) (from, to time.Time, after, before int64, order string, limit int) {
	from, to = p.From, p.To
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	before = p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	order = "ASC"
	if p.Desc {
		order = "DESC"
	}
	limit = p.Limit
	if limit <= 0 {
		limit = 20
	}
	return from.UTC(), to.UTC(), p.AfterID, before, order, min(limit, 1000)
}

func scanID(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func scanVisit(row scanner) (*podium.Visit, error) {
	var (
		v            podium.Visit
		bundle, user sql.NullInt64
	)
	if err := row.Scan(&v.ID, &v.At, &v.ContentID, &v.ContentGUID, &bundle, &user, &v.NodeID, &v.Path); err != nil {
		return nil, err
	}
	v.At, v.BundleID, v.UserID = v.At.UTC(), scanID(bundle), scanID(user)
	return &v, nil
}

// UsageVisitList implements dbprovider.UsageStore.
func (s *Store) UsageVisitList(ctx context.Context, p *dbprovider.UsageListParams) ([]*podium.Visit, error) {
	from, to, after, before, order, limit := usagePage(p)
	q := `SELECT id, at, content_id, content_guid, bundle_id, user_id, node_id, path FROM usage_visits
	WHERE ($1 = 0 OR content_id = $1) AND at >= $2 AND at < $3 AND id > $4 AND id < $5
	ORDER BY id ` + order + ` LIMIT $6`
	return nonNil(queryList(ctx, s.R, s.D, "usage visit list", scanVisit, q, p.ContentID, from, to, after, before, limit))
}

func scanAppSession(row scanner) (*podium.AppSession, error) {
	var (
		v            podium.AppSession
		bundle, user sql.NullInt64
	)
	if err := row.Scan(&v.ID, &v.StartedAt, &v.EndedAt, &v.ContentID, &v.ContentGUID, &bundle, &user, &v.NodeID); err != nil {
		return nil, err
	}
	v.StartedAt, v.EndedAt, v.BundleID, v.UserID = v.StartedAt.UTC(), v.EndedAt.UTC(), scanID(bundle), scanID(user)
	return &v, nil
}

// UsageSessionList implements dbprovider.UsageStore.
func (s *Store) UsageSessionList(ctx context.Context, p *dbprovider.UsageListParams) ([]*podium.AppSession, error) {
	from, to, after, before, order, limit := usagePage(p)
	q := `SELECT id, started_at, ended_at, content_id, content_guid, bundle_id, user_id, node_id FROM usage_sessions
	WHERE ($1 = 0 OR content_id = $1) AND ended_at >= $2 AND started_at < $3 AND id > $4 AND id < $5
	ORDER BY id ` + order + ` LIMIT $6`
	return nonNil(queryList(ctx, s.R, s.D, "usage session list", scanAppSession, q, p.ContentID, from, to, after, before, limit))
}

// UsageDaily implements dbprovider.UsageStore.
func (s *Store) UsageDaily(ctx context.Context, contentID int64, since time.Time) ([]*podium.UsageCount, error) {
	q := `SELECT day, sum(visits), sum(sessions) FROM (
		SELECT ` + s.D.Day("at") + ` AS day, 1 AS visits, 0 AS sessions FROM usage_visits WHERE content_id = $1 AND at >= $2
		UNION ALL
		SELECT ` + s.D.Day("started_at") + `, 0, 1 FROM usage_sessions WHERE content_id = $1 AND started_at >= $2
	) u GROUP BY day ORDER BY day`
	return nonNil(queryList(ctx, s.R, s.D, "usage daily", func(row scanner) (*podium.UsageCount, error) {
		var (
			c   = podium.UsageCount{ContentID: contentID}
			day string
		)
		if err := row.Scan(&day, &c.Visits, &c.Sessions); err != nil {
			return nil, err
		}
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return nil, fmt.Errorf("day %q: %w", day, err)
		}
		c.Day = t
		return &c, nil
	}, q, contentID, since.UTC()))
}

// UsageTop implements dbprovider.UsageStore.
func (s *Store) UsageTop(ctx context.Context, since time.Time, limit int) ([]*podium.UsageCount, error) {
	q := `SELECT content_id, max(content_guid), sum(visits), sum(sessions) FROM (
		SELECT content_id, content_guid, 1 AS visits, 0 AS sessions FROM usage_visits WHERE at >= $1
		UNION ALL
		SELECT content_id, content_guid, 0, 1 FROM usage_sessions WHERE started_at >= $1
	) u GROUP BY content_id ORDER BY sum(visits) + sum(sessions) DESC, content_id LIMIT $2`
	return nonNil(queryList(ctx, s.R, s.D, "usage top", func(row scanner) (*podium.UsageCount, error) {
		var c podium.UsageCount
		if err := row.Scan(&c.ContentID, &c.ContentGUID, &c.Visits, &c.Sessions); err != nil {
			return nil, err
		}
		return &c, nil
	}, q, since.UTC(), limit))
}

// UsagePrune implements dbprovider.UsageStore.
func (s *Store) UsagePrune(ctx context.Context, before time.Time, limit int) (int64, error) {
	var total int64
	for _, q := range []string{
		`DELETE FROM usage_visits WHERE id IN (SELECT id FROM usage_visits WHERE at < $1 ORDER BY at, id LIMIT $2)`,
		`DELETE FROM usage_sessions WHERE id IN (SELECT id FROM usage_sessions WHERE ended_at < $1 ORDER BY ended_at LIMIT $2)`,
	} {
		res, err := s.W.ExecContext(ctx, q, before.UTC(), limit)
		if err != nil {
			return total, fmt.Errorf("usage prune: %w", s.D.TranslateError(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("usage prune: %w", s.D.TranslateError(err))
		}
		total += n
	}
	return total, nil
}
