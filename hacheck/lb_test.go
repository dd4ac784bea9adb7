package hacheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/podiumhq/podium"
)

// stickyBalancer is a real HTTP server that behaves like HAProxy with
// "cookie PODIUMNODE insert ... secure": a request without the cookie goes
// to the next node in turn and gets a Secure cookie naming it; a request
// with the cookie goes to that node. secure=false drops the attribute,
// sticky=false ignores the cookie.
func stickyBalancer(t *testing.T, secure, sticky bool) *httptest.Server {
	t.Helper()
	nodes := []string{"n1", "n2"}
	var next atomic.Int64 // handlers may run on several connections
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var node string
		if c, err := r.Cookie("PODIUMNODE"); err == nil && sticky {
			node = c.Value
		} else {
			node = nodes[(next.Add(1)-1)%2]
			http.SetCookie(w, &http.Cookie{Name: "PODIUMNODE", Value: node, Path: "/", Secure: secure, HttpOnly: true})
		}
		w.Header().Set(HeaderNode, node)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runLB runs the load-balancer item against srv reached as
// http://lb.example.test (a name, not loopback: Go's cookie jar treats
// loopback as a secure origin and would hide the difference).
func runLB(t *testing.T, srv *httptest.Server) Result {
	t.Helper()
	addr := strings.TrimPrefix(srv.URL, "http://")
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	c := &checker{opts: Options{LB: "http://lb.example.test", HTTPClient: client},
		live: []*podium.Node{{ID: "n1"}, {ID: "n2"}}, ids: []string{"n1", "n2"}}
	return c.loadBalancer(context.Background())
}

// TestLoadBalancerSecureCookieOverHTTP: a sticky cookie without Secure
// over plain HTTP passes; with Secure it fails, because browsers and
// cookie jars never send it back over HTTP (the shipped HAProxy example
// once did this).
func TestLoadBalancerSecureCookieOverHTTP(t *testing.T) {
	if r := runLB(t, stickyBalancer(t, false, true)); r.Status != Pass {
		t.Errorf("plain cookie over HTTP: %+v, want pass (the cookie pins the client)", r)
	}
	r := runLB(t, stickyBalancer(t, true, true))
	if r.Status != Fail || !strings.Contains(r.Detail, "Secure over plain HTTP") || !strings.Contains(r.Action, "haproxy-tls.cfg") {
		t.Errorf("Secure cookie over HTTP: %+v, want a failure that says why and what to do", r)
	}
}

func TestLoadBalancerNotSticky(t *testing.T) {
	r := runLB(t, stickyBalancer(t, false, false))
	if r.Status != Fail || !strings.Contains(r.Detail, "reached n1, n2") {
		t.Errorf("%+v, want a failure naming both nodes", r)
	}
}
