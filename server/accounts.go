package server

import (
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// newAccounts creates the accounts service on db (its options from the
// configuration over base; external, when set, checks passwords of an
// external directory) and returns it with the authentication middleware
// build installs on every route, in order: the origin checks, the session
// or API key, and with [Authentication] Provider = proxy the proxy's
// headers.
func newAccounts(cfg *config.Config, db dbprovider.Provider, base auth.Options, external auth.PasswordAuthenticator,
	w *web.Server, log *logrus.Entry) (*auth.Service, []echo.MiddlewareFunc) {
	opts := auth.OptionsFromConfig(cfg, base)
	if external != nil {
		opts.External = external
	}
	svc := auth.New(db, log, opts)
	mw := []echo.MiddlewareFunc{w.Origins(svc), web.Authenticate(svc)}
	if pa := cfg.ProxyAuth; cfg.Authentication.Provider == config.AuthProxy {
		mw = append(mw, web.ProxyAuth(svc, web.ProxyAuthOptions{Trusted: trustedProxies(pa.TrustedProxies),
			UsernameHeader: pa.UsernameHeader, UniqueIDHeader: pa.UniqueIDHeader, NameHeader: pa.NameHeader, EmailHeader: pa.EmailHeader,
			GroupsHeader: pa.GroupsHeader, GroupsSeparator: pa.GroupsSeparator, RoleHeader: pa.RoleHeader, Log: log}))
	}
	return svc, mw
}

// Auth returns the node's accounts service (after Open): in-process tests
// create users and API keys with it.
func (n *Node) Auth() *auth.Service { return n.auth }
