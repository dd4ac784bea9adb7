package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

const repositoryColumns = `r.content_id, c.guid, r.repository, r.branch, r.directory, r.polling, r.last_known_commit,
	r.bundle_id, r.last_error, r.last_fetched_at, r.created_at, r.updated_at
	FROM content_repositories r JOIN content c ON c.id = r.content_id`

func scanRepository(row scanner) (*podium.Repository, error) {
	var (
		r       podium.Repository
		bundle  sql.NullInt64
		fetched sql.NullTime
	)
	if err := row.Scan(&r.ContentID, &r.ContentGUID, &r.Repository, &r.Branch, &r.Directory, &r.Polling, &r.LastKnownCommit,
		&bundle, &r.LastError, &fetched, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if bundle.Valid {
		r.BundleID = &bundle.Int64
	}
	r.LastFetchedAt = nullTime(fetched)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// RepositorySet implements dbprovider.GitStore.
func (s *Store) RepositorySet(ctx context.Context, p *dbprovider.RepositorySetParams) (*podium.Repository, error) {
	// A new location forgets what the old one gave: its commit is not the
	// new location's.
	q := `INSERT INTO content_repositories (content_id, repository, branch, directory, polling, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, ` + s.D.Now() + `, ` + s.D.Now() + `)
	ON CONFLICT (content_id) DO UPDATE SET repository = excluded.repository, branch = excluded.branch,
		directory = excluded.directory, polling = excluded.polling, updated_at = excluded.updated_at,
		last_known_commit = CASE WHEN ` + sameLocation + ` THEN content_repositories.last_known_commit ELSE '' END,
		bundle_id = CASE WHEN ` + sameLocation + ` THEN content_repositories.bundle_id ELSE NULL END,
		last_error = CASE WHEN ` + sameLocation + ` THEN content_repositories.last_error ELSE '' END`
	if _, err := s.W.ExecContext(ctx, q, p.ContentID, p.Repository, p.Branch, p.Directory, p.Polling); err != nil {
		return nil, fmt.Errorf("repository set %d: %w", p.ContentID, s.D.TranslateError(err))
	}
	r, err := scanRepository(s.W.QueryRowContext(ctx, `SELECT `+repositoryColumns+` WHERE r.content_id = $1`, p.ContentID))
	if err != nil {
		return nil, fmt.Errorf("repository set %d: %w", p.ContentID, s.D.TranslateError(err))
	}
	return r, nil
}

const sameLocation = `content_repositories.repository = excluded.repository AND content_repositories.branch = excluded.branch
	AND content_repositories.directory = excluded.directory`

// RepositoryGet implements dbprovider.GitStore.
func (s *Store) RepositoryGet(ctx context.Context, contentID int64) (*podium.Repository, error) {
	r, err := scanRepository(s.R.QueryRowContext(ctx, `SELECT `+repositoryColumns+` WHERE r.content_id = $1`, contentID))
	if err != nil {
		return nil, fmt.Errorf("repository get %d: %w", contentID, s.D.TranslateError(err))
	}
	return r, nil
}

// RepositoryDelete implements dbprovider.GitStore.
func (s *Store) RepositoryDelete(ctx context.Context, contentID int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM content_repositories WHERE content_id = $1`, contentID)
	if err != nil {
		return fmt.Errorf("repository delete %d: %w", contentID, s.D.TranslateError(err))
	}
	return mustAffect(res, "repository of content", fmt.Sprint(contentID))
}

// RepositoryListPolling implements dbprovider.GitStore.
func (s *Store) RepositoryListPolling(ctx context.Context) ([]*podium.Repository, error) {
	return nonNil(queryList(ctx, s.R, s.D, "repository list polling", scanRepository,
		`SELECT `+repositoryColumns+` WHERE r.polling ORDER BY r.content_id`))
}

// RepositoryRecordCommit implements dbprovider.GitStore: a compare and
// set on last_known_commit.
func (s *Store) RepositoryRecordCommit(ctx context.Context, p *dbprovider.RepositoryRecordCommitParams) error {
	res, err := s.W.ExecContext(ctx, `UPDATE content_repositories SET last_known_commit = $1, bundle_id = $2, last_error = '',
		last_fetched_at = `+s.D.Now()+` WHERE content_id = $3 AND last_known_commit = $4`, p.Commit, p.BundleID, p.ContentID, p.Previous)
	if err != nil {
		return fmt.Errorf("repository record commit %d: %w", p.ContentID, s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("repository record commit %d: %w", p.ContentID, err)
	} else if n == 1 {
		return nil
	}
	if _, err := s.RepositoryGet(ctx, p.ContentID); err != nil {
		return err
	}
	return podium.Errorf(podium.ECONFLICT, "repository of content %d: commit %.12s was recorded by another node", p.ContentID, p.Commit)
}

// RepositoryRecordCheck implements dbprovider.GitStore.
func (s *Store) RepositoryRecordCheck(ctx context.Context, contentID int64, lastError string) error {
	res, err := s.W.ExecContext(ctx, `UPDATE content_repositories SET last_error = $1, last_fetched_at = `+s.D.Now()+`
		WHERE content_id = $2`, lastError, contentID)
	if err != nil {
		return fmt.Errorf("repository record check %d: %w", contentID, s.D.TranslateError(err))
	}
	return mustAffect(res, "repository of content", fmt.Sprint(contentID))
}

const gitCredentialColumns = `host, username, secret, created_at, updated_at`

func scanGitCredential(row scanner) (*podium.GitCredential, error) {
	var c podium.GitCredential
	if err := row.Scan(&c.Host, &c.Username, &c.Secret, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// GitCredentialSet implements dbprovider.GitStore.
func (s *Store) GitCredentialSet(ctx context.Context, c *podium.GitCredential) (*podium.GitCredential, error) {
	q := `INSERT INTO git_credentials (host, username, secret, created_at, updated_at)
	VALUES ($1, $2, $3, ` + s.D.Now() + `, ` + s.D.Now() + `)
	ON CONFLICT (host) DO UPDATE SET username = excluded.username, secret = excluded.secret, updated_at = excluded.updated_at
	RETURNING ` + gitCredentialColumns
	got, err := scanGitCredential(s.W.QueryRowContext(ctx, q, c.Host, c.Username, c.Secret))
	if err != nil {
		return nil, fmt.Errorf("git credential set %q: %w", c.Host, s.D.TranslateError(err))
	}
	return got, nil
}

// GitCredentialGet implements dbprovider.GitStore.
func (s *Store) GitCredentialGet(ctx context.Context, host string) (*podium.GitCredential, error) {
	c, err := scanGitCredential(s.R.QueryRowContext(ctx, `SELECT `+gitCredentialColumns+` FROM git_credentials WHERE host = $1`, host))
	if err != nil {
		return nil, fmt.Errorf("git credential get %q: %w", host, s.D.TranslateError(err))
	}
	return c, nil
}

// GitCredentialList implements dbprovider.GitStore.
func (s *Store) GitCredentialList(ctx context.Context) ([]*podium.GitCredential, error) {
	return nonNil(queryList(ctx, s.R, s.D, "git credential list", scanGitCredential,
		`SELECT `+gitCredentialColumns+` FROM git_credentials ORDER BY host`))
}

// GitCredentialDelete implements dbprovider.GitStore.
func (s *Store) GitCredentialDelete(ctx context.Context, host string) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM git_credentials WHERE host = $1`, host)
	if err != nil {
		return fmt.Errorf("git credential delete %q: %w", host, s.D.TranslateError(err))
	}
	return mustAffect(res, "git credential", host)
}
