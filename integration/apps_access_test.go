package integration

import (
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestAppsProcessesAccess: an app's processes, their logs and its process
// settings are for those who may redeploy it (the owner, collaborators who
// may publish, administrators), by the same rule as the content API. Others
// who see the content get 403, those who do not see it 404, anonymous 401.
func TestAppsProcessesAccess(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Applications]\nRunAs = nobody\n"})
	owner := &apiClient{t: t, base: n.URL, key: userKey(t, n, "owner", "publisher")}
	guid := deployApp(t, owner, "echo", echoBundleDir(t))
	keys := map[string]string{
		"admin":         userKey(t, n, "admin", "admin"),
		"collaborator":  userKey(t, n, "bob", "publisher"),
		"viewer":        userKey(t, n, "carol", "viewer"),
		"collab-viewer": userKey(t, n, "erin", "viewer"), // collaborator on the list, but a viewer account
		"stranger":      userKey(t, n, "dave", "publisher"),
	}
	if code := owner.do("PUT", "/__api__/v1/content/"+guid+"/permissions", strings.NewReader(
		`{"access_type": "acl", "permissions": [{"username": "bob", "role": "collaborator"}, {"username": "carol", "role": "viewer"}, {"username": "erin", "role": "collaborator"}]}`), nil); code != 200 {
		t.Fatalf("PUT permissions: %d", code)
	}
	want := map[string]int{"owner": 200, "admin": 200, "collaborator": 200, "viewer": 403, "collab-viewer": 403, "stranger": 404, "anonymous": 401}
	keys["owner"], keys["anonymous"] = owner.key, ""
	for who, code := range want {
		api := &apiClient{t: t, base: n.URL, key: keys[who]}
		if got := api.do("GET", "/__api__/v1/content/"+guid+"/processes", nil, nil); got != code {
			t.Errorf("GET processes as %s: %d, want %d", who, got, code)
		}
		if got := api.do("GET", "/__api__/v1/content/"+guid+"/processes-settings", nil, nil); got != code {
			t.Errorf("GET processes-settings as %s: %d, want %d", who, got, code)
		}
		if code != 200 {
			if got := api.do("PATCH", "/__api__/v1/content/"+guid+"/processes-settings", strings.NewReader(`{"max_processes": 9}`), nil); got != code {
				t.Errorf("PATCH processes-settings as %s: %d, want %d", who, got, code)
			}
		}
	}
}
