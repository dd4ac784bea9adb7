package metrics

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// SamplerOptions configure NewSampler.
type SamplerOptions struct {
	// Store receives every sample; Graphite (optional) too.
	Store    *Store
	Graphite *Graphite
	// Registry supplies the app figures and syncs the job histogram.
	Registry *Registry
	Sources  Sources
	Interval time.Duration
	Log      *logrus.Entry
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Claim, when set, is released by Stop.
	Claim *Claim
	// Proc is the /proc folder (tests); "" means /proc.
	Proc string
	// BeforeSample, when set, runs before each sample in the sampling
	// goroutine: the place for refreshes that may query the database
	// (Sources must not).
	BeforeSample func(ctx context.Context)
}

// Sampler takes a sample of the node's figures every Interval (and once at
// start), writes it to the store and hands it to Graphite. It is a
// server.Service.
type Sampler struct {
	startstop.Base
	opts SamplerOptions
	log  *logrus.Entry
	host hostReader

	mu       sync.Mutex
	lastHost HostFigures
	haveHost bool
	last     map[string]float64
	lastAt   time.Time

	// TestSignals are the events tests wait on; production leaves them
	// nil.
	TestSignals SamplerTestSignals
}

// SamplerTestSignals are the Sampler's test signals: Sampled carries each
// sample the loop took.
type SamplerTestSignals struct {
	Sampled testsignal.Signal[map[string]float64]
}

// Init makes every signal; call it before Start.
func (s *SamplerTestSignals) Init() { s.Sampled.Init() }

// NewSampler returns a sampler; Start starts it.
func NewSampler(opts SamplerOptions) *Sampler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	return &Sampler{opts: opts, log: opts.Log, host: hostReader{proc: opts.Proc}}
}

// Name names the service in logs.
func (s *Sampler) Name() string { return "metrics" }

// Start takes a first CPU reading and starts the sampling loop (and the
// Graphite sender); they end when ctx ends or at Stop. The first sample
// comes after a second at most, then one every Interval.
func (s *Sampler) Start(ctx context.Context) error {
	ctx, shouldStart, started, stopped := s.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	// A first CPU reading, so the first sample has a busy percentage.
	s.mu.Lock()
	_, _ = s.host.read()
	s.mu.Unlock()
	if s.opts.Graphite != nil {
		_ = s.opts.Graphite.Start(ctx)
	}
	go func() {
		started()
		defer stopped()
		t := time.NewTimer(min(s.opts.Interval, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if s.opts.BeforeSample != nil {
				s.opts.BeforeSample(ctx)
			}
			s.TestSignals.Sampled.Signal(s.SampleNow())
			t.Reset(s.opts.Interval)
		}
	}()
	return nil
}

// Stop ends the goroutines, waits for them (within ctx) and releases the
// DataPath claim.
func (s *Sampler) Stop(ctx context.Context) error {
	if err := s.Base.Stop(ctx); err != nil {
		return err
	}
	if s.opts.Graphite != nil {
		_ = s.opts.Graphite.Stop(ctx)
	}
	return s.opts.Claim.Release()
}

// SampleNow takes one sample, stores it, queues it for Graphite and
// returns it.
func (s *Sampler) SampleNow() map[string]float64 {
	now := s.opts.Now()
	v := s.collect()
	if s.opts.Store != nil {
		if err := s.opts.Store.Write(now, v); err != nil {
			s.log.WithError(err).Warn("cannot write metrics")
		}
	}
	if s.opts.Graphite != nil {
		s.opts.Graphite.Send(now, v)
	}
	s.mu.Lock()
	s.last, s.lastAt = v, now
	s.mu.Unlock()
	return v
}

// Last returns the latest sample and its time (nil before the first).
func (s *Sampler) Last() (map[string]float64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.lastAt
}

// HostFigures returns the latest host figures.
func (s *Sampler) HostFigures() (HostFigures, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHost, s.haveHost
}

// Series names written by the sampler (the store and Graphite use the same
// names; per-app series are apps.<guid>.processes and apps.<guid>.sessions).
// The apps.*_total series are counters since the node started, summed
// over the node's apps.
const (
	SeriesCPUBusyPercent = "cpu.busy_percent"
	SeriesMemUsed        = "memory.used_bytes"
	SeriesMemTotal       = "memory.total_bytes"
	SeriesLoad1          = "load.1m"
	SeriesLoad5          = "load.5m"
	SeriesLoad15         = "load.15m"
	SeriesProcessRSS     = "podium.rss_bytes"
	SeriesAppProcesses   = "apps.processes"
	SeriesAppSessions    = "apps.sessions"
	SeriesAppCrashed     = "apps.crashed_total"
	SeriesAppFailed      = "apps.failed_total"
	SeriesAppRejected    = "apps.rejected_total"
	SeriesJobsRunning    = "jobs.running"
	SeriesQueueDepth     = "jobs.queue_depth"
	SeriesOldestWaiting  = "jobs.oldest_waiting_seconds"
	SeriesReclaimed      = "jobs.reclaimed_total"
	SeriesClockOffset    = "clock.offset_seconds"
	SeriesHeartbeatAge   = "heartbeat.age_seconds"
)

func (s *Sampler) collect() map[string]float64 {
	v := map[string]float64{}
	s.mu.Lock()
	h, err := s.host.read()
	if err == nil {
		s.lastHost, s.haveHost = h, true
	}
	s.mu.Unlock()
	if err != nil {
		s.log.WithError(err).Warn("cannot read host figures")
	} else {
		if h.CPUBusyPercent >= 0 {
			v[SeriesCPUBusyPercent] = h.CPUBusyPercent
		}
		v[SeriesMemUsed], v[SeriesMemTotal] = h.MemUsedBytes, h.MemTotalBytes
		v[SeriesLoad1], v[SeriesLoad5], v[SeriesLoad15] = h.Load1, h.Load5, h.Load15
		v[SeriesProcessRSS] = h.ProcessRSSBytes
	}
	var procs, sessions int
	if s.opts.Registry != nil {
		for _, a := range s.opts.Registry.AppFigures() {
			g := SanitizeName(a.GUID)
			v["apps."+g+".processes"] = float64(a.Processes)
			v["apps."+g+".sessions"] = float64(a.Sessions)
			procs += a.Processes
			sessions += a.Sessions
		}
	}
	v[SeriesAppProcesses], v[SeriesAppSessions] = float64(procs), float64(sessions)
	src := s.opts.Sources
	if src.AppEvents != nil {
		var crashed, failed, rejected int64
		for _, e := range src.AppEvents() {
			crashed, failed, rejected = crashed+e.Crashed, failed+e.Failed, rejected+e.Rejected
		}
		v[SeriesAppCrashed], v[SeriesAppFailed], v[SeriesAppRejected] = float64(crashed), float64(failed), float64(rejected)
	}
	if src.Jobs != nil {
		if f, ok := src.Jobs(); ok {
			if s.opts.Registry != nil {
				s.opts.Registry.SyncJobs(f)
			}
			v[SeriesJobsRunning] = float64(f.Running)
			v[SeriesQueueDepth] = float64(f.QueueDepth)
			v[SeriesOldestWaiting] = f.OldestWaiting.Seconds()
			v[SeriesReclaimed] = float64(f.Reclaimed)
		}
	}
	if src.ClockOffset != nil {
		v[SeriesClockOffset] = src.ClockOffset().Seconds()
	}
	if src.HeartbeatAge != nil {
		v[SeriesHeartbeatAge] = src.HeartbeatAge().Seconds()
	}
	return v
}

// PrometheusServer serves a Registry's /metrics on its own listener. It is
// a server.Service on startstop.Base: Started and Stopped say when its
// server runs.
type PrometheusServer struct {
	startstop.Base
	ln  net.Listener
	srv *http.Server
}

// ListenPrometheus listens on addr (host:port) for Prometheus scrapes of
// reg; Start serves.
func ListenPrometheus(addr string, reg *Registry) (*PrometheusServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	h := reg.Handler()
	mux.Handle("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff") // as on every answer Podium writes
		h.ServeHTTP(w, r)
	}))
	return &PrometheusServer{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr returns the listening address.
func (p *PrometheusServer) Addr() string { return p.ln.Addr().String() }

// Name names the service in logs.
func (p *PrometheusServer) Name() string { return "prometheus" }

// Start serves scrapes until Stop (not until ctx ends: a stopping node
// is scraped until it stops its services).
func (p *PrometheusServer) Start(ctx context.Context) error {
	return p.Go(ctx, func(context.Context) { _ = p.srv.Serve(p.ln) })
}

// Stop closes the listener and waits (within ctx) for running scrapes.
func (p *PrometheusServer) Stop(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	if serr := p.Base.Stop(ctx); err == nil {
		err = serr
	}
	return err
}

// Close closes the listener without serving (a node that failed to open).
func (p *PrometheusServer) Close() error { return p.ln.Close() }
