// Package heartbeat is the node's heartbeat: every [HA] HeartbeatInterval
// it records in the node registry that the node is alive (with its status
// and info document), measures the node's clock against the database's,
// and keeps /__ping__ honest: while the database cannot be reached the
// node answers 503 and keeps trying; when it returns, the node recovers by
// itself.
//
// server builds a Heartbeat with New from explicit arguments and reads
// Healthy, Offset, DBNow and LastBeat; the Heartbeat is a start/stop
// service.
package heartbeat

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// DB is what the heartbeat needs of the database.
type DB interface {
	Now(ctx context.Context) (time.Time, error)
	NodeHeartbeat(ctx context.Context, p *dbprovider.NodeHeartbeatParams) (*podium.Node, error)
}

// Options are a Heartbeat's dependencies.
type Options struct {
	DB     DB
	NodeID string
	// Interval is [HA] HeartbeatInterval.
	Interval time.Duration
	// ClockWarn and ClockFail are [HA] ClockWarnOffset and
	// ClockFailOffset (0: no check).
	ClockWarn, ClockFail time.Duration
	// Now is the node's clock.
	Now func() time.Time
	// Skew, when set, is added to the node's clock readings (the
	// podium_testhooks clock-skew hook).
	Skew func() time.Duration
	// Status is the status to record ("" leaves it alone: while
	// starting).
	Status func() string
	// Info is the node's info document, gathered at each beat.
	Info func() map[string]any
	// Register records the node again when its row went missing.
	Register func(ctx context.Context) error
	Log      logrus.FieldLogger
}

// Heartbeat is the node's heartbeat service.
type Heartbeat struct {
	startstop.Base
	opt     Options
	offsets offsetFilter // used by the loop goroutine only
	healthy atomic.Bool
	offset  atomic.Int64 // ns, node clock minus database clock
	dbNow   atomic.Int64 // unix ns, database clock at the start of the beat gathering info
	last    atomic.Int64 // unix ns of the last recorded beat (node clock)
	// Beaten signals each heartbeat with its error, nil when recorded
	// (tests), once Healthy reflects it.
	Beaten testsignal.Signal[error]
}

// New returns the heartbeat; it counts the database healthy until a beat
// fails.
func New(o Options) *Heartbeat {
	if o.Skew == nil {
		o.Skew = func() time.Duration { return 0 }
	}
	h := &Heartbeat{opt: o}
	h.healthy.Store(true)
	return h
}

// Name names the service in logs.
func (h *Heartbeat) Name() string { return "heartbeat" }

// Start beats at once and then every Interval (every second at most
// while the database is away), until Stop.
func (h *Heartbeat) Start(ctx context.Context) error { return h.Go(ctx, h.loop) }

// Healthy says whether the last beat reached the database.
func (h *Heartbeat) Healthy() bool { return h.healthy.Load() }

// Offset is the node's clock minus the database's, filtered.
func (h *Heartbeat) Offset() time.Duration { return time.Duration(h.offset.Load()) }

// DBNow is the database's clock at the last beat (zero before the first).
func (h *Heartbeat) DBNow() time.Time {
	if ns := h.dbNow.Load(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

// LastBeat is when (node clock) the last beat was recorded (zero before
// the first).
func (h *Heartbeat) LastBeat() time.Time {
	if ns := h.last.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Warnings is the /__ping__ warning while the clock offset is over
// ClockFail.
func (h *Heartbeat) Warnings() []string {
	off := h.Offset()
	if h.opt.ClockFail > 0 && abs(off) > h.opt.ClockFail {
		return []string{fmt.Sprintf("clock offset %s against the database is over [HA] ClockFailOffset (%s): synchronize clocks (ntp)",
			off.Round(time.Millisecond), h.opt.ClockFail)}
	}
	return nil
}

func (h *Heartbeat) loop(ctx context.Context) {
	log := h.opt.Log
	interval := h.opt.Interval
	// While the database is away, retry faster so recovery is quick.
	retry := min(interval, time.Second)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := h.beat(ctx)
		switch {
		case ctx.Err() != nil:
			h.Beaten.Signal(err)
			return
		case err != nil:
			if h.healthy.Swap(false) {
				log.WithError(err).Error("database unreachable: answering 503 until it returns")
			}
			t.Reset(retry)
		default:
			if !h.healthy.Swap(true) {
				log.Info("database reachable again: serving")
			}
			t.Reset(interval)
		}
		// After Healthy says what the beat found.
		h.Beaten.Signal(err)
	}
}

// beat records one heartbeat. The clock offset is measured as this node's
// clock at the middle of the round trip minus the database's clock, and
// filtered (offsetFilter) so that a slow round trip does not skew it.
func (h *Heartbeat) beat(ctx context.Context) error {
	o := h.opt
	ctx, cancel := context.WithTimeout(ctx, max(o.Interval, 2*time.Second))
	defer cancel()
	skew := o.Skew()
	t0 := o.Now().Add(skew)
	dbNow, err := o.DB.Now(ctx)
	if err != nil {
		return err
	}
	t1 := o.Now().Add(skew)
	offset := h.offsets.add(t1.Sub(t0), t0.Add(t1.Sub(t0)/2).Sub(dbNow))
	h.offset.Store(int64(offset))
	// Gather the info (file system reads) before reading the state, so
	// that the status written is as fresh as before. What it reads is
	// newer than dbNow (the HA check compares it with nodes' starts).
	h.dbNow.Store(dbNow.UnixNano())
	info := o.Info()
	status := o.Status()
	_, err = o.DB.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: o.NodeID, Status: status, ClockOffset: offset, Info: info})
	if err == nil {
		h.last.Store(o.Now().UnixNano())
	}
	if podium.IsCode(err, podium.ENOTFOUND) {
		// Someone removed our row (a manual clean-up): register again.
		o.Log.Warn("node row missing: registering again")
		return o.Register(ctx)
	}
	if err == nil && o.ClockFail > 0 && abs(offset) > o.ClockFail {
		o.Log.WithFields(logrus.Fields{"offset": offset.Round(time.Millisecond).String(), "fail_offset": o.ClockFail.String()}).
			Error("clock offset over [HA] ClockFailOffset: this node's times cannot be trusted; synchronize clocks (ntp) on every node")
	} else if err == nil && o.ClockWarn > 0 && abs(offset) > o.ClockWarn {
		o.Log.WithFields(logrus.Fields{"offset": offset.Round(time.Millisecond).String()}).
			Warn("clock differs from the database's: synchronize clocks (ntp) on every node")
	}
	return err
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
