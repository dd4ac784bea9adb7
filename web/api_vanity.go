package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// VanityRoutes are Connect's vanity URL endpoints (docs/publishing.md,
// "Vanity URLs"): GET, PUT and DELETE /__api__/v1/content/{guid}/vanity
// and GET /__api__/v1/vanities.
func VanityRoutes(svc publish.VanityService) []route.Route {
	h := &vanityAPI{svc: svc}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/vanities", Handler: h.list},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/vanity", Handler: h.get},
		{Method: http.MethodPut, Path: v1 + "/content/:guid/vanity", Handler: h.set, Audit: podium.AuditVanitySet, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/content/:guid/vanity", Handler: h.delete, Audit: podium.AuditVanityDelete, AuditTarget: "content:{guid}"},
	}
}

type vanityAPI struct{ svc publish.VanityService }

// VanityBody is the JSON of a vanity URL, with Connect's fields.
type VanityBody struct {
	ContentGUID string    `json:"content_guid"`
	Path        string    `json:"path"`
	CreatedTime time.Time `json:"created_time"`
}

func (h *vanityAPI) list(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	list, err := h.svc.VanityList(c.Request().Context(), u)
	if err != nil {
		return err
	}
	out := make([]VanityBody, len(list))
	for i, v := range list {
		out[i] = VanityBody{ContentGUID: v.ContentGUID, Path: v.Path, CreatedTime: v.CreatedAt}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *vanityAPI) get(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	v, err := h.svc.VanityGet(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, VanityBody{ContentGUID: c.Param("guid"), Path: v.Path, CreatedTime: v.CreatedAt})
}

// VanitySetBody is the body of PUT /__api__/v1/content/{guid}/vanity.
type VanitySetBody struct {
	Path  string `json:"path"`
	Force bool   `json:"force"`
}

func (h *vanityAPI) set(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b VanitySetBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	SetAuditDetail(c, "path", b.Path)
	v, err := h.svc.VanitySet(c.Request().Context(), u, c.Param("guid"), b.Path, b.Force)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, VanityBody{ContentGUID: c.Param("guid"), Path: v.Path, CreatedTime: v.CreatedAt})
}

func (h *vanityAPI) delete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if err := h.svc.VanityDelete(c.Request().Context(), u, c.Param("guid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// vanity serves a request that matched no route when its path is under a
// vanity path: as /content/{guid}/ would serve the rest of the path, with
// the same access checks. With a content origin ([Server] ContentURL)
// content is served there only: the vanity URL redirects to the content's
// URL on it (on the content origin itself, paths other than /content/ are
// not served at all). Callers who may not see the content get the answer
// of a path that is no vanity. The vanities are read from the database on
// every such request, so every node serves a change at once.
func (h *contentServe) vanity(c echo.Context) error {
	req := c.Request()
	if OnContentOrigin(c) {
		return podium.Errorf(podium.ENOTFOUND, "%s not found", req.URL.Path)
	}
	guid, vpath, err := h.svc.VanityResolve(req.Context(), req.URL.Path)
	if podium.IsCode(err, podium.ENOTFOUND) {
		if allow := routeMethods(c); len(allow) > 0 {
			// Routes exist at the path for other methods: echo would
			// answer 405 itself, were this catch-all not registered.
			c.Response().Header().Set(echo.HeaderAllow, strings.Join(allow, ", "))
			return echo.NewHTTPError(http.StatusMethodNotAllowed,
				fmt.Sprintf("%s %s is not supported: the path accepts %s", req.Method, req.URL.Path, strings.Join(allow, ", ")))
		}
	}
	if err != nil {
		return err
	}
	// A vanity names its content: to a caller who may not see the content
	// (anonymous callers included), it answers as a path that is no
	// vanity, so that it reveals neither that the content exists nor its
	// GUID (which the redirect to the content origin, or an error of the
	// content's, would carry). A reader who is not logged in gets the
	// not-found page, whose login link comes back here.
	if _, err := h.svc.ServeTarget(req.Context(), CurrentUser(c), guid); podium.IsCode(err, podium.ENOTFOUND) || podium.IsCode(err, podium.EUNAUTHORIZED) {
		return podium.Errorf(podium.ENOTFOUND, "%s not found", req.URL.Path)
	} else if err != nil {
		return err
	}
	lower := publish.VanityLower(req.URL.Path)
	if lower+"/" == vpath {
		// The vanity without its trailing slash: to it, so that relative
		// links resolve (301 for GET and HEAD, 308 otherwise).
		code := http.StatusMovedPermanently
		if !safeMethod(req.Method) {
			code = http.StatusPermanentRedirect
		}
		to := req.URL.Path + "/"
		if req.URL.RawQuery != "" {
			to += "?" + req.URL.RawQuery
		}
		return c.Redirect(code, to)
	}
	rest := req.URL.Path[len(vpath):]
	target := publish.ContentPath(guid) + rest
	if h.origin != nil && !keyAuthorization(req) {
		to := h.origin.Origin(guid).String() + (&url.URL{Path: target}).EscapedPath()
		if req.URL.RawQuery != "" {
			to += "?" + req.URL.RawQuery
		}
		code := http.StatusFound
		if !safeMethod(req.Method) {
			code = http.StatusTemporaryRedirect
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Redirect(code, to)
	}
	// Served here as /content/{guid}/{rest}: the path apps see and the
	// sign-in's way back are the content's own.
	req.URL.Path, req.URL.RawPath = target, ""
	c.SetParamNames("guid", "*")
	c.SetParamValues(guid, rest)
	return h.serve(c)
}

// routeMethods lists the methods that have a route of their own at the
// request's path, other than the request's (nil when none has). A request
// no route matched reaches the vanity catch-all, registered for every
// path with echo.RouteNotFound, which takes precedence over echo's own 405:
// without this, PUT /__api__/v1/content answered 404 "not found" although
// the path exists for GET and POST. OPTIONS is left as it was (404).
func routeMethods(c echo.Context) []string {
	req := c.Request()
	if req.Method == http.MethodOptions {
		return nil
	}
	path := req.URL.RawPath
	if path == "" {
		path = req.URL.Path
	}
	e := c.Echo()
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == req.Method {
			continue
		}
		rc := e.NewContext(nil, nil)
		e.Router().Find(m, path, rc)
		// The catch-all's own path (this request's), or none: no route.
		if p := rc.Path(); p != "" && p != c.Path() {
			out = append(out, m)
		}
	}
	return out
}
