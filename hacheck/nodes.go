package hacheck

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Nodes reads the node registry and the database's clock, by which a
// node's heartbeat is judged live: what the dashboard's cluster and node
// pages hold (a dbprovider.Provider).
type Nodes interface {
	// NodeList returns every registered node.
	NodeList(ctx context.Context) ([]*podium.Node, error)
	// NodeGet returns a node's registration. Returns ENOTFOUND.
	NodeGet(ctx context.Context, id string) (*podium.Node, error)
	// Now returns the database's clock.
	Now(ctx context.Context) (time.Time, error)
}

var _ Nodes = dbprovider.Provider(nil)
