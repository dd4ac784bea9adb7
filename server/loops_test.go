package server

import (
	"context"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/heartbeat"
	"github.com/podiumhq/podium/internal/startstop"
)

// stopped stops s and checks that its goroutine has ended when Stop
// returns.
func mustStop(t *testing.T, s startstop.Service) {
	t.Helper()
	startstop.StopForTest(t, context.Background(), s)
}

// TestLoopsRunAndStop starts each periodic service of the node on a short
// interval, waits for a round through its test signal and stops it.
func TestLoopsRunAndStop(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	ctx := context.Background()

	t.Run("AuditPruner", func(t *testing.T) {
		if err := n.DB().AuditInsert(ctx, &dbprovider.AuditInsertParams{Action: podium.AuditLogin}); err != nil {
			t.Fatal(err)
		}
		a := audit.NewPruner(n.DB(), time.Hour, func() time.Time { return time.Now().Add(2 * time.Hour) }, n.log("audit"))
		a.Pruned.Init()
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if got := a.Pruned.WaitOrTimeout(t); got != 1 {
			t.Fatalf("first round pruned %d, want the 1 entry (it prunes at start)", got)
		}
		mustStop(t, a)
	})

	t.Run("AuditPrunerWithoutRetention", func(t *testing.T) {
		a := audit.NewPruner(n.DB(), 0, time.Now, n.log("audit"))
		a.Pruned.Init()
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if a.Running() {
			t.Fatal("an audit pruner without retention runs")
		}
		if err := a.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		a.Pruned.RequireEmpty(t)
	})

	t.Run("Heartbeat", func(t *testing.T) {
		h := heartbeat.New(heartbeat.Options{DB: n.DB(), NodeID: n.ID(), Interval: n.Config.HA.HeartbeatInterval, Now: time.Now,
			Status: n.heartbeatStatus, Info: n.info, Register: n.register, Log: n.log("heartbeat")})
		h.Beaten.Init()
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.Beaten.WaitOrTimeout(t); err != nil {
			t.Fatalf("first heartbeat: %v", err)
		}
		if !h.Healthy() || h.LastBeat().IsZero() || h.DBNow().IsZero() {
			t.Fatalf("after a recorded heartbeat: healthy %v, last beat %v, database clock %v", h.Healthy(), h.LastBeat(), h.DBNow())
		}
		mustStop(t, h)
	})

}
