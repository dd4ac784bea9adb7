package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/jsonbody"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// errorTestServer is a web.Server with the given limits and two routes: a
// JSON endpoint that decodes its body (as every /__api__/v1/ endpoint does)
// and one that returns an *echo.HTTPError, as a middleware may.
func errorTestServer(t *testing.T, limits web.Limits) *web.Server {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := web.New(web.Options{Log: logrus.NewEntry(log), Limits: limits,
		Health: func(context.Context) (web.PingBody, bool) { return web.PingBody{Status: "ok"}, true }})
	s.Mount([]route.Route{
		{Method: http.MethodPost, Path: "/__api__/v1/things", Handler: func(c echo.Context) error {
			var v struct {
				Name string `json:"name"`
			}
			if err := jsonbody.Decode(c, &v, 1<<20); err != nil {
				return err
			}
			return c.JSON(http.StatusCreated, v)
		}},
		{Method: http.MethodGet, Path: "/__api__/v1/teapot", Handler: func(c echo.Context) error {
			return echo.NewHTTPError(http.StatusBadRequest, "bad id")
		}},
	})
	return s
}

// TestEchoErrorsAnswerPodiumCodes: what echo answers on its own (no
// route, a route with another method) and any *echo.HTTPError a handler
// or middleware returns carry a podium code, which the Go client reads
// back; they answered `code: "Not Found"`.
func TestEchoErrorsAnswerPodiumCodes(t *testing.T) {
	t.Parallel()
	s := errorTestServer(t, web.Limits{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"NoRoute", http.MethodGet, "/__api__/v1/nope", http.StatusNotFound, podium.ENOTFOUND},
		{"WrongMethod", http.MethodDelete, "/__api__/v1/things", http.StatusMethodNotAllowed, podium.EUNSUPPORTED},
		{"HTTPError", http.MethodGet, "/__api__/v1/teapot", http.StatusBadRequest, podium.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Echo.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			var body web.ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: %d %q is not an error body: %v", tc.method, tc.path, rec.Code, rec.Body, err)
			}
			if rec.Code != tc.status || body.Code != tc.code || body.Error == "" {
				t.Fatalf("%s %s: %d %+v, want %d with code %q and a message", tc.method, tc.path, rec.Code, body, tc.status, tc.code)
			}
			if !podium.KnownCode(body.Code) {
				t.Fatalf("code %q is not a podium code", body.Code)
			}
		})
	}
}
