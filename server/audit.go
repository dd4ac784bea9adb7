package server

import (
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/prune"
	"github.com/sirupsen/logrus"
)

// newAuditPruner returns the service that prunes audit log entries of db
// older than retention ([Server] AuditLogRetention; 0 keeps them), at
// start and then every hour, 1000 at a time. The rows are written by the
// routes that carry an Audit action (web.Options Audit), and read through
// web.AuditRoutes.
func newAuditPruner(db dbprovider.Provider, retention time.Duration, now func() time.Time, log *logrus.Entry) *prune.Pruner {
	return &prune.Pruner{Service: "audit pruner", What: "the audit log", Delete: db.AuditPrune,
		Retention: retention, Every: time.Hour, Batch: 1000, Now: now, Log: log}
}
