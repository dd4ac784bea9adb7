package server

import (
	"context"
	"os"
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
	dirs := markerDirs(cfg)
	// Refresh the markers now (writeMarkers wrote them before the node
	// registered), so the other nodes see them at their next heartbeat.
	var mu sync.Mutex
	facts := hacheck.Facts{
		BinarySchema: schema.Latest(), DataDir: cfg.Server.DataDir, DatabaseDir: cfg.Database.Dir, LandingDir: cfg.Server.LandingDir,
		MetricsPath: cfg.Metrics.DataPath, GraphiteEnabled: cfg.Metrics.GraphiteEnabled,
		ScheduleConcurrency: cfg.Applications.ScheduleConcurrency, RunAs: runAs, SharedGroup: group,
		Address: cfg.Server.Address, ContentURL: cfg.Server.ContentURL,
	}
	if n.db.SupportsHA() {
		// A database the nodes share: their pools add up against its
		// connection limit. SQLite has no pool to report.
		facts.DBPoolMax = cfg.Postgres.MaxConns
	}
	if sb := n.sandbox; sb != nil {
		f := &hacheck.SandboxFacts{State: "on", UIDRange: cfg.Applications.SandboxUIDRange, Network: sb.Network(), Cgroups: sb.Cgroups()}
		switch {
		case sb.Refused() != nil:
			f.State, f.Error = "unavailable", sb.Refused().Error()
		case sb.Off():
			f.State = "off"
		}
		facts.Sandbox = f
	}
	facts.Refresh(n.id, n.hostname, dirs)
	n.AddInfo(func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		facts.Refresh(n.id, n.hostname, dirs)
		facts.MarkersReadAfter = time.Time{} // at registration: unknown
		if n.ssoProbe != nil {
			facts.SSO = n.ssoProbe.facts()
		}
		if at := n.heartbeat.DBNow(); !at.IsZero() {
			facts.MarkersReadAfter = at
		}
		return map[string]any{hacheck.InfoKey: facts.Map()}
	})
	n.AddWarnings(n.heartbeat.Warnings)
}

// markerDirs are the directories that must be shared, by marker kind.
func markerDirs(cfg *config.Config) map[string]string {
	return map[string]string{
		hacheck.MarkersDataDir:     cfg.Server.DataDir,
		hacheck.MarkersLandingDir:  cfg.Server.LandingDir,
		hacheck.MarkersMetricsPath: cfg.Metrics.DataPath,
	}
}

// writeMarkers writes the node's markers before it registers: a node that
// lists the markers after this one's start (its registration) must find
// this one's, or the ha check would report the folders as not shared.
// Only into directories that exist already (the parts that own the
// others create them with their own modes); errors are left to the
// heartbeat's refresh, which reports them.
func writeMarkers(n *Node) {
	for _, dir := range markerDirs(n.Config) {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			_ = hacheck.WriteMarker(dir, n.id, n.hostname)
		}
	}
}

// HACheck runs podium ha check's checklist against the cluster this node
// belongs to, with this node's thresholds (for the dashboard's cluster
// page). lb, when set, is the load balancer's URL to check as well.
func (n *Node) HACheck(ctx context.Context, lb string) ([]hacheck.Result, error) {
	cfg := n.Config
	return hacheck.Run(ctx, n.db, hacheck.Options{NodeTimeout: cfg.HA.NodeTimeout, ClockWarn: cfg.HA.ClockWarnOffset,
		ClockFail: cfg.HA.ClockFailOffset, BinarySchema: schema.Latest(), LB: lb})
}
