package bundle

import "testing"

// TestLayout pins the data directory layout: nodes of different versions
// share it, so it must not drift.
func TestLayout(t *testing.T) {
	l := Layout{DataDir: "/data"}
	for got, want := range map[string]string{
		l.ContentDir("g"):   "/data/content/g",
		l.BundlesDir("g"):   "/data/content/g/bundles",
		l.Dir("g", 7):       "/data/content/g/bundles/7",
		l.Archive("g", 7):   "/data/content/g/bundles/7.tar.gz",
		l.RendersDir("g"):   "/data/content/g/renders",
		l.RenderDir("g", 3): "/data/content/g/renders/3",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
