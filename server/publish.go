package server

import (
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web"
)

// mountPublish creates the deploy and render service, mounts the content
// API and the landing page, and returns the service (a stopping node
// cancels and waits for its tasks).
func mountPublish(n *Node) *publish.Service {
	cfg := n.Config
	n.publish = publish.New(publish.Options{
		DB: n.db, DataDir: cfg.Server.DataDir, NodeID: n.id, Log: n.log("publish"),
		Apps: cfg.Applications, MaxUploadSize: cfg.HTTP.MaxUploadSize,
	})
	n.web.Mount(web.ContentRoutes(n.publish))
	n.web.Mount(web.LandingRoutes(cfg.Server.LandingDir))
	return n.publish
}

// mountContentServe serves published content at /content/{guid}/: static
// sites and reports from pub's files, apps and APIs through apps' processes.
func mountContentServe(n *Node, pub *publish.Service, apps web.AppServer) {
	n.web.Mount(n.web.ContentServeRoutes(pub, apps))
}

// Publish returns the node's deploy and render service (after Open): the
// scheduler calls its Render for scheduled jobs.
func (n *Node) Publish() *publish.Service { return n.publish }
