package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/fastpath"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// anonTargets is a fake publish.ServeService: content "pub" (id 8, bundle
// 4) is an app anyone may use, signed in or not; nothing else exists.
type anonTargets struct{ publish.ServeService }

func (anonTargets) ServeTarget(_ context.Context, _ *podium.User, guid string) (*publish.Target, error) {
	if guid != "pub" {
		return nil, podium.Errorf(podium.ENOTFOUND, "content not found")
	}
	bundle := int64(4)
	return &publish.Target{App: true, Content: &podium.Content{ID: 8, GUID: guid, ActiveBundleID: &bundle}}, nil
}

// statusRecorder is a ResponseRecorder that tells its status, as the
// fast loop's ResponseWriter does.
type statusRecorder struct{ *httptest.ResponseRecorder }

func (r statusRecorder) Status() int { return r.Code }

// TestLaneAgainstFakes: the lane takes only anonymous requests to app
// content the chain granted to anonymous readers, writes what the chain
// would (request id, node header, the visit, the metrics), and declines,
// having written and recorded nothing, everything else.
func TestLaneAgainstFakes(t *testing.T) {
	t.Parallel()
	proxy, visits := &appProxy{}, &visitLog{}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return a.s.ContentServeRoutes(anonTargets{}, proxy, a.auth, visits)
	})
	var observed []string
	lane := a.s.Lane(func(route, method string, status int, _ time.Time) {
		observed = append(observed, fmt.Sprint(route, " ", method, " ", status))
	})
	if lane == nil {
		t.Fatal("no lane on a node with apps, no content origin, no header sign-in")
	}
	try := func(method, path string, hdr map[string]string) (statusRecorder, bool) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := statusRecorder{httptest.NewRecorder()}
		return rec, lane(rec, req)
	}
	declines := func(why, method, path string, hdr map[string]string) {
		t.Helper()
		nv, na := len(visits.visits), len(proxy.asked)
		rec, ok := try(method, path, hdr)
		if ok {
			t.Fatalf("%s: the lane served %s %s", why, method, path)
		}
		if rec.Body.Len() > 0 || rec.Code != 200 || rec.Header().Get("X-Request-Id") != "" || len(visits.visits) != nv || len(proxy.asked) != na {
			t.Fatalf("%s: the lane declined but wrote or recorded something: %d %q %v, visits %d, asked %v", why, rec.Code, rec.Body, rec.Header(), len(visits.visits)-nv, proxy.asked[na:])
		}
	}

	declines("not granted yet", "GET", "/content/pub/", nil)
	// The chain grants the anonymous reader (and caches it).
	if r := a.browse("GET", "/content/pub/", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("the chain: %d %s", r.Code, r.Body)
	}
	nv := len(visits.visits)
	rec, ok := try("GET", "/content/pub/page?q=1", nil)
	if !ok || rec.Code != 200 || rec.Body.String() != "the app answers GET page" {
		t.Fatalf("the lane: %v %d %q", ok, rec.Code, rec.Body)
	}
	if id := rec.Header().Get("X-Request-Id"); !requestIDPattern.MatchString(id) {
		t.Errorf("request id %q", id)
	}
	if n := rec.Header().Get("X-Podium-Node"); n != "n1" {
		t.Errorf("node header %q", n)
	}
	if got := visits.visits[nv:]; len(got) != 1 || got[0].ContentID != 8 || got[0].ContentGUID != "pub" || got[0].BundleID == nil ||
		*got[0].BundleID != 4 || got[0].Path != "/page" || got[0].UserID != nil {
		t.Fatalf("visits %+v", got)
	}
	if len(observed) != 1 || observed[0] != "/content/:guid/* GET 200" {
		t.Fatalf("metrics %v", observed)
	}
	rec, _ = try("GET", "/content/pub/x", map[string]string{"X-Request-Id": "client-id.1"})
	if id := rec.Header().Get("X-Request-Id"); id != "client-id.1" {
		t.Errorf("a valid client request id became %q", id)
	}
	rec, _ = try("GET", "/content/pub/x", map[string]string{"X-Request-Id": "bad id\x01"})
	if id := rec.Header().Get("X-Request-Id"); id == "bad id\x01" || !requestIDPattern.MatchString(id) {
		t.Errorf("an invalid client request id gave %q", id)
	}
	nv = len(visits.visits)
	if _, ok := try("GET", "/content/pub/app.js", map[string]string{"Sec-Fetch-Dest": "script"}); !ok || len(visits.visits) != nv {
		t.Fatalf("a page's sub-request: served %v, visits %d", ok, len(visits.visits)-nv)
	}

	declines("a session cookie", "GET", "/content/pub/", map[string]string{"Cookie": "podium_session=s1"})
	declines("any cookie", "GET", "/content/pub/", map[string]string{"Cookie": "theme=dark"})
	declines("an API key", "GET", "/content/pub/", map[string]string{"Authorization": "Key k1"})
	declines("other credentials", "GET", "/content/pub/", map[string]string{"Authorization": "Bearer x"})
	declines("a draft", "GET", "/content/pub/_bundle4/", nil)
	declines("an escaped path", "GET", "/content/pub/a%2Fb", nil)
	declines("content not granted", "GET", "/content/other/", nil)
	declines("the content itself", "GET", "/content/pub", nil)
	proxy.full = true
	declines("an app without room", "GET", "/content/pub/", nil)
	proxy.full = false

	for name, opts := range map[string]Options{
		"a content origin":   {ContentURL: "http://content.test", Address: "http://main.test", ContentKey: bytes.Repeat([]byte{1}, 32)},
		"sign-in by header":  {AuthProvider: "proxy"},
		"the https redirect": {HTTPSPort: "8443"},
	} {
		b := mustAPI(t, opts, func(a *api) []route.Route {
			return a.s.ContentServeRoutes(anonTargets{}, proxy, a.auth, visits)
		})
		if b.s.Lane(nil) != nil || b.s.RawLane(nil) != nil {
			t.Errorf("%s: a lane, though the chain's work is needed on every request", name)
		}
	}
	noApps := mustAPI(t, Options{}, func(a *api) []route.Route {
		return a.s.ContentServeRoutes(anonTargets{}, nil, a.auth, nil)
	})
	if noApps.s.Lane(nil) != nil || noApps.s.RawLane(nil) != nil {
		t.Error("a lane on a node without apps")
	}
}

// TestRawLaneAgainstFakes: the raw lane takes what the lane takes when it
// is a GET whose path needs no decoding and whose request id, if any, is
// one valid header; it hands apps the headers the chain would write and
// records the visit; it declines, having asked and recorded nothing,
// everything else. (Where there is no raw lane at all: TestLaneAgainstFakes.)
func TestRawLaneAgainstFakes(t *testing.T) {
	t.Parallel()
	proxy, visits := &appProxy{}, &visitLog{}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return a.s.ContentServeRoutes(anonTargets{}, proxy, a.auth, visits)
	})
	var observed []string
	raw := a.s.RawLane(func(route, method string, status int, _ time.Time, inBytes bool) {
		observed = append(observed, fmt.Sprint(route, " ", method, " ", status, " ", inBytes))
	})
	if raw == nil {
		t.Fatal("no raw lane on a node with apps, no content origin, no header sign-in")
	}
	try := func(method, target string, fields ...string) fastpath.RawResult {
		t.Helper()
		r := &fastpath.RawRequest{Method: method, Target: []byte(target), Host: "podium.test", Remote: "192.0.2.1:1234"}
		for i := 0; i < len(fields); i += 2 {
			r.Fields = append(r.Fields, fastpath.Field{Key: fields[i], Value: []byte(fields[i+1])})
		}
		return raw(r)
	}
	declines := func(why, method, target string, fields ...string) {
		t.Helper()
		nv, na := len(visits.visits), len(proxy.asked)
		if res := try(method, target, fields...); res != fastpath.RawDeclined {
			t.Fatalf("%s: the raw lane took %s %s (%v)", why, method, target, res)
		}
		if len(visits.visits) != nv || len(proxy.asked) != na {
			t.Fatalf("%s: declined but recorded %d visits, asked %v", why, len(visits.visits)-nv, proxy.asked[na:])
		}
	}

	declines("not granted yet", "GET", "/content/pub/")
	if r := a.browse("GET", "/content/pub/", "", nil, nil); r.Code != http.StatusOK {
		t.Fatalf("the chain: %d %s", r.Code, r.Body)
	}
	nv := len(visits.visits)
	if res := try("GET", "/content/pub/page?q=1", "Accept", "*/*"); res != fastpath.RawKeep {
		t.Fatalf("the raw lane: %v", res)
	}
	if got := visits.visits[nv:]; len(got) != 1 || got[0].ContentID != 8 || got[0].ContentGUID != "pub" || got[0].BundleID == nil ||
		*got[0].BundleID != 4 || got[0].Path != "/page" || got[0].UserID != nil {
		t.Fatalf("visits %+v", got)
	}
	hs := map[string]string{}
	for _, h := range proxy.rawHeaders {
		hs[h.Key] = h.Value
	}
	if !requestIDPattern.MatchString(hs["X-Request-Id"]) || hs["X-Podium-Node"] != "n1" || len(hs) != 2 {
		t.Errorf("headers for the answer: %v", proxy.rawHeaders)
	}
	if len(observed) != 1 || observed[0] != "/content/:guid/* GET 200 true" {
		t.Fatalf("metrics %v", observed)
	}
	try("GET", "/content/pub/x", "X-Request-Id", "client-id.1")
	if got := proxy.rawHeaders[0]; got.Value != "client-id.1" {
		t.Errorf("a valid client request id became %q", got.Value)
	}
	nv = len(visits.visits)
	if res := try("GET", "/content/pub/app.js", "Sec-Fetch-Dest", "script", "Sec-Fetch-Dest", "document"); res != fastpath.RawKeep || len(visits.visits) != nv {
		t.Fatalf("a page's sub-request: %v, visits %d", res, len(visits.visits)-nv)
	}
	if res := try("GET", "/content/pub/", "Sec-Fetch-Dest", "iframe"); res != fastpath.RawKeep || len(visits.visits) != nv+1 {
		t.Fatalf("a page in a frame: %v, visits %d", res, len(visits.visits)-nv)
	}

	declines("a HEAD", "HEAD", "/content/pub/")
	declines("a session cookie", "GET", "/content/pub/", "Cookie", "podium_session=s1")
	declines("an API key", "GET", "/content/pub/", "Authorization", "Key k1")
	declines("an invalid request id", "GET", "/content/pub/", "X-Request-Id", "bad id")
	declines("two request ids", "GET", "/content/pub/", "X-Request-Id", "a", "X-Request-Id", "b")
	declines("a draft", "GET", "/content/pub/_bundle4/")
	declines("an escaped path", "GET", "/content/pub/a%2Fb")
	declines("a path net/url would escape", "GET", "/content/pub/a\"b")
	declines("content not granted", "GET", "/content/other/")
	declines("the content itself", "GET", "/content/pub")
	proxy.full = true
	declines("an app that declines", "GET", "/content/pub/")
	proxy.full = false
	// The configurations that need the chain: TestLaneAgainstFakes.
}
