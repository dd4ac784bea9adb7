package hacheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/schema"
)

// Status is the verdict on one checklist item.
type Status string

// Statuses, from best to worst.
const (
	Pass Status = "pass"
	// Pending: not known yet, because a node has not reported since the
	// cluster changed (a node that just started); not a failure. Run the
	// check again after one heartbeat.
	Pending Status = "pending"
	Warn    Status = "warn"
	Fail    Status = "fail"
)

// Items of the checklist, in the order Run returns them.
const (
	ItemNodes        = "nodes"
	ItemVersion      = "version"
	ItemDatabase     = "database"
	ItemDataDir      = "data_dir"
	ItemDirs         = "dirs"
	ItemMetrics      = "metrics"
	ItemClock        = "clock"
	ItemRunAs        = "run_as"
	ItemSandbox      = "sandbox"
	ItemScheduling   = "scheduling"
	ItemConnections  = "connections"
	ItemLoadBalancer = "load_balancer"
	// ItemContentOrigin: content served on its own origin ([Server]
	// ContentURL), the same on every node, reachable (with --lb).
	ItemContentOrigin = "content_origin"
)

// Result is the verdict on one checklist item.
type Result struct {
	// Item is the item's id (Item* constants); Title says it in words.
	Item  string `json:"item"`
	Title string `json:"title"`
	// Nodes are the node ids the result concerns (every live node when
	// the result is about all of them).
	Nodes  []string `json:"nodes"`
	Status Status   `json:"result"`
	// Detail says what was found; Action what to do ("" on pass).
	Detail string `json:"detail"`
	Action string `json:"action,omitempty"`
}

// HeaderNode is the response header in which a node names itself, so
// that the load-balancer check can tell nodes apart.
const HeaderNode = "X-Podium-Node"

// Options configure Run.
type Options struct {
	// NodeTimeout is how old a heartbeat may be for a node to count as
	// live ([HA] NodeTimeout).
	NodeTimeout time.Duration
	// ClockWarn and ClockFail are the offset thresholds ([HA]
	// ClockWarnOffset, ClockFailOffset).
	ClockWarn, ClockFail time.Duration
	// BinarySchema is the schema version of the checking binary.
	BinarySchema int64
	// LB, when set, is the load balancer's base URL to check.
	LB string
	// HTTPClient for the load-balancer check (nil: a client with a 5 s
	// timeout).
	HTTPClient *http.Client
	// Wait is how long Run may wait for nodes to report again while an
	// item is pending (a node that just started is not in the others'
	// reports until their next heartbeat, [HA] HeartbeatInterval). 0: no
	// wait, pending items are returned as such.
	Wait time.Duration
}

// pendingPoll is how often Run reads the registry again while it waits.
const pendingPoll = 250 * time.Millisecond

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	return slices.ContainsFunc(results, func(r Result) bool { return r.Status == Fail })
}

// Run checks the cluster on db against the checklist. It returns an error
// only when the registry cannot be read; every finding is a Result. While
// an item is Pending it reads the registry again, up to opts.Wait (or
// until ctx ends), and returns the last verdict.
func Run(ctx context.Context, db dbprovider.Provider, opts Options) ([]Result, error) {
	deadline := time.Now().Add(opts.Wait)
	for {
		out, err := runOnce(ctx, db, opts)
		if err != nil || !slices.ContainsFunc(out, func(r Result) bool { return r.Status == Pending }) ||
			!time.Now().Add(pendingPoll).Before(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(pendingPoll):
		}
	}
}

func runOnce(ctx context.Context, db dbprovider.Provider, opts Options) ([]Result, error) {
	live, err := db.NodeListLive(ctx, opts.NodeTimeout)
	if err != nil {
		return nil, fmt.Errorf("ha check: %w", err)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
	ids := nodeIDs(live)
	if len(live) == 0 {
		return []Result{{Item: ItemNodes, Title: "live nodes", Nodes: []string{}, Status: Fail,
			Detail: "no live node on this database (" + db.Describe() + ")",
			Action: "start the nodes (podium serve) and run the check again; it reads what running nodes report"}}, nil
	}
	c := &checker{db: db, opts: opts, live: live, ids: ids, facts: map[string]Facts{}}
	var missing []string
	for _, n := range live {
		if f, ok := FactsFromInfo(n.Info); ok {
			c.facts[n.ID] = f
		} else {
			missing = append(missing, n.ID)
		}
	}
	nodes := Result{Item: ItemNodes, Title: "live nodes", Nodes: ids, Status: Pass,
		Detail: fmt.Sprintf("%d live node(s) on %s", len(live), db.Describe())}
	if len(live) == 1 {
		nodes.Detail += ": single node, items about several nodes pass trivially"
	}
	if len(missing) > 0 {
		nodes.Status, nodes.Nodes = Warn, missing
		nodes.Detail = "these nodes have not reported their facts yet (just started, or an older version)"
		nodes.Action = "wait one heartbeat ([HA] HeartbeatInterval) and run the check again"
	}
	out := []Result{nodes, c.version(ctx), c.database(), c.dataDir(), c.dirs(), c.metrics(), c.clock(), c.runAs(), c.sandbox(), c.scheduling(),
		c.disk(), c.connections(ctx), c.contentOrigin(ctx)}
	if r, ok := c.certificates(time.Now()); ok {
		out = append(out, r)
	}
	if r, ok := c.sso(); ok {
		out = append(out, r)
	}
	if opts.LB != "" {
		out = append(out, c.loadBalancer(ctx))
	}
	return out, nil
}

type checker struct {
	db    dbprovider.Provider
	opts  Options
	live  []*podium.Node
	ids   []string
	facts map[string]Facts
}

func nodeIDs(nodes []*podium.Node) []string {
	out := []string{}
	for _, n := range nodes {
		out = append(out, n.ID)
	}
	return out
}

func (c *checker) single() bool { return len(c.live) == 1 }

// version checks that every live node can serve on the database: its
// binary at or above the database's compatibility floor. Nodes on
// different versions while the floor allows them all are a rolling upgrade
// in progress (warn), not a failure; see docs/upgrading.md.
func (c *checker) version(ctx context.Context) Result {
	r := Result{Item: ItemVersion, Title: "same version everywhere, database at the binary's schema", Nodes: c.ids, Status: Pass}
	byVersion := map[string][]string{}
	bySchema := map[int64][]string{}
	newest := int64(0)
	for _, n := range c.live {
		byVersion[n.Version] = append(byVersion[n.Version], n.ID)
		bs := c.facts[n.ID].BinarySchema
		if bs == 0 {
			bs = n.SchemaVersion
		}
		bySchema[bs] = append(bySchema[bs], n.ID)
		newest = max(newest, bs)
	}
	floor, dbv, err := schema.Floor(ctx, c.db)
	if err != nil {
		r.Status, r.Detail, r.Action = Fail, "cannot read the schema version: "+podium.ErrorMessage(err), "check the database connection"
		return r
	}
	var problems []string
	for _, n := range c.live {
		bs := c.facts[n.ID].BinarySchema
		if bs == 0 {
			bs = n.SchemaVersion
		}
		if bs < floor {
			problems = append(problems, fmt.Sprintf("node %s: binary schema %d is below the database's floor %d (database at %d): it cannot serve",
				n.ID, bs, floor, dbv))
			r.Action = "upgrade the nodes whose binary is below the database's floor (docs/upgrading.md)"
		}
	}
	if c.opts.BinarySchema != 0 && c.opts.BinarySchema < floor {
		problems = append(problems, fmt.Sprintf("this podium binary knows schema %d, below the database's floor %d", c.opts.BinarySchema, floor))
		if r.Action == "" {
			r.Action = "run the check with the nodes' podium binary"
		}
	}
	if len(problems) > 0 {
		r.Status, r.Detail = Fail, strings.Join(problems, "; ")
		return r
	}
	if len(byVersion) > 1 || len(bySchema) > 1 || (newest > 0 && floor < newest) || dbv > floor {
		r.Status = Warn
		r.Detail = fmt.Sprintf("upgrade in progress: versions %s; database schema %d, floor %d", groups(byVersion), dbv, floor)
		r.Action = "replace the remaining older nodes one by one, then run \"podium migrate schema finalize\" (docs/upgrading.md, Rolling upgrades)"
		return r
	}
	for v := range byVersion {
		r.Detail = fmt.Sprintf("version %s, schema %d", v, dbv)
	}
	return r
}

func (c *checker) database() Result {
	r := Result{Item: ItemDatabase, Title: "PostgreSQL, HA enabled everywhere", Nodes: c.ids, Status: Pass}
	if !c.db.SupportsHA() {
		r.Status = Fail
		r.Detail = "the database is " + c.db.Name() + ", which serves one node only"
		r.Action = "move the data to PostgreSQL with \"podium migrate db\", then set [Database] Provider = postgres and [HA] Enabled = true on every node (docs/moving-to-postgresql.md)"
		return r
	}
	var off []string
	for _, n := range c.live {
		if !n.HAEnabled {
			off = append(off, n.ID)
		}
	}
	switch {
	case len(off) == 0:
		r.Detail = "PostgreSQL; [HA] Enabled on every node"
	case c.single():
		r.Detail = "PostgreSQL; single node without [HA] Enabled: fine for one node"
	default:
		r.Status, r.Nodes = Fail, off
		r.Detail = "[HA] Enabled is off on " + strings.Join(off, ", ")
		r.Action = "set [HA] Enabled = true on every node"
	}
	return r
}

// sharedMarkers checks that every live node sees the marker of every
// other live node in the directories of kind. A marker a node did not see
// because it listed the markers before the other node started (it has
// not heartbeated since) is pending, not a problem.
func (c *checker) sharedMarkers(kind string) (problems, bad, pending []string) {
	started := map[string]time.Time{}
	for _, n := range c.live {
		started[n.ID] = n.StartedAt
	}
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		if !ok {
			continue
		}
		if e := f.MarkerErrors[kind]; e != "" {
			problems = append(problems, fmt.Sprintf("node %s: %s", n.ID, e))
			bad = append(bad, n.ID)
			continue
		}
		// A database time before the node listed the markers (its last
		// heartbeat when it does not say: at registration, or an older
		// node).
		read := n.HeartbeatAt
		if !f.MarkersReadAfter.IsZero() {
			read = f.MarkersReadAfter
		}
		var notSeen, notYet []string
		for _, other := range c.ids {
			if other != n.ID && !slices.Contains(f.Markers[kind], other) {
				if _, reported := c.facts[other]; !reported {
					continue
				}
				if !read.After(started[other]) {
					notYet = append(notYet, other)
				} else {
					notSeen = append(notSeen, other)
				}
			}
		}
		if len(notSeen) > 0 {
			problems = append(problems, fmt.Sprintf("node %s does not see the markers of %s", n.ID, strings.Join(notSeen, ", ")))
			bad = append(bad, n.ID)
		}
		if len(notYet) > 0 {
			pending = append(pending, fmt.Sprintf("node %s has not looked for the markers since %s started", n.ID, strings.Join(notYet, ", ")))
		}
	}
	return problems, bad, pending
}

// pendingAction is the advice of a pending item.
const pendingAction = "wait one heartbeat ([HA] HeartbeatInterval) and run the check again"

func (c *checker) dataDir() Result {
	r := Result{Item: ItemDataDir, Title: "[Server] DataDir shared by every node", Nodes: c.ids, Status: Pass}
	if c.single() {
		r.Detail = "single node"
		return r
	}
	problems, bad, pending := c.sharedMarkers(MarkersDataDir)
	if len(problems) > 0 {
		r.Status, r.Nodes, r.Detail = Fail, bad, strings.Join(problems, "; ")
		r.Action = "mount the same shared folder (NFS) as [Server] DataDir on every node; each node writes " + MarkerDir + "/<node id> there and must see the others'"
		return r
	}
	if len(pending) > 0 {
		r.Status, r.Detail, r.Action = Pending, "not known yet: "+strings.Join(pending, "; "), pendingAction
		return r
	}
	r.Detail = "every node sees every other node's marker in its DataDir"
	return r
}

func (c *checker) dirs() Result {
	r := Result{Item: ItemDirs, Title: "[Server] LandingDir and [Database] Dir consistent and shared where set", Nodes: c.ids, Status: Pass}
	landing := map[string][]string{}
	dbDirs := map[string][]string{}
	for _, n := range c.live {
		f := c.facts[n.ID]
		landing[f.LandingDir] = append(landing[f.LandingDir], n.ID)
		dbDirs[f.DatabaseDir] = append(dbDirs[f.DatabaseDir], n.ID)
	}
	var notes, problems, pending []string
	switch {
	case len(landing) > 1:
		problems = append(problems, "[Server] LandingDir differs: "+groups(landing))
	case landing[""] != nil:
		notes = append(notes, "LandingDir not set (built-in landing page)")
	case c.single():
		notes = append(notes, "LandingDir set; single node")
	default:
		p, _, pend := c.sharedMarkers(MarkersLandingDir)
		problems = append(problems, p...)
		switch {
		case len(p) > 0:
		case len(pend) > 0:
			pending = pend
		default:
			notes = append(notes, "LandingDir shared")
		}
	}
	if c.db.SupportsHA() {
		notes = append(notes, "[Database] Dir unused with PostgreSQL")
	} else if len(dbDirs) > 1 {
		problems = append(problems, "[Database] Dir differs: "+groups(dbDirs))
	}
	if len(problems) > 0 {
		r.Status, r.Detail = Fail, strings.Join(problems, "; ")
		r.Action = "point [Server] LandingDir (and [Database] Dir, if customized) at the same shared location on every node"
		return r
	}
	if len(pending) > 0 {
		r.Status, r.Detail, r.Action = Pending, "LandingDir not known yet: "+strings.Join(pending, "; "), pendingAction
		return r
	}
	r.Detail = strings.Join(notes, "; ")
	return r
}

func (c *checker) metrics() Result {
	r := Result{Item: ItemMetrics, Title: "[Metrics] DataPath unique per node (or Graphite)", Nodes: c.ids, Status: Pass}
	allGraphite := true
	where := map[string][]string{}
	for _, n := range c.live {
		f := c.facts[n.ID]
		allGraphite = allGraphite && f.GraphiteEnabled
		key := n.Hostname + ":" + f.MetricsPath
		where[key] = append(where[key], n.ID)
	}
	var problems []string
	for k, ids := range where {
		if len(ids) > 1 {
			problems = append(problems, fmt.Sprintf("nodes %s use the same DataPath %s", strings.Join(ids, ", "), k))
		}
	}
	// A node that sees another live node's marker in its DataPath shares it
	// (NFS), even under another name.
	for _, n := range c.live {
		for _, seen := range c.facts[n.ID].Markers[MarkersMetricsPath] {
			if seen != n.ID && slices.Contains(c.ids, seen) {
				problems = append(problems, fmt.Sprintf("node %s sees the metrics marker of %s in its DataPath", n.ID, seen))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		r.Status, r.Detail = Fail, strings.Join(problems, "; ")
		r.Action = "give every node its own [Metrics] DataPath (the default {StateDir}/metrics is), or enable Graphite to aggregate"
		return r
	}
	r.Detail = "every node has its own DataPath"
	if allGraphite {
		r.Detail += "; Graphite enabled on every node"
	}
	return r
}

func (c *checker) clock() Result {
	r := Result{Item: ItemClock, Title: "clocks synchronized with the database", Nodes: c.ids, Status: Pass}
	var worst Status = Pass
	var bad, details []string
	for _, n := range c.live {
		off := n.ClockOffset
		if off < 0 {
			off = -off
		}
		s := Pass
		switch {
		case c.opts.ClockFail > 0 && off > c.opts.ClockFail:
			s = Fail
		case c.opts.ClockWarn > 0 && off > c.opts.ClockWarn:
			s = Warn
		}
		details = append(details, fmt.Sprintf("%s %s", n.ID, n.ClockOffset.Round(time.Millisecond)))
		if s != Pass {
			bad = append(bad, n.ID)
		}
		if s == Fail || (s == Warn && worst == Pass) {
			worst = s
		}
	}
	r.Detail = "offsets: " + strings.Join(details, ", ") + fmt.Sprintf(" (warn over %s, fail over %s)", c.opts.ClockWarn, c.opts.ClockFail)
	if worst != Pass {
		r.Status, r.Nodes = worst, bad
		r.Action = "synchronize the clocks of every node and of the database host (ntp, chrony)"
	}
	return r
}

func (c *checker) runAs() Result {
	r := Result{Item: ItemRunAs, Title: "[Applications] RunAs user and SharedRunAsUnixGroup: same uid/gid everywhere", Nodes: c.ids, Status: Pass}
	users := map[string][]string{}
	grps := map[string][]string{}
	unresolved := 0
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		if !ok {
			continue
		}
		uk := fmt.Sprintf("%s uid=%s gid=%s", f.RunAs.Name, f.RunAs.UID, f.RunAs.GID)
		if f.RunAs.Error != "" {
			uk = f.RunAs.Name + " unresolved (" + f.RunAs.Error + ")"
			unresolved++
		}
		gk := fmt.Sprintf("%s gid=%s", f.SharedGroup.Name, f.SharedGroup.GID)
		if f.SharedGroup.Error != "" {
			gk = f.SharedGroup.Name + " unresolved"
		}
		users[uk] = append(users[uk], n.ID)
		grps[gk] = append(grps[gk], n.ID)
	}
	switch {
	case len(users) > 1 || len(grps) > 1:
		r.Status = Fail
		r.Detail = "users: " + groups(users) + "; groups: " + groups(grps)
		r.Action = "create the RunAs user and the shared group with the same uid and gid on every node (id <user> shows them), and use the same names in the configuration"
	case unresolved > 0:
		r.Status = Warn
		r.Detail = "the same everywhere, but " + groups(users)
		r.Action = "create the RunAs user (with the same uid/gid on every node) before deploying apps"
	default:
		r.Detail = groups(users) + "; group " + groups(grps)
	}
	return r
}

// sandbox checks that every node runs content in sandboxes, with the same
// uid range (a content item must have one uid on shared storage).
func (c *checker) sandbox() Result {
	r := Result{Item: ItemSandbox, Title: "[Applications] Sandbox: every content process in its own sandbox, same uids everywhere", Nodes: c.ids, Status: Pass}
	states := map[string][]string{}
	var off, unavailable, unknown []string
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		if !ok {
			continue
		}
		sb := f.Sandbox
		if sb == nil {
			unknown = append(unknown, n.ID)
			continue
		}
		k := fmt.Sprintf("on, uids %s, network %s, cgroups %t", sb.UIDRange, sb.Network, sb.Cgroups)
		switch sb.State {
		case "off":
			k = "off"
			off = append(off, n.ID)
		case "unavailable":
			k = "unavailable (" + sb.Error + ")"
			unavailable = append(unavailable, n.ID)
		}
		states[k] = append(states[k], n.ID)
	}
	r.Detail = groups(states)
	switch {
	case len(unavailable) > 0:
		r.Status = Fail
		r.Action = "these nodes refuse to start content processes: install bubblewrap (apt-get install bubblewrap), run podium as root where namespaces are allowed, or set [Applications] Sandbox = false"
	case len(off) > 0:
		r.Status = Warn
		r.Action = "[Applications] Sandbox = false: content runs as RunAs without isolation from other content; set it to true (the default) on every node"
	case len(states) > 1:
		r.Status = Fail
		r.Action = "use the same [Applications] SandboxUIDRange and SandboxNetwork on every node: a content item must run as the same uid everywhere"
	case len(unknown) > 0:
		r.Status = Warn
		r.Detail += fmt.Sprintf("; %d node(s) do not say (an older version)", len(unknown))
	}
	return r
}

func (c *checker) scheduling() Result {
	r := Result{Item: ItemScheduling, Title: "at least one node runs scheduled work", Nodes: c.ids, Status: Pass}
	var takers []string
	for _, n := range c.live {
		if c.facts[n.ID].ScheduleConcurrency > 0 {
			takers = append(takers, n.ID)
		}
	}
	if len(takers) == 0 {
		r.Status, r.Detail = Fail, "[Applications] ScheduleConcurrency is 0 on every live node"
		r.Action = "set [Applications] ScheduleConcurrency above 0 on at least one node"
		return r
	}
	r.Detail = "ScheduleConcurrency above 0 on " + strings.Join(takers, ", ")
	return r
}

// DefaultPoolSize is [Postgres] MaxConns's default, assumed for a node that
// did not report its own.
const DefaultPoolSize = 10

// SpareConnections is the headroom the connections item asks for beyond
// the live nodes' needs: one more node (a rolling upgrade starts the new
// node before stopping the old one) is added separately; these cover
// podium commands (migrate, ha check, db) and an administrator's psql.
const SpareConnections = 5

// NodeConnections is how many PostgreSQL connections a node may hold:
// its pool ([Postgres] MaxConns), the schema watcher's listener, and the
// scheduler's listener when it takes scheduled work.
func NodeConnections(f Facts, reported bool) int {
	pool := f.DBPoolMax
	if !reported || pool <= 0 {
		pool = DefaultPoolSize
	}
	n := pool + 1
	if !reported || f.ScheduleConcurrency > 0 {
		n++
	}
	return n
}

// connections warns when PostgreSQL's max_connections (less the
// superuser-reserved ones) cannot hold every live node's pool and
// listeners, one more node, and SpareConnections.
func (c *checker) connections(ctx context.Context) Result {
	r := Result{Item: ItemConnections, Title: "PostgreSQL max_connections covers every node's pool and listeners", Nodes: c.ids, Status: Pass}
	maxConns, reserved, err := c.db.ConnectionLimit(ctx)
	if err != nil {
		r.Status, r.Detail = Warn, "cannot read max_connections: "+err.Error()
		return r
	}
	if maxConns == 0 {
		r.Detail = "SQLite: one node, no connection limit"
		return r
	}
	need, largest := 0, 0
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		k := NodeConnections(f, ok)
		need += k
		largest = max(largest, k)
	}
	need += largest + SpareConnections
	avail := maxConns - reserved
	r.Detail = fmt.Sprintf("%d live node(s) may hold %d connections (pool + listeners each); with one more node and %d spare that is %d; max_connections %d less %d reserved = %d",
		len(c.live), need-largest-SpareConnections, SpareConnections, need, maxConns, reserved, avail)
	if avail < need {
		r.Status = Warn
		r.Action = fmt.Sprintf("raise max_connections in postgresql.conf to at least %d (a restart of PostgreSQL), or lower [Postgres] MaxConns on the nodes (docs/scheduling.md, Capacity)",
			need+reserved)
	}
	return r
}

// loadBalancer checks that /__ping__ answers through the balancer, that
// it sets a cookie, and that requests carrying the cookie reach one node.
func (c *checker) loadBalancer(ctx context.Context) Result {
	r := Result{Item: ItemLoadBalancer, Title: "load balancer: /__ping__ reachable, sticky cookie", Nodes: c.ids, Status: Pass}
	base := c.opts.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 5 * time.Second}
	}
	url := strings.TrimRight(c.opts.LB, "/") + "/__ping__"
	cl := *base
	cl.Jar = nil // cookies are sent back by hand, below
	// get asks for /__ping__ with cookies and returns the node that
	// answered and the cookies the answer set.
	var plainHTTP bool // the last answer came over plain HTTP (after any redirect to HTTPS)
	get := func(cookies []*http.Cookie) (node string, set []*http.Cookie, err error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", nil, err
		}
		for _, ck := range cookies {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		resp, err := cl.Do(req)
		if err != nil {
			return "", nil, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", nil, fmt.Errorf("%s answered %s", url, resp.Status)
		}
		plainHTTP = resp.Request.URL.Scheme == "http"
		return resp.Header.Get(HeaderNode), resp.Cookies(), nil
	}
	// Without a cookie: reachable? a cookie set? which nodes answer?
	seen := map[string]bool{}
	var cookies []*http.Cookie
	for range 2 * max(len(c.live), 2) {
		node, set, err := get(nil)
		if err != nil {
			r.Status, r.Detail, r.Action = Fail, "/__ping__ through the load balancer: "+err.Error(), "route "+c.opts.LB+" to the nodes and let /__ping__ through (docs/load-balancing.md)"
			return r
		}
		seen[node] = true
		if cookies == nil && len(set) > 0 {
			cookies = set
		}
	}
	if cookies == nil {
		r.Status, r.Detail = Fail, "the load balancer sets no cookie on /__ping__ answers"
		r.Action = "configure cookie-based sticky sessions (docs/load-balancing.md)"
		return r
	}
	// A Secure cookie over plain HTTP is never sent back by browsers and
	// cookie jars (Python's http.cookiejar, which rsconnect-python uses):
	// such clients land on another node at every request.
	for _, ck := range cookies {
		if ck.Secure && plainHTTP {
			r.Status = Fail
			r.Detail = "the load balancer sets the cookie " + ck.Name + " with Secure over plain HTTP: browsers and cookie jars never send it back, so their requests are not pinned to a node"
			r.Action = "terminate HTTPS at the load balancer (deploy/loadbalancer/haproxy-tls.cfg), or drop \"secure\" from the cookie on a plain-HTTP frontend (deploy/loadbalancer/haproxy.cfg)"
			return r
		}
	}
	// With the cookies of one answer, sent back by hand as a browser
	// would.
	reached := map[string]bool{}
	for range 2 * max(len(c.live), 3) {
		node, _, err := get(cookies)
		if err != nil {
			r.Status, r.Detail, r.Action = Fail, "with the cookie: "+err.Error(), "check the load balancer's health checks and routing"
			return r
		}
		reached[node] = true
	}
	if reached[""] {
		r.Status, r.Detail = Warn, "answers carry no "+HeaderNode+" header: cannot tell the nodes apart"
		r.Action = "let the " + HeaderNode + " response header through the load balancer"
		return r
	}
	if len(reached) > 1 {
		r.Status, r.Detail = Fail, "requests carrying the cookie reached "+strings.Join(keys(reached), ", ")
		r.Action = "make the sticky cookie pin a client to one node (docs/load-balancing.md)"
		return r
	}
	r.Detail = fmt.Sprintf("reachable; cookie set; requests with the cookie stay on %s (without it: %s)", keys(reached)[0], strings.Join(keys(seen), ", "))
	return r
}

func keys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// groups prints "a (n1, n2); b (n3)".
func groups(m map[string][]string) string {
	var parts []string
	for k, ids := range m {
		if k == "" {
			k = "(not set)"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", k, strings.Join(ids, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// WriteTable prints results as a table: item, nodes, result, what to do.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tNODES\tRESULT\tDETAIL / WHAT TO DO")
	for _, r := range results {
		text := r.Detail
		if r.Action != "" {
			text += " -> " + r.Action
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Title, strings.Join(r.Nodes, ","), strings.ToUpper(string(r.Status)), text)
	}
	return tw.Flush()
}

// WriteJSON prints results as a JSON array.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
