package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// sessionTokenBytes is the entropy of a session token: 256 bits.
const sessionTokenBytes = 32

// Session is a logged-in browser session as the web layer sees it.
type Session struct {
	// Token is the cookie value. Only its hash is stored.
	Token string
	// CSRFToken must accompany every state-changing request of the session.
	CSRFToken string
	ExpiresAt time.Time
	User      *podium.User
}

// ThrottledError refuses a login because of earlier failures. Its
// RetryAfter says when to try again; web turns it into 429 with a
// Retry-After header.
type ThrottledError struct {
	Wait time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %d s", int(math.Ceil(e.Wait.Seconds())))
}

// RetryAfter returns how long the client should wait.
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

// Unwrap gives the refusal a podium code (EUNAUTHORIZED) for callers that
// do not know this type.
func (e *ThrottledError) Unwrap() error {
	return &podium.Error{Code: podium.EUNAUTHORIZED, Message: e.Error()}
}

// Throttle keys: one per account, one per client address.
func accountKey(username string) string { return "user:" + strings.ToLower(username) }
func addressKey(addr string) string     { return "ip:" + addr }

// Login checks a username and password from a client address and opens a
// session. Returns *ThrottledError when the account or the address is
// throttled (checked before the password, so a throttled caller learns
// nothing), EUNAUTHORIZED for wrong credentials (counted as failures of the
// account and the address). Success forgets the account's failures; the
// address's are kept until they age out, so that an attacker cannot reset
// them by logging in to an account of their own between guesses.
func (s *Service) Login(ctx context.Context, username, password, addr string) (*Session, error) {
	now := s.opts.Now().UTC()
	keys := []string{accountKey(username), addressKey(addr)}
	if err := s.checkThrottle(ctx, now, keys); err != nil {
		return nil, err
	}
	u, err := s.VerifyPassword(ctx, username, password)
	if podium.IsCode(err, podium.EUNAUTHORIZED) {
		if ferr := s.recordFailure(ctxNoCancel(ctx), now, username, addr); ferr != nil {
			return nil, ferr
		}
		s.log.WithFields(map[string]any{"user": sanitizeUsername(username), "remote": addr}).Warn("failed login")
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if err := s.db.LoginAttemptReset(ctx, accountKey(username)); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	sess, err := s.CreateSession(ctx, u)
	if err != nil {
		return nil, err
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "remote": addr}).Info("login")
	return sess, nil
}

// sanitizeUsername keeps an attacker-chosen username from filling the log.
func sanitizeUsername(u string) string {
	if usernamePattern.MatchString(u) {
		return u
	}
	return "(invalid username)"
}

// checkThrottle returns *ThrottledError when any of keys is locked at now.
func (s *Service) checkThrottle(ctx context.Context, now time.Time, keys []string) error {
	var wait time.Duration
	for _, k := range keys {
		a, err := s.db.LoginAttemptGet(ctx, k)
		if podium.IsCode(err, podium.ENOTFOUND) {
			continue
		}
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		if a.LockedUntil != nil && a.LockedUntil.After(now) {
			wait = max(wait, a.LockedUntil.Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{Wait: wait}
	}
	return nil
}

// recordFailure counts a failure for the account and the address, and
// locks each that reached its threshold.
func (s *Service) recordFailure(ctx context.Context, now time.Time, username, addr string) error {
	t := s.opts.Throttle
	for _, k := range []struct {
		key string
		max int
	}{{accountKey(username), t.MaxFailures}, {addressKey(addr), t.MaxAddressFailures}} {
		a, err := s.db.LoginAttemptRecordFailure(ctx, &dbprovider.LoginAttemptRecordFailureParams{
			Key: k.key, At: now, ForgetBefore: now.Add(-t.ForgetAfter),
		})
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		if a.Failures >= k.max {
			if err := s.db.LoginAttemptLock(ctx, k.key, now.Add(s.lockDelay(a.Failures-k.max))); err != nil {
				return fmt.Errorf("login throttle: %w", err)
			}
		}
	}
	return nil
}

// lockDelay is BaseDelay doubled over times, capped at MaxDelay.
func (s *Service) lockDelay(over int) time.Duration {
	t := s.opts.Throttle
	d := t.BaseDelay
	for i := 0; i < over && d < t.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.MaxDelay)
}

// CreateSession opens a session for u (after a successful login).
func (s *Service) CreateSession(ctx context.Context, u *podium.User) (*Session, error) {
	token, err := randomToken(sessionTokenBytes)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	csrf, err := randomToken(sessionTokenBytes)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	rec, err := s.db.SessionCreate(ctx, &dbprovider.SessionCreateParams{
		IDHash: tokenHash(token), UserID: u.ID, CSRFToken: csrf, ExpiresAt: time.Now().Add(s.opts.SessionTTL),
	})
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &Session{Token: token, CSRFToken: csrf, ExpiresAt: rec.ExpiresAt, User: u}, nil
}

// AuthenticateSession returns the session of a cookie value. Returns
// EUNAUTHORIZED for an unknown or expired session or a locked user.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*Session, error) {
	invalid := podium.Errorf(podium.EUNAUTHORIZED, "session expired or invalid: log in again")
	if token == "" || len(token) > 128 {
		return nil, invalid
	}
	rec, u, err := s.db.SessionGet(ctx, tokenHash(token))
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate session: %w", err)
	}
	if u.Locked {
		return nil, invalid
	}
	return &Session{Token: token, CSRFToken: rec.CSRFToken, ExpiresAt: rec.ExpiresAt, User: u}, nil
}

// Logout ends a session; an unknown one is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if err := s.db.SessionDelete(ctx, tokenHash(token)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Sweep deletes expired sessions and the failed-login records that no
// longer matter (older than ForgetAfter, not locked), and returns how many
// of each. Expired sessions are refused anyway: this only keeps the tables
// small.
func (s *Service) Sweep(ctx context.Context) (sessions, attempts int64, err error) {
	if sessions, err = s.db.SessionDeleteExpired(ctx); err != nil {
		return 0, 0, fmt.Errorf("sweep: %w", err)
	}
	before := s.opts.Now().Add(-s.opts.Throttle.ForgetAfter)
	if attempts, err = s.db.LoginAttemptDeleteStale(ctx, before); err != nil {
		return sessions, 0, fmt.Errorf("sweep: %w", err)
	}
	return sessions, attempts, nil
}

// IsThrottled reports whether err is a login refusal for earlier failures,
// and for how long.
func IsThrottled(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.Wait, true
	}
	return 0, false
}
