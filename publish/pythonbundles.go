package publish

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/runtimes"
)

// LivePythonBundles lists the active bundle of every Python content item
// with the runtime its manifest asks for (the environments that
// runtimes.Evictor must keep). A manifest that cannot be read fails the
// list, so nothing is evicted on a guess.
func (s *Service) LivePythonBundles(ctx context.Context) ([]runtimes.BundleSpec, error) {
	list, err := s.db.ContentList(ctx, &dbprovider.ContentListParams{All: true})
	if err != nil {
		return nil, err
	}
	var out []runtimes.BundleSpec
	for _, c := range list {
		if c.ActiveBundleID == nil || !runtimes.IsPython(c.AppMode) {
			continue
		}
		dir := s.bundleDir(c.GUID, *c.ActiveBundleID)
		m, err := bundle.LoadManifest(dir)
		if err != nil {
			return nil, podium.Errorf(podium.EINTERNAL, "content %s: %v", c.GUID, err)
		}
		if spec := m.RuntimeSpec(); spec != nil {
			out = append(out, runtimes.BundleSpec{Dir: dir, Spec: spec})
		}
	}
	return out, nil
}
