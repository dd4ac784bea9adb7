package sqlstore

// This file implements dbprovider.ContentStore.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

const contentColumns = `id, guid, name, title, description, owner_id, appmode, access_type,
	active_bundle_id, created_at, updated_at, last_deployed_at, py_version, r_version, quarto_version`

func scanContent(row scanner) (*podium.Content, error) {
	var (
		c        podium.Content
		active   sql.NullInt64
		deployed sql.NullTime
	)
	if err := row.Scan(&c.ID, &c.GUID, &c.Name, &c.Title, &c.Description, &c.OwnerID, &c.AppMode,
		&c.AccessType, &active, &c.CreatedAt, &c.UpdatedAt, &deployed, &c.PyVersion, &c.RVersion, &c.QuartoVersion); err != nil {
		return nil, err
	}
	if deployed.Valid {
		t := deployed.Time.UTC()
		c.LastDeployedAt = &t
	}
	if active.Valid {
		v := active.Int64
		c.ActiveBundleID = &v
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// idOrNull maps the "none" id 0 to NULL.
func idOrNull(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ContentCreate implements dbprovider.ContentStore.
func (s *Store) ContentCreate(ctx context.Context, p *dbprovider.ContentCreateParams) (*podium.Content, error) {
	access := p.AccessType
	if access == "" {
		access = podium.AccessACL
	}
	q := `INSERT INTO content (guid, name, title, description, owner_id, access_type, settings, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, '{}', ` + s.D.Now() + `, ` + s.D.Now() + `)
	RETURNING ` + contentColumns
	c, err := scanContent(s.W.QueryRowContext(ctx, q, p.GUID, p.Name, p.Title, p.Description, p.OwnerID, access))
	if err != nil {
		return nil, fmt.Errorf("content create: %w", s.D.TranslateError(err))
	}
	return c, nil
}

// ContentGet implements dbprovider.ContentStore.
func (s *Store) ContentGet(ctx context.Context, id int64) (*podium.Content, error) {
	c, err := scanContent(s.R.QueryRowContext(ctx, `SELECT `+contentColumns+` FROM content WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("content get %d: %w", id, s.D.TranslateError(err))
	}
	return c, nil
}

// ContentGetByGUID implements dbprovider.ContentStore.
func (s *Store) ContentGetByGUID(ctx context.Context, guid string) (*podium.Content, error) {
	c, err := scanContent(s.R.QueryRowContext(ctx, `SELECT `+contentColumns+` FROM content WHERE guid = $1`, guid))
	if err != nil {
		return nil, fmt.Errorf("content get %s: %w", guid, s.D.TranslateError(err))
	}
	return c, nil
}

// ContentList implements dbprovider.ContentStore.
func (s *Store) ContentList(ctx context.Context, p *dbprovider.ContentListParams) ([]*podium.Content, error) {
	q := `SELECT ` + contentColumns + ` FROM content c
	WHERE ($1 = 1 OR c.access_type = 'all'
		OR ($2 <> 0 AND (c.owner_id = $2 OR c.access_type = 'logged_in'
			OR EXISTS (SELECT 1 FROM content_acl a WHERE a.content_id = c.id AND a.user_id = $2)
			OR EXISTS (SELECT 1 FROM content_group_acl ga JOIN group_members gm ON gm.group_id = ga.group_id
				WHERE ga.content_id = c.id AND gm.user_id = $2))))
	AND ($3 = 0 OR c.owner_id = $3)
	AND ($4 = '' OR c.name = $4)
	AND ($5 = 0 OR EXISTS (SELECT 1 FROM content_tags t WHERE t.content_id = c.id AND t.tag_id = $5))
	ORDER BY c.id`
	all := 0
	if p.All {
		all = 1
	}
	return queryList(ctx, s.R, s.D, "content list", scanContent, q, all, p.ViewerID, p.OwnerID, p.Name, p.TagID)
}

// ContentUpdate implements dbprovider.ContentStore.
func (s *Store) ContentUpdate(ctx context.Context, p *dbprovider.ContentUpdateParams) (*podium.Content, error) {
	q := `UPDATE content SET name = COALESCE($2, name), title = COALESCE($3, title),
		description = COALESCE($4, description), access_type = COALESCE($5, access_type),
		updated_at = ` + s.D.Now() + `
	WHERE id = $1 RETURNING ` + contentColumns
	c, err := scanContent(s.W.QueryRowContext(ctx, q, p.ID, strOrNull(p.Name), strOrNull(p.Title), strOrNull(p.Description), strOrNull(p.AccessType)))
	if err != nil {
		return nil, fmt.Errorf("content update %d: %w", p.ID, s.D.TranslateError(err))
	}
	return c, nil
}

func strOrNull(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// ContentActivate implements dbprovider.ContentStore.
func (s *Store) ContentActivate(ctx context.Context, p *dbprovider.ContentActivateParams) (*podium.Content, error) {
	q := `UPDATE content SET active_bundle_id = $2, appmode = $3, updated_at = ` + s.D.Now() + `,
		last_deployed_at = ` + s.D.Now() + `,
		py_version = (SELECT b.py_version FROM bundles b WHERE b.id = $2),
		r_version = (SELECT b.r_version FROM bundles b WHERE b.id = $2),
		quarto_version = (SELECT b.quarto_version FROM bundles b WHERE b.id = $2)
	WHERE id = $1 RETURNING ` + contentColumns
	c, err := scanContent(s.W.QueryRowContext(ctx, q, p.ID, p.BundleID, p.AppMode))
	if err != nil {
		return nil, fmt.Errorf("content activate %d: %w", p.ID, s.D.TranslateError(err))
	}
	return c, nil
}

// ContentSettingsGet implements dbprovider.ContentStore.
func (s *Store) ContentSettingsGet(ctx context.Context, contentID int64) ([]byte, error) {
	var v string
	if err := s.R.QueryRowContext(ctx, `SELECT CAST(settings AS TEXT) FROM content WHERE id = $1`, contentID).Scan(&v); err != nil {
		return nil, fmt.Errorf("content settings get %d: %w", contentID, s.D.TranslateError(err))
	}
	return []byte(v), nil
}

// ContentSettingsSwap implements dbprovider.ContentStore. The comparison
// is on the text the database returns for the column (CAST AS TEXT): the
// same text ContentSettingsGet returned, on both dialects.
func (s *Store) ContentSettingsSwap(ctx context.Context, contentID int64, old, next []byte) (bool, error) {
	res, err := s.W.ExecContext(ctx, `UPDATE content SET settings = $3, updated_at = `+s.D.Now()+`
		WHERE id = $1 AND CAST(settings AS TEXT) = $2`, contentID, string(old), string(next))
	if err != nil {
		return false, fmt.Errorf("content settings swap %d: %w", contentID, s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("content settings swap %d: %w", contentID, s.D.TranslateError(err))
	}
	if n == 1 {
		return true, nil
	}
	// Changed meanwhile, or gone: say which.
	if _, err := s.ContentSettingsGet(ctx, contentID); err != nil {
		return false, err
	}
	return false, nil
}

// ContentDelete implements dbprovider.ContentStore.
func (s *Store) ContentDelete(ctx context.Context, id int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM content WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("content delete %d: %w", id, s.D.TranslateError(err))
	}
	return mustAffect(res, "content", fmt.Sprint(id))
}

// ContentACLSet implements dbprovider.ContentStore.
func (s *Store) ContentACLSet(ctx context.Context, p *dbprovider.ContentACLSetParams) error {
	if _, err := s.W.ExecContext(ctx, `DELETE FROM content_acl WHERE content_id = $1`, p.ContentID); err != nil {
		return fmt.Errorf("content acl set: %w", s.D.TranslateError(err))
	}
	for _, e := range p.Entries {
		res, err := s.W.ExecContext(ctx, `INSERT INTO content_acl (content_id, user_id, role)
			SELECT $1, id, $3 FROM users WHERE username = $2
			ON CONFLICT (content_id, user_id) DO UPDATE SET role = excluded.role`, p.ContentID, e.Username, e.Role)
		if err != nil {
			return fmt.Errorf("content acl set: %w", s.D.TranslateError(err))
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return podium.Errorf(podium.EINVALID, "no user named %q", e.Username)
		}
	}
	return nil
}

// ContentACLList implements dbprovider.ContentStore.
func (s *Store) ContentACLList(ctx context.Context, contentID int64) ([]*podium.ContentACLEntry, error) {
	return nonNil(queryList(ctx, s.R, s.D, "content acl list", scanACLEntry, `SELECT a.user_id, u.username, a.role FROM content_acl a
		JOIN users u ON u.id = a.user_id WHERE a.content_id = $1 ORDER BY u.username`, contentID))
}

func scanACLEntry(row scanner) (*podium.ContentACLEntry, error) {
	var e podium.ContentACLEntry
	if err := row.Scan(&e.UserID, &e.Username, &e.Role); err != nil {
		return nil, err
	}
	return &e, nil
}

// ContentACLRole implements dbprovider.ContentStore.
func (s *Store) ContentACLRole(ctx context.Context, contentID, userID int64) (string, error) {
	var role string
	// Direct grants and the grants of the user's groups: the best wins.
	err := s.R.QueryRowContext(ctx, `SELECT COALESCE(`+aclRoleExpr("$1", "$2")+`, '')`,
		contentID, userID).Scan(&role)
	if ErrNoRows(err) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("content acl role: %w", s.D.TranslateError(err))
	}
	return role, nil
}

const bundleColumns = `id, content_id, size, sha256, manifest, created_by, created_at, metadata,
	py_version, r_version, quarto_version, lockfile`

func scanBundle(row scanner) (*podium.Bundle, error) {
	var (
		b                   podium.Bundle
		by                  sql.NullInt64
		py, r, quarto, lock sql.NullString
	)
	if err := row.Scan(&b.ID, &b.ContentID, &b.Size, &b.SHA256, &b.Manifest, &by, &b.CreatedAt, &b.Metadata,
		&py, &r, &quarto, &lock); err != nil {
		return nil, err
	}
	b.Environment = podium.BundleEnvironment{PyVersion: py.String, RVersion: r.String, QuartoVersion: quarto.String, Lockfile: lock.String}
	if by.Valid {
		v := by.Int64
		b.CreatedBy = &v
	}
	b.CreatedAt = b.CreatedAt.UTC()
	return &b, nil
}

// BundleCreate implements dbprovider.ContentStore.
func (s *Store) BundleCreate(ctx context.Context, p *dbprovider.BundleCreateParams) (*podium.Bundle, error) {
	manifest := p.Manifest
	if manifest == "" {
		manifest = "{}"
	}
	metadata := p.Metadata
	if metadata == "" {
		metadata = "{}"
	}
	q := `INSERT INTO bundles (content_id, size, sha256, manifest, created_by, created_at, metadata)
	VALUES ($1, $2, $3, $4, $5, ` + s.D.Now() + `, $6) RETURNING ` + bundleColumns
	b, err := scanBundle(s.W.QueryRowContext(ctx, q, p.ContentID, p.Size, p.SHA256, manifest, idOrNull(p.CreatedBy), metadata))
	if err != nil {
		return nil, fmt.Errorf("bundle create: %w", s.D.TranslateError(err))
	}
	return b, nil
}

// BundleGet implements dbprovider.ContentStore.
func (s *Store) BundleGet(ctx context.Context, id int64) (*podium.Bundle, error) {
	b, err := scanBundle(s.R.QueryRowContext(ctx, `SELECT `+bundleColumns+` FROM bundles WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("bundle get %d: %w", id, s.D.TranslateError(err))
	}
	return b, nil
}

// BundleList implements dbprovider.ContentStore.
func (s *Store) BundleList(ctx context.Context, contentID int64) ([]*podium.Bundle, error) {
	return nonNil(queryList(ctx, s.R, s.D, "bundle list", scanBundle, `SELECT `+bundleColumns+` FROM bundles WHERE content_id = $1 ORDER BY id DESC`, contentID))
}

// BundleSetEnvironment implements dbprovider.ContentStore.
func (s *Store) BundleSetEnvironment(ctx context.Context, bundleID int64, env *podium.BundleEnvironment) error {
	res, err := s.W.ExecContext(ctx, `UPDATE bundles SET py_version = $2, r_version = $3, quarto_version = $4, lockfile = $5 WHERE id = $1`,
		bundleID, textOrNull(env.PyVersion), textOrNull(env.RVersion), textOrNull(env.QuartoVersion), textOrNull(env.Lockfile))
	if err != nil {
		return fmt.Errorf("bundle set environment %d: %w", bundleID, s.D.TranslateError(err))
	}
	return mustAffect(res, "bundle", fmt.Sprint(bundleID))
}

// BundleDelete implements dbprovider.ContentStore.
func (s *Store) BundleDelete(ctx context.Context, id int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM bundles WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("bundle delete %d: %w", id, s.D.TranslateError(err))
	}
	return mustAffect(res, "bundle", fmt.Sprint(id))
}

const taskColumns = `id, kind, content_id, user_id, node_id, created_at, finished_at, finished, code, error, result`

func scanTask(row scanner) (*podium.Task, error) {
	var (
		t           podium.Task
		content, by sql.NullInt64
		finished    sql.NullTime
		result      sql.NullString
	)
	if err := row.Scan(&t.ID, &t.Kind, &content, &by, &t.NodeID, &t.CreatedAt, &finished, &t.Finished,
		&t.Code, &t.Error, &result); err != nil {
		return nil, err
	}
	if content.Valid {
		v := content.Int64
		t.ContentID = &v
	}
	if by.Valid {
		v := by.Int64
		t.UserID = &v
	}
	if finished.Valid {
		v := finished.Time.UTC()
		t.FinishedAt = &v
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.Result = result.String
	t.Output = []string{}
	return &t, nil
}

// TaskCreate implements dbprovider.ContentStore.
func (s *Store) TaskCreate(ctx context.Context, p *dbprovider.TaskCreateParams) (*podium.Task, error) {
	q := `INSERT INTO tasks (id, kind, content_id, user_id, node_id, created_at)
	VALUES ($1, $2, $3, $4, $5, ` + s.D.Now() + `) RETURNING ` + taskColumns
	t, err := scanTask(s.W.QueryRowContext(ctx, q, p.ID, p.Kind, idOrNull(p.ContentID), idOrNull(p.UserID), p.NodeID))
	if err != nil {
		return nil, fmt.Errorf("task create: %w", s.D.TranslateError(err))
	}
	return t, nil
}

// TaskAppendOutput implements dbprovider.ContentStore. The lines go in one
// multi-row INSERT.
func (s *Store) TaskAppendOutput(ctx context.Context, p *dbprovider.TaskAppendOutputParams) error {
	if len(p.Lines) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO task_output (task_id, line_no, at, line) VALUES `)
	args := []any{p.TaskID}
	for i, line := range p.Lines {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($1, $%d, %s, $%d)", len(args)+1, s.D.Now(), len(args)+2)
		args = append(args, p.FirstLine+i, line)
	}
	if _, err := s.W.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("task append output: %w", s.D.TranslateError(err))
	}
	return nil
}

// TaskFinish implements dbprovider.ContentStore.
func (s *Store) TaskFinish(ctx context.Context, p *dbprovider.TaskFinishParams) error {
	q := `UPDATE tasks SET finished = $2, finished_at = ` + s.D.Now() + `, code = $3, error = $4, result = $5
	WHERE id = $1 AND NOT finished`
	res, err := s.W.ExecContext(ctx, q, p.ID, true, p.Code, p.Error, textOrNull(p.Result))
	if err != nil {
		return fmt.Errorf("task finish: %w", s.D.TranslateError(err))
	}
	return s.taskAffected(ctx, res, p.ID)
}

// taskAffected tells a finished task (ECONFLICT) from a missing one
// (ENOTFOUND) when an update of an unfinished task changed no row.
func (s *Store) taskAffected(ctx context.Context, res sql.Result, id string) error {
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var e string
	err := s.W.QueryRowContext(ctx, `SELECT error FROM tasks WHERE id = $1`, id).Scan(&e)
	if errors.Is(err, sql.ErrNoRows) {
		return podium.Errorf(podium.ENOTFOUND, "task %s not found", id)
	} else if err != nil {
		return fmt.Errorf("task %s: %w", id, s.D.TranslateError(err))
	}
	return podium.Errorf(podium.ECONFLICT, "task %s was finished already: %s", id, e)
}

// TaskHold implements dbprovider.ContentStore. The no-op update takes the
// row lock on PostgreSQL (and re-checks the row after waiting for a
// concurrent TaskFailOrphaned); SQLite's single writer serializes anyway.
func (s *Store) TaskHold(ctx context.Context, id string) error {
	res, err := s.W.ExecContext(ctx, `UPDATE tasks SET finished = finished WHERE id = $1 AND NOT finished`, id)
	if err != nil {
		return fmt.Errorf("task hold: %w", s.D.TranslateError(err))
	}
	return s.taskAffected(ctx, res, id)
}

// orphanRule is the condition, on a work row w (with created column at)
// left-joined to its node n, that the work's node is dead: gone from the
// registry, registered again since the work began (a restart with the
// same id), or, for other nodes than $1, stopped or silent for longer than
// $2 milliseconds.
func (s *Store) orphanRule(w, at string) string {
	return `(n.id IS NULL OR n.started_at > ` + w + `.` + at + ` OR (` + w + `.node_id <> $1 AND
		(n.status = 'stopped' OR n.heartbeat_at < ` + s.D.Ago("$2") + `)))`
}

// TaskFailOrphaned implements dbprovider.ContentStore.
func (s *Store) TaskFailOrphaned(ctx context.Context, p *dbprovider.OrphanedParams) ([]*dbprovider.OrphanedTask, error) {
	type cand struct {
		id, node, status string
		gone, restarted  bool
		heartbeat        any
	}
	var list []cand
	rows, err := s.W.QueryContext(ctx, `SELECT t.id, t.node_id, COALESCE(n.status, ''), n.heartbeat_at,
		CASE WHEN n.id IS NULL THEN 1 ELSE 0 END, CASE WHEN n.started_at > t.created_at THEN 1 ELSE 0 END
		FROM tasks t LEFT JOIN nodes n ON n.id = t.node_id
		WHERE NOT t.finished AND `+s.orphanRule("t", "created_at")+` ORDER BY t.created_at`,
		p.NodeID, p.NodeTimeout.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("task fail orphaned: %w", s.D.TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c               cand
			gone, restarted int64
		)
		if err := rows.Scan(&c.id, &c.node, &c.status, &c.heartbeat, &gone, &restarted); err != nil {
			return nil, fmt.Errorf("task fail orphaned: %w", s.D.TranslateError(err))
		}
		c.gone, c.restarted = gone == 1, restarted == 1
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("task fail orphaned: %w", s.D.TranslateError(err))
	}
	rows.Close()
	var out []*dbprovider.OrphanedTask
	for _, c := range list {
		var reason string
		switch {
		case c.gone:
			reason = fmt.Sprintf("node %s left the node registry while this task ran: the task cannot finish", c.node)
		case c.restarted:
			reason = fmt.Sprintf("node %s restarted while this task ran: the task was lost with the previous run of the node", c.node)
		case c.status == podium.NodeStopped:
			reason = fmt.Sprintf("node %s stopped while this task ran", c.node)
		default:
			at := "an unknown time"
			if t, err := parseDBTime(c.heartbeat); err == nil && t != nil {
				at = t.UTC().Format(time.RFC3339)
			}
			reason = fmt.Sprintf("node %s stopped heartbeating at %s while this task ran (no heartbeat for more than %s)",
				c.node, at, p.NodeTimeout)
		}
		failed := false
		err := s.inTx(ctx, func(tx *Store) error {
			failed = false // a retried transaction starts over
			res, err := tx.W.ExecContext(ctx, `UPDATE tasks SET finished = $2, finished_at = `+s.D.Now()+`, code = 1, error = $3
			WHERE id = $1 AND NOT finished`, c.id, true, reason)
			if err != nil {
				return s.D.TranslateError(err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // finished meanwhile (by its node, or by another node's pass)
			}
			_, err = tx.W.ExecContext(ctx, `INSERT INTO task_output (task_id, line_no, at, line)
			SELECT $1, COALESCE(MAX(line_no) + 1, 0), `+s.D.Now()+`, $2 FROM task_output WHERE task_id = $1`, c.id, "Error: "+reason)
			if err != nil {
				return s.D.TranslateError(err)
			}
			failed = true
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("task fail orphaned: %s: %w", c.id, err)
		}
		if failed {
			out = append(out, &dbprovider.OrphanedTask{ID: c.id, NodeID: c.node, Reason: reason})
		}
	}
	return out, nil
}

// TaskGet implements dbprovider.ContentStore. The task row is read before
// the output, so a task seen finished comes with all its output.
func (s *Store) TaskGet(ctx context.Context, id string, first int) (*podium.Task, error) {
	t, err := scanTask(s.R.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("task get: %w", s.D.TranslateError(err))
	}
	first = max(first, 0)
	rows, err := s.R.QueryContext(ctx, `SELECT line_no, line FROM task_output WHERE task_id = $1 AND line_no >= $2
		ORDER BY line_no LIMIT $3`, id, first, dbprovider.MaxTaskLines)
	if err != nil {
		return nil, fmt.Errorf("task get: output: %w", s.D.TranslateError(err))
	}
	defer rows.Close()
	t.Last = first
	for rows.Next() {
		var (
			n    int
			line string
		)
		if err := rows.Scan(&n, &line); err != nil {
			return nil, fmt.Errorf("task get: output: %w", s.D.TranslateError(err))
		}
		t.Output = append(t.Output, line)
		t.Last = n + 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("task get: output: %w", s.D.TranslateError(err))
	}
	return t, nil
}

const renderColumns = `id, content_id, bundle_id, task_id, job_id, node_id, status, started_at, finished_at`

func scanRender(row scanner) (*podium.Render, error) {
	var (
		r        podium.Render
		task     sql.NullString
		job      sql.NullInt64
		finished sql.NullTime
	)
	if err := row.Scan(&r.ID, &r.ContentID, &r.BundleID, &task, &job, &r.NodeID, &r.Status, &r.StartedAt, &finished); err != nil {
		return nil, err
	}
	r.TaskID = task.String
	if job.Valid {
		v := job.Int64
		r.JobID = &v
	}
	if finished.Valid {
		v := finished.Time.UTC()
		r.FinishedAt = &v
	}
	r.StartedAt = r.StartedAt.UTC()
	return &r, nil
}

// RenderCreate implements dbprovider.ContentStore.
func (s *Store) RenderCreate(ctx context.Context, p *dbprovider.RenderCreateParams) (*podium.Render, error) {
	q := `INSERT INTO renders (content_id, bundle_id, task_id, job_id, node_id, status, started_at)
	VALUES ($1, $2, $3, $4, $5, 'running', ` + s.D.Now() + `) RETURNING ` + renderColumns
	r, err := scanRender(s.W.QueryRowContext(ctx, q, p.ContentID, p.BundleID, textOrNull(p.TaskID), idOrNull(p.JobID), p.NodeID))
	if err != nil {
		return nil, fmt.Errorf("render create: %w", s.D.TranslateError(err))
	}
	return r, nil
}

// RenderFinish implements dbprovider.ContentStore.
func (s *Store) RenderFinish(ctx context.Context, id int64, status string) error {
	res, err := s.W.ExecContext(ctx, `UPDATE renders SET status = $2, finished_at = `+s.D.Now()+`
		WHERE id = $1 AND status = 'running'`, id, status)
	if err != nil {
		return fmt.Errorf("render finish: %w", s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var st string
	err = s.W.QueryRowContext(ctx, `SELECT status FROM renders WHERE id = $1`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return podium.Errorf(podium.ENOTFOUND, "render %d not found", id)
	} else if err != nil {
		return fmt.Errorf("render finish: %w", s.D.TranslateError(err))
	}
	return podium.Errorf(podium.ECONFLICT, "render %d was finished already (%s)", id, st)
}

// RenderFailOrphaned implements dbprovider.ContentStore.
func (s *Store) RenderFailOrphaned(ctx context.Context, p *dbprovider.OrphanedParams) ([]int64, error) {
	// SkipLocked: a render its node is finishing right now, or that
	// another node's sweep is failing, is left to them; sweeps locking rows
	// in different orders could otherwise deadlock. No outer join here: it
	// would refuse FOR UPDATE.
	rows, err := s.W.QueryContext(ctx, `UPDATE renders SET status = 'failed', finished_at = `+s.D.Now()+`
		WHERE status = 'running' AND id IN (SELECT r.id FROM renders r
			WHERE r.status = 'running' AND (
				NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = r.node_id)
				OR EXISTS (SELECT 1 FROM nodes n WHERE n.id = r.node_id AND `+s.orphanRule("r", "started_at")+`))
			ORDER BY r.id `+s.D.SkipLocked()+`)
		RETURNING id`, p.NodeID, p.NodeTimeout.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("render fail orphaned: %w", s.D.TranslateError(err))
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("render fail orphaned: %w", s.D.TranslateError(err))
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("render fail orphaned: %w", s.D.TranslateError(err))
	}
	return ids, nil
}

// RenderGet implements dbprovider.ContentStore.
func (s *Store) RenderGet(ctx context.Context, id int64) (*podium.Render, error) {
	r, err := scanRender(s.R.QueryRowContext(ctx, `SELECT `+renderColumns+` FROM renders WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("render get %d: %w", id, s.D.TranslateError(err))
	}
	return r, nil
}

// RenderGetLatestGood implements dbprovider.ContentStore.
func (s *Store) RenderGetLatestGood(ctx context.Context, contentID, bundleID int64) (*podium.Render, error) {
	r, err := scanRender(s.R.QueryRowContext(ctx, sqlRenderLatestGood, contentID, bundleID))
	if err != nil {
		return nil, fmt.Errorf("render get latest: %w", s.D.TranslateError(err))
	}
	return r, nil
}

// RenderList implements dbprovider.ContentStore (index renders_content_id).
func (s *Store) RenderList(ctx context.Context, p *dbprovider.RenderListParams) ([]*podium.Render, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	before := p.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	return nonNil(queryList(ctx, s.R, s.D, "render list", scanRender, sqlRenderList, p.ContentID, before, limit))
}

// The hot queries on renders, named so that the EXPLAIN test runs exactly
// what the code runs.
const (
	sqlRenderList = `SELECT ` + renderColumns + ` FROM renders WHERE content_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	// The partial index renders_unpruned holds only outputs that still
	// exist, so this reads keep+limit index entries whatever the history.
	sqlRenderUnpruned = `SELECT ` + renderColumns + ` FROM renders
		WHERE content_id = $1 AND bundle_id = $2 AND status = 'ok' AND NOT output_pruned AND id <> $3
		ORDER BY id DESC LIMIT $4 OFFSET $5`
	sqlRenderLatestGood = `SELECT ` + renderColumns + ` FROM renders
		WHERE content_id = $1 AND bundle_id = $2 AND status = 'ok' ORDER BY id DESC LIMIT 1`
	// Rows that keep an output (the newest good ones) are never deleted:
	// readers may be serving them.
	// (deleted by id in a second statement, see JobHistoryPrune.)
	sqlRenderHistoryPrune = `SELECT id FROM renders
		WHERE started_at < $1 AND (status <> 'ok' OR output_pruned) ORDER BY started_at LIMIT $2`
)

// RenderListUnpruned implements dbprovider.ContentStore.
func (s *Store) RenderListUnpruned(ctx context.Context, p *dbprovider.RenderPruneParams) ([]*podium.Render, error) {
	return queryList(ctx, s.R, s.D, "render list unpruned", scanRender, sqlRenderUnpruned,
		p.ContentID, p.BundleID, p.Except, max(p.Limit, 1), max(p.Keep, 0))
}

// RenderMarkPruned implements dbprovider.ContentStore.
func (s *Store) RenderMarkPruned(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if _, err := s.W.ExecContext(ctx, `UPDATE renders SET output_pruned = true WHERE id IN (`+inList(1, len(ids))+`)`, args...); err != nil {
		return fmt.Errorf("render mark pruned: %w", s.D.TranslateError(err))
	}
	return nil
}

// RenderHistoryPrune implements dbprovider.ContentStore.
func (s *Store) RenderHistoryPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "render history prune", "renders", sqlRenderHistoryPrune, UTC(before), limit)
}

// RenderHistoryCount implements dbprovider.ContentStore: the rows of
// sqlRenderHistoryPrune, counted.
func (s *Store) RenderHistoryCount(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.R.QueryRowContext(ctx, `SELECT count(*) FROM renders
		WHERE started_at < $1 AND (status <> 'ok' OR output_pruned)`, UTC(before)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("render history count: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// ContentEnvList implements dbprovider.ContentStore.
func (s *Store) ContentEnvList(ctx context.Context, contentID int64) ([]*dbprovider.ContentEnvVar, error) {
	rows, err := s.R.QueryContext(ctx, `SELECT name, value FROM content_env WHERE content_id = $1 ORDER BY name`, contentID)
	if err != nil {
		return nil, fmt.Errorf("content env list: %w", s.D.TranslateError(err))
	}
	defer rows.Close()
	var out []*dbprovider.ContentEnvVar
	for rows.Next() {
		var v dbprovider.ContentEnvVar
		if err := rows.Scan(&v.Name, &v.Value); err != nil {
			return nil, fmt.Errorf("content env list: %w", s.D.TranslateError(err))
		}
		out = append(out, &v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("content env list: %w", s.D.TranslateError(err))
	}
	return out, nil
}

// ContentEnvSet implements dbprovider.ContentStore. Callers wanting all of
// a change or none run it in a transaction.
func (s *Store) ContentEnvSet(ctx context.Context, p *dbprovider.ContentEnvSetParams) error {
	for _, name := range p.Delete {
		if _, err := s.W.ExecContext(ctx, `DELETE FROM content_env WHERE content_id = $1 AND name = $2`, p.ContentID, name); err != nil {
			return fmt.Errorf("content env delete %s: %w", name, s.D.TranslateError(err))
		}
	}
	for _, v := range p.Set {
		q := `INSERT INTO content_env (content_id, name, value, created_at, updated_at)
		VALUES ($1, $2, $3, ` + s.D.Now() + `, ` + s.D.Now() + `)
		ON CONFLICT (content_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
		if _, err := s.W.ExecContext(ctx, q, p.ContentID, v.Name, v.Value); err != nil {
			return fmt.Errorf("content env set %s: %w", v.Name, s.D.TranslateError(err))
		}
	}
	return nil
}

// RenderListRecent implements dbprovider.ContentStore: the first page of
// RenderList.
func (s *Store) RenderListRecent(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error) {
	return s.RenderList(ctx, &dbprovider.RenderListParams{ContentID: contentID, Limit: max(limit, 1)})
}

// TaskList implements dbprovider.ContentStore: two queries, the tasks and
// then the output of all of them, whatever their number.
func (s *Store) TaskList(ctx context.Context, contentID int64, limit int) ([]*podium.Task, error) {
	const newest = `SELECT id FROM tasks WHERE content_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`
	tasks, err := nonNil(queryList(ctx, s.R, s.D, "task list", scanTask,
		`SELECT `+taskColumns+` FROM tasks WHERE id IN (`+newest+`) ORDER BY created_at DESC, id DESC`, contentID, limit))
	if err != nil || len(tasks) == 0 {
		return tasks, err
	}
	byID := make(map[string]*podium.Task, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	rows, err := s.R.QueryContext(ctx, `SELECT task_id, line_no, line FROM task_output
		WHERE task_id IN (`+newest+`) AND line_no < $3 ORDER BY task_id, line_no`, contentID, limit, dbprovider.MaxTaskLines)
	if err != nil {
		return nil, fmt.Errorf("task list: output: %w", s.D.TranslateError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   string
			n    int
			line string
		)
		if err := rows.Scan(&id, &n, &line); err != nil {
			return nil, fmt.Errorf("task list: output: %w", s.D.TranslateError(err))
		}
		if t := byID[id]; t != nil {
			t.Output = append(t.Output, line)
			t.Last = n + 1
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("task list: output: %w", s.D.TranslateError(err))
	}
	return tasks, nil
}
