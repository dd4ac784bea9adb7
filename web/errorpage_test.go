package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/podiumhq/podium/web"
)

// A browser that reaches an error outside the API gets a page with a way
// forward (it used to get JSON); the API and programs keep JSON.
func TestErrorPageForBrowsers(t *testing.T) {
	t.Parallel()
	s := originServer(t, web.Options{})
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, tc := range []struct {
		name, path, accept string
		wantHTML           bool
	}{
		{"BrowserUnknownPath", "/no/such/page?x=1", browser, true},
		{"BrowserUnknownAPIPath", "/__api__/v1/nope", browser, false},
		{"ProgramUnknownPath", "/no/such/page", "*/*", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("Accept", tc.accept)
			rec := httptest.NewRecorder()
			s.Echo.ServeHTTP(rec, req)
			ctype, body := rec.Header().Get("Content-Type"), rec.Body.String()
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", rec.Code, body)
			}
			if !tc.wantHTML {
				if !strings.HasPrefix(ctype, "application/json") {
					t.Fatalf("Content-Type %q, want JSON: %s", ctype, body)
				}
				return
			}
			for _, want := range []string{`href="/__dashboard__/"`, `href="/__login__?next=%2Fno%2Fsuch%2Fpage%3Fx%3D1"`, "Page not found", "There is nothing at /no/such/page."} {
				if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, want) {
					t.Fatalf("Content-Type %q, body lacks %q: %s", ctype, want, body)
				}
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Fatalf("error page CSP %q", csp)
			}
		})
	}
}
