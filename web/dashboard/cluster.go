package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
)

// chartWindow is how much metrics history the node page draws.
const chartWindow = time.Hour

// nodeRow is one node of the cluster page.
type nodeRow struct {
	*podium.Node
	Live        bool
	Self        bool
	RunningJobs int
	// Processes is the number of live app processes, -1 when unknown
	// (this node counts its own; other nodes report theirs through the
	// metrics store, when it is there).
	Processes int
}

// clusterView is the data of the cluster page.
type clusterView struct {
	Nodes       []nodeRow
	DBNow       time.Time
	Live        int
	JobsKnown   bool
	Checks      []checkRow
	ChecksKnown bool
	ChecksError string
	// Single: one node registered. The checklist is then about what a
	// cluster would need, and what only a cluster needs is not a failure.
	Single bool
}

// checkRow is one item of the checklist as the page shows it.
type checkRow struct {
	HACheck
	Tone  string // the tag's class: pass, warn, fail, or "" (neutral)
	Label string // the tag's words
}

// checkRows labels the checklist's results. On a single node the items
// that only a cluster needs (PostgreSQL and [HA] Enabled) are "for a
// cluster", not failures: the default single node is not broken.
func checkRows(checks []HACheck, single bool) []checkRow {
	out := make([]checkRow, 0, len(checks))
	for _, ch := range checks {
		r := checkRow{HACheck: ch, Tone: ch.Status, Label: ch.Status}
		switch ch.Status {
		case "pass":
			r.Label = "ok"
		case "warn":
			r.Label = "warning"
		case "fail":
			r.Label = "failed"
			if single && strings.Contains(strings.ToLower(ch.Title), "postgresql, ha") {
				r.Tone, r.Label = "", "needed for a cluster"
			}
		}
		out = append(out, r)
	}
	return out
}

// clusterPage answers GET /__dashboard__/cluster (administrators): every
// registered node with host, version, schema, last heartbeat, clock
// offset, running jobs and app processes, then the ha check results.
func (d *Dashboard) clusterPage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	u := web.CurrentUser(c)
	nodes, dbNow, err := d.nodes(ctx)
	if err != nil {
		return nil, err
	}
	v := &clusterView{DBNow: dbNow}
	running := map[string]int{}
	if d.opts.Jobs != nil {
		v.JobsKnown = true
		jobs, err := d.opts.Jobs.Jobs(ctx, u, podium.JobRunning, 1000)
		if err != nil {
			return nil, fmt.Errorf("cluster page: running jobs: %w", err)
		}
		for _, j := range jobs {
			running[j.NodeID]++
		}
	}
	local := d.localProcesses(ctx, u)
	for _, n := range nodes {
		row := nodeRow{Node: n, Live: n.Live(dbNow, d.opts.NodeTimeout), Self: n.ID == d.opts.NodeID,
			RunningJobs: running[n.ID], Processes: -1}
		if row.Self {
			row.Processes = local
		} else if d.opts.Metrics != nil {
			if p, ok := d.opts.Metrics.AppProcesses(ctx, n.ID); ok {
				row.Processes = p
			}
		}
		if row.Live {
			v.Live++
		}
		v.Nodes = append(v.Nodes, row)
	}
	v.Single = len(nodes) == 1
	if d.opts.HAChecks != nil {
		v.ChecksKnown = true
		checks, err := d.opts.HAChecks.HAChecks(ctx)
		if err != nil {
			d.log.WithError(err).Warn("dashboard: cannot read ha check results")
			v.ChecksError = podium.ErrorMessage(err)
		}
		v.Checks = checkRows(checks, v.Single)
	}
	return &view{Name: "cluster", Title: "Cluster", Data: v}, nil
}

// nodes returns the registry, live nodes first, and the database's clock.
func (d *Dashboard) nodes(ctx context.Context) ([]*podium.Node, time.Time, error) {
	if d.opts.Nodes == nil {
		return nil, time.Time{}, podium.Errorf(podium.EUNAVAILABLE, "the database is not available")
	}
	nodes, err := d.opts.Nodes.NodeList(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cluster: nodes: %w", err)
	}
	now, err := d.opts.Nodes.Now(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cluster: database clock: %w", err)
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		return nodes[i].Live(now, d.opts.NodeTimeout) && !nodes[j].Live(now, d.opts.NodeTimeout)
	})
	return nodes, now, nil
}

// localProcesses counts this node's live app processes, -1 when unknown.
func (d *Dashboard) localProcesses(ctx context.Context, u *podium.User) int {
	if d.opts.Processes == nil || d.opts.Content == nil {
		return -1
	}
	list, err := d.opts.Content.ContentList(ctx, u)
	if err != nil {
		return -1
	}
	var guids []string
	for _, ct := range list {
		if ct.AppMode == "app" || ct.AppMode == "api" {
			guids = append(guids, ct.GUID)
		}
	}
	return d.opts.Processes.Running(guids)
}

// nodeView is the data of the node page.
type nodeView struct {
	Node         *podium.Node
	Live         bool
	Self         bool
	Info         map[string]any
	Series       []Series
	SeriesJSON   string
	MetricsKnown bool
	MetricsError string
	Window       time.Duration
}

// chartSeries is a Series as the chart script reads it: times in unix
// milliseconds.
type chartSeries struct {
	Name string    `json:"name"`
	Unit string    `json:"unit"`
	T    []int64   `json:"t"`
	V    []float64 `json:"v"`
}

// nodePage answers GET /__dashboard__/nodes/:id (administrators): the
// node's registry entry and its metrics charts.
func (d *Dashboard) nodePage(c echo.Context) (*view, error) {
	ctx := c.Request().Context()
	id := c.Param("id")
	if d.opts.Nodes == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "the database is not available")
	}
	n, err := d.opts.Nodes.NodeGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("node page: %w", err)
	}
	now, err := d.opts.Nodes.Now(ctx)
	if err != nil {
		return nil, fmt.Errorf("node page: database clock: %w", err)
	}
	v := &nodeView{Node: n, Live: n.Live(now, d.opts.NodeTimeout), Self: n.ID == d.opts.NodeID, Info: n.Info, Window: chartWindow}
	if d.opts.Metrics != nil {
		v.MetricsKnown = true
		if v.Series, err = d.opts.Metrics.NodeSeries(ctx, id, now.Add(-chartWindow)); err != nil {
			// The rest of the page is still worth showing.
			d.log.WithError(err).WithField("node_id", id).Debug("dashboard: no metrics for node")
			v.MetricsError = podium.ErrorMessage(err)
		}
	}
	out := make([]chartSeries, 0, len(v.Series))
	for _, s := range v.Series {
		cs := chartSeries{Name: s.Name, Unit: s.Unit, T: make([]int64, 0, len(s.Points)), V: make([]float64, 0, len(s.Points))}
		for _, p := range s.Points {
			cs.T = append(cs.T, p.T.UnixMilli())
			cs.V = append(cs.V, p.V)
		}
		out = append(out, cs)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("node page: %w", err)
	}
	// The template puts it in a data- attribute (escaped as any attribute);
	// the chart script parses it.
	v.SeriesJSON = string(b)
	return &view{Name: "node", Title: "Node " + n.Hostname, Data: v}, nil
}
