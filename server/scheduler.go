package server

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web"
)

// mountScheduler creates the scheduler (scheduled renders through pub,
// which also decides who may see and change a content's schedule and
// jobs: one access rule for every content endpoint), mounts the schedule and job endpoints, adds its warning ("no live node
// takes scheduled work") to /__ping__ and returns the service. Open starts
// it after publishing, so it stops before: running renders are released
// before the render service goes away.
func mountScheduler(n *Node, pub *publish.Service) *scheduler.Service {
	cfg := n.Config
	runner, access := &scheduler.RenderRunner{Publish: pub}, pub
	n.scheduler = scheduler.New(scheduler.Options{
		DB: n.db, Log: n.log("scheduler"), Runner: runner, Access: access, NodeID: n.id,
		Concurrency:      cfg.Applications.ScheduleConcurrency,
		PollInterval:     cfg.Applications.JobPollInterval,
		HeartbeatTimeout: cfg.Applications.JobHeartbeatTimeout,
		NodeTimeout:      cfg.HA.NodeTimeout,
		HistoryRetention: cfg.Applications.HistoryRetention,
		// An upgraded installation keeps its history until the
		// administrator sets the retention (docs/upgrading.md).
		HistoryRetentionSet: cfg.Set["Applications.HistoryRetention"],
		Now:                 n.Now,
	})
	api := schedulerAPI{n.scheduler}
	n.web.Mount(web.ScheduleRoutes(api))
	n.web.Mount(web.JobRoutes(api))
	n.AddWarnings(n.scheduler.Warnings)
	return n.scheduler
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
