package integration

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestAppsPrivateDataDir: a node whose data directory the RunAs user
// cannot enter (here below t.TempDir's 0700 directory, as an administrator
// might make /var/lib/podium 0700) still serves its apps, as RunAs, from
// per-process copies of the bundles in a node-local directory; it says so
// at start-up, and leaves no copy behind when it stops. (As a non-root
// user RunAs does not apply and the app runs in place.)
func TestAppsPrivateDataDir(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Config: "[Applications]\nRunAs = nobody\nSandbox = off\n"})
	api := &apiClient{t: t, base: n.URL, key: userKey(t, n, "owner", "publisher")}
	guid := deployApp(t, api, "echo", echoBundleDir(t))
	var got struct {
		UID  int    `json:"uid"`
		Path string `json:"path"`
	}
	if code := api.do("GET", "/content/"+guid+"/", nil, &got); code != 200 {
		t.Fatalf("GET the app: %d", code)
	}
	copies := filepath.Join(os.TempDir(), "podium-apps-"+nodeID(t, n))
	if os.Geteuid() == 0 {
		if got.UID != 65534 {
			t.Errorf("app uid %d, want nobody's", got.UID)
		}
		if !strings.Contains(n.Log(), "running the app from a copy of its bundle") || !strings.Contains(n.Log(), "RunAs cannot enter [Server] DataDir") {
			t.Errorf("the log does not say the app runs from a copy, or warn at start-up:\n%s", n.Log())
		}
		if entries, err := os.ReadDir(copies); err != nil || len(entries) != 1 {
			t.Errorf("copies in %s: %v (%v), want one", copies, entries, err)
		}
	}
	if code := n.Stop(t); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	if _, err := os.Stat(copies); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s after the node stopped: %v, want it gone", copies, err)
	}
}
