package server

import (
	"strings"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web"
)

func init() { mounts = append(mounts, mountPublish) }

// mountPublish creates the deploy and render service, mounts the content
// API, the content pages and the landing page, and registers the service
// so a stopping node cancels and waits for its tasks.
func mountPublish(n *Node) error {
	cfg := n.Config
	rt, err := n.pythonRuntimes()
	if err != nil {
		return err
	}
	rl, err := n.rRuntimes()
	if err != nil {
		return err
	}
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
	})
	web.MountContentAPI(n.web.Echo, n.publish)
	var pythons []string
	for _, i := range rt.Interpreters() {
		pythons = append(pythons, i.Version)
	}
	web.MountConnectAPI(n.web.Echo, n.publish, web.ConnectOptions{Version: Version, Python: pythons})
	web.MountApplicationsAPI(n.web.Echo, n.publish)
	n.web.MountContentServe(n.publish)
	web.MountLanding(n.web.Echo, cfg.Server.LandingDir)
	n.AddService(n.publish)
	return nil
}

// Publish returns the node's deploy and render service (after Open): the
// scheduler calls its Render for scheduled jobs.
func (n *Node) Publish() *publish.Service { return n.publish }
