package metrics

import (
	"sort"
	"sync"
	"time"
)

// JobFigures are the scheduler's figures (package scheduler's Stats, in
// the metrics' own terms so the two packages need not import each other).
type JobFigures struct {
	// Host is the host that ran the jobs (a label of the job durations).
	Host string
	// Running is how many jobs this node runs now.
	Running int
	// QueueDepth is how many due jobs wait in the cluster.
	QueueDepth int
	// OldestWaiting is the age of the oldest waiting job.
	OldestWaiting time.Duration
	// Reclaimed counts abandoned jobs this node requeued since start.
	Reclaimed uint64
	// Durations are, per queue, the count and total duration of the jobs
	// this node finished since start. They feed the job duration
	// histogram when nothing calls Registry.ObserveJob directly.
	Durations map[string]JobDurations
}

// JobDurations are the finished jobs of one queue: how many, and their
// summed duration.
type JobDurations struct {
	Count uint64
	Sum   time.Duration
}

// AppFigures are the app figures of one content item on this node.
type AppFigures struct {
	GUID string
	// Processes is how many worker processes run (starting, ready or
	// draining).
	Processes int
	// Sessions is how many WebSocket connections are open.
	Sessions int
}

// AppEvents are the counters of one content item's worker processes and
// requests on this node since the node started.
type AppEvents struct {
	// Started counts processes started.
	Started int64
	// Crashed counts processes that exited on their own.
	Crashed int64
	// Failed counts processes that did not listen within InitTimeout.
	Failed int64
	// Stopped counts processes Podium stopped (idle, redeploy, shutdown).
	Stopped int64
	// Requests counts requests and WebSockets handed to a process.
	Requests int64
	// Rejected counts requests answered with a 502 or 503 page.
	Rejected int64
	// LimitKilled counts processes killed for exceeding a limit of their
	// sandbox (also counted in Crashed).
	LimitKilled int64
}

// LimitKill is one count of content processes a limit of their
// content item's sandbox killed or made fail: the kind of process ("app",
// "render", "build") and the limit ("memory", "processes").
type LimitKill struct {
	Kind, Limit string
}

// Sources are the parts of the node the sampler and the Prometheus
// collectors read; a nil field is left out. Each is called on every sample
// and every scrape: they must be cheap and must not query the database.
type Sources struct {
	// Jobs returns the scheduler's figures; ok is false while the node
	// has no scheduler.
	Jobs func() (f JobFigures, ok bool)
	// AppProcesses returns the live worker processes per content guid.
	AppProcesses func() map[string]int
	// AppEvents returns the process and request counters per content
	// guid, for every content item the node has served since it started.
	AppEvents func() map[string]AppEvents
	// HeartbeatAge returns the time since the node's last recorded
	// heartbeat.
	HeartbeatAge func() time.Duration
	// ClockOffset returns the node's clock minus the database's, as the
	// last heartbeat measured it.
	ClockOffset func() time.Duration
	// DatabaseSchema returns the schema version of the database as the
	// node last read it.
	DatabaseSchema func() int64
	// LimitKills returns how many content processes each limit killed
	// or made fail on this node since it started.
	LimitKills func() map[LimitKill]int64
}

// Sessions counts the open WebSocket connections to app content, per
// content guid. The HTTP middleware feeds it; it is safe for concurrent
// use.
type Sessions struct {
	mu sync.Mutex
	n  map[string]int
}

// Open records a new session of guid; call the returned function when it
// ends.
func (s *Sessions) Open(guid string) (done func()) {
	s.mu.Lock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[guid]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.n[guid]--
			if s.n[guid] <= 0 {
				delete(s.n, guid)
			}
			s.mu.Unlock()
		})
	}
}

// Counts returns the open sessions per guid.
func (s *Sessions) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.n))
	for k, v := range s.n {
		out[k] = v
	}
	return out
}

// apps merges process and session counts into one list, sorted by guid.
func mergeApps(procs map[string]int, sessions map[string]int) []AppFigures {
	byGUID := map[string]*AppFigures{}
	get := func(g string) *AppFigures {
		if byGUID[g] == nil {
			byGUID[g] = &AppFigures{GUID: g}
		}
		return byGUID[g]
	}
	for g, n := range procs {
		get(g).Processes = n
	}
	for g, n := range sessions {
		get(g).Sessions = n
	}
	out := make([]AppFigures, 0, len(byGUID))
	for _, f := range byGUID {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GUID < out[j].GUID })
	return out
}
