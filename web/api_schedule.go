package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web/route"
)

// ScheduleInput is the body of PUT /__api__/v1/content/{guid}/schedule.
type ScheduleInput struct {
	// Spec is a cron expression (an optional seconds field first) or a
	// descriptor such as "@every 30s".
	Spec string `json:"spec"`
	// Timezone is an IANA time zone; "" means UTC.
	Timezone string `json:"timezone"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled"`
}

// SchedulerAPI is what the schedule and job endpoints need; the scheduler
// service implements it (through an adapter in server). Each method checks
// that u may see or change the content by the rule of every content
// endpoint (the publishing service's): EUNAUTHORIZED for anonymous,
// ENOTFOUND for content u may not see, EFORBIDDEN for a change u may not
// make to content it sees.
type SchedulerAPI interface {
	// ScheduleGet returns a report's schedule. Returns ENOTFOUND.
	ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error)
	// SchedulePut sets a report's schedule. Returns EINVALID for a bad
	// expression or time zone, EFORBIDDEN, ENOTFOUND.
	SchedulePut(ctx context.Context, u *podium.User, guid string, in *ScheduleInput) (*podium.Schedule, error)
	// ScheduleDelete removes it. Returns ENOTFOUND, EFORBIDDEN.
	ScheduleDelete(ctx context.Context, u *podium.User, guid string) error
	// ContentJobs returns a report's jobs with their attempts, newest
	// first.
	ContentJobs(ctx context.Context, u *podium.User, guid string, limit int, before int64) ([]*podium.Job, error)
	// Jobs returns every report's jobs, optionally of one status
	// (administrators only: EFORBIDDEN).
	Jobs(ctx context.Context, u *podium.User, status string, limit int, before int64) ([]*podium.Job, error)
}

// maxScheduleBody bounds the body of a schedule update.
const maxScheduleBody = 16 << 10

// ScheduleRoutes are the schedule endpoints:
//
//	GET    /__api__/v1/content/{guid}/schedule
//	PUT    /__api__/v1/content/{guid}/schedule   {"spec": "...", "timezone": "...", "enabled": true}
//	DELETE /__api__/v1/content/{guid}/schedule
//
// The job history is in JobRoutes.
func ScheduleRoutes(api SchedulerAPI) []route.Route {
	h := &scheduleAPI{api: api}
	const path = "/__api__/v1/content/:guid/schedule"
	return []route.Route{
		{Method: http.MethodGet, Path: path, Handler: h.get},
		{Method: http.MethodPut, Path: path, Handler: h.put, Audit: podium.AuditScheduleSet, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: path, Handler: h.delete, Audit: podium.AuditScheduleDelete, AuditTarget: "content:{guid}"},
	}
}

// scheduleAPI is the handler of the schedule and job endpoints.
type scheduleAPI struct{ api SchedulerAPI }

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
	var in ScheduleInput
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
