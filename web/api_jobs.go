package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
)

// JobList is the body of the job history endpoints.
type JobList struct {
	Jobs []*podium.Job `json:"jobs"`
}

// MountJobsAPI adds the job history endpoints (see MountSchedulerAPI).
// MountSchedulerAPI does not call it, so that each area may mount alone.
func (s *Server) MountJobsAPI(api SchedulerAPI) {
	e := s.Echo
	e.GET("/__api__/v1/content/:guid/jobs", func(c echo.Context) error {
		u, err := RequireUser(c)
		if err != nil {
			return err
		}
		limit, err := queryLimit(c)
		if err != nil {
			return err
		}
		jobs, err := api.ContentJobs(c.Request().Context(), u, c.Param("guid"), limit)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, JobList{Jobs: jobs})
	})
	e.GET("/__api__/v1/jobs", func(c echo.Context) error {
		u, err := RequireUser(c)
		if err != nil {
			return err
		}
		limit, err := queryLimit(c)
		if err != nil {
			return err
		}
		jobs, err := api.Jobs(c.Request().Context(), u, c.QueryParam("status"), limit)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, JobList{Jobs: jobs})
	})
}
