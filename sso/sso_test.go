package sso_test

import (
	"context"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/testidp"
	"github.com/podiumhq/podium/sso"
)

var alice = testidp.User{ID: "u-alice", Username: "alice", Password: "alice-pw-123", First: "Alice", Last: "Liddell",
	Email: "alice@example.com", Groups: []string{"staff", "analysts"}, Role: "publisher"}

var bob = testidp.User{ID: "u-bob", Username: "bob", Password: "bob-pw-123", First: "Bob", Last: "Builder",
	Email: "bob@example.com", Groups: []string{"staff"}}

var carol = testidp.User{ID: "u-carol", Username: "carol", Password: "carol-pw-123", Email: "alice@example.com", EmailUnverified: true}

const redirect = "http://podium.test/__login__/oidc/callback"

func oidcClaims() sso.ClaimNames {
	return sso.ClaimNames{Username: "preferred_username", Name: "name", Email: "email", Groups: "groups", Role: "podium_role"}
}

// browser is an HTTP client with cookies that stops at Podium's URLs
// (there is no Podium here) and returns the URL it stopped at.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == "podium.test" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// oidcLogin drives the provider's login page as a browser would and
// returns the callback's query.
func oidcLogin(t *testing.T, authURL, user, password string) url.Values {
	t.Helper()
	c := browser(t)
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := hiddenID.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login form at the provider: %s %s", resp.Status, body)
	}
	resp, err = c.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: "/login/username"}).String(),
		url.Values{"id": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("provider did not send the browser back to Podium: %s %v", resp.Status, loc)
	}
	return loc.Query()
}

func startOIDC(t *testing.T) (*testidp.OIDC, *sso.OIDC) {
	idp := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{alice, bob, carol}, RedirectURIs: []string{redirect},
		PostLogoutRedirectURIs: []string{"http://podium.test/__login__"}})
	rp := sso.NewOIDC(sso.OIDCOptions{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: podium.Secret(idp.ClientSecret),
		Scopes: []string{"groups"}, Claims: oidcClaims()})
	return idp, rp
}

func TestOIDC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp, rp := startOIDC(t)

	t.Run("OK", func(t *testing.T) {
		u, f, err := rp.Begin(ctx, redirect, "/content/x/")
		if err != nil {
			t.Fatal(err)
		}
		au, _ := url.Parse(u)
		if q := au.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != f.Nonce || q.Get("state") != f.State {
			t.Fatalf("authorization URL lacks PKCE, nonce or state: %s", u)
		}
		id, err := rp.Finish(ctx, redirect, &f, oidcLogin(t, u, "alice", alice.Password))
		if err != nil {
			t.Fatal(err)
		}
		want := sso.Identity{UniqueID: "u-alice", Username: "alice", Name: "Alice Liddell", Email: "alice@example.com", Groups: []string{"staff", "analysts"}, Role: "publisher"}
		if id.UniqueID != want.UniqueID || id.Username != want.Username || id.Name != want.Name || id.Email != want.Email ||
			strings.Join(id.Groups, ",") != "staff,analysts" || id.Role != want.Role {
			t.Fatalf("identity = %+v, want %+v", *id, want)
		}
		if lo := rp.LogoutURL(ctx, "http://podium.test/__login__"); !strings.HasPrefix(lo, idp.Issuer+"/end_session?") || !strings.Contains(lo, "client_id=podium") {
			t.Fatalf("logout URL = %q, want the provider's end_session endpoint", lo)
		}
	})
	t.Run("NoRoleClaim", func(t *testing.T) {
		u, f, _ := rp.Begin(ctx, redirect, "")
		id, err := rp.Finish(ctx, redirect, &f, oidcLogin(t, u, "bob", bob.Password))
		if err != nil {
			t.Fatal(err)
		}
		if id.Role != "" || id.Username != "bob" {
			t.Fatalf("identity = %+v, want bob without a role", *id)
		}
	})
	t.Run("StateMismatch", func(t *testing.T) {
		u, f, _ := rp.Begin(ctx, redirect, "")
		q := oidcLogin(t, u, "alice", alice.Password)
		other := f
		other.State = "attacker-state"
		_, err := rp.Finish(ctx, redirect, &other, q)
		wantKind(t, err, sso.KindExpired)
	})
	t.Run("CodeReplayed", func(t *testing.T) {
		u, f, _ := rp.Begin(ctx, redirect, "")
		q := oidcLogin(t, u, "alice", alice.Password)
		if _, err := rp.Finish(ctx, redirect, &f, q); err != nil {
			t.Fatal(err)
		}
		_, err := rp.Finish(ctx, redirect, &f, q)
		wantKind(t, err, sso.KindExpired)
	})
	t.Run("WrongVerifier", func(t *testing.T) {
		u, f, _ := rp.Begin(ctx, redirect, "")
		q := oidcLogin(t, u, "alice", alice.Password)
		f.Verifier = "an-attacker-who-stole-the-code-has-no-verifier-0123456789abcdef"
		_, err := rp.Finish(ctx, redirect, &f, q)
		if err == nil {
			t.Fatal("a code redeemed without its PKCE verifier was accepted")
		}
	})
	t.Run("WrongNonce", func(t *testing.T) {
		u, f, _ := rp.Begin(ctx, redirect, "")
		q := oidcLogin(t, u, "alice", alice.Password)
		f.Nonce = "another-nonce"
		_, err := rp.Finish(ctx, redirect, &f, q)
		wantKind(t, err, sso.KindDenied)
	})
	t.Run("WrongClientSecret", func(t *testing.T) {
		bad := sso.NewOIDC(sso.OIDCOptions{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: "wrong-secret-value", Claims: oidcClaims()})
		u, f, _ := bad.Begin(ctx, redirect, "")
		_, err := bad.Finish(ctx, redirect, &f, oidcLogin(t, u, "alice", alice.Password))
		e := wantKind(t, err, sso.KindMisconfigured)
		if strings.Contains(e.Error(), "wrong-secret-value") {
			t.Fatalf("the error shows the client secret: %v", e)
		}
		if !strings.Contains(e.Error(), "ClientSecret") {
			t.Fatalf("the error does not tell the administrator what to check: %v", e)
		}
	})
	t.Run("ProviderError", func(t *testing.T) {
		_, f, _ := rp.Begin(ctx, redirect, "")
		_, err := rp.Finish(ctx, redirect, &f, url.Values{"error": {"access_denied"}, "state": {f.State}})
		wantKind(t, err, sso.KindDenied)
	})
}

func TestOIDCProviderDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp, _ := startOIDC(t)
	issuer := idp.Issuer
	idp.Close()
	rp := sso.NewOIDC(sso.OIDCOptions{Issuer: issuer, ClientID: "podium", ClientSecret: "x", Claims: oidcClaims()})
	_, _, err := rp.Begin(ctx, redirect, "")
	e := wantKind(t, err, sso.KindUnavailable)
	if !strings.Contains(e.Err.Error(), issuer+"/.well-known/openid-configuration") {
		t.Fatalf("the log detail does not name the discovery URL: %v", e.Err)
	}
	if rp.Check(ctx) == nil {
		t.Fatal("Check of a provider that is down succeeded")
	}
}

func wantKind(t *testing.T, err error, kind string) *sso.Error {
	t.Helper()
	var e *sso.Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Fatalf("error = %v, want an sso.Error of kind %s", err, kind)
	}
	if e.User == "" {
		t.Fatal("the error has no message for the user")
	}
	t.Logf("refused as expected: %v", e)
	return e
}

func TestSealer(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	key := make([]byte, 32)
	s, err := sso.NewSealer(key, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal(sso.Flow{Protocol: "oidc", State: "st", Next: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "st") && strings.Contains(string(mustB64(v)), "\"st\"") {
		t.Fatal("the sealed state is readable")
	}
	f, err := s.Open(v, "oidc")
	if err != nil || f.State != "st" || f.Next != "/x" {
		t.Fatalf("Open = %+v, %v", f, err)
	}
	t.Run("OtherProtocol", func(t *testing.T) {
		_, err := s.Open(v, "saml")
		wantKind(t, err, sso.KindExpired)
	})
	t.Run("OtherKey", func(t *testing.T) {
		k2 := make([]byte, 32)
		k2[0] = 1
		s2, _ := sso.NewSealer(k2, func() time.Time { return now })
		_, err := s2.Open(v, "oidc")
		wantKind(t, err, sso.KindExpired)
	})
	t.Run("Tampered", func(t *testing.T) {
		b := mustB64(v)
		b[len(b)-1] ^= 1
		_, err := s.Open(base64.RawURLEncoding.EncodeToString(b), "oidc")
		wantKind(t, err, sso.KindExpired)
	})
	t.Run("Expired", func(t *testing.T) {
		later, _ := sso.NewSealer(key, func() time.Time { return now.Add(sso.FlowTTL) })
		_, err := later.Open(v, "oidc")
		wantKind(t, err, sso.KindExpired)
	})
}

func mustB64(s string) []byte {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return b
}

var (
	samlResponseField = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)
)

const podiumBase = "http://podium.test"

func samlAttrs() sso.ClaimNames {
	return sso.ClaimNames{Username: "uid", Name: "cn", Email: "mail", Groups: "eduPersonAffiliation", Role: "role"}
}

// samlLogin signs in at the IdP as a browser would and returns the
// base64 SAMLResponse it posts back.
func samlLogin(t *testing.T, redirectURL, user, password string) string {
	t.Helper()
	c := browser(t)
	resp, err := c.Get(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"user": {user}, "password": {password}}
	for _, f := range []string{"SAMLRequest", "RelayState"} {
		m := regexp.MustCompile(`name="` + f + `" value="([^"]*)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in the IdP's login form: %s", f, body)
		}
		form.Set(f, html.UnescapeString(string(m[1])))
	}
	resp, err = c.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: "/sso"}).String(), form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := samlResponseField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("IdP sent no SAMLResponse: %s %s", resp.Status, body)
	}
	return html.UnescapeString(string(m[1]))
}

func acsRequest(samlResponse string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, podiumBase+"/__login__"+sso.SAMLACSPath,
		strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	return r
}

func startSAML(t *testing.T) (*testidp.SAML, *sso.SAML) {
	idp := testidp.StartSAML(t, []testidp.User{alice, bob})
	sp, err := sso.NewSAML(sso.SAMLOptions{MetadataURL: idp.MetadataURL, BaseURL: podiumBase, Attributes: samlAttrs()}, "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), podiumBase+"/__login__/saml/acs") {
		t.Fatalf("SP metadata has no assertion consumer service: %s", md)
	}
	idp.AddServiceProvider(t, "podium", md)
	return idp, sp
}

func TestSAML(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, sp := startSAML(t)

	t.Run("OK", func(t *testing.T) {
		u, f, err := sp.Begin(ctx, "/content/x/")
		if err != nil {
			t.Fatal(err)
		}
		id, err := sp.Finish(ctx, acsRequest(samlLogin(t, u, "alice", alice.Password)), &f)
		if err != nil {
			t.Fatal(err)
		}
		if id.UniqueID != "alice@example.com" || id.Username != "alice" || id.Name != "Alice Liddell" || id.Email != "alice@example.com" ||
			strings.Join(id.Groups, ",") != "staff,analysts" || id.Role != "publisher" {
			t.Fatalf("identity = %+v", *id)
		}
	})
	t.Run("Replayed", func(t *testing.T) {
		u, f, _ := sp.Begin(ctx, "")
		resp := samlLogin(t, u, "alice", alice.Password)
		if _, err := sp.Finish(ctx, acsRequest(resp), &f); err != nil {
			t.Fatal(err)
		}
		_, err := sp.Finish(ctx, acsRequest(resp), &f)
		wantKind(t, err, sso.KindDenied)
	})
	t.Run("OtherRequest", func(t *testing.T) {
		u, _, _ := sp.Begin(ctx, "")
		_, f2, _ := sp.Begin(ctx, "")
		_, err := sp.Finish(ctx, acsRequest(samlLogin(t, u, "alice", alice.Password)), &f2)
		wantKind(t, err, sso.KindDenied)
	})
	t.Run("Tampered", func(t *testing.T) {
		// The attack: take a genuine response for bob and change who it
		// is about, or what role it gives, keeping the signature.
		u, f, _ := sp.Begin(ctx, "")
		raw, _ := base64.StdEncoding.DecodeString(samlLogin(t, u, "bob", bob.Password))
		for name, forged := range map[string]string{
			"username": strings.Replace(string(raw), ">bob<", ">alice<", 1),
			"groups":   strings.Replace(string(raw), ">staff<", ">admins<", 1),
		} {
			if forged == string(raw) {
				t.Fatalf("%s: nothing to tamper with in %s", name, raw)
			}
			_, err := sp.Finish(ctx, acsRequest(base64.StdEncoding.EncodeToString([]byte(forged))), &f)
			wantKind(t, err, sso.KindDenied)
		}
	})
	t.Run("Unsigned", func(t *testing.T) {
		u, f, _ := sp.Begin(ctx, "")
		raw, _ := base64.StdEncoding.DecodeString(samlLogin(t, u, "bob", bob.Password))
		unsigned := regexp.MustCompile(`(?s)<ds:Signature.*?</ds:Signature>`).ReplaceAllString(string(raw), "")
		if unsigned == string(raw) {
			t.Fatalf("no signature to strip in %s", raw)
		}
		_, err := sp.Finish(ctx, acsRequest(base64.StdEncoding.EncodeToString([]byte(unsigned))), &f)
		wantKind(t, err, sso.KindDenied)
	})
}

func TestSAMLForgedByOtherIdP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A second, genuine IdP with its own key signs a response for the
	// same SP: Podium trusts only the key in its configured IdP's
	// metadata.
	idp, _ := startSAML(t)
	evil, evilSP := startSAML(t)
	sp, err := sso.NewSAML(sso.SAMLOptions{MetadataURL: idp.MetadataURL, BaseURL: podiumBase, Attributes: samlAttrs()}, "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := sp.Begin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	u, _, _ := evilSP.Begin(ctx, "")
	_ = evil
	_, err = sp.Finish(ctx, acsRequest(samlLogin(t, u, "alice", alice.Password)), &f)
	wantKind(t, err, sso.KindDenied)
}

func TestSAMLIdPDown(t *testing.T) {
	t.Parallel()
	idp := testidp.StartSAML(t, nil)
	idp.Close()
	sp, _ := sso.NewSAML(sso.SAMLOptions{MetadataURL: idp.MetadataURL, BaseURL: podiumBase, Attributes: samlAttrs()}, "/__login__")
	_, _, err := sp.Begin(context.Background(), "")
	wantKind(t, err, sso.KindUnavailable)
}

// A username claim the provider does not send falls back to the
// verified email address's local part, and to nothing (refused) when the
// provider does not vouch for the address or the claim is required.
func TestOIDCUsernameFallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp, _ := startOIDC(t)
	for _, tc := range []struct {
		name     string
		user     testidp.User
		claims   sso.ClaimNames
		wantUser string
	}{
		{"FromVerifiedEmail", alice, sso.ClaimNames{Username: "no_such_claim", Email: "email"}, "alice"},
		// carol typed in alice's address: it must not make her "alice".
		{"NotFromUnverifiedEmail", carol, sso.ClaimNames{Username: "no_such_claim", Email: "email"}, ""},
		{"Required", alice, sso.ClaimNames{Username: "no_such_claim", Email: "email", RequireUsername: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp := sso.NewOIDC(sso.OIDCOptions{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: podium.Secret(idp.ClientSecret), Claims: tc.claims})
			u, f, _ := rp.Begin(ctx, redirect, "")
			id, err := rp.Finish(ctx, redirect, &f, oidcLogin(t, u, tc.user.Username, tc.user.Password))
			if tc.wantUser == "" {
				wantKind(t, err, sso.KindMisconfigured)
				return
			}
			if err != nil || id.Username != tc.wantUser {
				t.Fatalf("identity %+v, %v; want username %s", id, err, tc.wantUser)
			}
		})
	}
}

// The IdP's metadata may come from a file ([SAML] IdPMetaDataPath).
func TestSAMLMetadataFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idp, _ := startSAML(t)
	resp, err := http.Get(idp.MetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	md, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	path := t.TempDir() + "/idp.xml"
	if err := os.WriteFile(path, md, 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := sso.NewSAML(sso.SAMLOptions{MetadataPath: path, BaseURL: podiumBase, Attributes: samlAttrs()}, "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	u, f, err := sp.Begin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := sp.Finish(ctx, acsRequest(samlLogin(t, u, "bob", bob.Password)), &f)
	if err != nil || id.Username != "bob" || strings.Join(id.Groups, ",") != "staff" || id.Role != "" {
		t.Fatalf("identity %+v, %v", id, err)
	}
	bad, _ := sso.NewSAML(sso.SAMLOptions{MetadataPath: path + ".missing", BaseURL: podiumBase, Attributes: samlAttrs()}, "/__login__")
	_, _, err = bad.Begin(ctx, "")
	if e := wantKind(t, err, sso.KindUnavailable); !strings.Contains(e.Err.Error(), "IdPMetaDataPath") {
		t.Fatalf("the error does not name the key: %v", e.Err)
	}
}

// The SP asks for a persistent NameID when the NameID is the unique id,
// and for none in particular when an attribute is.
func TestSAMLNameIDFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ unique, want string }{
		{"", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"},
		{"employeeNumber", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
	} {
		a := samlAttrs()
		a.UniqueID = tc.unique
		sp, err := sso.NewSAML(sso.SAMLOptions{MetadataURL: "http://127.0.0.1:1/md", BaseURL: podiumBase, Attributes: a}, "/__login__")
		if err != nil {
			t.Fatal(err)
		}
		md, _ := sp.Metadata()
		if !strings.Contains(string(md), "<NameIDFormat>"+tc.want+"</NameIDFormat>") {
			t.Errorf("UniqueIdAttribute %q: metadata lacks NameIDFormat %s:\n%s", tc.unique, tc.want, md)
		}
	}
}
