package server

import (
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
	n.publish = publish.New(publish.Options{
		Runtimes: rt,
		DB:       n.db, DataDir: cfg.Server.DataDir, NodeID: n.id, Log: n.log("publish"),
		Apps: cfg.Applications, MaxUploadSize: cfg.HTTP.MaxUploadSize,
		NodeTimeout: cfg.HA.NodeTimeout, SweepInterval: cfg.HA.HeartbeatInterval,
	})
	web.MountContentAPI(n.web.Echo, n.publish)
	n.web.MountContentServe(n.publish)
	web.MountLanding(n.web.Echo, cfg.Server.LandingDir)
	n.AddService(n.publish)
	return nil
}

// Publish returns the node's deploy and render service (after Open): the
// scheduler calls its Render for scheduled jobs.
func (n *Node) Publish() *publish.Service { return n.publish }
