//go:build podium_testhooks

package server

import (
	"os"
	"time"
)

// TestClockSkewEnv names a test hook, compiled only into binaries built
// with -tags podium_testhooks (the integration tests build one with
// nodetest.BinaryWithTags): when set (a Go duration such as "7s"), the
// heartbeat adds it to the node's clock readings, so tests can run a node
// whose clock looks skewed against the database's. A production binary
// has no such hook.
const TestClockSkewEnv = "PODIUM_TEST_CLOCK_SKEW"

func testClockSkew() time.Duration {
	v := os.Getenv(TestClockSkewEnv)
	if v == "" {
		return 0
	}
	d, _ := time.ParseDuration(v)
	return d
}

// TestStartDelayEnv names a second test hook, compiled in the same way:
// when set (a Go duration), Open waits that long between registering the
// node and building its parts, so tests can stretch that window.
const TestStartDelayEnv = "PODIUM_TEST_START_DELAY"

func testStartDelay() time.Duration {
	d, _ := time.ParseDuration(os.Getenv(TestStartDelayEnv))
	return d
}
