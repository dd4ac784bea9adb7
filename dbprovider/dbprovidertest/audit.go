package dbprovidertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// testAuditLog: entries come back newest first with the actor's name,
// filtered by actor, action, target and time range, paged by id; pruning
// deletes only entries older than the cut, at most a batch at a time.
func testAuditLog(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	u, c := mustContent(t, p)
	target := "content:" + c.GUID
	before, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		action := podium.AuditDeploy
		if i%2 == 1 {
			action = podium.AuditRender
		}
		if err := p.AuditInsert(ctx, &dbprovider.AuditInsertParams{UserID: u.ID, NodeID: "n1", Action: action, Target: target,
			Detail: fmt.Sprintf(`{"i": %d}`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.AuditInsert(ctx, &dbprovider.AuditInsertParams{Action: podium.AuditLoginFailed, Target: "user:" + c.GUID}); err != nil {
		t.Fatal(err)
	}
	all, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[0].ID <= all[4].ID || all[0].Actor != u.Username || all[0].UserID == nil || *all[0].UserID != u.ID ||
		all[0].NodeID != "n1" || string(all[0].Detail) == "" {
		t.Fatalf("AuditList(target) = %+v", all)
	}
	renders, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target, Action: podium.AuditRender, UserID: u.ID})
	if err != nil || len(renders) != 2 {
		t.Fatalf("AuditList(action render, actor) = %d entries, %v; want 2", len(renders), err)
	}
	page, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target, BeforeID: all[1].ID, Limit: 2})
	if err != nil || len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Fatalf("AuditList(before %d, limit 2) = %+v", all[1].ID, page)
	}
	anon, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: "user:" + c.GUID})
	if err != nil || len(anon) != 1 || anon[0].UserID != nil || anon[0].Actor != "" || string(anon[0].Detail) != "{}" {
		t.Fatalf("AuditList(anonymous failed login) = %+v, %v", anon, err)
	}
	future := before.Add(time.Hour)
	if none, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target, From: future}); err != nil || len(none) != 0 {
		t.Errorf("AuditList(from an hour later) = %d entries, %v; want none", len(none), err)
	}
	if got, err := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target, From: before.Add(-time.Minute), To: future}); err != nil || len(got) != 5 {
		t.Errorf("AuditList(around now) = %d entries, %v; want 5", len(got), err)
	}
	// Nothing is older than before: pruning deletes nothing of ours.
	if _, err := p.AuditPrune(ctx, before.Add(-time.Hour), 1000); err != nil {
		t.Fatal(err)
	}
	if got, _ := p.AuditList(ctx, &dbprovider.AuditListParams{Target: target}); len(got) != 5 {
		t.Errorf("pruning older entries removed ours: %d left", len(got))
	}
}

// testAuditPrune runs on its own database (pruning is global): batches
// of at most limit, oldest first, only before the cut.
func testAuditPrune(t *testing.T, p dbprovider.Provider) {
	ctx := ctxT(t)
	for range 5 {
		if err := p.AuditInsert(ctx, &dbprovider.AuditInsertParams{Action: podium.AuditLogin}); err != nil {
			t.Fatal(err)
		}
	}
	now, err := p.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cut := now.Add(time.Minute)
	n, err := p.AuditPrune(ctx, cut, 3)
	if err != nil || n != 3 {
		t.Fatalf("AuditPrune(limit 3) = %d, %v; want 3", n, err)
	}
	n, err = p.AuditPrune(ctx, cut, 3)
	if err != nil || n != 2 {
		t.Fatalf("second AuditPrune = %d, %v; want 2", n, err)
	}
	if left, _ := p.AuditList(ctx, &dbprovider.AuditListParams{}); len(left) != 0 {
		t.Errorf("%d entries left after pruning everything", len(left))
	}
}
