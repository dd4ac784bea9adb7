package diskwatch

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// The watch is built on startstop.Base.
var _ startstop.Service = (*Watch)(nil)

func TestWatchSamples(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	w := New(Options{Dir: t.TempDir(), Every: 10 * time.Millisecond, Log: log})
	if got := w.Current(); got.Error != "" || got.Total == 0 {
		t.Fatalf("first sample = %+v, want the directory's figures", got)
	}
	w.Sampled.Init()
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.Sampled.WaitOrTimeout(t); got.Error != "" || got.Total == 0 {
		t.Fatalf("periodic sample = %+v, want the directory's figures", got)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if info := w.Info(); info == nil || len(info) != 1 {
		t.Fatalf("Info() = %v, want one key", info)
	}
}

// TestWatchLowSpace: under MinFree the watch warns in the log once, in
// Warnings while it lasts, and logs the all-clear once space is back.
func TestWatchLowSpace(t *testing.T) {
	log, hook := logtest.NewNullLogger()
	dir := t.TempDir()
	w := New(Options{Dir: dir, MinFree: math.MaxInt64, Every: time.Hour, Log: log})
	if ws := w.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "MinFreeSpace") {
		t.Fatalf("Warnings() = %q, want the low-space warning", ws)
	}
	if msg := w.NoSpace(); !strings.Contains(msg, "data directory is full") || strings.Contains(msg, dir) {
		t.Fatalf("NoSpace() = %q, want the full-directory message without the path %s", msg, dir)
	}
	warns := 0
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			warns++
		}
	}
	if warns != 1 {
		t.Fatalf("%d warnings logged over two low samples, want 1", warns)
	}
	hook.Reset()
	w.opt.MinFree = 1
	w.sample()
	if ws := w.Warnings(); ws != nil {
		t.Fatalf("Warnings() = %q with space back, want none", ws)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.InfoLevel || !strings.Contains(e.Message, "free again") {
		t.Fatalf("last log entry = %+v, want the all-clear", e)
	}
}

func TestWatchUnmeasurable(t *testing.T) {
	log, _ := logtest.NewNullLogger()
	w := New(Options{Dir: filepath.Join(t.TempDir(), "missing"), MinFree: 1, Every: time.Hour, Log: log})
	if ws := w.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "cannot measure") {
		t.Fatalf("Warnings() = %q, want the measurement error", ws)
	}
}
