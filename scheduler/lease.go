// The enqueuer lease: one node at a time queues due schedules and
// enforces the history retention.

package scheduler

import (
	"context"
)

// EnqueueLease is the name of the lease whose holder turns due schedules
// into jobs and enforces the history retention.
const EnqueueLease = "scheduler-enqueue"

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
	if got != s.leader {
		s.TestSignals.Lease.Signal(got)
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
