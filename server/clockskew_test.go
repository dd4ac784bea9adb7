//go:build !podium_testhooks

package server

import "testing"

// TestClockSkewHookNotInProductionBuild: without the podium_testhooks
// tag, PODIUM_TEST_CLOCK_SKEW does nothing.
func TestClockSkewHookNotInProductionBuild(t *testing.T) {
	t.Setenv("PODIUM_TEST_CLOCK_SKEW", "7s")
	if d := testClockSkew(); d != 0 {
		t.Fatalf("a production build honours PODIUM_TEST_CLOCK_SKEW: skew %s", d)
	}
}

// TestStartDelayHookNotInProductionBuild: without the podium_testhooks
// tag, PODIUM_TEST_START_DELAY does nothing.
func TestStartDelayHookNotInProductionBuild(t *testing.T) {
	t.Setenv("PODIUM_TEST_START_DELAY", "11s")
	if d := testStartDelay(); d != 0 {
		t.Fatalf("a production build honours PODIUM_TEST_START_DELAY: delay %s", d)
	}
}
