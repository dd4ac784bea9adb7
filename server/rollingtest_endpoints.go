//go:build (podium_rolling || podium_rolling_n) && !podium_nplus1 && !podium_nplus1_broken

package server

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/schema"
)

// The code of the rolling-upgrade test's binaries (integration/
// upgrade_rolling_test.go), never in a release build: it uses the test
// migrations of schema/testdata/rolling the way a release's code would use
// its own. Binary N (-tags podium_rolling_n) writes rolling_notes with
// legacy_flag; binary N+1 (-tags podium_rolling) writes and reads the
// author column its expand migration adds and never names legacy_flag,
// which its contract migration drops at finalize. N+1's /feature is a
// feature that N could not handle: off until the cluster version reaches
// N+1's schema.

func mountRollingTest(e *echo.Echo, db dbprovider.Provider, nodeID string) {
	e.POST("/__rolling__/notes", func(c echo.Context) error {
		id, err := schema.RollingNoteCreate(c.Request().Context(), db, c.FormValue("body"), nodeID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]any{"id": id})
	})
	e.GET("/__rolling__/notes/:id", func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "bad id")
		}
		out, err := schema.RollingNoteGet(c.Request().Context(), db, id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, out)
	})
	e.GET("/__rolling__/feature", func(c echo.Context) error {
		cv, err := schema.ClusterVersion(c.Request().Context(), db)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"cluster_version": cv, "binary_schema": schema.Latest(),
			"enabled": schema.RollingTestNPlus1 && cv >= schema.Latest()})
	})
}
