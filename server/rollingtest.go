//go:build !((podium_rolling || podium_rolling_n) && !podium_nplus1 && !podium_nplus1_broken)

package server

// mountRollingTest mounts the endpoints of the rolling-upgrade test's
// binaries (rollingtest_endpoints.go); a release build has none.
func mountRollingTest(*Node) error { return nil }
