package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/hacheck"
	"github.com/sirupsen/logrus"
)

// Observer counts a request the lane answered, as the metrics middleware
// counts one under route.
type Observer func(route, method string, status int, began time.Time)

// laneRoute is the route template the metrics middleware names a request
// to content by.
const laneRoute = "/content/:guid/*"

// Lane returns the fast lane for internal/fastpath's loop: the app and API
// requests it can answer without the handler chain, because everything
// the chain would decide is known. nil when the configuration makes the
// chain's work necessary for every request: a content origin (its cookie
// and host rules), the https redirect, a sign-in provider that reads
// request headers (proxy), or no apps on this node.
//
// A request takes the lane when it carries no credentials at all (no
// Cookie, no Authorization: the reader is anonymous, as the chain would
// find) and its content is an app whose anonymous access the chain granted
// less than a second ago (the target cache, emptied by every change
// through this node, as for the chain). The lane then writes what the
// chain writes for such a request: the request id (the client's when
// valid, as echo's RequestID), Strict-Transport-Security behind an https
// Address, the node header, the per-write deadline, the usage visit and
// the metrics, and proxies through apps' direct path, whose code is the
// chain's. Anything else, and an app that cannot take the request at
// once, is left to the chain. TestLaneSameAnswers holds the two to the
// same answers.
func (s *Server) Lane(observe Observer) func(http.ResponseWriter, *http.Request) bool {
	h := s.lane
	if h == nil || h.apps == nil || h.origin != nil || s.httpsPort != "" || s.authProvider == config.AuthProxy {
		return nil
	}
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header["Cookie"] != nil || r.Header["Authorization"] != nil || s.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
			return false // a reader to identify, or an access log entry to write: the chain's
		}
		guid, rel, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/content/"), "/")
		if !ok || guid == "" || r.URL.RawPath != "" || draftPrefix.MatchString(rel) {
			// (An escaped path: the router's parameters are the chain's.)
			return false
		}
		t := h.cache.get(targetKey{guid: guid})
		if t == nil || !t.App || t.Content.GUID != guid {
			return false
		}
		began := time.Now()
		var status func() int
		if st, ok := w.(interface{ Status() int }); ok {
			status = st.Status
		}
		hdr := w.Header()
		id := r.Header.Get(echo.HeaderXRequestID)
		if id != "" && !requestIDPattern.MatchString(id) {
			r.Header.Del(echo.HeaderXRequestID)
			id = ""
		}
		var dw http.ResponseWriter = w
		if d := s.limits.WriteTimeout; d > 0 {
			d := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
			defer d.finish()
			dw = d
		}
		served := h.apps.ServeFast(dw, r, guid, func() {
			if id == "" {
				id = randomID()
			}
			hdr.Set(echo.HeaderXRequestID, id)
			if s.httpsAddress {
				hdr.Set("Strict-Transport-Security", HSTS)
			}
			if s.nodeID != "" {
				hdr.Set(hacheck.HeaderNode, s.nodeID)
			}
			if appVisit(r) && h.visits != nil {
				h.visits.Visit(&podium.Visit{ContentID: t.Content.ID, ContentGUID: t.Content.GUID,
					BundleID: t.Content.ActiveBundleID, Path: "/" + rel})
			}
		})
		if served && observe != nil && status != nil {
			observe(laneRoute, r.Method, status(), began)
		}
		return served
	}
}
