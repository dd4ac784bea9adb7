package dbprovider

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// UsageStore holds the usage history: visits of content and sessions of
// apps, written in batches (package usage) and read by the
// instrumentation API and the dashboard.
type UsageStore interface {
	// UsageVisitInsert stores visits, all or none, in statements of at
	// most 500 rows. Their At is kept (the time of the request, not of
	// the write).
	UsageVisitInsert(ctx context.Context, visits []*podium.Visit) error
	// UsageSessionInsert stores ended app sessions, all or none, in
	// statements of at most 500 rows.
	UsageSessionInsert(ctx context.Context, sessions []*podium.AppSession) error
	// UsageVisitList returns a page of visits in id order (see
	// UsageListParams).
	UsageVisitList(ctx context.Context, p *UsageListParams) ([]*podium.Visit, error)
	// UsageSessionList returns a page of app sessions in id order: From
	// and To select the sessions that overlap [From, To).
	UsageSessionList(ctx context.Context, p *UsageListParams) ([]*podium.AppSession, error)
	// UsageDaily counts the visits and sessions (by start) of one content
	// item per UTC day from since on; days without any are left out.
	UsageDaily(ctx context.Context, contentID int64, since time.Time) ([]*podium.UsageCount, error)
	// UsageTop returns the limit content items with the most visits plus
	// sessions from since on, most used first.
	UsageTop(ctx context.Context, since time.Time, limit int) ([]*podium.UsageCount, error)
	// UsagePrune deletes at most limit of the oldest visits and at most
	// limit of the oldest sessions from before the given time (sessions
	// by their end) and returns how many it deleted.
	UsagePrune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// UsageListParams selects a page of usage. Zero fields do not filter.
type UsageListParams struct {
	ContentID int64
	From      time.Time // visits at >= From; sessions ended at >= From
	To        time.Time // visits at < To; sessions started before To
	// AfterID and BeforeID page: only rows with a greater (smaller) id.
	AfterID  int64
	BeforeID int64
	// Desc returns the highest ids first (before BeforeID, or the last
	// page); otherwise lowest first.
	Desc  bool
	Limit int // at most this many (1..1000; 0 means 20)
}
