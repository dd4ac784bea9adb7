package podium

import "time"

// Repository is the git location a content item follows (Connect's
// GitLocation): Podium checks Branch of Repository for new commits and
// deploys the Directory (which holds a manifest.json) of each new one.
type Repository struct {
	ContentID   int64
	ContentGUID string
	Repository  string
	Branch      string
	Directory   string
	// Polling: checked for new commits every [Git] PollingFrequency;
	// otherwise only when asked (deploy, or POST …/repository/bundle).
	Polling bool
	// LastKnownCommit is the commit whose bundle BundleID was made
	// ("" before the first).
	LastKnownCommit string
	BundleID        *int64
	// LastError is what went wrong at the last check ("" when it went
	// well).
	LastError     string
	LastFetchedAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// GitCredential is the account Podium uses for the repositories of one
// host. Secret is encrypted (see package publish); it never leaves the
// server.
type GitCredential struct {
	Host      string
	Username  string
	Secret    []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}
