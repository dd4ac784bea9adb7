package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/publish"
)

// TestContentOriginTickets follows a reader to restricted content on the
// content origin through package web's handlers alone (real accounts and
// publishing services over SQLite): the content origin sends the
// anonymous reader to the main origin with a state cookie; the main
// origin asks for a login, then answers with a ticket; the ticket,
// redeemed by the browser holding the state, gives the content origin's
// cookie, which names the reader there. A ticket is redeemed once, only
// by that browser, before it expires, for a session still alive; the
// main origin issues tickets only for paths under /content/.
func TestContentOriginTickets(t *testing.T) {
	t.Parallel()
	const main, content = "http://podium.example", "http://content.example"
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	dbprovidertest.MustUp(t, db)
	log := quietLog()
	a := auth.New(db, log, auth.Options{Hash: auth.CheapHashParams})
	pub := publish.New(publish.Options{DB: db, DataDir: t.TempDir(), NodeID: "n1", Log: log, EnvKey: bytes.Repeat([]byte{7}, 32)})
	s := New(Options{Log: log, Audit: &auditRows{}, NodeID: "n1", Address: main, ContentURL: content, ContentKey: bytes.Repeat([]byte{9}, 32)})
	s.Use(s.Origins(a))
	s.Use(Authenticate(a))
	s.Mount(s.AccountRoutes(a, nil))
	s.Mount(s.ContentServeRoutes(pub, nil, a, nil))

	owner, err := a.CreateUser(ctx, auth.CreateUserParams{Username: "pat", Role: podium.RolePublisher, Password: "a long password of pat"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := pub.ContentCreate(ctx, owner, publish.ContentCreateRequest{Name: "site"})
	if err != nil {
		t.Fatal(err)
	}
	page := "/content/" + c.GUID + "/"
	get := func(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Dest", "document")
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		return rec
	}
	location := func(t *testing.T, rec *httptest.ResponseRecorder, prefix string) string {
		t.Helper()
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusFound || !strings.HasPrefix(loc, prefix) {
			t.Fatalf("answer %d to %q, want a redirect to %s…: %s", rec.Code, loc, prefix, rec.Body)
		}
		return loc
	}
	sess, err := a.CreateSession(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	session := &http.Cookie{Name: SessionCookie, Value: sess.Token}

	// begin runs the flow up to the ticket: the browser's state cookie
	// and the ticket URL on the content origin.
	begin := func(t *testing.T) (*http.Cookie, string) {
		t.Helper()
		rec := get(content + page)
		auth := location(t, rec, main+ContentAuthPath+"?to="+url.QueryEscape(page)+"&state=")
		var state *http.Cookie
		for _, ck := range rec.Result().Cookies() {
			if strings.HasPrefix(ck.Name, contentStateCookie) {
				state = ck
			}
		}
		if state == nil || state.Path != ContentAuthPath || !state.HttpOnly {
			t.Fatalf("state cookie %+v, want one on %s, HttpOnly", state, ContentAuthPath)
		}
		// Not logged in on the main origin: the login page, coming back.
		location(t, get(auth), LoginPath+"?next="+url.QueryEscape(strings.TrimPrefix(auth, main)))
		return state, location(t, get(auth, session), content+ContentAuthPath+"?ticket=")
	}

	t.Run("OK", func(t *testing.T) {
		state, ticket := begin(t)
		rec := get(ticket, state)
		if location(t, rec, page) != page {
			t.Fatalf("redeemed: sent to %q, want %q", rec.Header().Get("Location"), page)
		}
		own := cookie(t, rec, podium.ContentCookieName("http"))
		if !own.HttpOnly || own.Path != "/" {
			t.Fatalf("content cookie %+v", own)
		}
		if cleared := setCookie(rec, state.Name); cleared == nil || cleared.MaxAge >= 0 {
			t.Fatalf("state cookie after the redeem: %+v, want it deleted", cleared)
		}
		// The reader is known on the content origin (the content was never
		// deployed: not the 401 an anonymous reader gets, nor a redirect).
		if rec := get(content+page, own); rec.Code == http.StatusUnauthorized || rec.Code == http.StatusFound {
			t.Fatalf("the content with the content cookie: %d %v", rec.Code, rec.Header())
		}
		// Once only.
		if rec := get(ticket, state); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "already used") {
			t.Fatalf("the ticket redeemed again: %d %s", rec.Code, rec.Body)
		}
		// The session ends: the cookie names nobody.
		if err := a.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if rec := get(content+page, own); rec.Code != http.StatusFound {
			t.Fatalf("the content cookie of an ended session: %d, want the sign-in again", rec.Code)
		}
		sess, err = a.CreateSession(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		session.Value = sess.Token
	})
	t.Run("AnotherBrowser", func(t *testing.T) {
		_, ticket := begin(t)
		other := &http.Cookie{Name: contentStateCookie + "xxxxxxxx", Value: "another browser's state"}
		for _, cks := range [][]*http.Cookie{nil, {other}} {
			if rec := get(ticket, cks...); rec.Code != http.StatusUnauthorized || hasSetCookie(rec, podium.ContentCookieName("http")) {
				t.Fatalf("a ticket redeemed without its state cookie %v: %d %s", cks, rec.Code, rec.Body)
			}
		}
	})
	t.Run("Forged", func(t *testing.T) {
		state, ticket := begin(t)
		u, _ := url.Parse(ticket)
		tk := u.Query().Get("ticket")
		forged := content + ContentAuthPath + "?ticket=" + url.QueryEscape(tk[:len(tk)-2]+"AA")
		if rec := get(forged, state); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a ticket with a wrong signature: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		state, ticket := begin(t)
		s.content.now = func() time.Time { return time.Now().Add(ticketTTL + time.Second) }
		defer func() { s.content.now = time.Now }()
		if rec := get(ticket, state); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a ticket redeemed after %s: %d %s", ticketTTL, rec.Code, rec.Body)
		}
	})
	t.Run("SessionEnded", func(t *testing.T) {
		state, ticket := begin(t)
		if err := a.Logout(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if rec := get(ticket, state); rec.Code != http.StatusUnauthorized || hasSetCookie(rec, podium.ContentCookieName("http")) {
			t.Fatalf("a ticket of a session logged out since: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("MainOrigin", func(t *testing.T) {
		// Not a content path: refused; no state: begin on the content
		// origin.
		if rec := get(main + ContentAuthPath + "?to=%2F__dashboard__%2F&state=" + stateHash("x")); rec.Code != http.StatusBadRequest {
			t.Fatalf("a ticket asked for the dashboard: %d %s", rec.Code, rec.Body)
		}
		if loc := location(t, get(main+ContentAuthPath+"?to="+url.QueryEscape(page)), content); loc != content+page {
			t.Fatalf("a ticket asked without a state: sent to %q, want the content origin's %s", loc, page)
		}
	})
}
