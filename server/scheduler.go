package server

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// newScheduler creates the scheduler of node nodeID: scheduled renders
// through pub, which also decides who may see and change a content's
// schedule and jobs (one access rule for every content endpoint). build
// mounts its endpoints (schedulerAPI), adds its warning ("no live node
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

// schedulerAPI adapts the scheduler to web.SchedulerAPI (web and scheduler
// do not import each other).
type schedulerAPI struct{ s *scheduler.Service }

func (a schedulerAPI) ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error) {
	return a.s.ScheduleGet(ctx, u, guid)
}

func (a schedulerAPI) SchedulePut(ctx context.Context, u *podium.User, guid string, in *web.ScheduleInput) (*podium.Schedule, error) {
	return a.s.SchedulePut(ctx, u, guid, &scheduler.ScheduleInput{Spec: in.Spec, Timezone: in.Timezone, Enabled: in.Enabled})
}

func (a schedulerAPI) ScheduleDelete(ctx context.Context, u *podium.User, guid string) error {
	return a.s.ScheduleDelete(ctx, u, guid)
}

func (a schedulerAPI) ContentJobs(ctx context.Context, u *podium.User, guid string, limit int, before int64) ([]*podium.Job, error) {
	return a.s.ContentJobs(ctx, u, guid, limit, before)
}

func (a schedulerAPI) Jobs(ctx context.Context, u *podium.User, status string, limit int, before int64) ([]*podium.Job, error) {
	return a.s.Jobs(ctx, u, status, limit, before)
}
