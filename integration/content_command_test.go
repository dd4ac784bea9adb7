package integration

import (
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestContentCommand: "podium content" does what an administrator would
// script (access, schedule, environment, roll back) through a real node's
// API, and the API shows the result.
func TestContentCommand(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "node", Config: manageConfig})
	alice := pubUser(t, n, "alice", "publisher")
	pubUser(t, n, "bob", "viewer")
	files := func(word string) map[string]string {
		return map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
			"index.html":    "<p>" + word + "</p>",
		}
	}
	guid := manageDeploy(t, n, alice, "cli-site", files("one"))
	manageUpload(t, n, alice, guid, files("two"))
	env := []string{"PODIUM_SERVER=" + n.URL, "PODIUM_API_KEY=" + alice, "DB_PASSWORD=from-the-environment"}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		stdout, stderr, code := nodetest.Run(t, "", env, append([]string{"content"}, args...)...)
		if code != wantCode {
			t.Fatalf("podium content %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}

	t.Run("Access", func(t *testing.T) {
		out := run(0, "access", guid, "--type", "acl", "--add", "bob")
		if !strings.Contains(out, "access type: acl") || !strings.Contains(out, "bob\tviewer") {
			t.Fatalf("access: %s", out)
		}
		var p struct {
			AccessType  string `json:"access_type"`
			Permissions []struct{ Username, Role string }
		}
		r := pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid+"/permissions", alice, "", nil)
		r.JSON(t, &p)
		if p.AccessType != "acl" || len(p.Permissions) != 1 || p.Permissions[0].Username != "bob" {
			t.Fatalf("permissions through the API: %+v", p)
		}
		run(2, "access", guid, "--add", "bob=owner")
		run(0, "access", guid, "--remove", "bob")
		r = pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid+"/permissions", alice, "", nil)
		r.JSON(t, &p)
		if len(p.Permissions) != 0 {
			t.Fatalf("permissions after --remove: %+v", p)
		}
	})

	t.Run("Environment", func(t *testing.T) {
		out := run(0, "env", guid, "--set", "REGION=eu", "--from-env", "DB_PASSWORD")
		if out != "DB_PASSWORD\nREGION\n" {
			t.Fatalf("env: %q", out)
		}
		run(0, "env", guid, "--unset", "REGION")
		var names []string
		pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid+"/environment", alice, "", nil).JSON(t, &names)
		if strings.Join(names, ",") != "DB_PASSWORD" {
			t.Fatalf("environment through the API: %v", names)
		}
	})

	t.Run("RollBack", func(t *testing.T) {
		out := run(0, "rollback", guid)
		var c struct {
			BundleID int64 `json:"bundle_id"`
		}
		pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid, alice, "", nil).JSON(t, &c)
		if c.BundleID != 1 || !strings.Contains(out, "bundle 1 is active") {
			t.Fatalf("after rollback: bundle %d, output %s", c.BundleID, out)
		}
		run(1, "rollback", guid) // nothing older than bundle 1
	})

	t.Run("Schedule", func(t *testing.T) {
		report := manageDeploy(t, n, alice, "cli-report", map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
			"render.sh":     `echo "<p>r</p>" > "$PODIUM_OUTPUT_DIR/index.html"`,
		})
		if out := run(2, "schedule", report, "--set", "@every 1200ms"); !strings.Contains(out, "whole seconds") {
			t.Fatalf("a spec that cannot run as written: %s", out)
		}
		out := run(0, "schedule", report, "--set", "0 6 * * *", "--timezone", "Europe/Paris")
		if !strings.Contains(out, "schedule: 0 6 * * *") || !strings.Contains(out, "timezone: Europe/Paris") || !strings.Contains(out, "next run: 20") {
			t.Fatalf("schedule: %s", out)
		}
		run(0, "schedule", report, "--remove")
		if out := run(0, "schedule", report); !strings.Contains(out, "not scheduled") {
			t.Fatalf("schedule after --remove: %s", out)
		}
	})
}
