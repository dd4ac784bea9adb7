package dbprovidertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testUsage runs on its own database (the top list and pruning are
// global): visits and sessions written in batches come back in id order
// with their user, bundle and path, filtered by content and time (a
// session by overlap), paged both ways; per-day counts and the top list
// count them; pruning deletes only rows older than the cut, a batch at a
// time; a batch larger than one statement is written whole or not at
// all; full batches in a row (one prepared statement on SQLite) each write
// their own rows.
func testUsage(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, c := mustContent(t, p)
	other, err := p.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: c.GUID + "-other", Name: c.Name + "-other", OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	bundle := int64(7)
	day := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var visits []*podium.Visit
	for i := range 5 {
		v := &podium.Visit{At: day.Add(time.Duration(i) * time.Hour), ContentID: c.ID, ContentGUID: c.GUID, BundleID: &bundle,
			NodeID: "n1", Path: "/page.html"}
		if i%2 == 0 {
			v.UserID = &u.ID
		}
		visits = append(visits, v)
	}
	// The next day, and another content item.
	visits = append(visits, &podium.Visit{At: day.Add(24 * time.Hour), ContentID: c.ID, ContentGUID: c.GUID, NodeID: "n2"},
		&podium.Visit{At: day, ContentID: other.ID, ContentGUID: other.GUID, NodeID: "n1"})
	if err = p.UsageVisitInsert(ctx, visits); err != nil {
		t.Fatal(err)
	}
	if err := p.UsageVisitInsert(ctx, nil); err != nil {
		t.Fatalf("UsageVisitInsert(none) = %v", err)
	}
	all, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: c.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].ID >= all[1].ID || !all[0].At.Equal(day) || all[0].UserID == nil || *all[0].UserID != u.ID ||
		all[1].UserID != nil || all[0].BundleID == nil || *all[0].BundleID != 7 || all[0].Path != "/page.html" ||
		all[0].ContentGUID != c.GUID || all[5].BundleID != nil || all[5].NodeID != "n2" {
		t.Fatalf("UsageVisitList(content) = %+v", all)
	}
	page, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: c.ID, AfterID: all[1].ID, Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Fatalf("UsageVisitList(after %d, limit 2) = %+v, %v", all[1].ID, page, err)
	}
	back, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: c.ID, BeforeID: all[4].ID, Desc: true, Limit: 2})
	if err != nil || len(back) != 2 || back[0].ID != all[3].ID || back[1].ID != all[2].ID {
		t.Fatalf("UsageVisitList(before %d, desc, limit 2) = %+v, %v", all[4].ID, back, err)
	}
	window, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: c.ID, From: day.Add(time.Hour), To: day.Add(3 * time.Hour)})
	if err != nil || len(window) != 2 || window[0].ID != all[1].ID {
		t.Fatalf("UsageVisitList(from +1h to +3h) = %+v, %v; want the 2nd and 3rd visits", window, err)
	}
	if got, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{}); err != nil || len(got) != 7 {
		t.Fatalf("UsageVisitList(all) = %d visits, %v; want 7", len(got), err)
	}

	sessions := []*podium.AppSession{
		{StartedAt: day, EndedAt: day.Add(30 * time.Minute), ContentID: c.ID, ContentGUID: c.GUID, BundleID: &bundle, UserID: &u.ID, NodeID: "n1"},
		{StartedAt: day.Add(2 * time.Hour), EndedAt: day.Add(5 * time.Hour), ContentID: c.ID, ContentGUID: c.GUID, NodeID: "n2"},
	}
	if err := p.UsageSessionInsert(ctx, sessions); err != nil {
		t.Fatal(err)
	}
	ss, err := p.UsageSessionList(ctx, &dbprovider.UsageListParams{ContentID: c.ID})
	if err != nil || len(ss) != 2 || !ss[0].StartedAt.Equal(day) || !ss[0].EndedAt.Equal(day.Add(30*time.Minute)) ||
		ss[0].UserID == nil || *ss[0].UserID != u.ID || ss[1].UserID != nil || ss[1].NodeID != "n2" || ss[0].BundleID == nil {
		t.Fatalf("UsageSessionList = %+v, %v", ss, err)
	}
	// Overlap: from +1h selects the session still open then.
	if got, err := p.UsageSessionList(ctx, &dbprovider.UsageListParams{ContentID: c.ID, From: day.Add(time.Hour), To: day.Add(3 * time.Hour)}); err != nil ||
		len(got) != 1 || got[0].ID != ss[1].ID {
		t.Fatalf("UsageSessionList(from +1h to +3h) = %+v, %v; want the second session", got, err)
	}
	if got, err := p.UsageSessionList(ctx, &dbprovider.UsageListParams{AfterID: ss[0].ID}); err != nil || len(got) != 1 {
		t.Fatalf("UsageSessionList(after the first) = %+v, %v", got, err)
	}

	daily, err := p.UsageDaily(ctx, c.ID, day.Add(-time.Hour))
	if err != nil || len(daily) != 2 || !daily[0].Day.Equal(day.Truncate(24*time.Hour)) || daily[0].Visits != 5 || daily[0].Sessions != 2 ||
		daily[1].Visits != 1 || daily[1].Sessions != 0 {
		t.Fatalf("UsageDaily = %+v, %v; want 5 visits and 2 sessions, then 1 visit", daily, err)
	}
	top, err := p.UsageTop(ctx, day.Add(-time.Hour), 10)
	if err != nil || len(top) != 2 || top[0].ContentID != c.ID || top[0].ContentGUID != c.GUID || top[0].Visits != 6 || top[0].Sessions != 2 ||
		top[1].ContentID != other.ID || top[1].Visits != 1 {
		t.Fatalf("UsageTop = %+v, %v", top, err)
	}
	if top, err := p.UsageTop(ctx, day.Add(48*time.Hour), 10); err != nil || len(top) != 0 {
		t.Fatalf("UsageTop(later) = %+v, %v; want none", top, err)
	}

	// Prune before +90 minutes: visits at +0h, +1h of c and the other's,
	// the first session (ended +30m); at most 2 per table per call.
	n, err := p.UsagePrune(ctx, day.Add(90*time.Minute), 2)
	if err != nil || n != 3 {
		t.Fatalf("UsagePrune(limit 2) = %d, %v; want 3 (2 visits, 1 session)", n, err)
	}
	if n, err = p.UsagePrune(ctx, day.Add(90*time.Minute), 2); err != nil || n != 1 {
		t.Fatalf("UsagePrune again = %d, %v; want the last old visit", n, err)
	}
	left, _ := p.UsageVisitList(ctx, &dbprovider.UsageListParams{})
	ls, _ := p.UsageSessionList(ctx, &dbprovider.UsageListParams{})
	if len(left) != 4 || len(ls) != 1 || ls[0].ID != ss[1].ID {
		t.Fatalf("after pruning: %d visits, %d sessions; want 4 and 1", len(left), len(ls))
	}

	// A batch of more rows than one statement takes (500) is written
	// whole, in order, or not at all: a failed write is retried, and must
	// not have left its first statements behind to be written twice.
	many := make([]*podium.Visit, 1234)
	for i := range many {
		many[i] = &podium.Visit{At: day.Add(time.Duration(i) * time.Second), ContentID: other.ID, ContentGUID: other.GUID,
			NodeID: "n1", Path: fmt.Sprintf("/p%d", i)}
	}
	bad := *many[1100]
	bad.Path = "/\xff" // not UTF-8: both databases refuse it
	if err := p.UsageVisitInsert(ctx, append(slices.Clone(many[:1100]), &bad)); err == nil {
		t.Fatal("UsageVisitInsert(1101 visits, the last not UTF-8) = nil, want an error")
	}
	if got, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: other.ID}); err != nil || len(got) != 0 {
		t.Fatalf("after a failed batch: %d visits, %v; want none written", len(got), err)
	}
	if err := p.UsageVisitInsert(ctx, many); err != nil {
		t.Fatal(err)
	}
	var got []*podium.Visit
	for {
		var after int64
		if len(got) > 0 {
			after = got[len(got)-1].ID
		}
		page, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: other.ID, AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
	}
	if len(got) != len(many) {
		t.Fatalf("UsageVisitInsert(%d visits) wrote %d", len(many), len(got))
	}
	for i, v := range got {
		if v.Path != many[i].Path || !v.At.Equal(many[i].At) {
			t.Fatalf("visit %d: %s at %s, want %s at %s", i, v.Path, v.At, many[i].Path, many[i].At)
		}
	}

	// Batches of exactly one statement's rows, one after another (the
	// SQLite provider runs them through one prepared statement, also as
	// the first statement of a larger batch's transaction): each writes
	// its own values, and a refused one leaves nothing behind and does not
	// stop the next.
	full := func(k int) []*podium.Visit {
		vs := make([]*podium.Visit, 500)
		for i := range vs {
			vs[i] = &podium.Visit{At: day.Add(time.Hour + time.Duration(k*500+i)*time.Millisecond), ContentID: other.ID,
				ContentGUID: other.GUID, NodeID: fmt.Sprintf("n%d", k), Path: fmt.Sprintf("/full%d/%d", k, i)}
		}
		return vs
	}
	refused := full(0)
	refused[499].Path = "/\xff"
	if err := p.UsageVisitInsert(ctx, refused); err == nil {
		t.Fatal("UsageVisitInsert(500 visits, the last not UTF-8) = nil, want an error")
	}
	want := append(append(full(1), full(2)...), full(3)[0])
	for _, batch := range [][]*podium.Visit{want[:500], want[500:]} {
		if err := p.UsageVisitInsert(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err = p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: other.ID, From: day.Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 1000 {
		more, err := p.UsageVisitList(ctx, &dbprovider.UsageListParams{ContentID: other.ID, AfterID: got[999].ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, more...)
	}
	if len(got) != len(want) {
		t.Fatalf("after a refused batch of 500, one of 500 and one of 501: %d visits written, want %d", len(got), len(want))
	}
	for i, v := range got {
		if v.Path != want[i].Path || v.NodeID != want[i].NodeID || !v.At.Equal(want[i].At) {
			t.Fatalf("full batches, visit %d: %s %s at %s, want %s %s at %s", i, v.NodeID, v.Path, v.At, want[i].NodeID, want[i].Path, want[i].At)
		}
	}
}
