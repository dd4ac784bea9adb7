package dashboard

import (
	"fmt"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
)

// jobsLimit bounds each list of the jobs page.
const jobsLimit = 100

// jobsView is the data of the jobs page.
type jobsView struct {
	Available bool
	Queued    []*podium.Job
	Running   []*podium.Job
	History   []*podium.Job
}

// jobsPage answers GET /__dashboard__/jobs: the queue, the running jobs
// and the finished ones, each with its node and attempts, limited to the
// content the user may see.
func (d *Dashboard) jobsPage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	v := &jobsView{Available: d.opts.Jobs != nil}
	if v.Available {
		var err error
		if v.Queued, err = d.opts.Jobs.Jobs(ctx, u, podium.JobQueued, jobsLimit); err != nil {
			return nil, fmt.Errorf("jobs page: queued: %w", err)
		}
		if v.Running, err = d.opts.Jobs.Jobs(ctx, u, podium.JobRunning, jobsLimit); err != nil {
			return nil, fmt.Errorf("jobs page: running: %w", err)
		}
		all, err := d.opts.Jobs.Jobs(ctx, u, "", jobsLimit)
		if err != nil {
			return nil, fmt.Errorf("jobs page: history: %w", err)
		}
		for _, j := range all {
			if j.Status == podium.JobSucceeded || j.Status == podium.JobFailed {
				v.History = append(v.History, j)
			}
		}
	}
	return &view{Name: "jobs", Title: "Jobs", Data: v}, nil
}
