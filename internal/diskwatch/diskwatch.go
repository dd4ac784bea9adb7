// Package diskwatch watches the free space of the node's data directory:
// below [Server] MinFreeSpace the node warns in its log (once, and once
// again when space is back), in /__ping__ and, through its info document,
// in podium ha check. The figures also go into the 507 answer of a write
// that found the directory full.
//
// server builds a Watch with New and wires its Warnings, Info and NoSpace
// into the node; the Watch is a start/stop service sampling every
// heartbeat interval.
package diskwatch

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
	"github.com/sirupsen/logrus"
)

// Options are a Watch's dependencies.
type Options struct {
	// Dir is the directory watched ([Server] DataDir).
	Dir string
	// MinFree is the free space, in bytes, under which the watch warns
	// ([Server] MinFreeSpace); 0 never warns.
	MinFree int64
	// Every is the sampling interval ([HA] HeartbeatInterval).
	Every time.Duration
	// Log receives the low-space warning and the all-clear.
	Log logrus.FieldLogger
}

// Watch samples the free space of a directory.
type Watch struct {
	startstop.Base
	opt  Options
	mu   sync.Mutex
	last hacheck.Disk
	low  atomic.Bool
	// Sampled signals each periodic sample (tests).
	Sampled testsignal.Signal[hacheck.Disk]
}

// New takes the first sample of o.Dir's free space and returns the watch
// (a service that samples every o.Every once started).
func New(o Options) *Watch {
	w := &Watch{opt: o}
	w.sample()
	return w
}

// Name names the service in logs.
func (w *Watch) Name() string { return "disk watch" }

// Start samples every Options.Every (New took the first), until Stop.
func (w *Watch) Start(ctx context.Context) error {
	return w.GoEvery(ctx, w.opt.Every, false, func(context.Context) {
		w.Sampled.Signal(w.sample())
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

// sample measures the directory now and logs a change of state.
func (w *Watch) sample() hacheck.Disk {
	cur := statDisk(w.opt.Dir)
	cur.MinFree = w.opt.MinFree
	w.mu.Lock()
	w.last = cur
	w.mu.Unlock()
	if cur.Error != "" {
		return cur
	}
	low := cur.MinFree > 0 && cur.Free < cur.MinFree
	if low && !w.low.Swap(true) {
		w.opt.Log.WithField("free_bytes", cur.Free).Warn(lowMessage(cur))
	} else if !low && w.low.Swap(false) {
		w.opt.Log.WithField("free_bytes", cur.Free).Info(fmt.Sprintf("the data directory has %s free again", podium.FormatBytes(cur.Free)))
	}
	return cur
}

// Current is the last sample.
func (w *Watch) Current() hacheck.Disk {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func lowMessage(cur hacheck.Disk) string {
	return fmt.Sprintf("the data directory has %s free of %s, under [Server] MinFreeSpace (%s): uploads and deployments fail when it is full; free space or grow it",
		podium.FormatBytes(cur.Free), podium.FormatBytes(cur.Total), podium.FormatBytes(cur.MinFree))
}

// Warnings is the /__ping__ warning while free space is low (or cannot be
// measured).
func (w *Watch) Warnings() []string {
	cur := w.Current()
	switch {
	case cur.Error != "":
		return []string{"cannot measure the free space of the data directory: " + cur.Error}
	case cur.MinFree > 0 && cur.Free < cur.MinFree:
		return []string{lowMessage(cur)}
	}
	return nil
}

// Info is the watch's key of the node's info document (read by podium ha
// check).
func (w *Watch) Info() map[string]any {
	return map[string]any{hacheck.DiskInfoKey: w.Current().Map()}
}

// NoSpace is the message of the 507 answer to a write that found the
// directory full; it measures again, so the log warns at once.
func (w *Watch) NoSpace() string {
	w.sample()
	return publish.NoSpaceMessage(w.opt.Dir)
}
