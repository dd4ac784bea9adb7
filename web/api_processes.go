package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/jsonbody"
	"github.com/podiumhq/podium/web/route"
)

// maxSettingsBody bounds the body of PATCH .../processes-settings.
const maxSettingsBody = 64 << 10

// ProcessRoutes are the process endpoints of the apps this node runs
// (nodeID names it in answers: process lists are per node):
//
//	GET   /__api__/v1/content/{guid}/processes             this node's processes of the app
//	GET   /__api__/v1/content/{guid}/processes/{pid}/log   the end of one process's log
//	GET   /__api__/v1/content/{guid}/processes-settings    overrides and effective settings
//	PATCH /__api__/v1/content/{guid}/processes-settings    replace the overrides
func ProcessRoutes(nodeID string, sup apps.ProcessService, settings apps.SettingsStore, access publish.EditAccess) []route.Route {
	h := &processAPI{nodeID: nodeID, sup: sup, settings: settings, access: access}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes", Handler: h.list},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes/:pid/log", Handler: h.log},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/processes-settings", Handler: h.getSettings},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid/processes-settings", Handler: h.setSettings,
			Audit: podium.AuditProcessesSet, AuditTarget: "content:{guid}"},
	}
}

type processAPI struct {
	nodeID   string
	sup      apps.ProcessService
	settings apps.SettingsStore
	access   publish.EditAccess
}

// may checks that the caller may manage the app of the :guid parameter.
func (h *processAPI) may(c echo.Context) (string, error) {
	guid := c.Param("guid")
	return guid, h.access.MayEdit(c.Request().Context(), CurrentUser(c), guid)
}

func (h *processAPI) list(c echo.Context) error {
	guid, err := h.may(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apps.ProcessesBody{Node: h.nodeID, PoolStatus: h.sup.Status(guid)})
}

func (h *processAPI) log(c echo.Context) error {
	guid, err := h.may(c)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(c.Param("pid"))
	if err != nil {
		return podium.Errorf(podium.EINVALID, "pid: %q is not a number", c.Param("pid"))
	}
	path, err := h.sup.LogPath(guid, pid)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("process log: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > apps.MaxLogBytes {
		_, _ = f.Seek(-apps.MaxLogBytes, io.SeekEnd)
	}
	c.Response().Header().Set("X-Podium-Node", h.nodeID)
	return c.Stream(http.StatusOK, "text/plain; charset=utf-8", f)
}

func (h *processAPI) getSettings(c echo.Context) error {
	guid, err := h.may(c)
	if err != nil {
		return err
	}
	b, err := h.sup.Settings(c.Request().Context(), h.settings, guid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}

func (h *processAPI) setSettings(c echo.Context) error {
	guid, err := h.may(c)
	if err != nil {
		return err
	}
	var patch json.RawMessage
	if err := jsonbody.Decode(c, &patch, maxSettingsBody); err != nil {
		return err
	}
	// PATCH: fields present in the body replace the stored ones; a JSON
	// null clears a number, "" clears a duration.
	b, err := h.sup.ChangeSettings(c.Request().Context(), h.settings, guid, func(o *apps.Overrides) error {
		return jsonbody.Unmarshal(patch, o)
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}
