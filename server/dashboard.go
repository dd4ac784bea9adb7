package server

import (
	"context"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web/dashboard"
	"github.com/sirupsen/logrus"
)

// newDashboard returns the web dashboard (mounted under /__dashboard__/),
// reading content through src's publish service, schedules and jobs
// through its scheduler, processes through its supervisor and metrics
// through its store; API keys and users through accounts.
func newDashboard(cfg *config.Config, db dbprovider.Provider, nodeID string, src dashSources, accounts *auth.Service,
	contentOrigin func(string) string, log *logrus.Entry) *dashboard.Dashboard {
	return dashboard.New(dashboard.Options{
		Log: log, NodeID: nodeID, DB: db,
		NodeTimeout: cfg.HA.NodeTimeout, TrustedProxies: trustedProxies(cfg.HTTP.TrustedProxies),
		Content: src, Tags: src, Jobs: src, Processes: src, Metrics: src, HAChecks: src, Keys: accounts, Manage: src, Users: accounts, AuthProvider: cfg.Authentication.Provider,
		AdminWarnings: adminWarnings(cfg), ContentOrigin: contentOrigin,
	})
}

// dashSources adapts the node's parts to the dashboard's source interfaces
// (the dashboard imports none of them). Its parts are given at
// construction and never nil.
type dashSources struct {
	nodeID   string
	db       dbprovider.Provider
	now      func() time.Time
	pub      *publish.Service
	sched    *scheduler.Service
	sup      *apps.Supervisor
	settings apps.SettingsStore
	// metrics is this node's metrics store.
	metrics *metrics.Store
	// haCheck runs podium ha check's checklist.
	haCheck func(ctx context.Context, lb string) ([]hacheck.Result, error)
}

var (
	_ dashboard.ContentSource  = dashSources{}
	_ dashboard.JobSource      = dashSources{}
	_ dashboard.ProcessSource  = dashSources{}
	_ dashboard.MetricsSource  = dashSources{}
	_ dashboard.HACheckSource  = dashSources{}
	_ dashboard.ContentManager = dashSources{}
)

// ContentList implements dashboard.ContentSource.
func (s dashSources) ContentList(ctx context.Context, u *podium.User) ([]*podium.Content, error) {
	return s.pub.ContentList(ctx, u, publish.ContentListRequest{})
}

// Tags implements dashboard.TagSource.
func (s dashSources) Tags(ctx context.Context, u *podium.User) ([]*podium.Tag, error) {
	return s.pub.TagList(ctx, u, publish.TagListRequest{})
}

// TagContent implements dashboard.TagSource.
func (s dashSources) TagContent(ctx context.Context, u *podium.User, id int64) ([]*podium.Content, error) {
	return s.pub.TagContent(ctx, u, id)
}

// ContentTags implements dashboard.TagSource.
func (s dashSources) ContentTags(ctx context.Context, u *podium.User, guid string) ([]*podium.Tag, error) {
	return s.pub.ContentTags(ctx, u, guid)
}

// Vanity implements dashboard.TagSource.
func (s dashSources) Vanity(ctx context.Context, u *podium.User, guid string) (string, error) {
	v, err := s.pub.VanityGet(ctx, u, guid)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return v.Path, nil
}

// ContentGet implements dashboard.ContentSource.
func (s dashSources) ContentGet(ctx context.Context, u *podium.User, guid string) (*podium.Content, dashboard.Rights, error) {
	c, a, err := s.pub.ContentGet(ctx, u, guid)
	return c, dashboard.Rights{Edit: a.Edit, Manage: a.Manage}, err
}

// BundleList implements dashboard.ContentSource.
func (s dashSources) BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error) {
	return s.pub.BundleList(ctx, u, guid)
}

// Permissions implements dashboard.ContentSource.
func (s dashSources) Permissions(ctx context.Context, u *podium.User, guid string) (*dashboard.AccessList, error) {
	perm, err := s.pub.PermissionsGet(ctx, u, guid)
	if err != nil {
		return nil, err
	}
	return &dashboard.AccessList{Users: perm.Entries, Groups: perm.Groups}, nil
}

// ScheduleGet implements dashboard.JobSource.
func (s dashSources) ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error) {
	return s.sched.ScheduleGet(ctx, u, guid)
}

// ContentJobs implements dashboard.JobSource.
func (s dashSources) ContentJobs(ctx context.Context, u *podium.User, guid string, limit int) ([]*podium.Job, error) {
	return s.sched.ContentJobs(ctx, u, guid, limit, 0)
}

// Jobs implements dashboard.JobSource.
func (s dashSources) Jobs(ctx context.Context, u *podium.User, status string, limit int) ([]*podium.Job, error) {
	jobs, err := s.sched.Jobs(ctx, u, status, limit, 0)
	if err != nil {
		return nil, fmt.Errorf("dashboard jobs: %w", err)
	}
	return jobs, nil
}

// Processes implements dashboard.ProcessSource.
func (s dashSources) Processes(guid string) ([]dashboard.Process, string) {
	st := s.sup.Status(guid)
	out := make([]dashboard.Process, 0, len(st.Processes))
	for _, p := range st.Processes {
		out = append(out, dashboard.Process{PID: p.PID, BundleID: p.BundleID, State: p.State, Connections: p.Connections,
			Served: p.Served, Started: p.Started, Ended: p.Ended, Exit: p.Exit})
	}
	return out, st.LastError
}

// Running implements dashboard.ProcessSource.
func (s dashSources) Running(guids []string) int {
	n := 0
	for _, g := range guids {
		n += s.sup.Running(g)
	}
	return n
}

// dashCharts are the metrics the node page charts, in order, with their
// titles and units.
var dashCharts = []struct{ series, title, unit string }{
	{metrics.SeriesCPUBusyPercent, "CPU busy", "%"},
	{metrics.SeriesMemUsed, "Memory used", "bytes"},
	{metrics.SeriesLoad1, "Load (1 min)", ""},
	{metrics.SeriesProcessRSS, "Podium resident memory", "bytes"},
	{metrics.SeriesAppProcesses, "App processes", ""},
	{metrics.SeriesJobsRunning, "Jobs running", ""},
	{metrics.SeriesQueueDepth, "Job queue depth", ""},
	{metrics.SeriesClockOffset, "Clock offset", "s"},
}

// store returns the metrics store of node id: this node's own, or another
// node's when its [Metrics] DataPath (published in the registry) is
// readable from here (nodes on one machine). Metrics stay on the machine
// of their node: nil otherwise.
func (s dashSources) store(ctx context.Context, id string) *metrics.Store {
	if id == s.nodeID {
		return s.metrics
	}
	other, err := s.db.NodeGet(ctx, id)
	if err != nil {
		return nil
	}
	return metrics.OpenNodeStore(other.Info, s.now)
}

// NodeSeries implements dashboard.MetricsSource.
func (s dashSources) NodeSeries(ctx context.Context, id string, since time.Time) ([]dashboard.Series, error) {
	st := s.store(ctx, id)
	if st == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "the metrics of node %s are kept on its own machine: open this page through that node", id)
	}
	var out []dashboard.Series
	for _, c := range dashCharts {
		pts, err := st.Series(c.series, since, s.now())
		if err != nil {
			return nil, fmt.Errorf("dashboard metrics %s: %w", c.series, err)
		}
		if len(pts) == 0 {
			continue
		}
		ser := dashboard.Series{Name: c.title, Unit: c.unit, Points: make([]dashboard.Point, 0, len(pts))}
		for _, p := range pts {
			ser.Points = append(ser.Points, dashboard.Point{T: p.Time, V: p.Value})
		}
		out = append(out, ser)
	}
	return out, nil
}

// AppProcesses implements dashboard.MetricsSource.
func (s dashSources) AppProcesses(ctx context.Context, id string) (int, bool) {
	st := s.store(ctx, id)
	if st == nil {
		return 0, false
	}
	now := s.now()
	pts, err := st.Series(metrics.SeriesAppProcesses, now.Add(-5*time.Minute), now)
	if err != nil || len(pts) == 0 {
		return 0, false
	}
	return int(pts[len(pts)-1].Value), true
}

// HAChecks implements dashboard.HACheckSource.
func (s dashSources) HAChecks(ctx context.Context) ([]dashboard.HACheck, error) {
	results, err := s.haCheck(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("dashboard ha check: %w", err)
	}
	out := make([]dashboard.HACheck, 0, len(results))
	for _, r := range results {
		out = append(out, dashboard.HACheck{Title: r.Title, Status: string(r.Status), Nodes: r.Nodes, Detail: r.Detail, Action: r.Action})
	}
	return out, nil
}
