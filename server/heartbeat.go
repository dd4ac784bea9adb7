package server

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// heartbeat records every [HA] HeartbeatInterval that the node is alive,
// measures its clock against the database's, and keeps /__ping__ honest:
// while the database cannot be reached the node answers 503 and keeps
// trying; when it returns, the node recovers by itself.
type heartbeat struct {
	startstop.Base
	node    *Node
	offsets offsetFilter // used by the loop goroutine only
	// beaten signals each heartbeat with its error, nil when recorded
	// (tests).
	beaten testsignal.Signal[error]
}

func (h *heartbeat) Name() string { return "heartbeat" }

// Start beats at once and then every [HA] HeartbeatInterval (every second
// at most while the database is away), until Stop.
func (h *heartbeat) Start(ctx context.Context) error { return h.Go(ctx, h.loop) }

func (h *heartbeat) loop(ctx context.Context) {
	n := h.node
	log := n.log("heartbeat")
	interval := n.Config.HA.HeartbeatInterval
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
		h.beaten.Signal(err)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if n.dbHealthy.Swap(false) {
				log.WithError(err).Error("database unreachable: answering 503 until it returns")
			}
			t.Reset(retry)
		default:
			if !n.dbHealthy.Swap(true) {
				log.Info("database reachable again: serving")
			}
			t.Reset(interval)
		}
	}
}

// beat records one heartbeat. The clock offset is measured as this node's
// clock at the middle of the round trip minus the database's clock, and
// filtered (offsetFilter) so that a slow round trip does not skew it.
func (h *heartbeat) beat(ctx context.Context) error {
	n := h.node
	ctx, cancel := context.WithTimeout(ctx, max(n.Config.HA.HeartbeatInterval, 2*time.Second))
	defer cancel()
	skew := testClockSkew()
	t0 := n.Now().Add(skew)
	dbNow, err := n.db.Now(ctx)
	if err != nil {
		return err
	}
	t1 := n.Now().Add(skew)
	offset := h.offsets.add(t1.Sub(t0), t0.Add(t1.Sub(t0)/2).Sub(dbNow))
	n.clockOffset.Store(int64(offset))
	// Gather the info (file system reads) before reading the state, so
	// that the status written is as fresh as before. What it reads is
	// newer than dbNow (the HA check compares it with nodes' starts).
	n.beatDBNow.Store(dbNow.UnixNano())
	info := n.info()
	// While starting, the heartbeat leaves the status alone (""): register
	// wrote "starting" and Run writes "serving" before /__ping__ turns 200,
	// so a beat that read the state just before that flip cannot write
	// "starting" over it.
	status := ""
	switch n.state.Load() {
	case stateServing:
		status = podium.NodeServing
	case stateDraining:
		status = podium.NodeDraining
	}
	_, err = n.db.NodeHeartbeat(ctx, &dbprovider.NodeHeartbeatParams{ID: n.id, Status: status, ClockOffset: offset, Info: info})
	if err == nil {
		n.lastBeat.Store(n.Now().UnixNano())
	}
	if podium.IsCode(err, podium.ENOTFOUND) {
		// Someone removed our row (a manual clean-up): register again.
		n.log("heartbeat").Warn("node row missing: registering again")
		return n.register(ctx)
	}
	if err == nil && n.Config.HA.ClockFailOffset > 0 && abs(offset) > n.Config.HA.ClockFailOffset {
		n.log("heartbeat").WithFields(logrus.Fields{"offset": offset.Round(time.Millisecond).String(), "fail_offset": n.Config.HA.ClockFailOffset.String()}).
			Error("clock offset over [HA] ClockFailOffset: this node's times cannot be trusted; synchronize clocks (ntp) on every node")
	} else if err == nil && n.Config.HA.ClockWarnOffset > 0 && abs(offset) > n.Config.HA.ClockWarnOffset {
		n.log("heartbeat").WithFields(logrus.Fields{"offset": offset.Round(time.Millisecond).String()}).
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
