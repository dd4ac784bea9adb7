package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestSIGTERMStopsCleanly: SIGTERM ends the node with exit code 0 within
// the grace period (5s in nodetest's config), and records it stopped.
func TestSIGTERMStopsCleanly(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{})
	id := nodeID(t, n)
	start := time.Now()
	code := n.Stop(t)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, n.Log())
	}
	if took > testutil.Timeout(5*time.Second) {
		t.Errorf("stopping took %s, more than the 5s grace period", took)
	}
	n.WaitLog(t, time.Second, `"stopped"`)
	p := openSQLite(t, n.DataDir)
	node, err := p.NodeGet(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if node.Status != podium.NodeStopped || node.StoppedAt == nil {
		t.Fatalf("node row after SIGTERM: status %q stopped_at %v; want stopped", node.Status, node.StoppedAt)
	}
	if pingStatus(n) != 0 {
		t.Error("the port still answers after the node exited")
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := nodetest.Run(t, "", nil, "version", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var v struct {
		Version string `json:"version"`
		Schema  *int64 `json:"schema"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("podium version --json printed %q: %v", stdout, err)
	}
	if v.Version == "" || v.Schema == nil || *v.Schema != schema.Latest() {
		t.Fatalf("podium version --json = %s; want a version and schema %d", stdout, schema.Latest())
	}
}

func TestConfigDumpMasksPassword(t *testing.T) {
	t.Parallel()
	opts := nodetest.Options{Postgres: "postgres://podium@db.example.com:5432/podium", Config: "[Postgres]\nPassword = s3cr3t-in-file"}
	path := nodetest.WriteConfig(t, &opts)
	for _, tc := range []struct {
		name, secret string
		env          []string
	}{
		{"FromEnvironment", "hunter2", []string{"PODIUM_POSTGRES_PASSWORD=hunter2"}},
		{"FromFile", "s3cr3t-in-file", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := nodetest.Run(t, "", tc.env, "--config", path, "config", "dump")
			if code != 0 {
				t.Fatalf("config dump: exit %d: %s", code, stderr)
			}
			if strings.Contains(stdout+stderr, tc.secret) {
				t.Fatalf("config dump shows the password:\n%s%s", stdout, stderr)
			}
			if !strings.Contains(stdout, "Password") || !strings.Contains(stdout, podium.Mask) {
				t.Errorf("config dump does not show the masked password:\n%s", stdout)
			}
			if !strings.Contains(stdout, "db.example.com") {
				t.Errorf("config dump does not show the URL's host:\n%s", stdout)
			}
		})
	}
}

// TestServeDefaultsInFreshDir: `podium serve` with no configuration at all,
// in an empty working directory, serves on SQLite in ./podium-data.
func TestServeDefaultsInFreshDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := testutil.FreePort(t)
	n := nodetest.StartNode(t, nodetest.Options{NoConfig: true, Dir: dir, Listen: "127.0.0.1:" + strconv.Itoa(port)})
	_, body, err := n.Ping()
	if err != nil || body["status"] != "ok" {
		t.Fatalf("ping: %v %v", body, err)
	}
	db := filepath.Join(dir, "podium-data", "db", "podium.db")
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("no database at %s: %v", db, err)
	}
	if !strings.Contains(n.Log(), `"provider":"sqlite"`) {
		t.Errorf("log does not say provider sqlite:\n%s", n.Log())
	}
	// The new data directory may be entered by the RunAs user (its apps
	// run in bundles below it), not listed; the database is private.
	for path, want := range map[string]os.FileMode{filepath.Join(dir, "podium-data"): 0o751, filepath.Join(dir, "podium-data", "db"): 0o750} {
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	if code := n.Stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
