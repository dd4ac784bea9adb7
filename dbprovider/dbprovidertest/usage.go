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

// usageBatchSizes are the batch sizes testUsageBatchSizes writes: one row,
// the sizes around a power of two and around the 500 rows of one
// statement, and batches of several statements (SQLite cuts a batch into
// prepared statements of 500, 256, 128, ... 1 rows).
var usageBatchSizes = []int{1, 2, 3, 7, 8, 9, 137, 255, 256, 257, 499, 500, 501, 511, 999, 1000, 1001, 1137}

// testUsageBatchSizes: a batch of visits or sessions of any size writes
// exactly its rows, every column, in order; one whose last row is refused
// (text that is not UTF-8, which both databases refuse) writes nothing;
// and a batch written after batches of other sizes (statements already
// prepared) writes its own values, not those of an earlier batch.
func testUsageBatchSizes(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	user, bundle := int64(11), int64(13)
	// Each batch gets its own hour (and content id), so that reading the
	// hour back returns that batch's rows only.
	visits := func(size, hour int) []*podium.Visit {
		vs := make([]*podium.Visit, size)
		for i := range vs {
			v := &podium.Visit{At: start.Add(time.Duration(hour)*time.Hour + time.Duration(i)*time.Millisecond + time.Duration(i%3)*time.Nanosecond*1000),
				ContentID: int64(1000 + hour), ContentGUID: fmt.Sprintf("guid-%d-%d", hour, i%5), NodeID: fmt.Sprintf("n%d", i%4),
				Path: fmt.Sprintf("/h%d/%d", hour, i)}
			if i%2 == 0 {
				v.UserID = &user
			}
			if i%3 != 1 {
				v.BundleID = &bundle
			}
			vs[i] = v
		}
		return vs
	}
	sessions := func(size, hour int) []*podium.AppSession {
		ss := make([]*podium.AppSession, size)
		for i := range ss {
			s := &podium.AppSession{StartedAt: start.Add(time.Duration(hour)*time.Hour + time.Duration(i)*time.Millisecond),
				ContentID: int64(1000 + hour), ContentGUID: fmt.Sprintf("guid-%d-%d", hour, i%5), NodeID: fmt.Sprintf("n%d", i%4)}
			s.EndedAt = s.StartedAt.Add(time.Duration(i+1) * time.Second)
			if i%2 == 1 {
				s.UserID = &user
			}
			if i%3 != 2 {
				s.BundleID = &bundle
			}
			ss[i] = s
		}
		return ss
	}
	ptr := func(p *int64) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	readVisits := func(hour int) []*podium.Visit {
		var got []*podium.Visit
		for {
			lp := &dbprovider.UsageListParams{ContentID: int64(1000 + hour), Limit: 1000}
			if len(got) > 0 {
				lp.AfterID = got[len(got)-1].ID
			}
			page, err := p.UsageVisitList(ctx, lp)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				return got
			}
			got = append(got, page...)
		}
	}
	readSessions := func(hour int) []*podium.AppSession {
		var got []*podium.AppSession
		for {
			lp := &dbprovider.UsageListParams{ContentID: int64(1000 + hour), Limit: 1000}
			if len(got) > 0 {
				lp.AfterID = got[len(got)-1].ID
			}
			page, err := p.UsageSessionList(ctx, lp)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				return got
			}
			got = append(got, page...)
		}
	}
	checkVisits := func(what string, got, want []*podium.Visit) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d visits written, want %d", what, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if !g.At.Equal(w.At) || g.ContentID != w.ContentID || g.ContentGUID != w.ContentGUID || ptr(g.BundleID) != ptr(w.BundleID) ||
				ptr(g.UserID) != ptr(w.UserID) || g.NodeID != w.NodeID || g.Path != w.Path {
				t.Fatalf("%s: visit %d = {%s %d %s bundle %s user %s %s %s}, want {%s %d %s bundle %s user %s %s %s}", what, i,
					g.At, g.ContentID, g.ContentGUID, ptr(g.BundleID), ptr(g.UserID), g.NodeID, g.Path,
					w.At, w.ContentID, w.ContentGUID, ptr(w.BundleID), ptr(w.UserID), w.NodeID, w.Path)
			}
		}
	}
	checkSessions := func(what string, got, want []*podium.AppSession) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d sessions written, want %d", what, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if !g.StartedAt.Equal(w.StartedAt) || !g.EndedAt.Equal(w.EndedAt) || g.ContentID != w.ContentID || g.ContentGUID != w.ContentGUID ||
				ptr(g.BundleID) != ptr(w.BundleID) || ptr(g.UserID) != ptr(w.UserID) || g.NodeID != w.NodeID {
				t.Fatalf("%s: session %d = {%s %s %d %s bundle %s user %s %s}, want {%s %s %d %s bundle %s user %s %s}", what, i,
					g.StartedAt, g.EndedAt, g.ContentID, g.ContentGUID, ptr(g.BundleID), ptr(g.UserID), g.NodeID,
					w.StartedAt, w.EndedAt, w.ContentID, w.ContentGUID, ptr(w.BundleID), ptr(w.UserID), w.NodeID)
			}
		}
	}

	hour := 0
	for _, size := range usageBatchSizes {
		// Refused first, so that the good batch after it finds the
		// statements of its size already prepared by the refused one.
		hour++
		bad := visits(size, hour)
		bad[size-1].Path = "/\xff"
		if err := p.UsageVisitInsert(ctx, bad); err == nil {
			t.Fatalf("UsageVisitInsert(%d visits, the last not UTF-8) = nil, want an error", size)
		}
		checkVisits(fmt.Sprintf("refused batch of %d visits", size), readVisits(hour), nil)
		badS := sessions(size, hour)
		badS[size-1].NodeID = "\xfe"
		if err := p.UsageSessionInsert(ctx, badS); err == nil {
			t.Fatalf("UsageSessionInsert(%d sessions, the last not UTF-8) = nil, want an error", size)
		}
		checkSessions(fmt.Sprintf("refused batch of %d sessions", size), readSessions(hour), nil)

		hour++
		vs, ss := visits(size, hour), sessions(size, hour)
		if err := p.UsageVisitInsert(ctx, vs); err != nil {
			t.Fatalf("UsageVisitInsert(%d visits): %v", size, err)
		}
		if err := p.UsageSessionInsert(ctx, ss); err != nil {
			t.Fatalf("UsageSessionInsert(%d sessions): %v", size, err)
		}
		checkVisits(fmt.Sprintf("batch of %d visits", size), readVisits(hour), vs)
		checkSessions(fmt.Sprintf("batch of %d sessions", size), readSessions(hour), ss)
	}
	// Every size again, now that every statement is prepared.
	for _, size := range usageBatchSizes {
		hour++
		vs := visits(size, hour)
		if err := p.UsageVisitInsert(ctx, vs); err != nil {
			t.Fatalf("UsageVisitInsert(%d visits), again: %v", size, err)
		}
		checkVisits(fmt.Sprintf("second batch of %d visits", size), readVisits(hour), vs)
	}
}
