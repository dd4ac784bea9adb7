package apps

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/runas"
	"github.com/sirupsen/logrus"
)

// runDir returns the directory a process of app runs in: the unpacked
// bundle itself, or, when podium runs as root and the RunAs user (cred)
// cannot enter a directory above the bundle (a data directory its
// administrator made 0700, say), a copy of the bundle for this process
// under Options.RuntimeDir. copied says which; the caller removes a copy
// when the process has exited. Without a RuntimeDir the bundle itself is
// returned and the start fails with the reason.
func (s *Supervisor) runDir(app *App, cred *syscall.Credential) (dir string, copied bool, err error) {
	if cred == nil || s.opts.RuntimeDir == "" {
		return app.Dir, false, nil
	}
	blocked := runas.Unsearchable(app.Dir, cred)
	if blocked == "" {
		return app.Dir, false, nil
	}
	if err := mkdirOpen(s.opts.RuntimeDir); err != nil {
		return "", false, fmt.Errorf("copy of the bundle for RunAs: %w", err)
	}
	parent, err := os.MkdirTemp(s.opts.RuntimeDir, app.GUID+"-")
	if err != nil {
		return "", false, fmt.Errorf("copy of the bundle for RunAs: %w", err)
	}
	dir = filepath.Join(parent, "bundle")
	if err := os.Chmod(parent, 0o755); err != nil {
		_ = os.RemoveAll(parent)
		return "", false, fmt.Errorf("copy of the bundle for RunAs: %w", err)
	}
	if err := bundle.CopyTree(app.Dir, dir, true); err != nil {
		_ = os.RemoveAll(parent)
		return "", false, fmt.Errorf("copy of the bundle for RunAs: %w", err)
	}
	if b := runas.Unsearchable(dir, cred); b != "" {
		_ = os.RemoveAll(parent)
		return "", false, fmt.Errorf("[Applications] RunAs %q can enter neither %s (the bundle) nor %s (its copy): give it search permission on them (for example chmod o+x %s)",
			s.opts.RunAs, blocked, b, blocked)
	}
	s.log.WithFields(logrus.Fields{"guid": app.GUID, "bundle": app.BundleID, "run_as": s.opts.RunAs, "blocked": blocked, "copy": dir}).
		Warn("[Applications] RunAs cannot enter the data directory: running the app from a copy of its bundle; " +
			"give RunAs search permission on the blocked directory (chmod o+x) to run apps in place")
	return dir, true, nil
}

// removeRunDir removes a process's copy of its bundle (the per-process
// directory that holds it).
func removeRunDir(dir string) { _ = os.RemoveAll(filepath.Dir(dir)) }

// mkdirOpen creates dir, if needed, as a directory anyone may enter and
// list (0755, whatever the umask).
func mkdirOpen(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.Chmod(dir, 0o755)
}
