package server

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/logging"
)

// TestServicesStartInOrder pins the start order build states (stop order
// is its reverse): the scheduler after publishing, so it stops first and
// releases its renders before publishing goes away; the heartbeat first,
// so it says "draining" until the end.
func TestServicesStartInOrder(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	var names []string
	for _, s := range n.services {
		names = append(names, s.Name())
	}
	want := []string{"heartbeat", "schema-watcher", "session sweeper", "first-run setup", "audit pruner", "usage pruner", "usage recorder", "sandbox", "apps", "disk watch", "metrics", "runtimes", "publish", "scheduler"}
	if !slices.Equal(names, want) {
		t.Fatalf("services in start order: %q, want %q", names, want)
	}
}

// TestOpenRefusesBadTrustedProxy: an [HTTP] TrustedProxies entry that is
// not an address or range refuses the start (EINVALID, exit 2), naming the
// entry, rather than being dropped. A zone is refused too (config.Load
// accepted it and the node dropped it).
func TestOpenRefusesBadTrustedProxy(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "fe80::1%eth0"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := config.Defaults()
			cfg.Server.DataDir, cfg.Server.StateDir = dir+"/data", dir+"/state"
			cfg.Database.Dir = dir + "/data/db"
			cfg.HTTP.Listen = "127.0.0.1:0"
			cfg.HTTP.TrustedProxies = []string{"10.0.0.1", bad}
			n := New(cfg, logging.Discard())
			err := n.Open(context.Background())
			if err == nil {
				n.Close()
				t.Fatal("Open accepted the entry")
			}
			if !podium.IsCode(err, podium.EINVALID) || podium.ExitCode(err) != 2 || !strings.Contains(err.Error(), bad) {
				t.Errorf("error %q (code %s), want EINVALID (exit 2) naming %q", err, podium.ErrorCode(err), bad)
			}
		})
	}
}
