// Package testidp starts real identity providers for tests, in process,
// from maintained Go modules: an OpenID Connect provider built on
// github.com/zitadel/oidc's op package (an OpenID-certified provider
// implementation, with its example login page and in-memory storage) and
// a SAML 2.0 identity provider from github.com/crewjam/saml's samlidp. They
// speak the protocols over real HTTP with real keys and signatures; only
// their user lists are the tests'.
//
// Why these and not Debian's lemonldap-ng: it needs a web server, its
// FastCGI daemon and a Perl configuration per test, where these start in
// milliseconds inside the test binary, offline, on any port.
package testidp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account at a test identity provider.
type User struct {
	ID       string // the unique id (OIDC sub, SAML NameID)
	Username string
	Password string
	First    string
	Last     string
	Email    string
	Groups   []string
	// EmailUnverified: the OIDC provider says email_verified false.
	EmailUnverified bool
	// Role, when set, is sent in the "podium_role" claim (OIDC) or the
	// "role" attribute (SAML).
	Role string
}

// OIDC is a running OpenID Connect provider.
type OIDC struct {
	// Issuer is its issuer URL (discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are the registered client's.
	ClientID, ClientSecret string
	srv                    *httptest.Server
	mu                     sync.Mutex
	closed                 bool
	endSessions            int
}

// EndSessions counts the requests to the end_session endpoint (logouts
// that relying parties sent on to the provider).
func (o *OIDC) EndSessions() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.endSessions
}

// OIDCOptions configure StartOIDC.
type OIDCOptions struct {
	Users []User
	// RedirectURIs are the client's allowed redirect URIs (Podium's
	// {Address}/__login__/oidc/callback).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the provider may send a browser
	// after logout.
	PostLogoutRedirectURIs []string
}

// StartOIDC starts a provider on 127.0.0.1 with one confidential web
// client ("podium", a random secret) and opts' users; it stops at the
// end of the test.
func StartOIDC(t testing.TB, opts OIDCOptions) *OIDC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	o := &OIDC{Issuer: issuer, ClientID: "podium", ClientSecret: "s3cret-" + randHex(8)}
	users := &userStore{byID: map[string]*storage.User{}, extra: map[string]User{}}
	for _, u := range opts.Users {
		su := &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, FirstName: u.First, LastName: u.Last, Email: u.Email, EmailVerified: !u.EmailUnverified}
		users.byID[u.ID] = su
		users.extra[u.ID] = u
	}
	client := storage.WebClient(o.ClientID, o.ClientSecret, opts.RedirectURIs...)
	st := &oidcStorage{
		Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{o.ClientID: client}),
		users:   users, postLogout: opts.PostLogoutRedirectURIs,
	}
	router := exampleop.SetupServer(issuer, st, nil, false)
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/end_session" {
			o.mu.Lock()
			o.endSessions++
			o.mu.Unlock()
		}
		router.ServeHTTP(w, r)
	})
	o.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: count}}
	o.srv.Start()
	t.Cleanup(o.Close)
	return o
}

// Close stops the provider (a test of a provider that is down).
func (o *OIDC) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.closed = true
		o.srv.Close()
	}
}

// userStore is the provider's user list.
type userStore struct {
	byID  map[string]*storage.User
	extra map[string]User
}

func (s *userStore) GetUserByID(id string) *storage.User { return s.byID[id] }
func (s *userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s.byID {
		if u.Username == name {
			return u
		}
	}
	return nil
}
func (s *userStore) ExampleClientID() string { return "service" }

// oidcStorage adds the groups and podium_role claims to the example
// storage's user info, as a provider configured with a groups mapper does.
type oidcStorage struct {
	*storage.Storage
	users      *userStore
	postLogout []string
}

func (s *oidcStorage) addClaims(ui *oidc.UserInfo, userID string) {
	u, ok := s.users.extra[userID]
	if !ok {
		return
	}
	if len(u.Groups) > 0 {
		ui.AppendClaims("groups", u.Groups)
	}
	if u.Role != "" {
		ui.AppendClaims("podium_role", u.Role)
	}
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *oidcStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	s.addClaims(ui, ui.Subject)
	return nil
}

// GetClientByClientID gives the client its post-logout redirect URIs.
func (s *oidcStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return logoutClient{Client: c, post: s.postLogout}, nil
}

type logoutClient struct {
	op.Client
	post []string
}

func (c logoutClient) PostLogoutRedirectURIs() []string { return c.post }
