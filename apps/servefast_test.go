package apps_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/podiumhq/podium/apps"
)

// TestServeFast: the fast lane's entry proxies a request the direct path
// takes, counted once; it declines, having counted and written nothing,
// a request it cannot take (the standard proxy path, a path not under
// the content), which ServeApp then counts.
func TestServeFast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opt   func(*apps.Options)
		path  string
		taken bool
	}{
		{"direct path", nil, "/content/" + guid + "/", true},
		{"not under the content", nil, "/content/" + guid, false},
		{"standard path", func(o *apps.Options) { o.Proxy = apps.ProxyStandard }, "/content/" + guid + "/", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setupWith(t, defaults(), tc.opt)
			getJSON(t, mustRequest(t, http.MethodGet, f.base)) // a process is up
			before := f.sup.Stats().Requests
			rec := httptest.NewRecorder()
			accepted := 0
			taken := f.sup.ServeFast(rec, httptest.NewRequest(http.MethodGet, tc.path, nil), guid, func() { accepted++ })
			if taken != tc.taken {
				t.Fatalf("ServeFast = %v, want %v", taken, tc.taken)
			}
			counted := f.sup.Stats().Requests - before
			switch {
			case taken && (rec.Code != http.StatusOK || accepted != 1 || counted != 1):
				t.Fatalf("taken: %d, accepted %d times, counted %d", rec.Code, accepted, counted)
			case !taken && (rec.Body.Len() != 0 || len(rec.Header()) != 0 || accepted != 0 || counted != 0):
				t.Fatalf("declined but wrote %q %v, accepted %d times, counted %d", rec.Body, rec.Header(), accepted, counted)
			}
		})
	}
}
