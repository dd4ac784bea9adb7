package runtimes

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
)

// EvictionInterval is how often a node looks for environments to evict.
const EvictionInterval = 10 * time.Minute

// BundleSpec is a live bundle's unpacked directory and the Python
// runtime its manifest asks for.
type BundleSpec struct {
	Dir  string
	Spec *Spec
}

// Evictor removes, every EvictionInterval, the cached environments that
// no live bundle uses and that are past [Python] EnvironmentRetention or
// over EnvironmentMaxSize.
type Evictor struct {
	startstop.Base
	m    *Manager
	live func(ctx context.Context) ([]BundleSpec, error)
	now  func() time.Time
	log  logrus.FieldLogger
}

// NewEvictor returns the eviction service of m. live lists the live
// Python bundles (publish knows them); now is the node's clock.
func NewEvictor(m *Manager, live func(ctx context.Context) ([]BundleSpec, error), now func() time.Time, log logrus.FieldLogger) *Evictor {
	return &Evictor{m: m, live: live, now: now, log: log}
}

// Name names the service in logs.
func (e *Evictor) Name() string { return "runtimes" }

// Start evicts a minute after the start and then every EvictionInterval,
// until Stop.
func (e *Evictor) Start(ctx context.Context) error {
	return e.Go(ctx, func(ctx context.Context) {
		t := time.NewTimer(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if inUse, err := e.InUse(ctx); err != nil {
				e.log.WithError(err).Warn("cannot list the environments in use: nothing evicted")
			} else {
				e.m.Evict(ctx, inUse, e.now())
			}
			t.Reset(EvictionInterval)
		}
	})
}

// InUse returns the environment keys of every live Python bundle.
func (e *Evictor) InUse(ctx context.Context) (map[string]bool, error) {
	list, err := e.live(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, b := range list {
		if key, _, _, err := e.m.Key(b.Spec, b.Dir); err == nil {
			keys[key] = true
		}
	}
	return keys, nil
}
