package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web/route"
)

// landingPage is the built-in landing page, served when [Server]
// LandingDir is not set.
const landingPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Podium</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
h1 { font-weight: 600; }
code { background: #f3f3f3; padding: 0.1rem 0.3rem; border-radius: 3px; }
</style>
</head>
<body>
<h1>Podium</h1>
<p>This server publishes static sites, rendered reports, and hosted apps and APIs.</p>
<p>Publish a directory with <code>podium deploy ./site --server URL --api-key KEY</code>.
Published content lives under <code>/content/&lt;guid&gt;/</code>.</p>
<p><a href="__dashboard__/">Open the dashboard</a> to see your content, jobs and the cluster.</p>
<p id="first-run"><strong>A new server?</strong> The first administrator is created on the <a href="__login__">login page</a>,
with the one-time setup token the node printed in its log at start: look for the line
<code>PODIUM FIRST-RUN SETUP TOKEN</code> (for example with <code>journalctl -u podium</code>).</p>
</body>
</html>
`

// LandingRoutes serve GET / : the files of dir when it is set (shared
// between nodes, like DataDir), otherwise the built-in page. A path dir
// has no file for goes to notFound when it is set (vanity URLs: see
// Server.NotFound).
func LandingRoutes(dir string, notFound echo.HandlerFunc) []route.Route {
	var routes []route.Route
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		if dir == "" {
			routes = append(routes, route.Route{Method: m, Path: "/", Handler: func(c echo.Context) error {
				c.Response().Header().Set("X-Content-Type-Options", "nosniff")
				return c.HTML(http.StatusOK, landingPage)
			}})
			continue
		}
		serve := func(c echo.Context) error {
			err := serveDir(c, dir, c.Param("*"), "index.html", false)
			if notFound != nil && podium.IsCode(err, podium.ENOTFOUND) {
				return notFound(c)
			}
			return err
		}
		routes = append(routes, route.Route{Method: m, Path: "/", Handler: serve}, route.Route{Method: m, Path: "/*", Handler: serve})
	}
	return routes
}
