package dashboard

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// ContentSource reads content with the access rules of package publish.
type ContentSource interface {
	// ContentList returns the content u may see.
	ContentList(ctx context.Context, u *podium.User) ([]*podium.Content, error)
	// ContentGet returns content u may see, and whether u may edit it.
	// Returns ENOTFOUND for content u may not see.
	ContentGet(ctx context.Context, u *podium.User, guid string) (c *podium.Content, canEdit bool, err error)
	// BundleList returns the bundles of content, newest first.
	BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error)
	// Permissions returns the access list of content u may edit.
	Permissions(ctx context.Context, u *podium.User, guid string) ([]*podium.ContentACLEntry, error)
}

// JobSource reads schedules and jobs (package scheduler).
type JobSource interface {
	// ScheduleGet returns a report's schedule. Returns ENOTFOUND.
	ScheduleGet(ctx context.Context, u *podium.User, guid string) (*podium.Schedule, error)
	// ContentJobs returns the recent jobs of content with their attempts.
	ContentJobs(ctx context.Context, u *podium.User, guid string, limit int) ([]*podium.Job, error)
	// Jobs returns the jobs of a status ("" for all) u may see, with their
	// attempts.
	Jobs(ctx context.Context, u *podium.User, status string, limit int) ([]*podium.Job, error)
}

// Process is one app process on this node.
type Process struct {
	PID         int
	BundleID    int64
	State       string
	Connections int
	Served      int64
	Started     time.Time
	Ended       *time.Time
	Exit        string
}

// ProcessSource lists this node's app processes (package apps).
type ProcessSource interface {
	// Processes returns this node's processes of content guid, live first,
	// and the pool's last error.
	Processes(guid string) (procs []Process, lastError string)
	// Running counts the live processes of this node over the given
	// content.
	Running(guids []string) int
}

// Point is one sample of a metric.
type Point struct {
	T time.Time
	V float64
}

// Series is a metric's history on one node.
type Series struct {
	Name   string
	Unit   string
	Points []Point
}

// MetricsSource reads per-node resource metrics (package metrics).
type MetricsSource interface {
	// NodeSeries returns the history of node's metrics since the given time.
	NodeSeries(ctx context.Context, nodeID string, since time.Time) ([]Series, error)
	// AppProcesses returns the latest sampled number of app processes of
	// a node, false when unknown.
	AppProcesses(ctx context.Context, nodeID string) (int, bool)
}

// HACheck is one result of the "podium ha check" checklist.
type HACheck struct {
	Title  string
	Status string   // "pass", "warn", "fail"
	Nodes  []string // the nodes it concerns
	Detail string   // what was found
	Action string   // what to do ("" on pass)
}

// HACheckSource reads the latest ha check results (package hacheck).
type HACheckSource interface {
	// HAChecks runs the checklist against the cluster and returns the
	// result of each item.
	HAChecks(ctx context.Context) ([]HACheck, error)
}

// KeySource manages the caller's API keys (package auth).
type KeySource interface {
	// ListAPIKeys returns the unrevoked keys of a user.
	ListAPIKeys(ctx context.Context, userID int64) ([]*dbprovider.APIKey, error)
	// CreateAPIKey creates a key and returns it (the only time it is
	// shown) with its record.
	CreateAPIKey(ctx context.Context, userID int64, name string) (string, *dbprovider.APIKey, error)
	// RevokeAPIKey revokes a key of the user. Returns ENOTFOUND.
	RevokeAPIKey(ctx context.Context, userID, keyID int64) error
}
