package sso

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/podiumhq/podium"
	"golang.org/x/oauth2"
)

// OIDCOptions configure an OIDC relying party ([OAuth2]).
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret podium.Secret
	// Scopes are asked for besides openid, profile and email.
	Scopes []string
	Claims ClaimNames
	// HTTPClient talks to the provider (nil: a client with a 15 s
	// timeout).
	HTTPClient *http.Client
}

// ClaimNames name the claims (OIDC) or attributes (SAML) an Identity is
// read from.
type ClaimNames struct {
	Username string
	// RequireUsername refuses a sign-in without Username; otherwise the
	// username falls back to the part of Email before the @.
	RequireUsername bool
	Name            string
	Email           string
	// UniqueID "" uses the protocol's subject (OIDC sub, SAML NameID).
	UniqueID string
	Groups   string // "" takes no groups
	Role     string // "" takes no role
}

// OIDC is an OpenID Connect relying party. Discovery happens at the first
// sign-in, and again after a failure, so a node starts while its provider
// is down and signs users in once it is back.
type OIDC struct {
	opts OIDCOptions

	mu       sync.Mutex
	provider *oidc.Provider
	endSess  string
}

// NewOIDC returns a relying party for opts.
func NewOIDC(opts OIDCOptions) *OIDC {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &OIDC{opts: opts}
}

// Issuer returns the configured issuer URL.
func (o *OIDC) Issuer() string { return o.opts.Issuer }

func (o *OIDC) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.opts.HTTPClient)
}

// discover returns the provider, fetching its discovery document if not
// yet done.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.ctx(ctx), o.opts.Issuer)
	if err != nil {
		return nil, fail(KindUnavailable, "The sign-in provider cannot be reached. Please try again later, or tell your administrator.",
			fmt.Errorf("OpenID Connect discovery at %s/.well-known/openid-configuration: %w", strings.TrimSuffix(o.opts.Issuer, "/"), err))
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	o.provider, o.endSess = p, extra.EndSession
	return p, nil
}

// Check fetches the discovery document afresh ("podium ha check"): nil
// when the provider answers with a document for the configured issuer.
func (o *OIDC) Check(ctx context.Context) error {
	_, err := oidc.NewProvider(o.ctx(ctx), o.opts.Issuer)
	return err
}

func (o *OIDC) config(p *oidc.Provider, redirectURL string) *oauth2.Config {
	scopes := []string{oidc.ScopeOpenID, "profile", "email"}
	for _, s := range o.opts.Scopes {
		if s != "" && !contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &oauth2.Config{
		ClientID: o.opts.ClientID, ClientSecret: o.opts.ClientSecret.Reveal(),
		Endpoint: p.Endpoint(), RedirectURL: redirectURL, Scopes: scopes,
	}
}

// Begin starts a sign-in: it returns the provider's authorization URL to
// send the browser to and the Flow to keep in the browser's sealed cookie.
// redirectURL is Podium's callback; next where the user was going.
func (o *OIDC) Begin(ctx context.Context, redirectURL, next string) (string, Flow, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{Protocol: "oidc", State: randomString(24), Nonce: randomString(24), Verifier: oauth2.GenerateVerifier(), Next: next}
	u := o.config(p, redirectURL).AuthCodeURL(f.State, oauth2.S256ChallengeOption(f.Verifier), oidc.Nonce(f.Nonce))
	return u, f, nil
}

// Finish completes a sign-in from the callback's query and the browser's
// Flow: the state must match, the code is exchanged (with the PKCE
// verifier) for tokens, the ID token verified (signature, issuer,
// audience, expiry, nonce), the user info merged in, and the claims
// mapped to an Identity. Errors are *Error.
func (o *OIDC) Finish(ctx context.Context, redirectURL string, f *Flow, q url.Values) (*Identity, error) {
	if e := q.Get("error"); e != "" {
		kind := KindDenied
		if e == "unauthorized_client" || e == "invalid_scope" || e == "invalid_request" || e == "unsupported_response_type" {
			kind = KindMisconfigured
		}
		return nil, fail(kind, "The sign-in provider refused the sign-in.",
			fmt.Errorf("the provider answered error=%s: %s", logSafe(e), logSafe(q.Get("error_description"))))
	}
	if st := q.Get("state"); st == "" || subtle.ConstantTimeCompare([]byte(st), []byte(f.State)) != 1 {
		return nil, fail(KindExpired, "This sign-in expired or was started in another browser. Please sign in again.",
			errors.New("the callback's state does not match the browser's sign-in state (a forged or replayed callback, or a sign-in started in another browser)"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, fail(KindDenied, "The sign-in provider sent no authorization code.", errors.New("callback without code"))
	}
	p, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	cfg := o.config(p, redirectURL)
	tok, err := cfg.Exchange(o.ctx(ctx), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, exchangeError(o.opts.Issuer, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fail(KindMisconfigured, "The sign-in provider sent no ID token.", errors.New("token response without id_token: is the openid scope allowed for this client?"))
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.opts.ClientID}).Verify(o.ctx(ctx), raw)
	if err != nil {
		return nil, fail(KindDenied, "The sign-in provider's answer could not be verified.", fmt.Errorf("ID token: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, fail(KindDenied, "The sign-in provider's answer could not be verified.", errors.New("ID token nonce does not match the sign-in's (a replayed token)"))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, fail(KindDenied, "The sign-in provider's answer could not be read.", fmt.Errorf("ID token claims: %w", err))
	}
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(o.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fail(KindUnavailable, "The sign-in provider did not answer. Please try again later.", fmt.Errorf("userinfo: %w", err))
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			if s, _ := extra["sub"].(string); s != "" && s != idt.Subject {
				return nil, fail(KindDenied, "The sign-in provider's answer could not be verified.", errors.New("userinfo sub differs from the ID token's"))
			}
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	return mapClaims(claims, o.opts.Claims, idt.Subject, "claim")
}

// exchangeError classifies a failed token exchange.
func exchangeError(issuer string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		detail := fmt.Errorf("token endpoint refused the code: %s %s (HTTP %d)", logSafe(re.ErrorCode), logSafe(re.ErrorDescription), re.Response.StatusCode)
		switch re.ErrorCode {
		case "invalid_client", "unauthorized_client":
			return fail(KindMisconfigured, "Podium could not sign you in: the sign-in provider does not accept Podium's credentials. Please tell your administrator.",
				fmt.Errorf("%w: check [OAuth2] ClientId and ClientSecret against the client registered at %s", detail, issuer))
		case "invalid_grant":
			return fail(KindExpired, "This sign-in expired. Please sign in again.", detail)
		}
		if re.Response.StatusCode == http.StatusUnauthorized {
			return fail(KindMisconfigured, "Podium could not sign you in: the sign-in provider does not accept Podium's credentials. Please tell your administrator.",
				fmt.Errorf("%w: check [OAuth2] ClientId and ClientSecret", detail))
		}
		return fail(KindDenied, "The sign-in provider refused the sign-in.", detail)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fail(KindUnavailable, "The sign-in provider cannot be reached. Please try again later, or tell your administrator.", fmt.Errorf("token endpoint: %w", err))
	}
	return fail(KindUnavailable, "The sign-in provider did not answer as expected. Please try again later, or tell your administrator.", fmt.Errorf("token endpoint: %w", err))
}

// LogoutURL returns the provider's end_session_endpoint with client_id
// and post_logout_redirect_uri (RP-initiated logout), "" when the
// provider has none or cannot be reached.
func (o *OIDC) LogoutURL(ctx context.Context, postLogout string) string {
	if _, err := o.discover(ctx); err != nil {
		return ""
	}
	o.mu.Lock()
	end := o.endSess
	o.mu.Unlock()
	u, err := url.Parse(end)
	if end == "" || err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", o.opts.ClientID)
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// mapClaims reads an Identity from claims (OIDC claims or SAML
// attributes, each a string or a list). subject is the protocol's own
// identifier; what names the kind of value in errors.
func mapClaims(claims map[string]any, n ClaimNames, subject, what string) (*Identity, error) {
	id := &Identity{UniqueID: subject}
	if n.UniqueID != "" {
		id.UniqueID = first(claims[n.UniqueID])
	}
	if id.UniqueID == "" {
		return nil, fail(KindMisconfigured, "The sign-in provider did not say who you are. Please tell your administrator.",
			fmt.Errorf("the unique id %s %q is missing or empty", what, n.UniqueID))
	}
	id.Username = first(claims[n.Username])
	id.Name = first(claims[n.Name])
	id.Email = first(claims[n.Email])
	// The fallback takes only an address the provider verified: an
	// address a user typed in could otherwise name another's account.
	if verified, _ := claims["email_verified"].(bool); id.Username == "" && !n.RequireUsername && verified {
		id.Username, _, _ = strings.Cut(id.Email, "@")
	}
	if id.Username == "" {
		return nil, fail(KindMisconfigured, "The sign-in provider did not send your username. Please tell your administrator.",
			fmt.Errorf("the username %s %q is missing (user with unique id %s)", what, n.Username, logSafe(id.UniqueID)))
	}
	if n.Groups != "" {
		id.Groups = list(claims[n.Groups])
	}
	if n.Role != "" {
		if v := first(claims[n.Role]); v != "" {
			r, err := ParseRole(v)
			if err != nil {
				return nil, fail(KindMisconfigured, "The sign-in provider gave you a role Podium does not know. Please tell your administrator.",
					fmt.Errorf("the role %s %q of user %s: %w", what, n.Role, logSafe(id.Username), err))
			}
			id.Role = r
		}
	}
	return id, nil
}

// first returns v as a string: itself, or the first element of a list.
func first(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case []string:
		if len(t) > 0 {
			return strings.TrimSpace(t[0])
		}
	case []any:
		if len(t) > 0 {
			s, _ := t[0].(string)
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// list returns v as a list of non-empty strings.
func list(v any) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	switch t := v.(type) {
	case string:
		add(t)
	case []string:
		for _, s := range t {
			add(s)
		}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

// logSafe bounds a provider-sent string before it reaches the log.
func logSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
