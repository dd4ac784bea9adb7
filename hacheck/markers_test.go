package hacheck

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// TestSharedMarkersPending judges the data_dir item for two nodes where
// n1 does not list n2's marker: pending when n1 listed the markers before
// n2 started (n2 just started; n1's next heartbeat will tell), a failure
// when n1 listed them after n2 started.
func TestSharedMarkersPending(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	judge := func(n1Read time.Time, n1Offset time.Duration) Result {
		n1 := &podium.Node{ID: "n1", StartedAt: t0, HeartbeatAt: t0.Add(10 * time.Second), ClockOffset: n1Offset}
		n2 := &podium.Node{ID: "n2", StartedAt: t0.Add(10 * time.Second), HeartbeatAt: t0.Add(11 * time.Second)}
		c := &checker{live: []*podium.Node{n1, n2}, ids: []string{"n1", "n2"}, facts: map[string]Facts{
			"n1": {Markers: map[string][]string{MarkersDataDir: {"n1"}}, MarkersRead: n1Read},
			"n2": {Markers: map[string][]string{MarkersDataDir: {"n1", "n2"}}, MarkersRead: t0.Add(10 * time.Second)},
		}}
		return c.dataDir()
	}
	t.Run("PendingJustAfterStart", func(t *testing.T) {
		t.Parallel()
		// n1 read at t0+5s by its clock, which runs 3 s ahead: t0+2s.
		r := judge(t0.Add(5*time.Second), 3*time.Second)
		if r.Status != Pending || !strings.Contains(r.Detail, "node n1 has not looked for the markers since n2 started") {
			t.Errorf("n1 listed the markers before n2 started: %+v, want pending", r)
		}
	})
	t.Run("PendingBySkew", func(t *testing.T) {
		t.Parallel()
		// By n1's clock it read after n2's start, but n1 runs 10 s ahead.
		if r := judge(t0.Add(15*time.Second), 10*time.Second); r.Status != Pending {
			t.Errorf("n1 read before n2 started in database time: %+v, want pending", r)
		}
	})
	t.Run("FailWhenReadAfterStart", func(t *testing.T) {
		t.Parallel()
		r := judge(t0.Add(20*time.Second), 0)
		if r.Status != Fail || !strings.Contains(r.Detail, "node n1 does not see the markers of n2") {
			t.Errorf("n1 listed the markers after n2 started: %+v, want a failure", r)
		}
	})
	t.Run("OlderNodeUsesHeartbeat", func(t *testing.T) {
		t.Parallel()
		// No MarkersRead: n1's heartbeat (t0+10s) is not after n2's
		// start (t0+10s) plus the slack.
		if r := judge(time.Time{}, 0); r.Status != Pending {
			t.Errorf("no read time, heartbeat at n2's start: %+v, want pending", r)
		}
	})
}
