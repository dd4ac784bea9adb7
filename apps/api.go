package apps

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/internal/fastpath"
)

// SettingsStore keeps the per-content process overrides.
type SettingsStore interface {
	// ProcessSettings returns the overrides of content guid (zero when
	// none were set).
	ProcessSettings(ctx context.Context, guid string) (Overrides, error)
	// UpdateProcessSettings changes the overrides of content guid with fn
	// and stores them, atomically: fn may run more than once when another
	// update came first, each time on the latest overrides. It returns
	// what was stored, or fn's error.
	UpdateProcessSettings(ctx context.Context, guid string, fn func(o *Overrides) error) (Overrides, error)
}

// ProcessService is what the process endpoints (package web's
// ProcessRoutes) and the dashboard ask of the supervisor: the processes of
// an app on this node, one process's log, and the app's settings, read
// and changed through a SettingsStore. The caller checks the user's
// access first.
type ProcessService interface {
	// Status returns this node's processes of content guid.
	Status(guid string) PoolStatus
	// Running returns how many processes of content guid run on this
	// node (Live).
	Running(guid string) int
	// LogPath returns the log file of process pid of content guid.
	// Returns ENOTFOUND.
	LogPath(guid string, pid int) (string, error)
	// Settings returns the overrides of content guid and the settings in
	// effect on this node.
	Settings(ctx context.Context, store SettingsStore, guid string) (SettingsBody, error)
	// ChangeSettings changes the overrides of content guid with fn and
	// applies them on this node. Returns EINVALID for settings the node's
	// limits refuse, or fn's error.
	ChangeSettings(ctx context.Context, store SettingsStore, guid string, fn func(o *Overrides) error) (SettingsBody, error)
}

var _ ProcessService = (*Supervisor)(nil)

// ServeService serves content of appmode "app" and "api": what web's
// content serving holds to pass a request under /content/{guid}/ to one of
// the app's processes (the Supervisor's proxy).
type ServeService interface {
	// ServeApp answers request c for the app content guid. The caller has
	// already checked that the user may view the content.
	ServeApp(c echo.Context, guid string) error
	// ServeFast answers a request of the fast lane (already granted) when
	// the app can take it at once on the direct path; false, having
	// written nothing, leaves it to ServeApp. accepted runs once the
	// request is taken, before it is proxied.
	ServeFast(w http.ResponseWriter, r *http.Request, guid string, accepted func()) bool
	// ServeRaw answers a request of the raw lane (already granted) in
	// bytes, through r's fallback when the answer needs more; status 0,
	// having written nothing, leaves it to the lane. accepted runs once
	// the request is taken, before it is proxied.
	ServeRaw(r *fastpath.RawRequest, guid string, extra []RawHeader, accepted func()) (status int, keep bool)
}

var _ ServeService = (*Supervisor)(nil)

// MaxLogBytes bounds the end of a process log that the API returns.
const MaxLogBytes = 1 << 20

// ProcessesBody is the JSON answer of GET .../processes.
type ProcessesBody struct {
	Node string `json:"node"`
	PoolStatus
}

// SettingsBody is the JSON answer of GET and PATCH .../processes-settings.
type SettingsBody struct {
	// Overrides are the content's own settings.
	Overrides Overrides `json:"overrides"`
	// Effective are the server defaults with the overrides applied.
	Effective EffectiveLimits `json:"effective"`
}

// EffectiveLimits are Limits with durations as strings, for JSON.
type EffectiveLimits struct {
	Limits
	IdleTimeout string `json:"idle_timeout"`
	InitTimeout string `json:"init_timeout"`
}

func effective(l Limits) EffectiveLimits {
	return EffectiveLimits{Limits: l, IdleTimeout: l.IdleTimeout.String(), InitTimeout: l.InitTimeout.String()}
}

// invalidate makes the next request or housekeeping round read guid's
// app again (new settings take effect at once on this node, within
// RefreshInterval on the others).
func (s *Supervisor) invalidate(guid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pl := s.pools[guid]; pl != nil {
		pl.fetched = pl.fetched.Add(-s.opts.RefreshInterval - 1)
	}
}

// Settings returns content guid's overrides from store and the settings
// in effect on this node: what GET .../processes-settings answers.
func (s *Supervisor) Settings(ctx context.Context, store SettingsStore, guid string) (SettingsBody, error) {
	o, err := store.ProcessSettings(ctx, guid)
	if err != nil {
		return SettingsBody{}, err
	}
	return SettingsBody{Overrides: o, Effective: effective(s.opts.Limits.Apply(&o))}, nil
}

// ChangeSettings changes content guid's overrides with fn, refuses what
// the node's limits refuse (EINVALID), stores them in store and applies
// them on this node at once: what PATCH .../processes-settings does, for
// the dashboard's form. The caller has checked the user's access.
func (s *Supervisor) ChangeSettings(ctx context.Context, store SettingsStore, guid string, fn func(o *Overrides) error) (SettingsBody, error) {
	o, err := store.UpdateProcessSettings(ctx, guid, func(o *Overrides) error {
		if err := fn(o); err != nil {
			return err
		}
		_, err := s.opts.Limits.apply(o)
		return err
	})
	if err != nil {
		return SettingsBody{}, err
	}
	s.invalidate(guid)
	return SettingsBody{Overrides: o, Effective: effective(s.opts.Limits.Apply(&o))}, nil
}
