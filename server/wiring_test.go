package server

import (
	"slices"
	"testing"
)

// TestServicesStartInOrder pins the start order build states (stop order
// is its reverse): the scheduler after publishing, so it stops first and
// releases its renders before publishing goes away; the heartbeat first,
// so it says "draining" until the end.
func TestServicesStartInOrder(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	var names []string
	for _, s := range n.services {
		names = append(names, s.Name())
	}
	want := []string{"heartbeat", "schema-watcher", "session sweeper", "apps", "metrics", "publish", "scheduler"}
	if !slices.Equal(names, want) {
		t.Fatalf("services in start order: %q, want %q", names, want)
	}
}
