package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// oneSession knows one live session, of user 7.
type oneSession struct{ id []byte }

func (s oneSession) AuthenticateSessionID(_ context.Context, id []byte) (*auth.Session, error) {
	if string(id) != string(s.id) {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "no such session")
	}
	return &auth.Session{User: &podium.User{ID: 7, Username: "reader"}, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

// TestContentCookieTossedBySibling: in the wildcard form, content on a
// sibling sub-domain can set a cookie for the parent domain with a longer
// path, which the browser sends before the reader's own. On https the
// content cookie is __Host-podium_content, which browsers take only from
// its own host: the unprefixed name, which a sibling can set, is never
// read there (a sibling's attacker could otherwise make a reader his own
// account on another item). Whatever the name, a tossed cookie sent first
// (content cookie or a sign-in's state cookie) does not shut the reader
// out: every cookie of the name is tried.
func TestContentCookieTossedBySibling(t *testing.T) {
	t.Parallel()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := New(Options{Log: logrus.NewEntry(log), Address: "https://podium.example", ContentURL: "https://*.content.example", ContentKey: make([]byte, 32),
		Health: func(context.Context) (PingBody, bool) { return PingBody{Status: "ok"}, true }})
	sess := &auth.Session{Token: "the reader's session", User: &podium.User{ID: 7}}
	s.Use(s.Origins(oneSession{id: sess.ID()}))
	s.Mount([]route.Route{{Path: "/content/:guid/*", Handler: func(c echo.Context) error {
		if u := CurrentUser(c); u != nil {
			return c.String(http.StatusOK, "reader "+u.Username)
		}
		return c.String(http.StatusOK, "anonymous")
	}}})
	const guid = "0a6e2f5c-6d3e-4b8a-9a43-2f1e0c5b7d11"
	origin := s.content.Origin(guid).String()
	own := s.content.sign(&grant{Kind: grantCookie, UserID: 7, Session: sess.ID(), Scope: origin, Expires: time.Now().Add(time.Hour).Unix()})
	name := podium.ContentCookieName("https")
	if name != "__Host-podium_content" || podium.ContentCookieName("http") != "podium_content" {
		t.Fatalf("content cookie names: https %q, http %q", name, podium.ContentCookieName("http"))
	}
	get := func(cookie string) string {
		req := httptest.NewRequest("GET", origin+"/content/"+guid+"/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	if got := get(name + "=" + own); got != "reader reader" {
		t.Fatalf("own cookie alone: %q", got)
	}
	for _, tossed := range []string{"junk", "x.y", own + "x"} {
		if got := get(name + "=" + tossed + "; " + name + "=" + own); got != "reader reader" {
			t.Errorf("a tossed %s=%q sent first: %q, want the reader recognised", name, tossed, got)
		}
	}
	if got := get(name + "=junk"); got != "anonymous" {
		t.Errorf("a junk cookie alone: %q, want anonymous", got)
	}
	if got := get("podium_content=" + own); got != "anonymous" {
		t.Errorf("a valid grant under the unprefixed name, which a sibling can set, on https: %q, want anonymous", got)
	}

	// The state cookie of a sign-in: a tossed one of the same name, sent
	// first, does not undo the sign-in.
	h := &contentServe{origin: s.content, sessions: oneSession{id: sess.ID()}}
	state := "the browser's own state, 32 random bytes as base64url"
	ticket := s.content.ticketURL(sess, guid, "/content/"+guid+"/", stateHash(state))
	stateName := contentStateCookie + stateHash(state)[:8]
	e := echo.New()
	req := httptest.NewRequest("GET", ticket, nil)
	req.Header.Set("Cookie", stateName+"=tossed; "+stateName+"="+state)
	rec := httptest.NewRecorder()
	c := e.NewContext(req, rec)
	c.Set(contentHostKey, origin)
	if err := h.redeem(c); err != nil || rec.Code != http.StatusFound {
		t.Fatalf("redeeming with a tossed state cookie sent first: %v, %d %v", err, rec.Code, rec.Header())
	}
	// The cookie as browsers require for the prefix: Secure, Path=/, no
	// Domain.
	var set *http.Cookie
	for _, line := range rec.Header().Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == name {
			set = ck
		}
	}
	if set == nil || !set.Secure || set.Path != "/" || set.Domain != "" || !set.HttpOnly {
		t.Errorf("content cookie set: %+v, want %s, Secure, HttpOnly, Path=/, no Domain (%q)", set, name, rec.Header().Values("Set-Cookie"))
	}
}
