package usage

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/prune"
	"github.com/sirupsen/logrus"
)

// PruneStore deletes old usage (dbprovider.UsageStore's UsagePrune).
type PruneStore interface {
	UsagePrune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// NewPruner returns the service that deletes usage older than retention
// (0: keep forever) every interval, batch records at a time.
func NewPruner(db PruneStore, retention, every time.Duration, batch int, now func() time.Time, log *logrus.Entry) *prune.Pruner {
	return &prune.Pruner{Service: "usage pruner", What: "usage", Delete: db.UsagePrune,
		Retention: retention, Every: every, Batch: batch, Now: now, Log: log}
}
