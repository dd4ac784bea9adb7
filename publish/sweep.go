package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// scratchPrefix names the per-node render directories in TempDir.
const scratchPrefix = "podium-render-"

// scratchDir returns the node's scratch directory in the shared data
// directory: what is renamed into content/ when whole is built there (the
// same file system, so the rename is atomic).
func (s *Service) scratchDir() string { return filepath.Join(s.dataDir, "scratch", s.nodeID) }

// renderRoot returns the node's directory for render work, on local disk.
func (s *Service) renderRoot() string { return filepath.Join(s.tempDir, scratchPrefix+s.nodeID) }

// scratchPath returns a new, unused path in the node's scratch directory
// for work of kind ("upload", "unpack", "output"), creating the directory.
func (s *Service) scratchPath(kind string) (string, error) {
	dir := s.scratchDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	return filepath.Join(dir, s.run+"-"+kind+"-"+randomHex(8)), nil
}

// renderWorkDir creates the scratch directory of one render. The node's
// render root is 0711: the RunAs user reaches its own work directory
// (chowned to it) without listing the others.
func (s *Service) renderWorkDir() (string, error) {
	root := s.renderRoot()
	if err := os.MkdirAll(root, 0o711); err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	if err := os.Chmod(root, 0o711); err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	return os.MkdirTemp(root, s.run+"-*")
}

// Sweep does one pass of the clean-up after crashes: it fails the
// unfinished tasks and running renders of dead nodes (stopped
// heartbeating for longer than NodeTimeout, stopped, or restarted: an
// earlier run of this node included), removes the scratch an earlier run
// of this node left, and the scratch of nodes that are not live in the
// registry. Start runs it at once and every SweepInterval.
func (s *Service) Sweep(ctx context.Context) {
	p := &dbprovider.OrphanedParams{NodeID: s.nodeID, NodeTimeout: s.nodeTimeout}
	tasks, err := s.db.TaskFailOrphaned(ctx, p)
	for _, t := range tasks {
		s.log.WithFields(map[string]any{"task": t.ID, "task_node": t.NodeID, "reason": t.Reason}).Warn("failed a task whose node is dead")
	}
	if err != nil && ctx.Err() == nil {
		s.logDBError(err, "cannot fail the tasks of dead nodes")
	}
	renders, err := s.db.RenderFailOrphaned(ctx, p)
	if len(renders) > 0 {
		s.log.WithField("renders", renders).Warn("failed renders whose node is dead")
	}
	if err != nil && ctx.Err() == nil {
		s.logDBError(err, "cannot fail the renders of dead nodes")
	}
	s.sweepScratch(ctx)
}

// sweepScratch removes the scratch of earlier runs of this node, and of
// nodes not live in the registry. A node whose liveness cannot be read
// keeps its scratch.
func (s *Service) sweepScratch(ctx context.Context) {
	// This node's own directories: everything not of this run.
	for _, dir := range []string{s.scratchDir(), s.renderRoot()} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), s.run+"-") {
				s.removeScratch(filepath.Join(dir, e.Name()), "left by an earlier run of this node")
			}
		}
	}
	// Other nodes' scratch in the shared data directory. The directories
	// are listed before the registry is read: a node registers before it
	// makes its scratch directory, so every directory listed here belongs
	// to a node the registry already shows (live, unless it is dead).
	entries, err := os.ReadDir(filepath.Join(s.dataDir, "scratch"))
	if err != nil || len(entries) == 0 {
		return
	}
	live, err := s.db.NodeListLive(ctx, s.nodeTimeout)
	if err != nil {
		if ctx.Err() == nil {
			s.logDBError(err, "cannot read the live nodes: scratch of other nodes kept for now")
		}
		return
	}
	isLive := map[string]bool{s.nodeID: true}
	for _, n := range live {
		isLive[n.ID] = true
	}
	for _, e := range entries {
		if !isLive[e.Name()] {
			s.removeScratch(filepath.Join(s.dataDir, "scratch", e.Name()), "left by node "+e.Name()+", which is not live")
		}
	}
	// Render directories in TempDir are this node's alone to sweep (at its
	// restart, above): TempDir is shared with whatever else runs on the
	// host, other Podium installations included, whose nodes this
	// registry does not know.
}

func (s *Service) removeScratch(path, why string) {
	if err := os.RemoveAll(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.WithError(err).WithField("path", path).Warn("cannot remove scratch")
		return
	}
	s.log.WithFields(map[string]any{"path": path, "why": why}).Info("removed scratch")
}

// logDBError logs a failed sweep: at debug level while the database is
// unreachable (the heartbeat reports that, once), else as a warning.
func (s *Service) logDBError(err error, msg string) {
	if podium.IsCode(err, podium.EUNAVAILABLE) {
		s.log.WithError(err).Debug(msg)
		return
	}
	s.log.WithError(err).Warn(msg)
}
