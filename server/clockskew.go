//go:build !podium_testhooks

package server

import "time"

// testClockSkew is the clock skew test hook (see clockskew_testhooks.go):
// none in a production binary.
func testClockSkew() time.Duration { return 0 }

// testStartDelay is the start delay test hook (see
// clockskew_testhooks.go): none in a production binary.
func testStartDelay() time.Duration { return 0 }
