package server

import (
	"context"
	"path/filepath"

	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
)

// pythonRuntimes returns the node's Python runtimes, probing the
// [Python] Executable interpreters on first use (the apps and publish
// mounts both need it). A path that does not answer like a Python 3 stops
// the node: it is a configuration error.
func (n *Node) pythonRuntimes() (*runtimes.Manager, error) {
	if n.runtimes != nil {
		return n.runtimes, nil
	}
	cfg := n.Config.Python
	ctx, cancel := context.WithTimeout(context.Background(), 2*runtimes.ProbeTimeout)
	defer cancel()
	m, err := runtimes.New(ctx, runtimes.Config{
		Executables: cfg.Executable, PackageIndex: cfg.PackageIndex, ExtraIndex: cfg.ExtraIndex,
		FindLinks: cfg.FindLinks, NoIndex: cfg.NoIndex, SystemSitePackages: cfg.SystemSitePackages,
		Retention: cfg.EnvironmentRetention, MaxSize: cfg.EnvironmentMaxSize,
		Root:   filepath.Join(n.Config.Server.DataDir, "runtimes", "python"),
		NodeID: n.id,
	}, n.log("runtimes"))
	if err != nil {
		return nil, err
	}
	n.runtimes = m
	return m, nil
}

// PythonRuntimes returns the node's Python runtimes (after Open).
func (n *Node) PythonRuntimes() *runtimes.Manager { return n.runtimes }

// mountRuntimes probes the Python and R installations this node offers
// ([Python] Executable, [R] Executable: a path that does not answer as
// one stops the node, exit 2) and returns them. Publishing, apps and the
// Connect API's server settings use them; build adds the service that
// evicts unused Python environments (runtimes.Evictor).
func mountRuntimes(n *Node) (*runtimes.Manager, *rlang.Manager, error) {
	rt, err := n.pythonRuntimes()
	if err != nil {
		return nil, nil, err
	}
	rl, err := n.rRuntimes()
	if err != nil {
		return nil, nil, err
	}
	return rt, rl, nil
}
