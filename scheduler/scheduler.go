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
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
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

// EnqueueLease is the name of the lease whose holder turns due schedules
// into jobs and enforces the history retention.
const EnqueueLease = "scheduler-enqueue"

// Retention batches: rows deleted per statement, and statements per pass.
const (
	retentionBatch   = 1000
	retentionBatches = 10
)

// Service is the scheduler of one node. It implements server's Service
// interface (Name, Start, Stop).
type Service struct {
	opts Options
	db   dbprovider.Provider
	log  *logrus.Entry
	host string

	wake   chan struct{}
	kick   chan struct{} // re-plan the maintenance loop (a schedule changed)
	cancel context.CancelFunc
	loops  sync.WaitGroup
	jobs   sync.WaitGroup

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
	loopCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		s.maintainLoop(loopCtx)
	}()
	if s.opts.Concurrency > 0 {
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.claimLoop(loopCtx)
		}()
		if s.db.SupportsListenNotify() {
			s.loops.Add(1)
			go func() {
				defer s.loops.Done()
				_ = s.db.Listen(loopCtx, Channel, s.notified)
			}()
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
	if s.cancel != nil {
		s.cancel()
	}
	s.loops.Wait()
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

// releaseAll gives every running job back and stops its run.
func (s *Service) releaseAll(ctx context.Context) {
	s.mu.Lock()
	runs := make([]*run, 0, len(s.running))
	for _, r := range s.running {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	released := 0
	for _, r := range runs {
		r.released.Store(true)
		err := s.db.JobRelease(ctx, r.job.ID, r.job.ClaimToken, "released: node "+s.opts.NodeID+" stopped before the job finished")
		r.cancel()
		if err != nil {
			s.log.WithError(err).WithField("job", r.job.ID).Warn("cannot release job: another node takes it after the heartbeat timeout")
			continue
		}
		released++
		s.counters.released.Add(1)
		s.log.WithFields(logrus.Fields{"job": r.job.ID, "content": r.job.ContentGUID}).Info("released unfinished job for another node")
	}
	if released > 0 {
		_ = s.db.Notify(ctx, Channel, "released")
	}
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

func (s *Service) kickMaintain() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// wakeUp makes the claim loop look for every due job it has room for.
func (s *Service) wakeUp() {
	s.broad.Store(true)
	s.signal()
}

// wakeFor makes the claim loop claim up to n more jobs (an addressed
// wake-up: the enqueuer counted n of the new jobs for this node).
func (s *Service) wakeFor(n int) {
	s.pending.Add(int64(n))
	s.signal()
}

func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) claimLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		s.claimAvailable(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.broad.Store(true)
		case <-s.wake:
		}
	}
}

// claimAvailable claims due jobs while this node has free slots: until
// the queue is empty after a poll, a broadcast or a job's end with work
// missed; at most the jobs addressed to it after an addressed wake-up, so
// that the node does not end each wake-up with a claim that finds nothing.
func (s *Service) claimAvailable(ctx context.Context) {
	broad := s.broad.Swap(false)
	for ctx.Err() == nil && !s.stopping.Load() {
		s.mu.Lock()
		free := s.opts.Concurrency - len(s.running)
		s.mu.Unlock()
		if free <= 0 {
			if broad || s.pending.Load() > 0 {
				s.missed.Store(true)
			}
			return
		}
		// n is what this claim asks for; left, the addressed count it
		// does not take. Only this goroutine takes from pending; wake-ups
		// (a timer, a notification) add to it meanwhile.
		n := free
		left := s.pending.Load()
		if !broad {
			// Take the count addressed to this node, at most free.
			for {
				p := s.pending.Load()
				if p <= 0 {
					return
				}
				n = int(min(p, int64(free)))
				if s.pending.CompareAndSwap(p, p-int64(n)) {
					left = p - int64(n)
					break
				}
			}
		}
		// emptied drops the addressed counts this claim has shown to be
		// stale (the queue had no more due jobs), and only those: a
		// wake-up that arrived during the claim, for a job due after
		// the claim looked, must still claim it.
		emptied := func() {
			s.pending.Add(-min(left, s.pending.Load()))
			s.missed.Store(false)
		}
		// The jobs of one wake-up in one claim: one statement on
		// PostgreSQL, however many. A stop must not cancel it midway: a
		// claim the database committed while the node took it for failed
		// would leave its jobs running on no node until the heartbeat
		// timeout. Once claimed, the jobs start; Stop lets them finish
		// or releases them.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
		jobs, err := s.db.JobClaimBatch(cctx, &dbprovider.JobClaimParams{NodeID: s.opts.NodeID, Token: newToken(),
			Queues: []string{podium.QueueRender, podium.QueueNoop}}, n)
		cancel()
		if podium.IsCode(err, podium.ENOTFOUND) {
			emptied()
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.WithError(err).Warn("cannot claim jobs")
			}
			return
		}
		for _, job := range jobs {
			s.counters.claimed.Add(1)
			s.start(ctx, job)
		}
		if len(jobs) < n {
			// The queue is empty now.
			emptied()
			return
		}
	}
}

// start runs a claimed job in its own goroutine. Its context does not
// derive from the loops' context: a stop request must not kill running
// renders (Stop decides).
func (s *Service) start(ctx context.Context, job *podium.Job) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &run{job: job, cancel: cancel}
	s.mu.Lock()
	s.running[job.ID] = r
	s.mu.Unlock()
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		defer cancel()
		s.execute(runCtx, r)
		s.mu.Lock()
		delete(s.running, job.ID)
		if len(s.running) == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
		// Look again only if work may be waiting: the node was full when
		// work was announced or found. Otherwise new work wakes it.
		if s.missed.Swap(false) {
			s.wakeUp()
		}
	}()
}

func (s *Service) execute(ctx context.Context, r *run) {
	job := r.job
	log := s.log.WithFields(logrus.Fields{"job": job.ID, "content": job.ContentGUID, "queue": job.Queue, "attempt": job.Attempts})
	log.Info("job started")
	started := s.opts.Now()

	var lost atomic.Bool
	hbCtx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(s.opts.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
			}
			err := s.db.JobHeartbeat(hbCtx, job.ID, job.ClaimToken)
			switch {
			case podium.IsCode(err, podium.ECONFLICT):
				if !r.released.Load() {
					lost.Store(true)
					log.Warn("claim lost: another node took the job over; stopping this run")
				}
				r.cancel()
				return
			case err != nil && hbCtx.Err() == nil:
				log.WithError(err).Warn("cannot heartbeat job")
			}
		}
	}()

	var (
		code int
		out  string
		err  error
	)
	switch job.Queue {
	case podium.QueueNoop:
	default:
		if s.opts.Runner == nil {
			code, err = -1, errors.New("no runner for scheduled renders on this node")
		} else {
			code, out, err = s.opts.Runner.RunJob(ctx, job)
		}
	}
	stopHB()
	<-hbDone
	elapsed := s.opts.Now().Sub(started)
	if r.released.Load() {
		log.WithField("duration", elapsed.Round(time.Millisecond).String()).Info("job stopped: released for another node")
		return
	}

	// Cleaned as captured output always is: a log that the database
	// refuses (a NUL byte) would leave the attempt unrecorded and the job
	// running again and again.
	p := &dbprovider.JobFinishParams{ID: job.ID, Token: job.ClaimToken, Status: podium.JobSucceeded, ExitCode: code, Log: podium.CleanText(out)}
	if err != nil || code != 0 {
		p.Status = podium.JobFailed
		if err != nil {
			p.Error = podium.CleanText(err.Error())
		} else {
			p.Error = fmt.Sprintf("exit code %d", code)
		}
	}
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, ferr := s.db.JobFinish(finishCtx, p)
	switch {
	case podium.IsCode(ferr, podium.ECONFLICT):
		s.counters.rejected.Add(1)
		log.WithField("lost_during_run", lost.Load()).Warn("completion rejected: the claim was lost, the job's record is the newer run's")
		return
	case ferr != nil:
		log.WithError(ferr).Error("cannot record job result: another node reruns it after the heartbeat timeout")
		return
	}
	s.counters.observe(job.Queue, p.Status, elapsed)
	log.WithFields(logrus.Fields{"status": p.Status, "exit_code": code,
		"duration": elapsed.Round(time.Millisecond).String()}).Info("job finished")
}

// maintainLoop queues due schedules, reclaims abandoned jobs and refreshes
// the warning and queue figures, every poll interval, and wakes up on time
// for the next due schedule.
func (s *Service) maintainLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
			t.Stop() // Go 1.23+: no stale tick can follow Stop
		}
		next := s.maintain(ctx)
		t.Reset(next)
	}
}

// maintain does one pass and returns when to do the next. Every node
// reclaims abandoned jobs and refreshes its figures each poll interval;
// only the holder of the enqueuer lease turns due schedules into jobs
// (waking up on time for the next one) and enforces the history
// retention, so the statements per job do not grow with the node count.
func (s *Service) maintain(ctx context.Context) time.Duration {
	wait := s.opts.PollInterval
	polled := s.opts.Now().Sub(s.claimersAt) >= s.opts.PollInterval
	leader := s.holdLease(ctx)
	if polled || !leader {
		if err := s.reclaim(ctx); err != nil && ctx.Err() == nil {
			s.log.WithError(err).Warn("cannot reclaim abandoned jobs")
		}
	}
	if leader {
		if polled {
			if l, err := s.db.JobNodeList(ctx, s.opts.NodeTimeout); err == nil {
				s.claimers = l
			}
		}
		if err := s.enqueueDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WithError(err).Warn("cannot queue due schedules")
		}
		s.pruneHistory(ctx)
	}
	if !polled && leader {
		// A wake-up for a due time between two polls: the figures below
		// are refreshed once per poll interval.
		return s.nextDue(ctx, wait)
	}
	s.claimersAt = s.opts.Now()
	// Re-record the concurrency: the registry row may have been recreated.
	if err := s.db.JobNodeCapacitySet(ctx, s.opts.NodeID, s.opts.Concurrency); err != nil && ctx.Err() == nil {
		s.log.WithError(err).Debug("cannot record schedule concurrency")
	}
	s.checkCapacity(ctx, false)
	if st, err := s.db.JobQueueStats(ctx); err == nil {
		s.queue.Store(st)
	}
	if leader {
		return s.nextDue(ctx, wait)
	}
	return wait
}

// nextDue shortens wait to EnqueueAhead before the next schedule's due
// time, by the database clock.
func (s *Service) nextDue(ctx context.Context, wait time.Duration) time.Duration {
	next, err := s.db.ScheduleNextDue(ctx)
	if err == nil && next != nil {
		if now, err := s.opts.DBNow(ctx); err == nil {
			wait = min(wait, max(next.Sub(now)-s.opts.EnqueueAhead, 5*time.Millisecond))
		}
	}
	return wait
}

// holdLease takes or renews the enqueuer lease, at most once per half poll
// interval while this node holds it, and says whether it does.
func (s *Service) holdLease(ctx context.Context) bool {
	if s.leader && s.opts.Now().Sub(s.renewedAt) < s.opts.PollInterval/2 {
		return true
	}
	got, err := s.db.LeaseAcquire(ctx, EnqueueLease, s.opts.NodeID, s.opts.LeaseTTL)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WithError(err).Warn("cannot renew the enqueuer lease")
		}
		// Renewed recently enough: keep going, the lease has not expired.
		return s.leader && s.opts.Now().Sub(s.renewedAt) < s.opts.LeaseTTL/2
	}
	switch {
	case got && !s.leader:
		s.log.WithField("lease_ttl", s.opts.LeaseTTL.String()).Info("this node now queues due schedules (enqueuer lease taken)")
	case !got && s.leader:
		s.log.Warn("enqueuer lease lost: another node queues due schedules now")
	}
	s.leader = got
	if got {
		s.renewedAt = s.opts.Now()
	}
	return got
}

// pruneHistory enforces HistoryRetention: finished jobs (with their
// attempts) and render records without output, older than the retention,
// are deleted in batches of retentionBatch rows, at most retentionBatches
// per table and pass, once a minute (every pass while behind).
func (s *Service) pruneHistory(ctx context.Context) {
	if s.opts.HistoryRetention <= 0 || (!s.pruneBehind && s.opts.Now().Sub(s.prunedAt) < time.Minute) {
		return
	}
	s.prunedAt = s.opts.Now()
	now, err := s.opts.DBNow(ctx)
	if err != nil {
		return
	}
	before := now.Add(-s.opts.HistoryRetention)
	if s.retentionHeld(ctx, before) {
		return
	}
	s.pruneBehind = false
	for _, t := range []struct {
		what  string
		prune func(context.Context, time.Time, int) (int, error)
	}{{"jobs", s.db.JobHistoryPrune}, {"renders", s.db.RenderHistoryPrune}} {
		total := 0
		for i := range retentionBatches {
			n, err := t.prune(ctx, before, retentionBatch)
			if err != nil {
				if ctx.Err() == nil {
					s.log.WithError(err).WithField("table", t.what).Warn("cannot enforce the history retention")
				}
				break
			}
			total += n
			if n < retentionBatch {
				break
			}
			if i == retentionBatches-1 {
				s.pruneBehind = true
			}
		}
		if total > 0 {
			s.log.WithFields(logrus.Fields{"table": t.what, "deleted": total,
				"retention": s.opts.HistoryRetention.String()}).Info("history retention: deleted old rows")
		}
	}
}

func (s *Service) reclaim(ctx context.Context) error {
	res, err := s.db.JobReclaimAbandoned(ctx, s.opts.HeartbeatTimeout)
	if err != nil {
		return err
	}
	if n := len(res.Requeued) + len(res.Failed); n > 0 {
		s.counters.reclaimed.Add(uint64(len(res.Requeued)))
		s.counters.abandonedFailed.Add(uint64(len(res.Failed)))
		s.log.WithFields(logrus.Fields{"requeued": res.Requeued, "failed": res.Failed,
			"heartbeat_timeout": s.opts.HeartbeatTimeout.String()}).Warn("reclaimed abandoned jobs")
		if len(res.Requeued) > 0 {
			_ = s.db.Notify(ctx, Channel, "reclaimed")
			s.wakeUp()
		}
	}
	return nil
}

// enqueueDue turns every due schedule into one job: in one transaction per
// batch the schedules are locked (skipping those another enqueuer holds),
// advanced past now on their own grid, and their jobs inserted. The due
// time queued runs, late if need be; later due times that already passed
// are recorded on the job as skipped, with the reason (see Spec.Step).
func (s *Service) enqueueDue(ctx context.Context) error {
	const batch = 100
	for range 10 {
		now, err := s.opts.DBNow(ctx)
		if err != nil {
			return err
		}
		// When now was read: real time, as the wake-up timers that wait
		// out the delays are (Options.Now is for run durations).
		read := time.Now()
		jobs, err := s.db.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Ahead: s.opts.EnqueueAhead,
			Limit: batch, MaxAttempts: s.opts.MaxAttempts, Plan: s.plan})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			log := s.log.WithFields(logrus.Fields{"job": j.ID, "content": j.ContentGUID, "due_at": j.DueAt.Format(time.RFC3339Nano)})
			if j.Skipped > 0 {
				log.WithField("skipped", j.Skipped).Warn("due times skipped: " + j.SkippedReason)
			} else {
				log.Debug("queued scheduled job")
			}
		}
		if len(jobs) > 0 {
			s.announceJobs(ctx, jobs, now, read)
		}
		if len(jobs) < batch {
			return nil
		}
	}
	return nil
}

// plan is the ScheduleEnqueueParams.Plan of this node.
func (s *Service) plan(sc *podium.Schedule, now time.Time) dbprovider.ScheduleStep {
	key := sc.Spec + "\x00" + sc.Timezone
	v, ok := s.specs.Load(key)
	if !ok {
		spec, err := ParseSpec(sc.Spec, sc.Timezone)
		if err != nil {
			s.log.WithError(err).WithField("content", sc.ContentGUID).Warn("stored schedule no longer parses: running it once and stopping it")
			return dbprovider.ScheduleStep{}
		}
		v, _ = s.specs.LoadOrStore(key, spec)
	}
	due := *sc.NextRunAt
	next, skipped, atLeast := v.(*Spec).Step(due, now)
	step := dbprovider.ScheduleStep{Skipped: skipped}
	if !next.IsZero() {
		step.Next = &next
	}
	if skipped > 0 {
		n := strconv.Itoa(skipped)
		if atLeast {
			n = "at least " + n
		}
		step.Reason = fmt.Sprintf("%s later due time(s) had passed when this job was queued, %s after its due time "+
			"(every node down, an enqueuer fail-over, or an overloaded cluster): this run stands for them",
			n, now.Sub(due).Round(time.Millisecond))
	}
	return step
}

// announceJobs wakes claimers for new jobs, each on its due time. The
// jobs are grouped by how long until they are due (0 for those due
// already; now is the database time the enqueue compared with, read at
// the node's time read). Each group is announced as [announce] says, with
// its delay: the nodes named set a timer, so that the enqueue and the
// notification happen before the due time, not between it and the start.
// Delays are durations, not times, so that no two clocks are compared:
// a node wakes at most the notification's transit late.
func (s *Service) announceJobs(ctx context.Context, jobs []*podium.Job, now, read time.Time) {
	elapsed := max(time.Since(read), 0)
	counts := map[time.Duration]int{}
	var delays []time.Duration
	for _, j := range jobs {
		d := j.DueAt.Sub(now) - elapsed
		// Whole milliseconds, rounded up: never before the due time.
		d = min(max((d+time.Millisecond-1).Truncate(time.Millisecond), 0), s.opts.EnqueueAhead)
		if counts[d] == 0 {
			delays = append(delays, d)
		}
		counts[d]++
	}
	slices.Sort(delays)
	var entries []string
	for _, d := range delays {
		to, all := s.announce(counts[d], d)
		switch {
		case all && d == 0:
			// Every node, now: the plain "queued" that every version
			// of the scheduler takes for "look for work", so that older
			// nodes of a rolling upgrade hear it too.
			_ = s.db.Notify(ctx, Channel, "queued")
		case all:
			entries = append(entries, everyNode+"=0@"+strconv.FormatInt(d.Milliseconds(), 10))
		default:
			entries = append(entries, to...)
		}
	}
	s.notifyWake(ctx, entries)
}

// announce assigns n jobs due in d to claimers: nodes taken round-robin
// from the live nodes that take work, each counted for up to its
// ScheduleConcurrency jobs until n are covered, and returns one entry per
// node ("n2=2", or "n2=2@350" for a delay of 350 ms). The others ignore
// them and find work on their own poll or when one of their jobs ends; so
// a job wakes about one node, not every node of the cluster, and each node
// woken claims its count without a last claim that finds nothing. This
// node wakes itself without a notification. With more jobs than the live
// nodes' slots, or no list of claimers yet, all is true: every node is to
// be woken.
func (s *Service) announce(n int, d time.Duration) (to []string, all bool) {
	entry := func(id string, k int) string {
		e := id + "=" + strconv.Itoa(k)
		if d > 0 {
			e += "@" + strconv.FormatInt(d.Milliseconds(), 10)
		}
		return e
	}
	nodes := s.claimers
	if len(nodes) == 0 {
		s.wakeAfter(d, 0)
		return nil, true
	}
	var (
		left = n
		i    int
	)
	for i = 0; i < len(nodes) && left > 0; i++ {
		c := nodes[(s.rr+i)%len(nodes)]
		k := min(max(c.Concurrency, 1), left)
		left -= k
		if c.ID == s.opts.NodeID {
			s.wakeAfter(d, k)
		} else {
			to = append(to, entry(c.ID, k))
		}
	}
	s.rr = (s.rr + i) % len(nodes)
	if left > 0 {
		// More jobs than the live nodes' slots: every node claims what
		// it can, then again as its jobs end.
		s.wakeAfter(d, 0)
		return nil, true
	}
	return to, false
}

// wakeAfter wakes the claim loop after d for k jobs (k = 0: for every
// due job it has room for).
func (s *Service) wakeAfter(d time.Duration, k int) {
	wake := func() {
		if k > 0 {
			s.wakeFor(k)
		} else {
			s.wakeUp()
		}
	}
	if d <= 0 {
		wake()
		return
	}
	time.AfterFunc(d, wake)
}

// notifyWake sends entries in as few notifications as PostgreSQL's
// payload limit (8000 bytes) allows.
func (s *Service) notifyWake(ctx context.Context, entries []string) {
	const maxPayload = 7000
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			_ = s.db.Notify(ctx, Channel, wakePrefix+b.String())
			b.Reset()
		}
	}
	for _, e := range entries {
		if b.Len() > 0 && b.Len()+1+len(e) > maxPayload {
			flush()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	flush()
}

// wakePrefix starts a notification addressed to some nodes only:
// "wake:" then entries "node=count" or "node=count@delay_ms", comma
// separated; node "*" is every node (count 0: all it has room for).
const (
	wakePrefix = "wake:"
	everyNode  = "*"
	// maxWakeDelay bounds the delay a notification may ask for.
	maxWakeDelay = time.Minute
)

// notified handles a notification on Channel: entries addressed to other
// nodes are ignored, those addressed to this node (or every node) wake
// it, at once or after their delay; a schedule change re-plans the
// maintenance loop (the enqueuer may have to wake sooner); anything else
// (a reconnect, a released or reclaimed job) makes this node look for
// work.
func (s *Service) notified(payload string) {
	switch {
	case strings.HasPrefix(payload, wakePrefix):
		for _, e := range strings.Split(payload[len(wakePrefix):], ",") {
			id, rest, _ := strings.Cut(e, "=")
			if id != s.opts.NodeID && id != everyNode {
				continue
			}
			count, delay, timed := strings.Cut(rest, "@")
			var d time.Duration
			if timed {
				if ms, err := strconv.ParseInt(delay, 10, 64); err == nil && ms > 0 {
					d = min(time.Duration(ms)*time.Millisecond, maxWakeDelay)
				}
			}
			k, err := strconv.Atoi(count)
			if err != nil || k < 0 || id == everyNode {
				k = 0
			}
			s.wakeAfter(d, k)
		}
	case payload == scheduleChanged:
		s.kickMaintain()
	default:
		s.wakeUp()
	}
}

// scheduleChanged is the payload sent when a schedule was put.
const scheduleChanged = "schedule"

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
