package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
)

// Files of a claimed DataPath.
const (
	ClaimLockFile = "claim.lock"
	ClaimFile     = "claim.json"
)

// ClaimRecord is the content of DataPath/claim.json: who holds the folder.
type ClaimRecord struct {
	NodeID    string    `json:"node_id"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	ClaimedAt time.Time `json:"claimed_at"`
}

// Claim is a node's exclusive hold on its [Metrics] DataPath: an flock on
// claim.lock for the life of the process, plus claim.json naming the node.
type Claim struct {
	// Record is what claim.json says now.
	Record ClaimRecord
	dir    string
	lock   *os.File
}

// LiveFunc reports whether the node of id is live in the registry.
type LiveFunc func(ctx context.Context, id string) (bool, error)

// TakeClaim claims dir for node id on host. Because DataPath may sit on NFS,
// where flock is unreliable, the flock is not the only test: when
// claim.json names another node that isLive says is live, the claim is
// refused too. Returns EREFUSED (exit 2) naming the other node.
func TakeClaim(ctx context.Context, dir, id, host string, now time.Time, isLive LiveFunc) (*Claim, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath %s: cannot create: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ClaimLockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath %s: %w", dir, err)
	}
	prev, prevErr := ReadClaim(dir)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, refused(dir, prev, prevErr)
		}
		return nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath %s: lock: %w", dir, err)
	}
	if prevErr == nil && prev.NodeID != "" && prev.NodeID != id && isLive != nil {
		live, err := isLive(ctx, prev.NodeID)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("metrics claim: %w", err)
		}
		if live {
			f.Close()
			return nil, refused(dir, prev, nil)
		}
	}
	c := &Claim{dir: dir, lock: f, Record: ClaimRecord{NodeID: id, Host: host, PID: os.Getpid(), ClaimedAt: now.UTC()}}
	b, _ := json.MarshalIndent(c.Record, "", "  ")
	tmp := filepath.Join(dir, ClaimFile+".tmp")
	// err, not a new variable: claim.json is the safeguard where flock
	// is not (NFS), so failing to write it must refuse the claim.
	if err = os.WriteFile(tmp, append(b, '\n'), 0o640); err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ClaimFile))
	}
	if err != nil {
		f.Close()
		return nil, podium.Errorf(podium.EINVALID, "[Metrics] DataPath %s: write claim: %w", dir, err)
	}
	return c, nil
}

func refused(dir string, prev ClaimRecord, prevErr error) error {
	who := "another process"
	if prevErr == nil && prev.NodeID != "" {
		who = fmt.Sprintf("node %s (host %s, pid %d, since %s)", prev.NodeID, prev.Host, prev.PID, prev.ClaimedAt.Format(time.RFC3339))
	}
	return podium.Errorf(podium.EREFUSED,
		"[Metrics] DataPath %s is held by %s: every node needs its own metrics folder; set a unique [Metrics] DataPath on this node (the default, {StateDir}/metrics, is unique when StateDir is)",
		dir, who)
}

// ReadClaim reads dir's claim.json.
func ReadClaim(dir string) (ClaimRecord, error) {
	var r ClaimRecord
	b, err := os.ReadFile(filepath.Join(dir, ClaimFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return r, nil
		}
		return r, fmt.Errorf("metrics claim: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("metrics claim: %s: %w", ClaimFile, err)
	}
	return r, nil
}

// Release gives the folder up (claim.json stays, naming the last holder,
// which is no longer live).
func (c *Claim) Release() error {
	if c == nil || c.lock == nil {
		return nil
	}
	err := c.lock.Close()
	c.lock = nil
	return err
}
