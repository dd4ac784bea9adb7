// Package scheduler runs scheduled report renders across the nodes of a
// cluster (or on a single SQLite node).
//
// Each due time of a schedule becomes one row of the jobs table, queued by
// the one node that holds the enqueuer lease ([EnqueueLease]); the
// database's unique key on (content, due time) makes "one job per due
// time" hold even while two nodes believe they hold it, and due times that
// passed before the job was queued are recorded on it as skipped, never
// dropped silently. Nodes claim due jobs (FOR UPDATE SKIP LOCKED on
// PostgreSQL; the single writer on SQLite), at most [Options] Concurrency
// at a time, look for work every poll interval, when a job ends while work
// was waiting, and on PostgreSQL when the enqueuer names them in a
// notification (NOTIFY podium_jobs).
//
// A running job's node heartbeats it, by the database clock. A job whose
// heartbeat is older than the heartbeat timeout is abandoned: any node
// requeues it and some node runs it again (at least once), up to its
// maximum attempts. Each claim carries a token; a node that lost its claim
// cannot heartbeat or finish the job any more. On a clean stop, running jobs
// may finish within the grace period; the rest are released at once.
//
// It imports the domain, dbprovider, publish (to render) and logrus; never
// web or server.
package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// Channel is the notification channel that announces new or requeued jobs.
const Channel = "podium_jobs"

// Defaults of [Options].
const (
	DefaultPollInterval     = 5 * time.Second
	DefaultHeartbeatTimeout = 30 * time.Second
	// DefaultEnqueueAhead is how long before its due time a scheduled
	// job is queued (see Options.EnqueueAhead).
	DefaultEnqueueAhead = 500 * time.Millisecond
	// MaxHeartbeatInterval caps the interval between a job's heartbeats.
	MaxHeartbeatInterval = 5 * time.Second
	// claimTimeout bounds one claim, which a stop does not interrupt.
	claimTimeout = 10 * time.Second
)

// MaxConcurrency is the largest [Options] Concurrency a node records (the
// node registry's column is a PostgreSQL integer); larger values are
// clamped with a warning.
const MaxConcurrency = math.MaxInt32

// NoWorkWarning is the warning shown (log, /__ping__, dashboard) when no
// live node takes scheduled work.
const NoWorkWarning = "no live node takes scheduled work: every live node has [Applications] ScheduleConcurrency = 0, so scheduled reports will not run"

// Options configure New.
type Options struct {
	DB  dbprovider.Provider
	Log *logrus.Entry
	// Runner runs render jobs (queue "render"); noop jobs need none.
	Runner Runner
	// Access decides who may read and change a report's schedule and
	// jobs: the publishing service, so that one rule covers every content
	// endpoint. Without it the schedule and job endpoints answer
	// EUNAVAILABLE.
	Access ContentAccess
	// NodeID names this node in claims and attempts.
	NodeID string
	// Concurrency is how many scheduled jobs this node runs at once; 0
	// means it takes none (it still queues due jobs and reclaims abandoned
	// ones).
	Concurrency int
	// PollInterval is how often the node looks for due work and abandoned
	// jobs (default 5s).
	PollInterval time.Duration
	// HeartbeatTimeout is how old a running job's heartbeat may grow before
	// the job counts as abandoned (default 30s).
	HeartbeatTimeout time.Duration
	// HeartbeatInterval is how often a running job is heartbeated (default
	// HeartbeatTimeout/4, at most 5s).
	HeartbeatInterval time.Duration
	// NodeTimeout is [HA] NodeTimeout: how old a node's heartbeat may be
	// for it to count as live in the "no node takes work" check.
	NodeTimeout time.Duration
	// MaxAttempts bounds how often a job is run again after being
	// abandoned (default 3).
	MaxAttempts int
	// Now is the node's clock, for durations (injected for tests).
	Now func() time.Time
	// DBNow is the clock due schedules are compared with (default: the
	// database's, dbprovider.Provider.Now; injected for tests).
	DBNow func(ctx context.Context) (time.Time, error)
	// LeaseTTL is how long the enqueuer lease outlives its holder's last
	// renewal (default 3 × PollInterval): after a node that held it dies,
	// another node queues due schedules within LeaseTTL + PollInterval.
	LeaseTTL time.Duration
	// HistoryRetention is how long finished jobs and render records are
	// kept ([Applications] HistoryRetention); 0 keeps them forever.
	HistoryRetention time.Duration
	// HistoryRetentionSet says the administrator set HistoryRetention
	// (not the default). On a database upgraded from a release without
	// it ([podium.RetentionHoldKey]), nothing is deleted until then.
	HistoryRetentionSet bool
	// EnqueueAhead is how long before its due time the enqueuer queues a
	// scheduled job (default DefaultEnqueueAhead; negative: only once
	// due). The job waits, queued but not claimable, and the nodes it is
	// announced to wake on its due time: so the enqueue transaction and
	// the notification are not between the due time and the start.
	EnqueueAhead time.Duration
}

// ContentAccess is the access rule of every content endpoint; the
// publishing service implements it.
type ContentAccess interface {
	// ContentAccess returns content guid if u may read it (write false)
	// or change it (write true). Returns EUNAUTHORIZED for anonymous,
	// ENOTFOUND when u may not see the content, EFORBIDDEN when u sees it
	// but may not change it.
	ContentAccess(ctx context.Context, u *podium.User, guid string, write bool) (*podium.Content, error)
}

// Service is the scheduler of one node. It implements server's Service
// interface (Name, Start, Stop).
type Service struct {
	opts Options
	db   dbprovider.Provider
	log  *logrus.Entry
	host string

	wake chan struct{}
	kick chan struct{} // re-plan the maintenance loop (a schedule changed)
	jobs sync.WaitGroup

	// The background parts, each a service on startstop.Base that Start
	// starts and Stop stops: the maintenance loop (lease, reclaim,
	// enqueueing, retention), the claim loop and the notification
	// listener.
	maintainer maintainer
	claimer    claimer
	listener   listener

	// TestSignals are the events tests wait on instead of sleeping;
	// production leaves them nil (see TestSignals.Init).
	TestSignals TestSignals

	mu      sync.Mutex
	running map[int64]*run
	idle    chan struct{} // closed when running becomes empty while stopping

	stopping atomic.Bool
	// Claim budget (see claimAvailable): broad means "claim until the
	// queue is empty or the slots are full"; otherwise the node claims at
	// most pending jobs (what the enqueuer addressed to it). missed is set
	// when work may be waiting that this node could not take (its slots
	// were full), so that it looks again when a job ends.
	broad    atomic.Bool
	pending  atomic.Int64
	missed   atomic.Bool
	warning  atomic.Pointer[string]
	counters counters
	queue    atomic.Pointer[dbprovider.JobQueueStats]

	// Enqueuer state, used by the maintenance loop only.
	leader      bool
	renewedAt   time.Time                 // node clock, last successful renewal
	claimers    []dbprovider.NodeCapacity // live nodes that take work
	claimersAt  time.Time
	rr          int // round-robin position in claimers
	prunedAt    time.Time
	holdNoticed bool     // the retention hold was logged
	pruneBehind bool     // the last retention pass stopped at its bound
	specs       sync.Map // spec+"\x00"+timezone -> *Spec
}

// TestSignals are the scheduler's test signals, sent as each part does
// its work; a test calls Init before Start and waits on them.
type TestSignals struct {
	// Claimed carries the number of jobs of each claim that found some.
	Claimed testsignal.Signal[int]
	// Finished carries the id of each job whose run on this node ended
	// (recorded, released or refused as stale).
	Finished testsignal.Signal[int64]
	// Maintained carries, after each maintenance pass, the wait until the
	// next one.
	Maintained testsignal.Signal[time.Duration]
	// Lease carries true when this node takes the enqueuer lease, false
	// when it loses it.
	Lease testsignal.Signal[bool]
	// Reclaimed carries each reclaim that found abandoned jobs.
	Reclaimed testsignal.Signal[*dbprovider.JobReclaimResult]
	// Enqueued carries the number of jobs of each enqueue batch that
	// queued some.
	Enqueued testsignal.Signal[int]
	// Pruned carries the number of rows each history retention pass
	// deleted, when it deleted some.
	Pruned testsignal.Signal[int]
	// Notified carries the payload of each notification handled.
	Notified testsignal.Signal[string]
}

// Init makes every signal; call it before Start.
func (ts *TestSignals) Init() {
	ts.Claimed.Init()
	ts.Finished.Init()
	ts.Maintained.Init()
	ts.Lease.Init()
	ts.Reclaimed.Init()
	ts.Enqueued.Init()
	ts.Pruned.Init()
	ts.Notified.Init()
}

// run is one job this node runs.
type run struct {
	job      *podium.Job
	cancel   context.CancelFunc
	released atomic.Bool
}

// New returns a scheduler for opts, filling in defaults.
func New(opts Options) *Service {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.HeartbeatTimeout <= 0 {
		opts.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = min(opts.HeartbeatTimeout/4, MaxHeartbeatInterval)
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 3 * opts.HeartbeatTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DBNow == nil {
		opts.DBNow = opts.DB.Now
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 3 * opts.PollInterval
	}
	switch {
	case opts.EnqueueAhead == 0:
		opts.EnqueueAhead = DefaultEnqueueAhead
	case opts.EnqueueAhead < 0:
		opts.EnqueueAhead = 0
	}
	if opts.Log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		opts.Log = logrus.NewEntry(l)
	}
	if opts.Concurrency > MaxConcurrency {
		// Older releases accepted any value and stored it; the node
		// registry holds a PostgreSQL integer. Nothing could run that many
		// jobs at once anyway: the value meant "no limit".
		opts.Log.WithFields(logrus.Fields{"configured": opts.Concurrency, "used": MaxConcurrency}).
			Warn("[Applications] ScheduleConcurrency is out of range: clamped")
		opts.Concurrency = MaxConcurrency
	}
	host, _ := os.Hostname()
	s := &Service{opts: opts, db: opts.DB, log: opts.Log, host: host,
		wake: make(chan struct{}, 1), kick: make(chan struct{}, 1), running: map[int64]*run{}}
	s.maintainer.s, s.claimer.s, s.listener.s = s, s, s
	s.counters.durations = map[string]*DurationStats{}
	s.broad.Store(true) // the first pass after Start looks for everything due
	return s
}

// Name implements server.Service.
func (s *Service) Name() string { return "scheduler" }

// Drain implements server.Drainer: the node has begun to drain (a stop, or
// a database schema newer than the binary), so the claim loop takes no new
// job from now on, while in-flight requests still finish. Running jobs are
// left to Stop.
func (s *Service) Drain() { s.stopping.Store(true) }

// Start records this node's concurrency in the registry, says whether any
// live node takes scheduled work, and starts the loops. The loops end when
// ctx ends; jobs already running do not (Stop decides their fate).
func (s *Service) Start(ctx context.Context) error {
	if err := s.db.JobNodeCapacitySet(ctx, s.opts.NodeID, s.opts.Concurrency); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	s.checkCapacity(ctx, true)
	_ = s.maintainer.Start(ctx)
	if s.opts.Concurrency > 0 {
		_ = s.claimer.Start(ctx)
		if s.db.SupportsListenNotify() {
			_ = s.listener.Start(ctx)
		}
	}
	s.log.WithFields(logrus.Fields{"concurrency": s.opts.Concurrency, "poll_interval": s.opts.PollInterval.String(),
		"heartbeat_timeout": s.opts.HeartbeatTimeout.String(), "notifications": s.db.SupportsListenNotify()}).Info("scheduler started")
	return nil
}

// Stop stops claiming, lets running jobs finish until shortly before ctx's
// deadline, then releases those still running so another node takes them
// at once, and waits for every goroutine to end.
func (s *Service) Stop(ctx context.Context) error {
	s.stopping.Store(true)
	// The loops end promptly once cancelled (all at once): wait for them
	// whatever ctx says, as the lease below is theirs.
	_ = startstop.StopAll(context.WithoutCancel(ctx), &s.listener, &s.claimer, &s.maintainer)
	if s.leader {
		// Another node takes the enqueuer role at its next poll, not
		// after the lease's TTL.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		if err := s.db.LeaseRelease(rctx, EnqueueLease, s.opts.NodeID); err != nil {
			s.log.WithError(err).Debug("cannot release the enqueuer lease")
		}
		cancel()
		s.leader = false
	}

	s.mu.Lock()
	n := len(s.running)
	idle := make(chan struct{})
	if n == 0 {
		close(idle)
	} else {
		s.idle = idle
	}
	s.mu.Unlock()

	if n > 0 {
		s.log.WithField("running", n).Info("waiting for running scheduled jobs to finish")
		// Keep a margin before the deadline to release what is left while
		// the grace period still runs.
		wait := time.Duration(1<<63 - 1)
		if dl, ok := ctx.Deadline(); ok {
			left := time.Until(dl)
			wait = left - min(time.Second, left/5)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-idle:
		case <-t.C:
			s.releaseAll(context.WithoutCancel(ctx))
		case <-ctx.Done():
			s.releaseAll(context.WithoutCancel(ctx))
		}
		t.Stop()
	}
	s.jobs.Wait()
	return nil
}

// Warnings returns what an administrator should know (no live node takes
// scheduled work), for /__ping__ and the dashboard. It does not query the
// database: the maintenance loop refreshes it every poll interval.
func (s *Service) Warnings() []string {
	if w := s.warning.Load(); w != nil && *w != "" {
		return []string{*w}
	}
	return nil
}

// Wake makes the node look for due work now (after queueing a job from
// this process, for example).
func (s *Service) Wake() { s.wakeUp() }

// checkCapacity refreshes the "no live node takes scheduled work" warning,
// logging when it appears (always at start) and when it clears.
func (s *Service) checkCapacity(ctx context.Context, atStart bool) {
	live, capacity, err := s.db.JobNodeCapacity(ctx, s.opts.NodeTimeout)
	if err != nil {
		return
	}
	var w string
	if capacity == 0 && live > 0 {
		w = NoWorkWarning
	}
	old := s.warning.Swap(&w)
	had := old != nil && *old != ""
	switch {
	case w != "" && (atStart || !had):
		s.log.WithField("live_nodes", live).Warn(NoWorkWarning)
	case w == "" && had:
		s.log.WithField("capacity", capacity).Info("scheduled work can run again: a live node takes it")
	case atStart && s.opts.Concurrency == 0:
		s.log.WithField("cluster_capacity", capacity).Info("this node takes no scheduled work ([Applications] ScheduleConcurrency = 0); other live nodes do")
	}
}

// newToken returns a fresh claim token.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
