package apps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web/jsonbody"
	"github.com/podiumhq/podium/web/route"
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

// APIOptions configure Routes.
type APIOptions struct {
	// NodeID names this node in answers (process lists are per node).
	NodeID string
	// Settings stores the per-content overrides.
	Settings SettingsStore
	// MayManage returns nil when the request's user may see the
	// processes, logs and settings of content guid; EUNAUTHORIZED,
	// EFORBIDDEN or ENOTFOUND otherwise.
	MayManage func(c echo.Context, guid string) error
}

// maxSettingsBody bounds the body of PATCH .../processes-settings.
const maxSettingsBody = 64 << 10

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

// Routes are the process endpoints, under /__api__/v1:
//
//	GET   /content/:guid/processes             this node's processes of the app
//	GET   /content/:guid/processes/:pid/log    the end of one process's log
//	GET   /content/:guid/processes-settings    overrides and effective settings
//	PATCH /content/:guid/processes-settings    replace the overrides
func (s *Supervisor) Routes(opts APIOptions) []route.Route {
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes", Handler: func(c echo.Context) error {
			guid := c.Param("guid")
			if err := opts.MayManage(c, guid); err != nil {
				return err
			}
			return c.JSON(http.StatusOK, ProcessesBody{Node: opts.NodeID, PoolStatus: s.Status(guid)})
		}},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes/:pid/log", Handler: func(c echo.Context) error {
			guid := c.Param("guid")
			if err := opts.MayManage(c, guid); err != nil {
				return err
			}
			pid, err := strconv.Atoi(c.Param("pid"))
			if err != nil {
				return podium.Errorf(podium.EINVALID, "pid: %q is not a number", c.Param("pid"))
			}
			path, err := s.LogPath(guid, pid)
			if err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("process log: %w", err)
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil && fi.Size() > MaxLogBytes {
				_, _ = f.Seek(-MaxLogBytes, io.SeekEnd)
			}
			c.Response().Header().Set("X-Podium-Node", opts.NodeID)
			return c.Stream(http.StatusOK, "text/plain; charset=utf-8", f)
		}},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes-settings", Handler: func(c echo.Context) error {
			guid := c.Param("guid")
			if err := opts.MayManage(c, guid); err != nil {
				return err
			}
			o, err := opts.Settings.ProcessSettings(c.Request().Context(), guid)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, SettingsBody{Overrides: o, Effective: effective(s.opts.Limits.Apply(&o))})
		}},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid/processes-settings", Audit: podium.AuditProcessesSet, AuditTarget: "content:{guid}", Handler: func(c echo.Context) error {
			guid := c.Param("guid")
			if err := opts.MayManage(c, guid); err != nil {
				return err
			}
			var patch json.RawMessage
			if err := jsonbody.Decode(c, &patch, maxSettingsBody); err != nil {
				return err
			}
			// PATCH: fields present in the body replace the stored ones; a
			// JSON null clears a number, "" clears a duration.
			o, err := opts.Settings.UpdateProcessSettings(c.Request().Context(), guid, func(o *Overrides) error {
				if err := jsonbody.Unmarshal(patch, o); err != nil {
					return err
				}
				_, err := s.opts.Limits.apply(o)
				return err
			})
			if err != nil {
				return err
			}
			s.invalidate(guid)
			return c.JSON(http.StatusOK, SettingsBody{Overrides: o, Effective: effective(s.opts.Limits.Apply(&o))})
		}},
	}
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
