package sqlstore

// This file implements dbprovider.ContentStore.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

const contentColumns = `id, guid, name, title, description, owner_id, appmode, access_type,
	active_bundle_id, created_at, updated_at`

func scanContent(row scanner) (*podium.Content, error) {
	var (
		c      podium.Content
		active sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.GUID, &c.Name, &c.Title, &c.Description, &c.OwnerID, &c.AppMode,
		&c.AccessType, &active, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
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
			OR EXISTS (SELECT 1 FROM content_acl a WHERE a.content_id = c.id AND a.user_id = $2))))
	AND ($3 = 0 OR c.owner_id = $3)
	AND ($4 = '' OR c.name = $4)
	ORDER BY c.id`
	all := 0
	if p.All {
		all = 1
	}
	return queryList(ctx, s.R, s.D, "content list", scanContent, q, all, p.ViewerID, p.OwnerID, p.Name)
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
	q := `UPDATE content SET active_bundle_id = $2, appmode = $3, updated_at = ` + s.D.Now() + `
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
	err := s.R.QueryRowContext(ctx, `SELECT role FROM content_acl WHERE content_id = $1 AND user_id = $2`,
		contentID, userID).Scan(&role)
	if ErrNoRows(err) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("content acl role: %w", s.D.TranslateError(err))
	}
	return role, nil
}

const bundleColumns = `id, content_id, size, sha256, manifest, created_by, created_at`

func scanBundle(row scanner) (*podium.Bundle, error) {
	var (
		b  podium.Bundle
		by sql.NullInt64
	)
	if err := row.Scan(&b.ID, &b.ContentID, &b.Size, &b.SHA256, &b.Manifest, &by, &b.CreatedAt); err != nil {
		return nil, err
	}
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
	q := `INSERT INTO bundles (content_id, size, sha256, manifest, created_by, created_at)
	VALUES ($1, $2, $3, $4, $5, ` + s.D.Now() + `) RETURNING ` + bundleColumns
	b, err := scanBundle(s.W.QueryRowContext(ctx, q, p.ContentID, p.Size, p.SHA256, manifest, idOrNull(p.CreatedBy)))
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
	WHERE id = $1`
	res, err := s.W.ExecContext(ctx, q, p.ID, true, p.Code, p.Error, textOrNull(p.Result))
	if err != nil {
		return fmt.Errorf("task finish: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "task", p.ID)
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
	res, err := s.W.ExecContext(ctx, `UPDATE renders SET status = $2, finished_at = `+s.D.Now()+` WHERE id = $1`, id, status)
	if err != nil {
		return fmt.Errorf("render finish: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "render", fmt.Sprint(id))
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
	r, err := scanRender(s.R.QueryRowContext(ctx, `SELECT `+renderColumns+` FROM renders
		WHERE content_id = $1 AND bundle_id = $2 AND status = 'ok' ORDER BY id DESC LIMIT 1`, contentID, bundleID))
	if err != nil {
		return nil, fmt.Errorf("render get latest: %w", s.D.TranslateError(err))
	}
	return r, nil
}

// RenderListRecent implements dbprovider.ContentStore.
func (s *Store) RenderListRecent(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error) {
	return nonNil(queryList(ctx, s.R, s.D, "render list recent", scanRender,
		`SELECT `+renderColumns+` FROM renders WHERE content_id = $1 ORDER BY id DESC LIMIT $2`, contentID, limit))
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

// RenderList implements dbprovider.ContentStore.
func (s *Store) RenderList(ctx context.Context, contentID int64) ([]*podium.Render, error) {
	return nonNil(queryList(ctx, s.R, s.D, "render list", scanRender, `SELECT `+renderColumns+` FROM renders WHERE content_id = $1 ORDER BY id DESC`, contentID))
}
