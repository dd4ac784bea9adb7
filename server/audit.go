package server

import (
	"context"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// newAuditPruner returns the service that prunes audit log entries of db
// older than retention ([Server] AuditLogRetention; 0 keeps them), every
// hour. The rows are written by the routes that carry an Audit action
// (web.Options Audit), and read through web.AuditRoutes.
func newAuditPruner(db dbprovider.Provider, retention time.Duration, now func() time.Time, log *logrus.Entry) *auditPruner {
	return &auditPruner{db: db, retention: retention, every: time.Hour, batch: 1000, now: now, log: log}
}

// auditPruner deletes audit log entries older than the retention, now and
// then, in batches (no statement holds the table for long). On a cluster
// every node prunes: the DELETE is idempotent.
type auditPruner struct {
	startstop.Base
	db        dbprovider.Provider
	retention time.Duration // 0: keep forever (the service does nothing)
	every     time.Duration
	batch     int
	now       func() time.Time
	log       *logrus.Entry
	// pruned signals each round with the number of entries it deleted
	// (tests).
	pruned testsignal.Signal[int64]
}

func (a *auditPruner) Name() string { return "audit pruner" }

// Start prunes at once and then every a.every, until Stop; without a
// retention it does nothing.
func (a *auditPruner) Start(ctx context.Context) error {
	if a.retention <= 0 {
		return nil
	}
	return a.GoEvery(ctx, a.every, true, func(ctx context.Context) {
		a.pruned.Signal(a.prune(ctx))
	})
}

// prune deletes every entry older than the retention, a batch at a time,
// and returns how many it deleted.
func (a *auditPruner) prune(ctx context.Context) int64 {
	cut := a.now().Add(-a.retention)
	var total int64
	for ctx.Err() == nil {
		n, err := a.db.AuditPrune(ctx, cut, a.batch)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WithError(err).Warn("cannot prune the audit log: will retry at the next round")
			}
			break
		}
		total += n
		if n < int64(a.batch) {
			break
		}
	}
	if total > 0 {
		a.log.WithFields(logrus.Fields{"deleted": total, "before": cut.UTC().Format(time.RFC3339)}).Info("pruned the audit log")
	}
	return total
}
