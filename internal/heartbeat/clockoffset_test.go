package heartbeat

import (
	"testing"
	"time"
)

func TestOffsetFilterTakesShortestRoundTrip(t *testing.T) {
	var f offsetFilter
	ms := time.Millisecond
	// First measurement: the only one there is.
	if got := f.add(300*ms, 7150*ms); got != 7150*ms {
		t.Fatalf("first estimate %s, want 7.15s", got)
	}
	// A faster round trip is more exact and wins.
	if got := f.add(2*ms, 7001*ms); got != 7001*ms {
		t.Fatalf("estimate %s, want 7.001s (2 ms round trip)", got)
	}
	// A slow one afterwards does not move the estimate.
	if got := f.add(266*ms, 6867*ms); got != 7001*ms {
		t.Fatalf("estimate %s after a slow round trip, want 7.001s", got)
	}
	// A real step of the clock shows once the old best has aged out.
	var got time.Duration
	for range offsetSamples {
		got = f.add(5*ms, 100*ms)
	}
	if got != 100*ms {
		t.Fatalf("estimate %s after %d measurements of 100ms, want 100ms", got, offsetSamples)
	}
}
