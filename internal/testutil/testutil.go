// Package testutil holds the small helpers that Podium's tests share:
// waiting on a condition, picking a free TCP port and scaling timeouts for
// slow CI machines.
//
// It imports only the standard library and must stay that way: every test
// package may import it, including the ones at the root of the module.
package testutil

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TimeoutScaleEnv names the environment variable that multiplies every
// timeout passed through [Timeout] (and so every [WaitFor]). It is a positive
// decimal number, 1 when unset; CI sets it higher because -race on two cores
// is several times slower than a developer's machine.
const TimeoutScaleEnv = "PODIUM_TEST_TIMEOUT_SCALE"

// PollInterval is how often [WaitFor] evaluates its condition.
const PollInterval = 20 * time.Millisecond

var timeoutScale = sync.OnceValue(func() float64 {
	f, err := parseScale(os.Getenv(TimeoutScaleEnv))
	if err != nil {
		// No testing.TB here, and a typo in CI must not silently shorten
		// timeouts: stop loudly.
		panic(fmt.Sprintf("testutil: %v", err))
	}
	return f
})

// parseScale parses the value of PODIUM_TEST_TIMEOUT_SCALE; "" means 1.
func parseScale(v string) (float64, error) {
	if v == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || f > 1000 {
		return 0, fmt.Errorf("%s=%q: want a positive number up to 1000", TimeoutScaleEnv, v)
	}
	return f, nil
}

// Timeout returns d multiplied by the scale in PODIUM_TEST_TIMEOUT_SCALE
// (see [TimeoutScaleEnv]). Use it for every deadline a test waits on, so
// that a slow machine gets more time instead of flaky failures.
func Timeout(d time.Duration) time.Duration {
	return time.Duration(float64(d) * timeoutScale())
}

// WaitFor calls cond every [PollInterval] until it returns true, and fails
// the test if that does not happen within Timeout(timeout). what names the
// awaited event in the failure message ("server accepts connections").
// cond is called once immediately. Like tb.Fatal, WaitFor must be called
// from the goroutine running the test.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	limit := Timeout(timeout)
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		<-tick.C
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// port is released before FreePort returns, so another process may take it
// first: prefer listening on ":0" where the code under test allows it.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("testutil: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// OpenTempDir returns a new directory under the system's temporary
// directory with the given mode (0755: others may enter and list; 0777:
// and write), removed when the test ends. It is for directories another
// user must reach, such as the one apps and renders run as: t.TempDir's
// directories sit in a parent that only the test's user may enter.
func OpenTempDir(tb testing.TB, mode os.FileMode) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "podium-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil { // whatever the umask
		tb.Fatal(err)
	}
	return dir
}
