package dbprovidertest

import (
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testUserProfile: usernames, names and emails change through UserUpdate;
// a taken username is ECONFLICT.
func testUserProfile(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	a, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "a"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "b"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "" || a.Email != "" {
		t.Errorf("new user: name %q, email %q; want empty", a.Name, a.Email)
	}
	newName, name, email := uniq(t, "renamed"), "Ada Lovelace", "ada@example.com"
	got, err := p.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: a.ID, Username: &newName, Name: &name, Email: &email})
	if err != nil || got.Username != newName || got.Name != name || got.Email != email || got.Role != podium.RoleViewer {
		t.Fatalf("UserUpdate(profile) = %+v, %v", got, err)
	}
	if got, err := p.UserGetByName(ctx, newName); err != nil || got.ID != a.ID || got.Email != email {
		t.Fatalf("UserGetByName(renamed) = %+v, %v", got, err)
	}
	_, err = p.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: b.ID, Username: &newName})
	AssertCode(t, err, podium.ECONFLICT)
}

// testUserIdentities: an identity finds its user, can be moved to another
// user, and lists per user; an unknown one is ENOTFOUND.
func testUserIdentities(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "id"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "id2"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	uid := uniq(t, "uid")
	_, err = p.UserIdentityGet(ctx, "ldap", uid)
	AssertCode(t, err, podium.ENOTFOUND)
	if err := p.UserIdentityPut(ctx, "ldap", uid, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := p.UserIdentityGet(ctx, "ldap", uid); err != nil || got.ID != u.ID {
		t.Fatalf("UserIdentityGet = %+v, %v", got, err)
	}
	_, err = p.UserIdentityGet(ctx, "oidc", uid)
	AssertCode(t, err, podium.ENOTFOUND)
	if err := p.UserIdentityPut(ctx, "ldap", uid, v.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := p.UserIdentityGet(ctx, "ldap", uid); err != nil || got.ID != v.ID {
		t.Fatalf("UserIdentityGet after moving = %+v, %v", got, err)
	}
	ids, err := p.UserIdentityList(ctx, v.ID)
	if err != nil || len(ids) != 1 || ids[0].Provider != "ldap" || ids[0].UniqueID != uid {
		t.Fatalf("UserIdentityList = %+v, %v", ids, err)
	}
	if ids, err := p.UserIdentityList(ctx, u.ID); err != nil || len(ids) != 0 {
		t.Fatalf("UserIdentityList(old user) = %+v, %v", ids, err)
	}
}

// testGroups: create (unique per provider), get, list, members add (twice
// is fine) and remove, groups of a user, delete with its memberships.
func testGroups(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	name := uniq(t, "grp")
	g, err := p.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: name})
	AssertCode(t, err, podium.ECONFLICT)
	pg, err := p.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: name, Provider: "ldap"})
	if err != nil {
		t.Fatalf("a provider's group may share a local group's name: %v", err)
	}
	if got, err := p.GroupGet(ctx, g.ID); err != nil || got.Name != name || got.Provider != "" {
		t.Fatalf("GroupGet = %+v, %v", got, err)
	}
	if got, err := p.GroupGetByName(ctx, "ldap", name); err != nil || got.ID != pg.ID {
		t.Fatalf("GroupGetByName = %+v, %v", got, err)
	}
	_, err = p.GroupGetByName(ctx, "oidc", name)
	AssertCode(t, err, podium.ENOTFOUND)
	list, err := p.GroupList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(list, func(x *podium.Group) bool { return x.ID == g.ID }) ||
		!slices.ContainsFunc(list, func(x *podium.Group) bool { return x.ID == pg.ID }) {
		t.Errorf("GroupList lacks the new groups: %+v", list)
	}

	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "member"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.GroupMemberAdd(ctx, g.ID, u.ID); err != nil {
			t.Fatalf("GroupMemberAdd: %v", err)
		}
	}
	if err := p.GroupMemberAdd(ctx, pg.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.GroupMemberAdd(ctx, -1, u.ID), podium.ENOTFOUND)
	AssertCode(t, p.GroupMemberAdd(ctx, g.ID, -1), podium.ENOTFOUND)
	if ms, err := p.GroupMemberList(ctx, g.ID); err != nil || len(ms) != 1 || ms[0].ID != u.ID {
		t.Fatalf("GroupMemberList = %+v, %v", ms, err)
	}
	if gs, err := p.GroupListByUser(ctx, u.ID); err != nil || len(gs) != 2 {
		t.Fatalf("GroupListByUser = %+v, %v", gs, err)
	}
	if err := p.GroupMemberRemove(ctx, pg.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.GroupMemberRemove(ctx, pg.ID, u.ID), podium.ENOTFOUND)
	if err := p.GroupDelete(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.GroupDelete(ctx, g.ID), podium.ENOTFOUND)
	if gs, err := p.GroupListByUser(ctx, u.ID); err != nil || len(gs) != 0 {
		t.Fatalf("GroupListByUser after deleting and leaving = %+v, %v", gs, err)
	}
}

// testContentGroupACL: a group's grant gives its members access (role
// and listing), the best of direct and group grants wins, and deleting
// the grant or leaving the group takes the access away.
func testContentGroupACL(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := mustContent(t, p)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "reader"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: uniq(t, "readers")})
	if err != nil {
		t.Fatal(err)
	}
	sees := func() bool {
		t.Helper()
		list, err := p.ContentList(ctx, &dbprovider.ContentListParams{ViewerID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(list, func(x *podium.Content) bool { return x.ID == c.ID })
	}
	role := func() string {
		t.Helper()
		r, err := p.ContentACLRole(ctx, c.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := p.ContentGroupACLPut(ctx, c.ID, g.ID, "viewer"); err != nil {
		t.Fatal(err)
	}
	if role() != "" || sees() {
		t.Fatal("a group's grant reached a user outside the group")
	}
	if err := p.GroupMemberAdd(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if r := role(); r != "viewer" || !sees() {
		t.Fatalf("member of a viewer group: role %q, listed %v; want viewer, true", r, sees())
	}
	if sc, err := p.ScheduleContent(ctx, c.GUID, u.ID); err != nil || sc.ACLRole != "viewer" {
		t.Fatalf("ScheduleContent through a group = %+v, %v", sc, err)
	}
	if err := p.ContentACLSet(ctx, &dbprovider.ContentACLSetParams{ContentID: c.ID,
		Entries: []dbprovider.ContentACLEntryParams{{Username: u.Username, Role: "viewer"}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.ContentGroupACLPut(ctx, c.ID, g.ID, "collaborator"); err != nil {
		t.Fatal(err)
	}
	if r := role(); r != "collaborator" {
		t.Fatalf("direct viewer, group collaborator: role %q, want collaborator", r)
	}
	list, err := p.ContentGroupACLList(ctx, c.ID)
	if err != nil || len(list) != 1 || list[0].GroupID != g.ID || list[0].Role != "collaborator" || list[0].Name != g.Name {
		t.Fatalf("ContentGroupACLList = %+v, %v", list, err)
	}
	AssertCode(t, p.ContentGroupACLPut(ctx, c.ID, -1, "viewer"), podium.ENOTFOUND)
	if err := p.ContentGroupACLDelete(ctx, c.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.ContentGroupACLDelete(ctx, c.ID, g.ID), podium.ENOTFOUND)
	if r := role(); r != "viewer" {
		t.Fatalf("after the group's grant went: role %q, want the direct viewer", r)
	}
	if err := p.ContentACLSet(ctx, &dbprovider.ContentACLSetParams{ContentID: c.ID}); err != nil {
		t.Fatal(err)
	}
	if role() != "" || sees() {
		t.Fatal("access left after every grant was removed")
	}
}

// testUserDelete: refused (EPRECONDITION) while the user owns content;
// otherwise the user goes with sessions, keys, memberships and
// identities, and the history that named the user stays.
func testUserDelete(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	AssertCode(t, p.UserDelete(ctx, owner.ID), podium.EPRECONDITION)
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "gone"), Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	g, err := p.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: uniq(t, "g")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.GroupMemberAdd(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.UserIdentityPut(ctx, "proxy", uniq(t, "uid"), u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: hashOf(uniq(t, "s1")), UserID: u.ID,
		CSRFToken: "x", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SessionCreate(ctx, &dbprovider.SessionCreateParams{IDHash: hashOf(uniq(t, "s2")), UserID: u.ID,
		CSRFToken: "y", ExpiresAt: time.Now().Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ss, err := p.SessionListByUser(ctx, u.ID)
	if err != nil || len(ss) != 2 {
		t.Fatalf("SessionListByUser = %d sessions, %v; want 2", len(ss), err)
	}
	if _, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: hashOf("b"), CreatedBy: u.ID}); err != nil {
		t.Fatal(err)
	}
	tx, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.UserDelete(ctx, u.ID); err != nil {
		t.Fatalf("UserDelete: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	_, err = p.UserGetByID(ctx, u.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.UserDelete(ctx, u.ID), podium.ENOTFOUND)
	if ms, err := p.GroupMemberList(ctx, g.ID); err != nil || len(ms) != 0 {
		t.Fatalf("members after delete = %+v, %v", ms, err)
	}
	if ss, err := p.SessionListByUser(ctx, u.ID); err != nil || len(ss) != 0 {
		t.Fatalf("sessions after delete = %d, %v", len(ss), err)
	}
	if bs, err := p.BundleList(ctx, c.ID); err != nil || len(bs) != 1 || bs[0].CreatedBy != nil {
		t.Fatalf("bundles after delete = %+v, %v; want the bundle kept, without its uploader", bs, err)
	}
}
