package server

import (
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/web/dashboard"
	"github.com/sirupsen/logrus"
)

// newDashboard returns the web dashboard (mounted under /__dashboard__/),
// reading and changing content, schedules and jobs, processes, metrics
// and ha checks through the services in svc, the audit log, the node
// registry, content history and usage counts through svc's stores; API
// keys and users through accounts.
func newDashboard(cfg *config.Config, nodeID string, svc dashboard.Services, accounts *auth.Service,
	contentOrigin func(string) string, log *logrus.Entry) *dashboard.Dashboard {
	src := svc.Sources()
	return dashboard.New(dashboard.Options{
		Log: log, NodeID: nodeID, Audit: svc.Audit, Nodes: svc.Nodes, History: svc.History, Usage: svc.Usage,
		NodeTimeout: cfg.HA.NodeTimeout, TrustedProxies: trustedProxies(cfg.HTTP.TrustedProxies),
		Content: src, Tags: src, Jobs: src, Processes: src, Metrics: src, HAChecks: src, Keys: accounts, Manage: src, Users: accounts, AuthProvider: cfg.Authentication.Provider,
		AdminWarnings: adminWarnings(cfg), ContentOrigin: contentOrigin,
	})
}
