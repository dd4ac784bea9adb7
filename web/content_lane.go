package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/fastpath"
	"github.com/podiumhq/podium/publish"
	"github.com/sirupsen/logrus"
)

// Observer counts a request the lane answered, as the metrics middleware
// counts one under route.
type Observer func(route, method string, status int, began time.Time)

// RawObserver is Observer for the raw lane: inBytes when the app's answer
// was passed on as bytes (not through the fallback).
type RawObserver func(route, method string, status int, began time.Time, inBytes bool)

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
		t := h.laneApp(guid)
		if t == nil {
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
			for _, x := range s.laneHeaders(id) {
				hdr.Set(x.Key, x.Value)
			}
			if appVisit(r) {
				h.visit(t, rel, nil)
			}
		})
		if served && observe != nil && status != nil {
			observe(laneRoute, r.Method, status(), began)
		}
		return served
	}
}

// RawLane returns the raw lane for internal/fastpath's loop: the lane's
// requests (see Lane), taken before the loop builds anything for them and
// proxied in bytes by apps' ServeRaw. It takes a GET that the lane would
// take whose path needs no decoding (no escapes, nothing net/url would
// escape again) and whose request id, if any, is one valid header; the
// rest goes on to the lane and the chain. nil when Lane is nil.
func (s *Server) RawLane(observe RawObserver) func(*fastpath.RawRequest) fastpath.RawResult {
	if s.Lane(nil) == nil {
		return nil
	}
	h := s.lane
	return func(r *fastpath.RawRequest) fastpath.RawResult {
		if r.Method != http.MethodGet || s.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
			return fastpath.RawDeclined
		}
		id := ""
		ids, dests := 0, 0
		visit := true
		for _, f := range r.Fields {
			switch f.Key {
			case "Cookie", "Authorization":
				return fastpath.RawDeclined // a reader to identify: the chain's
			case echo.HeaderXRequestID:
				if ids++; ids > 1 || !requestIDPattern.Match(f.Value) {
					return fastpath.RawDeclined // one the app must not get: the lane drops it
				}
				id = string(f.Value)
			case "Sec-Fetch-Dest":
				if dests++; dests == 1 { // appVisit reads the first
					visit = visitDest(string(f.Value))
				}
			}
		}
		path, _, _ := bytes.Cut(r.Target, []byte{'?'})
		rest, ok := bytes.CutPrefix(path, []byte("/content/"))
		if !ok || !plainPath(rest) {
			return fastpath.RawDeclined
		}
		g, rel, ok := bytes.Cut(rest, []byte{'/'})
		if !ok || len(g) == 0 || draftPrefix.Match(rel) {
			return fastpath.RawDeclined
		}
		guid := string(g)
		t := h.laneApp(guid)
		if t == nil {
			return fastpath.RawDeclined
		}
		began := time.Now()
		status, keep := h.apps.ServeRaw(r, guid, s.laneHeaders(id), func() {
			if visit {
				h.visit(t, string(rel), nil)
			}
		})
		if status == 0 {
			return fastpath.RawDeclined
		}
		if observe != nil {
			observe(laneRoute, http.MethodGet, status, began, !r.FellBack())
		}
		if !keep {
			return fastpath.RawClose
		}
		return fastpath.RawKeep
	}
}

// laneApp is the app at guid when the chain granted it to anonymous
// readers less than a second ago (the target cache); nil otherwise.
func (h *contentServe) laneApp(guid string) *publish.Target {
	t := h.cache.get(targetKey{guid: guid})
	if t == nil || !t.App || t.Content.GUID != guid {
		return nil
	}
	return t
}

// laneHeaders are the headers the chain gives an app's answer, which the
// lanes write themselves: the request id (id, the client's valid one, or
// a new one when ""), Strict-Transport-Security behind an https Address,
// the node header.
func (s *Server) laneHeaders(id string) []apps.RawHeader {
	if id == "" {
		id = randomID()
	}
	hs := make([]apps.RawHeader, 1, 3)
	hs[0] = apps.RawHeader{Key: echo.HeaderXRequestID, Value: id}
	if s.httpsAddress {
		hs = append(hs, apps.RawHeader{Key: "Strict-Transport-Security", Value: HSTS})
	}
	if s.nodeID != "" {
		hs = append(hs, apps.RawHeader{Key: hacheck.HeaderNode, Value: s.nodeID})
	}
	return hs
}

// plainPath reports whether p is a path net/url reads and writes back
// unchanged, without decoding: unreserved characters, sub-delimiters, ':',
// '@' and '/' only.
func plainPath(p []byte) bool {
	for _, c := range p {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		default:
			return false
		}
	}
	return true
}
