package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web"
)

// TestInstrumentationAPI: Connect's instrumentation endpoints page
// through visits and app sessions with Connect's keyset paging (cursors
// and URLs both ways, first and last), in either order, filtered by
// content and time; only administrators read them; a bad cursor or time
// is a 400 that says what to pass.
func TestInstrumentationAPI(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	admin, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	_, pubKey := mustUserKey(t, n, "pub", podium.RolePublisher)
	ctx := context.Background()
	c1, err := n.DB().ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "11111111-1111-4111-8111-111111111111", Name: "one", OwnerID: admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	bundle := int64(4)
	var visits []*podium.Visit
	for i := range 7 {
		v := &podium.Visit{At: day.Add(time.Duration(i) * time.Hour), ContentID: c1.ID, ContentGUID: c1.GUID, BundleID: &bundle, Path: "/index.html"}
		if i == 0 {
			v.UserID = &admin.ID
		}
		visits = append(visits, v)
	}
	visits = append(visits, &podium.Visit{At: day, ContentID: 999, ContentGUID: "other"})
	if err := n.DB().UsageVisitInsert(ctx, visits); err != nil {
		t.Fatal(err)
	}
	if err := n.DB().UsageSessionInsert(ctx, []*podium.AppSession{{StartedAt: day, EndedAt: day.Add(time.Hour), ContentID: c1.ID, ContentGUID: c1.GUID, UserID: &admin.ID}}); err != nil {
		t.Fatal(err)
	}
	type page = web.UsagePage[web.VisitBody]
	get := func(key, pathQuery string) (int, page, string) {
		t.Helper()
		r := do(t, nil, base, call{method: "GET", path: pathQuery, key: key})
		var p page
		if r.status == http.StatusOK {
			r.decode(t, &p)
		}
		return r.status, p, string(r.body)
	}
	follow := func(u *string) page {
		t.Helper()
		if u == nil {
			t.Fatal("no URL to follow")
		}
		pu, err := url.Parse(*u)
		if err != nil {
			t.Fatal(err)
		}
		code, p, body := get(adminKey, pu.RequestURI())
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", *u, code, body)
		}
		return p
	}
	hours := func(p page) string {
		var s []string
		for _, v := range p.Results {
			tm, _ := time.Parse(time.RFC3339, v.Time)
			s = append(s, tm.Format("15"))
		}
		return strings.Join(s, ",")
	}
	const visitsPath = "/__api__/v1/instrumentation/content/visits"
	if code, _, _ := get(pubKey, visitsPath); code != http.StatusForbidden {
		t.Fatalf("visits as a publisher: %d, want 403", code)
	}
	code, p1, body := get(adminKey, visitsPath+"?content_guid="+c1.GUID+"&limit=3")
	if code != http.StatusOK {
		t.Fatalf("visits: %d %s", code, body)
	}
	if hours(p1) != "00,01,02" || p1.Paging.Cursors.Previous != nil || p1.Paging.Next == nil || p1.Paging.First == nil || p1.Paging.Last == nil {
		t.Fatalf("first page: %s, paging %+v", hours(p1), p1.Paging)
	}
	v0 := p1.Results[0]
	if v0.ContentGUID != c1.GUID || v0.UserGUID == nil || *v0.UserGUID != web.UserGUID(admin.ID) || v0.BundleID == nil || *v0.BundleID != "4" ||
		v0.Path != "/index.html" || v0.DataVersion != 1 || p1.Results[1].UserGUID != nil {
		t.Fatalf("first visit: %+v", v0)
	}
	p2 := follow(p1.Paging.Next)
	if hours(p2) != "03,04,05" || p2.Paging.Previous == nil || p2.Paging.Next == nil {
		t.Fatalf("second page: %s, paging %+v", hours(p2), p2.Paging)
	}
	p3 := follow(p2.Paging.Next)
	if hours(p3) != "06" || p3.Paging.Next != nil || p3.Paging.Previous == nil {
		t.Fatalf("third page: %s, paging %+v", hours(p3), p3.Paging)
	}
	if back := follow(p3.Paging.Previous); hours(back) != "03,04,05" || back.Paging.Next == nil {
		t.Fatalf("previous of the third page: %s, paging %+v", hours(back), back.Paging)
	}
	if back := follow(p2.Paging.Previous); hours(back) != "00,01,02" || back.Paging.Previous != nil {
		t.Fatalf("previous of the second page: %s, paging %+v", hours(back), back.Paging)
	}
	if last := follow(p1.Paging.Last); hours(last) != "04,05,06" || last.Paging.Next != nil {
		t.Fatalf("last page: %s", hours(last))
	}
	_, desc, _ := get(adminKey, visitsPath+"?content_guid="+c1.GUID+"&limit=4&asc_order=false")
	if hours(desc) != "06,05,04,03" {
		t.Fatalf("asc_order=false: %s", hours(desc))
	}
	if d2 := follow(desc.Paging.Next); hours(d2) != "02,01,00" || d2.Paging.Next != nil {
		t.Fatalf("asc_order=false, next page: %s", hours(d2))
	}
	_, window, _ := get(adminKey, visitsPath+"?content_guid="+c1.GUID+"&from=2026-06-01T02:00:00Z&to=2026-06-01T04:00:00Z")
	if hours(window) != "02,03" {
		t.Fatalf("from 02:00 to 04:00: %s", hours(window))
	}
	if _, all, _ := get(adminKey, visitsPath+"?limit=500"); len(all.Results) != 8 {
		t.Fatalf("all visits: %d, want 8", len(all.Results))
	}
	if _, none, _ := get(adminKey, visitsPath+"?min_data_version=2"); len(none.Results) != 0 {
		t.Fatalf("min_data_version=2: %d results, want none", len(none.Results))
	}
	for _, q := range []string{"?next=bogus", "?from=yesterday", "?limit=0", "?limit=501", "?asc_order=maybe"} {
		if code, _, body := get(adminKey, visitsPath+q); code != http.StatusBadRequest {
			t.Errorf("visits%s: %d %s, want 400", q, code, body)
		}
	}

	r := do(t, nil, base, call{method: "GET", path: "/__api__/v1/instrumentation/shiny/usage?from=2026-06-01T00:30:00Z", key: adminKey})
	var sp web.UsagePage[web.ShinySessionBody]
	r.decode(t, &sp)
	if r.status != http.StatusOK || len(sp.Results) != 1 || sp.Results[0].Started != "2026-06-01T00:00:00Z" || sp.Results[0].Ended != "2026-06-01T01:00:00Z" ||
		sp.Results[0].UserGUID == nil || sp.Results[0].ContentGUID != c1.GUID {
		t.Fatalf("shiny usage: %d %s", r.status, r.body)
	}
}
