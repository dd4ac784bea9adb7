package server

import (
	"context"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/appsource"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/schema"
)

// nodeMetrics are the node's metrics parts (see package metrics).
type nodeMetrics struct {
	store    *metrics.Store
	registry *metrics.Registry
	sampler  *metrics.Sampler
	prom     *metrics.PrometheusServer
	appGUIDs atomic.Pointer[[]string]
}

// mountMetrics claims [Metrics] DataPath (refusing to start, exit 2, when
// another live node holds it), opens the round-robin store, builds the
// Prometheus registry, counts HTTP requests and app WebSocket sessions
// with a middleware, listens on [Metrics] PrometheusListen when set, and
// returns its services: the Prometheus listener (when set) and the sampler
// (store and Graphite). sched and sup are read for the job and app figures.
func mountMetrics(ctx context.Context, n *Node, sched *scheduler.Service, sup *apps.Supervisor) ([]Service, error) {
	cfg := n.Config.Metrics
	claim, err := metrics.TakeClaim(ctx, cfg.DataPath, n.id, n.hostname, n.Now(), func(ctx context.Context, id string) (bool, error) {
		other, err := n.db.NodeGet(ctx, id)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		now, err := n.db.Now(ctx)
		if err != nil {
			return false, err
		}
		return other.Live(now, n.Config.HA.NodeTimeout), nil
	})
	if err != nil {
		// Registered already: do not stay "starting" in the registry.
		_ = n.db.NodeSetStatus(context.WithoutCancel(ctx), n.id, podium.NodeStopped)
		return nil, err
	}
	store, err := metrics.OpenStore(cfg.DataPath, metrics.DefaultArchives(cfg.Interval), n.Now)
	if err != nil {
		_ = claim.Release()
		return nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath: %w", err)
	}
	m := &nodeMetrics{store: store}
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
				for _, p := range sup.Processes(g) {
					switch p.State {
					case apps.StateStarting, apps.StateReady, apps.StateDraining, apps.StateStopping:
						out[g]++
					}
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
			if at := n.heartbeat.LastBeat(); !at.IsZero() {
				return n.Now().Sub(at)
			}
			return 0
		},
		ClockOffset:    n.heartbeat.Offset,
		DatabaseSchema: n.schemaVer.Load,
		LimitKills: func() map[metrics.LimitKill]int64 {
			if n.sandbox == nil {
				return nil
			}
			out := map[metrics.LimitKill]int64{}
			for k, v := range n.sandbox.LimitKills() {
				out[metrics.LimitKill{Kind: k.Kind, Limit: k.Limit}] = v
			}
			return out
		},
	}
	var sampler *metrics.Sampler
	var services []Service
	m.registry = metrics.NewRegistry(metrics.RegistryOptions{
		Version: Version, NodeID: n.id, Host: n.hostname, BinarySchema: schema.Latest(), Sources: src,
		HostFigures: func() (metrics.HostFigures, bool) { return sampler.HostFigures() },
	})
	var graphite *metrics.Graphite
	if cfg.GraphiteEnabled {
		graphite = metrics.NewGraphite(metrics.GraphiteOptions{
			Addr:   netJoin(cfg.GraphiteHost, cfg.GraphitePort),
			Prefix: metrics.GraphitePrefix(cfg.GraphiteClientId, n.hostname),
			Log:    n.log("graphite"),
		})
	}
	sampler = metrics.NewSampler(metrics.SamplerOptions{
		Store: store, Graphite: graphite, Registry: m.registry, Sources: src, Interval: cfg.Interval,
		Log: n.log("metrics"), Now: n.Now, Claim: claim,
		BeforeSample: func(ctx context.Context) { m.refreshAppGUIDs(ctx, n.db) },
	})
	m.sampler = sampler
	if cfg.PrometheusListen != "" {
		if m.prom, err = metrics.ListenPrometheus(cfg.PrometheusListen, m.registry); err != nil {
			_ = claim.Release()
			return nil, podium.Errorf(podium.EREFUSED, "[Metrics] PrometheusListen %s: %w", cfg.PrometheusListen, err)
		}
		services = append(services, m.prom)
	}
	n.web.Use(m.registry.Middleware())
	services = append(services, sampler)
	n.metrics = m
	n.AddInfo(func() map[string]any {
		return map[string]any{"metrics_path": cfg.DataPath, "graphite_enabled": cfg.GraphiteEnabled, "prometheus_listen": cfg.PrometheusListen}
	})
	return services, nil
}

// refreshAppGUIDs reads which content items are apps (the database is
// asked here, in the sampling goroutine, never on a scrape).
func (m *nodeMetrics) refreshAppGUIDs(ctx context.Context, db dbprovider.Provider) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := db.ContentList(ctx, &dbprovider.ContentListParams{All: true})
	if err != nil {
		return
	}
	guids := []string{}
	for _, c := range list {
		if appsource.IsApp(c) {
			guids = append(guids, c.GUID)
		}
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
