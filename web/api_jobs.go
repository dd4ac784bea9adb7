package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web/route"
)

// JobList is the body of the job history endpoints.
type JobList struct {
	Jobs []*podium.Job `json:"jobs"`
	// NextBefore is the cursor of the next page (?before=), set when the
	// page is full.
	NextBefore int64 `json:"next_before,omitempty"`
}

// defaultJobPage is the page size without ?limit (scheduler's default).
const defaultJobPage = 100

// JobRoutes are the job history endpoints:
//
//	GET /__api__/v1/content/{guid}/jobs?limit=N&before=ID
//	GET /__api__/v1/jobs?status=queued|running|succeeded|failed&limit=N&before=ID
func JobRoutes(api scheduler.API) []route.Route {
	h := &scheduleAPI{api: api}
	return []route.Route{
		{Method: http.MethodGet, Path: "/__api__/v1/content/:guid/jobs", Handler: jobListHandler(h.contentJobs)},
		{Method: http.MethodGet, Path: "/__api__/v1/jobs", Handler: jobListHandler(h.jobs)},
	}
}

func (h *scheduleAPI) contentJobs(c echo.Context, u *podium.User, limit int, before int64) ([]*podium.Job, error) {
	return h.api.ContentJobs(c.Request().Context(), u, c.Param("guid"), limit, before)
}

func (h *scheduleAPI) jobs(c echo.Context, u *podium.User, limit int, before int64) ([]*podium.Job, error) {
	return h.api.Jobs(c.Request().Context(), u, c.QueryParam("status"), limit, before)
}

// jobListHandler answers a job history endpoint: it requires a user, reads
// ?limit and ?before (the paging cursor: the next_before of the previous
// page), and sends what list returns as a JobList.
func jobListHandler(list func(c echo.Context, u *podium.User, limit int, before int64) ([]*podium.Job, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := RequireUser(c)
		if err != nil {
			return err
		}
		limit, err := queryLimit(c)
		if err != nil {
			return err
		}
		var before int64
		if v := c.QueryParam("before"); v != "" {
			if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
				return podium.Errorf(podium.EINVALID, "before must be a job id (the next_before of the previous page)")
			}
		}
		jobs, err := list(c, u, limit, before)
		if err != nil {
			return err
		}
		out := JobList{Jobs: jobs}
		if n := len(jobs); n > 0 && (limit == 0 && n == defaultJobPage || n == limit) {
			out.NextBefore = jobs[n-1].ID
		}
		return c.JSON(http.StatusOK, out)
	}
}
