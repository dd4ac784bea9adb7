package web

import "github.com/labstack/echo/v4"

// AppServer serves content of appmode "app" and "api": it proxies a
// request under /content/{guid}/ to one of the app's worker processes
// (package apps).
type AppServer interface {
	// ServeApp answers request c for the app content guid. The caller has
	// already checked that the user may view the content.
	ServeApp(c echo.Context, guid string) error
}
