package dbprovider

import (
	"context"

	"github.com/podiumhq/podium"
)

// GitStore holds the store methods of git-backed content: the repository
// each content item follows and the credentials of repository hosts.
type GitStore interface {
	// RepositorySet creates or replaces the repository of content. When
	// the repository, branch or directory changes, what was last seen
	// (commit, bundle, error) is forgotten, so the new location is
	// deployed. Returns ECONFLICT for unknown content.
	RepositorySet(ctx context.Context, p *RepositorySetParams) (*podium.Repository, error)
	// RepositoryGet returns the repository of content. Returns ENOTFOUND.
	RepositoryGet(ctx context.Context, contentID int64) (*podium.Repository, error)
	// RepositoryDelete stops content following a repository. Returns
	// ENOTFOUND.
	RepositoryDelete(ctx context.Context, contentID int64) error
	// RepositoryListPolling returns the repositories checked on an
	// interval, by content id.
	RepositoryListPolling(ctx context.Context) ([]*podium.Repository, error)
	// RepositoryRecordCommit records that the bundle of a new commit was
	// made: it moves last_known_commit from p.Previous to p.Commit, sets
	// bundle_id and the fetch time, and clears the error. Returns
	// ECONFLICT when last_known_commit is no longer p.Previous (another
	// node recorded a commit first) and ENOTFOUND when content follows no
	// repository. Run it in the transaction that creates the bundle.
	RepositoryRecordCommit(ctx context.Context, p *RepositoryRecordCommitParams) error
	// RepositoryRecordCheck records a check that made no bundle: the
	// fetch time and lastError ("" for none). Returns ENOTFOUND.
	RepositoryRecordCheck(ctx context.Context, contentID int64, lastError string) error

	// GitCredentialSet creates or replaces the credential of a host.
	GitCredentialSet(ctx context.Context, c *podium.GitCredential) (*podium.GitCredential, error)
	// GitCredentialGet returns the credential of a host. Returns
	// ENOTFOUND.
	GitCredentialGet(ctx context.Context, host string) (*podium.GitCredential, error)
	// GitCredentialList returns every credential, by host.
	GitCredentialList(ctx context.Context) ([]*podium.GitCredential, error)
	// GitCredentialDelete removes the credential of a host. Returns
	// ENOTFOUND.
	GitCredentialDelete(ctx context.Context, host string) error
}

// RepositorySetParams sets the repository of content.
type RepositorySetParams struct {
	ContentID  int64
	Repository string
	Branch     string
	Directory  string
	Polling    bool
}

// RepositoryRecordCommitParams records the bundle made of a commit.
type RepositoryRecordCommitParams struct {
	ContentID int64
	Previous  string
	Commit    string
	BundleID  int64
}
