package heartbeat

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
)

// The heartbeat is built on startstop.Base.
var _ startstop.Service = (*Heartbeat)(nil)

// TestWarnings: /__ping__ warns while the filtered offset, either way, is
// over ClockFail, and never without ClockFail.
func TestWarnings(t *testing.T) {
	h := New(Options{ClockFail: 5 * time.Second})
	if !h.Healthy() {
		t.Fatal("a new heartbeat counts the database unhealthy")
	}
	if w := h.Warnings(); w != nil {
		t.Fatalf("Warnings() = %q with no offset", w)
	}
	for _, off := range []time.Duration{7 * time.Second, -7 * time.Second} {
		h.offset.Store(int64(off))
		if w := h.Warnings(); len(w) != 1 || !strings.Contains(w[0], "ClockFailOffset") {
			t.Fatalf("Warnings() = %q with offset %s, want the clock warning", w, off)
		}
	}
	h.opt.ClockFail = 0
	if w := h.Warnings(); w != nil {
		t.Fatalf("Warnings() = %q without ClockFailOffset", w)
	}
}
