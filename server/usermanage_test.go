package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/web"
)

// auditHas fails the test unless the audit log has an entry of action on
// target.
func auditHas(t *testing.T, n *Node, action, target string) {
	t.Helper()
	list, err := n.db.AuditList(context.Background(), &dbprovider.AuditListParams{Action: action, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Errorf("audit log has no %s on %s", action, target)
	}
}

// TestUserManagementAPI: an administrator changes a role (the user's
// sessions end), locks (API keys refused at once) and unlocks, resets a
// password and deletes users through the API; an administrator cannot
// demote, lock or delete themselves; a user with content cannot be
// deleted; non-administrators may not do any of it; every change is in
// the audit log.
func TestUserManagementAPI(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	ctx := context.Background()
	root, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	bob, bobKey := mustUserKey(t, n, "bob", podium.RolePublisher)
	carol, carolKey := mustUserKey(t, n, "carol", podium.RoleViewer)
	bobPath := "/__api__/v1/users/" + web.UserGUID(bob.ID)

	r := do(t, nil, base, call{method: "GET", path: bobPath, key: adminKey})
	wantStatus(t, "admin gets bob", r, http.StatusOK)
	var info web.UserInfo
	r.decode(t, &info)
	if info.Username != "bob" || info.UserRole != "publisher" || info.GUID != web.UserGUID(bob.ID) {
		t.Fatalf("bob = %s", r.body)
	}
	wantStatus(t, "bob gets himself", do(t, nil, base, call{method: "GET", path: bobPath, key: bobKey}), http.StatusOK)
	wantStatus(t, "carol gets bob", do(t, nil, base, call{method: "GET", path: bobPath, key: carolKey}), http.StatusNotFound)
	wantStatus(t, "publisher changes a role", do(t, nil, base, call{method: "PATCH", path: bobPath, key: bobKey,
		body: map[string]any{"role": "admin"}}), http.StatusForbidden)

	// Role change: sessions end, the audit log says so.
	sess, err := n.Auth().CreateSession(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, nil, base, call{method: "PATCH", path: bobPath, key: adminKey, body: map[string]any{"user_role": "viewer", "email": "bob@example.com"}})
	wantStatus(t, "demote bob", r, http.StatusOK)
	r.decode(t, &info)
	if info.Role != podium.RoleViewer || info.Email != "bob@example.com" {
		t.Fatalf("after PATCH = %s", r.body)
	}
	if _, err := n.Auth().AuthenticateSession(ctx, sess.Token); !podium.IsCode(err, podium.EUNAUTHORIZED) {
		t.Fatalf("bob's session after his role changed: %v, want ended", err)
	}
	auditHas(t, n, podium.AuditUserUpdate, "user:bob")

	// Lock: the key is refused at once; unlock lets it in again.
	wantStatus(t, "lock bob", do(t, nil, base, call{method: "POST", path: bobPath + "/lock", key: adminKey, body: map[string]any{"locked": true}}), http.StatusOK)
	wantStatus(t, "locked bob's key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: bobKey}), http.StatusUnauthorized)
	auditHas(t, n, podium.AuditUserLock, "user:bob")
	wantStatus(t, "unlock bob", do(t, nil, base, call{method: "PATCH", path: bobPath, key: adminKey, body: map[string]any{"locked": false}}), http.StatusOK)
	wantStatus(t, "unlocked bob's key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: bobKey}), http.StatusOK)

	// Password reset by an administrator.
	wantStatus(t, "weak reset", do(t, nil, base, call{method: "POST", path: bobPath + "/password", key: adminKey,
		body: map[string]any{"password": "bob"}}), http.StatusBadRequest)
	wantStatus(t, "reset", do(t, nil, base, call{method: "POST", path: bobPath + "/password", key: adminKey,
		body: map[string]any{"password": "a brand new passphrase"}}), http.StatusNoContent)
	if _, err := n.Auth().VerifyPassword(ctx, "bob", "a brand new passphrase"); err != nil {
		t.Fatalf("bob's reset password: %v", err)
	}
	auditHas(t, n, podium.AuditUserSetPassword, "user:bob")

	// Own password: the current one is required.
	wantStatus(t, "wrong current password", do(t, nil, base, call{method: "PUT", path: "/__api__/v1/user/password", key: carolKey,
		body: map[string]any{"current_password": "nope", "new_password": "carol's new passphrase"}}), http.StatusForbidden)
	wantStatus(t, "own password", do(t, nil, base, call{method: "PUT", path: "/__api__/v1/user/password", key: carolKey,
		body: map[string]any{"current_password": "password of carol", "new_password": "carol's new passphrase"}}), http.StatusNoContent)
	if _, err := n.Auth().VerifyPassword(ctx, "carol", "carol's new passphrase"); err != nil {
		t.Fatalf("carol's new password: %v", err)
	}

	// Own sessions: listed without secrets, one ended.
	s1, err := n.Auth().CreateSession(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/user/sessions", key: carolKey})
	wantStatus(t, "own sessions", r, http.StatusOK)
	var sessions []auth.SessionInfo
	r.decode(t, &sessions)
	if len(sessions) != 1 || strings.Contains(string(r.body), s1.Token) || strings.Contains(string(r.body), s1.CSRFToken) {
		t.Fatalf("sessions = %s", r.body)
	}
	wantStatus(t, "bob ends carol's session", do(t, nil, base, call{method: "DELETE", path: "/__api__/v1/user/sessions/" + sessions[0].ID, key: bobKey}), http.StatusNotFound)
	wantStatus(t, "carol ends her session", do(t, nil, base, call{method: "DELETE", path: "/__api__/v1/user/sessions/" + sessions[0].ID, key: carolKey}), http.StatusNoContent)
	if _, err := n.Auth().AuthenticateSession(ctx, s1.Token); err == nil {
		t.Fatal("the ended session still works")
	}

	// Not oneself.
	rootPath := "/__api__/v1/users/" + web.UserGUID(root.ID)
	wantStatus(t, "self demote", do(t, nil, base, call{method: "PATCH", path: rootPath, key: adminKey, body: map[string]any{"role": "viewer"}}), http.StatusPreconditionFailed)
	wantStatus(t, "self lock", do(t, nil, base, call{method: "POST", path: rootPath + "/lock", key: adminKey, body: map[string]any{"locked": true}}), http.StatusPreconditionFailed)
	wantStatus(t, "self delete", do(t, nil, base, call{method: "DELETE", path: rootPath, key: adminKey}), http.StatusPreconditionFailed)

	// Delete: refused while owning content, done otherwise (keys go too).
	if _, err := n.db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "00000000-aaaa-4000-8000-000000000001", Name: "report", OwnerID: carol.ID}); err != nil {
		t.Fatal(err)
	}
	carolPath := "/__api__/v1/users/" + web.UserGUID(carol.ID)
	wantStatus(t, "delete an owner", do(t, nil, base, call{method: "DELETE", path: carolPath, key: adminKey}), http.StatusPreconditionFailed)
	bobSess, err := n.Auth().CreateSession(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "delete bob", do(t, nil, base, call{method: "DELETE", path: bobPath, key: adminKey}), http.StatusNoContent)
	wantStatus(t, "deleted bob's key", do(t, nil, base, call{method: "GET", path: "/__api__/v1/user", key: bobKey}), http.StatusUnauthorized)
	if _, err := n.Auth().AuthenticateSession(ctx, bobSess.Token); !podium.IsCode(err, podium.EUNAUTHORIZED) {
		t.Fatalf("bob's session after his deletion: %v, want ended", err)
	}
	wantStatus(t, "bob again", do(t, nil, base, call{method: "GET", path: bobPath, key: adminKey}), http.StatusNotFound)
	auditHas(t, n, podium.AuditUserDelete, "user:bob")
}

// TestGroupsAPI: administrators create local groups and manage members;
// a group granted on content lets its members (and only them) see it;
// provider groups refuse manual members.
func TestGroupsAPI(t *testing.T) {
	t.Parallel()
	// pat, a password user, later signs in through the proxy as well.
	n, base := accountsNode(t, auth.ThrottleOptions{}, "[Authentication]\nLinkExistingUsers = true\n")
	ctx := context.Background()
	_, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	pub, pubKey := mustUserKey(t, n, "pat", podium.RolePublisher)
	vic, vicKey := mustUserKey(t, n, "vic", podium.RoleViewer)
	_, wesKey := mustUserKey(t, n, "wes", podium.RoleViewer)

	wantStatus(t, "publisher creates a group", do(t, nil, base, call{method: "POST", path: "/__api__/v1/groups", key: pubKey,
		body: map[string]any{"name": "analysts"}}), http.StatusForbidden)
	r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/groups", key: adminKey, body: map[string]any{"name": "analysts"}})
	wantStatus(t, "create group", r, http.StatusCreated)
	var g web.GroupInfo
	r.decode(t, &g)
	if g.Name != "analysts" || g.GUID != web.GroupGUID(g.ID) {
		t.Fatalf("group = %s", r.body)
	}
	wantStatus(t, "duplicate group", do(t, nil, base, call{method: "POST", path: "/__api__/v1/groups", key: adminKey,
		body: map[string]any{"name": "analysts"}}), http.StatusConflict)
	gpath := "/__api__/v1/groups/" + g.GUID
	wantStatus(t, "add vic", do(t, nil, base, call{method: "POST", path: gpath + "/members", key: adminKey,
		body: map[string]any{"user_guid": web.UserGUID(vic.ID)}}), http.StatusNoContent)
	auditHas(t, n, podium.AuditGroupAddMember, "group:analysts")
	r = do(t, nil, base, call{method: "GET", path: gpath + "/members", key: adminKey})
	wantStatus(t, "members", r, http.StatusOK)
	var members web.ListBody[web.UserInfo]
	r.decode(t, &members)
	if members.Total != 1 || members.Results[0].Username != "vic" {
		t.Fatalf("members = %s", r.body)
	}
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/groups", key: pubKey})
	wantStatus(t, "publisher lists groups", r, http.StatusOK)

	// Content shared with the group.
	r = do(t, nil, base, call{method: "POST", path: "/__api__/v1/content", key: pubKey, body: map[string]any{"name": "shared-report"}})
	wantStatus(t, "create content", r, http.StatusCreated)
	var ct struct {
		GUID string `json:"guid"`
	}
	r.decode(t, &ct)
	cpath := "/__api__/v1/content/" + ct.GUID
	wantStatus(t, "vic before the grant", do(t, nil, base, call{method: "GET", path: cpath, key: vicKey}), http.StatusNotFound)
	r = do(t, nil, base, call{method: "PUT", path: cpath + "/permissions", key: pubKey, body: map[string]any{
		"permissions": []map[string]any{{"principal_type": "group", "principal_guid": g.GUID, "role": "viewer"}}}})
	wantStatus(t, "grant the group", r, http.StatusOK)
	var perms web.PermissionsResponse
	r.decode(t, &perms)
	if len(perms.Permissions) != 1 || perms.Permissions[0].PrincipalType != "group" || perms.Permissions[0].Name != "analysts" {
		t.Fatalf("permissions = %s", r.body)
	}
	wantStatus(t, "vic, a member", do(t, nil, base, call{method: "GET", path: cpath, key: vicKey}), http.StatusOK)
	wantStatus(t, "wes, not a member", do(t, nil, base, call{method: "GET", path: cpath, key: wesKey}), http.StatusNotFound)

	// A client that knows only users keeps the group's grant.
	r = do(t, nil, base, call{method: "PUT", path: cpath + "/permissions", key: pubKey, body: map[string]any{
		"permissions": []map[string]any{{"username": "wes", "role": "viewer"}}}})
	wantStatus(t, "users-only PUT", r, http.StatusOK)
	r.decode(t, &perms)
	if len(perms.Permissions) != 2 {
		t.Fatalf("after a users-only PUT: %s; want wes and the group", r.body)
	}

	// Leaving the group takes the access away.
	wantStatus(t, "remove vic", do(t, nil, base, call{method: "DELETE", path: gpath + "/members/" + web.UserGUID(vic.ID), key: adminKey}), http.StatusNoContent)
	testutilWaitStatus(t, base, cpath, vicKey, http.StatusNotFound)

	// A provider's group: members come from the provider.
	if _, err := n.Auth().SignInExternal(ctx, auth.ExternalIdentity{Provider: "proxy", Username: "pat", Groups: []string{"sso-team"}}); err != nil {
		t.Fatal(err)
	}
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/users/" + web.UserGUID(pub.ID) + "/groups", key: pubKey})
	wantStatus(t, "pat's groups", r, http.StatusOK)
	var gl web.ListBody[web.GroupInfo]
	r.decode(t, &gl)
	if gl.Total != 1 || gl.Results[0].Name != "sso-team" || gl.Results[0].Provider != "proxy" {
		t.Fatalf("pat's groups = %s", r.body)
	}
	wantStatus(t, "add to a provider group", do(t, nil, base, call{method: "POST", path: "/__api__/v1/groups/" + gl.Results[0].GUID + "/members", key: adminKey,
		body: map[string]any{"user_guid": web.UserGUID(vic.ID)}}), http.StatusPreconditionFailed)

	wantStatus(t, "delete group", do(t, nil, base, call{method: "DELETE", path: gpath, key: adminKey}), http.StatusNoContent)
	auditHas(t, n, podium.AuditGroupDelete, "group:analysts")
}

// testutilWaitStatus waits until GET path answers status (the content
// access cache may hold a grant for up to a second).
func testutilWaitStatus(t *testing.T, base, path, key string, status int) {
	t.Helper()
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "status of "+path, func() bool {
		return do(t, nil, base, call{method: "GET", path: path, key: key}).status == status
	})
}

// TestFirstRunWithExternalProvider: with an external provider and no
// users, the login page offers no first-run setup (an administrator made
// with a password could not sign in): the first administrator comes from
// the provider.
func TestFirstRunWithExternalProvider(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "[Authentication]\nProvider = proxy\n[ProxyAuth]\nTrustedProxies = 10.9.9.9\n")
	r := do(t, nil, base, call{method: "GET", path: web.LoginPath})
	wantStatus(t, "login page", r, http.StatusOK)
	if strings.Contains(string(r.body), "setup_token") {
		t.Fatalf("the login page offers the first-run setup under the proxy provider:\n%s", r.body)
	}
	// A password login is refused: the proxy signs users in.
	if _, err := n.Auth().CreateUser(context.Background(), auth.CreateUserParams{Username: "local", Role: podium.RoleAdmin, Password: "a local passphrase"}); err != nil {
		t.Fatal(err)
	}
	r = do(t, nil, base, call{method: "POST", path: web.LoginPath, body: nil, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "authenticating proxy") {
		t.Fatalf("password login under the proxy provider: %d\n%s", r.status, r.body)
	}
	_, base = accountsNode(t, auth.ThrottleOptions{}, "")
	if r := do(t, nil, base, call{method: "GET", path: web.LoginPath}); !strings.Contains(string(r.body), "setup_token") {
		t.Fatalf("the password provider lost its first-run setup:\n%s", r.body)
	}
}

// TestProxyAuthFactsForHACheck: a proxy node publishes its [ProxyAuth]
// settings for "podium ha check" to compare across nodes.
func TestProxyAuthFactsForHACheck(t *testing.T) {
	t.Parallel()
	n, _ := accountsNode(t, auth.ThrottleOptions{}, "[Authentication]\nProvider = proxy\n[ProxyAuth]\nTrustedProxies = 10.9.9.9\nGroupsHeader = X-Groups\n")
	if n.ssoProbe == nil {
		t.Fatal("no sign-in facts for ha check under the proxy provider")
	}
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the probe's first run", func() bool { return !n.ssoProbe.Facts().CheckedAt.IsZero() })
	f := n.ssoProbe.Facts()
	if f.Provider != "proxy" || !strings.Contains(f.Settings, "trusted=10.9.9.9") || !strings.Contains(f.Settings, "groups=X-Groups") || f.Error != "" {
		t.Fatalf("facts = %+v", f)
	}
}
