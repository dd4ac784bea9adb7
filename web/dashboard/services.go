package dashboard

import (
	"context"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/usage"
)

// Services are the node's services the dashboard reads and changes, each
// as an interface its domain declares (as web's areas hold them). Sources
// adapts them to the dashboard's sources, the pages' view of them; the
// pages' tests give fakes of those sources instead. None is nil.
type Services struct {
	// Content, Tags and Vanity are the publishing service (package
	// publish), Access its edit rule.
	Content publish.ContentService
	Tags    publish.TagService
	Vanity  publish.VanityService
	Access  publish.EditAccess
	// Jobs are schedules and jobs (package scheduler).
	Jobs scheduler.API
	// Processes is this node's supervisor, Settings where the apps'
	// process settings are kept (package apps).
	Processes apps.ProcessService
	Settings  apps.SettingsStore
	// Metrics finds the metrics store of a node (package metrics).
	Metrics metrics.NodeStores
	// HAChecks runs podium ha check's checklist (package hacheck).
	HAChecks hacheck.Checker
	// Now is the node's clock.
	Now func() time.Time

	// Audit, Nodes, History and Usage are what the pages read without a
	// source in between; give them as Options' fields of the same names.
	Audit   audit.Reader
	Nodes   hacheck.Nodes
	History publish.History
	Usage   usage.Counts
}

// Sources returns the dashboard's sources over s: pass it as every source
// of Options but Keys and Users.
func (s Services) Sources() *Sources { return &Sources{s: s} }

// Sources adapts Services to the dashboard's source interfaces.
type Sources struct{ s Services }

var (
	_ ContentSource  = (*Sources)(nil)
	_ TagSource      = (*Sources)(nil)
	_ JobSource      = (*Sources)(nil)
	_ ProcessSource  = (*Sources)(nil)
	_ MetricsSource  = (*Sources)(nil)
	_ HACheckSource  = (*Sources)(nil)
	_ ContentManager = (*Sources)(nil)
)

// ContentList implements ContentSource.
func (a *Sources) ContentList(ctx context.Context, u *podium.User) ([]*podium.Content, error) {
	return a.s.Content.ContentList(ctx, u, publish.ContentListRequest{})
}

// Tags implements TagSource.
func (a *Sources) Tags(ctx context.Context, u *podium.User) ([]*podium.Tag, error) {
	return a.s.Tags.TagList(ctx, u, publish.TagListRequest{})
}

// TagContent implements TagSource.
func (a *Sources) TagContent(ctx context.Context, u *podium.User, id int64) ([]*podium.Content, error) {
	return a.s.Tags.TagContent(ctx, u, id)
}

// ContentTags implements TagSource.
func (a *Sources) ContentTags(ctx context.Context, u *podium.User, guid string) ([]*podium.Tag, error) {
	return a.s.Tags.ContentTags(ctx, u, guid)
}

// Vanity implements TagSource.
func (a *Sources) Vanity(ctx context.Context, u *podium.User, guid string) (string, error) {
	v, err := a.s.Vanity.VanityGet(ctx, u, guid)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return v.Path, nil
}

// ContentGet implements ContentSource.
func (a *Sources) ContentGet(ctx context.Context, u *podium.User, guid string) (*podium.Content, Rights, error) {
	c, r, err := a.s.Content.ContentGet(ctx, u, guid)
	return c, Rights{Edit: r.Edit, Manage: r.Manage}, err
}

// BundleList implements ContentSource.
func (a *Sources) BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error) {
	return a.s.Content.BundleList(ctx, u, guid)
}

// Permissions implements ContentSource.
func (a *Sources) Permissions(ctx context.Context, u *podium.User, guid string) (*AccessList, error) {
	perm, err := a.s.Content.PermissionsGet(ctx, u, guid)
	if err != nil {
		return nil, err
	}
	return &AccessList{Users: perm.Entries, Groups: perm.Groups}, nil
}

// ScheduleGet implements JobSource.
func (a *Sources) ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error) {
	return a.s.Jobs.ScheduleGet(ctx, u, guid)
}

// ContentJobs implements JobSource.
func (a *Sources) ContentJobs(ctx context.Context, u *podium.User, guid string, limit int) ([]*podium.Job, error) {
	return a.s.Jobs.ContentJobs(ctx, u, guid, limit, 0)
}

// Jobs implements JobSource.
func (a *Sources) Jobs(ctx context.Context, u *podium.User, status string, limit int) ([]*podium.Job, error) {
	jobs, err := a.s.Jobs.Jobs(ctx, u, status, limit, 0)
	if err != nil {
		return nil, fmt.Errorf("dashboard jobs: %w", err)
	}
	return jobs, nil
}

// Processes implements ProcessSource.
func (a *Sources) Processes(guid string) ([]Process, string) {
	st := a.s.Processes.Status(guid)
	out := make([]Process, 0, len(st.Processes))
	for _, p := range st.Processes {
		out = append(out, Process{PID: p.PID, BundleID: p.BundleID, State: p.State, Connections: p.Connections,
			Served: p.Served, Started: p.Started, Ended: p.Ended, Exit: p.Exit})
	}
	return out, st.LastError
}

// Running implements ProcessSource.
func (a *Sources) Running(guids []string) int {
	n := 0
	for _, g := range guids {
		n += a.s.Processes.Running(g)
	}
	return n
}

// charts are the metrics the node page charts, in order, with their
// titles and units.
var charts = []struct{ series, title, unit string }{
	{metrics.SeriesCPUBusyPercent, "CPU busy", "%"},
	{metrics.SeriesMemUsed, "Memory used", "bytes"},
	{metrics.SeriesLoad1, "Load (1 min)", ""},
	{metrics.SeriesProcessRSS, "Podium resident memory", "bytes"},
	{metrics.SeriesAppProcesses, "App processes", ""},
	{metrics.SeriesJobsRunning, "Jobs running", ""},
	{metrics.SeriesQueueDepth, "Job queue depth", ""},
	{metrics.SeriesClockOffset, "Clock offset", "s"},
}

// NodeSeries implements MetricsSource.
func (a *Sources) NodeSeries(ctx context.Context, id string, since time.Time) ([]Series, error) {
	st := a.s.Metrics.Of(ctx, id)
	if st == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "the metrics of node %s are kept on its own machine: open this page through that node", id)
	}
	var out []Series
	for _, c := range charts {
		pts, err := st.Series(c.series, since, a.s.Now())
		if err != nil {
			return nil, fmt.Errorf("dashboard metrics %s: %w", c.series, err)
		}
		if len(pts) == 0 {
			continue
		}
		ser := Series{Name: c.title, Unit: c.unit, Points: make([]Point, 0, len(pts))}
		for _, p := range pts {
			ser.Points = append(ser.Points, Point{T: p.Time, V: p.Value})
		}
		out = append(out, ser)
	}
	return out, nil
}

// AppProcesses implements MetricsSource.
func (a *Sources) AppProcesses(ctx context.Context, id string) (int, bool) {
	st := a.s.Metrics.Of(ctx, id)
	if st == nil {
		return 0, false
	}
	now := a.s.Now()
	pts, err := st.Series(metrics.SeriesAppProcesses, now.Add(-5*time.Minute), now)
	if err != nil || len(pts) == 0 {
		return 0, false
	}
	return int(pts[len(pts)-1].Value), true
}

// HAChecks implements HACheckSource.
func (a *Sources) HAChecks(ctx context.Context) ([]HACheck, error) {
	results, err := a.s.HAChecks.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("dashboard ha check: %w", err)
	}
	out := make([]HACheck, 0, len(results))
	for _, r := range results {
		out = append(out, HACheck{Title: r.Title, Status: string(r.Status), Nodes: r.Nodes, Detail: r.Detail, Action: r.Action})
	}
	return out, nil
}

// ContentRename implements ContentManager.
func (a *Sources) ContentRename(ctx context.Context, u *podium.User, guid, name, title string) error {
	_, err := a.s.Content.ContentUpdate(ctx, u, guid, publish.ContentUpdateRequest{Name: &name, Title: &title})
	return err
}

// ContentDelete implements ContentManager.
func (a *Sources) ContentDelete(ctx context.Context, u *podium.User, guid string) error {
	return a.s.Content.ContentDelete(ctx, u, guid)
}

// AccessSet implements ContentManager.
func (a *Sources) AccessSet(ctx context.Context, u *podium.User, guid, accessType string, entries []ACLEntry) error {
	if entries == nil {
		if accessType == "" {
			return nil
		}
		_, err := a.s.Content.ContentUpdate(ctx, u, guid, publish.ContentUpdateRequest{AccessType: &accessType})
		return err
	}
	r := publish.PermissionsSetRequest{Entries: make([]dbprovider.ContentACLEntryParams, 0, len(entries)),
		Groups: []publish.GroupGrant{}, ReplaceGroups: true}
	if accessType != "" {
		r.AccessType = &accessType
	}
	for _, e := range entries {
		if e.Group {
			r.Groups = append(r.Groups, publish.GroupGrant{GroupID: e.GroupID, Name: e.Name, Role: e.Role})
			continue
		}
		r.Entries = append(r.Entries, dbprovider.ContentACLEntryParams{Username: e.Name, Role: e.Role})
	}
	_, err := a.s.Content.PermissionsSet(ctx, u, guid, r)
	return err
}

// GroupsSupported implements ContentManager.
func (a *Sources) GroupsSupported() bool { return true }

// Activate implements ContentManager: deploys and activates bundle id.
func (a *Sources) Activate(ctx context.Context, u *podium.User, guid string, bundleID int64) (string, error) {
	t, err := a.s.Content.DeployBundle(ctx, u, guid, bundleID, true)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// RenderNow implements ContentManager.
func (a *Sources) RenderNow(ctx context.Context, u *podium.User, guid string) (string, error) {
	t, err := a.s.Content.RenderTask(ctx, u, guid)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// EnvNames implements ContentManager.
func (a *Sources) EnvNames(ctx context.Context, u *podium.User, guid string) ([]string, error) {
	return a.s.Content.EnvNames(ctx, u, guid)
}

// EnvSet implements ContentManager.
func (a *Sources) EnvSet(ctx context.Context, u *podium.User, guid, name string, value *string) error {
	_, err := a.s.Content.EnvUpdate(ctx, u, guid, []publish.EnvVarSet{{Name: name, Value: value}})
	return err
}

// ProcessSettings implements ContentManager.
func (a *Sources) ProcessSettings(ctx context.Context, u *podium.User, guid string) (*ProcessSettings, error) {
	if err := a.s.Access.MayEdit(ctx, u, guid); err != nil {
		return nil, err
	}
	b, err := a.s.Processes.Settings(ctx, a.s.Settings, guid)
	if err != nil {
		return nil, err
	}
	f := b.Overrides.Text()
	return &ProcessSettings{
		MinProcesses: f["min_processes"], MaxProcesses: f["max_processes"], MaxConnsPerProcess: f["max_conns_per_process"],
		LoadFactor: f["load_factor"], IdleTimeout: f["idle_timeout"], InitTimeout: f["init_timeout"],
		Effective: b.Effective.Text(),
	}, nil
}

// SetProcessSettings implements ContentManager.
func (a *Sources) SetProcessSettings(ctx context.Context, u *podium.User, guid string, ps *ProcessSettings) error {
	if err := a.s.Access.MayEdit(ctx, u, guid); err != nil {
		return err
	}
	o, err := apps.ParseSettingsText(apps.SettingsText{"min_processes": ps.MinProcesses, "max_processes": ps.MaxProcesses,
		"max_conns_per_process": ps.MaxConnsPerProcess, "load_factor": ps.LoadFactor, "idle_timeout": ps.IdleTimeout, "init_timeout": ps.InitTimeout})
	if err != nil {
		return err
	}
	_, err = a.s.Processes.ChangeSettings(ctx, a.s.Settings, guid, func(stored *apps.Overrides) error {
		*stored = o
		return nil
	})
	return err
}

// SchedulePut implements ContentManager.
func (a *Sources) SchedulePut(ctx context.Context, u *podium.User, guid, spec, timezone string, enabled bool) error {
	_, err := a.s.Jobs.SchedulePut(ctx, u, guid, &scheduler.ScheduleInput{Spec: spec, Timezone: timezone, Enabled: &enabled})
	return err
}

// ScheduleDelete implements ContentManager.
func (a *Sources) ScheduleDelete(ctx context.Context, u *podium.User, guid string) error {
	return a.s.Jobs.ScheduleDelete(ctx, u, guid)
}

// NextRuns implements ContentManager.
func (a *Sources) NextRuns(spec, timezone string, n int) ([]time.Time, error) {
	sp, err := scheduler.ParseSpec(spec, timezone)
	if err != nil {
		return nil, err
	}
	return sp.NextRuns(a.s.Now(), n), nil
}
