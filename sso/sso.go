// Package sso signs users in through an organisation's single sign-on: an
// OpenID Connect provider (OIDC, the authorization code flow with PKCE)
// or a SAML 2.0 identity provider (SAML, as a service provider). It runs
// the protocols and maps what the provider says about the user (claims or
// attributes) to an Identity; the web layer turns that into a Podium user
// and session (auth.Service.SignInExternal).
//
// Tokens and assertions are verified by maintained libraries
// (github.com/coreos/go-oidc and golang.org/x/oauth2 for OIDC,
// github.com/crewjam/saml for SAML), never parsed by hand here.
//
// The state of a sign-in in progress (OIDC state, nonce and PKCE verifier;
// the SAML request id; where the user was going) travels in a cookie
// sealed with a key every node of a cluster shares (Sealer), so the
// provider may send the browser back to any node.
//
// It imports the domain package and the protocol libraries; it must not
// import echo, web or auth.
package sso

import (
	"errors"
	"fmt"
	"strings"

	"github.com/podiumhq/podium"
)

// Identity is who the provider says signed in, mapped by the configured
// claim or attribute names.
type Identity struct {
	// UniqueID identifies the user at the provider for good (OIDC sub,
	// SAML NameID or a configured attribute).
	UniqueID string
	Username string
	Name     string
	Email    string
	Groups   []string
	// Role is the role the provider gave ("viewer", "publisher" or
	// "admin"), "" when it gave none (the role then comes from the
	// group mappings).
	Role string
}

// Failure kinds: what went wrong, as the user's page and the log say it.
const (
	// KindUnavailable: the provider cannot be reached or answered with
	// an error of its own (down, wrong URL, TLS).
	KindUnavailable = "unavailable"
	// KindMisconfigured: the provider refused Podium's credentials or
	// answered what the configuration does not expect (wrong client
	// secret, missing claim, unknown role).
	KindMisconfigured = "misconfigured"
	// KindExpired: the sign-in's state is missing, expired or belongs to
	// another browser (state mismatch, a replayed or forged callback).
	KindExpired = "expired"
	// KindDenied: the provider or the user refused the sign-in, or the
	// answer failed verification (bad signature, wrong audience).
	KindDenied = "denied"
)

// Error is a failed sign-in. User is safe to show to the user (no
// secret, no provider detail); Err carries the detail for the log.
type Error struct {
	Kind string
	User string
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.User
	}
	return e.User + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func fail(kind, user string, err error) *Error { return &Error{Kind: kind, User: user, Err: err} }

// AsError returns err as an *Error, wrapping an unexpected one as
// KindUnavailable.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return fail(KindUnavailable, "The sign-in could not be completed.", err)
}

// ParseRole maps a provider's role value to Podium's role names: viewer,
// publisher, admin (also administrator). Case is ignored.
func ParseRole(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "viewer":
		return podium.RoleViewer, nil
	case "publisher":
		return podium.RolePublisher, nil
	case "admin", "administrator":
		return podium.RoleAdmin, nil
	}
	return "", fmt.Errorf("role %q is not one of viewer, publisher, administrator", v)
}
