package server

import (
	"slices"
	"strings"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// newPublish creates the deploy and render service of node nodeID (a
// stopping node cancels and waits for its tasks), with the content
// environment keys of [Applications] (validated at load: they parse).
// build mounts the content API, the Connect server endpoints, the older
// applications API and the landing page on it.
func newPublish(cfg *config.Config, db dbprovider.Provider, nodeID string, rt *runtimes.Manager, rl *rlang.Manager, sb *sandbox.Sandbox, log *logrus.Entry) *publish.Service {
	var envKey []byte
	var envPrevious [][]byte
	if k := cfg.Applications.EnvironmentKey.Reveal(); k != "" {
		envKey, _ = config.ParseEnvironmentKey(k)
	}
	if ks := cfg.Applications.EnvironmentPreviousKeys.Reveal(); ks != "" {
		for _, k := range strings.Split(ks, ",") {
			if b, err := config.ParseEnvironmentKey(k); err == nil {
				envPrevious = append(envPrevious, b)
			}
		}
	}
	return publish.New(publish.Options{
		Runtimes: rt,
		R:        rl,
		DB:       db, DataDir: cfg.Server.DataDir, NodeID: nodeID, Log: log,
		Apps: cfg.Applications, MaxUploadSize: cfg.HTTP.MaxUploadSize,
		NodeTimeout: cfg.HA.NodeTimeout, SweepInterval: cfg.HA.HeartbeatInterval,
		EnvKey: envKey, EnvPreviousKeys: envPrevious,
		Sandbox: sb, PublishersCanManageVanities: cfg.Authorization.PublishersCanManageVanities,
		Git: publish.GitOptions{Disabled: !cfg.Git.Enabled, PollingFrequency: cfg.Git.PollingFrequency,
			Timeout: cfg.Git.Timeout, Executable: cfg.Git.Executable, AllowLocal: cfg.Git.AllowLocalRepositories},
	})
}

// publishRoutes are the routes of pub: the content API, the Connect
// server endpoints (with this binary's version and the Python and R
// installations the node offers), the older applications API and the
// landing page of landingDir ([Server] LandingDir).
func publishRoutes(w *web.Server, pub *publish.Service, version string, rt *runtimes.Manager, rl *rlang.Manager, landingDir string) []route.Route {
	var pythons, rs []string
	for _, i := range rt.Interpreters() {
		pythons = append(pythons, i.Version)
	}
	for _, i := range rl.Installations() {
		rs = append(rs, i.Version)
	}
	return slices.Concat(web.GitRoutes(pub), web.ContentRoutes(pub), web.TagRoutes(pub), web.VanityRoutes(pub),
		web.ConnectRoutes(pub, web.ConnectOptions{Version: version, Python: pythons, R: rs}),
		web.ApplicationsRoutes(pub), web.LandingRoutes(landingDir, w.NotFound))
}

// Publish returns the node's deploy and render service (after Open): the
// scheduler calls its Render for scheduled jobs.
func (n *Node) Publish() *publish.Service { return n.publish }
