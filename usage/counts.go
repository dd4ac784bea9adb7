package usage

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Counts reads usage summed per day and per content item: what the
// dashboard's usage charts and its most-used list hold
// (dbprovider.UsageStore's UsageDaily and UsageTop).
type Counts interface {
	// UsageDaily counts the visits and sessions of one content item per
	// UTC day from since on.
	UsageDaily(ctx context.Context, contentID int64, since time.Time) ([]*podium.UsageCount, error)
	// UsageTop returns the limit most used content items from since on.
	UsageTop(ctx context.Context, since time.Time, limit int) ([]*podium.UsageCount, error)
}

var _ Counts = dbprovider.Provider(nil)
