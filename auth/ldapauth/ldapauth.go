// Package ldapauth checks sign-ins against an LDAP or Active Directory
// server ([Authentication] Provider = ldap): it searches for the user with
// a service account, binds as the user with the typed password, and reads
// the attributes and groups that auth.SignInExternal needs.
//
// It uses github.com/go-ldap/ldap/v3 for the protocol (BER, filters, DN
// parsing, TLS): identity code is not hand-rolled. It imports the domain,
// auth and config; nothing imports it but server.
package ldapauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/sirupsen/logrus"
)

// Provider is the name SignInExternal records for LDAP identities.
const Provider = config.AuthLDAP

// Authenticator implements auth.PasswordAuthenticator for one server.
type Authenticator struct {
	cfg  config.LDAPConfig
	tls  *tls.Config
	host string
	log  *logrus.Entry
}

var _ auth.PasswordAuthenticator = (*Authenticator)(nil)

// New returns an authenticator for cfg. Returns EINVALID for an
// unreadable CA file or a bad address.
func New(cfg config.LDAPConfig, log *logrus.Entry) (*Authenticator, error) {
	u, err := url.Parse(cfg.ServerAddress)
	if err != nil || u.Host == "" {
		return nil, podium.Errorf(podium.EINVALID, "[LDAP] ServerAddress %q is not an ldap:// or ldaps:// URL", cfg.ServerAddress)
	}
	host := u.Hostname()
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.TLSCACertificate != "" {
		pem, err := os.ReadFile(cfg.TLSCACertificate)
		if err != nil {
			return nil, podium.Errorf(podium.EINVALID, "[LDAP] TLSCACertificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, podium.Errorf(podium.EINVALID, "[LDAP] TLSCACertificate %s holds no PEM certificate", cfg.TLSCACertificate)
		}
		tc.RootCAs = pool
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Authenticator{cfg: cfg, tls: tc, host: host, log: log}, nil
}

// unavailable is what the user learns when the directory is the problem;
// the log has the detail.
func (a *Authenticator) unavailable(err error, what string) error {
	a.log.WithError(err).WithFields(logrus.Fields{"server": a.cfg.ServerAddress}).Error("LDAP sign-in: " + what)
	return &podium.Error{Code: podium.EUNAVAILABLE, Message: "the sign-in service (LDAP) cannot be reached or refused the request: try again later, and tell your administrator if it goes on", Err: err}
}

// connect dials the server (LDAPS, or plain with StartTLS when asked)
// within the timeout.
func (a *Authenticator) connect(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: a.cfg.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(a.cfg.ServerAddress, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(a.tls))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(a.cfg.Timeout)
	if a.cfg.StartTLS {
		if err := conn.StartTLS(a.tls); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("starttls: %w", err)
		}
	}
	return conn, nil
}

// Check connects and binds as the service account: what "ha check" and
// the node's start ask to see that the directory is reachable and the
// settings work. Returns EUNAVAILABLE with the reason.
func (a *Authenticator) Check(ctx context.Context) error {
	conn, err := a.connect(ctx)
	if err != nil {
		return podium.Errorf(podium.EUNAVAILABLE, "cannot reach %s: %v", a.cfg.ServerAddress, err)
	}
	defer conn.Close()
	if err := a.serviceBind(conn); err != nil {
		return podium.Errorf(podium.EUNAVAILABLE, "%s refused the service account [LDAP] BindDN: %v", a.cfg.ServerAddress, err)
	}
	return nil
}

func (a *Authenticator) serviceBind(conn *ldap.Conn) error {
	if a.cfg.BindDN == "" {
		return conn.UnauthenticatedBind("")
	}
	return conn.Bind(a.cfg.BindDN, a.cfg.BindPassword.Reveal())
}

// Authenticate implements auth.PasswordAuthenticator: search then bind.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string) (auth.ExternalIdentity, error) {
	bad := podium.Errorf(podium.EUNAUTHORIZED, "invalid username or password")
	if username == "" || password == "" {
		return auth.ExternalIdentity{}, bad
	}
	conn, err := a.connect(ctx)
	if err != nil {
		return auth.ExternalIdentity{}, a.unavailable(err, "cannot connect")
	}
	defer conn.Close()
	if err := a.serviceBind(conn); err != nil {
		return auth.ExternalIdentity{}, a.unavailable(err, "the service account ([LDAP] BindDN) cannot bind")
	}
	attrs := []string{"dn", a.cfg.UsernameAttribute, a.cfg.UniqueIDAttribute, a.cfg.NameAttribute, a.cfg.EmailAttribute}
	if a.cfg.GroupSearchBaseDN == "" && a.cfg.GroupsAttribute != "" {
		attrs = append(attrs, a.cfg.GroupsAttribute)
	}
	filter := strings.ReplaceAll(a.cfg.UserFilter, "{username}", ldap.EscapeFilter(username))
	res, err := conn.Search(ldap.NewSearchRequest(a.cfg.UserSearchBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.cfg.Timeout.Seconds()), false, filter, attrs, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return auth.ExternalIdentity{}, a.unavailable(err, "the user search failed (check [LDAP] UserSearchBaseDN and UserFilter)")
	}
	if res == nil || len(res.Entries) != 1 {
		n := 0
		if res != nil {
			n = len(res.Entries)
		}
		if n > 1 {
			a.log.WithFields(logrus.Fields{"server": a.cfg.ServerAddress, "filter": filter}).Warn("LDAP sign-in: the user filter matches several entries: refused")
		}
		return auth.ExternalIdentity{}, bad
	}
	e := res.Entries[0]
	if err := conn.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return auth.ExternalIdentity{}, bad
		}
		return auth.ExternalIdentity{}, a.unavailable(err, "binding as the user failed")
	}
	id := auth.ExternalIdentity{Provider: Provider,
		Username: e.GetAttributeValue(a.cfg.UsernameAttribute),
		Name:     e.GetAttributeValue(a.cfg.NameAttribute),
		Email:    e.GetAttributeValue(a.cfg.EmailAttribute)}
	if id.Username == "" {
		id.Username = username
	}
	if raw := e.GetRawAttributeValue(a.cfg.UniqueIDAttribute); len(raw) > 0 {
		if strings.EqualFold(a.cfg.UniqueIDAttribute, "objectGUID") {
			id.UniqueID = hex.EncodeToString(raw) // binary on Active Directory
		} else {
			id.UniqueID = string(raw)
		}
	} else {
		id.UniqueID = e.DN
	}
	// The groups are read with the service account again: the user may
	// not be allowed to search them.
	if err := a.serviceBind(conn); err != nil {
		return auth.ExternalIdentity{}, a.unavailable(err, "the service account ([LDAP] BindDN) cannot bind")
	}
	groups, err := a.groups(conn, e, username)
	if err != nil {
		return auth.ExternalIdentity{}, a.unavailable(err, "the group search failed (check [LDAP] GroupSearchBaseDN and GroupFilter)")
	}
	id.Groups = groups
	return id, nil
}

// groups returns the names of the user's groups: by a group search when
// GroupSearchBaseDN is set, else from the entry's GroupsAttribute (DNs,
// each named by its first RDN's value).
func (a *Authenticator) groups(conn *ldap.Conn, e *ldap.Entry, username string) ([]string, error) {
	if a.cfg.GroupSearchBaseDN == "" {
		var out []string
		for _, dn := range e.GetAttributeValues(a.cfg.GroupsAttribute) {
			parsed, err := ldap.ParseDN(dn)
			if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
				continue
			}
			out = append(out, parsed.RDNs[0].Attributes[0].Value)
		}
		return out, nil
	}
	filter := strings.NewReplacer("{userdn}", ldap.EscapeFilter(e.DN), "{username}", ldap.EscapeFilter(username)).Replace(a.cfg.GroupFilter)
	res, err := conn.Search(ldap.NewSearchRequest(a.cfg.GroupSearchBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(a.cfg.Timeout.Seconds()), false, filter, []string{a.cfg.GroupNameAttribute}, nil))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range res.Entries {
		if name := g.GetAttributeValue(a.cfg.GroupNameAttribute); name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}
