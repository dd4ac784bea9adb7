package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// TestGroupsAndUserDeleteCommands: groups are created, filled, listed and
// deleted from the shell beside a running node; a deleted user's API key
// stops working on the node; unknown names refuse with exit 2.
func TestGroupsAndUserDeleteCommands(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "groups"})
	cfg := []string{"--config", node.ConfigPath, "--log-level", "warn"}
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return podium(t, "", append(append([]string{}, cfg...), args...)...)
	}
	out, errs, code := run("users", "create", "--username", "dora", "--role", "viewer", "--no-password")
	wantExit(t, "users create", code, 0, out, errs)
	out, errs, code = run("groups", "create", "--name", "analysts")
	wantExit(t, "groups create", code, 0, out, errs)
	out, errs, code = run("groups", "create", "--name", "analysts")
	wantExit(t, "groups create twice", code, 2, out, errs)
	out, errs, code = run("groups", "add-member", "--name", "analysts", "--username", "dora")
	wantExit(t, "add-member", code, 0, out, errs)
	out, errs, code = run("groups", "add-member", "--name", "nobody", "--username", "dora")
	wantExit(t, "add-member to an unknown group", code, 2, out, errs)
	if !strings.Contains(errs, `no local group named "nobody"`) {
		t.Fatalf("stderr %q", errs)
	}
	out, errs, code = run("groups", "list")
	wantExit(t, "groups list", code, 0, out, errs)
	if !strings.Contains(out, "analysts") || !strings.Contains(out, "dora") {
		t.Fatalf("groups list = %q", out)
	}
	out, errs, code = run("groups", "remove-member", "--name", "analysts", "--username", "dora")
	wantExit(t, "remove-member", code, 0, out, errs)
	out, errs, code = run("groups", "delete", "--name", "analysts")
	wantExit(t, "groups delete", code, 0, out, errs)

	out, errs, code = run("keys", "create", "--username", "dora", "--name", "laptop")
	wantExit(t, "keys create", code, 0, out, errs)
	key := strings.TrimSpace(out)
	if status, _ := whoami(t, node.URL, key); status != http.StatusOK {
		t.Fatalf("dora's key: %d", status)
	}
	out, errs, code = run("users", "delete", "--username", "dora")
	wantExit(t, "users delete", code, 0, out, errs)
	if status, _ := whoami(t, node.URL, key); status != http.StatusUnauthorized {
		t.Fatalf("deleted dora's key: %d, want 401", status)
	}
	out, errs, code = run("users", "delete", "--username", "dora")
	wantExit(t, "users delete twice", code, 2, out, errs)
}
