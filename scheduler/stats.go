package scheduler

import (
	"sync"
	"sync/atomic"
	"time"
)

// DurationStats summarizes the durations of finished jobs of one queue on
// this node.
type DurationStats struct {
	Count     uint64        `json:"count"`
	Succeeded uint64        `json:"succeeded"`
	Failed    uint64        `json:"failed"`
	Sum       time.Duration `json:"sum_ns"`
	Max       time.Duration `json:"max_ns"`
}

// Stats are this node's scheduler figures, for the metrics exporter and the
// dashboard. Counters only grow; queue figures are cluster-wide, measured
// by the database at the last poll.
type Stats struct {
	NodeID      string `json:"node_id"`
	Host        string `json:"host"`
	Concurrency int    `json:"concurrency"`
	// Running is how many jobs this node runs now.
	Running int `json:"running"`
	// Claimed, Rejected (late completions refused after a lost claim),
	// Released (given back on shutdown), Reclaimed (abandoned jobs this
	// node requeued) and AbandonedFailed (abandoned jobs this node failed
	// for reaching their maximum attempts) count since start.
	Claimed         uint64 `json:"claimed"`
	Rejected        uint64 `json:"rejected"`
	Released        uint64 `json:"released"`
	Reclaimed       uint64 `json:"reclaimed"`
	AbandonedFailed uint64 `json:"abandoned_failed"`
	// Durations per queue of the jobs this node finished.
	Durations map[string]DurationStats `json:"durations"`
	// QueueDepth is the number of due jobs waiting in the cluster;
	// ClusterRunning those running on any node; OldestWaiting the age of
	// the oldest waiting one.
	QueueDepth     int           `json:"queue_depth"`
	ClusterRunning int           `json:"cluster_running"`
	OldestWaiting  time.Duration `json:"oldest_waiting_ns"`
	// NoWorkWarning is set when no live node takes scheduled work.
	NoWorkWarning bool `json:"no_work_warning"`
}

type counters struct {
	claimed, rejected, released, reclaimed, abandonedFailed atomic.Uint64

	mu        sync.Mutex
	durations map[string]*DurationStats
}

func (c *counters) observe(queue, status string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ds := c.durations[queue]
	if ds == nil {
		ds = &DurationStats{}
		c.durations[queue] = ds
	}
	ds.Count++
	if status == "succeeded" {
		ds.Succeeded++
	} else {
		ds.Failed++
	}
	ds.Sum += d
	ds.Max = max(ds.Max, d)
}

// Stats returns a snapshot of the figures.
func (s *Service) Stats() Stats {
	st := Stats{NodeID: s.opts.NodeID, Host: s.host, Concurrency: s.opts.Concurrency,
		Claimed: s.counters.claimed.Load(), Rejected: s.counters.rejected.Load(), Released: s.counters.released.Load(),
		Reclaimed: s.counters.reclaimed.Load(), AbandonedFailed: s.counters.abandonedFailed.Load(),
		Durations: map[string]DurationStats{}, NoWorkWarning: len(s.Warnings()) > 0}
	s.mu.Lock()
	st.Running = len(s.running)
	s.mu.Unlock()
	s.counters.mu.Lock()
	for q, d := range s.counters.durations {
		st.Durations[q] = *d
	}
	s.counters.mu.Unlock()
	if q := s.queue.Load(); q != nil {
		st.QueueDepth, st.ClusterRunning, st.OldestWaiting = q.Waiting, q.Running, q.OldestWaiting
	}
	return st
}
