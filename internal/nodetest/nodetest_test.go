package nodetest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/nodetest"
)

func TestStartNode(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "solo"})
	status, body, err := n.Ping()
	if err != nil || status != 200 {
		t.Fatalf("ping: status %d, err %v", status, err)
	}
	if body["status"] != "ok" {
		t.Errorf("ping body status = %v, want ok (body %v)", body["status"], body)
	}
	n.WaitLog(t, 10*time.Second, `"serving"`)
	if code := n.Stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, n.Log())
	}
	if code, done := n.Exited(); !done || code != 0 {
		t.Errorf("Exited() = %d, %t; want 0, true", code, done)
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := nodetest.Run(t, nodetest.Binary(t), nil, "version", "--json")
	if code != 0 || !strings.Contains(stdout, `"schema"`) {
		t.Fatalf("podium version --json: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = nodetest.Run(t, "", nil, "serve", "--no-such-flag")
	if code != 2 || !strings.Contains(stderr, "no-such-flag") {
		t.Fatalf("unknown flag: code %d, stderr %q; want 2 naming the flag", code, stderr)
	}
}
