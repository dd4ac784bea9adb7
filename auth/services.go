package auth

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// AccountService is the accounts service as web's account area (the login
// form, the first-run setup, sign-in through an external provider, and the
// user, group, key and session endpoints) holds it: the methods of
// *Service that area calls, so that its handler depends on what it uses
// and tests can give it a fake. The rules and error codes are those of
// the *Service methods.
type AccountService interface {
	ListUsers(ctx context.Context) ([]*podium.User, error)
	GetUser(ctx context.Context, id int64) (*podium.User, error)
	CreateUser(ctx context.Context, p CreateUserParams) (*podium.User, error)
	SetRole(ctx context.Context, userID int64, role string) (*podium.User, error)
	SetLocked(ctx context.Context, userID int64, locked bool) error
	SetPassword(ctx context.Context, userID int64, password string) error
	SetProfile(ctx context.Context, userID int64, name, email *string) error
	DeleteUser(ctx context.Context, id int64) error
	ChangePassword(ctx context.Context, userID int64, current, next string) error
	Login(ctx context.Context, username, password, addr string) (*Session, error)
	Logout(ctx context.Context, token string) error
	CreateSession(ctx context.Context, u *podium.User) (*Session, error)
	SignInExternal(ctx context.Context, id ExternalIdentity) (*podium.User, error)
	ListSessions(ctx context.Context, userID int64, current string) ([]SessionInfo, error)
	EndSession(ctx context.Context, userID int64, id string) error
	EndSessions(ctx context.Context, userID int64) (int64, error)
	ListAPIKeys(ctx context.Context, userID int64) ([]*dbprovider.APIKey, error)
	CreateAPIKey(ctx context.Context, userID int64, name string) (string, *dbprovider.APIKey, error)
	RevokeAPIKey(ctx context.Context, userID, keyID int64) error
	ListGroups(ctx context.Context) ([]*podium.Group, error)
	GetGroup(ctx context.Context, id int64) (*podium.Group, error)
	CreateGroup(ctx context.Context, name string) (*podium.Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	ListGroupMembers(ctx context.Context, groupID int64) ([]*podium.User, error)
	AddGroupMember(ctx context.Context, groupID, userID int64) error
	RemoveGroupMember(ctx context.Context, groupID, userID int64) error
	UserGroups(ctx context.Context, userID int64) ([]*podium.Group, error)
}

var _ AccountService = (*Service)(nil)

// SessionChecker finds a live session by its id: what web's content origin
// holds to let in a reader whose content cookie names a dashboard session
// (*Service's AuthenticateSessionID, with its rules and error codes).
type SessionChecker interface {
	AuthenticateSessionID(ctx context.Context, idHash []byte) (*Session, error)
}

var _ SessionChecker = (*Service)(nil)

// Authenticator authenticates a request's credentials: what web's
// Authenticate middleware holds (*Service's AuthenticateKey and
// AuthenticateSession, with their rules and error codes: EUNAUTHORIZED for
// a key or session that is unknown, expired or of a locked user).
type Authenticator interface {
	AuthenticateKey(ctx context.Context, key string) (*podium.User, *dbprovider.APIKey, error)
	AuthenticateSession(ctx context.Context, token string) (*Session, error)
}

var _ Authenticator = (*Service)(nil)
