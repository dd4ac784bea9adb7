package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web"
)

// TestAuditLog: logins, failed logins (never the password), users, keys
// and content changes made through the API are in the audit log with
// actor, target and outcome; administrators read it filtered and paged
// through GET /__api__/v1/audit_log, others get 403.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	admin, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	_, pubKey := mustUserKey(t, n, "pub", podium.RolePublisher)

	if r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/users", key: adminKey,
		body: map[string]string{"username": "carol", "role": "viewer", "password": "pw of carol"}}); r.status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	if r := postLogin(t, browser(t), base, "carol", "a wrong secret", ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", r.StatusCode)
	}
	if r := postLogin(t, browser(t), base, "carol", "pw of carol", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	var ct struct{ GUID string }
	r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/content", key: pubKey, body: map[string]string{"name": "audited"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create content: %d %s", r.status, r.body)
	}
	r.decode(t, &ct)
	if r := do(t, nil, base, call{method: "DELETE", path: "/__api__/v1/content/" + ct.GUID, key: adminKey}); r.status != http.StatusNoContent {
		t.Fatalf("delete content: %d %s", r.status, r.body)
	}

	list := func(key, query string) (int, web.AuditLogBody) {
		t.Helper()
		r := do(t, nil, base, call{method: "GET", path: "/__api__/v1/audit_log?" + query, key: key})
		var b web.AuditLogBody
		if r.status == http.StatusOK {
			r.decode(t, &b)
		}
		return r.status, b
	}
	if code, _ := list(pubKey, ""); code != http.StatusForbidden {
		t.Errorf("audit log as a publisher: %d, want 403", code)
	}
	_, all := list(adminKey, "")
	actions := map[string]*podium.AuditEntry{}
	for _, e := range all.Entries {
		actions[e.Action] = e
		if strings.Contains(string(e.Detail), "secret") || strings.Contains(string(e.Detail), "pw of") {
			t.Errorf("entry %d holds a password: %s", e.ID, e.Detail)
		}
	}
	for action, target := range map[string]string{
		podium.AuditUserCreate: "user:carol", podium.AuditLoginFailed: "user:carol", podium.AuditLogin: "user:carol",
		podium.AuditContentCreate: "content:" + ct.GUID, podium.AuditContentDelete: "content:" + ct.GUID,
	} {
		e := actions[action]
		if e == nil || e.Target != target || e.NodeID != n.ID() {
			t.Errorf("audit entry %s: %+v, want target %s on node %s", action, e, target, n.ID())
		}
	}
	if e := actions[podium.AuditUserCreate]; e == nil || e.Actor != admin.Username || !strings.Contains(string(e.Detail), `"status":201`) {
		t.Errorf("user.create entry: %+v, want actor root and status 201", e)
	}
	if e := actions[podium.AuditLoginFailed]; e == nil || e.UserID != nil || !strings.Contains(string(e.Detail), `"status":401`) {
		t.Errorf("login.failed entry: %+v, want no actor and status 401", e)
	}
	if e := actions[podium.AuditLogin]; e == nil || e.Actor != "carol" {
		t.Errorf("login entry: %+v, want actor carol", e)
	}

	_, byActor := list(adminKey, "actor=pub")
	if len(byActor.Entries) != 1 || byActor.Entries[0].Action != podium.AuditContentCreate {
		t.Errorf("actor=pub: %+v, want the content creation only", byActor.Entries)
	}
	_, page := list(adminKey, "limit=2")
	if len(page.Entries) != 2 || page.NextBefore != page.Entries[1].ID {
		t.Fatalf("limit=2: %+v", page)
	}
	_, next := list(adminKey, "limit=2&before="+strconv.FormatInt(page.NextBefore, 10))
	if len(next.Entries) == 0 || next.Entries[0].ID >= page.NextBefore {
		t.Errorf("next page: %+v", next.Entries)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if _, b := list(adminKey, "from="+url.QueryEscape(future)); len(b.Entries) != 0 {
		t.Errorf("from an hour later: %d entries", len(b.Entries))
	}
	if code, _ := list(adminKey, "from=yesterday"); code != http.StatusBadRequest {
		t.Errorf("from=yesterday: %d, want 400", code)
	}

	// The dashboard page shows the same, filtered, to administrators only
	// (a user target in words, a content target as its name with the raw
	// target in its title).
	page2 := do(t, nil, base, call{method: "GET", path: "/__dashboard__/audit?action=user.create", key: adminKey})
	if page2.status != http.StatusOK || !strings.Contains(string(page2.body), "user carol") || strings.Contains(string(page2.body), "content:"+ct.GUID) {
		t.Errorf("dashboard audit page (action=user.create): %d\n%s", page2.status, page2.body)
	}
	if r := do(t, nil, base, call{method: "GET", path: "/__dashboard__/audit", key: pubKey}); r.status != http.StatusForbidden {
		t.Errorf("dashboard audit page as a publisher: %d, want 403", r.status)
	}
}

// TestAuditPrunerDeletesOldEntriesInBatches: with a retention, every
// entry older than it goes, in batches; newer ones stay.
func TestAuditPrunerDeletesOldEntriesInBatches(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	ctx := context.Background()
	for range 5 {
		if err := n.DB().AuditInsert(ctx, &dbprovider.AuditInsertParams{Action: podium.AuditLogin}); err != nil {
			t.Fatal(err)
		}
	}
	a := audit.NewPruner(n.DB(), time.Hour, time.Now, n.log("audit"))
	a.Batch = 2 // entries are minutes old at most: none is older than an hour
	if got := a.Prune(ctx); got != 0 {
		t.Fatalf("pruned %d fresh entries", got)
	}
	a.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // two hours later
	if got := a.Prune(ctx); got != 5 {
		t.Fatalf("pruned %d entries, want all 5 (in batches of 2)", got)
	}
	if left, _ := n.DB().AuditList(ctx, &dbprovider.AuditListParams{}); len(left) != 0 {
		t.Errorf("%d entries left", len(left))
	}
}

// TestAuditLogEnvironmentNamesOnly: a change of a content's environment
// variables (PATCH .../environment) is in the audit log with the names of
// the variables set and deleted, never their values.
func TestAuditLogEnvironmentNamesOnly(t *testing.T) {
	t.Parallel()
	n, base := accountsNode(t, auth.ThrottleOptions{}, "")
	_, adminKey := mustUserKey(t, n, "root", podium.RoleAdmin)
	_, pubKey := mustUserKey(t, n, "pub", podium.RolePublisher)
	var ct struct{ GUID string }
	r := do(t, nil, base, call{method: "POST", path: "/__api__/v1/content", key: pubKey, body: map[string]string{"name": "with-env"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create content: %d %s", r.status, r.body)
	}
	r.decode(t, &ct)
	const secret = "value-that-must-never-be-logged"
	r = do(t, nil, base, call{method: "PATCH", path: "/__api__/v1/content/" + ct.GUID + "/environment", key: pubKey,
		body: []map[string]any{{"name": "API_TOKEN", "value": secret}, {"name": "OLD_NAME", "value": nil}}})
	if r.status != http.StatusOK {
		t.Fatalf("PATCH environment: %d %s", r.status, r.body)
	}
	r = do(t, nil, base, call{method: "GET", path: "/__api__/v1/audit_log?action=" + podium.AuditEnvSet, key: adminKey})
	var b web.AuditLogBody
	r.decode(t, &b)
	if len(b.Entries) != 1 {
		t.Fatalf("environment.set entries: %+v", b.Entries)
	}
	e := b.Entries[0]
	if e.Actor != "pub" || e.Target != "content:"+ct.GUID || !strings.Contains(string(e.Detail), `"variables":["API_TOKEN","OLD_NAME"]`) {
		t.Errorf("entry %+v (detail %s), want actor pub, the content, and both names", e, e.Detail)
	}
	if strings.Contains(string(e.Detail), secret) {
		t.Errorf("the audit log holds a variable's value: %s", e.Detail)
	}
}
