package publish

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/podiumhq/podium/bundle"
)

// renderSource returns this node's read-only copy of a bundle's files for
// renders, made once per bundle (the first render after a deployment),
// not once per render. Each render then gets a hard-link tree of it
// (bundle.LinkTree): its directories are the render's own and writable,
// its files are shared and read-only, so a render costs one link per file
// instead of a copy of the bundle. The copy lives under the scratch
// directory (which the RunAs user can reach) so that the links stay on
// one filesystem.
func (s *Service) renderSource(guid string, bundleID int64, unpacked string) (string, error) {
	tmpRoot := s.tempDir
	if tmpRoot == "" {
		tmpRoot = os.TempDir()
	}
	base := filepath.Join(tmpRoot, "podium-bundle-src")
	final := filepath.Join(base, fmt.Sprintf("%s-%d", guid, bundleID))
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		return final, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("render source: %w", err)
	}
	tmp := final + ".tmp-" + randomHex(6)
	discard := func() {
		_ = bundle.MakeWritable(tmp)
		_ = os.RemoveAll(tmp)
	}
	if err := bundle.CopyTree(unpacked, tmp, true); err != nil {
		discard()
		return "", fmt.Errorf("render source: copy bundle %d: %w", bundleID, err)
	}
	if err := bundle.ReadOnlyTree(tmp); err != nil {
		discard()
		return "", fmt.Errorf("render source: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		discard()
		// A concurrent render of the same bundle won the rename.
		if fi, serr := os.Stat(final); serr == nil && fi.IsDir() {
			return final, nil
		}
		return "", fmt.Errorf("render source: %w", err)
	}
	removeOlderSources(base, guid, bundleID)
	return final, nil
}

// removeOlderSources removes the render sources of the report's older
// bundles: a new bundle was deployed, renders use it from now on. A render
// that linked its tree from an older source keeps its links (hard links
// outlive the source directory).
func removeOlderSources(base, guid string, bundleID int64) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), guid+"-")
		if !ok {
			continue
		}
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil && id < bundleID {
			dir := filepath.Join(base, e.Name())
			_ = bundle.MakeWritable(dir)
			_ = os.RemoveAll(dir)
		}
	}
}

// chownDirs gives the directories under dir to uid:gid, and nothing else:
// the files of a render's bundle tree are hard links shared with every
// render of the bundle and must stay read-only and not the render user's.
func chownDirs(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		return os.Lchown(p, uid, gid)
	})
}
