package server

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/sirupsen/logrus"
)

// newSandbox makes the sandbox every content process of node nodeID runs
// in ([Applications] Sandbox), after the runtimes are probed (their
// installations outside the system directories are shown read-only;
// their environment builds run in it too), and kills what an earlier run
// of this node left in its cgroups. A host that cannot make sandboxes
// gets one that refuses to start content processes, with the reason and
// the way out; the node itself starts. warnings, when not nil, is the
// sandbox's /__ping__ warning (refused, or off).
func newSandbox(conf *config.Config, nodeID string, rt *runtimes.Manager, rl *rlang.Manager, log *logrus.Entry) (sb *sandbox.Sandbox, warnings func() []string) {
	defer func() {
		// Environment builds run in it too.
		if rt != nil {
			rt.SetSandbox(sb)
		}
		if rl != nil {
			rl.SetSandbox(sb)
		}
	}()
	a := conf.Applications
	first, last, _ := a.UIDRange() // validated at load
	cfg := sandbox.Config{
		Off: !a.Sandbox, RunAs: a.RunAs, UIDFirst: first, UIDLast: last, Network: a.SandboxNetwork,
		Limits: sandbox.Limits{Memory: a.SandboxMemoryLimit, Processes: a.SandboxProcessLimit,
			OpenFiles: a.SandboxOpenFileLimit, CPUShares: a.SandboxCPUShares},
		TmpSize: a.SandboxTmpSize, Node: nodeID,
	}
	// Podium's own files never show, even when an administrator put them
	// under a system directory (/etc/podium, /opt/podium/data); the
	// runtimes' installations outside the system directories show
	// read-only (their environment builds and content run there).
	cfg.Hide = sandbox.HiddenDirs(filepath.Dir(conf.Source), conf.Server.DataDir, conf.Server.StateDir, conf.Database.Dir)
	var installs []string
	if rt != nil {
		for _, i := range rt.Interpreters() {
			installs = append(installs, i.Path)
		}
	}
	if rl != nil {
		for _, i := range rl.Installations() {
			installs = append(installs, i.Path)
		}
	}
	cfg.ReadOnly = sandbox.InstallPrefixes(installs)
	sweepScratch(conf.Server.DataDir, log)
	sb, err := sandbox.New(cfg)
	if err != nil {
		log.WithError(err).Error("content processes will not start on this node")
		return sandbox.Refusing(cfg, err), func() []string { return []string{"content sandbox: " + err.Error()} }
	}
	if sb.Off() {
		log.WithField("run_as", a.RunAs).Warn("[Applications] Sandbox = false: content processes run as RunAs without a sandbox; " +
			"one publisher's code can read, reach and starve another's")
		return sb, func() []string {
			return []string{"content sandbox off ([Applications] Sandbox = false): content processes are not isolated from each other"}
		}
	}
	killed, err := sb.Sweep()
	if err != nil {
		log.WithError(err).Warn("cannot sweep the cgroups of an earlier run of this node")
	}
	if killed > 0 {
		log.WithField("processes", killed).Warn("killed content processes an earlier run of this node left behind")
	}
	log.WithFields(logrus.Fields{"uids": a.SandboxUIDRange, "network": sb.Network(), "cgroups": sb.Cgroups(),
		"memory": a.SandboxMemoryLimit, "processes": a.SandboxProcessLimit, "open_files": a.SandboxOpenFileLimit}).Info("content sandbox ready")
	return sb, nil
}

// sweepScratch removes what builds of an earlier run left: the scratch
// of interrupted Python and R builds in the shared caches (never a build
// that runs, on this node or another: see sandbox.SweepBuildScratch), and
// the restore directories older versions of podium made in $TMPDIR
// (podium-rrestore-*) that are more than a day old.
func sweepScratch(dataDir string, log *logrus.Entry) {
	for _, lang := range []string{"python", "r"} {
		removed, err := sandbox.SweepBuildScratch(filepath.Join(dataDir, "runtimes", lang))
		if err != nil {
			log.WithError(err).Warn("cannot sweep the scratch of interrupted environment builds")
		}
		if len(removed) > 0 {
			log.WithField("removed", removed).Info("removed the scratch of interrupted environment builds")
		}
	}
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "podium-rrestore-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}

// sandboxService releases the node's cgroups when the node stops (after
// every service that starts content processes: it stops last).
type sandboxService struct{ sb *sandbox.Sandbox }

func (s sandboxService) Name() string                { return "sandbox" }
func (s sandboxService) Start(context.Context) error { return nil }
func (s sandboxService) Stop(context.Context) error {
	s.sb.Release()
	return nil
}
