package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/schema"
)

// mountHACheck makes the node answer to podium ha check: every response
// names the node in an X-Podium-Node header (so the load-balancer check
// can tell nodes apart), the node publishes what it resolved (markers
// seen in the shared folders, uid/gid of the app user, paths) with every
// heartbeat, and /__ping__ warns when the clock offset is over [HA]
// ClockFailOffset.
func mountHACheck(n *Node) {
	cfg := n.Config
	n.web.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(hacheck.HeaderNode, n.id)
			return next(c)
		}
	})
	runAs, group := hacheck.ResolveUser(cfg.Applications.RunAs, cfg.Applications.SharedRunAsUnixGroup)
	dirs := map[string]string{
		hacheck.MarkersDataDir:     cfg.Server.DataDir,
		hacheck.MarkersLandingDir:  cfg.Server.LandingDir,
		hacheck.MarkersMetricsPath: cfg.Metrics.DataPath,
	}
	// Write the markers now, so the other nodes see them at their next
	// heartbeat.
	var mu sync.Mutex
	facts := hacheck.Facts{
		BinarySchema: schema.Latest(), DataDir: cfg.Server.DataDir, DatabaseDir: cfg.Database.Dir, LandingDir: cfg.Server.LandingDir,
		MetricsPath: cfg.Metrics.DataPath, GraphiteEnabled: cfg.Metrics.GraphiteEnabled,
		ScheduleConcurrency: cfg.Applications.ScheduleConcurrency, RunAs: runAs, SharedGroup: group,
	}
	if cfg.Database.Provider == config.ProviderPostgres {
		facts.DBPoolMax = cfg.Postgres.MaxConns
	}
	facts.Refresh(n.id, n.hostname, dirs)
	n.AddInfo(func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		facts.Refresh(n.id, n.hostname, dirs)
		facts.MarkersReadAfter = time.Time{} // at registration: unknown
		if ns := n.beatDBNow.Load(); ns != 0 {
			facts.MarkersReadAfter = time.Unix(0, ns).UTC()
		}
		return map[string]any{hacheck.InfoKey: facts.Map()}
	})
	n.AddWarnings(func() []string {
		off := time.Duration(n.clockOffset.Load())
		if cfg.HA.ClockFailOffset > 0 && abs(off) > cfg.HA.ClockFailOffset {
			return []string{fmt.Sprintf("clock offset %s against the database is over [HA] ClockFailOffset (%s): synchronize clocks (ntp)",
				off.Round(time.Millisecond), cfg.HA.ClockFailOffset)}
		}
		return nil
	})
}

// HACheck runs podium ha check's checklist against the cluster this node
// belongs to, with this node's thresholds (for the dashboard's cluster
// page). lb, when set, is the load balancer's URL to check as well.
func (n *Node) HACheck(ctx context.Context, lb string) ([]hacheck.Result, error) {
	cfg := n.Config
	return hacheck.Run(ctx, n.db, hacheck.Options{NodeTimeout: cfg.HA.NodeTimeout, ClockWarn: cfg.HA.ClockWarnOffset,
		ClockFail: cfg.HA.ClockFailOffset, BinarySchema: schema.Latest(), LB: lb})
}
