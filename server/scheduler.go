package server

import (
	"time"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/sirupsen/logrus"
)

// newScheduler creates the scheduler of node nodeID: scheduled renders
// through pub, which also decides who may see and change a content's
// schedule and jobs (one access rule for every content endpoint). build
// mounts its endpoints (web.ScheduleRoutes, JobRoutes), adds its warning ("no live node
// takes scheduled work") to /__ping__ and starts it after publishing, so
// it stops before: running renders are released before the render
// service goes away.
func newScheduler(cfg *config.Config, db dbprovider.Provider, nodeID string, pub *publish.Service, now func() time.Time, log *logrus.Entry) *scheduler.Service {
	return scheduler.New(scheduler.Options{
		DB: db, Log: log, Runner: &scheduler.RenderRunner{Publish: pub}, Access: pub, NodeID: nodeID,
		Concurrency:      cfg.Applications.ScheduleConcurrency,
		PollInterval:     cfg.Applications.JobPollInterval,
		HeartbeatTimeout: cfg.Applications.JobHeartbeatTimeout,
		NodeTimeout:      cfg.HA.NodeTimeout,
		HistoryRetention: cfg.Applications.HistoryRetention,
		// An upgraded installation keeps its history until the
		// administrator sets the retention (docs/upgrading.md).
		HistoryRetentionSet: cfg.Set["Applications.HistoryRetention"],
		Now:                 now,
	})
}

// Scheduler returns the node's scheduler (after Open), for its figures
// (Stats) and in-process tests.
func (n *Node) Scheduler() *scheduler.Service { return n.scheduler }
