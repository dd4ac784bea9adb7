package dashboard

import (
	"context"
	"fmt"
	"sort"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
)

// jobsLimit bounds each list of the jobs page.
const jobsLimit = 100

// jobsView is the data of the jobs page.
type jobsView struct {
	Available bool
	// Names are the names of the content the user may see, by GUID.
	Names   map[string]string
	Queued  []*podium.Job
	Running []*podium.Job
	History []*podium.Job
}

// jobsPage answers GET /__dashboard__/jobs: the queue, the running jobs
// and the finished ones, each with its node and attempts, limited to the
// content the user may see.
func (d *Dashboard) jobsPage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	v := &jobsView{Available: d.opts.Jobs != nil, Names: d.contentNames(ctx, u)}
	if !v.Available {
		return &view{Name: "jobs", Title: "Jobs", Data: v}, nil
	}
	var all []*podium.Job
	if u.IsAdmin() {
		var err error
		if v.Queued, err = d.opts.Jobs.Jobs(ctx, u, podium.JobQueued, jobsLimit); err != nil {
			return nil, fmt.Errorf("jobs page: queued: %w", err)
		}
		if v.Running, err = d.opts.Jobs.Jobs(ctx, u, podium.JobRunning, jobsLimit); err != nil {
			return nil, fmt.Errorf("jobs page: running: %w", err)
		}
		if all, err = d.opts.Jobs.Jobs(ctx, u, "", jobsLimit); err != nil {
			return nil, fmt.Errorf("jobs page: history: %w", err)
		}
	} else {
		// Only administrators may list every job: others see the jobs of
		// the reports they may see, one content item at a time.
		var err error
		if all, err = d.visibleJobs(ctx, u); err != nil {
			return nil, err
		}
		for _, j := range all {
			switch j.Status {
			case podium.JobQueued:
				v.Queued = append(v.Queued, j)
			case podium.JobRunning:
				v.Running = append(v.Running, j)
			}
		}
	}
	for _, j := range all {
		if j.Status == podium.JobSucceeded || j.Status == podium.JobFailed {
			v.History = append(v.History, j)
		}
	}
	return &view{Name: "jobs", Title: "Jobs", Data: v}, nil
}

// visibleJobs returns the recent jobs of the reports u may see, newest due
// time first.
func (d *Dashboard) visibleJobs(ctx context.Context, u *podium.User) ([]*podium.Job, error) {
	if d.opts.Content == nil {
		return nil, nil
	}
	list, err := d.opts.Content.ContentList(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("jobs page: content: %w", err)
	}
	var all []*podium.Job
	for _, c := range list {
		if c.AppMode != "report" {
			continue
		}
		jobs, err := d.opts.Jobs.ContentJobs(ctx, u, c.GUID, pageJobs)
		if podium.IsCode(err, podium.ENOTFOUND) || podium.IsCode(err, podium.EFORBIDDEN) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("jobs page: jobs of %s: %w", c.GUID, err)
		}
		all = append(all, jobs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].DueAt.After(all[j].DueAt) })
	if len(all) > jobsLimit {
		all = all[:jobsLimit]
	}
	return all, nil
}

// contentNames returns the names of the content u may see, by GUID
// (empty when the content cannot be read: pages then show GUIDs).
func (d *Dashboard) contentNames(ctx context.Context, u *podium.User) map[string]string {
	names := map[string]string{}
	if d.opts.Content == nil {
		return names
	}
	list, err := d.opts.Content.ContentList(ctx, u)
	if err != nil {
		return names
	}
	for _, c := range list {
		names[c.GUID] = c.Name
	}
	return names
}
