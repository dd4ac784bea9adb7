package hacheck

import (
	"context"

	"github.com/podiumhq/podium/dbprovider"
)

// Checker runs the checklist against a cluster with fixed Options: what
// the dashboard's cluster page holds (NewChecker gives one; its tests give
// a fake).
type Checker interface {
	// Check runs the checklist (see Run).
	Check(ctx context.Context) ([]Result, error)
}

// NewChecker returns the Checker of the cluster on db: each Check is
// Run(ctx, db, opts).
func NewChecker(db dbprovider.Provider, opts Options) Checker {
	return clusterChecker{db: db, opts: opts}
}

type clusterChecker struct {
	db   dbprovider.Provider
	opts Options
}

func (c clusterChecker) Check(ctx context.Context) ([]Result, error) { return Run(ctx, c.db, c.opts) }

// CheckerFunc is a function as a Checker.
type CheckerFunc func(ctx context.Context) ([]Result, error)

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context) ([]Result, error) { return f(ctx) }
