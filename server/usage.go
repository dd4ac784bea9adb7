package server

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/prune"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// newUsage returns the usage recorder of node nodeID (nil with [Usage]
// Enabled = false: nothing is recorded, the history stays readable
// through web.UsageRoutes) and the pruner of [Usage] Retention. Both are
// services: the recorder stops after the app supervisor, so that it
// writes the sessions the stop ended.
func newUsage(cfg config.UsageConfig, db dbprovider.Provider, nodeID string, now func() time.Time, log *logrus.Entry) (*usage.Recorder, *prune.Pruner) {
	pruner := usage.NewPruner(db, cfg.Retention, time.Hour, 5000, now, log)
	if !cfg.Enabled {
		return nil, pruner
	}
	return usage.New(usage.Options{Store: db, NodeID: nodeID, BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
		MaxPending: cfg.MaxPending, Log: log, Now: now}), pruner
}

// visits is rec as the content server's visit recorder: nil, not a nil
// *usage.Recorder, when usage is off (no visit is even built).
func visits(rec *usage.Recorder) usage.VisitRecorder {
	if rec == nil {
		return nil
	}
	return rec
}

// appSessions returns the apps supervisor's Session hook: a WebSocket to
// an app is one app session of the request's user (nil without a
// recorder).
func appSessions(rec *usage.Recorder) func(c echo.Context, contentID int64, guid string, bundleID int64) func() {
	if rec == nil {
		return nil
	}
	return func(c echo.Context, contentID int64, guid string, bundleID int64) func() {
		s := &podium.AppSession{ContentID: contentID, ContentGUID: guid, BundleID: &bundleID}
		if u := web.CurrentUser(c); u != nil {
			s.UserID = &u.ID
		}
		return rec.SessionStart(s)
	}
}

// nopService stands for a recorder that is off.
type nopService struct{ name string }

func (s nopService) Name() string { return s.name }

func (nopService) Start(ctx context.Context) error { return nil }

func (nopService) Stop(ctx context.Context) error { return nil }
