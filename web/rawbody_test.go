package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// TestRawBodyRoutesTakeAnyBytes: a bundle upload takes its body as bytes
// whatever its Content-Type (curl --data-binary labels it a form), while
// the text check still refuses a form that is not text on other routes.
func TestRawBodyRoutesTakeAnyBytes(t *testing.T) {
	t.Parallel()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := web.New(web.Options{Log: logrus.NewEntry(log), Health: func(context.Context) (web.PingBody, bool) { return web.PingBody{}, true }})
	count := func(c echo.Context) error {
		b, err := io.ReadAll(c.Request().Body)
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(len(b)))
	}
	s.Mount([]route.Route{
		{Method: http.MethodPost, Path: "/upload/:id", Handler: count, RawBody: true},
		{Method: http.MethodPost, Path: "/form/:id", Handler: count},
	})
	// Not text, and not a valid form (a ';' separator, a bad escape).
	body := []byte("\x1f\x8b\x08\x00;%zz\xff\x00=\xfe")
	for _, tc := range []struct {
		path, ctype string
		want        int
	}{
		{"/upload/1", "application/x-www-form-urlencoded", http.StatusOK},
		{"/upload/1", "application/json", http.StatusOK},
		{"/upload/1", "", http.StatusOK},
		{"/form/1", "application/x-www-form-urlencoded", http.StatusBadRequest},
	} {
		req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader(body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("POST %s (%q): %d %s, want %d", tc.path, tc.ctype, rec.Code, rec.Body, tc.want)
		} else if tc.want == http.StatusOK && rec.Body.String() != strconv.Itoa(len(body)) {
			t.Errorf("POST %s (%q): handler read %s bytes, want %d", tc.path, tc.ctype, rec.Body, len(body))
		}
	}
}
