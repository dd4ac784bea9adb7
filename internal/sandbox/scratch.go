package sandbox

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// SweepBuildScratch removes from the package cache root the scratch
// directories of interrupted builds (".build-<key>-<random>", and a
// build's ".work" beside it) whose key no builder holds: the builds of
// a cache (on every node sharing it) hold the exclusive lock
// root/<key>.lock for as long as they run, so a directory whose lock can
// be taken is left over from a killed node. It returns the directories it
// removed.
func SweepBuildScratch(root string) ([]string, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), ".build-")
		if !ok || !e.IsDir() {
			continue
		}
		key, _, ok := strings.Cut(rest, "-")
		if !ok || key == "" {
			continue
		}
		f, err := os.OpenFile(filepath.Join(root, key+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			_ = f.Close() // a build of this key runs
			continue
		}
		p := filepath.Join(root, e.Name())
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, p)
		}
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
	return removed, errors.Join(errs...)
}
