package podium

import "time"

// Visit is one view of a content item: a page of a static site or a
// report, a page load of an app, a call of an API (docs/usage.md says
// which requests count).
type Visit struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"time"`
	ContentID   int64     `json:"-"`
	ContentGUID string    `json:"content_guid"`
	// BundleID is the bundle served; nil when unknown.
	BundleID *int64 `json:"bundle_id"`
	// UserID is the visitor; nil for an anonymous one.
	UserID *int64 `json:"-"`
	NodeID string `json:"-"`
	// Path is the path under the content (static sites and reports:
	// the page served), "" for the root.
	Path string `json:"path"`
}

// AppSession is one session of an app: a WebSocket a viewer's page held
// open to the app (a Shiny session), from its start to its end.
type AppSession struct {
	ID          int64     `json:"id"`
	StartedAt   time.Time `json:"started"`
	EndedAt     time.Time `json:"ended"`
	ContentID   int64     `json:"-"`
	ContentGUID string    `json:"content_guid"`
	BundleID    *int64    `json:"bundle_id"`
	UserID      *int64    `json:"-"`
	NodeID      string    `json:"node_id"`
}

// UsageCount is the number of visits and app sessions of one content
// item, or of one day.
type UsageCount struct {
	ContentID   int64
	ContentGUID string
	// Day is the UTC day counted (midnight), for per-day counts.
	Day      time.Time
	Visits   int64
	Sessions int64
}
