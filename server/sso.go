package server

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io/fs"
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

// mountSSO makes the login pages sign in through the provider named by
// provider ([Authentication] Provider) when it is oidc or saml.
func mountSSO(n *Node, provider string) error {
	o, err := SSOFromConfig(n.Config, provider)
	if err != nil || o == nil {
		return err
	}
	n.web.SetSSO(o)
	return nil
}

// SSOFromConfig returns the web layer's single sign-on for cfg, nil for a
// provider other than oidc and saml. Returns EREFUSED for a key or
// certificate file it cannot read.
func SSOFromConfig(cfg *config.Config, provider string) (*web.SSO, error) {
	switch provider {
	case "oidc", "saml":
	default:
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
	if provider == "oidc" {
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
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createContentKey(path)
	}
	if err != nil {
		return nil, podium.Errorf(podium.EREFUSED, "%s file %s: %v", what, path, err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(k) != 32 {
		return nil, podium.Errorf(podium.EREFUSED, "%s file %s: not 32 bytes of base64; remove it and every node creates a new one at start (sign-ins in progress then start again)", what, path)
	}
	return k, nil
}
