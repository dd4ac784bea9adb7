package auth_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
)

func groupNames(t *testing.T, db dbprovider.Provider, userID int64, provider string) []string {
	t.Helper()
	gs, err := db.GroupListByUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		if g.Provider == provider {
			out = append(out, g.Name)
		}
	}
	return out
}

// TestSignInExternal: first sign-in provisions the user with the mapped
// role and groups; a later sign-in under a new username finds the same
// user by unique id (content stays theirs), follows the new name, email,
// groups and role, and ends the sessions of the old role; local groups are
// left alone; a locked user is refused.
func TestSignInExternal(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		ctx := context.Background()
		s := newService(t, db, auth.Options{Roles: auth.RoleMapping{
			Default: podium.RoleViewer, Admin: []string{"Podium-Admins"}, Publisher: []string{"authors"},
		}})
		u, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "uuid-1", Username: "Alice",
			Name: "Alice A", Email: "alice@example.com", Groups: []string{"authors", "staff", " staff "}})
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "alice" || u.Role != podium.RolePublisher || u.Name != "Alice A" || u.Email != "alice@example.com" {
			t.Fatalf("first sign-in = %+v; want alice, publisher (authors), name and email", u)
		}
		if got := groupNames(t, db, u.ID, "ldap"); !slices.Equal(got, []string{"authors", "staff"}) {
			t.Fatalf("groups = %q, want [authors staff]", got)
		}
		c, err := db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "g-alice", Name: "report", OwnerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		local, err := s.CreateGroup(ctx, "local-team")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddGroupMember(ctx, local.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		sess, err := s.CreateSession(ctx, u)
		if err != nil {
			t.Fatal(err)
		}

		// Renamed in the directory, moved to the admins' group (case does
		// not matter), out of staff.
		u2, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "uuid-1", Username: "alice.smith",
			Groups: []string{"podium-admins"}})
		if err != nil {
			t.Fatal(err)
		}
		if u2.ID != u.ID || u2.Username != "alice.smith" || u2.Role != podium.RoleAdmin || u2.Email != "alice@example.com" {
			t.Fatalf("second sign-in = %+v; want user %d renamed alice.smith, admin, email kept", u2, u.ID)
		}
		if got, err := db.ContentGet(ctx, c.ID); err != nil || got.OwnerID != u.ID {
			t.Fatalf("content owner after rename = %+v, %v", got, err)
		}
		if got := groupNames(t, db, u.ID, "ldap"); !slices.Equal(got, []string{"podium-admins"}) {
			t.Fatalf("groups after sync = %q, want [podium-admins]", got)
		}
		if got := groupNames(t, db, u.ID, ""); !slices.Equal(got, []string{"local-team"}) {
			t.Fatalf("local groups after sync = %q, want [local-team] untouched", got)
		}
		if _, err := s.AuthenticateSession(ctx, sess.Token); !podium.IsCode(err, podium.EUNAUTHORIZED) {
			t.Fatalf("session of the old role: %v, want EUNAUTHORIZED (ended by the role change)", err)
		}

		// No group matches: the default role, with mappings configured.
		u3, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "uuid-1", Username: "alice.smith"})
		if err != nil || u3.Role != podium.RoleViewer {
			t.Fatalf("sign-in without mapped groups = %+v, %v; want viewer", u3, err)
		}
		// A role the provider asserts wins over the mappings.
		u4, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "uuid-1", Username: "alice.smith",
			Groups: []string{"podium-admins"}, Role: "Publisher"})
		if err != nil || u4.Role != podium.RolePublisher {
			t.Fatalf("sign-in with an asserted role = %+v, %v; want publisher", u4, err)
		}

		if err := s.SetLocked(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "uuid-1", Username: "alice.smith"})
		assertCode(t, err, podium.EUNAUTHORIZED)

		_, err = s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "x", Username: "@@"})
		assertCode(t, err, podium.EINVALID)
		_, err = s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "ldap", UniqueID: "y", Username: "bob", Role: "root"})
		assertCode(t, err, podium.EINVALID)
	})
}

// TestSignInExternalAdoptsPasswordUser: moving a password installation to
// a provider (LinkExistingUsers on), the first external sign-in of a
// username takes over the existing user (and so their content); a later
// different identity with that username is refused instead of taking it
// over again.
func TestSignInExternalAdoptsPasswordUser(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		ctx := context.Background()
		s := newService(t, db, auth.Options{LinkExistingUsers: true})
		old, err := s.CreateUser(ctx, auth.CreateUserParams{Username: "carol", Role: podium.RolePublisher, Password: "a long pass phrase 42"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-carol", Username: "Carol"})
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != old.ID || u.Role != podium.RolePublisher {
			t.Fatalf("first external sign-in = %+v; want user %d with her publisher role kept (no mapping configured)", u, old.ID)
		}
		_, err = s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-impostor", Username: "carol"})
		assertCode(t, err, podium.ECONFLICT)
		// A new user without mappings gets the default role.
		d, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-dave", Username: "dave"})
		if err != nil || d.Role != podium.RoleViewer {
			t.Fatalf("new user = %+v, %v; want viewer", d, err)
		}
	})
}

// TestSignInExternalRefusesTakeover replays the attack on linking by
// username: at a provider whose users choose their own username (an
// OpenID Connect provider's preferred_username, say), someone signs in as
// "root", the name of the password-era administrator. Without
// LinkExistingUsers the sign-in is refused, and root stays root's.
func TestSignInExternalRefusesTakeover(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		ctx := context.Background()
		s := newService(t, db, auth.Options{})
		root, err := s.CreateUser(ctx, auth.CreateUserParams{Username: "root", Role: podium.RoleAdmin, Password: "a long pass phrase 42"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-mallory", Username: "Root"})
		assertCode(t, err, podium.ECONFLICT)
		if u != nil {
			t.Fatalf("sign-in as root's username returned user %+v", u)
		}
		if err == nil || !strings.Contains(err.Error(), "LinkExistingUsers") {
			t.Fatalf("refusal %v does not name the setting that links users", err)
		}
		// The identity was not recorded: a later sign-in is refused again,
		// and root still signs in with the password.
		_, err = s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-mallory", Username: "root"})
		assertCode(t, err, podium.ECONFLICT)
		if got, err := s.Login(ctx, "root", "a long pass phrase 42", "192.0.2.1"); err != nil || got.User.ID != root.ID || got.User.Role != podium.RoleAdmin {
			t.Fatalf("root's password login after the attempt: %+v, %v", got, err)
		}
		// A new username is provisioned as before.
		if d, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "oidc", UniqueID: "sub-dave", Username: "dave"}); err != nil || d.ID == root.ID {
			t.Fatalf("new user = %+v, %v", d, err)
		}
	})
}

// TestSignInExternalConcurrentFirstSignIn: two first sign-ins of one
// identity at once make one user.
func TestSignInExternalConcurrentFirstSignIn(t *testing.T) {
	t.Parallel()
	eachProvider(t, func(t *testing.T, db dbprovider.Provider) {
		ctx := context.Background()
		s := newService(t, db, auth.Options{})
		var wg sync.WaitGroup
		ids := make([]int64, 4)
		errs := make([]error, 4)
		for i := range ids {
			wg.Go(func() {
				u, err := s.SignInExternal(ctx, auth.ExternalIdentity{Provider: "proxy", UniqueID: "erin", Username: "erin", Groups: []string{"g1", "g2"}})
				errs[i] = err
				if err == nil {
					ids[i] = u.ID
				}
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil {
				t.Fatalf("sign-in %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("user ids %v: want one user", ids)
			}
		}
		if got := groupNames(t, db, ids[0], "proxy"); !slices.Equal(got, []string{"g1", "g2"}) {
			t.Fatalf("groups = %q", got)
		}
	})
}

func TestNormalizeUsername(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Alice.Smith":     "alice.smith",
		"ada@example.com": "ada_example.com",
		"  Bob  ":         "bob",
		"DOMAIN\\user":    "domain_user",
		"_x":              "x",
	} {
		if got, err := auth.NormalizeUsername(in); err != nil || got != want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := auth.NormalizeUsername("@@@"); !podium.IsCode(err, podium.EINVALID) {
		t.Errorf("NormalizeUsername(@@@) = %v, want EINVALID", err)
	}
}
