// Package audit is the audit log's domain: what administrators and
// publishers did. The routes that declare an audit action write it
// (package web, through a [Writer]); administrators read it (web's
// AuditRoutes and the dashboard, through a [Reader]); [NewPruner]'s service
// deletes what is older than [Server] AuditLogRetention. The rows live in
// the database (dbprovider.AuditStore).
//
// It declares what those consumers hold, so that their handlers depend on
// what they use and tests can give them fakes. It imports the root package
// podium, dbprovider's interfaces, internal/prune and logrus; never echo,
// package web or a database driver.
package audit

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/prune"
	"github.com/sirupsen/logrus"
)

// Writer writes the audit log (dbprovider.AuditStore's AuditInsert).
type Writer interface {
	// AuditInsert records one action at the database's now.
	AuditInsert(ctx context.Context, p *dbprovider.AuditInsertParams) error
}

// Reader reads the audit log: the entries, and the user an actor filter
// names (a dbprovider.Provider).
type Reader interface {
	// AuditList returns the entries that match p, newest first.
	AuditList(ctx context.Context, p *dbprovider.AuditListParams) ([]*podium.AuditEntry, error)
	// UserGetByName returns a user. Returns ENOTFOUND.
	UserGetByName(ctx context.Context, username string) (*podium.User, error)
}

// PruneStore deletes old entries (dbprovider.AuditStore's AuditPrune).
type PruneStore interface {
	AuditPrune(ctx context.Context, before time.Time, limit int) (int64, error)
}

var (
	_ Writer     = dbprovider.Provider(nil)
	_ Reader     = dbprovider.Provider(nil)
	_ PruneStore = dbprovider.Provider(nil)
)

// NewPruner returns the service that deletes the entries of db older than
// retention ([Server] AuditLogRetention; 0 keeps them), at start and then
// every hour, 1000 at a time.
func NewPruner(db PruneStore, retention time.Duration, now func() time.Time, log *logrus.Entry) *prune.Pruner {
	return &prune.Pruner{Service: "audit pruner", What: "the audit log", Delete: db.AuditPrune,
		Retention: retention, Every: time.Hour, Batch: 1000, Now: now, Log: log}
}
