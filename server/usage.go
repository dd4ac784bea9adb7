package server

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
)

// mountUsage mounts Connect's instrumentation API and returns the usage
// recorder (nil with [Usage] Enabled = false: nothing is recorded, the
// history stays readable) and the pruner of [Usage] Retention. Both are
// services: the recorder stops after the app supervisor, so that it
// writes the sessions the stop ended.
func mountUsage(n *Node) (*usage.Recorder, *usage.Pruner) {
	cfg := n.Config.Usage
	n.web.Mount(web.UsageRoutes(n.db))
	pruner := &usage.Pruner{DB: n.db, Retention: cfg.Retention, Every: time.Hour, Batch: 5000, Now: n.Now, Log: n.log("usage")}
	if !cfg.Enabled {
		return nil, pruner
	}
	return usage.New(usage.Options{Store: n.db, NodeID: n.id, BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval,
		MaxPending: cfg.MaxPending, Log: n.log("usage"), Now: n.Now}), pruner
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
