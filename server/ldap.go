package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/auth/ldapauth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/hacheck"
	"github.com/sirupsen/logrus"
)

// newLDAP returns, with [Authentication] Provider = ldap (nil, nil
// otherwise), the LDAP authenticator and the probe that connects and
// binds as the service account now and then, for the log and "podium ha
// check". Returns EINVALID for an unreadable CA file.
func newLDAP(cfg *config.Config, log *logrus.Entry) (auth.PasswordAuthenticator, *hacheck.SSOProbe, error) {
	if cfg.Authentication.Provider != config.AuthLDAP {
		return nil, nil, nil
	}
	a, err := ldapauth.New(cfg.LDAP, log)
	if err != nil {
		return nil, nil, err
	}
	return a, hacheck.NewSSOProbe(hacheck.SSOFacts{Provider: config.AuthLDAP, Settings: LDAPSettings(cfg), Source: cfg.LDAP.ServerAddress},
		a.Check, time.Minute, log), nil
}

// newProxyAuthProbe returns, with [Authentication] Provider = proxy (nil
// otherwise), the probe that publishes [ProxyAuth] for "podium ha check",
// so that it can compare the nodes' settings (there is nothing to reach:
// the proxy calls the nodes).
func newProxyAuthProbe(cfg *config.Config, log *logrus.Entry) *hacheck.SSOProbe {
	if cfg.Authentication.Provider != config.AuthProxy {
		return nil
	}
	c := cfg.ProxyAuth
	settings := fmt.Sprintf("trusted=%s username=%s unique_id=%s name=%s email=%s groups=%s separator=%q role=%s",
		strings.Join(c.TrustedProxies, ","), c.UsernameHeader, c.UniqueIDHeader, c.NameHeader, c.EmailHeader, c.GroupsHeader, c.GroupsSeparator, c.RoleHeader)
	return hacheck.NewSSOProbe(hacheck.SSOFacts{Provider: config.AuthProxy, Settings: settings, Source: "the authenticating proxy's headers"},
		func(context.Context) error { return nil }, time.Hour, log)
}

// LDAPSettings is the [LDAP] configuration as one line, for "podium ha
// check" to compare across nodes; the bind password as a fingerprint.
func LDAPSettings(cfg *config.Config) string {
	c := cfg.LDAP
	fp := "none"
	if pw := c.BindPassword.Reveal(); pw != "" {
		fp = fingerprint(pw)
	}
	return fmt.Sprintf("server=%s starttls=%t ca=%s bind_dn=%s bind_password=%s users=%s filter=%s attrs(username=%s unique_id=%s name=%s email=%s groups=%s) groups=%s group_filter=%s group_name=%s",
		c.ServerAddress, c.StartTLS, c.TLSCACertificate, c.BindDN, fp, c.UserSearchBaseDN, c.UserFilter, c.UsernameAttribute, c.UniqueIDAttribute,
		c.NameAttribute, c.EmailAttribute, c.GroupsAttribute, c.GroupSearchBaseDN, c.GroupFilter, c.GroupNameAttribute)
}

// fingerprint names a secret without showing it: the first 8 bytes of
// its SHA-256.
func fingerprint(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:8])
}
