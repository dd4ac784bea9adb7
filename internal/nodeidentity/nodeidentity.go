// Package nodeidentity gives a node its identity and keeps it to one live
// node: the node id kept in its state directory ([Server] StateDir), the
// lock on that directory, and the check of the node registry for another
// live process registered under the same id.
//
// It imports the root package podium, logrus and x/sys only; the registry
// is read through a small interface (a dbprovider.Provider).
package nodeidentity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// One identity per live node. A node's id lives in its state directory
// ([Server] StateDir); two live nodes with one id count as one in the
// registry, so a new node of a rolling upgrade would take itself for
// alone, apply the contract migrations and raise the floor, and the older
// node would exit 3. Two guards refuse the second node (exit 2):
//
//   - on one host, an exclusive flock on {StateDir}/node.lock for the
//     life of the process (the kernel drops it when the process dies, so a
//     crash leaves nothing stale);
//   - across hosts (a state directory shared over NFS, or copied), the
//     registry: a registration of this id from another process whose
//     heartbeat still advances.

// StateLockFile is the lock file of a state directory.
const StateLockFile = "node.lock"

// StateLock is a node's hold on its state directory.
type StateLock struct{ f *os.File }

// Dirs are a node's directories: [Server] StateDir and DataDir.
type Dirs struct{ StateDir, DataDir string }

// LockStateDir takes the state directory of d for this process, or
// refuses (EREFUSED) naming the process that holds it and the way out.
func LockStateDir(d Dirs, hostname string) (*StateLock, error) {
	dir := d.StateDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, podium.Errorf(podium.EINVALID, "[Server] StateDir %s: cannot create: %w", dir, err)
	}
	path := filepath.Join(dir, StateLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "[Server] StateDir %s: %w", dir, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readStateHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, podium.Errorf(podium.EREFUSED, "[Server] StateDir %s is held by a live node: %s. %s",
				dir, holder, stateDirWayOut(d, hostname))
		}
		return nil, podium.Errorf(podium.EINVALID, "[Server] StateDir %s: lock %s: %w", dir, path, err)
	}
	info := fmt.Sprintf("host=%s pid=%d state_dir=%q since=%s\n", hostname, os.Getpid(), dir, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &StateLock{f: f}, nil
}

// readStateHolder names the holder recorded in the lock file.
func readStateHolder(f *os.File) string {
	b := make([]byte, 1024)
	n, _ := f.ReadAt(b, 0)
	fields := map[string]string{}
	for _, kv := range strings.Fields(string(b[:n])) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			fields[k] = v
		}
	}
	if q, err := strconv.Unquote(fields["state_dir"]); err == nil {
		fields["state_dir"] = q
	}
	if fields["pid"] == "" {
		return "another process"
	}
	return fmt.Sprintf("host %s, pid %s, state directory %s, since %s", fields["host"], fields["pid"], fields["state_dir"], fields["since"])
}

// stateDirWayOut says why one state directory per node, and what to set.
func stateDirWayOut(d Dirs, hostname string) string {
	why := "Every node needs its own state directory: its node id is kept there, and two live nodes with one id count as one, " +
		"so a rolling upgrade would stop the other node instead of waiting for it."
	if d.StateDir == filepath.Join(d.DataDir, "state", hostname) {
		return why + " Nodes on one host that share [Server] DataDir must each set their own [Server] StateDir: the default, " +
			"{DataDir}/state/{hostname}, is the same for both. Set for example StateDir = /var/lib/podium-node2 in this node's " +
			"configuration file, or PODIUM_SERVER_STATEDIR=/var/lib/podium-node2 in its environment (docs/upgrading.md, " +
			"\"State directories on a shared host\")."
	}
	return why + " Give this node another [Server] StateDir (or PODIUM_SERVER_STATEDIR), or stop the other node first."
}

// Release gives the state directory up (a nil lock does nothing).
func (l *StateLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// Registry is what Check reads of the node registry (a
// dbprovider.Provider).
type Registry interface {
	// SupportsHA reports whether several nodes may share the database.
	SupportsHA() bool
	// SchemaVersion returns the database's schema version (0: new).
	SchemaVersion(ctx context.Context) (int64, error)
	// NodeGet returns a node's registration. Returns ENOTFOUND.
	NodeGet(ctx context.Context, id string) (*podium.Node, error)
	// Now returns the database's clock.
	Now(ctx context.Context) (time.Time, error)
}

// CheckOptions are what Check needs besides the registry.
type CheckOptions struct {
	NodeID, Hostname string
	Dirs             Dirs
	// NodeTimeout and HeartbeatInterval are [HA]'s.
	NodeTimeout, HeartbeatInterval time.Duration
	Log                            *logrus.Entry
}

// Check refuses (EREFUSED) to start when another live process
// holds this node's id in the registry: a registration of the id, not
// stopped, from another host (or another live process of this host) whose
// heartbeat advances. A registration whose heartbeat stopped (a node that
// crashed, or moved host) is taken over. It runs before the schema is
// migrated, since migrating counts the other live nodes by id.
func Check(ctx context.Context, db Registry, o CheckOptions) error {
	nodeID, hostname, log := o.NodeID, o.Hostname, o.Log
	if !db.SupportsHA() {
		return nil // SQLite: the database lock already makes it one node
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v == 0 {
		return err // a new database has no registry yet
	}
	other, err := db.NodeGet(ctx, nodeID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("node identity: %w", err)
	}
	if other.Status == podium.NodeStopped {
		return nil
	}
	if other.Hostname == hostname && other.PID != os.Getpid() && !processAlive(other.PID) {
		return nil // this host's node of that id is gone (and the state lock is ours)
	}
	now, err := db.Now(ctx)
	if err != nil {
		return fmt.Errorf("node identity: %w", err)
	}
	timeout := o.NodeTimeout
	if now.Sub(other.HeartbeatAt) > timeout {
		return nil
	}
	// A fresh heartbeat: a live node, or one that died a moment ago. Its
	// next heartbeat tells.
	interval := o.HeartbeatInterval
	deadline := time.Now().Add(2*interval + time.Second)
	log.WithFields(map[string]any{"host": other.Hostname, "pid": other.PID,
		"last_heartbeat": other.HeartbeatAt.Format(time.RFC3339)}).
		Warn("this node's id is registered as live by another process: waiting for its next heartbeat to know whether it still runs")
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(interval/4+10*time.Millisecond, time.Second)):
		}
		cur, err := db.NodeGet(ctx, nodeID)
		if err != nil {
			return fmt.Errorf("node identity: %w", err)
		}
		if cur.Status == podium.NodeStopped {
			return nil
		}
		if cur.HeartbeatAt.After(other.HeartbeatAt) {
			stateDir, _ := cur.Info["state_dir"].(string)
			if stateDir == "" {
				stateDir = "(not recorded)"
			}
			return podium.Errorf(podium.EREFUSED, "node id %s is held by a live node: host %s, pid %d, state directory %s, "+
				"last heartbeat %s. %s If that node is really gone, wait [HA] NodeTimeout (%s) after its last heartbeat.",
				nodeID, cur.Hostname, cur.PID, stateDir, cur.HeartbeatAt.Format(time.RFC3339), stateDirWayOut(o.Dirs, hostname), timeout)
		}
	}
	return nil
}

// processAlive reports whether a process with pid runs on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)

// StateFile returns the path of the node id file of a state directory.
func StateFile(stateDir string) string { return filepath.Join(stateDir, "node-id") }

// LoadNodeID returns the node's stable id from its state dir, creating one
// on first start. The id outlives restarts, so the registry keeps one row
// per node rather than one per process.
func LoadNodeID(stateDir string) (string, error) {
	path := StateFile(stateDir)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if !nodeIDPattern.MatchString(id) {
			return "", podium.Errorf(podium.EINVALID, "node id file %s holds %q, which is not a node id: remove it to make a new one", path, id)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot read %s: %w", path, err)
	}
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir %s: cannot create: %w", stateDir, err)
	}
	host, _ := os.Hostname()
	host = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9-]+`).ReplaceAllString(host, "-"))
	if len(host) > 40 {
		host = host[:40]
	}
	host = strings.Trim(host, "-")
	if host == "" {
		host = "node"
	}
	r := make([]byte, 4)
	_, _ = rand.Read(r)
	id := host + "-" + hex.EncodeToString(r)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o640); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot write %s: %w", path, err)
	}
	return id, nil
}
