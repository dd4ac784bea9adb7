package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// RegistryOptions configure NewRegistry.
type RegistryOptions struct {
	// Version is the binary's version; NodeID and Host name the node.
	Version, NodeID, Host string
	// BinarySchema is the schema version this binary was built for.
	BinarySchema int64
	// Sources are the node's parts read on every scrape.
	Sources Sources
	// Host returns the latest host figures (the sampler's); nil leaves
	// them out.
	HostFigures func() (HostFigures, bool)
}

// Registry is the node's Prometheus registry with Podium's metrics. Other
// packages may register their own collectors on Prom, or feed the vectors
// here directly (ObserveJob, Sessions).
type Registry struct {
	// Prom is the underlying registry, served on [Metrics]
	// PrometheusListen.
	Prom *prometheus.Registry
	// HTTPRequests counts HTTP requests by route (echo's route template),
	// method and status: podium_http_requests_total.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration is podium_http_request_duration_seconds by route.
	HTTPDuration *prometheus.HistogramVec
	// FastLane counts the requests the fast lane answered (web.Lane),
	// also counted in HTTPRequests: podium_http_fast_lane_requests_total.
	FastLane prometheus.Counter
	// RawLane counts those of them answered in bytes (web.RawLane, the
	// app's answer passed on as it came): podium_http_raw_lane_requests_total.
	RawLane prometheus.Counter
	// JobDuration is podium_job_duration_seconds by queue and host.
	JobDuration *prometheus.HistogramVec
	// Sessions counts open WebSocket connections to apps, per content.
	Sessions *Sessions

	opts   RegistryOptions
	jobsMu sync.Mutex
	jobsAt map[string]JobDurations // the Durations already observed

	series sync.Map // seriesKey → *series (Observe)

	routesOnce sync.Once
	routes     map[string]bool
}

// NewRegistry returns a registry with the Go and process collectors and
// every podium_* metric.
func NewRegistry(opts RegistryOptions) *Registry {
	r := &Registry{
		Prom: prometheus.NewRegistry(),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podium_http_requests_total", Help: "HTTP requests answered by this node, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podium_http_request_duration_seconds", Help: "Time to answer HTTP requests, by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		FastLane: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podium_http_fast_lane_requests_total", Help: "App requests answered by the fast lane ([HTTP] FastPath), also counted in podium_http_requests_total.",
		}),
		RawLane: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podium_http_raw_lane_requests_total", Help: "App requests of the fast lane answered in bytes (the app's answer passed on as it came), also counted in podium_http_fast_lane_requests_total.",
		}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podium_job_duration_seconds", Help: "Duration of the scheduled jobs this node finished, by queue and host.",
			Buckets: []float64{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"queue", "host"}),
		Sessions: &Sessions{},
		opts:     opts,
		jobsAt:   map[string]JobDurations{},
	}
	p := r.Prom
	p.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.HTTPRequests, r.HTTPDuration, r.FastLane, r.RawLane, r.JobDuration, &podiumCollector{r: r})
	return r
}

// ObserveJob records one finished job. The scheduler may call it directly;
// until it does, the durations come from Sources.Jobs (see SyncJobs).
func (r *Registry) ObserveJob(queue, host string, d time.Duration) {
	r.JobDuration.WithLabelValues(queue, host).Observe(d.Seconds())
}

// SyncJobs feeds the job duration histogram from the scheduler's running
// totals: the jobs finished since the last sync are observed at their
// average duration (exact when one job finished in between, which is the
// usual case as every scrape and sample syncs).
func (r *Registry) SyncJobs(f JobFigures) {
	r.jobsMu.Lock()
	defer r.jobsMu.Unlock()
	for q, d := range f.Durations {
		prev := r.jobsAt[q]
		if d.Count <= prev.Count {
			continue
		}
		n := d.Count - prev.Count
		avg := (d.Sum - prev.Sum) / time.Duration(n)
		h := r.JobDuration.WithLabelValues(q, f.Host)
		for range n {
			h.Observe(avg.Seconds())
		}
		r.jobsAt[q] = d
	}
}

// Handler returns the /metrics handler of the registry.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.Prom, promhttp.HandlerOpts{Registry: r.Prom})
}

// Middleware counts HTTP requests by route and status, and open WebSocket
// connections to app content (/content/{guid}/... with Upgrade:
// websocket) while they last.
func (r *Registry) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
				if guid := contentGUID(req.URL.Path); guid != "" {
					defer r.Sessions.Open(guid)()
				}
			}
			start := time.Now()
			err := next(c)
			if err != nil {
				// The error handler decides the status; run it now so the
				// status is known (it does nothing once a response is
				// committed).
				c.Error(err)
			}
			r.Observe(r.route(c), req.Method, c.Response().Status, start)
			return nil
		}
	}
}

// Observe counts one answered request of route (its template) that began
// at start: the middleware's count, and the fast lane's (web.Lane), which
// answers without the middleware.
func (r *Registry) Observe(route, method string, status int, start time.Time) {
	// Each series is looked up once, not per request: hashing the labels
	// was a few percent of the raw lane's CPU per request.
	k := seriesKey{route, methodLabel(method), status}
	v, ok := r.series.Load(k)
	if !ok {
		v, _ = r.series.LoadOrStore(k, &series{
			requests: r.HTTPRequests.WithLabelValues(route, k.method, strconv.Itoa(status)),
			duration: r.HTTPDuration.WithLabelValues(route)})
	}
	sr := v.(*series)
	sr.requests.Inc()
	sr.duration.Observe(time.Since(start).Seconds())
}

// methodLabel is method as a label value: the standard methods by name,
// any other "other". net/http takes any token as a method, so a client
// sending made-up ones would otherwise make a series (and a cached one
// here) per request.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// seriesKey names the series Observe counts a request in: a route
// template (or "other"), a methodLabel and a status, each from a bounded
// set.
type seriesKey struct {
	route, method string
	status        int
}

// series are the HTTP metrics' series of one seriesKey.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// ObserveLane is Observe for a request the fast lane answered.
func (r *Registry) ObserveLane(route, method string, status int, start time.Time) {
	r.FastLane.Inc()
	r.Observe(route, method, status, start)
}

// ObserveRaw is ObserveLane for a request the raw lane answered; inBytes
// when the app's answer was passed on as bytes.
func (r *Registry) ObserveRaw(route, method string, status int, start time.Time, inBytes bool) {
	if inBytes {
		r.RawLane.Inc()
	}
	r.ObserveLane(route, method, status, start)
}

// route returns the request's route template, or "other" for paths that
// matched no route (so raw paths never become label values). A request
// answered by a not-found handler (echo.RouteNotFound: vanity URLs, the
// dashboard's own 404 page) matched no route either: its template "/*"
// would lump every miss together under a name that looks like a route.
func (r *Registry) route(c echo.Context) string {
	r.routesOnce.Do(func() {
		r.routes = map[string]bool{}
		for _, rt := range c.Echo().Routes() {
			if rt.Method != echo.RouteNotFound {
				r.routes[rt.Method+" "+rt.Path] = true
			}
		}
	})
	if p := c.Path(); r.routes[c.Request().Method+" "+p] {
		return p
	}
	return "other"
}

// contentGUID returns guid of a /content/{guid}/... path.
func contentGUID(path string) string {
	rest, ok := strings.CutPrefix(path, "/content/")
	if !ok {
		return ""
	}
	guid, _, _ := strings.Cut(rest, "/")
	return guid
}

// AppFigures returns the app figures of this node, per content item.
func (r *Registry) AppFigures() []AppFigures {
	var procs map[string]int
	if r.opts.Sources.AppProcesses != nil {
		procs = r.opts.Sources.AppProcesses()
	}
	return mergeApps(procs, r.Sessions.Counts())
}

// podiumCollector reads the node's parts on every scrape.
type podiumCollector struct{ r *Registry }

var (
	descBuild        = prometheus.NewDesc("podium_build_info", "Version of this node's binary (value 1).", []string{"version", "node", "host"}, nil)
	descSchema       = prometheus.NewDesc("podium_schema_version", "Schema version of the database (as last read) and of the binary.", []string{"source"}, nil)
	descHeartbeatAge = prometheus.NewDesc("podium_node_heartbeat_age_seconds", "Time since this node last recorded its heartbeat.", nil, nil)
	descClockOffset  = prometheus.NewDesc("podium_clock_offset_seconds", "This node's clock minus the database's, measured at the last heartbeat.", nil, nil)
	descAppProcs     = prometheus.NewDesc("podium_app_processes", "Worker processes of app content on this node.", []string{"content_guid"}, nil)
	descAppSessions  = prometheus.NewDesc("podium_app_sessions", "Open WebSocket connections to app content on this node.", []string{"content_guid"}, nil)
	descAppEvents    = prometheus.NewDesc("podium_app_process_events_total", "Worker process events of app content on this node since it started: started; crashed (exited on its own); failed (did not listen within InitTimeout); stopped (by Podium: idle, redeploy, shutdown); limit_killed (killed by the kernel for exceeding its content's sandbox memory limit, or failed at its process limit; also counted as crashed).", []string{"content_guid", "event"}, nil)
	descLimitKills   = prometheus.NewDesc("podium_sandbox_limit_kills_total", "Content processes on this node since it started that a limit of their content item's sandbox killed or made fail, by kind (app, render, build) and limit: memory (killed by the kernel in its memory cgroup), processes (failed after a fork was refused at its process limit).", []string{"kind", "limit"}, nil)
	descAppRequests  = prometheus.NewDesc("podium_app_requests_total", "Requests and WebSockets this node handed to a process of app content.", []string{"content_guid"}, nil)
	descAppRejected  = prometheus.NewDesc("podium_app_requests_rejected_total", "Requests to app content this node answered with a 502 or 503 page because no process could serve them.", []string{"content_guid"}, nil)
	descJobsRunning  = prometheus.NewDesc("podium_jobs_running", "Scheduled jobs running on this node.", nil, nil)
	descQueueDepth   = prometheus.NewDesc("podium_job_queue_depth", "Due jobs waiting in the cluster.", nil, nil)
	descOldest       = prometheus.NewDesc("podium_job_oldest_waiting_seconds", "Age of the oldest waiting job in the cluster.", nil, nil)
	descReclaimed    = prometheus.NewDesc("podium_jobs_reclaimed_total", "Abandoned jobs this node requeued.", nil, nil)
	descCPU          = prometheus.NewDesc("podium_host_cpu_busy_percent", "Share of the host's CPU time that was busy over the last sampling interval.", nil, nil)
	descMemUsed      = prometheus.NewDesc("podium_host_memory_used_bytes", "Host memory in use (total minus available).", nil, nil)
	descMemTotal     = prometheus.NewDesc("podium_host_memory_total_bytes", "Host memory.", nil, nil)
	descLoad         = prometheus.NewDesc("podium_host_load_average", "Host load average.", []string{"period"}, nil)
)

func (pc *podiumCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBuild, descSchema, descHeartbeatAge, descClockOffset, descAppProcs, descAppSessions,
		descAppEvents, descLimitKills, descAppRequests, descAppRejected, descJobsRunning, descQueueDepth, descOldest, descReclaimed, descCPU, descMemUsed, descMemTotal, descLoad} {
		ch <- d
	}
}

func (pc *podiumCollector) Collect(ch chan<- prometheus.Metric) {
	r := pc.r
	o := r.opts
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descBuild, 1, o.Version, o.NodeID, o.Host)
	gauge(descSchema, float64(o.BinarySchema), "binary")
	s := o.Sources
	if s.DatabaseSchema != nil {
		gauge(descSchema, float64(s.DatabaseSchema()), "database")
	}
	if s.HeartbeatAge != nil {
		gauge(descHeartbeatAge, s.HeartbeatAge().Seconds())
	}
	if s.ClockOffset != nil {
		gauge(descClockOffset, s.ClockOffset().Seconds())
	}
	for _, a := range r.AppFigures() {
		gauge(descAppProcs, float64(a.Processes), a.GUID)
		gauge(descAppSessions, float64(a.Sessions), a.GUID)
	}
	if s.AppEvents != nil {
		counter := func(d *prometheus.Desc, v int64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		}
		for guid, e := range s.AppEvents() {
			counter(descAppEvents, e.Started, guid, "started")
			counter(descAppEvents, e.Crashed, guid, "crashed")
			counter(descAppEvents, e.Failed, guid, "failed")
			counter(descAppEvents, e.Stopped, guid, "stopped")
			counter(descAppEvents, e.LimitKilled, guid, "limit_killed")
			counter(descAppRequests, e.Requests, guid)
			counter(descAppRejected, e.Rejected, guid)
		}
	}
	if s.LimitKills != nil {
		for k, n := range s.LimitKills() {
			ch <- prometheus.MustNewConstMetric(descLimitKills, prometheus.CounterValue, float64(n), k.Kind, k.Limit)
		}
	}
	if s.Jobs != nil {
		if f, ok := s.Jobs(); ok {
			r.SyncJobs(f)
			gauge(descJobsRunning, float64(f.Running))
			gauge(descQueueDepth, float64(f.QueueDepth))
			gauge(descOldest, f.OldestWaiting.Seconds())
			ch <- prometheus.MustNewConstMetric(descReclaimed, prometheus.CounterValue, float64(f.Reclaimed))
		}
	}
	if o.HostFigures != nil {
		if h, ok := o.HostFigures(); ok {
			if h.CPUBusyPercent >= 0 {
				gauge(descCPU, h.CPUBusyPercent)
			}
			gauge(descMemUsed, h.MemUsedBytes)
			gauge(descMemTotal, h.MemTotalBytes)
			gauge(descLoad, h.Load1, "1m")
			gauge(descLoad, h.Load5, "5m")
			gauge(descLoad, h.Load15, "15m")
		}
	}
}
