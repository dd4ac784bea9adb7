// The claim loop: this node claims due jobs while it has free slots, on
// each poll, wake-up (a notification, a timer, a job's end with work
// missed) or broadcast.

package scheduler

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
)

// claimer is the claim loop, a service on the base: it claims due jobs
// every poll interval and at each wake-up, until stopped.
type claimer struct {
	startstop.Base
	s *Service
}

func (c *claimer) Start(ctx context.Context) error { return c.Go(ctx, c.s.claimLoop) }

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
		if len(jobs) > 0 {
			s.TestSignals.Claimed.Signal(len(jobs))
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
