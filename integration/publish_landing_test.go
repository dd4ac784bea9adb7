package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestPublishLanding serves the built-in landing page, then the files of
// [Server] LandingDir when it is set.
func TestPublishLanding(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "builtin"})
	r := pubDo(t, "GET", n.URL+"/", "", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "<h1>Podium</h1>") {
		t.Fatalf("built-in landing page: %d %q", r.Status, r.Body)
	}

	landing := t.TempDir()
	for name, body := range map[string]string{"index.html": "custom landing", "style.css": "body{}"} {
		if err := os.WriteFile(filepath.Join(landing, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n = nodetest.StartNode(t, nodetest.Options{Name: "custom", Config: "[Server]\nLandingDir = " + landing + "\n"})
	if r := pubDo(t, "GET", n.URL+"/", "", "", nil); r.Status != 200 || string(r.Body) != "custom landing" {
		t.Fatalf("custom landing page: %d %q", r.Status, r.Body)
	}
	if r := pubDo(t, "GET", n.URL+"/style.css", "", "", nil); r.Status != 200 || string(r.Body) != "body{}" {
		t.Fatalf("landing asset: %d %q", r.Status, r.Body)
	}
	pubWant(t, "missing landing file", pubDo(t, "GET", n.URL+"/nope.html", "", "", nil), 404)
	pubWant(t, "escape from the landing dir", pubDo(t, "GET", n.URL+"/..%2f..%2fetc%2fpasswd", "", "", nil), 404)
	// API routes still win over the landing catch-all.
	pubWant(t, "API without a key", pubDo(t, "GET", n.URL+"/__api__/v1/content", "", "", nil), 401)
	if code, _, err := n.Ping(); err != nil || code != 200 {
		t.Fatalf("ping with a landing dir: %d %v", code, err)
	}
}
