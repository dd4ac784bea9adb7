package dbprovidertest

import (
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
	all, err := p.RenderList(ctx, c.ID)
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
