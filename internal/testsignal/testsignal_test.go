package testsignal_test

import (
	"fmt"
	"testing"

	"github.com/podiumhq/podium/internal/testsignal"
)

// fakeTB records Fatalf instead of ending the test, so the failures of
// WaitOrTimeout and RequireEmpty can be asserted.
type fakeTB struct{ failed string }

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestSignal(t *testing.T) {
	t.Parallel()
	t.Run("NilIgnores", func(t *testing.T) {
		var s testsignal.Signal[int]
		s.Signal(1) // must neither block nor panic
		tb := &fakeTB{}
		s.WaitOrTimeout(tb)
		if tb.failed == "" {
			t.Fatal("waiting on an uninitialised signal did not fail")
		}
	})
	t.Run("OK", func(t *testing.T) {
		var s testsignal.Signal[int]
		s.Init()
		s.Signal(1)
		s.Signal(2)
		if got := s.WaitOrTimeout(t); got != 1 {
			t.Fatalf("first = %d, want 1", got)
		}
		if got := s.WaitOrTimeout(t); got != 2 {
			t.Fatalf("second = %d, want 2", got)
		}
		s.RequireEmpty(t)
	})
	t.Run("FullDrops", func(t *testing.T) {
		var s testsignal.Signal[int]
		s.Init()
		for i := range testsignal.Capacity + 5 {
			s.Signal(i) // never blocks
		}
		if n := len(s); n != testsignal.Capacity {
			t.Fatalf("buffered %d, want %d", n, testsignal.Capacity)
		}
	})
	t.Run("RequireEmptyFails", func(t *testing.T) {
		var s testsignal.Signal[string]
		s.Init()
		s.Signal("swept")
		tb := &fakeTB{}
		s.RequireEmpty(tb)
		if tb.failed == "" {
			t.Fatal("RequireEmpty with a pending signal did not fail")
		}
	})
}
