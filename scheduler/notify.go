// Wake-ups by notification: the enqueuer addresses new jobs to nodes,
// a schedule change re-plans the maintenance loop, anything else makes a
// node look for work.

package scheduler

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
)

// listener listens for notifications on Channel (PostgreSQL), a service
// on the base; the provider reconnects by itself until stopped.
type listener struct {
	startstop.Base
	s *Service
}

func (l *listener) Start(ctx context.Context) error {
	return l.Go(ctx, func(ctx context.Context) { _ = l.s.db.Listen(ctx, Channel, l.s.notified) })
}

// wakePrefix starts a notification addressed to some nodes only:
// "wake:" then entries "node=count" or "node=count@delay_ms", comma
// separated; node "*" is every node (count 0: all it has room for).
const (
	wakePrefix = "wake:"
	everyNode  = "*"
	// maxWakeDelay bounds the delay a notification may ask for.
	maxWakeDelay = time.Minute
)

// notified handles a notification on Channel: entries addressed to other
// nodes are ignored, those addressed to this node (or every node) wake
// it, at once or after their delay; a schedule change re-plans the
// maintenance loop (the enqueuer may have to wake sooner); anything else
// (a reconnect, a released or reclaimed job) makes this node look for
// work.
func (s *Service) notified(payload string) {
	defer s.TestSignals.Notified.Signal(payload)
	switch {
	case strings.HasPrefix(payload, wakePrefix):
		for _, e := range strings.Split(payload[len(wakePrefix):], ",") {
			id, rest, _ := strings.Cut(e, "=")
			if id != s.opts.NodeID && id != everyNode {
				continue
			}
			count, delay, timed := strings.Cut(rest, "@")
			var d time.Duration
			if timed {
				if ms, err := strconv.ParseInt(delay, 10, 64); err == nil && ms > 0 {
					d = min(time.Duration(ms)*time.Millisecond, maxWakeDelay)
				}
			}
			k, err := strconv.Atoi(count)
			if err != nil || k < 0 || id == everyNode {
				k = 0
			}
			s.wakeAfter(d, k)
		}
	case payload == scheduleChanged:
		s.kickMaintain()
	default:
		s.wakeUp()
	}
}

// scheduleChanged is the payload sent when a schedule was put.
const scheduleChanged = "schedule"
