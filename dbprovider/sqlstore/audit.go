package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// AuditInsert implements dbprovider.AuditStore.
func (s *Store) AuditInsert(ctx context.Context, p *dbprovider.AuditInsertParams) error {
	detail := p.Detail
	if detail == "" {
		detail = "{}"
	}
	var user any
	if p.UserID != 0 {
		user = p.UserID
	}
	_, err := s.W.ExecContext(ctx, `INSERT INTO audit_log (at, user_id, node_id, action, object, detail)
		VALUES (`+s.D.Now()+`, $1, $2, $3, $4, $5)`, user, p.NodeID, p.Action, p.Target, detail)
	if err != nil {
		return fmt.Errorf("audit insert %s: %w", p.Action, s.D.TranslateError(err))
	}
	return nil
}

func scanAudit(row scanner) (*podium.AuditEntry, error) {
	var (
		e      podium.AuditEntry
		user   sql.NullInt64
		actor  sql.NullString
		detail string
	)
	if err := row.Scan(&e.ID, &e.At, &user, &actor, &e.NodeID, &e.Action, &e.Target, &detail); err != nil {
		return nil, err
	}
	if user.Valid {
		v := user.Int64
		e.UserID = &v
	}
	e.Actor = actor.String
	e.At = e.At.UTC()
	e.Detail = []byte(detail)
	return &e, nil
}

// AuditList implements dbprovider.AuditStore. A zero filter is passed as
// a value that matches everything, so one statement serves every filter
// (the same placeholders on both dialects).
func (s *Store) AuditList(ctx context.Context, p *dbprovider.AuditListParams) ([]*podium.AuditEntry, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	from, to := p.From, p.To
	if from.IsZero() {
		from = time.Unix(0, 0)
	}
	if to.IsZero() {
		to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	q := `SELECT a.id, a.at, a.user_id, u.username, a.node_id, a.action, a.object, CAST(a.detail AS TEXT)
	FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
	WHERE ($1 = 0 OR a.user_id = $1) AND ($2 = '' OR a.action = $2) AND ($3 = '' OR a.object = $3)
	AND a.at >= $4 AND a.at < $5 AND ($6 = 0 OR a.id < $6)
	ORDER BY a.id DESC LIMIT $7`
	return nonNil(queryList(ctx, s.R, s.D, "audit list", scanAudit, q,
		p.UserID, p.Action, p.Target, from.UTC(), to.UTC(), p.BeforeID, limit))
}

// AuditPrune implements dbprovider.AuditStore.
func (s *Store) AuditPrune(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.W.ExecContext(ctx, `DELETE FROM audit_log WHERE id IN (
		SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)`, before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("audit prune: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("audit prune: %w", s.D.TranslateError(err))
	}
	return n, nil
}
