//go:build !podium_testhooks

package migrate

// testPause is a no-op outside test builds (see pause_testhooks.go).
func testPause(string) {}
