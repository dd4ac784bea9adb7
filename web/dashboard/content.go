package dashboard

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

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
	// Shown: the row matches the list's filter (the page's script
	// filters again as one types).
	Shown bool
	// Tagged: the row has the tag the list is filtered by (true when it
	// is filtered by none).
	Tagged bool
	// State says why content without a kind has none yet: deploying,
	// its deployment failed, or never deployed.
	State, StateTone string
}

// tagOption is one tag of the content list's tag filter, named by its
// path in the tree ("Departments / Sales").
type tagOption struct {
	ID   string
	Path string
}

// contentListView is the data of the content list.
type contentListView struct {
	Rows  []contentRow
	Shown []contentRow
	// The filter, as given: words, kind ("none": not deployed), access,
	// tag (an id).
	Query, Mode, Access, Tag string
	Done                     string
	// Tags are the tag filter's choices (none without tags).
	Tags []tagOption
	// Top is the most used content the user may see (usage.go).
	Top      []topRow
	TopError string
}

// contentList answers GET /__dashboard__/: the content the user may see,
// filtered by ?q= (words in the name, title or owner), ?mode= and
// ?access=.
func (d *Dashboard) contentList(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	v := &contentListView{Query: strings.TrimSpace(c.QueryParam("q")), Mode: c.QueryParam("mode"), Access: c.QueryParam("access"),
		Tag: c.QueryParam("tag"), Done: doneMessages[c.QueryParam("done")]}
	if d.opts.Content == nil {
		return &view{Name: "content_list", Title: "Content", Data: v}, nil
	}
	list, err := d.opts.Content.ContentList(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("content list: %w", err)
	}
	tagged, err := d.tagFilter(ctx, u, v)
	if err != nil {
		return nil, err
	}
	owners := map[int64]string{}
	words := strings.ToLower(v.Query)
	visible := make(map[int64]*podium.Content, len(list))
	for _, ct := range list {
		visible[ct.ID] = ct
	}
	v.Top, v.TopError = d.topUsage(ctx, visible)
	for _, ct := range list {
		r := contentRow{Content: ct, Owner: d.username(ctx, owners, ct.OwnerID), Tagged: tagged == nil || tagged[ct.ID]}
		if ct.ActiveBundleID == nil {
			// Only content never deployed: one short read each.
			var tasks []*podium.Task
			if d.opts.History != nil {
				tasks, _ = d.opts.History.TaskList(ctx, ct.ID, 3)
			}
			r.State, r.StateTone = contentState(ct, tasks)
		}
		mode := ct.AppMode
		if mode == "" {
			mode = "none"
		}
		r.Shown = (words == "" || strings.Contains(strings.ToLower(ct.Name+" "+ct.Title+" "+r.Owner+" "+ct.GUID), words)) &&
			(v.Mode == "" || v.Mode == mode) && (v.Access == "" || v.Access == ct.AccessType) && r.Tagged
		v.Rows = append(v.Rows, r)
		if r.Shown {
			v.Shown = append(v.Shown, r)
		}
	}
	return &view{Name: "content_list", Title: "Content", Data: v}, nil
}

// catalogFacts fills the tags (by path) and the vanity path of the content
// page.
func (d *Dashboard) catalogFacts(ctx context.Context, u *podium.User, guid string, v *contentView) error {
	if d.opts.Tags == nil {
		return nil
	}
	tags, err := d.opts.Tags.ContentTags(ctx, u, guid)
	if err != nil {
		return fmt.Errorf("content page: tags: %w", err)
	}
	if len(tags) > 0 {
		var lv contentListView
		if _, err := d.tagFilter(ctx, u, &lv); err != nil {
			return err
		}
		paths := map[string]string{}
		for _, o := range lv.Tags {
			paths[o.ID] = o.Path
		}
		for _, t := range tags {
			v.Tags = append(v.Tags, paths[strconv.FormatInt(t.ID, 10)])
		}
		sort.Strings(v.Tags)
	}
	v.Vanity, err = d.opts.Tags.Vanity(ctx, u, guid)
	if err != nil {
		return fmt.Errorf("content page: vanity: %w", err)
	}
	return nil
}

// tagFilter fills the tag filter's choices and returns the ids of the
// content tagged with v.Tag (nil when the list is not filtered by tag).
// An unknown tag filters out everything.
func (d *Dashboard) tagFilter(ctx context.Context, u *podium.User, v *contentListView) (map[int64]bool, error) {
	if d.opts.Tags == nil {
		return nil, nil
	}
	tags, err := d.opts.Tags.Tags(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	byID := map[int64]*podium.Tag{}
	for _, t := range tags {
		byID[t.ID] = t
	}
	for _, t := range tags {
		path := t.Name
		for p, n := t.ParentID, 0; p != nil && byID[*p] != nil && n < len(tags); p, n = byID[*p].ParentID, n+1 {
			path = byID[*p].Name + " / " + path
		}
		v.Tags = append(v.Tags, tagOption{ID: strconv.FormatInt(t.ID, 10), Path: path})
	}
	sort.Slice(v.Tags, func(i, j int) bool { return v.Tags[i].Path < v.Tags[j].Path })
	if v.Tag == "" {
		return nil, nil
	}
	out := map[int64]bool{}
	id, err := strconv.ParseInt(v.Tag, 10, 64)
	if err != nil || byID[id] == nil {
		return out, nil
	}
	list, err := d.opts.Tags.TagContent(ctx, u, id)
	if err != nil {
		return nil, fmt.Errorf("content tagged %d: %w", id, err)
	}
	for _, c := range list {
		out[c.ID] = true
	}
	return out, nil
}

// username returns the name of user id, "#id" when it cannot be read.
func (d *Dashboard) username(ctx context.Context, cache map[int64]string, id int64) string {
	if n, ok := cache[id]; ok {
		return n
	}
	name := fmt.Sprintf("#%d", id)
	if d.opts.Users != nil {
		if u, err := d.opts.Users.GetUser(ctx, id); err == nil {
			name = u.Username
		}
	}
	cache[id] = name
	return name
}

// contentView is the data of the content page.
type contentView struct {
	Content *podium.Content
	// Usage is the visits and sessions per day (usage.go).
	Usage *usageChart
	// Tags are the content's tags, by path; Vanity its vanity path ("").
	Tags        []string
	Vanity      string
	Owner       string
	CanEdit     bool
	CanManage   bool
	Bundles     []*podium.Bundle
	Tasks       []*podium.Task
	Renders     []*podium.Render
	Schedule    *podium.Schedule
	NextRuns    []time.Time
	Jobs        []*podium.Job
	IsApp       bool
	IsReport    bool
	Processes   []Process
	ProcError   string
	HasProcs    bool
	ACL         []*podium.ContentACLEntry
	GroupACL    []*podium.ContentGroupACLEntry
	ACLHidden   bool
	Unavailable []string
	// State says in words where the content stands ("Deploying…",
	// "Last deployment failed", ...).
	State     string
	StateTone string // "ok", "run", "fail", ""
	// Manageable: the node can change content (the settings forms).
	Manageable bool
	Env        []string
	Proc       *ProcessSettings
	ProcErr    string
	Groups     bool
	// Done confirms what the last form did (?done=); Follow is the task
	// whose log the page follows (?task=).
	Done   string
	Follow string
	// Form is the refused form shown again, nil when none.
	Form *formError
}

// FormValue returns the value the refused form sent for key when the
// refusal is about section, else def: a refused form keeps what was typed.
func (v *contentView) FormValue(section, key, def string) string {
	if v.Form != nil && v.Form.Section == section && v.Form.Values != nil {
		return v.Form.Values.Get(key)
	}
	return def
}

// FormError returns the message of a refusal of section's form.
func (v *contentView) FormError(section string) string {
	if v.Form != nil && v.Form.Section == section {
		return v.Form.Message
	}
	return ""
}

// contentPage answers GET /__dashboard__/content/:guid.
func (d *Dashboard) contentPage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	guid := c.Param("guid")
	if d.opts.Content == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "publishing is not available on this node")
	}
	ct, rights, err := d.opts.Content.ContentGet(ctx, u, guid)
	if err != nil {
		return nil, fmt.Errorf("content page: %w", err)
	}
	v := &contentView{Content: ct, CanEdit: rights.Edit, CanManage: rights.Manage,
		Owner: d.username(ctx, map[int64]string{}, ct.OwnerID), Manageable: d.opts.Manage != nil}
	v.Form, _ = c.Get(formErrorKey).(*formError)
	if v.Form == nil {
		v.Done = doneMessages[c.QueryParam("done")]
		if t := c.QueryParam("task"); taskIDPattern.MatchString(t) {
			v.Follow = t
		}
	}
	canEdit := rights.Edit
	// Bundles, deployment logs, renders, settings and processes are for
	// those who may change the content (as in the API); a viewer sees the
	// content, its facts, schedule and access type.
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
	if err := d.catalogFacts(ctx, u, guid, v); err != nil {
		return nil, err
	}
	v.State, v.StateTone = contentState(ct, v.Tasks)
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
	if v.Schedule != nil && v.Schedule.Enabled && d.opts.Manage != nil {
		v.NextRuns, _ = d.opts.Manage.NextRuns(v.Schedule.Spec, v.Schedule.Timezone, 3)
	}
	v.IsApp = ct.AppMode == "app" || ct.AppMode == "api"
	v.IsReport = ct.AppMode == "report"
	if d.opts.Processes != nil && canEdit {
		v.HasProcs = true
		v.Processes, v.ProcError = d.opts.Processes.Processes(guid)
	}
	if canEdit {
		list, err := d.opts.Content.Permissions(ctx, u, guid)
		if err != nil && !podium.IsCode(err, podium.EFORBIDDEN) {
			return nil, fmt.Errorf("content page: access: %w", err)
		}
		if list != nil {
			v.ACL, v.GroupACL = list.Users, list.Groups
		}
	} else {
		v.ACLHidden = true
	}
	if canEdit && d.opts.Manage != nil {
		v.Groups = d.opts.Manage.GroupsSupported()
		if v.Env, err = d.opts.Manage.EnvNames(ctx, u, guid); err != nil {
			return nil, fmt.Errorf("content page: environment: %w", err)
		}
		if v.IsApp {
			if v.Proc, err = d.opts.Manage.ProcessSettings(ctx, u, guid); err != nil {
				v.ProcErr = podium.ErrorMessage(err)
			}
		}
	}
	v.Usage = d.contentUsage(ctx, ct.ID, v.IsApp)
	title := ct.Title
	if title == "" {
		title = ct.Name
	}
	return &view{Name: "content", Title: title, Data: v}, nil
}

// taskIDPattern is what a task id looks like (?task= is put in a page).
var taskIDPattern = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

// contentState says in words where content stands: deployed, being
// deployed, its last deployment failed, or never deployed. tasks are its
// newest tasks (nil for those who may not see them).
func contentState(ct *podium.Content, tasks []*podium.Task) (string, string) {
	for _, t := range tasks {
		if t.Kind != "deploy" && t.Kind != "build" {
			continue
		}
		switch {
		case !t.Finished:
			return "Deploying now", "run"
		case t.Code != 0 && ct.ActiveBundleID == nil:
			return "Not deployed: the last deployment failed", "fail"
		case t.Code != 0:
			return "Running the previous bundle: the last deployment failed", "fail"
		}
		break
	}
	if ct.ActiveBundleID == nil {
		return "Not deployed yet", ""
	}
	return "Deployed", "ok"
}

// contentTasks returns the newest tasks (deployments and ad-hoc renders)
// of content with their output.
func (d *Dashboard) contentTasks(ctx context.Context, contentID int64, limit int) ([]*podium.Task, error) {
	if d.opts.History == nil {
		return nil, nil
	}
	tasks, err := d.opts.History.TaskList(ctx, contentID, limit)
	if err != nil {
		return nil, fmt.Errorf("content page: tasks: %w", err)
	}
	return tasks, nil
}

// contentRenders returns the newest renders of content.
func (d *Dashboard) contentRenders(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error) {
	if d.opts.History == nil {
		return nil, nil
	}
	renders, err := d.opts.History.RenderListRecent(ctx, contentID, limit)
	if err != nil {
		return nil, fmt.Errorf("content page: renders: %w", err)
	}
	return renders, nil
}
