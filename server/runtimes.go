package server

import (
	"context"
	"path/filepath"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/sirupsen/logrus"
)

// newRuntimes probes the Python and R installations this node offers
// ([Python] Executable, [R] Executable: a path that does not answer as
// one stops the node, exit 2) and returns them, their caches under
// [Server] DataDir/runtimes. Publishing, apps, the sandbox and the
// Connect API's server settings use them; build adds the service that
// evicts unused Python environments (runtimes.Evictor).
func newRuntimes(cfg *config.Config, nodeID string, pyLog, rLog *logrus.Entry) (*runtimes.Manager, *rlang.Manager, error) {
	py := cfg.Python
	ctx, cancel := context.WithTimeout(context.Background(), 2*runtimes.ProbeTimeout)
	defer cancel()
	rt, err := runtimes.New(ctx, runtimes.Config{
		Executables: py.Executable, PackageIndex: py.PackageIndex, ExtraIndex: py.ExtraIndex,
		FindLinks: py.FindLinks, NoIndex: py.NoIndex, SystemSitePackages: py.SystemSitePackages,
		Retention: py.EnvironmentRetention, MaxSize: py.EnvironmentMaxSize,
		Root:   filepath.Join(cfg.Server.DataDir, "runtimes", "python"),
		NodeID: nodeID,
	}, pyLog)
	if err != nil {
		return nil, nil, err
	}
	rctx, rcancel := context.WithTimeout(context.Background(), rlang.ProbeTimeout)
	defer rcancel()
	rl, err := rlang.New(rctx, rlang.Config{
		Executables: cfg.R.Executable, Repository: cfg.R.Repository,
		Root:   filepath.Join(cfg.Server.DataDir, "runtimes", "r"),
		NodeID: nodeID,
	}, rLog)
	if err != nil {
		return nil, nil, err
	}
	return rt, rl, nil
}

// PythonRuntimes returns the node's Python runtimes (after Open).
func (n *Node) PythonRuntimes() *runtimes.Manager { return n.runtimes }

// RRuntimes returns the node's R runtimes (after Open).
func (n *Node) RRuntimes() *rlang.Manager { return n.rlang }
