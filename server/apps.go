package server

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/appsource"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/runas"
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
		warnRunAs(log, cfg.Applications.RunAs, cfg.Server.DataDir, runtimeDir(nodeID))
	}
	return sup, src
}

// runtimeDir is where this node's app processes get a copy of their
// bundle when RunAs cannot enter the data directory: node-local, named by
// node id (several nodes may share a host), emptied at start.
func runtimeDir(nodeID string) string { return filepath.Join(os.TempDir(), "podium-apps-"+nodeID) }

// warnRunAs says at start-up, rather than at the first request, when
// podium runs as root and [Applications] RunAs cannot run apps as it
// should: the user does not exist or is root (apps and reports fail until
// fixed), or it cannot enter the data directory that holds the bundles
// (apps then run from copies of their bundles under runtime).
func warnRunAs(log *logrus.Entry, runAs, dataDir, runtime string) {
	if os.Geteuid() != 0 {
		return
	}
	log = log.WithField("run_as", runAs)
	u, err := user.Lookup(runAs)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs is not a user of this host: apps and reports cannot run until you create it " +
			"(useradd --system --no-create-home " + runAs + ") or set RunAs to an existing unprivileged user")
		return
	}
	cred, err := runas.Credential(u)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs cannot run apps and reports: set it to an unprivileged user")
		return
	}
	if blocked := runas.Unsearchable(dataDir, cred); blocked != "" {
		log.WithFields(logrus.Fields{"directory": blocked, "copies": runtime}).Warn("[Applications] RunAs cannot enter [Server] DataDir or a directory above it: " +
			"each app process will run from a copy of its bundle (slower starts, more disk); to run apps in place, give RunAs search permission (for example chmod o+x " + blocked + ")")
	}
}
