package web

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web/route"
)

// contentCSP runs published pages in a sandbox: scripts work, but the page
// gets an opaque origin, so it cannot call the API with the reader's
// session cookie or read other content.
const contentCSP = "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals"

// ContentServeRoutes serve published content at /content/{guid}/ with the
// reader's access checked on every request.
// Apps and APIs go to apps (package apps' supervisor) after the same
// check, whatever the method (an API takes POST, PUT, DELETE...); static
// sites and reports answer GET and HEAD, and 405 to other methods.
//
// A granted access to app or api content is remembered for up to
// targetTTL (one second), so the proxy does not read the database on
// every request; changes made through this node's API apply at once,
// changes made through other nodes within targetTTL.
//
// The cache is the server's (see Server.invalidateOnChange).
//
// With a content origin ([Server] ContentURL) content is served there
// only: the main origin redirects to it, and ContentAuthPath lets readers
// of restricted content in (see origin.go). sessions checks the sessions
// the content origin's cookies name.
//
// Each visit is handed to visits (docs/usage.md says which requests
// count); a nil VisitRecorder records nothing.
//
// Unlike the other areas' tables it is a method: the area shares state the
// server holds and uses outside the area's routes: the target cache its
// invalidateOnChange middleware empties on every change made through the
// API, the content origin its Origins middleware and error pages use, and
// the vanity lookup Server.NotFound (LandingRoutes) answers with.
func (s *Server) ContentServeRoutes(svc publish.ServeService, appServer apps.ServeService, sessions auth.SessionChecker, visits usage.VisitRecorder) []route.Route {
	h := &contentServe{svc: svc, apps: appServer, cache: s.targets, origin: s.content, sessions: sessions,
		trustedProxies: s.trustedProxies, frame: s.frameContent, visits: visits}
	s.notFound = h.vanity
	s.lane = h
	return []route.Route{
		{Path: "/content/:guid", Handler: h.redirect},
		{Path: "/content/:guid/*", Handler: h.serve},
		{Method: http.MethodGet, Path: ContentAuthPath, Handler: h.contentAuth},
		// Vanity URLs: the requests no route matched (see api_vanity.go).
		{Method: echo.RouteNotFound, Path: "/*", Handler: h.vanity},
	}
}

type contentServe struct {
	svc            publish.ServeService
	apps           apps.ServeService // nil: this node runs no apps
	cache          *targetCache
	origin         *contentOrigin // nil: content is served on the main origin
	sessions       auth.SessionChecker
	trustedProxies []*net.IPNet
	frame          string              // [Server] FrameOptionsContent
	visits         usage.VisitRecorder // nil: usage is not recorded
}

// recordVisit hands one visit of t's content at path rel to the recorder.
func (h *contentServe) recordVisit(c echo.Context, t *publish.Target, rel string) {
	var uid *int64
	if u := CurrentUser(c); u != nil {
		uid = &u.ID
	}
	h.visit(t, rel, uid)
}

// visit records a visit of t at rel (the path under the content) by user
// uid (nil: an anonymous reader).
func (h *contentServe) visit(t *publish.Target, rel string, uid *int64) {
	if h.visits != nil {
		h.visits.Visit(&podium.Visit{ContentID: t.Content.ID, ContentGUID: t.Content.GUID,
			BundleID: t.Content.ActiveBundleID, Path: "/" + rel, UserID: uid})
	}
}

// appVisit reports whether a request to an app or API counts as a visit:
// every request but a WebSocket and the sub-requests a browser makes for
// a page it shows (its scripts, styles, images, fetches: Sec-Fetch-Dest
// other than document or iframe). An API's callers (scripts, curl) send
// no Sec-Fetch-Dest: each of their calls counts.
func appVisit(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	return visitDest(r.Header.Get("Sec-Fetch-Dest"))
}

// visitDest reports whether a request with this Sec-Fetch-Dest ("" for
// none) is a visit of an app (appVisit).
func visitDest(dest string) bool {
	switch dest {
	case "", "document", "iframe", "frame":
		return true
	}
	return false
}

// pageVisit reports whether a file served from a static site or report
// counts as a visit: an HTML page answered with 200 or 304 to a GET, not
// the page's assets.
func pageVisit(c echo.Context, name string) bool {
	if c.Request().Method != http.MethodGet {
		return false
	}
	if st := c.Response().Status; st != http.StatusOK && st != http.StatusNotModified {
		return false
	}
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// redirect sends /content/{guid} to /content/{guid}/: 301 for GET and
// HEAD, 308 otherwise, so that a client repeats a POST as a POST.
func (h *contentServe) redirect(c echo.Context) error {
	if done, err := h.contentRedirect(c, c.Param("guid")); done {
		return err
	}
	code := http.StatusMovedPermanently
	if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
		code = http.StatusPermanentRedirect
	}
	return c.Redirect(code, publish.ContentPath(c.Param("guid")))
}

// draftPrefix matches the draft preview path under a content
// (publish.DraftPath): "_bundle{id}/".
var draftPrefix = regexp.MustCompile(`^_bundle([0-9]{1,18})(/|$)`)

func (h *contentServe) serve(c echo.Context) error {
	u, guid := CurrentUser(c), c.Param("guid")
	if done, err := h.contentRedirect(c, guid); done {
		return err
	}
	if m := draftPrefix.FindStringSubmatch(c.Param("*")); m != nil {
		return h.serveDraft(c, u, guid, m)
	}
	k := keyOf(u, guid)
	t := h.cache.get(k)
	if t == nil {
		var err error
		if t, err = h.svc.ServeTarget(c.Request().Context(), u, guid); err != nil {
			return h.signIn(c, err)
		}
		if t.App {
			h.cache.put(k, t)
		}
	}
	if t.App {
		if h.apps == nil {
			return podium.Errorf(podium.EUNAVAILABLE, "this node does not run applications")
		}
		// The app's answer carries the app's headers: Podium's nosniff
		// is for what Podium writes (its own error pages keep it).
		c.Response().Header().Del("X-Content-Type-Options")
		if appVisit(c.Request()) {
			h.recordVisit(c, t, c.Param("*"))
		}
		return h.apps.ServeApp(c, t.Content.GUID)
	}
	if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
		return methodNotAllowed(c)
	}
	setFrameOptions(c.Response().Header(), h.frame)
	if err := serveDir(c, t.Dir, c.Param("*"), t.Index, true); err != nil {
		return err
	}
	if name := servedName(c.Param("*"), t.Index); pageVisit(c, name) {
		h.recordVisit(c, t, name)
	}
	return nil
}

// serveDraft serves the preview of a bundle built as a draft, to those who
// may edit the content.
func (h *contentServe) serveDraft(c echo.Context, u *podium.User, guid string, m []string) error {
	id, _ := strconv.ParseInt(m[1], 10, 64)
	if m[2] == "" {
		return c.Redirect(http.StatusMovedPermanently, c.Request().URL.Path+"/")
	}
	t, err := h.svc.ServeDraftTarget(c.Request().Context(), u, guid, id)
	if err != nil {
		return h.signIn(c, err)
	}
	if me := c.Request().Method; me != http.MethodGet && me != http.MethodHead {
		return methodNotAllowed(c)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	setFrameOptions(c.Response().Header(), h.frame)
	return serveDir(c, t.Dir, strings.TrimPrefix(c.Param("*"), m[0]), t.Index, true)
}

// servedName is the file of a bundle that serveDir serves at rel: index
// at the root, index.html in sub-directories.
func servedName(rel, index string) string {
	name := strings.TrimPrefix(path.Clean("/"+rel), "/")
	switch {
	case name == "":
		name = index
	case strings.HasSuffix(rel, "/"):
		name = path.Join(name, "index.html")
	}
	return name
}

// serveDir serves the file rel of dir (index at the root, index.html in
// sub-directories), never listing a directory and never leaving dir
// (os.Root refuses ".." and symlinks that point out).
func serveDir(c echo.Context, dir, rel, index string, sandbox bool) error {
	name := servedName(rel, index)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return podium.Errorf(podium.ENOTFOUND, "not found")
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		// Missing, or refused by the root (a path or link leading out):
		// either way there is nothing here to serve.
		return podium.Errorf(podium.ENOTFOUND, "%s not found", "/"+name)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return podium.Errorf(podium.ENOTFOUND, "%s not found", "/"+name)
	}
	if fi.IsDir() {
		// A directory without a trailing slash: send the browser to it, so
		// its relative links resolve.
		return c.Redirect(http.StatusMovedPermanently, c.Request().URL.Path+"/")
	}
	if !fi.Mode().IsRegular() {
		return podium.Errorf(podium.ENOTFOUND, "%s not found", "/"+name)
	}
	hdr := c.Response().Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-cache")
	if sandbox {
		hdr.Set("Content-Security-Policy", contentCSP)
	}
	http.ServeContent(c.Response(), c.Request(), fi.Name(), fi.ModTime(), f)
	return nil
}

// NotFound answers a request that a route matched but found nothing for
// (a [Server] LandingDir without that file): a vanity URL's content when
// one matches (once ContentServeRoutes is mounted), else 404.
func (s *Server) NotFound(c echo.Context) error {
	if s.notFound == nil {
		return podium.Errorf(podium.ENOTFOUND, "%s not found", c.Request().URL.Path)
	}
	return s.notFound(c)
}

// FastPathSimple reports whether a simple request (GET or HEAD without a
// body or an upgrade) may be served by the fast connection loop
// (internal/fastpath): requests to content, whose answers are the apps'
// and the bundles' own. The same handlers answer them either way.
func FastPathSimple(method string, target []byte) bool {
	return bytes.HasPrefix(target, []byte("/content/"))
}
