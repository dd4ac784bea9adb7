package dashboard

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
)

// How much of a content item's history its page shows.
const (
	pageTasks   = 10
	pageRenders = 20
	pageJobs    = 20
)

// contentRow is one line of the content list.
type contentRow struct {
	*podium.Content
	Owner string
}

// contentList answers GET /__dashboard__/: the content the user may see.
func (d *Dashboard) contentList(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	if d.opts.Content == nil {
		return &view{Name: "content_list", Title: "Content", Data: []contentRow(nil)}, nil
	}
	list, err := d.opts.Content.ContentList(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("content list: %w", err)
	}
	rows := make([]contentRow, 0, len(list))
	owners := map[int64]string{}
	for _, ct := range list {
		rows = append(rows, contentRow{Content: ct, Owner: d.username(ctx, owners, ct.OwnerID)})
	}
	return &view{Name: "content_list", Title: "Content", Data: rows}, nil
}

// username returns the name of user id, "#id" when it cannot be read.
func (d *Dashboard) username(ctx context.Context, cache map[int64]string, id int64) string {
	if n, ok := cache[id]; ok {
		return n
	}
	name := fmt.Sprintf("#%d", id)
	if d.opts.DB != nil {
		if u, err := d.opts.DB.UserGetByID(ctx, id); err == nil {
			name = u.Username
		}
	}
	cache[id] = name
	return name
}

// contentView is the data of the content page.
type contentView struct {
	Content     *podium.Content
	Owner       string
	CanEdit     bool
	Bundles     []*podium.Bundle
	Tasks       []*podium.Task
	Renders     []*podium.Render
	Schedule    *podium.Schedule
	Jobs        []*podium.Job
	IsApp       bool
	Processes   []Process
	ProcError   string
	HasProcs    bool
	ACL         []*podium.ContentACLEntry
	ACLHidden   bool
	Unavailable []string
}

// contentPage answers GET /__dashboard__/content/:guid.
func (d *Dashboard) contentPage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	guid := c.Param("guid")
	if d.opts.Content == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "publishing is not available on this node")
	}
	ct, canEdit, err := d.opts.Content.ContentGet(ctx, u, guid)
	if err != nil {
		return nil, fmt.Errorf("content page: %w", err)
	}
	v := &contentView{Content: ct, CanEdit: canEdit, Owner: d.username(ctx, map[int64]string{}, ct.OwnerID)}
	// Bundles, deployment logs, renders and processes are for those who
	// may change the content (as in the API); a viewer sees the content,
	// its facts, schedule and access type.
	if canEdit {
		if v.Bundles, err = d.opts.Content.BundleList(ctx, u, guid); err != nil {
			return nil, fmt.Errorf("content page: bundles: %w", err)
		}
		if v.Tasks, err = d.contentTasks(ctx, ct.ID, pageTasks); err != nil {
			return nil, err
		}
		if v.Renders, err = d.contentRenders(ctx, ct.ID, pageRenders); err != nil {
			return nil, err
		}
	}
	if d.opts.Jobs != nil {
		v.Schedule, err = d.opts.Jobs.ScheduleGet(ctx, u, guid)
		if err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
			return nil, fmt.Errorf("content page: schedule: %w", err)
		}
		v.Jobs, err = d.opts.Jobs.ContentJobs(ctx, u, guid, pageJobs)
		switch podium.ErrorCode(err) {
		case "":
		case podium.ENOTFOUND, podium.EFORBIDDEN, podium.EINVALID:
			// Not a report, or not the user's to see: no jobs to show.
			v.Jobs = nil
		default:
			return nil, fmt.Errorf("content page: jobs: %w", err)
		}
	} else {
		v.Unavailable = append(v.Unavailable, "schedules and jobs")
	}
	v.IsApp = ct.AppMode == "app" || ct.AppMode == "api"
	if d.opts.Processes != nil && canEdit {
		v.HasProcs = true
		v.Processes, v.ProcError = d.opts.Processes.Processes(guid)
	}
	if canEdit {
		if v.ACL, err = d.opts.Content.Permissions(ctx, u, guid); err != nil {
			return nil, fmt.Errorf("content page: access: %w", err)
		}
	} else {
		v.ACLHidden = true
	}
	title := ct.Title
	if title == "" {
		title = ct.Name
	}
	return &view{Name: "content", Title: title, Data: v}, nil
}

// contentTasks returns the newest tasks (deployments and ad-hoc renders)
// of content with their output.
func (d *Dashboard) contentTasks(ctx context.Context, contentID int64, limit int) ([]*podium.Task, error) {
	if d.opts.DB == nil {
		return nil, nil
	}
	tasks, err := d.opts.DB.TaskList(ctx, contentID, limit)
	if err != nil {
		return nil, fmt.Errorf("content page: tasks: %w", err)
	}
	return tasks, nil
}

// contentRenders returns the newest renders of content.
func (d *Dashboard) contentRenders(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error) {
	if d.opts.DB == nil {
		return nil, nil
	}
	renders, err := d.opts.DB.RenderListRecent(ctx, contentID, limit)
	if err != nil {
		return nil, fmt.Errorf("content page: renders: %w", err)
	}
	return renders, nil
}
