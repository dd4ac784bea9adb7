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
	e.GET("/__api__/v1/content/:guid/jobs", jobListHandler(func(c echo.Context, u *podium.User, limit int) ([]*podium.Job, error) {
		return api.ContentJobs(c.Request().Context(), u, c.Param("guid"), limit)
	}))
	e.GET("/__api__/v1/jobs", jobListHandler(func(c echo.Context, u *podium.User, limit int) ([]*podium.Job, error) {
		return api.Jobs(c.Request().Context(), u, c.QueryParam("status"), limit)
	}))
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
