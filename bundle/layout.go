package bundle

import (
	"path/filepath"
	"strconv"
)

// Layout is where content lives in the shared data directory ([Server]
// DataDir): the one place that knows the layout, used by publishing (which
// writes it) and by the app supervisor's source (which runs from it).
//
//	{DataDir}/content/<guid>/                   ContentDir
//	{DataDir}/content/<guid>/bundles/<id>/      Dir: an unpacked bundle
//	{DataDir}/content/<guid>/bundles/<id>.tar.gz Archive: the uploaded archive
//	{DataDir}/content/<guid>/renders/<id>/      RenderDir: one render's output
type Layout struct{ DataDir string }

// ContentDir returns the directory of a content's bundles and renders.
func (l Layout) ContentDir(guid string) string { return filepath.Join(l.DataDir, "content", guid) }

// BundlesDir returns the directory of a content's bundles.
func (l Layout) BundlesDir(guid string) string { return filepath.Join(l.ContentDir(guid), "bundles") }

// Dir returns the directory of an unpacked bundle.
func (l Layout) Dir(guid string, id int64) string {
	return filepath.Join(l.BundlesDir(guid), strconv.FormatInt(id, 10))
}

// Archive returns the path of a bundle's uploaded archive.
func (l Layout) Archive(guid string, id int64) string { return l.Dir(guid, id) + ".tar.gz" }

// RendersDir returns the directory of a content's renders.
func (l Layout) RendersDir(guid string) string { return filepath.Join(l.ContentDir(guid), "renders") }

// RenderDir returns the directory that holds the output of a render.
func (l Layout) RenderDir(guid string, renderID int64) string {
	return filepath.Join(l.RendersDir(guid), strconv.FormatInt(renderID, 10))
}
