// The maintenance loop: every node reclaims abandoned jobs and refreshes
// its figures each poll interval; the holder of the enqueuer lease also
// queues due schedules and enforces the history retention.

package scheduler

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
)

// maintainer is the maintenance loop, a service on the base.
type maintainer struct {
	startstop.Base
	s *Service
}

func (m *maintainer) Start(ctx context.Context) error { return m.Go(ctx, m.s.maintainLoop) }

func (s *Service) kickMaintain() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
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
		s.TestSignals.Maintained.Signal(next)
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
