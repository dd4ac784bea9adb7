// Package dbopen opens the database a configuration names: the one place
// that chooses the dialect ([Database] Provider) and builds its provider.
// A node (package server) and the administrative commands (package cli)
// both open their database here, so that cli need not import the node.
//
// It imports config and the two provider packages; nothing of the module
// above dbprovider.
package dbopen

import (
	"context"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// Open opens the database of cfg. exclusive takes the SQLite lock (serve
// and the other commands that need the database to themselves); purpose
// names the command in the lock file and, without nodeID, in PostgreSQL's
// application_name ("podium/<nodeID>" for a node), so pg_stat_activity
// shows who holds what.
func Open(ctx context.Context, cfg *config.Config, nodeID, purpose string, exclusive bool) (dbprovider.Provider, error) {
	switch cfg.Database.Provider {
	case config.ProviderPostgres:
		url, err := cfg.PostgresURL()
		if err != nil {
			return nil, err
		}
		app := "podium"
		if nodeID != "" {
			app = "podium/" + nodeID
		} else if purpose != "" {
			app = "podium " + purpose
		}
		p, err := postgres.Open(ctx, postgres.Options{URL: url, MaxConns: cfg.Postgres.MaxConns, ApplicationName: app})
		if err != nil {
			// Not p: a nil *postgres.Provider in the interface is not nil.
			return nil, err
		}
		return p, nil
	default:
		p, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.Database.Dir, Exclusive: exclusive, Purpose: purpose})
		if err != nil {
			// Not p: a nil *sqlite.Provider in the interface is not nil, and
			// the caller would call Close on it (a refused second node
			// panicked instead of exiting 2).
			return nil, err
		}
		return p, nil
	}
}
