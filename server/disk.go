package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/podiumhq/podium/publish"
)

// diskWatch measures the free space of the data directory every
// heartbeat interval: below [Server] MinFreeSpace the node warns in its
// log (once, and once again when space is back), in /__ping__ and, through
// its info document, in podium ha check. The figures also go into the 507
// answer of a write that found the directory full.
type diskWatch struct {
	startstop.Base
	node  *Node
	mu    sync.Mutex
	last  hacheck.Disk
	low   atomic.Bool
	every time.Duration
	// sampled signals each periodic sample (tests).
	sampled testsignal.Signal[hacheck.Disk]
}

// mountDiskWatch takes the first sample of the data directory's free space,
// adds its warning to /__ping__ and its figures to the node's info, and
// returns the watcher (a service that samples every heartbeat interval).
func mountDiskWatch(n *Node) *diskWatch {
	d := &diskWatch{node: n, every: n.Config.HA.HeartbeatInterval}
	d.sample()
	n.diskWatch = d
	n.AddWarnings(d.warnings)
	n.AddInfo(func() map[string]any { return map[string]any{hacheck.DiskInfoKey: d.current().Map()} })
	return d
}

func (d *diskWatch) Name() string { return "disk watch" }

// Start samples every d.every (mountDiskWatch took the first), until
// Stop.
func (d *diskWatch) Start(ctx context.Context) error {
	return d.Go(ctx, func(ctx context.Context) {
		t := time.NewTicker(d.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.sampled.Signal(d.sample())
			}
		}
	})
}

// statDisk measures the filesystem of dir.
func statDisk(dir string) hacheck.Disk {
	free, total, err := publish.DiskSpace(dir)
	if err != nil {
		return hacheck.Disk{Error: err.Error()}
	}
	return hacheck.Disk{Free: free, Total: total}
}

// sample measures the data directory now and logs a change of state.
func (d *diskWatch) sample() hacheck.Disk {
	n := d.node
	cur := statDisk(n.Config.Server.DataDir)
	cur.MinFree = n.Config.Server.MinFreeSpace
	d.mu.Lock()
	d.last = cur
	d.mu.Unlock()
	if cur.Error != "" {
		return cur
	}
	low := cur.MinFree > 0 && cur.Free < cur.MinFree
	log := n.log("disk")
	if low && !d.low.Swap(true) {
		log.WithField("free_bytes", cur.Free).Warn(d.lowMessage(cur))
	} else if !low && d.low.Swap(false) {
		log.WithField("free_bytes", cur.Free).Info(fmt.Sprintf("the data directory has %s free again", podium.FormatBytes(cur.Free)))
	}
	return cur
}

func (d *diskWatch) current() hacheck.Disk {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func (d *diskWatch) lowMessage(cur hacheck.Disk) string {
	return fmt.Sprintf("the data directory has %s free of %s, under [Server] MinFreeSpace (%s): uploads and deployments fail when it is full; free space or grow it",
		podium.FormatBytes(cur.Free), podium.FormatBytes(cur.Total), podium.FormatBytes(cur.MinFree))
}

// warnings is the /__ping__ warning while free space is low.
func (d *diskWatch) warnings() []string {
	cur := d.current()
	switch {
	case cur.Error != "":
		return []string{"cannot measure the free space of the data directory: " + cur.Error}
	case cur.MinFree > 0 && cur.Free < cur.MinFree:
		return []string{d.lowMessage(cur)}
	}
	return nil
}

// noSpace is the message of the 507 answer to a write that found the
// data directory full; it measures again, so the log warns at once.
func (d *diskWatch) noSpace() string {
	d.sample()
	return publish.NoSpaceMessage(d.node.Config.Server.DataDir)
}
