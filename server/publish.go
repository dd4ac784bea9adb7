package server

import (
	"strings"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
)

// mountPublish creates the deploy and render service, mounts the content
// API, the Connect server endpoints, the older applications API and the
// landing page, and returns the service (a stopping node
// cancels and waits for its tasks).
func mountPublish(n *Node, rt *runtimes.Manager, rl *rlang.Manager, sb *sandbox.Sandbox) *publish.Service {
	cfg := n.Config
	// Validated at load: the keys parse.
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
	n.publish = publish.New(publish.Options{
		Runtimes: rt,
		R:        rl,
		DB:       n.db, DataDir: cfg.Server.DataDir, NodeID: n.id, Log: n.log("publish"),
		Apps: cfg.Applications, MaxUploadSize: cfg.HTTP.MaxUploadSize,
		NodeTimeout: cfg.HA.NodeTimeout, SweepInterval: cfg.HA.HeartbeatInterval,
		EnvKey: envKey, EnvPreviousKeys: envPrevious,
		Sandbox: sb, PublishersCanManageVanities: cfg.Authorization.PublishersCanManageVanities,
		Git: publish.GitOptions{Disabled: !cfg.Git.Enabled, PollingFrequency: cfg.Git.PollingFrequency,
			Timeout: cfg.Git.Timeout, Executable: cfg.Git.Executable, AllowLocal: cfg.Git.AllowLocalRepositories},
	})
	n.web.Mount(web.GitRoutes(n.publish))
	n.web.Mount(web.ContentRoutes(n.publish))
	n.web.Mount(web.TagRoutes(n.publish))
	n.web.Mount(web.VanityRoutes(n.publish))
	var pythons []string
	for _, i := range rt.Interpreters() {
		pythons = append(pythons, i.Version)
	}
	n.web.Mount(web.ConnectRoutes(n.publish, web.ConnectOptions{Version: Version, Python: pythons}))
	n.web.Mount(web.ApplicationsRoutes(n.publish))
	n.web.Mount(web.LandingRoutes(cfg.Server.LandingDir, n.web.NotFound))
	return n.publish
}

// mountContentServe serves published content at /content/{guid}/: static
// sites and reports from pub's files, apps and APIs through apps' processes.
func mountContentServe(n *Node, pub *publish.Service, apps web.AppServer, rec *usage.Recorder) {
	var visits web.VisitRecorder // nil, not a nil *usage.Recorder: no visit is even built
	if rec != nil {
		visits = rec
	}
	n.web.Mount(n.web.ContentServeRoutes(pub, apps, n.auth, visits))
}

// Publish returns the node's deploy and render service (after Open): the
// scheduler calls its Render for scheduled jobs.
func (n *Node) Publish() *publish.Service { return n.publish }
