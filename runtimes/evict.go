package runtimes

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// InFlightGrace protects an environment used this recently from the size
// cap: a deployment that has just reused it may not be live yet.
const InFlightGrace = 10 * time.Minute

type cached struct {
	key      string
	dir      string
	lastUsed time.Time
	size     int64
}

// Evict removes from the cache the environments that no live bundle uses
// (inUse holds the keys of those that are used): first those unused for
// longer than Retention, then, while the cache is over MaxSize, the least
// recently used of the others not used within InFlightGrace. An
// environment whose lock is held (being built, or checked by a deployment)
// is skipped. It also removes what crashed builds and removals left.
// It returns the keys removed.
func (m *Manager) Evict(ctx context.Context, inUse map[string]bool, now time.Time) []string {
	entries, err := os.ReadDir(m.cfg.Root)
	if err != nil {
		return nil
	}
	var envs []cached
	var total int64
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".trash-"):
			_ = os.RemoveAll(filepath.Join(m.cfg.Root, name))
		case strings.HasPrefix(name, ".build-"):
			// .build-<key>-<rand>: stale when nobody holds <key>'s lock.
			key := strings.TrimPrefix(name, ".build-")
			if i := strings.LastIndexByte(key, '-'); i > 0 {
				key = key[:i]
			}
			m.withTryLock(key, func() { _ = os.RemoveAll(filepath.Join(m.cfg.Root, name)) })
		case e.IsDir() && !strings.HasPrefix(name, "."):
			dir := filepath.Join(m.cfg.Root, name)
			fi, err := os.Stat(filepath.Join(dir, recordName))
			if err != nil {
				continue
			}
			c := cached{key: name, dir: dir, lastUsed: fi.ModTime(), size: dirSize(dir)}
			total += c.size
			envs = append(envs, c)
		}
	}
	slices.SortFunc(envs, func(a, b cached) int { return a.lastUsed.Compare(b.lastUsed) })
	var removed []string
	remove := func(c cached, why string) bool {
		ok := false
		m.withTryLock(c.key, func() {
			// Used since the listing (a deployment reusing it): keep it.
			if fi, err := os.Stat(filepath.Join(c.dir, recordName)); err != nil || !fi.ModTime().Equal(c.lastUsed) {
				return
			}
			trash := filepath.Join(m.cfg.Root, ".trash-"+c.key+"-"+randomHex(4))
			if os.Rename(c.dir, trash) == nil {
				_ = os.RemoveAll(trash)
				ok = true
			}
		})
		if ok {
			removed = append(removed, c.key)
			total -= c.size
			m.log.WithFields(logrus.Fields{"key": c.key, "last_used": c.lastUsed, "bytes": c.size, "why": why}).Info("python environment removed")
		}
		return ok
	}
	var kept []cached
	for _, c := range envs {
		if ctx.Err() != nil {
			return removed
		}
		if !inUse[c.key] && m.cfg.Retention > 0 && now.Sub(c.lastUsed) > m.cfg.Retention {
			if remove(c, "unused for longer than [Python] EnvironmentRetention") {
				continue
			}
		}
		kept = append(kept, c)
	}
	for _, c := range kept {
		if m.cfg.MaxSize <= 0 || total <= m.cfg.MaxSize {
			break
		}
		if inUse[c.key] || now.Sub(c.lastUsed) < InFlightGrace {
			continue
		}
		remove(c, "the cache is larger than [Python] EnvironmentMaxSize")
	}
	return removed
}

// withTryLock runs f holding key's lock, or not at all when another holds
// it.
func (m *Manager) withTryLock(key string, f func()) {
	fh, err := os.OpenFile(filepath.Join(m.cfg.Root, key+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer fh.Close()
	if syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return
	}
	defer func() { _ = syscall.Flock(int(fh.Fd()), syscall.LOCK_UN) }()
	f()
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
