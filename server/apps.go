package server

import (
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/appsource"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// newApps creates the supervisor of the app and api processes of node
// nodeID, which serves app and api content (web.Server's
// ContentServeRoutes) and is a service: a stopping node stops every app
// process it started. Which content items are apps and how each is run
// is appsource's (src, which also keeps their process settings: build
// mounts the processes API on it). trackHijacked is the web server's
// (proxied WebSockets are closed as the drain begins); rec, when not nil,
// records app sessions.
func newApps(cfg *config.Config, db dbprovider.Provider, nodeID string, pub *publish.Service, rt *runtimes.Manager, rl *rlang.Manager,
	sb *sandbox.Sandbox, rec *usage.Recorder, trackHijacked func(net.Conn) func(), now func() time.Time, log *logrus.Entry) (*apps.Supervisor, *appsource.Source) {
	src := appsource.New(appsource.Options{DB: db, DataDir: cfg.Server.DataDir, Runtimes: rt, RLang: rl,
		Env: pub.ContentEnv, SandboxSettings: pub.ContentSandbox, Sandbox: sb})
	sc := cfg.Scheduler
	sup := apps.New(apps.Options{
		Source: src,
		Limits: apps.Limits{MinProcesses: sc.MinProcesses, MaxProcesses: sc.MaxProcesses, MaxConnsPerProcess: sc.MaxConnsPerProcess,
			LoadFactor: sc.LoadFactor, IdleTimeout: sc.IdleTimeout, InitTimeout: sc.InitTimeout},
		RunAs:          cfg.Applications.RunAs,
		LogDir:         filepath.Join(cfg.Server.StateDir, "app-logs"),
		Log:            log,
		Now:            now,
		TrustedProxies: trustedProxies(cfg.HTTP.TrustedProxies),
		TrackHijacked:  trackHijacked,
		Session:        appSessions(rec),
		RuntimeDir:     runtimeDir(nodeID),
		ContentHeaders: web.ContentHeaders(cfg.Server.FrameOptionsContent),
		Sandbox:        sb,
		Proxy:          cfg.Applications.Proxy,
	})
	if sb.Off() {
		// A sandbox shows each bundle at its path: RunAs matters without one.
		apps.WarnRunAs(log, cfg.Applications.RunAs, cfg.Server.DataDir, runtimeDir(nodeID))
	}
	return sup, src
}

// runtimeDir is where this node's app processes get a copy of their
// bundle when RunAs cannot enter the data directory: node-local, named by
// node id (several nodes may share a host), emptied at start.
func runtimeDir(nodeID string) string { return filepath.Join(os.TempDir(), "podium-apps-"+nodeID) }
