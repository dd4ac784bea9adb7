//go:build podium_testhooks

package migrate

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// TestPauseEnv names a test hook, compiled only into binaries built with
// -tags podium_testhooks: "phase" or "phase:file" makes the first worker
// that reaches that phase of "podium migrate db" (copy, index, verify,
// keys, switch) print "migrate db: test pause at phase" on stderr and wait,
// until file exists when one is named, else for ever (the fault tests kill
// the command there). A production binary has no such hook.
const TestPauseEnv = "PODIUM_TEST_MIGRATE_PAUSE"

var pauseOnce sync.Map

func testPause(phase string) {
	v := os.Getenv(TestPauseEnv)
	name, file, _ := strings.Cut(v, ":")
	if name != phase {
		return
	}
	if _, loaded := pauseOnce.LoadOrStore(phase, true); loaded {
		return
	}
	fmt.Fprintf(os.Stderr, "migrate db: test pause at %s\n", phase)
	for {
		if file != "" {
			if _, err := os.Stat(file); err == nil {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}
