package sqlstore

// This file implements dbprovider.JobStore: schedules, the jobs each due
// time produces, their claims and attempts.
//
// Claims carry a token. Every write on behalf of a claim (heartbeat,
// finish, release) matches on (id, claim_token, status 'running'), so a node
// that lost its claim, because it stalled past the heartbeat timeout and
// another node reclaimed the job, changes nothing: its write matches no row
// and is reported as ECONFLICT.

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// inTx runs fn in a transaction on the writer: a new one when s is a
// provider's store, the caller's when s already runs inside one. A new
// transaction that fails as a deadlock's victim or for a serialization
// failure (dbprovider.RetryableError) is run again whole
// (dbprovider.RetryConflicts), so fn must set what it returns to its
// caller afresh on each run; inside the caller's transaction the caller
// retries.
func (s *Store) inTx(ctx context.Context, fn func(tx *Store) error) error {
	db, ok := s.W.(txBeginner)
	if !ok {
		return fn(s)
	}
	return dbprovider.RetryConflicts(ctx, func() error { return s.inTxOnce(ctx, db, fn) })
}

type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

func (s *Store) inTxOnce(ctx context.Context, db txBeginner, fn func(tx *Store) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return s.D.TranslateError(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(&Store{R: tx, W: tx, D: s.D, Prep: s.Prep}); err != nil {
		return err
	}
	return s.D.TranslateError(tx.Commit())
}

// parseDBTime reads a time that SQLite returns as text (aggregates and
// expressions carry no declared column type, so the driver does not
// convert them); PostgreSQL and typed columns give a time.Time already.
func parseDBTime(v any) (*time.Time, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		u := t.UTC()
		return &u, nil
	case string, []byte:
		str := fmt.Sprint(t)
		if b, ok := v.([]byte); ok {
			str = string(b)
		}
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if p, err := time.Parse(layout, str); err == nil {
				u := p.UTC()
				return &u, nil
			}
		}
		return nil, fmt.Errorf("unreadable time %q", str)
	default:
		return nil, fmt.Errorf("unreadable time of type %T", v)
	}
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// inList returns "$k, $k+1, ..." for n parameters starting at k.
func inList(k, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(k+i)
	}
	return strings.Join(ps, ", ")
}

// ScheduleContent implements dbprovider.JobStore.
func (s *Store) ScheduleContent(ctx context.Context, guid string, userID int64) (*dbprovider.ScheduleContent, error) {
	var c dbprovider.ScheduleContent
	err := s.R.QueryRowContext(ctx, `SELECT c.id, c.guid, c.owner_id,
		COALESCE(`+aclRoleExpr("c.id", "$2")+`, '')
	FROM content c WHERE c.guid = $1`, guid, userID).Scan(&c.ID, &c.GUID, &c.OwnerID, &c.ACLRole)
	if ErrNoRows(err) {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s not found", guid)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule content %s: %w", guid, s.D.TranslateError(err))
	}
	return &c, nil
}

const scheduleColumns = `s.content_id, COALESCE(c.guid, ''), s.spec, s.timezone, s.enabled, s.next_run_at, s.updated_at
	FROM schedules s LEFT JOIN content c ON c.id = s.content_id`

func scanSchedule(row scanner) (*podium.Schedule, error) {
	var (
		sc   podium.Schedule
		next sql.NullTime
	)
	if err := row.Scan(&sc.ContentID, &sc.ContentGUID, &sc.Spec, &sc.Timezone, &sc.Enabled, &next, &sc.UpdatedAt); err != nil {
		return nil, err
	}
	sc.NextRunAt = nullTime(next)
	sc.UpdatedAt = sc.UpdatedAt.UTC()
	return &sc, nil
}

// ScheduleGet implements dbprovider.JobStore.
func (s *Store) ScheduleGet(ctx context.Context, contentID int64) (*podium.Schedule, error) {
	return s.scheduleGet(ctx, s.R, contentID)
}

func (s *Store) scheduleGet(ctx context.Context, q Queryer, contentID int64) (*podium.Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx, `SELECT `+scheduleColumns+` WHERE s.content_id = $1`, contentID))
	if ErrNoRows(err) {
		return nil, podium.Errorf(podium.ENOTFOUND, "no schedule for content %d", contentID)
	}
	if err != nil {
		return nil, fmt.Errorf("schedule get: %w", s.D.TranslateError(err))
	}
	return sc, nil
}

// SchedulePut implements dbprovider.JobStore.
func (s *Store) SchedulePut(ctx context.Context, p *dbprovider.SchedulePutParams) (*podium.Schedule, error) {
	var next any
	if p.NextRunAt != nil {
		next = UTC(*p.NextRunAt)
	}
	_, err := s.W.ExecContext(ctx, `INSERT INTO schedules (content_id, spec, timezone, enabled, next_run_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, `+s.D.Now()+`)
	ON CONFLICT (content_id) DO UPDATE SET spec = excluded.spec, timezone = excluded.timezone,
		enabled = excluded.enabled, next_run_at = excluded.next_run_at, updated_at = excluded.updated_at`,
		p.ContentID, p.Spec, p.Timezone, p.Enabled, next)
	if err != nil {
		return nil, fmt.Errorf("schedule put: %w", s.D.TranslateError(err))
	}
	return s.scheduleGet(ctx, s.W, p.ContentID)
}

// ScheduleDelete implements dbprovider.JobStore. Queued jobs of the
// schedule go with it: they were the schedule's promise to run.
func (s *Store) ScheduleDelete(ctx context.Context, contentID int64) error {
	return s.inTx(ctx, func(tx *Store) error {
		res, err := tx.W.ExecContext(ctx, `DELETE FROM schedules WHERE content_id = $1`, contentID)
		if err != nil {
			return fmt.Errorf("schedule delete: %w", s.D.TranslateError(err))
		}
		if err := mustAffect(res, "schedule of content", strconv.FormatInt(contentID, 10)); err != nil {
			return err
		}
		_, err = tx.W.ExecContext(ctx, `DELETE FROM jobs WHERE content_id = $1 AND status = 'queued'`, contentID)
		if err != nil {
			return fmt.Errorf("schedule delete: %w", s.D.TranslateError(err))
		}
		return nil
	})
}

// sqlScheduleDue locks the due schedules of one enqueue pass (index
// schedules_next_run). On PostgreSQL rows another enqueuer holds are
// skipped, not waited for; the content's guid comes from a subquery because
// FOR UPDATE cannot lock the nullable side of an outer join.
func (s *Store) sqlScheduleDue() string {
	return `SELECT s.content_id, COALESCE((SELECT c.guid FROM content c WHERE c.id = s.content_id), ''), s.spec, s.timezone,
		s.enabled, s.next_run_at, s.updated_at
	FROM schedules s WHERE s.enabled AND s.next_run_at IS NOT NULL AND s.next_run_at <= $1
	ORDER BY s.next_run_at, s.content_id LIMIT $2 ` + s.D.SkipLocked()
}

// ScheduleEnqueueDue implements dbprovider.JobStore. One batch is five
// statements whatever its size: BEGIN, the SELECT that locks the due
// schedules, one multi-row upsert that advances them all (every row exists
// and is locked, so ON CONFLICT always updates; an upsert, unlike UPDATE,
// gives each row its own value on both dialects), one multi-row INSERT of
// their jobs, and COMMIT. None depends on how many nodes run.
func (s *Store) ScheduleEnqueueDue(ctx context.Context, p *dbprovider.ScheduleEnqueueParams) ([]*podium.Job, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	var out []*podium.Job
	err := s.inTx(ctx, func(tx *Store) error {
		out = nil // a retried transaction starts over
		due, err := queryList(ctx, tx.W, s.D, "schedule enqueue due", scanSchedule, s.sqlScheduleDue(), UTC(p.Now.Add(max(p.Ahead, 0))), limit)
		if err != nil || len(due) == 0 {
			return err
		}
		var (
			advance, insert []string
			aArgs, iArgs    []any
		)
		byContent := make(map[int64]*podium.Job, len(due))
		for _, sc := range due {
			step := p.Plan(sc, p.Now)
			var next any
			if step.Next != nil {
				next = UTC(*step.Next)
			}
			k := len(aArgs)
			advance = append(advance, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6))
			aArgs = append(aArgs, sc.ContentID, sc.Spec, sc.Timezone, step.Next != nil, next, UTC(sc.UpdatedAt))
			j := &podium.Job{ContentID: sc.ContentID, ContentGUID: sc.ContentGUID, Queue: podium.QueueRender, DueAt: *sc.NextRunAt,
				Status: podium.JobQueued, MaxAttempts: maxAttempts, Skipped: step.Skipped, SkippedReason: step.Reason}
			byContent[sc.ContentID] = j
			k = len(iArgs)
			insert = append(insert, fmt.Sprintf("($%d, $%d, $%d, 'queued', $%d, %s, $%d, $%d)", k+1, k+2, k+3, k+4, s.D.Now(), k+5, k+6))
			iArgs = append(iArgs, j.ContentID, j.Queue, UTC(j.DueAt), maxAttempts, j.Skipped, j.SkippedReason)
		}
		// A schedule that never fires again (or no longer parses) is
		// disabled, and then its updated_at says when.
		_, err = tx.W.ExecContext(ctx, `INSERT INTO schedules (content_id, spec, timezone, enabled, next_run_at, updated_at)
		VALUES `+strings.Join(advance, ", ")+`
		ON CONFLICT (content_id) DO UPDATE SET next_run_at = excluded.next_run_at, enabled = excluded.enabled,
			updated_at = CASE WHEN excluded.enabled THEN schedules.updated_at ELSE `+s.D.Now()+` END`, aArgs...)
		if err != nil {
			return fmt.Errorf("schedule enqueue due: advance: %w", s.D.TranslateError(err))
		}
		// ON CONFLICT: the job of a due time may exist already (queued by
		// hand, or before a restore); nothing to add for it.
		rows, err := tx.W.QueryContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, status, max_attempts, created_at, skipped, skipped_reason)
		VALUES `+strings.Join(insert, ", ")+`
		ON CONFLICT (content_id, due_at) DO NOTHING RETURNING id, content_id`, iArgs...)
		if err != nil {
			return fmt.Errorf("schedule enqueue due: jobs: %w", s.D.TranslateError(err))
		}
		defer rows.Close()
		for rows.Next() {
			var id, cid int64
			if err := rows.Scan(&id, &cid); err != nil {
				return fmt.Errorf("schedule enqueue due: jobs: %w", s.D.TranslateError(err))
			}
			if j := byContent[cid]; j != nil {
				j.ID = id
				out = append(out, j)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("schedule enqueue due: jobs: %w", s.D.TranslateError(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LeaseAcquire implements dbprovider.JobStore: one statement, which takes
// a free or expired lease or renews the holder's own. The row records when
// it was last renewed, not when it expires, so that expiry is "renewed
// before now - ttl" by the database clock on both dialects.
func (s *Store) LeaseAcquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var got string
	err := s.W.QueryRowContext(ctx, `INSERT INTO leases (name, holder, renewed_at) VALUES ($1, $2, `+s.D.Now()+`)
	ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, renewed_at = excluded.renewed_at
	WHERE leases.holder = excluded.holder OR leases.renewed_at < `+s.D.Ago("$3")+`
	RETURNING holder`, name, holder, ttl.Milliseconds()).Scan(&got)
	if ErrNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease acquire %s: %w", name, s.D.TranslateError(err))
	}
	return got == holder, nil
}

// LeaseRelease implements dbprovider.JobStore.
func (s *Store) LeaseRelease(ctx context.Context, name, holder string) error {
	if _, err := s.W.ExecContext(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("lease release %s: %w", name, s.D.TranslateError(err))
	}
	return nil
}

// ScheduleNextDue implements dbprovider.JobStore.
func (s *Store) ScheduleNextDue(ctx context.Context) (*time.Time, error) {
	var v any
	if err := s.R.QueryRowContext(ctx, `SELECT MIN(next_run_at) FROM schedules WHERE enabled`).Scan(&v); err != nil {
		return nil, fmt.Errorf("schedule next due: %w", s.D.TranslateError(err))
	}
	t, err := parseDBTime(v)
	if err != nil {
		return nil, fmt.Errorf("schedule next due: %w", err)
	}
	return t, nil
}

const jobColumns = `j.id, j.content_id, COALESCE(c.guid, ''), j.queue, j.due_at, j.status, j.attempts, j.max_attempts,
	COALESCE(j.claim_token, ''), COALESCE(j.node_id, ''), j.heartbeat_at, j.created_at, j.started_at, j.finished_at,
	j.exit_code, j.error, j.skipped, j.skipped_reason
	FROM jobs j LEFT JOIN content c ON c.id = j.content_id`

func scanJob(row scanner) (*podium.Job, error) {
	var (
		j                     podium.Job
		hb, started, finished sql.NullTime
		exit                  sql.NullInt64
	)
	if err := row.Scan(&j.ID, &j.ContentID, &j.ContentGUID, &j.Queue, &j.DueAt, &j.Status, &j.Attempts, &j.MaxAttempts,
		&j.ClaimToken, &j.NodeID, &hb, &j.CreatedAt, &started, &finished, &exit, &j.Error, &j.Skipped, &j.SkippedReason); err != nil {
		return nil, err
	}
	j.DueAt, j.CreatedAt = j.DueAt.UTC(), j.CreatedAt.UTC()
	j.HeartbeatAt, j.StartedAt, j.FinishedAt = nullTime(hb), nullTime(started), nullTime(finished)
	j.ExitCode = nullInt(exit)
	return &j, nil
}

func (s *Store) jobGet(ctx context.Context, q Queryer, id int64) (*podium.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` WHERE j.id = $1`, id))
	if ErrNoRows(err) {
		return nil, podium.Errorf(podium.ENOTFOUND, "job %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("job get: %w", s.D.TranslateError(err))
	}
	return j, nil
}

// JobGet implements dbprovider.JobStore.
func (s *Store) JobGet(ctx context.Context, id int64) (*podium.Job, error) {
	return s.jobGet(ctx, s.R, id)
}

// JobInsertDue implements dbprovider.JobStore.
func (s *Store) JobInsertDue(ctx context.Context, p *dbprovider.JobInsertParams) (*podium.Job, bool, error) {
	queue := p.Queue
	if queue == "" {
		queue = podium.QueueRender
	}
	maxAttempts := p.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 3
	}
	var (
		job      *podium.Job
		inserted bool
	)
	err := s.inTx(ctx, func(tx *Store) error {
		inserted = false // a retried transaction starts over
		var id int64
		err := tx.W.QueryRowContext(ctx, `INSERT INTO jobs (content_id, queue, due_at, status, max_attempts, created_at)
		VALUES ($1, $2, $3, 'queued', $4, `+s.D.Now()+`)
		ON CONFLICT (content_id, due_at) DO NOTHING RETURNING id`, p.ContentID, queue, UTC(p.DueAt), maxAttempts).Scan(&id)
		switch {
		case ErrNoRows(err):
			// Another node (or an earlier pass) queued this due time.
			err = tx.W.QueryRowContext(ctx, `SELECT id FROM jobs WHERE content_id = $1 AND due_at = $2`,
				p.ContentID, UTC(p.DueAt)).Scan(&id)
		case err == nil:
			inserted = true
		}
		if err != nil {
			return fmt.Errorf("job insert: %w", s.D.TranslateError(err))
		}
		job, err = tx.jobGet(ctx, tx.W, id)
		return err
	})
	return job, inserted, err
}

// JobClaim implements dbprovider.JobStore.
func (s *Store) JobClaim(ctx context.Context, p *dbprovider.JobClaimParams) (*podium.Job, error) {
	jobs, err := s.jobClaim(ctx, p, 1, "$1")
	if err != nil {
		return nil, err
	}
	return jobs[0], nil
}

// JobClaimBatch implements dbprovider.JobStore.
func (s *Store) JobClaimBatch(ctx context.Context, p *dbprovider.JobClaimParams, limit int) ([]*podium.Job, error) {
	return s.jobClaim(ctx, p, max(limit, 1), `$1 || '.' || id`)
}

// jobClaim claims up to limit jobs, each under the claim token token (an
// SQL expression of the row: the token parameter $1, or one made unique
// per job). Returns ENOTFOUND when none is due.
func (s *Store) jobClaim(ctx context.Context, p *dbprovider.JobClaimParams, limit int, token string) ([]*podium.Job, error) {
	args := []any{p.Token, p.NodeID}
	queueFilter := ""
	if len(p.Queues) > 0 {
		queueFilter = ` AND queue IN (` + inList(3, len(p.Queues)) + `)`
		for _, q := range p.Queues {
			args = append(args, q)
		}
	}
	if s.D.WritableCTE() {
		// One statement, one round trip, whatever the number of jobs: a
		// claim is on the path from a job's due time to its start. The
		// subquery locks the oldest due jobs and skips rows other claims
		// hold (SkipLocked), so concurrent claimers each get different
		// jobs without waiting; a row claimed and committed meanwhile is
		// re-checked against status = 'queued' and passed over.
		args = append(args, limit)
		jobs, err := queryList(ctx, s.W, s.D, "job claim", scanJob, s.sqlJobClaimCTE(queueFilter, token, fmt.Sprintf("$%d", len(args))), args...)
		if err != nil {
			return nil, err
		}
		if len(jobs) == 0 {
			return nil, podium.Errorf(podium.ENOTFOUND, "no job due")
		}
		return jobs, nil
	}
	var jobs []*podium.Job
	err := s.inTx(ctx, func(tx *Store) error {
		jobs = nil // a retried transaction starts over
		// The transaction holds the only write lock (BEGIN IMMEDIATE), so
		// claims run one after another and cannot pick the same row.
		for len(jobs) < limit {
			var id int64
			err := tx.W.QueryRowContext(ctx, s.sqlJobClaim(queueFilter, token, "1", "id"), args...).Scan(&id)
			if ErrNoRows(err) {
				break
			}
			if err != nil {
				return fmt.Errorf("job claim: %w", s.D.TranslateError(err))
			}
			_, err = tx.W.ExecContext(ctx, `INSERT INTO job_attempts (job_id, attempt, node_id, claim_token, status, started_at, heartbeat_at)
			SELECT id, (SELECT COUNT(*) + 1 FROM job_attempts WHERE job_id = $1), node_id, claim_token, 'running', `+s.D.Now()+`, `+s.D.Now()+`
			FROM jobs WHERE id = $1`, id)
			if err != nil {
				return fmt.Errorf("job claim: attempt: %w", s.D.TranslateError(err))
			}
			job, err := tx.jobGet(ctx, tx.W, id)
			if err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		if len(jobs) == 0 {
			return podium.Errorf(podium.ENOTFOUND, "no job due")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// sqlJobClaimCTE is sqlJobClaim with the attempts recorded and the jobs
// read back, in one statement (PostgreSQL).
func (s *Store) sqlJobClaimCTE(queueFilter, token, limit string) string {
	return `WITH claimed AS (` + s.sqlJobClaim(queueFilter, token, limit, "*") + `),
		attempt AS (INSERT INTO job_attempts (job_id, attempt, node_id, claim_token, status, started_at, heartbeat_at)
			SELECT id, (SELECT COUNT(*) + 1 FROM job_attempts WHERE job_id = claimed.id), node_id, claim_token, 'running', ` + s.D.Now() + `, ` + s.D.Now() + `
			FROM claimed)
		SELECT ` + strings.Replace(jobColumns, "FROM jobs j", "FROM claimed j", 1) + ` ORDER BY j.due_at, j.id`
}

// sqlJobClaim claims the oldest due queued jobs, at most limit (an SQL
// expression), under the claim token token (an SQL expression), returning
// the columns in returning (index jobs_status_due).
func (s *Store) sqlJobClaim(queueFilter, token, limit, returning string) string {
	return `UPDATE jobs SET status = 'running', attempts = attempts + 1,
			claim_token = ` + token + `, node_id = $2, heartbeat_at = ` + s.D.Now() + `, started_at = ` + s.D.Now() + `,
			finished_at = NULL, exit_code = NULL
		WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND due_at <= ` + s.D.Now() + queueFilter + `
			ORDER BY due_at, id LIMIT ` + limit + ` ` + s.D.SkipLocked() + `)
		RETURNING ` + returning
}

func claimLost(jobID int64) error {
	return podium.Errorf(podium.ECONFLICT, "job %d: claim lost (the job was reclaimed, released or finished)", jobID)
}

// JobHeartbeat implements dbprovider.JobStore.
func (s *Store) JobHeartbeat(ctx context.Context, jobID int64, token string) error {
	return s.inTx(ctx, func(tx *Store) error {
		res, err := tx.W.ExecContext(ctx, `UPDATE jobs SET heartbeat_at = `+s.D.Now()+`
		WHERE id = $1 AND claim_token = $2 AND status = 'running'`, jobID, token)
		if err != nil {
			return fmt.Errorf("job heartbeat: %w", s.D.TranslateError(err))
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return claimLost(jobID)
		}
		_, err = tx.W.ExecContext(ctx, `UPDATE job_attempts SET heartbeat_at = `+s.D.Now()+`
		WHERE job_id = $1 AND claim_token = $2`, jobID, token)
		if err != nil {
			return fmt.Errorf("job heartbeat: attempt: %w", s.D.TranslateError(err))
		}
		return nil
	})
}

// JobFinish implements dbprovider.JobStore. A rejected (late) completion
// still leaves its exit code and log on its own attempt, which stays
// abandoned, so the history shows what the stale node did.
func (s *Store) JobFinish(ctx context.Context, p *dbprovider.JobFinishParams) (*podium.Job, error) {
	var (
		job  *podium.Job
		lost bool
	)
	err := s.inTx(ctx, func(tx *Store) error {
		lost = false // a retried transaction starts over
		res, err := tx.W.ExecContext(ctx, `UPDATE jobs SET status = $3, finished_at = `+s.D.Now()+`,
			heartbeat_at = `+s.D.Now()+`, exit_code = $4, error = $5
		WHERE id = $1 AND claim_token = $2 AND status = 'running'`, p.ID, p.Token, p.Status, p.ExitCode, p.Error)
		if err != nil {
			return fmt.Errorf("job finish: %w", s.D.TranslateError(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("job finish: %w", s.D.TranslateError(err))
		}
		if n == 0 {
			lost = true
			_, err = tx.W.ExecContext(ctx, `UPDATE job_attempts SET finished_at = `+s.D.Now()+`, exit_code = $3,
				error = $4, log = $5
			WHERE job_id = $1 AND claim_token = $2 AND status <> 'running'`,
				p.ID, p.Token, p.ExitCode, "late completion rejected: the job had been reclaimed", p.Log)
			if err != nil {
				return fmt.Errorf("job finish: attempt: %w", s.D.TranslateError(err))
			}
			return nil
		}
		_, err = tx.W.ExecContext(ctx, `UPDATE job_attempts SET status = $3, finished_at = `+s.D.Now()+`,
			heartbeat_at = `+s.D.Now()+`, exit_code = $4, error = $5, log = $6
		WHERE job_id = $1 AND claim_token = $2`, p.ID, p.Token, p.Status, p.ExitCode, p.Error, p.Log)
		if err != nil {
			return fmt.Errorf("job finish: attempt: %w", s.D.TranslateError(err))
		}
		job, err = tx.jobGet(ctx, tx.W, p.ID)
		return err
	})
	if err == nil && lost {
		return nil, claimLost(p.ID)
	}
	return job, err
}

// JobRelease implements dbprovider.JobStore.
func (s *Store) JobRelease(ctx context.Context, jobID int64, token, reason string) error {
	return s.inTx(ctx, func(tx *Store) error {
		// attempts - 1: a release is not a failure, so it must not bring
		// the job closer to its maximum attempts.
		res, err := tx.W.ExecContext(ctx, `UPDATE jobs SET status = 'queued', attempts = attempts - 1,
			claim_token = NULL, heartbeat_at = NULL, started_at = NULL
		WHERE id = $1 AND claim_token = $2 AND status = 'running'`, jobID, token)
		if err != nil {
			return fmt.Errorf("job release: %w", s.D.TranslateError(err))
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return claimLost(jobID)
		}
		_, err = tx.W.ExecContext(ctx, `UPDATE job_attempts SET status = 'released', finished_at = `+s.D.Now()+`, error = $3
		WHERE job_id = $1 AND claim_token = $2`, jobID, token, reason)
		if err != nil {
			return fmt.Errorf("job release: attempt: %w", s.D.TranslateError(err))
		}
		return nil
	})
}

// JobReclaimAbandoned implements dbprovider.JobStore.
func (s *Store) JobReclaimAbandoned(ctx context.Context, timeout time.Duration) (*dbprovider.JobReclaimResult, error) {
	out := &dbprovider.JobReclaimResult{}
	reason := fmt.Sprintf("abandoned: no heartbeat for more than %s (the node stopped or stalled)", timeout)
	failed := fmt.Sprintf("failed: abandoned on every attempt (no heartbeat for more than %s each time)", timeout)
	err := s.inTx(ctx, func(tx *Store) error {
		*out = dbprovider.JobReclaimResult{} // a retried transaction starts over
		// SkipLocked: a row another node is reclaiming (or heartbeating)
		// right now is not waited for; PostgreSQL re-checks the heartbeat
		// of rows it does lock. Without it, two reclaimers locking rows in
		// different orders could deadlock.
		rows, err := tx.W.QueryContext(ctx, s.sqlJobReclaim(), timeout.Milliseconds(), failed)
		if err != nil {
			return fmt.Errorf("job reclaim: %w", s.D.TranslateError(err))
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var (
				id     int64
				status string
			)
			if err := rows.Scan(&id, &status); err != nil {
				return fmt.Errorf("job reclaim: %w", s.D.TranslateError(err))
			}
			ids = append(ids, id)
			if status == podium.JobFailed {
				out.Failed = append(out.Failed, id)
			} else {
				out.Requeued = append(out.Requeued, id)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("job reclaim: %w", s.D.TranslateError(err))
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		// The running attempts of these jobs are exactly the abandoned
		// ones: no new claim can happen before this transaction commits.
		args := []any{reason}
		for _, id := range ids {
			args = append(args, id)
		}
		_, err = tx.W.ExecContext(ctx, `UPDATE job_attempts SET status = 'abandoned', error = $1
		WHERE status = 'running' AND job_id IN (`+inList(2, len(ids))+`)`, args...)
		if err != nil {
			return fmt.Errorf("job reclaim: attempts: %w", s.D.TranslateError(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sqlJobReclaim requeues or fails abandoned jobs (index
// jobs_status_heartbeat).
func (s *Store) sqlJobReclaim() string {
	return `UPDATE jobs SET
			status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
			error = CASE WHEN attempts >= max_attempts THEN $2 ELSE error END,
			finished_at = CASE WHEN attempts >= max_attempts THEN ` + s.D.Now() + ` ELSE NULL END,
			claim_token = NULL
		WHERE id IN (SELECT id FROM jobs WHERE status = 'running' AND heartbeat_at < ` + s.D.Ago("$1") + `
			ORDER BY id ` + s.D.SkipLocked() + `)
		RETURNING id, status`
}

// JobList implements dbprovider.JobStore.
func (s *Store) JobList(ctx context.Context, p *dbprovider.JobListParams) ([]*podium.Job, error) {
	q, args := jobListSQL(p)
	return queryList(ctx, s.R, s.D, "job list", scanJob, q, args...)
}

func jobListSQL(p *dbprovider.JobListParams) (string, []any) {
	var (
		where []string
		args  []any
	)
	if p.ContentID != 0 {
		args = append(args, p.ContentID)
		where = append(where, "j.content_id = $"+strconv.Itoa(len(args)))
	}
	if p.Status != "" {
		args = append(args, p.Status)
		where = append(where, "j.status = $"+strconv.Itoa(len(args)))
	}
	if p.Before > 0 {
		// Keyset paging: (due_at, id) below the cursor's, by the same
		// index that orders the page (jobs_due_id, jobs_content_due or
		// jobs_status_due), so a page costs the same on any page.
		args = append(args, p.Before)
		k := "$" + strconv.Itoa(len(args))
		where = append(where, "(j.due_at, j.id) < (SELECT due_at, id FROM jobs WHERE id = "+k+")")
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	q := `SELECT ` + jobColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY j.due_at DESC, j.id DESC LIMIT $` + strconv.Itoa(len(args))
	return q, args
}

// JobAttemptList implements dbprovider.JobStore.
func (s *Store) JobAttemptList(ctx context.Context, jobIDs []int64) ([]*podium.JobAttempt, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(jobIDs))
	for i, id := range jobIDs {
		args[i] = id
	}
	return queryList(ctx, s.R, s.D, "job attempt list", scanJobAttempt, sqlJobAttemptList(len(jobIDs)), args...)
}

// sqlJobAttemptList reads the attempts of n jobs (index job_attempts_job).
func sqlJobAttemptList(n int) string {
	return `SELECT id, job_id, attempt, node_id, claim_token, status, started_at,
		heartbeat_at, finished_at, exit_code, error, log
	FROM job_attempts WHERE job_id IN (` + inList(1, n) + `) ORDER BY job_id, attempt, id`
}

func scanJobAttempt(row scanner) (*podium.JobAttempt, error) {
	var (
		a        podium.JobAttempt
		finished sql.NullTime
		exit     sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.JobID, &a.Attempt, &a.NodeID, &a.ClaimToken, &a.Status, &a.StartedAt,
		&a.HeartbeatAt, &finished, &exit, &a.Error, &a.Log); err != nil {
		return nil, err
	}
	a.StartedAt, a.HeartbeatAt = a.StartedAt.UTC(), a.HeartbeatAt.UTC()
	a.FinishedAt, a.ExitCode = nullTime(finished), nullInt(exit)
	return &a, nil
}

// sqlJobQueueStats measures the queue (indexes jobs_status_due and
// jobs_status_heartbeat).
func (s *Store) sqlJobQueueStats() string {
	return `SELECT
		(SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND due_at <= ` + s.D.Now() + `),
		(SELECT COUNT(*) FROM jobs WHERE status = 'running'),
		(SELECT MIN(due_at) FROM jobs WHERE status = 'queued' AND due_at <= ` + s.D.Now() + `),
		` + s.D.Now()
}

// JobQueueStats implements dbprovider.JobStore.
func (s *Store) JobQueueStats(ctx context.Context) (*dbprovider.JobQueueStats, error) {
	var (
		st          dbprovider.JobQueueStats
		oldest, now any
	)
	err := s.R.QueryRowContext(ctx, s.sqlJobQueueStats()).Scan(&st.Waiting, &st.Running, &oldest, &now)
	if err != nil {
		return nil, fmt.Errorf("job queue stats: %w", s.D.TranslateError(err))
	}
	o, err := parseDBTime(oldest)
	if err != nil {
		return nil, fmt.Errorf("job queue stats: %w", err)
	}
	n, err := parseDBTime(now)
	if err != nil {
		return nil, fmt.Errorf("job queue stats: %w", err)
	}
	if o != nil && n != nil && n.After(*o) {
		st.OldestWaiting = n.Sub(*o)
	}
	return &st, nil
}

// JobNodeCapacitySet implements dbprovider.JobStore.
func (s *Store) JobNodeCapacitySet(ctx context.Context, nodeID string, concurrency int) error {
	res, err := s.W.ExecContext(ctx, `UPDATE nodes SET schedule_concurrency = $2 WHERE id = $1`, nodeID, concurrency)
	if err != nil {
		return fmt.Errorf("job node capacity: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "node", nodeID)
}

// JobNodeCapacity implements dbprovider.JobStore. Draining nodes take no
// new work, so they do not count.
func (s *Store) JobNodeCapacity(ctx context.Context, timeout time.Duration) (live, capacity int, err error) {
	err = s.R.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(COALESCE(schedule_concurrency, 0)), 0)
	FROM nodes WHERE status NOT IN ('stopped', 'draining') AND heartbeat_at > `+s.D.Ago("$1"),
		timeout.Milliseconds()).Scan(&live, &capacity)
	if err != nil {
		return 0, 0, fmt.Errorf("job node capacity: %w", s.D.TranslateError(err))
	}
	return live, capacity, nil
}

// JobNodeList implements dbprovider.JobStore.
func (s *Store) JobNodeList(ctx context.Context, timeout time.Duration) ([]dbprovider.NodeCapacity, error) {
	return queryList(ctx, s.R, s.D, "job node list", func(row scanner) (dbprovider.NodeCapacity, error) {
		var n dbprovider.NodeCapacity
		err := row.Scan(&n.ID, &n.Concurrency)
		return n, err
	}, `SELECT id, schedule_concurrency FROM nodes
	WHERE status NOT IN ('stopped', 'draining') AND heartbeat_at > `+s.D.Ago("$1")+` AND schedule_concurrency > 0 ORDER BY id`,
		timeout.Milliseconds())
}

// sqlJobHistoryPrune selects one batch of old finished jobs (index
// jobs_finished). The batch is deleted by id in a second statement (a
// primary-key lookup each, their attempts going by ON DELETE CASCADE
// through job_attempts_job), which no planner can turn into a scan.
const sqlJobHistoryPrune = `SELECT id FROM jobs
	WHERE finished_at IS NOT NULL AND finished_at < $1 AND status IN ('succeeded', 'failed') ORDER BY finished_at LIMIT $2`

// JobHistoryPrune implements dbprovider.JobStore.
func (s *Store) JobHistoryPrune(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.deleteBatch(ctx, "job history prune", "jobs", sqlJobHistoryPrune, UTC(before), limit)
}

// JobHistoryCount implements dbprovider.JobStore: the rows of
// sqlJobHistoryPrune, counted.
func (s *Store) JobHistoryCount(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.R.QueryRowContext(ctx, `SELECT count(*) FROM jobs
		WHERE finished_at IS NOT NULL AND finished_at < $1 AND status IN ('succeeded', 'failed')`, UTC(before)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("job history count: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// deleteBatch deletes from table the rows whose ids the query selects, in
// one transaction, and returns how many it deleted.
func (s *Store) deleteBatch(ctx context.Context, what, table, query string, args ...any) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *Store) error {
		ids, err := queryList(ctx, tx.W, s.D, what, func(row scanner) (any, error) {
			var id int64
			err := row.Scan(&id)
			return id, err
		}, query, args...)
		if err != nil || len(ids) == 0 {
			return err
		}
		res, err := tx.W.ExecContext(ctx, `DELETE FROM `+table+` WHERE id IN (`+inList(1, len(ids))+`)`, ids...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, s.D.TranslateError(err))
		}
		affected, err := res.RowsAffected()
		n = int(affected)
		return err
	})
	return n, err
}

// HotQuery is dbprovider.HotQuery (the conformance suite, which may not
// import this package, EXPLAINs them).
type HotQuery = dbprovider.HotQuery

// HotQueries lists the queries on renders and jobs whose cost must not
// grow with the history: each must be served by an index (dbprovidertest
// EXPLAINs them on both dialects).
func (s *Store) HotQueries() []HotQuery {
	now := time.Now().UTC()
	list := func(name string, p *dbprovider.JobListParams) HotQuery {
		q, args := jobListSQL(p)
		return HotQuery{Name: name, SQL: q, Args: args, Ordered: p.ContentID == 0 && p.Status == "" && p.Before == 0}
	}
	claim := HotQuery{Name: "JobClaim", SQL: s.sqlJobClaim(` AND queue IN ($3, $4)`, "$1", "$5", "id"),
		Args: []any{"t", "n", podium.QueueRender, podium.QueueNoop, 2}}
	if s.D.WritableCTE() {
		// PostgreSQL might walk jobs_due_id, in the claim's order, and
		// filter out the whole history due earlier; SQLite searches
		// jobs_status_due.
		claim.SQL, claim.Index = s.sqlJobClaimCTE(` AND queue IN ($3, $4)`, "$1", "$5"), "jobs_queued_due"
	}
	return []HotQuery{
		{Name: "ScheduleEnqueueDue", SQL: s.sqlScheduleDue(), Args: []any{now, 100}},
		claim,
		{Name: "JobReclaimAbandoned", SQL: s.sqlJobReclaim(), Args: []any{int64(30000), "failed"}},
		{Name: "JobQueueStats", SQL: s.sqlJobQueueStats()},
		list("JobList/content", &dbprovider.JobListParams{ContentID: 1, Limit: 100}),
		list("JobList/content/next-page", &dbprovider.JobListParams{ContentID: 1, Limit: 100, Before: 1000}),
		list("JobList/status", &dbprovider.JobListParams{Status: podium.JobRunning, Limit: 100}),
		list("JobList/all", &dbprovider.JobListParams{Limit: 100}),
		list("JobList/all/next-page", &dbprovider.JobListParams{Limit: 100, Before: 1000}),
		{Name: "JobAttemptList", SQL: sqlJobAttemptList(2), Args: []any{1, 2}},
		{Name: "JobHistoryPrune", SQL: sqlJobHistoryPrune, Args: []any{now, 1000}},
		{Name: "RenderList", SQL: sqlRenderList, Args: []any{1, int64(1000), 100}, Index: "renders_content_id"},
		{Name: "RenderListUnpruned", SQL: sqlRenderUnpruned, Args: []any{1, 1, 5, 100, 2}, Index: "renders_unpruned"},
		{Name: "RenderGetLatestGood", SQL: sqlRenderLatestGood, Args: []any{1, 1}},
		{Name: "RenderHistoryPrune", SQL: sqlRenderHistoryPrune, Args: []any{now, 1000}},
		{Name: "HistoryPrune/delete-jobs", SQL: `DELETE FROM jobs WHERE id IN ($1, $2)`, Args: []any{1, 2}},
		{Name: "HistoryPrune/delete-renders", SQL: `DELETE FROM renders WHERE id IN ($1, $2)`, Args: []any{1, 2}},
	}
}
