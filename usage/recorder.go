// Package usage records who uses what: visits of content and sessions of
// apps (docs/usage.md). Requests hand their record to a Recorder, which
// keeps it in memory and writes a batch in one statement when BatchSize
// records wait or every FlushInterval, so that a busy app never costs a
// database write per request; a stopping node writes what is left, its
// open sessions included. NewPruner's service (internal/prune) deletes
// usage older than the retention.
//
// It declares what web's handlers hold of it (VisitRecorder, ReadStore).
// It imports the root package podium, dbprovider's interfaces and logrus;
// never echo, the web layer or a database driver.
package usage

import (
	"context"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
)

// Store is where batches go (dbprovider.UsageStore's writers).
type Store interface {
	UsageVisitInsert(ctx context.Context, visits []*podium.Visit) error
	UsageSessionInsert(ctx context.Context, sessions []*podium.AppSession) error
}

// Options configure a Recorder.
type Options struct {
	Store  Store
	NodeID string
	// BatchSize is the number of waiting records that starts a write at
	// once (default 500).
	BatchSize int
	// FlushInterval is the longest a record waits to be written (default
	// 5s).
	FlushInterval time.Duration
	// MaxPending bounds the records kept while the database cannot take
	// them (default 100000): beyond it the oldest are dropped, counted and
	// logged, so that a database outage cannot exhaust the node's memory.
	MaxPending int
	Log        *logrus.Entry
	Now        func() time.Time
	// Flushed, when set, is called after every write attempt with the
	// records written (for tests).
	Flushed func(visits, sessions int, err error)
}

// Recorder buffers usage records and writes them in batches. A nil
// *Recorder records nothing (usage recording turned off), so callers need
// no checks.
type Recorder struct {
	opts Options

	mu       sync.Mutex
	visits   []*podium.Visit
	sessions []*podium.AppSession
	open     map[*podium.AppSession]struct{}
	dropped  int64
	stopped  bool

	// flushMu makes Flushes take turns: two at once (the loop's and a
	// caller's) would take the same front of the lists and write it twice.
	flushMu sync.Mutex

	kick chan struct{}

	// base runs the flush loop (not embedded: Stop does more than stop it).
	base startstop.Base
}

// New returns a recorder; Start begins its writes.
func New(o Options) *Recorder {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 5 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Recorder{opts: o, open: map[*podium.AppSession]struct{}{}, kick: make(chan struct{}, 1)}
}

// Visit records one visit. Its At defaults to now and its NodeID to this
// node's. It never blocks on the database.
func (r *Recorder) Visit(v *podium.Visit) {
	if r == nil {
		return
	}
	if v.At.IsZero() {
		v.At = r.opts.Now()
	}
	v.NodeID = r.opts.NodeID
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.visits = append(r.visits, v)
	r.trimLocked()
	full := len(r.visits)+len(r.sessions) >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.wake()
	}
}

// SessionStart records the start of an app session and returns the
// function that ends it (safe to call more than once). The session is
// written when it ends, or, still open, when the node stops.
func (r *Recorder) SessionStart(s *podium.AppSession) (end func()) {
	if r == nil {
		return func() {}
	}
	s.StartedAt, s.NodeID = r.opts.Now(), r.opts.NodeID
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return func() {}
	}
	r.open[s] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { r.endSession(s) }) }
}

func (r *Recorder) endSession(s *podium.AppSession) {
	r.mu.Lock()
	if _, ok := r.open[s]; !ok { // ended by Stop
		r.mu.Unlock()
		return
	}
	delete(r.open, s)
	s.EndedAt = r.opts.Now()
	r.sessions = append(r.sessions, s)
	r.trimLocked()
	full := len(r.visits)+len(r.sessions) >= r.opts.BatchSize
	r.mu.Unlock()
	if full {
		r.wake()
	}
}

// OpenSessions returns the number of app sessions open on this node.
func (r *Recorder) OpenSessions() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.open)
}

// trimLocked drops the oldest records beyond MaxPending.
func (r *Recorder) trimLocked() {
	if over := len(r.visits) + len(r.sessions) - r.opts.MaxPending; over > 0 {
		n := min(over, len(r.visits))
		r.visits = r.visits[n:]
		if rest := over - n; rest > 0 {
			r.sessions = r.sessions[rest:]
		}
		r.dropped += int64(over)
	}
}

func (r *Recorder) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Name implements the node's service interface.
func (r *Recorder) Name() string { return "usage recorder" }

// Start writes batches until Stop (not until ctx ends: what waits is
// written at Stop).
func (r *Recorder) Start(ctx context.Context) error {
	return r.base.Go(context.WithoutCancel(ctx), func(ctx context.Context) {
		t := time.NewTicker(r.opts.FlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = r.Flush(ctx)
			case <-r.kick:
				// Full batches only: the records that came in while one
				// was written wait for the next full batch or the tick,
				// rather than each going out in a small statement of its
				// own (under load a write of 500 was followed by writes
				// of the few dozen that came in meanwhile, each parsed
				// and committed anew).
				_ = r.flush(ctx, true)
			}
		}
	})
}

// Stop ends the sessions still open (at now), stops the loop and writes
// everything that waits, within ctx.
func (r *Recorder) Stop(ctx context.Context) error {
	_ = r.base.Stop(context.WithoutCancel(ctx)) // a flush in progress ends with its statement
	r.mu.Lock()
	now := r.opts.Now()
	for s := range r.open {
		s.EndedAt = now
		r.sessions = append(r.sessions, s)
	}
	clear(r.open)
	r.stopped = true
	r.mu.Unlock()
	for ctx.Err() == nil {
		r.mu.Lock()
		left := len(r.visits) + len(r.sessions)
		r.mu.Unlock()
		if left == 0 {
			return nil
		}
		if err := r.Flush(ctx); err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	r.mu.Lock()
	left := len(r.visits) + len(r.sessions)
	r.mu.Unlock()
	if left > 0 {
		r.opts.Log.WithField("records", left).Warn("usage: the node stopped before the database took the last records; they are lost")
	}
	return ctx.Err()
}

// Flush writes what waits, in batches of at most BatchSize. On a failure
// the records are kept for the next attempt.
func (r *Recorder) Flush(ctx context.Context) error { return r.flush(ctx, false) }

// flush writes what waits, in batches of at most BatchSize; with
// fullOnly, only full batches (the rest waits).
func (r *Recorder) flush(ctx context.Context, fullOnly bool) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	for {
		r.mu.Lock()
		if r.dropped > 0 {
			r.opts.Log.WithField("dropped", r.dropped).Warn("usage: the database did not take usage records for too long ([Usage] MaxPending reached): the oldest were dropped")
			r.dropped = 0
		}
		nv := min(len(r.visits), r.opts.BatchSize)
		ns := min(len(r.sessions), r.opts.BatchSize-nv)
		visits := r.visits[:nv:nv]
		sessions := r.sessions[:ns:ns]
		r.mu.Unlock()
		if nv+ns == 0 || (fullOnly && nv+ns < r.opts.BatchSize) {
			return nil
		}
		var err error
		if nv > 0 {
			err = r.opts.Store.UsageVisitInsert(ctx, visits)
		}
		if err == nil && ns > 0 {
			err = r.opts.Store.UsageSessionInsert(ctx, sessions)
			if err != nil && nv > 0 {
				// The visits are written: do not write them again.
				r.mu.Lock()
				r.visits = dropFront(r.visits, visits)
				r.mu.Unlock()
				nv = 0
			}
		}
		if r.opts.Flushed != nil {
			r.opts.Flushed(nv, ns, err)
		}
		if err != nil {
			if ctx.Err() == nil {
				r.opts.Log.WithError(err).WithFields(logrus.Fields{"visits": nv, "sessions": ns}).Warn("usage: cannot write usage records: will retry")
			}
			return err
		}
		r.mu.Lock()
		r.visits = dropFront(r.visits, visits)
		r.sessions = dropFront(r.sessions, sessions)
		r.mu.Unlock()
	}
}

// dropFront removes from list the records of batch, which were its front
// when taken; records dropped meanwhile by trimLocked are not removed
// twice.
func dropFront[T comparable](list, batch []T) []T {
	if len(batch) == 0 {
		return list
	}
	last := batch[len(batch)-1]
	for i, v := range list {
		if v == last {
			rest := list[i+1:]
			if len(rest) == 0 {
				return nil
			}
			return rest
		}
	}
	// Every record of the batch was dropped meanwhile: the front is new.
	return list
}
