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
	// ContentGet returns content u may see, and what else u may do with
	// it. Returns ENOTFOUND for content u may not see.
	ContentGet(ctx context.Context, u *podium.User, guid string) (c *podium.Content, r Rights, err error)
	// BundleList returns the bundles of content, newest first.
	BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error)
	// Permissions returns the access list of content u may edit: users,
	// and groups where the node has them.
	Permissions(ctx context.Context, u *podium.User, guid string) (*AccessList, error)
}

// Rights are what a user may do with content beyond seeing it.
type Rights struct {
	// Edit: change it (settings, schedule, environment, deploy, render):
	// the owner, collaborators who may publish, administrators.
	Edit bool
	// Manage: change who may see it, and delete it: the owner and
	// administrators.
	Manage bool
}

// TagSource reads the tag tree and the content tagged (package publish).
type TagSource interface {
	// Tags returns every tag, by id.
	Tags(ctx context.Context, u *podium.User) ([]*podium.Tag, error)
	// TagContent returns the content tagged with tag id that u may see.
	TagContent(ctx context.Context, u *podium.User, id int64) ([]*podium.Content, error)
	// ContentTags returns the tags of content u may see.
	ContentTags(ctx context.Context, u *podium.User, guid string) ([]*podium.Tag, error)
	// Vanity returns the vanity path of content u may see, "" for none.
	Vanity(ctx context.Context, u *podium.User, guid string) (string, error)
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

// AccessList is the access list of content: its users and its groups.
type AccessList struct {
	Users  []*podium.ContentACLEntry
	Groups []*podium.ContentGroupACLEntry
}

// ACLEntry is one line of an access list to set: a user (or, where the
// node has groups, a group) and a role ("viewer", "collaborator").
type ACLEntry struct {
	Name string
	// Group says Name is a group's; GroupID names it exactly when not 0.
	Group   bool
	GroupID int64
	Role    string
}

// ProcessSettings are an app's own process settings as the form shows
// them: "" for a field that takes the server's default.
type ProcessSettings struct {
	MinProcesses, MaxProcesses, MaxConnsPerProcess, LoadFactor, IdleTimeout, InitTimeout string
	// Effective are the settings in effect on this node, by field name.
	Effective map[string]string
}

// ContentManager changes content with the access rules of the API (the
// publishing service's, the scheduler's and the app supervisor's): each
// method returns EUNAUTHORIZED, ENOTFOUND for content u may not see,
// EFORBIDDEN for a change u may not make, EINVALID for bad input (with a
// message for the form).
type ContentManager interface {
	// ContentRename changes the name and title.
	ContentRename(ctx context.Context, u *podium.User, guid, name, title string) error
	// ContentDelete deletes content with its files.
	ContentDelete(ctx context.Context, u *podium.User, guid string) error
	// AccessSet replaces the access type ("" keeps it) and the access list
	// (nil keeps it).
	AccessSet(ctx context.Context, u *podium.User, guid, accessType string, entries []ACLEntry) error
	// Activate deploys bundle id (activate or roll back) and returns the
	// task that does it.
	Activate(ctx context.Context, u *podium.User, guid string, bundleID int64) (taskID string, err error)
	// RenderNow renders a report's active bundle and returns the task.
	RenderNow(ctx context.Context, u *podium.User, guid string) (taskID string, err error)
	// EnvNames returns the names of the content's environment variables
	// (never their values).
	EnvNames(ctx context.Context, u *podium.User, guid string) ([]string, error)
	// EnvSet sets (value not nil) or deletes an environment variable.
	EnvSet(ctx context.Context, u *podium.User, guid, name string, value *string) error
	// ProcessSettings returns an app's process settings.
	ProcessSettings(ctx context.Context, u *podium.User, guid string) (*ProcessSettings, error)
	// SetProcessSettings replaces an app's process settings.
	SetProcessSettings(ctx context.Context, u *podium.User, guid string, s *ProcessSettings) error
	// SchedulePut sets a report's schedule.
	SchedulePut(ctx context.Context, u *podium.User, guid, spec, timezone string, enabled bool) error
	// ScheduleDelete removes it.
	ScheduleDelete(ctx context.Context, u *podium.User, guid string) error
	// NextRuns returns the next n due times of a schedule, in UTC.
	NextRuns(spec, timezone string, n int) ([]time.Time, error)
	// GroupsSupported reports whether the access list may name groups.
	GroupsSupported() bool
}
