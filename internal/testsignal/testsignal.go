// Package testsignal holds the test signals of background services, after
// river's internal/testsignal: a service declares a Signal for each event a
// test may wait on ("swept", "reclaimed"), the test calls Init before the
// service starts and then waits with WaitOrTimeout instead of sleeping. In
// production a Signal is never initialised and sending on it costs a nil
// check.
//
// It imports only the standard library (not testing: services import it)
// and must stay that way.
package testsignal

import (
	"os"
	"strconv"
	"time"
)

// Capacity is how many signals a Signal buffers. A signal sent while the
// buffer is full is dropped (a service never blocks on its tests): a test
// that waits for a later event should drain the earlier ones.
const Capacity = 1000

// Timeout is how long WaitOrTimeout waits, multiplied by
// PODIUM_TEST_TIMEOUT_SCALE as internal/testutil.Timeout does.
const Timeout = 10 * time.Second

// TB is the part of testing.TB that WaitOrTimeout uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Signal carries values of type T from a service to a test. The zero value
// (nil) ignores every Signal: only a test makes one, with Init.
type Signal[T any] chan T

// Init makes the signal's buffer; call it before the service starts.
func (s *Signal[T]) Init() { *s = make(chan T, Capacity) }

// Signal sends v to the waiting test, if there is one; it never blocks.
func (s Signal[T]) Signal(v T) {
	if s == nil {
		return
	}
	select {
	case s <- v:
	default:
	}
}

// WaitOrTimeout returns the next value sent, and fails the test if none
// comes within Timeout (scaled).
func (s Signal[T]) WaitOrTimeout(tb TB) T {
	tb.Helper()
	if s == nil {
		tb.Fatalf("testsignal: waiting on a signal that was not initialised (call Init before the service starts)")
		var zero T
		return zero
	}
	limit := scaled(Timeout)
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case v := <-s:
		return v
	case <-t.C:
		var zero T
		tb.Fatalf("testsignal: no %T signal within %s", zero, limit)
		return zero
	}
}

// RequireEmpty fails the test if a value was sent and not yet received.
func (s Signal[T]) RequireEmpty(tb TB) {
	tb.Helper()
	select {
	case v := <-s:
		tb.Fatalf("testsignal: want no signal, got %v", v)
	default:
	}
}

// scaled multiplies d by PODIUM_TEST_TIMEOUT_SCALE (a positive number; an
// unreadable value counts as 1, as testutil refuses it loudly anyway).
func scaled(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv("PODIUM_TEST_TIMEOUT_SCALE"), 64)
	if err != nil || !(f > 0) || f > 1000 {
		return d
	}
	return time.Duration(float64(d) * f)
}
