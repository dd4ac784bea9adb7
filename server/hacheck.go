package server

import (
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/schema"
)

// nodeHeader names the node in an X-Podium-Node header on every
// response, so that podium ha check's load-balancer check can tell nodes
// apart.
func nodeHeader(nodeID string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(hacheck.HeaderNode, nodeID)
			return next(c)
		}
	}
}

// haFacts is what the node publishes for podium ha check with every
// heartbeat (its info document): what it resolved (markers seen in the
// shared folders, uid/gid of the app user, paths, the sandbox, the
// sign-in provider's probe).
type haFacts struct {
	nodeID, host string
	dirs         map[string]string
	probe        *hacheck.SSOProbe // nil without a sign-in provider to probe
	dbNow        func() time.Time  // the heartbeat's database clock
	mu           sync.Mutex
	facts        hacheck.Facts
}

// newHAFacts resolves the facts of node nodeID on host: sharedDB tells a
// database the nodes share (their pools add up against its connection
// limit), sb is the content sandbox. It refreshes the markers now
// (writeMarkers wrote them before the node registered), so the other
// nodes see them at their next heartbeat.
func newHAFacts(cfg *config.Config, sharedDB bool, sb *sandbox.Sandbox, nodeID, host string, probe *hacheck.SSOProbe, dbNow func() time.Time) *haFacts {
	runAs, group := hacheck.ResolveUser(cfg.Applications.RunAs, cfg.Applications.SharedRunAsUnixGroup)
	h := &haFacts{nodeID: nodeID, host: host, dirs: markerDirs(cfg), probe: probe, dbNow: dbNow}
	h.facts = hacheck.Facts{
		BinarySchema: schema.Latest(), DataDir: cfg.Server.DataDir, DatabaseDir: cfg.Database.Dir, LandingDir: cfg.Server.LandingDir,
		MetricsPath: cfg.Metrics.DataPath, GraphiteEnabled: cfg.Metrics.GraphiteEnabled,
		ScheduleConcurrency: cfg.Applications.ScheduleConcurrency, RunAs: runAs, SharedGroup: group,
		Address: cfg.Server.Address, ContentURL: cfg.Server.ContentURL,
	}
	if sharedDB {
		// SQLite has no pool to report.
		h.facts.DBPoolMax = cfg.Postgres.MaxConns
	}
	if sb != nil {
		h.facts.Sandbox = hacheck.SandboxFactsOf(sb, cfg.Applications.SandboxUIDRange)
	}
	h.facts.Refresh(nodeID, host, h.dirs)
	return h
}

// info refreshes the facts and returns them as the info document's key.
func (h *haFacts) info() map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.facts.Refresh(h.nodeID, h.host, h.dirs)
	h.facts.MarkersReadAfter = time.Time{} // at registration: unknown
	if h.probe != nil {
		h.facts.SSO = h.probe.Facts()
	}
	if at := h.dbNow(); !at.IsZero() {
		h.facts.MarkersReadAfter = at
	}
	return map[string]any{hacheck.InfoKey: h.facts.Map()}
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
func writeMarkers(cfg *config.Config, nodeID, host string) {
	for _, dir := range markerDirs(cfg) {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			_ = hacheck.WriteMarker(dir, nodeID, host)
		}
	}
}

// haCheckOptions are podium ha check's options with the thresholds of cfg
// (for the dashboard's cluster page). lb, when set, is the load
// balancer's URL to check as well.
func haCheckOptions(cfg *config.Config, lb string) hacheck.Options {
	return hacheck.Options{NodeTimeout: cfg.HA.NodeTimeout, ClockWarn: cfg.HA.ClockWarnOffset,
		ClockFail: cfg.HA.ClockFailOffset, BinarySchema: schema.Latest(), LB: lb}
}
