// Package server is a Podium node: it opens the configured database,
// brings the schema to the binary's version (or refuses a newer one),
// registers the node, serves HTTP, heartbeats, watches the schema, and
// shuts down cleanly.
//
// cmd/podium builds a Node from the configuration and runs it; the
// integration tests build the same Node.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbopen"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/certreload"
	"github.com/podiumhq/podium/internal/diskwatch"
	"github.com/podiumhq/podium/internal/fastpath"
	"github.com/podiumhq/podium/internal/heartbeat"
	"github.com/podiumhq/podium/internal/nodeidentity"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/schema"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/dashboard"
	"github.com/sirupsen/logrus"
)

// Node states, as /__ping__ reports them.
const (
	stateStarting int32 = iota
	stateServing
	stateDraining
)

// Node is one running podium server.
type Node struct {
	Config *config.Config
	Log    *logrus.Logger
	// Version is the binary's version (/__ping__, the registry, metrics,
	// the Connect API): cmd/podium passes the one -X stamps; New sets
	// "dev".
	Version string
	// Now is the node's clock (injected for tests).
	Now func() time.Time
	// AuthOptions configure the accounts service (set before Open; tests
	// use cheap password hashing). The zero value takes auth's defaults.
	AuthOptions auth.Options

	id        string
	hostname  string
	db        dbprovider.Provider
	web       *web.Server
	auth      *auth.Service
	ssoProbe  *hacheck.SSOProbe // nil without single sign-on
	publish   *publish.Service
	scheduler *scheduler.Service
	rlang     *rlang.Manager    // see rlang.go
	runtimes  *runtimes.Manager // see runtimes.go
	sandbox   *sandbox.Sandbox  // see sandbox.go
	listener  net.Listener
	// tlsListener serves [HTTPS] Listen (nil without it); certs reloads
	// its certificate.
	tlsListener net.Listener
	certs       *certreload.Reloader
	httpSrv     *http.Server
	fast        *fastpath.Server // nil: [HTTP] FastPath = false

	state        atomic.Int32
	schemaVer    atomic.Int64
	newerSchema  chan int64 // the watcher's verdict
	detectedAt   atomic.Pointer[time.Time]
	services     []Service
	warnings     []func() []string       // extra /__ping__ warnings, from AddWarnings
	infos        []func() map[string]any // extra info document keys, from AddInfo
	stateLock    *nodeidentity.StateLock // the hold on [Server] StateDir
	heartbeat    *heartbeat.Heartbeat    // liveness, clock offset (internal/heartbeat); nil before build
	metrics      *nodeMetrics            // see metrics.go
	diskWatch    *diskwatch.Watch        // free space of DataDir (internal/diskwatch)
	conns        *connLimiter            // see listener.go
	shutdownOnce sync.Once
}

// Service is a part of the node with its own goroutines (heartbeats, the
// schema watcher, the scheduler, app processes, metrics).
type Service interface {
	// Name names the service in logs.
	Name() string
	// Start starts the service's goroutines; they end when ctx ends.
	Start(ctx context.Context) error
	// Stop waits (within ctx) for the goroutines to end and releases what
	// the service holds, so other nodes need not wait for a timeout.
	Stop(ctx context.Context) error
}

// Drainer is implemented by services that take new work (the scheduler
// claiming jobs): Drain is called as soon as the node starts to drain,
// before in-flight requests finish and long before Stop, so that the
// service stops taking work at once. It must return promptly.
type Drainer interface {
	Drain()
}

// Shutdown bounds. Whatever the configuration says, a node that found a
// newer schema exits within 30 seconds of detection: HTTP drains for at
// most the grace period (capped), services then get a few seconds, and
// anything still running at hardStop is abandoned (the process exits).
const (
	maxHTTPDrain     = 20 * time.Second
	serviceStopWait  = 5 * time.Second
	minServiceWait   = 500 * time.Millisecond
	hardStop         = 25 * time.Second
	finalWriteWait   = 2 * time.Second
	closeDatabaseMax = 2 * time.Second
)

// runningService is a started service and the cancel of its context.
type runningService struct {
	Service
	cancel context.CancelFunc
}

// New returns a node for cfg. Call Open, then Run.
func New(cfg *config.Config, log *logrus.Logger) *Node {
	return &Node{Config: cfg, Log: log, Version: "dev", Now: time.Now, newerSchema: make(chan int64, 1)}
}

// ID returns the node's stable id (after Open).
func (n *Node) ID() string { return n.id }

// DB returns the node's database (after Open).
func (n *Node) DB() dbprovider.Provider { return n.db }

// Addr returns the address the HTTP server listens on (after Open).
func (n *Node) Addr() string { return n.listener.Addr().String() }

// Web returns the HTTP server (after Open), for other parts to add routes.
func (n *Node) Web() *web.Server { return n.web }

// AddService registers a service started by Run after the node's own
// (see build), and stopped before them. Call after Open, before Run.
func (n *Node) AddService(s Service) { n.services = append(n.services, s) }

// AddWarnings registers a source of warnings for /__ping__'s body (such as
// "no live node takes scheduled work"). fn is called on every ping: it must
// be cheap and must not query the database. Call before Run.
func (n *Node) AddWarnings(fn func() []string) { n.warnings = append(n.warnings, fn) }

// AddInfo registers a source of keys for the node's info document in the
// registry, published at registration and with every heartbeat (what the
// node resolved: markers seen, uid/gid of RunAs, metrics path...). fn must
// be cheap. Call before Run.
func (n *Node) AddInfo(fn func() map[string]any) { n.infos = append(n.infos, fn) }

func (n *Node) log(component string) *logrus.Entry {
	return n.Log.WithFields(logrus.Fields{"component": component, "node": n.id})
}

// Open prepares the node: node id, database, schema, registration, HTTP
// listener. Errors carry podium codes: EINVALID/EREFUSED (exit 2) for
// configuration and unsafe set-ups, ESCHEMA (exit 3) for a database newer
// than this binary, EUNAVAILABLE for a database that cannot be reached.
func (n *Node) Open(ctx context.Context) (err error) {
	cfg := n.Config
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.hostname, _ = os.Hostname()
	if err := checkTrustedProxies(cfg.HTTP.TrustedProxies); err != nil {
		return err
	}
	// A new data directory may be entered, not listed, by others (0751):
	// the [Applications] RunAs user must reach the unpacked bundles its
	// apps run in (content/, 0755). What is private below it (db, state)
	// is created 0750. Created first, so the state directory (inside it
	// by default) does not create it 0750.
	if err := makeDataDir(cfg.Server.DataDir); err != nil {
		return podium.Errorf(podium.EINVALID, "[Server] DataDir %s: cannot create: %w", cfg.Server.DataDir, err)
	}
	// The state directory first: it holds the node id, which one live
	// node only may use.
	if n.stateLock, err = nodeidentity.LockStateDir(nodeidentity.Dirs{StateDir: cfg.Server.StateDir, DataDir: cfg.Server.DataDir}, n.hostname); err != nil {
		return err
	}
	if n.id, err = nodeidentity.LoadNodeID(cfg.Server.StateDir); err != nil {
		return err
	}
	log := n.log("server")
	if n.db, err = dbopen.Open(ctx, cfg, n.id, "serve", true); err != nil {
		return err
	}
	if err := nodeidentity.Check(ctx, n.db, nodeidentity.CheckOptions{NodeID: n.id, Hostname: n.hostname,
		Dirs:        nodeidentity.Dirs{StateDir: cfg.Server.StateDir, DataDir: cfg.Server.DataDir},
		NodeTimeout: cfg.HA.NodeTimeout, HeartbeatInterval: cfg.HA.HeartbeatInterval, Log: log}); err != nil {
		return err
	}
	// While migrations run (minutes on a long history), /__ping__ answers
	// 503 with the upgrade's phase (web.UpgradePing).
	var up *web.UpgradePing
	if pending, err := schema.Pending(ctx, n.db); err == nil && len(pending) > 0 {
		v, _ := n.db.SchemaVersion(ctx)
		up = web.StartUpgradePing(cfg.HTTP.Listen, web.PingBody{Node: n.id, Version: n.Version, Schema: v}, log)
	}
	migrated, err := schema.Up(ctx, n.db, n.log("schema"), schema.Options{Self: n.id, NodeTimeout: cfg.HA.NodeTimeout,
		DDLLockTimeout: cfg.Database.MigrationLockTimeout, Progress: up.Progress, ReportDir: cfg.Server.DataDir})
	up.Stop()
	if err != nil {
		return err
	}
	v := migrated.Version
	n.schemaVer.Store(v)
	writeMarkers(cfg, n.id, n.hostname)
	if err := n.register(ctx); err != nil {
		return err
	}
	if d := testStartDelay(); d > 0 {
		time.Sleep(d)
	}

	ckey, err := contentKey(cfg)
	if err != nil {
		return err
	}
	warnContentOrigin(log, cfg)
	n.web = web.New(web.Options{Log: n.log("http"), Health: n.health, TrustedProxies: trustedProxies(cfg.HTTP.TrustedProxies),
		HTTPSAddress: strings.HasPrefix(strings.ToLower(cfg.Server.Address), "https://"),
		HTTPSPort:    httpsPort(cfg.HTTPS.Listen),
		Limits:       web.Limits{WriteTimeout: cfg.HTTP.WriteTimeout, MinUploadRate: cfg.HTTP.MinUploadRate, UploadRateWindow: cfg.HTTP.UploadRateWindow},
		NoSpace: func() string {
			if n.diskWatch == nil {
				return ""
			}
			return n.diskWatch.NoSpace()
		},
		Audit: n.db, NodeID: n.id,
		Address: cfg.Server.Address, ContentURL: cfg.Server.ContentURL, ContentKey: ckey,
		FrameOptionsDashboard: cfg.Server.FrameOptionsDashboard, FrameOptionsContent: cfg.Server.FrameOptionsContent,
		AuthProvider: cfg.Authentication.Provider})
	if err := n.build(ctx); err != nil {
		return err
	}
	n.listener, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return podium.Errorf(podium.EREFUSED, "[HTTP] Listen %s: %w", cfg.HTTP.Listen, err)
	}
	if cfg.HTTP.MaxConnections > 0 {
		n.conns = newConnLimiter(n.listener, cfg.HTTP.MaxConnections, n.log("http"))
		n.listener = n.conns
	}
	if n.tlsListener, n.certs, err = openTLS(cfg, n.log("https")); err != nil {
		return err
	}
	if certs := n.certs; certs != nil {
		// podium ha check warns when the certificate expires soon.
		n.AddInfo(func() map[string]any {
			return map[string]any{hacheck.TLSInfoKey: hacheck.TLS{Subject: certs.Subject(), NotAfter: certs.NotAfter().UTC()}.Map()}
		})
	}
	log.WithFields(logrus.Fields{
		"version": n.Version, "provider": n.db.Name(), "database": n.db.Describe(), "data_dir": cfg.Server.DataDir,
		"schema": v, "floor": migrated.Floor, "migrations_applied": len(migrated.Applied), "migrations_deferred": len(migrated.Deferred), "ha": cfg.HA.Enabled, "listen": n.Addr(), "host": n.hostname,
	}).Info("node opened")
	return nil
}

// build creates every part of the node with its dependencies, mounts
// their middleware and routes, and lists the services Run starts. Each
// part is built by a constructor (newX) from explicit arguments and
// returned as a value; only build reads and writes the Node, registers
// its warnings and info, and mounts. The order below is the whole wiring
// of a node:
//
//   - middleware on every request, in this order: request id, access log,
//     the edge checks and limits ([HTTP] timeouts, upload rate, text-only
//     input), recover, content-cache invalidation (web.New),
//     authentication (accounts), the X-Podium-Node header (ha check),
//     request metrics;
//   - the Python and R installations are probed ([Python] Executable,
//     [R] Executable; newRuntimes) before anything that runs content;
//   - routes: /__ping__ (web.New), login pages with the first-run setup
//     and the account API (accounts), audit log API, instrumentation API
//     (usage), content API, Connect server settings (with the Python and R
//     installations), the older applications API and landing page
//     (publish), schedules and jobs (scheduler), processes (apps), content
//     pages (static from publish, apps and APIs through the supervisor),
//     dashboard (with the API keys page), and the rolling upgrade test's
//     endpoints in those test binaries only; the routes that change
//     something write the audit log (their Audit action);
//   - services, in start order (they stop in the reverse order, after the
//     HTTP drain and [Server] DrainDelay): heartbeat, schema watcher,
//     session sweeper, first-run setup, audit log pruner, usage pruner,
//     usage recorder (it stops after the app supervisor, whose stop ends
//     the app sessions it then writes), content sandbox (it stops after every content process: it removes the node's empty cgroups), app supervisor,
//     disk watch (free-space warnings; its first sample is taken here),
//     Prometheus listener (when [Metrics] PrometheusListen is set),
//     metrics sampler, Python environment eviction, publish (task
//     ownership sweeps and the task listener), scheduler (leases, history retention). The scheduler
//     stops first so running renders are released before publishing goes
//     away; app processes outlive the drain of the requests proxied to
//     them; the heartbeat stops last, saying "draining" until the end.
func (n *Node) build(ctx context.Context) error {
	cfg, db, id, w := n.Config, n.db, n.id, n.web
	n.heartbeat = heartbeat.New(heartbeat.Options{DB: db, NodeID: id, Interval: cfg.HA.HeartbeatInterval,
		ClockWarn: cfg.HA.ClockWarnOffset, ClockFail: cfg.HA.ClockFailOffset, Now: n.Now, Skew: testClockSkew,
		Status: n.heartbeatStatus, Info: n.info, Register: n.register, Log: n.log("heartbeat")})
	watcher := &schemaWatcher{db: db, interval: cfg.Database.SchemaCheckInterval, now: n.Now, log: n.log("schema-watcher"), onNewer: n.schemaNewer}
	disk := diskwatch.New(diskwatch.Options{Dir: cfg.Server.DataDir, MinFree: cfg.Server.MinFreeSpace,
		Every: cfg.HA.HeartbeatInterval, Log: n.log("disk")})
	n.diskWatch = disk
	n.AddWarnings(disk.Warnings)
	n.AddInfo(disk.Info)

	// Sign-in: the accounts service with its middleware and pages, an
	// external provider (single sign-on, LDAP, a proxy's headers) and the
	// probe of that provider.
	sso, ssoProbe, err := newSSO(cfg, cfg.Authentication.Provider, n.log("auth"))
	if err != nil {
		return err
	}
	external, ldapProbe, err := newLDAP(cfg, n.log("auth"))
	if err != nil {
		return err
	}
	n.ssoProbe = cmp.Or(ssoProbe, ldapProbe, newProxyAuthProbe(cfg, n.log("auth")))
	accounts, authMiddleware := newAccounts(cfg, db, n.AuthOptions, external, w, n.log("auth"))
	n.auth = accounts
	w.Use(authMiddleware...)
	w.Mount(w.AccountRoutes(accounts, sso))
	sweeper := auth.NewSweeper(accounts, time.Hour, n.log("auth"))
	firstRun := w.FirstRunSetup(accounts, id, cfg.Authentication.Provider, cfg.Server.Address, n.Log.Out, n.log("auth"))

	w.Mount(web.AuditRoutes(db))
	pruner := audit.NewPruner(db, cfg.Server.AuditLogRetention, n.Now, n.log("audit"))
	w.Mount(web.UsageRoutes(db))
	rec, usagePruner := newUsage(cfg.Usage, db, id, n.Now, n.log("usage"))

	python, r, err := newRuntimes(cfg, id, n.log("runtimes"), n.log("rlang"))
	if err != nil {
		return err
	}
	n.runtimes, n.rlang = python, r
	sb, sandboxWarnings := newSandbox(cfg, id, python, r, n.log("sandbox"))
	n.sandbox = sb
	if sandboxWarnings != nil {
		n.AddWarnings(sandboxWarnings)
	}

	pub := newPublish(cfg, db, id, python, r, sb, n.log("publish"))
	n.publish = pub
	w.Mount(publishRoutes(w, pub, n.Version, python, r, cfg.Server.LandingDir))
	sched := newScheduler(cfg, db, id, pub, n.Now, n.log("scheduler"))
	n.scheduler = sched
	w.Mount(web.ScheduleRoutes(sched))
	w.Mount(web.JobRoutes(sched))
	n.AddWarnings(sched.Warnings)
	eviction := runtimes.NewEvictor(python, pub.LivePythonBundles, n.Now, n.log("runtimes"))
	sup, settings := newApps(cfg, db, id, pub, python, r, sb, rec, w.TrackHijacked, n.Now, n.log("apps"))
	w.Mount(web.ProcessRoutes(id, sup, settings, pub))
	w.Mount(w.ContentServeRoutes(pub, sup, accounts, visits(rec)))

	// podium ha check: the node header on every response, the facts
	// published with every heartbeat, the clock offset warning.
	w.Use(nodeHeader(id))
	n.AddInfo(newHAFacts(cfg, db.SupportsHA(), sb, id, n.hostname, n.ssoProbe, n.heartbeat.DBNow).info)
	n.AddWarnings(n.heartbeat.Warnings)

	m, metricServices, err := newMetrics(ctx, metricsDeps{Config: cfg.Metrics, NodeTimeout: cfg.HA.NodeTimeout, DB: db,
		NodeID: id, Host: n.hostname, Version: n.Version, Now: n.Now, Sched: sched, Sup: sup, Sandbox: sb, AppGUIDs: settings.AppGUIDs,
		LastBeat: n.heartbeat.LastBeat, ClockOffset: n.heartbeat.Offset, DatabaseSchema: n.schemaVer.Load,
		Log: n.log("metrics"), GraphiteLog: n.log("graphite")})
	if err != nil {
		return err
	}
	n.metrics = m
	w.Use(m.registry.Middleware())
	n.AddInfo(m.info)

	dash := newDashboard(cfg, id, dashboard.Services{Audit: db, Nodes: db, History: db, Usage: db,
		Content: pub, Tags: pub, Vanity: pub, Access: pub, Jobs: sched,
		Processes: sup, Settings: settings, Metrics: metrics.Stores{NodeID: id, Own: m.store, Nodes: db, Now: n.Now}, Now: n.Now,
		HAChecks: hacheck.NewChecker(db, haCheckOptions(cfg, ""))},
		accounts, w.ContentOriginOf, n.log("dashboard"))
	w.Mount(dash.Routes())
	mountRollingTest(w.Echo, db, id)

	var recorder Service = nopService{"usage recorder"}
	if rec != nil {
		recorder = rec
	}
	n.services = []Service{n.heartbeat, watcher, sweeper, firstRun, pruner, usagePruner, recorder, sandboxService{sb}, sup, disk}
	if n.ssoProbe != nil {
		n.services = append(n.services, n.ssoProbe)
	}
	n.services = append(n.services, metricServices...)
	n.services = append(n.services, eviction, pub, sched)
	return nil
}

// heartbeatStatus is the status the heartbeat records. While starting it
// leaves the status alone (""): register wrote "starting" and Run writes
// "serving" before /__ping__ turns 200, so a beat that read the state just
// before that flip cannot write "starting" over it.
func (n *Node) heartbeatStatus() string {
	switch n.state.Load() {
	case stateServing:
		return podium.NodeServing
	case stateDraining:
		return podium.NodeDraining
	}
	return ""
}

// register records the node in the registry, after checking that the
// database may be shared with the nodes already live on it.
func (n *Node) register(ctx context.Context) error {
	cfg := n.Config
	if cfg.HA.Enabled && !n.db.SupportsHA() {
		// config refuses this combination too; keep the guard where the
		// capability is known.
		return podium.Errorf(podium.EINVALID, "[HA] Enabled = true needs a shared PostgreSQL database: move the data with \"podium migrate db\"")
	}
	_, err := n.db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{
		// The schema this binary knows, not the database's: during a
		// rolling upgrade they differ, and finalize waits until every live
		// node knows its schema.
		ID: n.id, Hostname: n.hostname, PID: os.Getpid(), Version: n.Version, SchemaVersion: schema.Latest(),
		Listen: cfg.HTTP.Listen, Provider: n.db.Name(), HAEnabled: cfg.HA.Enabled, Status: podium.NodeStarting,
		Info: n.info(),
	})
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	if !n.db.SupportsHA() {
		return nil
	}
	// Registered first, checked second: two nodes starting together both
	// see each other, so both refuse rather than both starting.
	live, err := n.db.NodeListLive(ctx, cfg.HA.NodeTimeout)
	if err != nil {
		return fmt.Errorf("register node: %w", err)
	}
	for _, other := range live {
		if other.ID == n.id {
			continue
		}
		if !cfg.HA.Enabled || !other.HAEnabled {
			_ = n.db.NodeSetStatus(context.WithoutCancel(ctx), n.id, podium.NodeStopped)
			return podium.Errorf(podium.EREFUSED,
				"another node is live on this database: %s (host %s, pid %d, HA enabled: %t, last heartbeat %s). "+
					"Several nodes may share one PostgreSQL database only as a cluster: every node must set [HA] Enabled = true "+
					"and share [Server] DataDir; otherwise stop the other node first",
				other.ID, other.Hostname, other.PID, other.HAEnabled, other.HeartbeatAt.Format(time.RFC3339))
		}
	}
	return nil
}

func (n *Node) info() map[string]any {
	info := map[string]any{"data_dir": n.Config.Server.DataDir, "state_dir": n.Config.Server.StateDir, "pid": os.Getpid()}
	for _, fn := range n.infos {
		for k, v := range fn() {
			info[k] = v
		}
	}
	return info
}

// checkTrustedProxies refuses (EINVALID, exit 2) an [HTTP] TrustedProxies
// entry that is not an address or range, rather than dropping it: a
// configuration built without config.Load (tests, embedders) is checked
// too.
func checkTrustedProxies(list []string) error {
	for _, s := range list {
		if _, err := config.ParseTrustedProxy(s); err != nil {
			return err
		}
	}
	return nil
}

// trustedProxies returns the ranges of [HTTP] TrustedProxies, checked by
// Open already.
func trustedProxies(list []string) []*net.IPNet {
	var out []*net.IPNet
	for _, s := range list {
		if ipn, err := config.ParseTrustedProxy(s); err == nil {
			out = append(out, ipn)
		}
	}
	return out
}

// health answers /__ping__.
func (n *Node) health(ctx context.Context) (web.PingBody, bool) {
	body := web.PingBody{Node: n.id, Version: n.Version, Schema: n.schemaVer.Load()}
	switch {
	case n.state.Load() == stateStarting:
		body.Status = "starting"
	case n.state.Load() == stateDraining:
		body.Status = "draining"
	case n.heartbeat != nil && !n.heartbeat.Healthy():
		body.Status = "unavailable"
		body.Warnings = append(body.Warnings, "the database cannot be reached")
	default:
		body.Status = "ok"
	}
	for _, w := range n.warnings {
		body.Warnings = append(body.Warnings, w()...)
	}
	return body, body.Status == "ok"
}

// Run serves until ctx ends (a signal: clean stop, nil error) or the
// database schema moves past this binary (ESCHEMA error: exit code 3).
func (n *Node) Run(ctx context.Context) error {
	log := n.log("server")
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	// No ReadTimeout or WriteTimeout: they are total deadlines that would
	// cut large uploads on slow links, long downloads, SSE and long polls.
	// Bodies are held to [HTTP] MinUploadRate and each write of a response
	// to [HTTP] WriteTimeout instead (web.Limits).
	n.httpSrv = &http.Server{Handler: n.web.Echo, ReadHeaderTimeout: n.Config.HTTP.ReadHeaderTimeout,
		IdleTimeout: n.Config.HTTP.IdleTimeout,
		ErrorLog:    nil, BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(runCtx) }}
	// echo's Shutdown neither closes nor waits for hijacked connections
	// (proxied WebSockets): close them as the drain begins.
	n.httpSrv.RegisterOnShutdown(func() {
		if c := n.web.CloseHijacked(); c > 0 {
			log.WithField("connections", c).Info("closed proxied long-lived connections")
		}
	})
	serveErr := make(chan error, 2)
	plain := n.listener
	if n.Config.HTTP.FastPath {
		// Simple requests to content are served in Podium's own
		// connection loop; every other connection goes on to net/http
		// (package fastpath says how and why).
		n.fast = &fastpath.Server{Handler: n.web.Echo, Simple: web.FastPathSimple, Lane: n.web.Lane(n.metrics.registry.ObserveLane),
			Raw:               n.web.RawLane(n.metrics.registry.ObserveRaw),
			WriteTimeout:      n.Config.HTTP.WriteTimeout,
			ReadHeaderTimeout: n.Config.HTTP.ReadHeaderTimeout, IdleTimeout: n.Config.HTTP.IdleTimeout,
			BaseContext: context.WithoutCancel(runCtx), Log: n.log("http")}
		plain = n.fast.Listener(n.listener)
	}
	go func() { serveErr <- n.httpSrv.Serve(plain) }()
	if n.tlsListener != nil {
		// The same server: Shutdown drains both listeners.
		go func() { serveErr <- n.httpSrv.Serve(n.tlsListener) }()
	}

	services := n.services
	var started []runningService
	for _, s := range services {
		// Each service gets its own context, cancelled just before its
		// Stop: the app processes must outlive the HTTP drain that proxies
		// to them, the heartbeat must keep saying "draining" until the end.
		sctx, scancel := context.WithCancel(runCtx)
		if err := s.Start(sctx); err != nil {
			scancel()
			n.shutdown(started, log, time.Now())
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		started = append(started, runningService{s, scancel})
	}
	// The watcher may already have found a newer schema: never go from
	// draining back to serving.
	// Record "serving" before /__ping__ says so, so that whoever sees a
	// 200 also finds the registry up to date.
	if n.state.Load() == stateStarting {
		if err := n.db.NodeSetStatus(ctx, n.id, podium.NodeServing); err != nil {
			log.WithError(err).Warn("cannot record serving status")
		}
		if n.state.CompareAndSwap(stateStarting, stateServing) {
			log.WithField("listen", n.Addr()).Info("serving")
		}
	}

	var result error
	var begun time.Time
	select {
	case <-ctx.Done():
		log.Info("stop requested: draining")
	case v := <-n.newerSchema:
		result = schema.NewerError(v, schema.Latest())
		if at := n.detectedAt.Load(); at != nil {
			begun = *at
		}
		log.WithField("db_schema", v).Info("draining before exit (code 3)")
	case err := <-serveErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			result = fmt.Errorf("http server: %w", err)
		}
	}
	if begun.IsZero() {
		begun = time.Now()
	}
	n.shutdown(started, log, begun)
	if podium.IsCode(result, podium.ESCHEMA) {
		log.WithFields(logrus.Fields{"since_detection": time.Since(begun).Round(time.Millisecond).String(),
			"since_detection_ms": time.Since(begun).Milliseconds()}).Error(podium.ErrorMessage(result))
	}
	return result
}

// shutdown drains, in this order: readiness 503 (already, if the watcher
// found a newer schema); services that take work stop taking it (Drainer);
// the node is recorded draining; the listener closes (new connections are
// refused) and in-flight requests finish within the grace period, after
// which the remaining connections, proxied WebSockets included, are
// closed; services stop in reverse order, each releasing what it holds so
// other nodes need not wait for a timeout; the node is recorded stopped.
// Everything is bounded: shutdown returns within hardStop (plus a final
// database write) of begun even if a request or a service hangs.
func (n *Node) shutdown(services []runningService, log *logrus.Entry, begun time.Time) {
	n.shutdownOnce.Do(func() {
		n.state.Store(stateDraining)
		deadline := begun.Add(hardStop)
		for i := len(services) - 1; i >= 0; i-- {
			if d, ok := services[i].Service.(Drainer); ok {
				d.Drain()
			}
		}
		bg := context.Background()
		// Record "draining" beside the HTTP drain, not before it: an
		// unreachable database must not delay the drain.
		statusDone := make(chan struct{})
		go func() {
			defer close(statusDone)
			ctx, cancel := context.WithTimeout(bg, finalWriteWait)
			defer cancel()
			_ = n.db.NodeSetStatus(ctx, n.id, podium.NodeDraining)
		}()

		// Keep serving while the load balancer notices the 503 on
		// /__ping__, so no request meets a closed port.
		if d := n.Config.Server.DrainDelay; d > 0 && n.httpSrv != nil {
			log.WithField("drain_delay", d.String()).Info("draining: /__ping__ answers 503; serving until the load balancer takes the node out")
			t := time.NewTimer(min(d, time.Until(deadline)))
			<-t.C
		}
		if n.httpSrv != nil {
			grace := min(n.Config.Server.ShutdownGracePeriod, maxHTTPDrain)
			ctx, cancel := context.WithDeadline(bg, earliest(time.Now().Add(grace), deadline))
			fastDone := make(chan struct{})
			go func() {
				defer close(fastDone)
				if n.fast != nil {
					_ = n.fast.Shutdown(ctx) // it closes what is left at the deadline
				}
			}()
			if err := n.httpSrv.Shutdown(ctx); err != nil {
				log.WithError(err).Warn("grace period over: closing the remaining connections")
				_ = n.httpSrv.Close()
			}
			<-fastDone
			cancel()
		}

		svcDeadline := earliest(time.Now().Add(serviceStopWait), deadline)
		for i := len(services) - 1; i >= 0; i-- {
			s := services[i]
			s.cancel()
			d := svcDeadline
			if time.Until(d) < minServiceWait {
				d = time.Now().Add(minServiceWait)
			}
			if err := stopService(s, d); err != nil {
				log.WithError(err).WithField("service", s.Name()).Warn("service did not stop cleanly")
			}
		}

		<-statusDone
		ctx, cancel := context.WithTimeout(bg, finalWriteWait)
		defer cancel()
		if err := n.db.NodeSetStatus(ctx, n.id, podium.NodeStopped); err != nil {
			log.WithError(err).Warn("cannot record stopped status")
		}
		log.WithField("duration", time.Since(begun).Round(time.Millisecond).String()).Info("stopped")
	})
}

// stopService calls s.Stop with a context that ends at deadline, and stops
// waiting at the deadline even if Stop does not honour its context.
func stopService(s runningService, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("stop %s: abandoned after the shutdown deadline: %w", s.Name(), ctx.Err())
	}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Close releases the database and listeners. Safe to call more than once.
func (n *Node) Close() {
	if n.listener != nil {
		_ = n.listener.Close()
	}
	if n.tlsListener != nil {
		_ = n.tlsListener.Close()
	}
	if n.db != nil {
		// Closing a pool waits for connections still checked out (a handler
		// that hangs): never let that delay the exit.
		db := n.db
		done := make(chan struct{})
		go func() { _ = db.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeDatabaseMax):
			n.log("server").Warn("database connections still busy: exiting without waiting for them")
		}
		n.db = nil
	}
	n.stateLock.Release()
}

// StateFile returns the path of the node id file.
func StateFile(stateDir string) string { return nodeidentity.StateFile(stateDir) }

// makeDataDir creates dir, when it does not exist, with mode 0751 whatever
// the umask (a umask of 027 would otherwise close it to RunAs). An
// existing directory is left as its administrator set it.
func makeDataDir(dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o751); err != nil {
		return err
	}
	return os.Chmod(dir, 0o751)
}
