package apps

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// Options configure a Supervisor.
type Options struct {
	// Source finds the app of a content item.
	Source AppSource
	// Limits are the server defaults ([Scheduler]).
	Limits Limits
	// RunAs is the user apps run as when podium runs as root.
	RunAs string
	// LogDir holds one log file per process, in a folder per content.
	LogDir string
	// Log is the supervisor's logger.
	Log *logrus.Entry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the addresses whose X-Forwarded-* headers are
	// passed on to apps; others' are replaced.
	TrustedProxies []*net.IPNet
	// TrackHijacked records a hijacked client connection (a WebSocket) so
	// the node's shutdown closes it; it returns the function that forgets
	// it. nil tracks nothing.
	TrackHijacked func(net.Conn) (untrack func())
	// Session, when set, is called when a request to an app is upgraded
	// (a WebSocket: a Shiny session) with the request, the app's content
	// and the bundle of the process serving it; it returns the function
	// called when the connection ends (usage recording).
	Session func(c echo.Context, contentID int64, guid string, bundleID int64) (end func())
	// RefreshInterval is how long an answer of Source is reused before it
	// is asked again, which bounds how late a redeploy is noticed. 0 means
	// one second.
	RefreshInterval time.Duration
	// StopGrace is how long a stopping process gets between SIGTERM and
	// SIGKILL. 0 means 5 seconds.
	StopGrace time.Duration
	// RuntimeDir, when set, is a directory of this node only (emptied at
	// Start) where a process gets a copy of its bundle when the RunAs
	// user cannot enter the bundle where it is. Empty: such a process
	// fails to start, with the reason.
	RuntimeDir string
	// ContentHeaders, when set, adjusts the headers of every app response
	// ([Server] FrameOptionsContent).
	ContentHeaders func(http.Header)
	// Sandbox starts the processes; nil runs them as RunAs without one
	// (tests of the supervisor alone). See package internal/sandbox.
	Sandbox *sandbox.Sandbox
	// Proxy is the proxy path ([Applications] Proxy): ProxyDirect (also
	// "") or ProxyStandard.
	Proxy string
}

// Supervisor runs the worker processes of every app on this node and
// proxies requests to them. It is a server.Service.
type Supervisor struct {
	opts      Options
	log       *logrus.Entry
	transport *http.Transport
	dialer    *net.Dialer
	// dialers are the processes with their own network namespace, by the
	// host of their proxy target: the transport dials them through it.
	dialers sync.Map // string -> *sandbox.Process

	mu      sync.Mutex
	pools   map[string]*pool
	stopped bool
	runCtx  context.Context
	wg      sync.WaitGroup
	// ticker is the loop that scales pools down, replaces failed
	// processes and notices redeploys (Start starts it, Stop stops it).
	ticker startstop.Base

	// TestSignals are the events tests wait on instead of sleeping;
	// production leaves them nil (call Init before Start).
	TestSignals TestSignals

	// Events counts what happened, for metrics and tests.
	events Events

	// afterStart, when set (tests), runs between a process's start and
	// its registration: where a concurrent Stop used to lose it.
	afterStart func()
}

// TestSignals are the supervisor's test signals.
type TestSignals struct {
	// Ticked carries, after each pass of the tick loop, whether the pass
	// listed every app again (discovery) before maintaining the pools.
	Ticked testsignal.Signal[bool]
}

// Init makes every signal; call it before Start.
func (ts *TestSignals) Init() { ts.Ticked.Init() }

// Events are counters of what the supervisor did since it started.
type Events struct {
	Started  int64 `json:"started"`
	Crashed  int64 `json:"crashed"`
	Failed   int64 `json:"failed"`
	Stopped  int64 `json:"stopped"`
	Rejected int64 `json:"rejected"` // requests answered 502/503
	// LimitKilled counts processes the kernel killed for exceeding a
	// limit of their content item's sandbox (memory); they count as
	// crashed too.
	LimitKilled int64 `json:"limit_killed"`
	Requests    int64 `json:"requests"` // requests (and WebSockets) handed to a process
}

// pool holds the processes of one content item on this node.
type pool struct {
	guid     string
	app      *App // the active app as last read; nil until read or when gone
	limits   Limits
	fetched  time.Time
	fetchErr error
	procs    []*process // live: starting, ready, draining, stopping
	history  []*process // ended, newest last
	starting int
	failures int       // consecutive failed starts or crashes
	notUntil time.Time // no start before this (backoff)
	lastErr  string
	changed  chan struct{} // closed and replaced when processes change
	events   Events        // this content's share of the supervisor's events
	upgraded int           // open WebSockets (hijacked connections)

	// failedBundle is the bundle whose failed process set lastErr and
	// notUntil: a failed start is answered only for that bundle.
	failedBundle int64
	queued       int // requests waiting for a process with room
	// waiters are the queued requests' turns, first come first served: a
	// release wakes one (wakeOne), a change of processes all (signal).
	waiters []chan struct{}
	// granted counts the turns wakeOne gave that their requests have not
	// yet taken up: the room they were given is theirs.
	granted int
}

// historyLen is how many ended processes each pool remembers.
const historyLen = 20

// New returns a supervisor; Start starts it.
func New(opts Options) *Supervisor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	s := &Supervisor{
		opts:  opts,
		log:   opts.Log,
		pools: map[string]*pool{},
		transport: &http.Transport{
			// Each process is one host (its port): keep as many idle
			// connections to it as it may have requests in flight, or
			// the transport closes and redials under load.
			MaxIdleConns:        4096,
			MaxIdleConnsPerHost: max(512, opts.Limits.MaxConnsPerProcess),
			IdleConnTimeout:     60 * time.Second,
			DisableCompression:  true,
		},
		runCtx: context.Background(),
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	s.dialer = dialer
	s.transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if sp, ok := s.dialers.Load(addr); ok {
			_, port, _ := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(port)
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return sp.(*sandbox.Process).Dial(ctx, n)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return s
}

// Name names the service in logs.
func (s *Supervisor) Name() string { return "apps" }

// Start starts the minimum processes of every app and the loop that scales
// pools down, replaces failed processes and notices redeploys.
func (s *Supervisor) Start(ctx context.Context) error {
	if s.opts.RuntimeDir != "" {
		// Copies left by a previous run of this node (killed before it
		// could remove them).
		if err := os.RemoveAll(s.opts.RuntimeDir); err != nil {
			s.log.WithError(err).Warn("cannot empty the directory of bundle copies")
		}
	}
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	s.discover(ctx)
	s.maintain(ctx)
	lastDiscovery := s.opts.Now()
	// The tick loop (its goroutine only reads and writes lastDiscovery).
	return s.ticker.GoEvery(ctx, s.tickInterval(), false, func(ctx context.Context) {
		// Apps deployed through other nodes get their minimum processes
		// here too.
		discovered := s.opts.Now().Sub(lastDiscovery) >= discoveryEvery*s.opts.RefreshInterval
		if discovered {
			s.discover(ctx)
			lastDiscovery = s.opts.Now()
		}
		s.maintain(ctx)
		s.TestSignals.Ticked.Signal(discovered)
	})
}

// discoveryEvery is how many refresh intervals pass between two listings
// of every app (AppGUIDs).
const discoveryEvery = 3

// discover makes a pool for every deployed app, so their MinProcesses run
// without waiting for a request.
func (s *Supervisor) discover(ctx context.Context) {
	guids, err := s.opts.Source.AppGUIDs(ctx)
	if err != nil {
		// Not fatal: pools are also made on first request.
		s.log.WithError(err).Warn("cannot list apps: their minimum processes start on first request")
	}
	for _, g := range guids {
		s.mu.Lock()
		_, known := s.pools[g]
		s.mu.Unlock()
		if !known {
			s.refresh(ctx, s.pool(g), true)
		}
	}
}

func (s *Supervisor) tickInterval() time.Duration {
	d := min(s.opts.Limits.IdleTimeout/4, s.opts.RefreshInterval, time.Second)
	return max(d, 50*time.Millisecond)
}

// Stop stops every process (SIGTERM, then SIGKILL after the grace period
// or when ctx ends) and waits for the supervisor's goroutines.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	var all []*process
	for _, pl := range s.pools {
		for _, p := range pl.procs {
			p.state = StateStopping
			all = append(all, p)
		}
	}
	s.mu.Unlock()
	// The tick loop ends promptly once cancelled (it starts nothing now
	// that stopped is set): wait for it whatever ctx says.
	_ = s.ticker.Stop(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			terminate(ctx, p, s.opts.StopGrace)
		}()
	}
	wg.Wait()
	s.wg.Wait()
	if s.opts.RuntimeDir != "" {
		_ = os.Remove(s.opts.RuntimeDir) // the processes removed their copies; empty unless one is stuck
	}
	s.transport.CloseIdleConnections()
	s.log.WithField("processes", len(all)).Info("app processes stopped")
	return nil
}

// Stats returns the supervisor's counters.
func (s *Supervisor) Stats() Events {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// ContentStats are the figures of one content item's app on this node.
type ContentStats struct {
	// Processes are live: starting, ready, draining or stopping.
	Processes int `json:"processes"`
	// Ready processes take requests.
	Ready int `json:"ready"`
	// Connections are requests in flight plus open WebSockets.
	Connections int `json:"connections"`
	// WebSockets are open WebSocket (upgraded) connections.
	WebSockets int `json:"websockets"`
	// Queued are requests waiting for a process with fewer than
	// MaxConnsPerProcess connections.
	Queued int `json:"queued"`
	// Events count, since the supervisor started, this content's process
	// starts, crashes, failed starts, stops, refused and proxied requests
	// (monotonic: Prometheus counters).
	Events
}

// Snapshot is the state of every app on this node, for metrics.
type Snapshot struct {
	// Events are the totals over every content item.
	Events Events `json:"events"`
	// Content has an entry for every content item this node has served
	// or run processes for, by guid.
	Content map[string]ContentStats `json:"content"`
}

// Snapshot returns the counters and the per-content gauges (processes,
// connections, WebSockets) at one instant. Content items stay in the map
// once seen (their counters keep growing), with zero gauges when they
// have no processes.
func (s *Supervisor) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Events: s.events, Content: make(map[string]ContentStats, len(s.pools))}
	for guid, pl := range s.pools {
		cs := ContentStats{Events: pl.events, WebSockets: pl.upgraded, Queued: pl.queued}
		for _, p := range pl.procs {
			switch p.state {
			case StateStarting, StateReady, StateDraining, StateStopping:
				cs.Processes++
			}
			if p.state == StateReady {
				cs.Ready++
			}
			cs.Connections += p.conns
		}
		out.Content[guid] = cs
	}
	return out
}

// pool returns the pool of guid, creating it.
func (s *Supervisor) pool(guid string) *pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	pl := s.pools[guid]
	if pl == nil {
		pl = &pool{guid: guid, changed: make(chan struct{}), limits: s.opts.Limits}
		s.pools[guid] = pl
	}
	return pl
}

// signal wakes the requests waiting on pl. Call with s.mu held.
func (pl *pool) signal() {
	close(pl.changed)
	pl.changed = make(chan struct{})
}

// refresh reads pl's app from the source when the last answer is older
// than RefreshInterval (or force), and drains the processes of a replaced
// bundle.
func (s *Supervisor) refresh(ctx context.Context, pl *pool, force bool) {
	s.mu.Lock()
	fresh := !force && s.opts.Now().Sub(pl.fetched) < s.opts.RefreshInterval
	s.mu.Unlock()
	if fresh {
		return
	}
	app, err := s.opts.Source.ActiveApp(ctx, pl.guid)
	s.mu.Lock()
	defer s.mu.Unlock()
	pl.fetched = s.opts.Now()
	switch {
	case podium.IsCode(err, podium.ENOTFOUND):
		app = nil // gone or no longer an app: drain everything
	case err != nil:
		pl.fetchErr = err // keep the last known app
		return
	}
	pl.fetchErr = nil
	old := pl.app
	pl.app = app
	if app != nil {
		pl.limits = s.opts.Limits.Apply(&app.Overrides)
	}
	if old != nil && (app == nil || app.BundleID != old.BundleID) {
		n := 0
		for _, p := range pl.procs {
			if p.bundleID != bundleOf(app) && (p.state == StateReady || p.state == StateStarting) {
				p.state = StateDraining
				n++
			}
		}
		pl.failures, pl.notUntil = 0, time.Time{}
		s.log.WithFields(logrus.Fields{"guid": pl.guid, "old_bundle": old.BundleID, "new_bundle": bundleOf(app), "draining": n}).
			Info("app redeployed: draining the old bundle's processes")
		pl.signal()
	}
}

func bundleOf(a *App) int64 {
	if a == nil {
		return 0
	}
	return a.BundleID
}

// current returns the ready processes of pl's current bundle and the
// number being started (reserved or not listening yet). Call with s.mu
// held.
func (pl *pool) current() (ready []*process, starting int) {
	b := bundleOf(pl.app)
	for _, p := range pl.procs {
		if p.bundleID != b {
			continue
		}
		switch p.state {
		case StateReady:
			ready = append(ready, p)
		case StateStarting:
			starting++
		}
	}
	return ready, starting + pl.starting
}

// leastLoaded returns the ready process of pl's current bundle with the
// fewest connections (nil when none is ready), the number of live ones
// (ready or starting) and of starting ones. It is pl.current without the
// allocation, for the request path. Call with s.mu held.
func (pl *pool) leastLoaded() (best *process, live, starting int) {
	b := bundleOf(pl.app)
	starting = pl.starting
	for _, p := range pl.procs {
		if p.bundleID != b {
			continue
		}
		switch p.state {
		case StateReady:
			live++
			if best == nil || p.conns < best.conns {
				best = p
			}
		case StateStarting:
			starting++
		}
	}
	return best, live + starting, starting
}

// maintain runs one round of housekeeping on every pool: notice
// redeploys, stop idle processes above the minimum and drained ones, and
// start processes up to the minimum (after any backoff).
func (s *Supervisor) maintain(ctx context.Context) {
	s.mu.Lock()
	pools := make([]*pool, 0, len(s.pools))
	for _, pl := range s.pools {
		pools = append(pools, pl)
	}
	s.mu.Unlock()
	for _, pl := range pools {
		if ctx.Err() != nil {
			return
		}
		s.refresh(ctx, pl, false)
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		now := s.opts.Now()
		var stop []*process
		ready, starting := pl.current()
		// Idle processes beyond the minimum, the longest idle first.
		slices.SortFunc(ready, func(a, b *process) int { return a.idleFrom.Compare(b.idleFrom) })
		keep := len(ready) + starting
		for _, p := range ready {
			if keep <= pl.limits.MinProcesses {
				break
			}
			if p.conns == 0 && now.Sub(p.idleFrom) >= pl.limits.IdleTimeout {
				p.state = StateStopping
				stop = append(stop, p)
				keep--
			}
		}
		for _, p := range pl.procs {
			if p.state == StateDraining && p.conns == 0 {
				p.state = StateStopping
				stop = append(stop, p)
			}
		}
		need := 0
		if pl.app != nil && !now.Before(pl.notUntil) {
			need = max(pl.limits.MinProcesses-keep, 0)
			pl.starting += need
		}
		app := pl.app
		s.mu.Unlock()
		for _, p := range stop {
			s.log.WithFields(logrus.Fields{"guid": pl.guid, "pid": p.pid}).Debug("stopping idle app process")
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				terminate(ctx, p, s.opts.StopGrace)
			}()
		}
		for range need {
			s.spawn(ctx, pl, app)
		}
	}
}

// goSpawn runs spawn in a goroutine that Stop waits for (a request that
// needs one more process calls it). The caller has counted the start in
// pl.starting, under s.mu.
func (s *Supervisor) goSpawn(pl *pool, app *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		pl.starting--
		return
	}
	ctx := s.runCtx
	s.wg.Add(1) // under s.mu, before Stop can set stopped and Wait
	go func() {
		defer s.wg.Done()
		s.spawn(ctx, pl, app)
	}()
}

// spawn starts one process of app in pl and, in the background, waits for
// it to listen; on failure it records the error and backs off. The caller
// has counted the start in pl.starting (under s.mu), so concurrent
// callers never start more than MaxProcesses.
func (s *Supervisor) spawn(ctx context.Context, pl *pool, app *App) {
	s.mu.Lock()
	if s.stopped {
		pl.starting--
		s.mu.Unlock()
		return
	}
	limits := pl.limits
	s.mu.Unlock()
	log := s.log.WithFields(logrus.Fields{"guid": app.GUID, "bundle": app.BundleID})
	p, err := s.startProcess(app)
	if s.afterStart != nil {
		s.afterStart()
	}
	s.mu.Lock()
	pl.starting--
	if err != nil {
		s.failed(pl, app.BundleID, err.Error())
		s.mu.Unlock()
		log.WithError(err).Error("cannot start app process")
		return
	}
	if s.stopped {
		// Stop ran while the process started and did not see it: stop it
		// here, or nothing would.
		s.mu.Unlock()
		terminate(ctx, p, s.opts.StopGrace)
		return
	}
	pl.procs = append(pl.procs, p)
	s.events.Started++
	pl.events.Started++
	s.mu.Unlock()
	log = log.WithField("pid", p.pid)
	log.WithField("port", p.port).Info("app process started")

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := waitListening(ctx, p, limits.InitTimeout)
		s.mu.Lock()
		if err != nil {
			if p.state == StateStarting || p.state == StateDraining {
				s.events.Failed++
				pl.events.Failed++
				s.failed(pl, p.bundleID, fmt.Sprintf("process %d %v", p.pid, err))
				p.state = StateStopping
				s.mu.Unlock()
				log.WithError(err).Error("app process failed to start: replacing it with backoff")
				terminate(ctx, p, s.opts.StopGrace)
				s.mu.Lock()
				p.state = StateFailed
			}
		} else if p.state == StateStarting {
			p.state = StateReady
			p.idleFrom = s.opts.Now()
			pl.failures = 0
			pl.signal()
		}
		s.mu.Unlock()
		if err == nil {
			log.Debug("app process listening")
		}
		<-p.done
		s.exited(pl, p, log)
	}()
}

// failed records a failed start or crash of a process of bundleID in pl
// and sets the backoff. A process of a bundle that is no longer the
// current one (a redeploy replaced it while it started) does not count:
// its error must never be served for, nor delay, the bundle that replaced
// it. Call with s.mu held.
func (s *Supervisor) failed(pl *pool, bundleID int64, msg string) {
	if bundleID != bundleOf(pl.app) {
		pl.signal()
		return
	}
	pl.failures++
	pl.lastErr = msg
	pl.failedBundle = bundleID
	backoff := min(time.Duration(1<<min(pl.failures-1, 5))*time.Second, 30*time.Second)
	pl.notUntil = s.opts.Now().Add(backoff)
	pl.signal()
}

// exited moves an ended process from pl's live list to its history.
func (s *Supervisor) exited(pl *pool, p *process, log *logrus.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.ended = s.opts.Now()
	switch p.state {
	case StateStopping:
		p.state = StateExited
		s.events.Stopped++
		pl.events.Stopped++
	case StateFailed:
	default:
		p.state = StateCrashed
		s.events.Crashed++
		pl.events.Crashed++
		if p.limitKill != "" {
			s.events.LimitKilled++
			pl.events.LimitKilled++
			log = log.WithField("limit", p.limitKill)
		}
		s.failed(pl, p.bundleID, fmt.Sprintf("process %d crashed: %v", p.pid, p.exitErr))
		log.WithField("exit", fmt.Sprint(p.exitErr)).Error("app process crashed: replacing it with backoff; see its log")
	}
	pl.procs = slices.DeleteFunc(pl.procs, func(q *process) bool { return q == p })
	pl.history = append(pl.history, p)
	if len(pl.history) > historyLen {
		pl.history = pl.history[len(pl.history)-historyLen:]
	}
	pl.signal()
}

// Processes lists this node's processes of content guid, live first, then
// the recently ended ones.
func (s *Supervisor) Processes(guid string) []ProcessInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	pl := s.pools[guid]
	out := []ProcessInfo{}
	if pl == nil {
		return out
	}
	for _, p := range pl.procs {
		out = append(out, p.info())
	}
	for i := len(pl.history) - 1; i >= 0; i-- {
		out = append(out, pl.history[i].info())
	}
	return out
}

// Running returns how many processes of content guid run on this node
// (Live states): what the dashboard shows and the metrics sample.
func (s *Supervisor) Running(guid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	if pl := s.pools[guid]; pl != nil {
		for _, p := range pl.procs {
			if Live(p.state) {
				n++
			}
		}
	}
	return n
}

// PoolStatus summarizes one app's pool on this node.
type PoolStatus struct {
	GUID      string `json:"guid"`
	Limits    Limits `json:"limits"`
	Failures  int    `json:"consecutive_failures"`
	LastError string `json:"last_error,omitempty"`
	// Queued are requests waiting for a process with room (fewer than
	// MaxConnsPerProcess connections).
	Queued    int           `json:"queued"`
	Processes []ProcessInfo `json:"processes"`
}

// Status returns the pool of guid on this node.
func (s *Supervisor) Status(guid string) PoolStatus {
	procs := s.Processes(guid)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := PoolStatus{GUID: guid, Limits: s.opts.Limits, Processes: procs}
	if pl := s.pools[guid]; pl != nil {
		st.Limits, st.Failures, st.LastError, st.Queued = pl.limits, pl.failures, pl.lastErr, pl.queued
	}
	return st
}

// LogPath returns the log file of process pid of content guid on this
// node. Returns ENOTFOUND if this node has no such process.
func (s *Supervisor) LogPath(guid string, pid int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pl := s.pools[guid]; pl != nil {
		for _, list := range [][]*process{pl.procs, pl.history} {
			for _, p := range list {
				if p.pid == pid {
					return p.logPath, nil
				}
			}
		}
	}
	return "", podium.Errorf(podium.ENOTFOUND, "process %d of content %s is not known on this node", pid, guid)
}

// dialProcess returns the direct path's dialer of the process sp listening
// on port: through its network namespace when it has its own.
func (s *Supervisor) dialProcess(sp *sandbox.Process, port int) func(context.Context) (net.Conn, error) {
	if sp.Isolated() {
		return func(ctx context.Context) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return sp.Dial(ctx, port)
		}
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return func(ctx context.Context) (net.Conn, error) { return s.dialer.DialContext(ctx, "tcp", addr) }
}
