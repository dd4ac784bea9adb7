package dbprovidertest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// mustContent creates a user and a content item owned by it, named after
// the test so that subtests sharing a database do not collide.
func mustContent(t *testing.T, p dbprovider.Provider) (*podium.User, *podium.Content) {
	t.Helper()
	ctx := ctxT(t)
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	u, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "u-" + name, Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "guid-" + name, Name: "c-" + name, OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return u, c
}

// testContentSettings: the settings document starts as an empty object;
// a swap from the current document succeeds, a swap from a stale one
// changes nothing; unknown content is ENOTFOUND.
func testContentSettings(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := mustContent(t, p)
	raw, err := p.ContentSettingsGet(ctx, c.ID)
	if err != nil || strings.TrimSpace(string(raw)) != "{}" {
		t.Fatalf("new content settings = %q, %v; want {}", raw, err)
	}
	ok, err := p.ContentSettingsSwap(ctx, c.ID, raw, []byte(`{"processes": {"max_processes": 3}}`))
	if err != nil || !ok {
		t.Fatalf("swap from the current document = %v, %v; want true", ok, err)
	}
	now, err := p.ContentSettingsGet(ctx, c.ID)
	if err != nil || !strings.Contains(string(now), `"max_processes"`) {
		t.Fatalf("settings after swap = %q, %v", now, err)
	}
	ok, err = p.ContentSettingsSwap(ctx, c.ID, raw, []byte(`{"lost": true}`))
	if err != nil || ok {
		t.Fatalf("swap from a stale document = %v, %v; want false, nil", ok, err)
	}
	if again, _ := p.ContentSettingsGet(ctx, c.ID); string(again) != string(now) {
		t.Errorf("a refused swap changed the settings: %q, want %q", again, now)
	}
	_, err = p.ContentSettingsGet(ctx, -1)
	AssertCode(t, err, podium.ENOTFOUND)
	_, err = p.ContentSettingsSwap(ctx, -1, raw, raw)
	AssertCode(t, err, podium.ENOTFOUND)
}

// testTaskList: the newest tasks of content first, at most limit, each
// with its output; other content's tasks are not listed.
func testTaskList(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, c := mustContent(t, p)
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("%s-%d", c.GUID, i)
		if _, err := p.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: id, Kind: podium.TaskDeploy, ContentID: c.ID, UserID: u.ID, NodeID: "n"}); err != nil {
			t.Fatal(err)
		}
		if err := p.TaskAppendOutput(ctx, &dbprovider.TaskAppendOutputParams{TaskID: id, FirstLine: 0, Lines: []string{"a" + id, "b" + id}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := p.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: c.GUID + "-other", Kind: podium.TaskRender, NodeID: "n"}); err != nil {
		t.Fatal(err)
	}
	list, err := p.TaskList(ctx, c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
		t.Fatalf("TaskList(limit 2) = %v; want %s, %s", taskIDs(list), ids[2], ids[1])
	}
	for _, tk := range list {
		want, err := p.TaskGet(ctx, tk.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(tk.Output, "|") != strings.Join(want.Output, "|") || tk.Last != want.Last || len(tk.Output) != 2 {
			t.Errorf("task %s: output %q last %d; TaskGet says %q last %d", tk.ID, tk.Output, tk.Last, want.Output, want.Last)
		}
	}
	if list, err := p.TaskList(ctx, -1, 10); err != nil || len(list) != 0 {
		t.Errorf("TaskList of unknown content = %v, %v; want none", taskIDs(list), err)
	}
}

func taskIDs(list []*podium.Task) []string {
	var out []string
	for _, t := range list {
		out = append(out, t.ID)
	}
	return out
}

// testRenderListRecent: the newest renders first, at most limit, the
// same as the head of RenderList.
func testRenderListRecent(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	_, c := mustContent(t, p)
	b, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 1, SHA256: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c.ID, BundleID: b.ID, NodeID: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := p.RenderList(ctx, &dbprovider.RenderListParams{ContentID: c.ID})
	if err != nil || len(all) != 3 {
		t.Fatalf("RenderList = %d renders, %v; want 3", len(all), err)
	}
	recent, err := p.RenderListRecent(ctx, c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 2 || recent[0].ID != all[0].ID || recent[1].ID != all[1].ID || recent[0].ID < recent[1].ID {
		t.Fatalf("RenderListRecent(limit 2) = %+v; want the two newest of %+v", recent, all)
	}
}

// testContentLifecycle: read by id and GUID, list by viewer and access,
// update, access lists (EINVALID for an unknown user), bundles, activate,
// tasks finished, renders finished and the latest good one, delete with
// everything below it.
func testContentLifecycle(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	other, err := p.UserCreate(ctx, &dbprovider.UserCreateParams{Username: uniq(t, "other"), Role: podium.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.ContentGet(ctx, c.ID); err != nil || got.GUID != c.GUID || got.OwnerID != owner.ID || got.AccessType != podium.AccessACL {
		t.Fatalf("ContentGet = %+v, %v", got, err)
	}
	if got, err := p.ContentGetByGUID(ctx, c.GUID); err != nil || got.ID != c.ID {
		t.Fatalf("ContentGetByGUID = %+v, %v", got, err)
	}
	_, err = p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: c.GUID, Name: "dup", OwnerID: owner.ID})
	AssertCode(t, err, podium.ECONFLICT)
	visible := func(viewer int64) bool {
		list, err := p.ContentList(ctx, &dbprovider.ContentListParams{ViewerID: viewer, Name: c.Name})
		if err != nil {
			t.Fatal(err)
		}
		return len(list) == 1 && list[0].ID == c.ID
	}
	if !visible(owner.ID) || visible(other.ID) || visible(0) {
		t.Errorf("acl content: visible to owner %t, other %t, anonymous %t; want true, false, false", visible(owner.ID), visible(other.ID), visible(0))
	}

	if err := p.ContentACLSet(ctx, &dbprovider.ContentACLSetParams{ContentID: c.ID, Entries: []dbprovider.ContentACLEntryParams{{Username: other.Username, Role: podium.ACLViewer}}}); err != nil {
		t.Fatal(err)
	}
	if role, err := p.ContentACLRole(ctx, c.ID, other.ID); err != nil || role != podium.ACLViewer {
		t.Errorf("ContentACLRole = %q, %v; want viewer", role, err)
	}
	if list, err := p.ContentACLList(ctx, c.ID); err != nil || len(list) != 1 || list[0].Username != other.Username {
		t.Errorf("ContentACLList = %+v, %v", list, err)
	}
	if !visible(other.ID) {
		t.Error("content not visible to a user on its access list")
	}
	err = p.ContentACLSet(ctx, &dbprovider.ContentACLSetParams{ContentID: c.ID, Entries: []dbprovider.ContentACLEntryParams{{Username: "no-such-user", Role: podium.ACLViewer}}})
	AssertCode(t, err, podium.EINVALID)

	title, access := "A title", podium.AccessAll
	if got, err := p.ContentUpdate(ctx, &dbprovider.ContentUpdateParams{ID: c.ID, Title: &title, AccessType: &access}); err != nil || got.Title != title || got.Name != c.Name {
		t.Fatalf("ContentUpdate = %+v, %v", got, err)
	}
	if !visible(0) {
		t.Error("content with access all not visible to anonymous visitors")
	}

	b1, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 10, SHA256: hashOf("b1"), CreatedBy: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := p.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, Size: 20, SHA256: hashOf("b2")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.BundleGet(ctx, b1.ID); err != nil || got.Size != 10 || !bytes.Equal(got.SHA256, hashOf("b1")) {
		t.Fatalf("BundleGet = %+v, %v", got, err)
	}
	if list, err := p.BundleList(ctx, c.ID); err != nil || len(list) != 2 || list[0].ID != b2.ID {
		t.Fatalf("BundleList = %+v, %v; want newest first", list, err)
	}
	// The environment a build records is read back with the bundle, and
	// its versions reach the content when the bundle is activated.
	env := &podium.BundleEnvironment{PyVersion: "3.11.2", RVersion: "4.2.2", Lockfile: "# python 3.11.2\nflask==2.2.2\n"}
	if err := p.BundleSetEnvironment(ctx, b2.ID, env); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.BundleSetEnvironment(ctx, -1, env), podium.ENOTFOUND)
	if got, err := p.BundleGet(ctx, b2.ID); err != nil || got.Environment != *env {
		t.Fatalf("BundleGet after BundleSetEnvironment: %+v, %v; want environment %+v", got, err, env)
	}
	if got, err := p.BundleGet(ctx, b1.ID); err != nil || got.Environment != (podium.BundleEnvironment{}) {
		t.Fatalf("BundleGet of a bundle never built: %+v, %v; want no environment", got, err)
	}
	if got, err := p.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b2.ID, AppMode: "report"}); err != nil ||
		got.ActiveBundleID == nil || *got.ActiveBundleID != b2.ID || got.AppMode != "report" ||
		got.PyVersion == nil || *got.PyVersion != "3.11.2" || got.RVersion == nil || *got.RVersion != "4.2.2" || got.QuartoVersion != nil {
		t.Fatalf("ContentActivate = %+v, %v; want bundle %d with py 3.11.2, R 4.2.2, no Quarto", got, err, b2.ID)
	}
	if got, err := p.ContentGet(ctx, c.ID); err != nil || got.PyVersion == nil || *got.PyVersion != "3.11.2" {
		t.Fatalf("ContentGet after activation = %+v, %v; want py_version 3.11.2", got, err)
	}
	// Activating a bundle without an environment clears the versions.
	if got, err := p.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b1.ID, AppMode: "static"}); err != nil ||
		got.PyVersion != nil || got.RVersion != nil {
		t.Fatalf("ContentActivate of a bundle without environment = %+v, %v; want no versions", got, err)
	}
	if _, err := p.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b2.ID, AppMode: "report"}); err != nil {
		t.Fatal(err)
	}
	if err := p.BundleDelete(ctx, b1.ID); err != nil {
		t.Fatal(err)
	}
	_, err = p.BundleGet(ctx, b1.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.BundleDelete(ctx, b1.ID), podium.ENOTFOUND)

	task := c.GUID + "-task"
	if _, err := p.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: task, Kind: podium.TaskRender, ContentID: c.ID, NodeID: "n"}); err != nil {
		t.Fatal(err)
	}
	if err := p.TaskFinish(ctx, &dbprovider.TaskFinishParams{ID: task, Code: 2, Error: "failed", Result: `{"x": 1}`}); err != nil {
		t.Fatal(err)
	}
	if got, err := p.TaskGet(ctx, task, 0); err != nil || !got.Finished || got.Code != 2 || got.Error != "failed" {
		t.Errorf("TaskGet after TaskFinish = %+v, %v", got, err)
	}
	AssertCode(t, p.TaskFinish(ctx, &dbprovider.TaskFinishParams{ID: "no-such-task"}), podium.ENOTFOUND)
	_, err = p.TaskGet(ctx, "no-such-task", 0)
	AssertCode(t, err, podium.ENOTFOUND)

	good, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c.ID, BundleID: b2.ID, TaskID: task, NodeID: "n"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := p.RenderCreate(ctx, &dbprovider.RenderCreateParams{ContentID: c.ID, BundleID: b2.ID, NodeID: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RenderFinish(ctx, good.ID, podium.RenderOK); err != nil {
		t.Fatal(err)
	}
	if err := p.RenderFinish(ctx, bad.ID, podium.RenderFailed); err != nil {
		t.Fatal(err)
	}
	if got, err := p.RenderGet(ctx, good.ID); err != nil || got.Status != podium.RenderOK || got.FinishedAt == nil || got.TaskID != task {
		t.Errorf("RenderGet = %+v, %v", got, err)
	}
	if got, err := p.RenderGetLatestGood(ctx, c.ID, b2.ID); err != nil || got.ID != good.ID {
		t.Errorf("RenderGetLatestGood = %+v, %v; want render %d (the newer one failed)", got, err, good.ID)
	}
	AssertCode(t, p.RenderFinish(ctx, -1, podium.RenderOK), podium.ENOTFOUND)
	_, err = p.RenderGet(ctx, -1)
	AssertCode(t, err, podium.ENOTFOUND)

	if err := p.ContentDelete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// SQLite may give a deleted row's id to the next insert (of a
	// parallel subtest): gone means not found, or found as someone else's.
	if got, err := p.ContentGet(ctx, c.ID); err == nil && got.GUID == c.GUID || err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
		t.Errorf("ContentGet after ContentDelete = %+v, %v", got, err)
	}
	if got, err := p.BundleGet(ctx, b2.ID); err == nil && got.ContentID == c.ID || err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
		t.Errorf("BundleGet after ContentDelete = %+v, %v; want the bundle deleted with its content", got, err)
	}
	if got, err := p.RenderGet(ctx, good.ID); err == nil && got.ContentID == c.ID || err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
		t.Errorf("RenderGet after ContentDelete = %+v, %v; want the render deleted with its content", got, err)
	}
	_, err = p.ContentGetByGUID(ctx, c.GUID)
	AssertCode(t, err, podium.ENOTFOUND)
	AssertCode(t, p.ContentDelete(ctx, -1), podium.ENOTFOUND)
}
