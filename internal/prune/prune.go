// Package prune is the background service that deletes records older than
// a retention, in batches, now and then: the usage history's and the
// audit log's, which had one copy each.
//
// It imports the standard library, logrus, internal/startstop and
// internal/testsignal only.
package prune

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// Pruner deletes the records older than Retention every Every, Batch at a
// time (no statement holds a table for long). On a cluster every node
// prunes: the DELETE is idempotent. It is a background service on
// startstop.Base.
type Pruner struct {
	startstop.Base
	// Service names the service ("usage pruner"); What names the records
	// in its log lines ("usage", "the audit log").
	Service, What string
	// Delete deletes at most limit records older than before and returns
	// how many it deleted.
	Delete    func(ctx context.Context, before time.Time, limit int) (int64, error)
	Retention time.Duration // 0: keep forever (the service does nothing)
	Every     time.Duration
	Batch     int
	Now       func() time.Time
	Log       *logrus.Entry
	// Pruned carries the number of records each round deleted (tests:
	// Init it before Start).
	Pruned testsignal.Signal[int64]
}

// Name implements the node's service interface.
func (p *Pruner) Name() string { return p.Service }

// Start prunes at once and then every Every, until Stop (which Pruner
// gets from startstop.Base); without a Retention it does nothing.
func (p *Pruner) Start(ctx context.Context) error {
	if p.Retention <= 0 {
		return nil
	}
	return p.GoEvery(ctx, p.Every, true, func(ctx context.Context) {
		p.Pruned.Signal(p.Prune(ctx))
	})
}

// Prune deletes every record older than the retention, a batch at a
// time, and returns how many it deleted. A failure is logged and ends the
// round: the next round tries again.
func (p *Pruner) Prune(ctx context.Context) int64 {
	cut := p.Now().Add(-p.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := p.Delete(ctx, cut, p.Batch)
		if err != nil {
			if ctx.Err() == nil {
				p.Log.WithError(err).Warn("cannot prune " + p.What + ": will retry at the next round")
			}
			break
		}
		total += n
		if n < int64(p.Batch) {
			break
		}
	}
	if total > 0 {
		p.Log.WithFields(logrus.Fields{"deleted": total, "before": cut.UTC().Format(time.RFC3339)}).Info("pruned " + p.What)
	}
	return total
}
