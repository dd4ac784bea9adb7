package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// registry is a NodeRegistry of the given nodes.
type registry map[string]*podium.Node

func (r registry) NodeGet(_ context.Context, id string) (*podium.Node, error) {
	if n, ok := r[id]; ok {
		return n, nil
	}
	return nil, podium.Errorf(podium.ENOTFOUND, "node %s not found", id)
}

// TestStoresOf: a node's own store is its own; another node's is opened
// from the DataPath it published when readable here (one machine); a
// node on another machine, or unknown, has none.
func TestStoresOf(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute)
	clock := func() time.Time { return now }
	own, err := OpenStore(t.TempDir(), DefaultArchives(10*time.Second), clock)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	other, err := OpenStore(dir, DefaultArchives(10*time.Second), clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Write(now.Add(-time.Minute), map[string]float64{SeriesLoad1: 0.25}); err != nil {
		t.Fatal(err)
	}
	s := Stores{NodeID: "self", Own: own, Now: clock, Nodes: registry{
		"neighbour": {ID: "neighbour", Info: NodeInfo(dir, false, "")},
		"far":       {ID: "far", Info: NodeInfo(t.TempDir()+"/not-here", false, "")},
	}}
	if st := s.Of(ctx, "self"); st != own {
		t.Errorf("Of(self) = %v, want this node's own store", st)
	}
	st := s.Of(ctx, "neighbour")
	if st == nil {
		t.Fatal("the neighbour's store was not opened")
	}
	if pts, err := st.Series(SeriesLoad1, now.Add(-time.Hour), now); err != nil || len(pts) == 0 || pts[len(pts)-1].Value != 0.25 {
		t.Errorf("the neighbour's series: %v %v", pts, err)
	}
	for _, id := range []string{"far", "unknown"} {
		if st := s.Of(ctx, id); st != nil {
			t.Errorf("Of(%s) = a store, want nil", id)
		}
	}
}
