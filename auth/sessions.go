package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
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
	// ExpiresAt is when the session ends if it makes no further request
	// (the idle deadline); each request moves it on, up to EndsAt.
	ExpiresAt time.Time
	// EndsAt is when the session ends however active it is (its absolute
	// lifetime): the browser cookie expires then.
	EndsAt time.Time
	User   *podium.User
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

// Throttle keys: one per account and address, one per address, one per
// account (see ThrottleOptions).
func pairKey(username, addr string) string { return "pair:" + strings.ToLower(username) + "@" + addr }
func addressKey(addr string) string        { return "ip:" + addr }
func accountKey(username string) string    { return "user:" + strings.ToLower(username) }

// throttleAddr is the address that failures are counted against: an IPv4
// address as it is, an IPv6 address as its /64 (one host or site usually
// holds a whole /64, and could otherwise change address at every guess).
func throttleAddr(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// Login checks a username and password from a client address and opens a
// session. Returns *ThrottledError when throttled (see ThrottleOptions;
// checked before the password, so a throttled caller learns nothing),
// EUNAUTHORIZED for wrong credentials (counted as failures of the account
// from the address, of the address, and of the account). Success forgets
// the failures of the account (from that address and overall); the
// address's are kept until they age out, so that an attacker cannot reset
// them by logging in to an account of their own between guesses.
func (s *Service) Login(ctx context.Context, username, password, addr string) (*Session, error) {
	now := s.opts.Now().UTC()
	addr = throttleAddr(addr)
	if err := s.checkThrottle(ctx, now, username, addr); err != nil {
		return nil, err
	}
	u, err := s.verifyLogin(ctx, username, password)
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
	for _, k := range []string{pairKey(username, addr), accountKey(username)} {
		if err := s.db.LoginAttemptReset(ctx, k); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
	}
	sess, err := s.CreateSession(ctx, u)
	if err != nil {
		return nil, err
	}
	// A password change, lock or role change between the check above and
	// the new session would otherwise leave a session made with the old
	// credentials: those changes end the sessions that exist when they
	// are made, so look again after this one exists.
	if now, err := s.db.UserGetByID(ctx, u.ID); err != nil || now.Locked || !now.UpdatedAt.Equal(u.UpdatedAt) {
		_ = s.Logout(ctxNoCancel(ctx), sess.Token)
		if err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "invalid username or password")
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "remote": addr}).Info("login")
	return sess, nil
}

// verifyLogin checks the login form's credentials: against the external
// directory when one is configured (then signs the user in, provisioning
// them), else against Podium's passwords.
func (s *Service) verifyLogin(ctx context.Context, username, password string) (*podium.User, error) {
	if s.opts.External == nil {
		return s.VerifyPassword(ctx, username, password)
	}
	if password == "" || username == "" {
		// An LDAP bind with an empty password is an "unauthenticated
		// bind" that many servers accept: never let it through.
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "invalid username or password")
	}
	id, err := s.opts.External.Authenticate(ctx, username, password)
	if err != nil {
		return nil, err
	}
	u, err := s.SignInExternal(ctx, id)
	if podium.IsCode(err, podium.EUNAUTHORIZED) {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "invalid username or password")
	}
	return u, err
}

// sanitizeUsername keeps an attacker-chosen username from filling the log.
func sanitizeUsername(u string) string {
	if usernamePattern.MatchString(u) {
		return u
	}
	return "(invalid username)"
}

// lockedFor returns how long key is locked at now, 0 if it is not, and
// its record (nil if none).
func (s *Service) lockedFor(ctx context.Context, now time.Time, key string) (time.Duration, *dbprovider.LoginAttempt, error) {
	a, err := s.db.LoginAttemptGet(ctx, key)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("login throttle: %w", err)
	}
	if a.LockedUntil != nil && a.LockedUntil.After(now) {
		return a.LockedUntil.Sub(now), a, nil
	}
	return 0, a, nil
}

// checkThrottle returns *ThrottledError when a login of username from addr
// is refused at now: the pair or the address is locked, or the account is
// under attack (MaxAccountFailures) and addr has failures of its own.
func (s *Service) checkThrottle(ctx context.Context, now time.Time, username, addr string) error {
	t := s.opts.Throttle
	var wait time.Duration
	d, _, err := s.lockedFor(ctx, now, pairKey(username, addr))
	if err != nil {
		return err
	}
	wait = max(wait, d)
	d, ip, err := s.lockedFor(ctx, now, addressKey(addr))
	if err != nil {
		return err
	}
	wait = max(wait, d)
	if wait == 0 && ip != nil && ip.Failures > 0 && ip.LastAt.After(now.Add(-t.ForgetAfter)) {
		_, acct, err := s.lockedFor(ctx, now, accountKey(username))
		if err != nil {
			return err
		}
		if acct != nil && acct.Failures >= t.MaxAccountFailures && acct.LastAt.After(now.Add(-t.ForgetAfter)) {
			wait = ip.LastAt.Add(t.ForgetAfter).Sub(now)
		}
	}
	if wait > 0 {
		return &ThrottledError{Wait: wait}
	}
	return nil
}

// recordFailure counts a failure for the pair, the address and the
// account, and locks the pair or the address when it reached its
// threshold (the account is never locked for everyone: see
// ThrottleOptions).
func (s *Service) recordFailure(ctx context.Context, now time.Time, username, addr string) error {
	t := s.opts.Throttle
	for _, k := range []struct {
		key string
		max int // 0: counted, never locked
	}{{pairKey(username, addr), t.MaxFailures}, {addressKey(addr), t.MaxAddressFailures}, {accountKey(username), 0}} {
		a, err := s.db.LoginAttemptRecordFailure(ctx, &dbprovider.LoginAttemptRecordFailureParams{
			Key: k.key, At: now, ForgetBefore: now.Add(-t.ForgetAfter),
		})
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		if k.max > 0 && a.Failures >= k.max {
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

// CreateSession opens a session for u (after a successful login). It
// lasts Options.SessionIdleTimeout from its last request, and at most
// Options.SessionTTL from now.
func (s *Service) CreateSession(ctx context.Context, u *podium.User) (*Session, error) {
	token, err := randomToken(sessionTokenBytes)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	csrf, err := randomToken(sessionTokenBytes)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	now := s.opts.Now()
	rec, err := s.db.SessionCreate(ctx, &dbprovider.SessionCreateParams{
		// The row expires at the earlier of the two deadlines, so that the
		// sweep removes a session past its absolute lifetime too.
		IDHash: tokenHash(token), UserID: u.ID, CSRFToken: csrf, ExpiresAt: minTime(now.Add(s.opts.SessionIdleTimeout), now.Add(s.opts.SessionTTL)),
	})
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &Session{Token: token, CSRFToken: csrf, ExpiresAt: rec.ExpiresAt, EndsAt: now.Add(s.opts.SessionTTL).UTC(), User: u}, nil
}

// AuthenticateSession returns the session of a cookie value and moves its
// idle deadline on (writing at most once per SessionTouchInterval).
// Returns EUNAUTHORIZED for an unknown session, one idle for longer than
// SessionIdleTimeout, one older than SessionTTL, or a locked user.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 128 {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "session expired or invalid: log in again")
	}
	return s.authenticateSession(ctx, token, tokenHash(token))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
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
