package dbprovidertest

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// uniq is a name unique to the test, for subtests sharing a database.
func uniq(t *testing.T, prefix string) string {
	return prefix + "-" + strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
}

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testUsers: create, read by id and name, password hash, list, update
// (role, hash, lock), ECONFLICT for a taken name, ENOTFOUND otherwise.
func testUsers(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	name := uniq(t, "user")
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: name, Role: podium.RoleViewer, PasswordHash: "hash-1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: name, Role: podium.RoleViewer})
	AssertCode(t, err, podium.ECONFLICT)
	if got, err := p.UserGetByID(ctx, u.ID); err != nil || got.Username != name || got.Role != podium.RoleViewer || got.Locked {
		t.Fatalf("UserGetByID = %+v, %v", got, err)
	}
	if got, err := p.UserGetByName(ctx, name); err != nil || got.ID != u.ID {
		t.Fatalf("UserGetByName = %+v, %v", got, err)
	}
	if h, err := p.UserGetPasswordHash(ctx, u.ID); err != nil || h != "hash-1" {
		t.Fatalf("UserGetPasswordHash = %q, %v", h, err)
	}
	role, hash, locked := podium.RolePublisher, "hash-2", true
	got, err := p.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: u.ID, Role: &role, PasswordHash: &hash, Locked: &locked})
	if err != nil || got.Role != role || !got.Locked {
		t.Fatalf("UserUpdate = %+v, %v", got, err)
	}
	if h, _ := p.UserGetPasswordHash(ctx, u.ID); h != "hash-2" {
		t.Errorf("password hash after update = %q", h)
	}
	list, err := p.UserList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, x := range list {
		found = found || x.ID == u.ID
		if i > 0 && list[i-1].Username > x.Username {
			t.Errorf("UserList not sorted by username: %q before %q", list[i-1].Username, x.Username)
		}
	}
	if !found {
		t.Errorf("UserList lacks %s", name)
	}
	_, err = p.UserGetByID(ctx, -1)
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.UserGetByName(ctx, "no-such-user")
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: -1, Role: &role})
	AssertCode(t, err, podium.ENOTFOUND)
}

// testAPIKeys: create, find by hash (with the user) and id, list (revoked
// only when asked), touch at most once per interval, revoke.
func testAPIKeys(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "keys"), Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	h := hashOf(uniq(t, "key"))
	k, err := p.APIKeyCreate(ctx, &dbprovider.APIKeyCreateParams{UserID: u.ID, Name: "laptop", Hash: h, Prefix: "pdm_abc"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.APIKeyCreate(ctx, &dbprovider.APIKeyCreateParams{UserID: u.ID, Name: "dup", Hash: h, Prefix: "pdm_abc"})
	AssertCode(t, err, podium.ECONFLICT)
	gk, gu, err := p.APIKeyGetByHash(ctx, h)
	if err != nil || gk.ID != k.ID || gu.ID != u.ID || !bytes.Equal(gk.Hash, h) {
		t.Fatalf("APIKeyGetByHash = %+v %+v, %v", gk, gu, err)
	}
	if got, err := p.APIKeyGetByID(ctx, k.ID); err != nil || got.Name != "laptop" || got.LastUsedAt != nil {
		t.Fatalf("APIKeyGetByID = %+v, %v", got, err)
	}
	if wrote, err := p.APIKeyTouch(ctx, k.ID, time.Hour); err != nil || !wrote {
		t.Fatalf("first APIKeyTouch = %v, %v; want a write", wrote, err)
	}
	if wrote, err := p.APIKeyTouch(ctx, k.ID, time.Hour); err != nil || wrote {
		t.Fatalf("second APIKeyTouch within the interval = %v, %v; want none", wrote, err)
	}
	if list, err := p.APIKeyList(ctx, &dbprovider.APIKeyListParams{UserID: u.ID}); err != nil || len(list) != 1 || list[0].LastUsedAt == nil {
		t.Fatalf("APIKeyList = %+v, %v", list, err)
	}
	if err := p.APIKeyRevoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.APIKeyRevoke(ctx, k.ID), podium.ENOTFOUND)
	_, _, err = p.APIKeyGetByHash(ctx, h)
	AssertCode(t, err, podium.ENOTFOUND)
	if list, _ := p.APIKeyList(ctx, &dbprovider.APIKeyListParams{UserID: u.ID}); len(list) != 0 {
		t.Errorf("APIKeyList lists a revoked key: %+v", list)
	}
	if list, _ := p.APIKeyList(ctx, &dbprovider.APIKeyListParams{UserID: u.ID, IncludeRevoked: true}); len(list) != 1 || list[0].RevokedAt == nil {
		t.Errorf("APIKeyList(IncludeRevoked) = %+v", list)
	}
	_, err = p.APIKeyGetByID(ctx, -1)
	AssertCode(t, err, podium.ENOTFOUND)
}

// testSessions: a session is found with its user until it expires by the
// database clock; expired ones are swept; deleting twice is fine.
func testSessions(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "sess"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	now, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live, expired := hashOf(uniq(t, "live")), hashOf(uniq(t, "expired"))
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: live, UserID: u.ID, CSRFToken: "csrf", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	_, err = p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: live, UserID: u.ID, ExpiresAt: now.Add(time.Hour)})
	AssertCode(t, err, podium.ECONFLICT)
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: expired, UserID: u.ID, ExpiresAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s, su, err := p.SessionGet(ctx, live)
	if err != nil || su.ID != u.ID || s.CSRFToken != "csrf" {
		t.Fatalf("SessionGet = %+v %+v, %v", s, su, err)
	}
	_, _, err = p.SessionGet(ctx, expired)
	AssertCode(t, err, podium.ENOTFOUND)

	// SessionExtend moves the expiry later, never earlier.
	later := s.ExpiresAt.Add(30 * time.Minute)
	if ok, err := p.SessionExtend(ctx, live, later); err != nil || !ok {
		t.Fatalf("SessionExtend later = %t, %v; want true", ok, err)
	}
	if ok, err := p.SessionExtend(ctx, live, s.ExpiresAt); err != nil || ok {
		t.Fatalf("SessionExtend earlier = %t, %v; want false", ok, err)
	}
	if s2, _, err := p.SessionGet(ctx, live); err != nil || !s2.ExpiresAt.Equal(later) {
		t.Fatalf("after SessionExtend: %+v, %v; want expiry %v", s2, err, later)
	}
	// SessionDeleteByUser ends one user's sessions, not another's.
	other, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "sess2"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := hashOf(uniq(t, "mine")), hashOf(uniq(t, "theirs"))
	for _, c := range []struct {
		h  []byte
		id int64
	}{{mine, u.ID}, {theirs, other.ID}} {
		if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: c.h, UserID: c.id, CSRFToken: "c", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := p.SessionDeleteByUser(ctx, u.ID); err != nil || n != 3 {
		t.Fatalf("SessionDeleteByUser = %d, %v; want 3 (live, expired, mine)", n, err)
	}
	if _, _, err := p.SessionGet(ctx, theirs); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: live, UserID: u.ID, CSRFToken: "csrf", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: expired, UserID: u.ID, ExpiresAt: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.SessionDeleteExpired(ctx); err != nil || n < 1 {
		t.Errorf("SessionDeleteExpired = %d, %v; want at least ours", n, err)
	}
	if err := p.SessionDelete(ctx, live); err != nil {
		t.Fatal(err)
	}
	if err := p.SessionDelete(ctx, live); err != nil {
		t.Errorf("second SessionDelete = %v, want nil", err)
	}
	_, _, err = p.SessionGet(ctx, live)
	AssertCode(t, err, podium.ENOTFOUND)
}

// testLoginAttempts: failures count up, restart after ForgetBefore, lock,
// reset, and stale records are deleted.
func testLoginAttempts(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	key := uniq(t, "user:")
	_, err := p.LoginAttemptGet(ctx, key)
	AssertCode(t, err, podium.ENOTFOUND)
	at := time.Now().UTC().Truncate(time.Second)
	for i := 1; i <= 2; i++ {
		a, err := p.LoginAttemptRecordFailure(ctx, &dbprovider.LoginAttemptRecordFailureParams{Key: key, At: at, ForgetBefore: at.Add(-time.Hour)})
		if err != nil || a.Failures != i {
			t.Fatalf("failure %d: %+v, %v", i, a, err)
		}
	}
	later := at.Add(2 * time.Hour)
	a, err := p.LoginAttemptRecordFailure(ctx, &dbprovider.LoginAttemptRecordFailureParams{Key: key, At: later, ForgetBefore: later.Add(-time.Hour)})
	if err != nil || a.Failures != 1 {
		t.Fatalf("failure after the forget window: %+v, %v; want the count restarted at 1", a, err)
	}
	until := later.Add(time.Minute)
	if err := p.LoginAttemptLock(ctx, key, until); err != nil {
		t.Fatal(err)
	}
	if a, err := p.LoginAttemptGet(ctx, key); err != nil || a.LockedUntil == nil || !a.LockedUntil.Equal(until) {
		t.Fatalf("after lock: %+v, %v; want locked until %s", a, err, until)
	}
	if err := p.LoginAttemptReset(ctx, key); err != nil {
		t.Fatal(err)
	}
	_, err = p.LoginAttemptGet(ctx, key)
	AssertCode(t, err, podium.ENOTFOUND)
	stale := uniq(t, "ip:")
	if _, err := p.LoginAttemptRecordFailure(ctx, &dbprovider.LoginAttemptRecordFailureParams{Key: stale, At: at.Add(-48 * time.Hour), ForgetBefore: at.Add(-72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.LoginAttemptDeleteStale(ctx, at.Add(-24*time.Hour)); err != nil || n < 1 {
		t.Errorf("LoginAttemptDeleteStale = %d, %v; want at least ours", n, err)
	}
	_, err = p.LoginAttemptGet(ctx, stale)
	AssertCode(t, err, podium.ENOTFOUND)
}
