package config

import (
	"net/url"
	"strings"

	"github.com/podiumhq/podium"
)

// OAuth2Config is the [OAuth2] section: sign-in through an OpenID Connect
// provider ([Authentication] Provider = oidc). The names are Posit
// Connect's, so that an administrator moving from Connect recognises them.
type OAuth2Config struct {
	// ClientId is the client (application) id registered at the provider.
	ClientId string
	// ClientSecret is the client's secret. It is sent to the provider's
	// token endpoint only, and never logged.
	ClientSecret podium.Secret
	// OpenIDConnectIssuer is the provider's issuer URL; its discovery
	// document is {issuer}/.well-known/openid-configuration.
	OpenIDConnectIssuer string
	// CustomScope lists scopes asked for besides openid, profile and
	// email (for example groups).
	CustomScope []string
	// UsernameClaim names the claim that holds the username. Default
	// preferred_username.
	UsernameClaim string
	// RequireUsernameClaim refuses a sign-in whose UsernameClaim is
	// missing; when false (the default) the username falls back to the
	// part of the email address before the @, when the provider says it
	// verified the address (email_verified).
	RequireUsernameClaim bool
	// NameClaim names the claim with the user's display name. Default name.
	NameClaim string
	// EmailClaim names the claim with the user's email address. Default email.
	EmailClaim string
	// UniqueIdClaim names the claim that identifies the user for good
	// (it survives a renamed username). Default sub.
	UniqueIdClaim string
	// GroupsClaim names the claim listing the user's groups ("" takes no
	// groups from the provider). Default groups.
	GroupsClaim string
	// RoleClaim names a claim whose value is the user's role (viewer,
	// publisher or admin); "" (the default) maps the role from groups
	// ([Authorization]).
	RoleClaim string
	// DisplayName names the provider on the login page ("Sign in with
	// {DisplayName}"). Default the issuer's host name.
	DisplayName string
	// LogoutAtProvider sends a browser that logs out of Podium on to the
	// provider's end_session_endpoint, when the provider has one. Default true.
	LogoutAtProvider bool
}

// SAMLConfig is the [SAML] section: sign-in through a SAML 2.0 identity
// provider ([Authentication] Provider = saml).
type SAMLConfig struct {
	// IdPMetaDataURL is where the identity provider publishes its
	// metadata (fetched at start and by "podium ha check").
	IdPMetaDataURL string
	// IdPMetaDataPath is a file holding the identity provider's metadata,
	// instead of IdPMetaDataURL.
	IdPMetaDataPath string
	// DisplayName names the provider on the login page. Default the
	// metadata URL's host name.
	DisplayName string
	// SPEntityID is this service provider's entity id. Default the SP
	// metadata URL, {Server.Address}/__login__/saml/metadata.
	SPEntityID string
	// SPCertificate and SPKey are PEM files of the certificate and key
	// the service provider signs its requests with and publishes in its
	// metadata (so that the provider may encrypt assertions). Optional.
	SPCertificate string
	SPKey         string
	// UniqueIdAttribute names the attribute that identifies the user for
	// good; "" (the default) uses the assertion's NameID.
	UniqueIdAttribute string
	// UsernameAttribute names the attribute with the username. Default uid.
	UsernameAttribute string
	// NameAttribute names the attribute with the display name. Default cn.
	NameAttribute string
	// EmailAttribute names the attribute with the email address. Default mail.
	EmailAttribute string
	// GroupsAttribute names the attribute listing the user's groups ("" for
	// none). Default eduPersonAffiliation.
	GroupsAttribute string
	// RoleAttribute names an attribute whose value is the user's role; ""
	// (the default) maps the role from groups.
	RoleAttribute string
}

// ssoKeys are the keys of [OAuth2] and [SAML].
func ssoKeys() []key {
	return []key{
		{section: "OAuth2", name: "ClientId", field: func(c *Config) any { return &c.OAuth2.ClientId }},
		{section: "OAuth2", name: "ClientSecret", field: func(c *Config) any { return &c.OAuth2.ClientSecret }},
		{section: "OAuth2", name: "OpenIDConnectIssuer", field: func(c *Config) any { return &c.OAuth2.OpenIDConnectIssuer }},
		{section: "OAuth2", name: "CustomScope", field: func(c *Config) any { return &c.OAuth2.CustomScope }},
		{section: "OAuth2", name: "UsernameClaim", field: func(c *Config) any { return &c.OAuth2.UsernameClaim }},
		{section: "OAuth2", name: "RequireUsernameClaim", field: func(c *Config) any { return &c.OAuth2.RequireUsernameClaim }},
		{section: "OAuth2", name: "NameClaim", field: func(c *Config) any { return &c.OAuth2.NameClaim }},
		{section: "OAuth2", name: "EmailClaim", field: func(c *Config) any { return &c.OAuth2.EmailClaim }},
		{section: "OAuth2", name: "UniqueIdClaim", field: func(c *Config) any { return &c.OAuth2.UniqueIdClaim }},
		{section: "OAuth2", name: "GroupsClaim", field: func(c *Config) any { return &c.OAuth2.GroupsClaim }},
		{section: "OAuth2", name: "RoleClaim", field: func(c *Config) any { return &c.OAuth2.RoleClaim }},
		{section: "OAuth2", name: "DisplayName", field: func(c *Config) any { return &c.OAuth2.DisplayName }},
		{section: "OAuth2", name: "LogoutAtProvider", field: func(c *Config) any { return &c.OAuth2.LogoutAtProvider }},

		{section: "SAML", name: "IdPMetaDataURL", field: func(c *Config) any { return &c.SAML.IdPMetaDataURL }},
		{section: "SAML", name: "IdPMetaDataPath", path: true, field: func(c *Config) any { return &c.SAML.IdPMetaDataPath }},
		{section: "SAML", name: "DisplayName", field: func(c *Config) any { return &c.SAML.DisplayName }},
		{section: "SAML", name: "SPEntityID", field: func(c *Config) any { return &c.SAML.SPEntityID }},
		{section: "SAML", name: "SPCertificate", path: true, field: func(c *Config) any { return &c.SAML.SPCertificate }},
		{section: "SAML", name: "SPKey", path: true, field: func(c *Config) any { return &c.SAML.SPKey }},
		{section: "SAML", name: "UniqueIdAttribute", field: func(c *Config) any { return &c.SAML.UniqueIdAttribute }},
		{section: "SAML", name: "UsernameAttribute", field: func(c *Config) any { return &c.SAML.UsernameAttribute }},
		{section: "SAML", name: "NameAttribute", field: func(c *Config) any { return &c.SAML.NameAttribute }},
		{section: "SAML", name: "EmailAttribute", field: func(c *Config) any { return &c.SAML.EmailAttribute }},
		{section: "SAML", name: "GroupsAttribute", field: func(c *Config) any { return &c.SAML.GroupsAttribute }},
		{section: "SAML", name: "RoleAttribute", field: func(c *Config) any { return &c.SAML.RoleAttribute }},
	}
}

func defaultOAuth2() OAuth2Config {
	return OAuth2Config{
		UsernameClaim: "preferred_username", NameClaim: "name", EmailClaim: "email",
		UniqueIdClaim: "sub", GroupsClaim: "groups", LogoutAtProvider: true,
	}
}

func defaultSAML() SAMLConfig {
	return SAMLConfig{
		UsernameAttribute: "uid", NameAttribute: "cn", EmailAttribute: "mail",
		GroupsAttribute: "eduPersonAffiliation",
	}
}

// validateOIDC checks [OAuth2] for [Authentication] Provider = oidc.
func (l *loader) validateOIDC() {
	c := &l.cfg.OAuth2
	if c.ClientId == "" {
		l.bad("OAuth2.ClientId", "is required with [Authentication] Provider = oidc: set the client id registered at the OpenID Connect provider")
	}
	if c.ClientSecret == "" {
		l.bad("OAuth2.ClientSecret", "is required with [Authentication] Provider = oidc: set the client secret the provider gave for ClientId")
	}
	if !httpURL(c.OpenIDConnectIssuer) {
		l.bad("OAuth2.OpenIDConnectIssuer", "must be the provider's issuer, an http(s) URL such as https://sso.example.com/realms/staff (its discovery document is {issuer}/.well-known/openid-configuration)")
	}
	for _, k := range []struct{ id, v string }{{"OAuth2.UsernameClaim", c.UsernameClaim}, {"OAuth2.UniqueIdClaim", c.UniqueIdClaim}} {
		if strings.TrimSpace(k.v) == "" {
			l.bad(k.id, "must name a claim")
		}
	}
}

// validateSAML checks [SAML] for [Authentication] Provider = saml.
func (l *loader) validateSAML() {
	c := &l.cfg.SAML
	switch {
	case c.IdPMetaDataURL == "" && c.IdPMetaDataPath == "":
		l.bad("SAML.IdPMetaDataURL", "is required with [Authentication] Provider = saml: set the identity provider's metadata URL, or [SAML] IdPMetaDataPath to a file holding it")
	case c.IdPMetaDataURL != "" && c.IdPMetaDataPath != "":
		l.bad("SAML.IdPMetaDataPath", "and [SAML] IdPMetaDataURL are both set: keep one")
	case c.IdPMetaDataURL != "" && !httpURL(c.IdPMetaDataURL):
		l.bad("SAML.IdPMetaDataURL", "must be an http(s) URL")
	}
	if (c.SPCertificate == "") != (c.SPKey == "") {
		l.bad("SAML.SPCertificate", "and [SAML] SPKey go together: set both (PEM files) or neither")
	}
	if l.cfg.Server.Address == "" && c.SPEntityID == "" {
		l.bad("Server.Address", "is required with [Authentication] Provider = saml: the identity provider sends users back to {Address}/__login__/saml/acs")
	}
	if strings.TrimSpace(c.UsernameAttribute) == "" {
		l.bad("SAML.UsernameAttribute", "must name an attribute")
	}
}

// httpURL reports whether s is an absolute http or https URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
