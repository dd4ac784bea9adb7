package dbprovidertest

import (
	"slices"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testTags: a tag tree with names unique among siblings (the root
// included), renames and moves, content tagged and listed by tag, and a
// deleted tag taking its descendants and their taggings with it.
func testTags(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	other := mustMoreContent(t, p, owner, c, "2")
	root, err := p.TagCreate(ctx, &dbprovider.TagParams{Name: "Departments"})
	if err != nil || root.ParentID != nil || root.Name != "Departments" {
		t.Fatalf("TagCreate root = %+v, %v", root, err)
	}
	_, err = p.TagCreate(ctx, &dbprovider.TagParams{Name: "Departments"})
	AssertCode(t, err, podium.ECONFLICT)
	sales, err := p.TagCreate(ctx, &dbprovider.TagParams{Name: "Sales", ParentID: root.ID})
	if err != nil || sales.ParentID == nil || *sales.ParentID != root.ID {
		t.Fatalf("TagCreate child = %+v, %v", sales, err)
	}
	_, err = p.TagCreate(ctx, &dbprovider.TagParams{Name: "Sales", ParentID: root.ID})
	AssertCode(t, err, podium.ECONFLICT)
	// The same name under another parent, or at the root, is another tag.
	if _, err := p.TagCreate(ctx, &dbprovider.TagParams{Name: "Sales"}); err != nil {
		t.Fatalf("a root tag named like a child: %v", err)
	}
	_, err = p.TagCreate(ctx, &dbprovider.TagParams{Name: "x", ParentID: 1 << 40})
	AssertCode(t, err, podium.ECONFLICT)
	emea, err := p.TagCreate(ctx, &dbprovider.TagParams{Name: "EMEA", ParentID: sales.ID})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := p.TagUpdate(ctx, &dbprovider.TagParams{ID: emea.ID, Name: "Europe", ParentID: root.ID})
	if err != nil || moved.Name != "Europe" || moved.ParentID == nil || *moved.ParentID != root.ID {
		t.Fatalf("TagUpdate = %+v, %v", moved, err)
	}
	_, err = p.TagUpdate(ctx, &dbprovider.TagParams{ID: emea.ID, Name: "Sales", ParentID: root.ID})
	AssertCode(t, err, podium.ECONFLICT)
	_, err = p.TagUpdate(ctx, &dbprovider.TagParams{ID: 1 << 40, Name: "y"})
	AssertCode(t, err, podium.ENOTFOUND)
	if got, err := p.TagGet(ctx, emea.ID); err != nil || got.Name != "Europe" {
		t.Fatalf("TagGet = %+v, %v", got, err)
	}

	for _, id := range []int64{sales.ID, emea.ID, sales.ID} {
		if err := p.ContentTagAdd(ctx, c.ID, id); err != nil {
			t.Fatalf("ContentTagAdd %d: %v", id, err)
		}
	}
	AssertCode(t, p.ContentTagAdd(ctx, c.ID, 1<<40), podium.ECONFLICT)
	if err := p.ContentTagAdd(ctx, other.ID, emea.ID); err != nil {
		t.Fatal(err)
	}
	if tags, err := p.ContentTagList(ctx, c.ID); err != nil || len(tags) != 2 || tags[0].ID != sales.ID || tags[1].ID != emea.ID {
		t.Fatalf("ContentTagList = %+v, %v; want Sales and Europe once each", tags, err)
	}
	ids := func(tagID int64) []int64 {
		t.Helper()
		list, err := p.ContentList(ctx, &dbprovider.ContentListParams{All: true, TagID: tagID})
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(emea.ID); !slices.Equal(got, []int64{c.ID, other.ID}) {
		t.Fatalf("content tagged Europe: %v, want %d and %d", got, c.ID, other.ID)
	}
	if got := ids(sales.ID); !slices.Equal(got, []int64{c.ID}) {
		t.Fatalf("content tagged Sales: %v, want %d", got, c.ID)
	}
	if err := p.ContentTagRemove(ctx, c.ID, sales.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.ContentTagRemove(ctx, c.ID, sales.ID), podium.ENOTFOUND)

	// Deleting the root takes Sales and Europe, and their taggings.
	if err := p.TagDelete(ctx, root.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.TagDelete(ctx, root.ID), podium.ENOTFOUND)
	for _, id := range []int64{sales.ID, emea.ID} {
		_, err := p.TagGet(ctx, id)
		AssertCode(t, err, podium.ENOTFOUND)
	}
	if tags, err := p.ContentTagList(ctx, other.ID); err != nil || len(tags) != 0 {
		t.Fatalf("tags of content after the tree was deleted: %+v, %v", tags, err)
	}
	all, err := p.TagList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range all {
		if tag.ID == root.ID || tag.ID == sales.ID || tag.ID == emea.ID {
			t.Errorf("TagList after delete still has %+v", tag)
		}
	}
}

// testVanities: one path per content, unique across content, replaced by
// a second set, matched by the longest candidate, gone with its content.
func testVanities(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	owner, c := mustContent(t, p)
	other := mustMoreContent(t, p, owner, c, "2")
	v, err := p.VanitySet(ctx, c.ID, "/conf-sales/")
	if err != nil || v.Path != "/conf-sales/" || v.ContentID != c.ID {
		t.Fatalf("VanitySet = %+v, %v", v, err)
	}
	_, err = p.VanitySet(ctx, other.ID, "/conf-sales/")
	AssertCode(t, err, podium.ECONFLICT)
	if _, err := p.VanitySet(ctx, other.ID, "/conf-sales/europe/"); err != nil {
		t.Fatal(err)
	}
	if v, err := p.VanitySet(ctx, c.ID, "/conf-sales-2/"); err != nil || v.Path != "/conf-sales-2/" {
		t.Fatalf("VanitySet again = %+v, %v", v, err)
	}
	if got, err := p.VanityGet(ctx, c.ID); err != nil || got.Path != "/conf-sales-2/" {
		t.Fatalf("VanityGet = %+v, %v", got, err)
	}
	if got, err := p.VanityMatch(ctx, []string{"/conf-sales/", "/conf-sales/europe/", "/conf-sales/europe/x/"}); err != nil || got.ContentID != other.ID {
		t.Fatalf("VanityMatch = %+v, %v; want the longest, of content %d", got, err, other.ID)
	}
	_, err = p.VanityMatch(ctx, []string{"/conf-none/"})
	AssertCode(t, err, podium.ENOTFOUND)
	list, err := p.VanityList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range list {
		if v.ContentID == c.ID || v.ContentID == other.ID {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("VanityList has %d of this test's vanities, want 2: %+v", n, list)
	}
	if err := p.VanityDelete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	AssertCode(t, p.VanityDelete(ctx, c.ID), podium.ENOTFOUND)
	_, err = p.VanityGet(ctx, c.ID)
	AssertCode(t, err, podium.ENOTFOUND)
	if err := p.ContentDelete(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	_, err = p.VanityGet(ctx, other.ID)
	AssertCode(t, err, podium.ENOTFOUND)
}

// mustMoreContent creates another content item of owner, named after c.
func mustMoreContent(t *testing.T, p dbprovider.Provider, owner *podium.User, c *podium.Content, suffix string) *podium.Content {
	t.Helper()
	more, err := p.ContentCreate(ctxT(t), &dbprovider.ContentCreateParams{GUID: c.GUID + "-" + suffix, Name: c.Name + "-" + suffix, OwnerID: owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	return more
}
