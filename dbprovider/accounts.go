package dbprovider

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// AccountStore holds the store methods for users, API keys, sessions and
// login throttling. Secrets never reach it: API keys and session tokens are
// stored as SHA-256 hashes and passwords as argon2id hashes, computed by the
// auth package.
type AccountStore interface {
	// UserCreate inserts a user with created_at and updated_at set from the
	// database clock. Returns ECONFLICT if the username is taken.
	UserCreate(ctx context.Context, p *UserCreateParams) (*podium.User, error)
	// UserGetByID returns one user. Returns ENOTFOUND.
	UserGetByID(ctx context.Context, id int64) (*podium.User, error)
	// UserGetByName returns one user. Returns ENOTFOUND.
	UserGetByName(ctx context.Context, username string) (*podium.User, error)
	// UserGetPasswordHash returns the stored password hash of a user ("" for
	// a user who cannot log in with a password). Returns ENOTFOUND.
	UserGetPasswordHash(ctx context.Context, id int64) (string, error)
	// UserList returns every user, by username.
	UserList(ctx context.Context) ([]*podium.User, error)
	// UserUpdate changes the fields of p that are set. Returns ENOTFOUND,
	// ECONFLICT for a new username that is taken.
	UserUpdate(ctx context.Context, p *UserUpdateParams) (*podium.User, error)
	// UserDelete deletes a user with their keys, sessions, identities,
	// memberships and grants. Returns ENOTFOUND, and EPRECONDITION while
	// the user owns content (transfer or delete it first).
	UserDelete(ctx context.Context, id int64) error

	// APIKeyCreate stores a new key's hash. Returns ECONFLICT if the hash
	// exists (a collision of 256-bit random keys: a bug), ECONFLICT too if
	// the user does not exist (foreign key).
	APIKeyCreate(ctx context.Context, p *APIKeyCreateParams) (*APIKey, error)
	// APIKeyGetByHash returns the unrevoked key with this hash, with its
	// user. Returns ENOTFOUND for an unknown or revoked key.
	APIKeyGetByHash(ctx context.Context, hash []byte) (*APIKey, *podium.User, error)
	// APIKeyGetByID returns one key, revoked or not. Returns ENOTFOUND.
	APIKeyGetByID(ctx context.Context, id int64) (*APIKey, error)
	// APIKeyList returns the keys of a user (every user's when UserID is 0),
	// oldest first; revoked keys only with IncludeRevoked.
	APIKeyList(ctx context.Context, p *APIKeyListParams) ([]*APIKey, error)
	// APIKeyRevoke sets revoked_at on an unrevoked key. Returns ENOTFOUND
	// when no unrevoked key has this id.
	APIKeyRevoke(ctx context.Context, id int64) error
	// APIKeyTouch sets last_used_at to the database's now, unless it was
	// set less than minInterval ago (so that a busy key does not write on
	// every request). It reports whether it wrote.
	APIKeyTouch(ctx context.Context, id int64, minInterval time.Duration) (bool, error)

	// SessionCreate stores a session. Returns ECONFLICT for a duplicate
	// hash.
	SessionCreate(ctx context.Context, p *SessionCreateParams) (*Session, error)
	// SessionGet returns the session with this token hash and its user, if
	// it has not expired by the database clock. Returns ENOTFOUND.
	SessionGet(ctx context.Context, idHash []byte) (*Session, *podium.User, error)
	// SessionDelete removes a session; a missing one is not an error.
	SessionDelete(ctx context.Context, idHash []byte) error
	// SessionListByUser returns the unexpired sessions of a user, newest
	// first.
	SessionListByUser(ctx context.Context, userID int64) ([]*Session, error)
	// SessionDeleteByUser removes every session of a user and returns how
	// many.
	SessionDeleteByUser(ctx context.Context, userID int64) (int64, error)
	// SessionExtend moves a session's expiry to expiresAt if that is
	// later than the stored one (never earlier), and reports whether it
	// wrote.
	SessionExtend(ctx context.Context, idHash []byte, expiresAt time.Time) (bool, error)
	// SessionDeleteExpired removes the sessions that expired by the
	// database clock and returns how many.
	SessionDeleteExpired(ctx context.Context) (int64, error)

	// LoginAttemptGet returns the failure record of a throttling key
	// ("user:NAME" or "ip:ADDR"). Returns ENOTFOUND when there is none.
	LoginAttemptGet(ctx context.Context, key string) (*LoginAttempt, error)
	// LoginAttemptRecordFailure counts one more failure for a key at p.At,
	// restarting the count at 1 when the previous failure is older than
	// p.ForgetBefore, and returns the record.
	LoginAttemptRecordFailure(ctx context.Context, p *LoginAttemptRecordFailureParams) (*LoginAttempt, error)
	// LoginAttemptLock sets the time before which a key's logins are
	// refused.
	LoginAttemptLock(ctx context.Context, key string, until time.Time) error
	// LoginAttemptReset forgets a key's failures.
	LoginAttemptReset(ctx context.Context, key string) error
	// LoginAttemptDeleteStale removes the records whose last failure and
	// lock both ended before t, and returns how many.
	LoginAttemptDeleteStale(ctx context.Context, before time.Time) (int64, error)
}

// UserCreateParams creates a user.
type UserCreateParams struct {
	Username string
	Role     string
	// PasswordHash is an encoded password hash; "" makes a user who cannot
	// log in with a password (API keys only).
	PasswordHash string
}

// UserUpdateParams changes a user; nil fields stay as they are.
type UserUpdateParams struct {
	ID           int64
	Username     *string
	Name         *string
	Email        *string
	Role         *string
	PasswordHash *string
	Locked       *bool
}

// APIKey is a stored API key: never the key itself, only its hash and a
// prefix to recognize it by.
type APIKey struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// APIKeyCreateParams stores a key.
type APIKeyCreateParams struct {
	UserID int64
	Name   string
	Hash   []byte
	Prefix string
}

// APIKeyListParams selects keys.
type APIKeyListParams struct {
	// UserID selects one user's keys; 0 selects every user's.
	UserID         int64
	IncludeRevoked bool
}

// Session is a stored login session, keyed by the hash of its token.
type Session struct {
	IDHash    []byte
	UserID    int64
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionCreateParams stores a session.
type SessionCreateParams struct {
	IDHash    []byte
	UserID    int64
	CSRFToken string
	// ExpiresAt is when the session ends (compared with the database
	// clock).
	ExpiresAt time.Time
}

// LoginAttempt is the failure record of one throttling key.
type LoginAttempt struct {
	Key         string
	Failures    int
	LastAt      time.Time
	LockedUntil *time.Time
}

// LoginAttemptRecordFailureParams records a failed login.
type LoginAttemptRecordFailureParams struct {
	Key string
	// At is the time of the failure.
	At time.Time
	// ForgetBefore restarts the count when the last failure is older.
	ForgetBefore time.Time
}
