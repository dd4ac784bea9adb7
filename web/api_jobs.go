package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web/route"
)

// JobList is the body of the job history endpoints.
type JobList struct {
	Jobs []*podium.Job `json:"jobs"`
}

// JobRoutes are the job history endpoints:
//
//	GET /__api__/v1/content/{guid}/jobs?limit=N
//	GET /__api__/v1/jobs?status=queued|running|succeeded|failed&limit=N
func JobRoutes(api SchedulerAPI) []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: "/__api__/v1/content/:guid/jobs", Handler: jobListHandler(func(c echo.Context, u *podium.User, limit int) ([]*podium.Job, error) {
			return api.ContentJobs(c.Request().Context(), u, c.Param("guid"), limit)
		})},
		{Method: http.MethodGet, Path: "/__api__/v1/jobs", Handler: jobListHandler(func(c echo.Context, u *podium.User, limit int) ([]*podium.Job, error) {
			return api.Jobs(c.Request().Context(), u, c.QueryParam("status"), limit)
		})},
	}
}

// jobListHandler answers a job history endpoint: it requires a user, reads
// ?limit, and sends what list returns as a JobList.
func jobListHandler(list func(c echo.Context, u *podium.User, limit int) ([]*podium.Job, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := RequireUser(c)
		if err != nil {
			return err
		}
		limit, err := queryLimit(c)
		if err != nil {
			return err
		}
		jobs, err := list(c, u, limit)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, JobList{Jobs: jobs})
	}
}
