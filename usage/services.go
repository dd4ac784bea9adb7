package usage

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// VisitRecorder takes the visits of content: what web's content serving
// holds (a *Recorder, which buffers them and writes them in batches; a nil
// VisitRecorder records nothing, and builds no visit).
type VisitRecorder interface {
	// Visit records one visit; it never blocks on the database.
	Visit(v *podium.Visit)
}

var _ VisitRecorder = (*Recorder)(nil)

// ReadStore reads the usage history for web's instrumentation endpoints
// (UsageRoutes): the pages of visits and of app sessions
// (dbprovider.UsageStore's lists), and the content a content_guid filter
// names.
type ReadStore interface {
	// UsageVisitList returns a page of visits in id order.
	UsageVisitList(ctx context.Context, p *dbprovider.UsageListParams) ([]*podium.Visit, error)
	// UsageSessionList returns a page of app sessions in id order.
	UsageSessionList(ctx context.Context, p *dbprovider.UsageListParams) ([]*podium.AppSession, error)
	// ContentGetByGUID returns a content item. Returns ENOTFOUND.
	ContentGetByGUID(ctx context.Context, guid string) (*podium.Content, error)
}

var _ ReadStore = dbprovider.Provider(nil)
