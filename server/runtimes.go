package server

import (
	"context"
	"path/filepath"
	"strconv"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/sirupsen/logrus"
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
// one stops the node, exit 2) and returns them, with the service that
// evicts unused Python environments from the shared cache. Publishing,
// apps and the Connect API's server settings use them.
func mountRuntimes(n *Node) (*runtimes.Manager, *rlang.Manager, Service, error) {
	rt, err := n.pythonRuntimes()
	if err != nil {
		return nil, nil, nil, err
	}
	rl, err := n.rRuntimes()
	if err != nil {
		return nil, nil, nil, err
	}
	return rt, rl, &envEviction{rt: rt, db: n.db, dataDir: n.Config.Server.DataDir, log: n.log("runtimes"), now: n.Now}, nil
}

// EvictionInterval is how often a node looks for environments to evict.
const EvictionInterval = 10 * time.Minute

// envEviction removes, every EvictionInterval, the cached environments
// that no live bundle uses and that are past [Python]
// EnvironmentRetention or over EnvironmentMaxSize.
type envEviction struct {
	startstop.Base
	rt      *runtimes.Manager
	db      dbprovider.Provider
	dataDir string
	log     *logrus.Entry
	now     func() time.Time
}

func (e *envEviction) Name() string { return "runtimes" }

// Start evicts a minute after the start and then every EvictionInterval,
// until Stop.
func (e *envEviction) Start(ctx context.Context) error {
	return e.Go(ctx, func(ctx context.Context) {
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if inUse, err := e.inUse(ctx); err != nil {
				e.log.WithError(err).Warn("cannot list the environments in use: nothing evicted")
			} else {
				e.rt.Evict(ctx, inUse, e.now())
			}
			t.Reset(EvictionInterval)
		}
	})
}

// inUse returns the environment keys of every live Python bundle.
func (e *envEviction) inUse(ctx context.Context) (map[string]bool, error) {
	list, err := e.db.ContentList(ctx, &dbprovider.ContentListParams{All: true})
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, c := range list {
		if c.ActiveBundleID == nil || !runtimes.IsPython(c.AppMode) {
			continue
		}
		dir := filepath.Join(e.dataDir, "content", c.GUID, "bundles", strconv.FormatInt(*c.ActiveBundleID, 10))
		m, err := bundle.LoadManifest(dir)
		if err != nil {
			return nil, podium.Errorf(podium.EINTERNAL, "content %s: %v", c.GUID, err)
		}
		if spec := m.RuntimeSpec(); spec != nil {
			if key, _, _, err := e.rt.Key(spec, dir); err == nil {
				keys[key] = true
			}
		}
	}
	return keys, nil
}
