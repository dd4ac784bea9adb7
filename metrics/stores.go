package metrics

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// NodeRegistry finds a node in the registry (dbprovider.Provider does).
type NodeRegistry interface {
	NodeGet(ctx context.Context, id string) (*podium.Node, error)
}

// NodeStores finds the metrics store of a node (Stores does; the
// dashboard's node page reads through it).
type NodeStores interface {
	// Of returns the store of node id; nil when its metrics are kept on
	// its own machine, or the node is unknown.
	Of(ctx context.Context, id string) *Store
}

var _ NodeStores = Stores{}

// Stores finds the metrics store of a node: this node's own, or another
// node's when its DataPath (published in the registry) is readable from
// here (nodes on one machine).
type Stores struct {
	// NodeID is this node's id, Own its store.
	NodeID string
	Own    *Store
	// Nodes is the node registry, Now the clock of the stores opened.
	Nodes NodeRegistry
	Now   func() time.Time
}

// Of returns the metrics store of node id; nil when its metrics are kept
// on its own machine, or the node is unknown.
func (s Stores) Of(ctx context.Context, id string) *Store {
	if id == s.NodeID {
		return s.Own
	}
	other, err := s.Nodes.NodeGet(ctx, id)
	if err != nil {
		return nil
	}
	return OpenNodeStore(other.Info, s.Now)
}
