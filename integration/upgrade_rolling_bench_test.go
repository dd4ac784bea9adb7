package integration

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRollingUpgrade runs the rolling upgrade of
// TestRollingUpgradePostgres (three nodes behind the shipped HAProxy,
// replaced one by one by binary N+1, then finalize) under the same client
// load, after 10s of steady state, and prints in one run: requests sent,
// failed requests (goal 0), the p99 latency during the upgrade against the
// p99 of the steady state before it (goal at most 2x), and the upgrade's
// duration (first SIGTERM to finalize done). Run it with "make
// bench-rolling".
func BenchmarkRollingUpgrade(b *testing.B) {
	for range b.N {
		r := &rollingRun{tb: b}
		r.setup()
		r.roll(10 * time.Second)
		f, _ := r.figures()
		ratio := float64(f.RollP99) / float64(max(f.SteadyP99, time.Microsecond))
		fmt.Printf("bench-rolling: 3 nodes, DrainDelay %s, shipped HAProxy config\n", rollingDrainDelay)
		fmt.Printf("bench-rolling: requests sent %d, failed %d (goal 0), acknowledged deployments %d\n", f.Sent, f.Failed, f.Deployments)
		fmt.Printf("bench-rolling: p99 steady state %s, p99 during the upgrade %s: %.2fx (goal <= 2x)\n",
			f.SteadyP99.Round(time.Millisecond), f.RollP99.Round(time.Millisecond), ratio)
		fmt.Printf("bench-rolling: upgrade duration %s (first SIGTERM to finalize done)\n", f.Duration.Round(time.Millisecond))
		for _, fail := range f.Failures {
			fmt.Printf("bench-rolling: failed: %s\n", fail)
		}
		b.ReportMetric(float64(f.Sent), "requests")
		b.ReportMetric(float64(f.Failed), "failed")
		b.ReportMetric(float64(f.SteadyP99)/float64(time.Millisecond), "p99-steady-ms")
		b.ReportMetric(float64(f.RollP99)/float64(time.Millisecond), "p99-upgrade-ms")
		b.ReportMetric(ratio, "p99-ratio")
		b.ReportMetric(f.Duration.Seconds(), "upgrade-s")
	}
}
