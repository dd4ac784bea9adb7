// Reclaim: any node gives abandoned jobs back to the queue.

package scheduler

import (
	"context"

	"github.com/sirupsen/logrus"
)

// reclaim requeues the jobs whose heartbeat is older than the heartbeat
// timeout (their node died or lost the database), or fails those out of
// attempts, and wakes the claimers for the requeued ones.
func (s *Service) reclaim(ctx context.Context) error {
	res, err := s.db.JobReclaimAbandoned(ctx, s.opts.HeartbeatTimeout)
	if err != nil {
		return err
	}
	if n := len(res.Requeued) + len(res.Failed); n > 0 {
		s.TestSignals.Reclaimed.Signal(res)
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
