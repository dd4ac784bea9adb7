package scheduler

import (
	"context"
	"fmt"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// ScheduleInput is the body of PUT .../schedule.
type ScheduleInput struct {
	// Spec is a cron expression (optional seconds field first) or a
	// descriptor such as "@every 30s".
	Spec string `json:"spec"`
	// Timezone is an IANA zone name; "" means UTC.
	Timezone string `json:"timezone"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled"`
}

// API is what the schedule and job endpoints (package web's
// ScheduleRoutes and JobRoutes) need of the scheduler; *Service implements
// it. Each method checks that u may see or change the content by the rule
// of every content endpoint (the publishing service's): EUNAUTHORIZED for
// anonymous, ENOTFOUND for content u may not see, EFORBIDDEN for a change
// u may not make to content it sees.
type API interface {
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

var _ API = (*Service)(nil)

// maxJobList bounds one page of job history.
const maxJobList = 500

// content resolves guid for u by the access rule of every content
// endpoint (Options.Access): whoever may read the content may read its
// schedule and jobs; whoever may change it may change its schedule.
// Returns EUNAUTHORIZED, ENOTFOUND to those who may not see the content,
// EFORBIDDEN to those who see it but may not change it.
func (s *Service) content(ctx context.Context, u *podium.User, guid string, write bool) (*podium.Content, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required")
	}
	if s.opts.Access == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "this node cannot check access to content")
	}
	return s.opts.Access.ContentAccess(ctx, u, guid, write)
}

// ScheduleGet returns a report's schedule. Returns ENOTFOUND when the
// content or its schedule does not exist (or u may not see it).
func (s *Service) ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error) {
	c, err := s.content(ctx, u, guid, false)
	if err != nil {
		return nil, err
	}
	sc, err := s.db.ScheduleGet(ctx, c.ID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s has no schedule", guid)
	}
	return sc, err
}

// SchedulePut sets a report's schedule, due next at the expression's first
// time after now (by the database clock). Returns EINVALID for a bad
// expression or time zone, EFORBIDDEN, ENOTFOUND.
func (s *Service) SchedulePut(ctx context.Context, u *podium.User, guid string, in *ScheduleInput) (*podium.Schedule, error) {
	spec, err := ParseSpec(in.Spec, in.Timezone)
	if err != nil {
		return nil, err
	}
	c, err := s.content(ctx, u, guid, true)
	if err != nil {
		return nil, err
	}
	now, err := s.db.Now(ctx)
	if err != nil {
		return nil, fmt.Errorf("schedule put: %w", err)
	}
	tz := in.Timezone
	if tz == "" {
		tz = "UTC"
	}
	enabled := in.Enabled == nil || *in.Enabled
	p := &dbprovider.SchedulePutParams{ContentID: c.ID, Spec: in.Spec, Timezone: tz, Enabled: enabled}
	if next := spec.Next(now); enabled && !next.IsZero() {
		p.NextRunAt = &next
	}
	sc, err := s.db.SchedulePut(ctx, p)
	if err != nil {
		return nil, err
	}
	// The due time may be sooner than the enqueuer's next pass: wake it
	// (it may be another node).
	s.kickMaintain()
	_ = s.db.Notify(ctx, Channel, scheduleChanged)
	return sc, nil
}

// ScheduleDelete removes a report's schedule and its queued jobs.
func (s *Service) ScheduleDelete(ctx context.Context, u *podium.User, guid string) error {
	c, err := s.content(ctx, u, guid, true)
	if err != nil {
		return err
	}
	return s.db.ScheduleDelete(ctx, c.ID)
}

// ContentJobs returns a report's jobs, newest first, each with its
// attempts: which node ran it, when, for how long, how it ended, and the
// log to those who may change the content only (a render log may hold
// what the report's code printed: connection strings, data). before is
// the paging cursor: the id of the last job of the previous page (0 for
// the first page).
func (s *Service) ContentJobs(ctx context.Context, u *podium.User, guid string, limit int, before int64) ([]*podium.Job, error) {
	c, err := s.content(ctx, u, guid, false)
	if err != nil {
		return nil, err
	}
	jobs, err := s.jobsWithHistory(ctx, &dbprovider.JobListParams{ContentID: c.ID, Limit: limit, Before: before})
	if err != nil {
		return nil, err
	}
	_, err = s.content(ctx, u, guid, true)
	switch {
	case podium.IsCode(err, podium.EFORBIDDEN):
		for _, j := range jobs {
			for _, a := range j.History {
				a.Log = ""
			}
		}
	case err != nil:
		return nil, err
	}
	return jobs, nil
}

// Jobs returns the jobs of every report, optionally of one status, newest
// first, with their attempts. Administrators only (EFORBIDDEN).
func (s *Service) Jobs(ctx context.Context, u *podium.User, status string, limit int, before int64) ([]*podium.Job, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required")
	}
	if !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may list every job")
	}
	switch status {
	case "", podium.JobQueued, podium.JobRunning, podium.JobSucceeded, podium.JobFailed:
	default:
		return nil, podium.Errorf(podium.EINVALID, "status %q: use queued, running, succeeded or failed", status)
	}
	return s.jobsWithHistory(ctx, &dbprovider.JobListParams{Status: status, Limit: limit, Before: before})
}

func (s *Service) jobsWithHistory(ctx context.Context, p *dbprovider.JobListParams) ([]*podium.Job, error) {
	if p.Limit <= 0 || p.Limit > maxJobList {
		p.Limit = 100
	}
	jobs, err := s.db.JobList(ctx, p)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(jobs))
	byID := make(map[int64]*podium.Job, len(jobs))
	for i, j := range jobs {
		ids[i], byID[j.ID] = j.ID, j
	}
	attempts, err := s.db.JobAttemptList(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, a := range attempts {
		byID[a.JobID].History = append(byID[a.JobID].History, a)
	}
	if jobs == nil {
		jobs = []*podium.Job{}
	}
	return jobs, nil
}
