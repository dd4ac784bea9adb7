package nodeidentity

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// TestLockStateDir: a second hold on a held state directory is refused
// naming the holder (its pid) and the way out for nodes that share a data
// directory on one host; once released it can be taken again.
func TestLockStateDir(t *testing.T) {
	data := t.TempDir()
	d := Dirs{DataDir: data, StateDir: filepath.Join(data, "state", "h1")}
	l, err := LockStateDir(d, "h1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockStateDir(d, "h1")
	msg := podium.ErrorMessage(err)
	if !podium.IsCode(err, podium.EREFUSED) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, "PODIUM_SERVER_STATEDIR") {
		t.Fatalf("second hold: %v, want EREFUSED naming this pid and the way out", err)
	}
	l.Release()
	l2, err := LockStateDir(d, "h1")
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
	(*StateLock)(nil).Release()
}

// TestLoadNodeID: the first start makes an id and keeps it in the state
// directory, later starts read the same; a file that holds no id is
// refused rather than replaced.
func TestLoadNodeID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	id, err := LoadNodeID(dir)
	if err != nil || !nodeIDPattern.MatchString(id) {
		t.Fatalf("first id %q, %v", id, err)
	}
	if again, err := LoadNodeID(dir); err != nil || again != id {
		t.Fatalf("second read %q, %v; want %q", again, err, id)
	}
	if err := os.WriteFile(StateFile(dir), []byte("Not An Id!\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNodeID(dir); !podium.IsCode(err, podium.EINVALID) {
		t.Fatalf("a file without an id: %v, want EINVALID", err)
	}
}

// registry is a node registry of one registration whose heartbeat moves
// on by beat at every read after the first (0: it stays).
type registry struct {
	mu    sync.Mutex
	ha    bool
	node  *podium.Node // nil: not registered
	now   time.Time
	beat  time.Duration
	reads int
}

func (r *registry) SupportsHA() bool                             { return r.ha }
func (r *registry) SchemaVersion(context.Context) (int64, error) { return 90, nil }
func (r *registry) Now(context.Context) (time.Time, error)       { return r.now, nil }
func (r *registry) NodeGet(_ context.Context, id string) (*podium.Node, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	if r.node == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "node %s not found", id)
	}
	n := *r.node
	if r.reads > 1 {
		n.HeartbeatAt = n.HeartbeatAt.Add(r.beat)
	}
	return &n, nil
}

// TestCheck: a node takes its id over unless another live process
// holds it: a registration whose heartbeat advances while it watches.
func TestCheck(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	opts := CheckOptions{NodeID: "n1", Hostname: "h1", Dirs: Dirs{StateDir: "/s", DataDir: "/d"},
		NodeTimeout: 30 * time.Second, HeartbeatInterval: 10 * time.Millisecond, Log: logrus.NewEntry(log)}
	node := func(status, host string, pid int, age time.Duration) *podium.Node {
		return &podium.Node{ID: "n1", Status: status, Hostname: host, PID: pid, HeartbeatAt: now.Add(-age),
			Info: map[string]any{"state_dir": "/other/state"}}
	}
	for _, tc := range []struct {
		name    string
		reg     *registry
		refused bool
	}{
		{"SingleNodeDatabase", &registry{node: node(podium.NodeServing, "h2", 1, 0), beat: time.Second}, false},
		{"NotRegistered", &registry{ha: true}, false},
		{"Stopped", &registry{ha: true, node: node(podium.NodeStopped, "h2", 1, 0), beat: time.Second}, false},
		{"HeartbeatStale", &registry{ha: true, node: node(podium.NodeServing, "h2", 1, time.Minute), beat: time.Second}, false},
		{"SameHostProcessGone", &registry{ha: true, node: node(podium.NodeServing, "h1", dead.Process.Pid, 0), beat: time.Second}, false},
		{"HeartbeatStopsWhileWatched", &registry{ha: true, node: node(podium.NodeServing, "h2", 1, 0)}, false},
		{"LiveElsewhere", &registry{ha: true, node: node(podium.NodeServing, "h2", 1, 0), beat: time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.reg.now = now
			err := Check(context.Background(), tc.reg, opts)
			if !tc.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			msg := podium.ErrorMessage(err)
			if !podium.IsCode(err, podium.EREFUSED) || !strings.Contains(msg, "host h2, pid 1, state directory /other/state") {
				t.Fatalf("%v, want EREFUSED naming the live node", err)
			}
		})
	}
}
