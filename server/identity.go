package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
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

// stateLock is a node's hold on its state directory.
type stateLock struct{ f *os.File }

// lockStateDir takes the state directory of cfg for this process, or
// refuses (EREFUSED) naming the process that holds it and the way out.
func lockStateDir(cfg *config.Config, hostname string) (*stateLock, error) {
	dir := cfg.Server.StateDir
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
				dir, holder, stateDirWayOut(cfg, hostname))
		}
		return nil, podium.Errorf(podium.EINVALID, "[Server] StateDir %s: lock %s: %w", dir, path, err)
	}
	info := fmt.Sprintf("host=%s pid=%d state_dir=%q since=%s\n", hostname, os.Getpid(), dir, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &stateLock{f: f}, nil
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
func stateDirWayOut(cfg *config.Config, hostname string) string {
	why := "Every node needs its own state directory: its node id is kept there, and two live nodes with one id count as one, " +
		"so a rolling upgrade would stop the other node instead of waiting for it."
	if cfg.Server.StateDir == filepath.Join(cfg.Server.DataDir, "state", hostname) {
		return why + " Nodes on one host that share [Server] DataDir must each set their own [Server] StateDir: the default, " +
			"{DataDir}/state/{hostname}, is the same for both. Set for example StateDir = /var/lib/podium-node2 in this node's " +
			"configuration file, or PODIUM_SERVER_STATEDIR=/var/lib/podium-node2 in its environment (docs/upgrading.md, " +
			"\"State directories on a shared host\")."
	}
	return why + " Give this node another [Server] StateDir (or PODIUM_SERVER_STATEDIR), or stop the other node first."
}

func (l *stateLock) release() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// checkIdentity refuses (EREFUSED) to start when another live process
// holds this node's id in the registry: a registration of the id, not
// stopped, from another host (or another live process of this host) whose
// heartbeat advances. A registration whose heartbeat stopped (a node that
// crashed, or moved host) is taken over. It runs before the schema is
// migrated, since migrating counts the other live nodes by id.
func checkIdentity(ctx context.Context, db dbprovider.Provider, cfg *config.Config, nodeID, hostname string, log *logrus.Entry) error {
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
	timeout := cfg.HA.NodeTimeout
	if now.Sub(other.HeartbeatAt) > timeout {
		return nil
	}
	// A fresh heartbeat: a live node, or one that died a moment ago. Its
	// next heartbeat tells.
	interval := cfg.HA.HeartbeatInterval
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
				nodeID, cur.Hostname, cur.PID, stateDir, cur.HeartbeatAt.Format(time.RFC3339), stateDirWayOut(cfg, hostname), timeout)
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
