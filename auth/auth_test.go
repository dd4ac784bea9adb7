package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openers give each test a fresh, migrated database of each dialect.
var openers = []struct {
	name string
	open func(tb testing.TB) dbprovider.Provider
}{
	{"SQLite", openSQLite},
	{"Postgres", func(tb testing.TB) dbprovider.Provider { return openPostgres(tb, pgtest.NewDatabase(tb)) }},
}

func openSQLite(tb testing.TB) dbprovider.Provider {
	tb.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: tb.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	mustUp(tb, p)
	return p
}

func openPostgres(tb testing.TB, url string) dbprovider.Provider {
	tb.Helper()
	p, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url), MaxConns: 4})
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	mustUp(tb, p)
	return p
}

func mustUp(tb testing.TB, p dbprovider.Provider) {
	tb.Helper()
	if _, err := schema.Up(context.Background(), p, nil, schema.Options{}); err != nil {
		tb.Fatalf("schema up: %v", err)
	}
}

// eachProvider runs fn as a parallel subtest per dialect.
func eachProvider(t *testing.T, fn func(t *testing.T, db dbprovider.Provider)) {
	t.Helper()
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			fn(t, o.open(t))
		})
	}
}

// clock is a settable clock for the throttle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, db dbprovider.Provider, opts auth.Options) *auth.Service {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	if opts.Hash == (auth.HashParams{}) {
		opts.Hash = auth.CheapHashParams
	}
	return auth.New(db, log.WithField("component", "auth"), opts)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	t.Cleanup(cancel)
	return ctx
}

func assertCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := podium.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

func mustCreateUser(t *testing.T, s *auth.Service, name, role, password string) *podium.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(t), auth.CreateUserParams{Username: name, Role: role, Password: password})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

const goodPassword = "correct horse battery"

func TestCreateUser(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		s := newService(t, db, auth.Options{})
		ctx := ctxT(t)
		u := mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)
		if u.ID == 0 || u.Username != "bob" || u.Role != podium.RolePublisher || u.Locked || u.CreatedAt.IsZero() {
			t.Fatalf("created user = %+v", u)
		}
		mustCreateUser(t, s, "alice", podium.RoleViewer, "")

		t.Run("ErrConflict", func(t *testing.T) {
			_, err := s.CreateUser(ctx, auth.CreateUserParams{Username: "bob", Role: podium.RoleAdmin})
			assertCode(t, err, podium.ECONFLICT)
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, p := range []auth.CreateUserParams{
				{Username: "Bob", Role: podium.RoleViewer},
				{Username: "", Role: podium.RoleViewer},
				{Username: "-x", Role: podium.RoleViewer},
				{Username: strings.Repeat("a", 65), Role: podium.RoleViewer},
				{Username: "carol", Role: "root"},
				{Username: "carol", Role: podium.RoleViewer, Password: "short"},
				{Username: "carol", Role: podium.RoleViewer, Password: strings.Repeat("x", auth.MaxPasswordLen+1)},
			} {
				_, err := s.CreateUser(ctx, p)
				assertCode(t, err, podium.EINVALID)
			}
		})
		t.Run("ListByUsername", func(t *testing.T) {
			users, err := s.ListUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != 2 || users[0].Username != "alice" || users[1].Username != "bob" {
				t.Fatalf("ListUsers = %v", users)
			}
			got, err := s.GetUserByName(ctx, "bob")
			if err != nil || got.ID != u.ID {
				t.Fatalf("GetUserByName = %v, %v", got, err)
			}
			_, err = s.GetUserByName(ctx, "nobody")
			assertCode(t, err, podium.ENOTFOUND)
		})
	})
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		s := newService(t, db, auth.Options{})
		ctx := ctxT(t)
		u := mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)
		mustCreateUser(t, s, "keyonly", podium.RolePublisher, "")

		got, err := s.VerifyPassword(ctx, "bob", goodPassword)
		if err != nil || got.ID != u.ID {
			t.Fatalf("VerifyPassword(right) = %v, %v", got, err)
		}
		for _, tc := range []struct{ name, user, pw string }{
			{"WrongPassword", "bob", goodPassword + "!"},
			{"UnknownUser", "nobody", goodPassword},
			{"NoPasswordUser", "keyonly", ""},
			{"NoPasswordUserAnyPassword", "keyonly", goodPassword},
		} {
			_, err := s.VerifyPassword(ctx, tc.user, tc.pw)
			if podium.ErrorCode(err) != podium.EUNAUTHORIZED {
				t.Fatalf("%s: error = %v, want EUNAUTHORIZED", tc.name, err)
			}
		}

		// SetPassword replaces it; a locked user cannot log in.
		if err := s.SetPassword(ctx, u.ID, "another password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyPassword(ctx, "bob", goodPassword); !podium.IsCode(err, podium.EUNAUTHORIZED) {
			t.Fatalf("old password after SetPassword: %v", err)
		}
		if _, err := s.VerifyPassword(ctx, "bob", "another password"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		locked := true
		if _, err := db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: u.ID, Locked: &locked}); err != nil {
			t.Fatal(err)
		}
		_, err = s.VerifyPassword(ctx, "bob", "another password")
		assertCode(t, err, podium.EUNAUTHORIZED)
	})
}

// TestHashIsArgon2id checks the stored form: PHC argon2id with the
// configured cost, never the password.
func TestHashIsArgon2id(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	s := newService(t, db, auth.Options{Hash: auth.HashParams{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}})
	u := mustCreateUser(t, s, "bob", podium.RoleViewer, goodPassword)
	h, err := db.UserGetPasswordHash(ctxT(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=128,t=2,p=1$") || strings.Contains(h, goodPassword) {
		t.Fatalf("stored hash = %q", h)
	}
	if h2 := mustCreateUserHash(t, s, db, "carol"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func mustCreateUserHash(t *testing.T, s *auth.Service, db dbprovider.Provider, name string) string {
	u := mustCreateUser(t, s, name, podium.RoleViewer, goodPassword)
	h, err := db.UserGetPasswordHash(ctxT(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		s := newService(t, db, auth.Options{})
		ctx := ctxT(t)
		bob := mustCreateUser(t, s, "bob", podium.RolePublisher, "")
		eve := mustCreateUser(t, s, "eve", podium.RolePublisher, "")

		key, rec, err := s.CreateAPIKey(ctx, bob.ID, "laptop")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, auth.KeyPrefix) || len(key) != 47 || rec.Name != "laptop" || rec.UserID != bob.ID ||
			!strings.HasPrefix(key, rec.Prefix) || len(rec.Prefix) >= len(key)/2 {
			t.Fatalf("key %q, record %+v", key, rec)
		}
		key2, _, err := s.CreateAPIKey(ctx, bob.ID, "ci")
		if err != nil || key2 == key {
			t.Fatalf("second key %q, %v", key2, err)
		}

		t.Run("AuthenticateOK", func(t *testing.T) {
			u, k, err := s.AuthenticateKey(ctx, key)
			if err != nil || u.ID != bob.ID || k.ID != rec.ID {
				t.Fatalf("AuthenticateKey = %v, %v, %v", u, k, err)
			}
			got, err := db.APIKeyGetByID(ctx, rec.ID)
			if err != nil || got.LastUsedAt == nil {
				t.Fatalf("last_used_at not recorded: %+v, %v", got, err)
			}
			// At most one write per interval.
			wrote, err := db.APIKeyTouch(ctx, rec.ID, time.Minute)
			if err != nil || wrote {
				t.Fatalf("second touch within a minute wrote = %t, %v", wrote, err)
			}
			// With interval 0 it writes again once the clock has moved on.
			testutil.WaitFor(t, testutil.Timeout(5*time.Second), "touch with interval 0 writes", func() bool {
				wrote, err := db.APIKeyTouch(ctx, rec.ID, 0)
				return err == nil && wrote
			})
		})
		t.Run("ErrUnauthorized", func(t *testing.T) {
			for _, bad := range []string{"", "pdm_", key[:len(key)-1], key[:len(key)-1] + "A", key + "A", "Bearer " + key, strings.ToUpper(key)} {
				if bad == key {
					continue
				}
				_, _, err := s.AuthenticateKey(ctx, bad)
				assertCode(t, err, podium.EUNAUTHORIZED)
				if err != nil && len(bad) > 8 && strings.Contains(err.Error(), bad) {
					t.Fatalf("error repeats the key: %v", err)
				}
			}
		})
		t.Run("ListHasNoSecret", func(t *testing.T) {
			keys, err := s.ListAPIKeys(ctx, bob.ID)
			if err != nil || len(keys) != 2 || keys[0].Name != "laptop" || keys[1].Name != "ci" {
				t.Fatalf("ListAPIKeys = %v, %v", keys, err)
			}
			b, _ := json.Marshal(keys)
			if strings.Contains(string(b), key) || strings.Contains(string(b), key2) || strings.Contains(string(b), "hash") {
				t.Fatalf("listing leaks a secret: %s", b)
			}
			if others, _ := s.ListAPIKeys(ctx, eve.ID); len(others) != 0 {
				t.Fatalf("eve sees keys: %v", others)
			}
		})
		t.Run("Revoke", func(t *testing.T) {
			// Another user's key is "not found", not "forbidden".
			assertCode(t, s.RevokeAPIKey(ctx, eve.ID, rec.ID), podium.ENOTFOUND)
			if _, _, err := s.AuthenticateKey(ctx, key); err != nil {
				t.Fatalf("key revoked by a stranger: %v", err)
			}
			if err := s.RevokeAPIKey(ctx, bob.ID, rec.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err := s.AuthenticateKey(ctx, key)
			assertCode(t, err, podium.EUNAUTHORIZED)
			assertCode(t, s.RevokeAPIKey(ctx, bob.ID, rec.ID), podium.ENOTFOUND)
			keys, _ := s.ListAPIKeys(ctx, bob.ID)
			if len(keys) != 1 || keys[0].Name != "ci" {
				t.Fatalf("after revoke, keys = %v", keys)
			}
			// By name; 0 acts as administrator.
			k, err := s.RevokeAPIKeyByName(ctx, bob.ID, "ci")
			if err != nil || k.Name != "ci" {
				t.Fatalf("RevokeAPIKeyByName = %v, %v", k, err)
			}
			_, _, err = s.AuthenticateKey(ctx, key2)
			assertCode(t, err, podium.EUNAUTHORIZED)
			_, err = s.RevokeAPIKeyByName(ctx, bob.ID, "ci")
			assertCode(t, err, podium.ENOTFOUND)
		})
		t.Run("LockedUser", func(t *testing.T) {
			k, _, err := s.CreateAPIKey(ctx, eve.ID, "x")
			if err != nil {
				t.Fatal(err)
			}
			locked := true
			if _, err := db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: eve.ID, Locked: &locked}); err != nil {
				t.Fatal(err)
			}
			_, _, err = s.AuthenticateKey(ctx, k)
			assertCode(t, err, podium.EUNAUTHORIZED)
		})
		t.Run("ErrInvalidName", func(t *testing.T) {
			for _, name := range []string{"", "  ", "a\nb", strings.Repeat("n", auth.MaxKeyNameLen+1)} {
				_, _, err := s.CreateAPIKey(ctx, bob.ID, name)
				assertCode(t, err, podium.EINVALID)
			}
			_, _, err := s.CreateAPIKey(ctx, 9999, "x")
			assertCode(t, err, podium.ENOTFOUND)
		})
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		s := newService(t, db, auth.Options{})
		ctx := ctxT(t)
		bob := mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)

		sess, err := s.Login(ctx, "bob", goodPassword, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		if len(sess.Token) < 40 || len(sess.CSRFToken) < 40 || sess.Token == sess.CSRFToken || sess.User.ID != bob.ID ||
			time.Until(sess.EndsAt) < 11*time.Hour || time.Until(sess.ExpiresAt) < time.Hour || sess.ExpiresAt.After(sess.EndsAt) {
			t.Fatalf("session = %+v", sess)
		}
		got, err := s.AuthenticateSession(ctx, sess.Token)
		if err != nil || got.User.ID != bob.ID || got.CSRFToken != sess.CSRFToken {
			t.Fatalf("AuthenticateSession = %+v, %v", got, err)
		}
		_, err = s.AuthenticateSession(ctx, sess.Token+"x")
		assertCode(t, err, podium.EUNAUTHORIZED)

		if err := s.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		_, err = s.AuthenticateSession(ctx, sess.Token)
		assertCode(t, err, podium.EUNAUTHORIZED)

		t.Run("IdleAndLifetime", func(t *testing.T) {
			clk := &clock{t: time.Now()}
			s := newService(t, db, auth.Options{Now: clk.Now, SessionIdleTimeout: 10 * time.Minute, SessionTTL: time.Hour})
			sess, err := s.Login(ctx, "bob", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if d := sess.EndsAt.Sub(clk.Now()); d != time.Hour {
				t.Fatalf("EndsAt in %v, want 1h", d)
			}
			// Active every 9 minutes: alive past the first idle deadline...
			for i := range 5 {
				clk.Add(9 * time.Minute)
				if _, err := s.AuthenticateSession(ctx, sess.Token); err != nil {
					t.Fatalf("active session refused after %d min: %v", 9*(i+1), err)
				}
			}
			// ... but never past the lifetime.
			clk.Add(9 * time.Minute) // 54 min
			if _, err := s.AuthenticateSession(ctx, sess.Token); err != nil {
				t.Fatalf("at 54 min: %v", err)
			}
			clk.Add(7 * time.Minute) // 61 min
			_, err = s.AuthenticateSession(ctx, sess.Token)
			assertCode(t, err, podium.EUNAUTHORIZED)

			// Idle for longer than the idle timeout: refused.
			sess, err = s.Login(ctx, "bob", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(10*time.Minute + time.Second)
			_, err = s.AuthenticateSession(ctx, sess.Token)
			assertCode(t, err, podium.EUNAUTHORIZED)
		})

		t.Run("EndedByChanges", func(t *testing.T) {
			s := newService(t, db, auth.Options{})
			carol := mustCreateUser(t, s, "carol", podium.RoleViewer, goodPassword)
			for _, change := range []struct {
				name string
				do   func() error
			}{
				{"SetPassword", func() error { return s.SetPassword(ctx, carol.ID, goodPassword) }},
				{"Lock", func() error { return s.SetLocked(ctx, carol.ID, true) }},
				{"Unlock", func() error { return s.SetLocked(ctx, carol.ID, false) }},
				{"SetRole", func() error { _, err := s.SetRole(ctx, carol.ID, podium.RolePublisher); return err }},
				{"EndSessions", func() error { _, err := s.EndSessions(ctx, carol.ID); return err }},
			} {
				sess, err := s.CreateSession(ctx, carol)
				if err != nil {
					t.Fatal(err)
				}
				if err := change.do(); err != nil {
					t.Fatalf("%s: %v", change.name, err)
				}
				_, err = s.AuthenticateSession(ctx, sess.Token)
				if !podium.IsCode(err, podium.EUNAUTHORIZED) {
					t.Errorf("%s: session still valid (%v)", change.name, err)
				}
			}
			// Other users' sessions are not touched.
			other, err := s.Login(ctx, "bob", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.EndSessions(ctx, carol.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AuthenticateSession(ctx, other.Token); err != nil {
				t.Fatalf("another user's session ended: %v", err)
			}
		})

		t.Run("Expired", func(t *testing.T) {
			short := newService(t, db, auth.Options{SessionTTL: time.Millisecond})
			sess, err := short.Login(ctx, "bob", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			// untouched is never presented: only the sweep can remove it
			// (a session found expired when presented is deleted then).
			untouched, err := short.Login(ctx, "bob", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, testutil.Timeout(5*time.Second), "session expiry", func() bool {
				_, err := short.AuthenticateSession(ctx, sess.Token)
				return podium.IsCode(err, podium.EUNAUTHORIZED)
			})
			testutil.WaitFor(t, testutil.Timeout(5*time.Second), "the untouched session's deadline", func() bool {
				return time.Now().After(untouched.ExpiresAt.Add(10 * time.Millisecond))
			})
			n, _, err := short.Sweep(ctx)
			if err != nil || n < 1 || n > 2 {
				t.Fatalf("Sweep: %d sessions, %v; want the untouched expired one (and at most the other)", n, err)
			}
			if n, _, err := short.Sweep(ctx); err != nil || n != 0 {
				t.Fatalf("second Sweep: %d sessions, %v; want 0", n, err)
			}
			if _, err := short.AuthenticateSession(ctx, untouched.Token); !podium.IsCode(err, podium.EUNAUTHORIZED) {
				t.Fatalf("swept session still authenticates: %v", err)
			}
		})
	})
}

// TestSessionOnAnyNode: a session and a key made through one node's service
// work through another's on the same PostgreSQL database.
func TestSessionOnAnyNode(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	a := newService(t, openPostgres(t, url), auth.Options{})
	b := newService(t, openPostgres(t, url), auth.Options{})
	ctx := ctxT(t)
	bob := mustCreateUser(t, a, "bob", podium.RolePublisher, goodPassword)
	sess, err := a.Login(ctx, "bob", goodPassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.AuthenticateSession(ctx, sess.Token); err != nil || got.User.ID != bob.ID {
		t.Fatalf("other node: AuthenticateSession = %v, %v", got, err)
	}
	key, _, err := b.CreateAPIKey(ctx, bob.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := a.AuthenticateKey(ctx, key); err != nil || u.ID != bob.ID {
		t.Fatalf("other node: AuthenticateKey = %v, %v", u, err)
	}
}

func throttledFor(t *testing.T, err error) time.Duration {
	t.Helper()
	d, ok := auth.IsThrottled(err)
	if !ok {
		t.Fatalf("error = %v, want throttled", err)
	}
	return d
}

func TestThrottlePerAccountAndAddress(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		clk := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
		s := newService(t, db, auth.Options{Now: clk.Now, Throttle: auth.ThrottleOptions{
			MaxFailures: 3, MaxAddressFailures: 100, BaseDelay: 10 * time.Second, MaxDelay: 30 * time.Second, ForgetAfter: time.Hour,
		}})
		ctx := ctxT(t)
		mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)
		fail := func(addr string) error {
			_, err := s.Login(ctx, "bob", "wrong password", addr)
			return err
		}
		// Three failures from one address are answered 401.
		for i := range 3 {
			if err := fail("192.0.2.1"); !podium.IsCode(err, podium.EUNAUTHORIZED) || isThrottled(err) {
				t.Fatalf("failure %d: %v, want plain EUNAUTHORIZED", i+1, err)
			}
		}
		// Then even the right password is refused from that address for
		// BaseDelay...
		_, err := s.Login(ctx, "bob", goodPassword, "192.0.2.1")
		if d := throttledFor(t, err); d != 10*time.Second {
			t.Fatalf("Retry-After = %v, want 10s", d)
		}
		clk.Add(5 * time.Second)
		if d := throttledFor(t, fail("192.0.2.1")); d != 5*time.Second {
			t.Fatalf("retry after = %v, want the remaining 5s", d)
		}
		// ... and not from another.
		if err := fail("198.51.100.7"); isThrottled(err) {
			t.Fatalf("another address throttled: %v", err)
		}
		// After the delay, each further failure doubles it, up to MaxDelay.
		clk.Add(6 * time.Second)
		_ = fail("192.0.2.1") // 4th failure: locked 20s
		clk.Add(time.Second)
		if d := throttledFor(t, fail("192.0.2.1")); d != 19*time.Second {
			t.Fatalf("after 4 failures: retry after %v, want 19s", d)
		}
		clk.Add(20 * time.Second)
		_ = fail("192.0.2.1") // 5th failure: 40s, capped at 30s
		if d := throttledFor(t, fail("192.0.2.1")); d != 30*time.Second {
			t.Fatalf("after 5 failures: retry after %v, want the 30s cap", d)
		}
		// Success after the delay resets the count of the account from
		// that address.
		clk.Add(31 * time.Second)
		if _, err := s.Login(ctx, "bob", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("login after the delay: %v", err)
		}
		_, err = db.LoginAttemptGet(ctx, "pair:bob@192.0.2.1")
		assertCode(t, err, podium.ENOTFOUND)
		if err := fail("192.0.2.1"); isThrottled(err) {
			t.Fatalf("first failure after a success throttled: %v", err)
		}
	})
}

// TestThrottleStrangerCannotLockOut replays the lock-out attack: a
// stranger sends wrong passwords for a user from one address (and then
// from many). The stranger is slowed down; the user, from their own
// address, still logs in with the right password.
func TestThrottleStrangerCannotLockOut(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		clk := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
		s := newService(t, db, auth.Options{Now: clk.Now, Throttle: auth.ThrottleOptions{
			MaxFailures: 5, MaxAddressFailures: 20, MaxAccountFailures: 30, BaseDelay: 30 * time.Second, ForgetAfter: time.Hour,
		}})
		ctx := ctxT(t)
		mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)
		const stranger, user = "203.0.113.9", "192.0.2.10"

		// From one address: five wrong passwords, then the stranger is
		// refused, even with the right password...
		for range 5 {
			if _, err := s.Login(ctx, "bob", "guess guess guess", stranger); isThrottled(err) {
				t.Fatalf("guess throttled early: %v", err)
			}
		}
		if _, err := s.Login(ctx, "bob", goodPassword, stranger); !isThrottled(err) {
			t.Fatalf("stranger after 5 guesses: %v, want throttled", err)
		}
		// ... while the user logs in from their own address.
		if _, err := s.Login(ctx, "bob", goodPassword, user); err != nil {
			t.Fatalf("the user, from another address, after a stranger's guesses: %v", err)
		}
		// Guessing stays slow: over an hour, the stranger gets few guesses.
		guesses := 0
		for range 3600 {
			clk.Add(time.Second)
			if _, err := s.Login(ctx, "bob", "guess guess guess", stranger); !isThrottled(err) {
				guesses++
			}
		}
		if guesses > 10 {
			t.Fatalf("%d guesses in an hour from one address after the first 5, want few", guesses)
		}
		if _, err := s.Login(ctx, "bob", goodPassword, user); err != nil {
			t.Fatalf("the user after an hour of guessing: %v", err)
		}

		// A distributed guess (30 addresses of one /64, then 30 IPv4
		// addresses): the IPv6 ones count as one address; past
		// MaxAccountFailures, addresses that failed are refused, the
		// user's clean address is not.
		for i := range 30 {
			_, _ = s.Login(ctx, "bob", "guess guess guess", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		}
		if _, err := db.LoginAttemptGet(ctx, "ip:2001:db8:1:2::/64"); err != nil {
			t.Fatalf("IPv6 failures not counted per /64: %v", err)
		}
		for i := range 30 {
			_, _ = s.Login(ctx, "bob", "guess guess guess", fmt.Sprintf("198.51.100.%d", i+1))
		}
		if _, err := s.Login(ctx, "bob", "guess guess guess", "198.51.100.1"); !isThrottled(err) {
			t.Fatalf("a guessing address of a distributed attack: %v, want throttled", err)
		}
		if _, err := s.Login(ctx, "bob", goodPassword, "192.0.2.99"); err != nil {
			t.Fatalf("the user from a clean address during a distributed attack: %v", err)
		}
	})
}

func TestThrottlePerAddress(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		clk := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
		s := newService(t, db, auth.Options{Now: clk.Now, Throttle: auth.ThrottleOptions{
			MaxFailures: 100, MaxAddressFailures: 4, BaseDelay: time.Minute, ForgetAfter: 10 * time.Minute,
		}})
		ctx := ctxT(t)
		mustCreateUser(t, s, "bob", podium.RolePublisher, goodPassword)
		const attacker = "203.0.113.9"
		// Four guesses at four different accounts from one address.
		for _, name := range []string{"alice", "carol", "dave", "erin"} {
			if _, err := s.Login(ctx, name, "guess guess guess", attacker); isThrottled(err) || err == nil {
				t.Fatalf("guess at %s: %v", name, err)
			}
		}
		_, err := s.Login(ctx, "bob", goodPassword, attacker)
		if d := throttledFor(t, err); d != time.Minute {
			t.Fatalf("retry after %v, want 1m", d)
		}
		// Another address is not affected; its success does not reset the
		// attacker's address.
		if _, err := s.Login(ctx, "bob", goodPassword, "192.0.2.50"); err != nil {
			t.Fatalf("other address: %v", err)
		}
		throttledFor(t, func() error { _, err := s.Login(ctx, "bob", goodPassword, attacker); return err }())

		// Failures older than ForgetAfter are forgotten.
		clk.Add(11 * time.Minute)
		if _, err := s.Login(ctx, "nobody", "guess guess guess", attacker); isThrottled(err) {
			t.Fatalf("after ForgetAfter: %v", err)
		}
		a, err := db.LoginAttemptGet(ctx, "ip:"+attacker)
		if err != nil || a.Failures != 1 || a.LockedUntil != nil {
			t.Fatalf("address record after ForgetAfter = %+v, %v; want 1 failure, not locked", a, err)
		}

		// Sweep drops the records of the first round (user:alice and
		// pair:alice@..., for alice, carol, dave, erin), keeps the fresh
		// ones.
		_, n, err := s.Sweep(ctx)
		if err != nil || n != 8 {
			t.Fatalf("Sweep: %d attempts, %v; want 8 (account and pair of alice, carol, dave, erin)", n, err)
		}
		if _, err := db.LoginAttemptGet(ctx, "ip:"+attacker); err != nil {
			t.Fatalf("fresh record swept: %v", err)
		}
	})
}

func isThrottled(err error) bool {
	_, ok := auth.IsThrottled(err)
	return ok
}

// TestThrottledErrorCode: callers that do not know ThrottledError still see
// EUNAUTHORIZED, and the message says when to retry.
func TestThrottledErrorCode(t *testing.T) {
	t.Parallel()
	err := error(&auth.ThrottledError{Wait: 1500 * time.Millisecond})
	if podium.ErrorCode(err) != podium.EUNAUTHORIZED || !strings.Contains(podium.ErrorMessage(err), "2 s") {
		t.Fatalf("code %q, message %q", podium.ErrorCode(err), podium.ErrorMessage(err))
	}
	var te *auth.ThrottledError
	if !errors.As(fmt.Errorf("login: %w", err), &te) {
		t.Fatal("wrapped ThrottledError not found")
	}
}

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	p := auth.PasswordPolicy{MinimumLength: 10}
	for _, tc := range []struct {
		user, pw, want string // want "" accepts
	}{
		{"alice", goodPassword, ""},
		{"alice", "short pw", "at least 10"},
		{"alice", "aaaaaaaaaa", "repeated"},
		{"alice", "1212121212", "repeated"},
		{"alice", "PASSWORD123", "most common"},
		{"alice", "1234567890", "most common"},
		{"alice", "qwertyuiop", "most common"},
		{"margaret", "Margaret", "at least 10"},
		{"margaret", "margaret2030", "username"},
		{"margaret", "MARGARET!!MARGARET", "username"},
		{"margaret", "password of margaret", ""},
		{"al", "al is my name!", ""},
		{"bob", "bob", "at least 10"},
		{"alice", "ééééééééé", "at least 10"},
		{"alice", strings.Repeat("xy!", 400), "at most 1024"},
	} {
		err := p.Check(tc.user, tc.pw)
		if tc.want == "" {
			if err != nil {
				t.Errorf("Check(%q, %q) = %v, want nil", tc.user, tc.pw, err)
			}
			continue
		}
		if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.pw) {
			t.Errorf("Check(%q, %q) = %v, want EINVALID with %q, without the password", tc.user, tc.pw, err, tc.want)
		}
	}
	if err := (auth.PasswordPolicy{MinimumLength: 30}).Check("bob", goodPassword); err == nil {
		t.Error("MinimumLength 30 accepted a password of 21 characters")
	}
}
