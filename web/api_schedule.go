package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web/route"
)

// maxScheduleBody bounds the body of a schedule update.
const maxScheduleBody = 16 << 10

// ScheduleRoutes are the schedule endpoints:
//
//	GET    /__api__/v1/content/{guid}/schedule
//	PUT    /__api__/v1/content/{guid}/schedule   {"spec": "...", "timezone": "...", "enabled": true}
//	DELETE /__api__/v1/content/{guid}/schedule
//
// The job history is in JobRoutes.
func ScheduleRoutes(api scheduler.API) []route.Route {
	h := &scheduleAPI{api: api}
	const path = "/__api__/v1/content/:guid/schedule"
	return []route.Route{
		{Method: http.MethodGet, Path: path, Handler: h.get},
		{Method: http.MethodPut, Path: path, Handler: h.put, Audit: podium.AuditScheduleSet, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: path, Handler: h.delete, Audit: podium.AuditScheduleDelete, AuditTarget: "content:{guid}"},
	}
}

// scheduleAPI is the handler of the schedule and job endpoints.
type scheduleAPI struct{ api scheduler.API }

func (h *scheduleAPI) get(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	sc, err := h.api.ScheduleGet(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sc)
}

func (h *scheduleAPI) put(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var in scheduler.ScheduleInput
	if err := decodeJSONBody(c, &in, maxScheduleBody); err != nil {
		return err
	}
	sc, err := h.api.SchedulePut(c.Request().Context(), u, c.Param("guid"), &in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sc)
}

func (h *scheduleAPI) delete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if err := h.api.ScheduleDelete(c.Request().Context(), u, c.Param("guid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// queryLimit reads ?limit=N (0 when absent). Returns EINVALID.
func queryLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, podium.Errorf(podium.EINVALID, "limit must be a positive integer")
	}
	return n, nil
}
