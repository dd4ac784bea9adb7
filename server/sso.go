package server

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/keyfile"
	"github.com/sirupsen/logrus"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/sso"
	"github.com/podiumhq/podium/web"
)

// SSOKeyFile, under [Server] DataDir (shared by every node of a cluster),
// holds the key that seals the state of sign-ins in progress (OIDC state,
// nonce and PKCE verifier; the SAML request id): the provider may send
// the browser back to any node.
const SSOKeyFile = "secrets/sso-state.key"

// newSSO returns, when provider ([Authentication] Provider) is oidc or
// saml (nil, nil otherwise), the single sign-on the login pages sign in
// through, and the probe of the provider's discovery document or
// metadata.
func newSSO(cfg *config.Config, provider string, log *logrus.Entry) (*web.SSO, *hacheck.SSOProbe, error) {
	o, err := SSOFromConfig(cfg, provider)
	if err != nil || o == nil {
		return nil, nil, err
	}
	return o, hacheck.NewSSOProbe(hacheck.SSOFacts{Provider: provider, Settings: SSOSettings(cfg, provider), Source: ssoSource(cfg, provider)},
		o.Check, time.Minute, log), nil
}

// SSOSettings is the sign-in configuration of cfg for provider as one
// line, for "podium ha check" to compare across nodes: secrets as the
// first 8 bytes of their SHA-256, never in the clear.
func SSOSettings(cfg *config.Config, provider string) string {
	fp := func(s string) string {
		if s == "" {
			return "none"
		}
		h := sha256.Sum256([]byte(s))
		return "sha256:" + hex.EncodeToString(h[:8])
	}
	if provider == config.AuthOIDC {
		c := cfg.OAuth2
		return fmt.Sprintf("issuer=%s client_id=%s client_secret=%s scopes=%s claims(username=%s required=%t name=%s email=%s unique_id=%s groups=%s role=%s) logout_at_provider=%t address=%s",
			c.OpenIDConnectIssuer, c.ClientId, fp(c.ClientSecret.Reveal()), strings.Join(c.CustomScope, ","), c.UsernameClaim, c.RequireUsernameClaim,
			c.NameClaim, c.EmailClaim, c.UniqueIdClaim, c.GroupsClaim, c.RoleClaim, c.LogoutAtProvider, cfg.Server.Address)
	}
	c := cfg.SAML
	cert := ""
	if c.SPCertificate != "" {
		b, _ := os.ReadFile(c.SPCertificate)
		cert = string(b)
	}
	return fmt.Sprintf("idp_metadata=%s sp_entity_id=%s sp_certificate=%s attributes(unique_id=%s username=%s name=%s email=%s groups=%s role=%s) address=%s",
		c.IdPMetaDataURL+c.IdPMetaDataPath, c.SPEntityID, fp(cert), c.UniqueIdAttribute, c.UsernameAttribute, c.NameAttribute,
		c.EmailAttribute, c.GroupsAttribute, c.RoleAttribute, cfg.Server.Address)
}

func ssoSource(cfg *config.Config, provider string) string {
	if provider == "oidc" {
		return strings.TrimSuffix(cfg.OAuth2.OpenIDConnectIssuer, "/") + "/.well-known/openid-configuration"
	}
	return cfg.SAML.IdPMetaDataURL + cfg.SAML.IdPMetaDataPath
}

// SSOFromConfig returns the web layer's single sign-on for cfg, nil for a
// provider other than oidc and saml. Returns EREFUSED for a key or
// certificate file it cannot read.
func SSOFromConfig(cfg *config.Config, provider string) (*web.SSO, error) {
	if provider != config.AuthOIDC && provider != config.AuthSAML {
		return nil, nil
	}
	key, err := sharedKeyFile(cfg, SSOKeyFile, "sign-in state key")
	if err != nil {
		return nil, err
	}
	sealer, err := sso.NewSealer(key, nil)
	if err != nil {
		return nil, err
	}
	o := &web.SSO{Sealer: sealer, Address: cfg.Server.Address}
	if provider == config.AuthOIDC {
		c := cfg.OAuth2
		o.OIDC = OIDCFromConfig(cfg)
		o.LogoutAtProvider = c.LogoutAtProvider
		o.Label = labelOr(c.DisplayName, c.OpenIDConnectIssuer)
		return o, nil
	}
	o.SAML, err = SAMLFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	o.Label = labelOr(cfg.SAML.DisplayName, cfg.SAML.IdPMetaDataURL)
	return o, nil
}

// OIDCFromConfig returns the relying party of cfg's [OAuth2].
func OIDCFromConfig(cfg *config.Config) *sso.OIDC {
	c := cfg.OAuth2
	return sso.NewOIDC(sso.OIDCOptions{
		Issuer: c.OpenIDConnectIssuer, ClientID: c.ClientId, ClientSecret: c.ClientSecret, Scopes: c.CustomScope,
		Claims: sso.ClaimNames{Username: c.UsernameClaim, RequireUsername: c.RequireUsernameClaim, Name: c.NameClaim,
			Email: c.EmailClaim, UniqueID: c.UniqueIdClaim, Groups: c.GroupsClaim, Role: c.RoleClaim},
	})
}

// SAMLFromConfig returns the service provider of cfg's [SAML].
func SAMLFromConfig(cfg *config.Config) (*sso.SAML, error) {
	c := cfg.SAML
	opts := sso.SAMLOptions{
		MetadataURL: c.IdPMetaDataURL, MetadataPath: c.IdPMetaDataPath, EntityID: c.SPEntityID, BaseURL: cfg.Server.Address,
		Attributes: sso.ClaimNames{Username: c.UsernameAttribute, Name: c.NameAttribute, Email: c.EmailAttribute,
			UniqueID: c.UniqueIdAttribute, Groups: c.GroupsAttribute, Role: c.RoleAttribute, RequireUsername: true},
	}
	if c.SPCertificate != "" {
		pair, err := tls.LoadX509KeyPair(c.SPCertificate, c.SPKey)
		if err != nil {
			return nil, podium.Errorf(podium.EREFUSED, "[SAML] SPCertificate %s and SPKey %s: %v", c.SPCertificate, c.SPKey, err)
		}
		cert, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, podium.Errorf(podium.EREFUSED, "[SAML] SPCertificate %s: %v", c.SPCertificate, err)
		}
		signer, ok := pair.PrivateKey.(crypto.Signer)
		if !ok {
			return nil, podium.Errorf(podium.EREFUSED, "[SAML] SPKey %s: not a signing key", c.SPKey)
		}
		opts.Certificate, opts.Key = cert, signer
	}
	sp, err := sso.NewSAML(opts, web.LoginPath)
	if err != nil {
		return nil, podium.Errorf(podium.EREFUSED, "%v", err)
	}
	return sp, nil
}

// labelOr returns name, else the host of rawURL.
func labelOr(name, rawURL string) string {
	if name != "" {
		return name
	}
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Hostname()
	}
	return "single sign-on"
}

// sharedKeyFile returns the 32-byte key in DataDir/file, created by the
// first node that needs it (as the content origin's key is).
func sharedKeyFile(cfg *config.Config, file, what string) ([]byte, error) {
	path := filepath.Join(cfg.Server.DataDir, file)
	k, err := keyfile.ReadOrCreate(path)
	if err != nil && !errors.Is(err, keyfile.ErrMalformed) {
		return nil, podium.Errorf(podium.EREFUSED, "%s file %s: %v", what, path, err)
	}
	if err != nil || len(k) != keyfile.Size {
		return nil, podium.Errorf(podium.EREFUSED, "%s file %s: not 32 bytes of base64; remove it and every node creates a new one at start (sign-ins in progress then start again)", what, path)
	}
	return k, nil
}
