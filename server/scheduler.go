package server

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web"
)

func init() { mounts = append(mounts, mountScheduler) }

// mountScheduler creates the scheduler (scheduled renders through the
// publish service), mounts the schedule and job endpoints, adds its warning
// ("no live node takes scheduled work") to /__ping__ and registers it as a
// service. It runs after mountPublish (mounts run in file-name order), so
// it stops before publishing on shutdown: running renders are released
// before the render service goes away.
func mountScheduler(n *Node) error {
	cfg := n.Config
	var runner scheduler.Runner
	var access scheduler.ContentAccess
	if p := n.Publish(); p != nil {
		runner = &scheduler.RenderRunner{Publish: p}
		access = p // one access rule for every content endpoint
	}
	n.scheduler = scheduler.New(scheduler.Options{
		DB: n.db, Log: n.log("scheduler"), Runner: runner, Access: access, NodeID: n.id,
		Concurrency:      cfg.Applications.ScheduleConcurrency,
		PollInterval:     cfg.Applications.JobPollInterval,
		HeartbeatTimeout: cfg.Applications.JobHeartbeatTimeout,
		NodeTimeout:      cfg.HA.NodeTimeout,
		HistoryRetention: cfg.Applications.HistoryRetention,
		Now:              n.Now,
	})
	api := schedulerAPI{n.scheduler}
	n.web.MountSchedulerAPI(api)
	n.web.MountJobsAPI(api)
	n.AddWarnings(n.scheduler.Warnings)
	n.AddService(n.scheduler)
	return nil
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
