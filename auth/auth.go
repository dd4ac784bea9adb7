// Package auth is Podium's accounts and access service: users and their
// roles, password hashing (argon2id), API keys, server-side login sessions
// with their CSRF tokens, and the throttling of failed logins.
//
// Everything it keeps lives in the database (dbprovider.AccountStore), so
// any node of a cluster accepts a session or key made on another, and every
// node sees the same failed-login counts. Secrets never leave it in the
// clear except once, to their owner: a new API key or session token is
// returned to the caller and only its SHA-256 hash is stored.
//
// It imports the domain package, dbprovider and logrus; it must not import
// echo or the web package (web consumes it through its own interfaces).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// Options configure a Service. Zero fields take the defaults documented on
// each.
type Options struct {
	// Hash is the argon2id cost of new password hashes. Default
	// DefaultHashParams; tests use CheapHashParams.
	Hash HashParams
	// MaxConcurrentHashes bounds the password hashes computed at once
	// (each takes Hash.Memory). Default runtime.NumCPU().
	MaxConcurrentHashes int
	// SessionTTL is the absolute lifetime of a login session: it ends
	// this long after the login, however active. Default 12h.
	SessionTTL time.Duration
	// SessionIdleTimeout ends a session that made no request for this
	// long. Default 2h (never more than SessionTTL).
	SessionIdleTimeout time.Duration
	// SessionTouchInterval is the least time between two writes that
	// extend a session's idle deadline. Default 1 minute (at most a tenth
	// of SessionIdleTimeout).
	SessionTouchInterval time.Duration
	// Password is the policy for new passwords.
	Password PasswordPolicy
	// KeyTouchInterval is the least time between two writes of an API
	// key's last_used_at. Default 1 minute.
	KeyTouchInterval time.Duration
	// Throttle configures the slowing down of failed logins.
	Throttle ThrottleOptions
	// Roles derives the role of users signed in by an external provider
	// (SignInExternal).
	Roles RoleMapping
	// LinkExistingUsers lets the first sign-in of a username through an
	// external provider take over the existing user of that username
	// (moving a password installation to a provider). Off, that sign-in
	// is refused: a provider whose usernames its users can choose would
	// otherwise hand them any existing account, an administrator's too.
	LinkExistingUsers bool
	// External, when set, checks the login form's username and password
	// instead of Podium's own passwords (LDAP): Login keeps its throttling
	// and signs the user in with SignInExternal.
	External PasswordAuthenticator
	// Now is the clock of the throttle and of session lifetimes
	// (injected by tests). Default time.Now. The database also refuses
	// sessions past their stored expiry by its own clock.
	Now func() time.Time
}

// ThrottleOptions configure login throttling, designed so that guessing
// stays slow but a stranger cannot lock a user out:
//
//   - after MaxFailures consecutive failures of one account from one
//     address, logins to that account from that address are refused for
//     BaseDelay, doubled with each further failure, up to MaxDelay;
//   - after MaxAddressFailures failures from one address (whatever the
//     accounts), every login from that address is refused the same way;
//   - after MaxAccountFailures failures of one account (from any
//     addresses: a distributed guess), the account is "under attack":
//     logins to it are refused from every address that itself failed a
//     login within ForgetAfter, while addresses with a clean record (the
//     user's own, as a rule) still log in.
//
// Failures from one address therefore never refuse the right password
// from another. IPv6 addresses count per /64 (one host's share). Failures
// older than ForgetAfter are forgotten.
type ThrottleOptions struct {
	// MaxFailures per account and address before throttling. Default 5.
	MaxFailures int
	// MaxAddressFailures per client address before throttling. Default
	// 20: several users may share one address (NAT, a proxy).
	MaxAddressFailures int
	// MaxAccountFailures per account, from all addresses, before the
	// account refuses addresses with failures of their own. Default 100.
	MaxAccountFailures int
	// BaseDelay is the first refusal period. Default 30s.
	BaseDelay time.Duration
	// MaxDelay caps the refusal period. Default 15 minutes.
	MaxDelay time.Duration
	// ForgetAfter restarts a count after this long without failure.
	// Default 1 hour.
	ForgetAfter time.Duration
}

func (o *Options) setDefaults() {
	if o.Hash == (HashParams{}) {
		o.Hash = DefaultHashParams
	}
	if o.MaxConcurrentHashes <= 0 {
		o.MaxConcurrentHashes = runtime.NumCPU()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SessionIdleTimeout <= 0 {
		o.SessionIdleTimeout = 2 * time.Hour
	}
	o.SessionIdleTimeout = min(o.SessionIdleTimeout, o.SessionTTL)
	if o.SessionTouchInterval <= 0 {
		o.SessionTouchInterval = time.Minute
	}
	o.SessionTouchInterval = min(o.SessionTouchInterval, o.SessionIdleTimeout/10)
	if o.Password.MinimumLength <= 0 {
		o.Password.MinimumLength = DefaultMinPasswordLen
	}
	if o.KeyTouchInterval <= 0 {
		o.KeyTouchInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Roles.Default == "" {
		o.Roles.Default = podium.RoleViewer
	}
	t := &o.Throttle
	if t.MaxFailures <= 0 {
		t.MaxFailures = 5
	}
	if t.MaxAddressFailures <= 0 {
		t.MaxAddressFailures = 20
	}
	if t.MaxAccountFailures <= 0 {
		t.MaxAccountFailures = 100
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = 30 * time.Second
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = 15 * time.Minute
	}
	if t.ForgetAfter <= 0 {
		t.ForgetAfter = time.Hour
	}
}

// Service manages accounts and authenticates requests. It is safe for
// concurrent use.
type Service struct {
	db      dbprovider.Provider
	log     *logrus.Entry
	opts    Options
	hashSem chan struct{}

	dummyOnce sync.Once
	dummy     string // a hash to verify against for unknown users
}

// New returns a service on db. log is the component's logger.
func New(db dbprovider.Provider, log *logrus.Entry, opts Options) *Service {
	opts.setDefaults()
	return &Service{db: db, log: log, opts: opts, hashSem: make(chan struct{}, opts.MaxConcurrentHashes)}
}

// Options returns the effective options (defaults filled in).
func (s *Service) Options() Options { return s.opts }

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenHash is the stored form of an API key or session token. A fast hash
// is right here, unlike for passwords: the tokens are 256 random bits, so
// nobody can guess one whatever the hash's speed, and the hash only keeps a
// copy of the database from being usable as credentials.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ctxNoCancel is used for bookkeeping writes (failure counts, last use)
// that must happen even when the client has gone.
func ctxNoCancel(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
