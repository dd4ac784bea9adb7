//go:build !((podium_rolling || podium_rolling_n) && !podium_nplus1 && !podium_nplus1_broken)

package server

import (
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/dbprovider"
)

// mountRollingTest mounts the endpoints of the rolling-upgrade test's
// binaries (rollingtest_endpoints.go) on e; a release build has none.
func mountRollingTest(*echo.Echo, dbprovider.Provider, string) {}
