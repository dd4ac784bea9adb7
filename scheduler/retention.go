package scheduler

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// retentionHeld reports whether the history retention is held back: the
// database was upgraded from a release without it ([podium.RetentionHoldKey])
// and the administrator has not set [Applications] HistoryRetention. The
// first time, it logs what the retention would delete (rows older than
// before) and since when it is held. Once the administrator has set it,
// the hold is removed and the retention applies.
func (s *Service) retentionHeld(ctx context.Context, before time.Time) bool {
	since, err := s.db.SettingGet(ctx, podium.RetentionHoldKey)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.WithError(err).Warn("cannot read the history retention hold: deleting nothing")
		}
		return true
	}
	if s.opts.HistoryRetentionSet {
		if err := s.db.SettingDelete(ctx, podium.RetentionHoldKey); err != nil {
			s.log.WithError(err).Warn("cannot remove the history retention hold")
			return true
		}
		s.log.WithFields(logrus.Fields{"retention": s.opts.HistoryRetention.String(), "held_since": since}).
			Info("history retention: set by the administrator, now enforced")
		return false
	}
	if !s.holdNoticed {
		s.holdNoticed = true
		jobs, _ := s.db.JobHistoryCount(ctx, before)
		renders, _ := s.db.RenderHistoryCount(ctx, before)
		s.log.WithFields(logrus.Fields{"retention": s.opts.HistoryRetention.String(), "held_since": since,
			"jobs_older": jobs, "renders_older": renders, "older_than": before.UTC().Format(time.RFC3339)}).
			Warn("history retention on hold: this installation was upgraded from a release without [Applications] HistoryRetention, " +
				"so no history is deleted until you set it (for example HistoryRetention = 720h, or 0s to keep everything); see docs/upgrading.md")
	}
	return true
}

// Retention batches: rows deleted per statement, and statements per pass.
const (
	retentionBatch   = 1000
	retentionBatches = 10
)

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
	deleted := 0
	defer func() {
		if deleted > 0 {
			s.TestSignals.Pruned.Signal(deleted)
		}
	}()
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
		deleted += total
		if total > 0 {
			s.log.WithFields(logrus.Fields{"table": t.what, "deleted": total,
				"retention": s.opts.HistoryRetention.String()}).Info("history retention: deleted old rows")
		}
	}
}
