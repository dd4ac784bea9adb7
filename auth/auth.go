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
	// SessionTTL is how long a login session lasts. Default 12h.
	SessionTTL time.Duration
	// KeyTouchInterval is the least time between two writes of an API
	// key's last_used_at. Default 1 minute.
	KeyTouchInterval time.Duration
	// Throttle configures the slowing down of failed logins.
	Throttle ThrottleOptions
	// Now is the clock of the throttle (injected by tests). Default
	// time.Now. Session expiry uses the database clock.
	Now func() time.Time
}

// ThrottleOptions configure login throttling. After MaxFailures
// consecutive failures of one account (or MaxAddressFailures from one
// address), logins for it are refused for BaseDelay, doubled with each
// further failure, up to MaxDelay. Failures older than ForgetAfter are
// forgotten.
type ThrottleOptions struct {
	// MaxFailures per account before throttling. Default 5.
	MaxFailures int
	// MaxAddressFailures per client address before throttling. Default
	// 20: several users may share one address (NAT, a proxy).
	MaxAddressFailures int
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
	if o.KeyTouchInterval <= 0 {
		o.KeyTouchInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &o.Throttle
	if t.MaxFailures <= 0 {
		t.MaxFailures = 5
	}
	if t.MaxAddressFailures <= 0 {
		t.MaxAddressFailures = 20
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
