package publish

import (
	"context"
	"encoding/json"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/runtimes"
)

// Target is what a reader of content is served: the files of Dir, with
// Index at the root.
type Target struct {
	Content *podium.Content
	Dir     string
	Index   string
	// App is set for appmode app and api: the request goes to the
	// application's processes, not to files.
	App bool
}

// ServeTarget returns what u (nil for anonymous) reads at /content/{guid}/:
// the active bundle of a static site, or the newest good render of the
// active bundle of a report.
//
// Returns EUNAUTHORIZED to an anonymous reader of content that is not
// public (whether or not it exists), ENOTFOUND for content u may not see
// or that has nothing to show yet. For apps and APIs it returns a Target
// with App set and no Dir.
func (s *Service) ServeTarget(ctx context.Context, u *podium.User, guid string) (*Target, error) {
	c, _, err := s.contentFor(ctx, u, guid, canView)
	if err != nil {
		if u == nil && podium.IsCode(err, podium.ENOTFOUND) {
			return nil, podium.Errorf(podium.EUNAUTHORIZED, "log in to see this content")
		}
		return nil, err
	}
	if c.ActiveBundleID == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s has not been deployed yet", guid)
	}
	mode := bundle.AppMode(c.AppMode)
	switch {
	case runtimes.IsRendered(c.AppMode):
		mode = bundle.AppModeReport // read like a report: its newest good render
	case runtimes.IsServed(c.AppMode):
		mode = bundle.AppModeApp
	}
	switch mode {
	case bundle.AppModeStatic:
		b, err := s.db.BundleGet(ctx, *c.ActiveBundleID)
		if err != nil {
			return nil, err
		}
		var m bundle.Manifest
		_ = json.Unmarshal([]byte(b.Manifest), &m)
		return &Target{Content: c, Dir: s.bundleDir(c.GUID, b.ID), Index: m.PrimaryPage()}, nil
	case bundle.AppModeReport:
		r, err := s.db.RenderGetLatestGood(ctx, c.ID, *c.ActiveBundleID)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return nil, podium.Errorf(podium.ENOTFOUND, "content %s has no successful render yet", guid)
		} else if err != nil {
			return nil, err
		}
		return &Target{Content: c, Dir: s.RenderDir(c.GUID, r.ID), Index: "index.html"}, nil
	case bundle.AppModeApp, bundle.AppModeAPI:
		return &Target{Content: c, App: true}, nil
	default:
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s has an unknown appmode %q", guid, c.AppMode)
	}
}
