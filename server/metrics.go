package server

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// nodeMetrics are the node's metrics parts (see package metrics).
type nodeMetrics struct {
	store    *metrics.Store
	registry *metrics.Registry
	sampler  *metrics.Sampler
	prom     *metrics.PrometheusServer
	appGUIDs atomic.Pointer[[]string]
	cfg      config.MetricsConfig
}

// metricsDeps are what the node's metrics read: the job figures of the
// scheduler, the app processes of the supervisor, the limit kills of the
// sandbox, the heartbeat's figures, the schema version, which content
// items are apps.
type metricsDeps struct {
	Config      config.MetricsConfig
	NodeTimeout time.Duration // [HA] NodeTimeout: who holds a DataPath claim
	DB          dbprovider.Provider
	NodeID      string
	Host        string
	Version     string
	Now         func() time.Time
	Sched       *scheduler.Service
	Sup         *apps.Supervisor
	Sandbox     *sandbox.Sandbox
	// AppGUIDs lists the content items that are apps (appsource), asked
	// in the sampling goroutine, never on a scrape.
	AppGUIDs       func(context.Context) ([]string, error)
	LastBeat       func() time.Time
	ClockOffset    func() time.Duration
	DatabaseSchema func() int64
	Log            *logrus.Entry // component metrics
	GraphiteLog    *logrus.Entry // component graphite
}

// newMetrics claims [Metrics] DataPath (refusing to start, exit 2, when
// another live node holds it, after recording this node stopped), opens
// the round-robin store, builds the Prometheus registry (build installs
// its middleware, which counts HTTP requests and app WebSocket sessions)
// and returns the metrics with their services: the Prometheus listener
// (when [Metrics] PrometheusListen is set) and the sampler (store and
// Graphite).
func newMetrics(ctx context.Context, d metricsDeps) (*nodeMetrics, []Service, error) {
	cfg := d.Config
	claim, err := metrics.TakeClaim(ctx, cfg.DataPath, d.NodeID, d.Host, d.Now(), func(ctx context.Context, id string) (bool, error) {
		other, err := d.DB.NodeGet(ctx, id)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		now, err := d.DB.Now(ctx)
		if err != nil {
			return false, err
		}
		return other.Live(now, d.NodeTimeout), nil
	})
	if err != nil {
		// Registered already: do not stay "starting" in the registry.
		_ = d.DB.NodeSetStatus(context.WithoutCancel(ctx), d.NodeID, podium.NodeStopped)
		return nil, nil, err
	}
	store, err := metrics.OpenStore(cfg.DataPath, metrics.DefaultArchives(cfg.Interval), d.Now)
	if err != nil {
		_ = claim.Release()
		return nil, nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath: %w", err)
	}
	m := &nodeMetrics{store: store, cfg: cfg}
	sched, sup := d.Sched, d.Sup
	src := metrics.Sources{
		Jobs: func() (metrics.JobFigures, bool) {
			if sched == nil {
				return metrics.JobFigures{}, false
			}
			st := sched.Stats()
			f := metrics.JobFigures{Host: st.Host, Running: st.Running, QueueDepth: st.QueueDepth, OldestWaiting: st.OldestWaiting,
				Reclaimed: st.Reclaimed, Durations: map[string]metrics.JobDurations{}}
			for q, d := range st.Durations {
				f.Durations[q] = metrics.JobDurations{Count: d.Count, Sum: d.Sum}
			}
			return f, true
		},
		AppProcesses: func() map[string]int {
			out := map[string]int{}
			guids := m.appGUIDs.Load()
			if sup == nil || guids == nil {
				return out
			}
			for _, g := range *guids {
				if n := sup.Running(g); n > 0 {
					out[g] = n
				}
			}
			return out
		},
		AppEvents: func() map[string]metrics.AppEvents {
			if sup == nil {
				return nil
			}
			out := map[string]metrics.AppEvents{}
			for guid, c := range sup.Snapshot().Content {
				e := c.Events
				out[guid] = metrics.AppEvents{Started: e.Started, Crashed: e.Crashed, Failed: e.Failed, Stopped: e.Stopped,
					Requests: e.Requests, Rejected: e.Rejected, LimitKilled: e.LimitKilled}
			}
			return out
		},
		HeartbeatAge: func() time.Duration {
			if at := d.LastBeat(); !at.IsZero() {
				return d.Now().Sub(at)
			}
			return 0
		},
		ClockOffset:    d.ClockOffset,
		DatabaseSchema: d.DatabaseSchema,
		LimitKills: func() map[metrics.LimitKill]int64 {
			if d.Sandbox == nil {
				return nil
			}
			out := map[metrics.LimitKill]int64{}
			for k, v := range d.Sandbox.LimitKills() {
				out[metrics.LimitKill{Kind: k.Kind, Limit: k.Limit}] = v
			}
			return out
		},
	}
	var sampler *metrics.Sampler
	var services []Service
	m.registry = metrics.NewRegistry(metrics.RegistryOptions{
		Version: d.Version, NodeID: d.NodeID, Host: d.Host, BinarySchema: schema.Latest(), Sources: src,
		HostFigures: func() (metrics.HostFigures, bool) { return sampler.HostFigures() },
	})
	var graphite *metrics.Graphite
	if cfg.GraphiteEnabled {
		graphite = metrics.NewGraphite(metrics.GraphiteOptions{
			Addr:   netJoin(cfg.GraphiteHost, cfg.GraphitePort),
			Prefix: metrics.GraphitePrefix(cfg.GraphiteClientId, d.Host),
			Log:    d.GraphiteLog,
		})
	}
	sampler = metrics.NewSampler(metrics.SamplerOptions{
		Store: store, Graphite: graphite, Registry: m.registry, Sources: src, Interval: cfg.Interval,
		Log: d.Log, Now: d.Now, Claim: claim,
		BeforeSample: func(ctx context.Context) { m.refreshAppGUIDs(ctx, d.AppGUIDs) },
	})
	m.sampler = sampler
	if cfg.PrometheusListen != "" {
		if m.prom, err = metrics.ListenPrometheus(cfg.PrometheusListen, m.registry); err != nil {
			_ = claim.Release()
			return nil, nil, podium.Errorf(podium.EREFUSED, "[Metrics] PrometheusListen %s: %w", cfg.PrometheusListen, err)
		}
		services = append(services, m.prom)
	}
	services = append(services, sampler)
	return m, services, nil
}

// info is what the metrics publish in the node's info document.
func (m *nodeMetrics) info() map[string]any {
	return metrics.NodeInfo(m.cfg.DataPath, m.cfg.GraphiteEnabled, m.cfg.PrometheusListen)
}

// refreshAppGUIDs reads which content items are apps (the database is
// asked here, in the sampling goroutine, never on a scrape).
func (m *nodeMetrics) refreshAppGUIDs(ctx context.Context, list func(context.Context) ([]string, error)) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	guids, err := list(ctx)
	if err != nil {
		return
	}
	m.appGUIDs.Store(&guids)
}

func netJoin(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// MetricsStore returns the node's round-robin metrics store (after Open),
// for the dashboard's node page: Series(name, from, to) and Names().
func (n *Node) MetricsStore() *metrics.Store {
	if n.metrics == nil {
		return nil
	}
	return n.metrics.store
}

// MetricsRegistry returns the node's Prometheus registry (after Open), for
// parts that add collectors or call ObserveJob.
func (n *Node) MetricsRegistry() *metrics.Registry {
	if n.metrics == nil {
		return nil
	}
	return n.metrics.registry
}

// MetricsSampler returns the node's sampler (after Open): Last() is the
// latest sample, SampleNow() takes one.
func (n *Node) MetricsSampler() *metrics.Sampler {
	if n.metrics == nil {
		return nil
	}
	return n.metrics.sampler
}
