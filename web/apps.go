package web

import (
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
)

// AppServer serves content of appmode "app" and "api": it proxies a
// request under /content/{guid}/ to one of the app's worker processes
// (package apps).
type AppServer interface {
	// ServeApp answers request c for the app content guid. The caller has
	// already checked that the user may view the content.
	ServeApp(c echo.Context, guid string) error
}

// SetAppServer installs the server of app and api content. Call it while
// the node mounts its parts, before serving.
func (s *Server) SetAppServer(a AppServer) { s.apps = a }

// ServeApp hands a request for app or api content to the app server: the
// content handler calls it, after its access check, when the content's
// appmode is "app" or "api". Returns EUNAVAILABLE when no app server is
// installed.
func (s *Server) ServeApp(c echo.Context, guid string) error {
	if s.apps == nil {
		return podium.Errorf(podium.EUNAVAILABLE, "this node does not run applications")
	}
	return s.apps.ServeApp(c, guid)
}
