package hacheck

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// TestSSO judges the sso item from the nodes' facts.
func TestSSO(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ok := &SSOFacts{Provider: "oidc", Settings: "issuer=https://sso.example client_secret=sha256:aa", Source: "https://sso.example/.well-known/openid-configuration", CheckedAt: at}
	judge := func(f1, f2 *SSOFacts) (Result, bool) {
		c := &checker{live: []*podium.Node{{ID: "n1"}, {ID: "n2"}}, ids: []string{"n1", "n2"}, facts: map[string]Facts{"n1": {SSO: f1}, "n2": {SSO: f2}}}
		return c.sso()
	}
	if _, shown := judge(nil, nil); shown {
		t.Error("the sso item is shown without single sign-on")
	}
	if r, _ := judge(ok, ok); r.Status != Pass || !strings.Contains(r.Detail, ok.Source) {
		t.Errorf("alike and reachable: %+v", r)
	}
	other := *ok
	other.Settings = "issuer=https://sso.example client_secret=sha256:bb"
	if r, _ := judge(ok, &other); r.Status != Fail || !strings.Contains(r.Detail, "differ") || !strings.Contains(r.Detail, "sha256:bb") {
		t.Errorf("different secrets: %+v", r)
	}
	if r, _ := judge(ok, nil); r.Status != Fail || !strings.Contains(r.Detail, "no single sign-on") {
		t.Errorf("one node without single sign-on: %+v", r)
	}
	down := *ok
	down.Error = "connection refused"
	if r, _ := judge(ok, &down); r.Status != Fail || !strings.Contains(r.Detail, "n2 (connection refused)") {
		t.Errorf("one node cannot reach the provider: %+v", r)
	}
	unchecked := *ok
	unchecked.CheckedAt = time.Time{}
	if r, _ := judge(ok, &unchecked); r.Status != Pending || len(r.Nodes) != 1 || r.Nodes[0] != "n2" {
		t.Errorf("a node that has not checked yet: %+v", r)
	}
}
