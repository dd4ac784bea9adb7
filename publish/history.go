package publish

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// History is what a content item's page shows of what was done to it:
// its newest tasks (deployments and ad-hoc renders, with their output)
// and its newest renders (dbprovider.ContentStore's TaskList and
// RenderListRecent). The dashboard holds it; it applies no access rule,
// so the holder resolves the content through ContentService first.
type History interface {
	// TaskList returns the newest limit tasks of content, newest first.
	TaskList(ctx context.Context, contentID int64, limit int) ([]*podium.Task, error)
	// RenderListRecent returns the newest limit renders of content.
	RenderListRecent(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error)
}

var _ History = dbprovider.Provider(nil)
