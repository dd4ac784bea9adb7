package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/metrics"
	"github.com/sirupsen/logrus"
)

var (
	_ startstop.Service = (*metrics.Sampler)(nil)
	_ startstop.Service = (*metrics.Graphite)(nil)
)

// TestSamplerLoop: started, the sampler takes a sample within a second
// and then one every Interval (its test signal carries each), and Stop
// ends its goroutine.
func TestSamplerLoop(t *testing.T) {
	t.Parallel()
	s := metrics.NewSampler(metrics.SamplerOptions{Interval: 10 * time.Millisecond, Log: logrus.NewEntry(logrus.New())})
	s.TestSignals.Init()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		v := s.TestSignals.Sampled.WaitOrTimeout(t)
		if _, ok := v[metrics.SeriesAppProcesses]; !ok {
			t.Fatalf("sample without %s: %v", metrics.SeriesAppProcesses, v)
		}
	}
	if last, at := s.Last(); last == nil || at.IsZero() {
		t.Fatal("Last() empty after samples")
	}
	startstop.StopForTest(t, context.Background(), s)
}
