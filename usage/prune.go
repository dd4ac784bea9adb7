package usage

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// PruneStore deletes old usage (dbprovider.UsageStore's UsagePrune).
type PruneStore interface {
	UsagePrune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Pruner deletes usage older than Retention every Every, in batches (no
// statement holds the tables for long). On a cluster every node prunes:
// the DELETE is idempotent.
type Pruner struct {
	startstop.Base
	DB        PruneStore
	Retention time.Duration // 0: keep forever (the service does nothing)
	Every     time.Duration
	Batch     int
	Now       func() time.Time
	Log       *logrus.Entry

	// TestSignals are the events tests wait on; production leaves them
	// nil.
	TestSignals PrunerTestSignals
}

// PrunerTestSignals are the Pruner's test signals: Pruned carries the
// number of records each round deleted.
type PrunerTestSignals struct {
	Pruned testsignal.Signal[int64]
}

// Init makes every signal; call it before Start.
func (s *PrunerTestSignals) Init() { s.Pruned.Init() }

// Name implements the node's service interface.
func (p *Pruner) Name() string { return "usage pruner" }

// Start prunes at once and then every Every, until Stop (which Pruner
// gets from startstop.Base); without a Retention it does nothing.
func (p *Pruner) Start(ctx context.Context) error {
	if p.Retention <= 0 {
		return nil
	}
	return p.GoEvery(ctx, p.Every, true, func(ctx context.Context) {
		p.TestSignals.Pruned.Signal(p.Prune(ctx))
	})
}

// Prune deletes every record older than the retention, a batch at a
// time, and returns how many it deleted.
func (p *Pruner) Prune(ctx context.Context) int64 {
	cut := p.Now().Add(-p.Retention)
	var total int64
	for ctx.Err() == nil {
		n, err := p.DB.UsagePrune(ctx, cut, p.Batch)
		if err != nil {
			if ctx.Err() == nil {
				p.Log.WithError(err).Warn("cannot prune usage: will retry at the next round")
			}
			break
		}
		total += n
		if n < int64(p.Batch) {
			break
		}
	}
	if total > 0 {
		p.Log.WithFields(logrus.Fields{"deleted": total, "before": cut.UTC().Format(time.RFC3339)}).Info("pruned usage")
	}
	return total
}
