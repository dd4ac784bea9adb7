package runtimes

import (
	"context"
	"syscall"
	"testing"

	"github.com/podiumhq/podium/internal/sandbox"
)

// TestBuildBoxLimits: an environment build made for a content item runs
// under that item's own limits (publish puts them in the context), and
// under the node's defaults (zero) otherwise.
func TestBuildBoxLimits(t *testing.T) {
	m := &Manager{}
	l := sandbox.Limits{Memory: 64 << 20, Processes: 8, OpenFiles: 100, CPUShares: 256}
	cred := &syscall.Credential{Uid: 65534, Gid: 65534}
	box := m.buildBox(sandbox.WithLimits(context.Background(), l), cred, "")
	if box.Limits != l || box.Name != "build-65534" || box.Cred != cred {
		t.Errorf("buildBox with the content's limits = %+v, want limits %+v as build-65534", box, l)
	}
	if box := m.buildBox(context.Background(), nil, ""); box.Limits != (sandbox.Limits{}) {
		t.Errorf("buildBox without limits = %+v, want the defaults (zero)", box.Limits)
	}
}
