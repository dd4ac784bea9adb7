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
	// n2 started at t0+10s; n1 lists n1 only.
	judge := func(n1ReadAfter, n1Heartbeat time.Time) Result {
		n1 := &podium.Node{ID: "n1", StartedAt: t0, HeartbeatAt: n1Heartbeat}
		n2 := &podium.Node{ID: "n2", StartedAt: t0.Add(10 * time.Second), HeartbeatAt: t0.Add(11 * time.Second)}
		c := &checker{live: []*podium.Node{n1, n2}, ids: []string{"n1", "n2"}, facts: map[string]Facts{
			"n1": {Markers: map[string][]string{MarkersDataDir: {"n1"}}, MarkersReadAfter: n1ReadAfter},
			"n2": {Markers: map[string][]string{MarkersDataDir: {"n1", "n2"}}, MarkersReadAfter: t0.Add(11 * time.Second)},
		}}
		return c.dataDir()
	}
	t.Run("PendingJustAfterStart", func(t *testing.T) {
		t.Parallel()
		r := judge(t0.Add(5*time.Second), t0.Add(5*time.Second))
		if r.Status != Pending || !strings.Contains(r.Detail, "node n1 has not looked for the markers since n2 started") {
			t.Errorf("n1 listed the markers before n2 started: %+v, want pending", r)
		}
	})
	t.Run("FailWhenReadAfterStart", func(t *testing.T) {
		t.Parallel()
		r := judge(t0.Add(20*time.Second), t0.Add(20*time.Second))
		if r.Status != Fail || !strings.Contains(r.Detail, "node n1 does not see the markers of n2") {
			t.Errorf("n1 listed the markers after n2 started: %+v, want a failure", r)
		}
	})
	t.Run("RegistrationFactsUseHeartbeat", func(t *testing.T) {
		t.Parallel()
		// No read time (facts from registration): n1's heartbeat decides.
		if r := judge(time.Time{}, t0.Add(2*time.Second)); r.Status != Pending {
			t.Errorf("registered before n2 started: %+v, want pending", r)
		}
		if r := judge(time.Time{}, t0.Add(20*time.Second)); r.Status != Fail {
			t.Errorf("heartbeat after n2 started: %+v, want a failure", r)
		}
	})
}
