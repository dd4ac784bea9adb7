package server

import (
	"context"
	"os"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// schemaWatcher is the node's service around [schema.Watcher]: it checks
// the database's schema version every [Database] SchemaCheckInterval (and,
// on PostgreSQL, wakes on the notification a committed migration sends),
// and when the database has moved past this binary it flips /__ping__ to
// 503 at once and tells Run, which drains and returns the ESCHEMA error
// (exit code 3). An unreachable database is not a newer schema: the
// heartbeat reports it as unhealthy, and the watcher keeps checking.
//
// PODIUM_SCHEMA_LISTEN=off (a diagnostic, see [schema.ListenEnv]) leaves
// polling alone.
type schemaWatcher struct {
	startstop.Base
	db       dbprovider.Provider
	interval time.Duration // [Database] SchemaCheckInterval
	now      func() time.Time
	log      *logrus.Entry
	// onNewer gets the watcher's verdict (Node.schemaNewer).
	onNewer func(dbVersion int64, detectedAt time.Time)
}

func (w *schemaWatcher) Name() string { return "schema-watcher" }

func (w *schemaWatcher) Start(ctx context.Context) error {
	sw := &schema.Watcher{
		Provider: w.db,
		Interval: w.interval,
		NoListen: !schema.ListenEnabled(os.Getenv(schema.ListenEnv)),
		Log:      w.log,
		Now:      w.now,
		OnNewer:  w.onNewer,
	}
	return w.Go(ctx, func(ctx context.Context) { _ = sw.Run(ctx) })
}

// schemaNewer is the watcher's verdict. Readiness goes to 503 before
// anything else, so the load balancer stops sending requests while the node
// drains; then Run is told.
func (n *Node) schemaNewer(dbVersion int64, detectedAt time.Time) {
	n.state.Store(stateDraining)
	n.detectedAt.Store(&detectedAt)
	n.log("schema-watcher").WithFields(logrus.Fields{"db_schema": dbVersion, "binary_schema": schema.Latest()}).
		Error(schema.ShutdownMessage(dbVersion, schema.Latest()))
	select {
	case n.newerSchema <- dbVersion:
	default:
	}
}
