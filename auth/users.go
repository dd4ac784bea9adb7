package auth

import (
	"context"
	"fmt"
	"regexp"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// usernamePattern: lower case so that "Alice" and "alice" cannot be two
// accounts, and safe in URLs, logs and file names.
var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidateUsername checks a username. Returns EINVALID.
func ValidateUsername(username string) error {
	if !usernamePattern.MatchString(username) {
		return podium.Errorf(podium.EINVALID,
			"username %q: must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", username)
	}
	return nil
}

// ValidateRole checks a role name. Returns EINVALID.
func ValidateRole(role string) error {
	switch role {
	case podium.RoleAdmin, podium.RolePublisher, podium.RoleViewer:
		return nil
	}
	return podium.Errorf(podium.EINVALID, "role %q: must be admin, publisher or viewer", role)
}

// CreateUserParams describe a new user.
type CreateUserParams struct {
	Username string
	Role     string
	// Password is the login password. "" creates a user who cannot log in
	// to the web pages and uses API keys only.
	Password string
}

// CreateUser validates and creates a user. Returns EINVALID for a bad
// username, role or password, ECONFLICT if the username is taken.
func (s *Service) CreateUser(ctx context.Context, p CreateUserParams) (*podium.User, error) {
	if err := ValidateUsername(p.Username); err != nil {
		return nil, err
	}
	if err := ValidateRole(p.Role); err != nil {
		return nil, err
	}
	var hash string
	if p.Password != "" {
		if err := s.ValidatePassword(p.Username, p.Password); err != nil {
			return nil, err
		}
		var err error
		if hash, err = s.hash(ctx, p.Password); err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
	}
	u, err := s.db.UserCreate(ctx, &dbprovider.UserCreateParams{Username: p.Username, Role: p.Role, PasswordHash: hash})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "role": u.Role}).Info("user created")
	return u, nil
}

// SetPassword replaces a user's password ("" removes password login) and
// ends every session of the user: whoever logged in with the old password
// must log in again. Returns EINVALID, ENOTFOUND.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	var hash string
	if password != "" {
		u, err := s.db.UserGetByID(ctx, userID)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if err := s.ValidatePassword(u.Username, password); err != nil {
			return err
		}
		if hash, err = s.hash(ctx, password); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
	}
	u, err := s.db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: userID, PasswordHash: &hash})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.endSessions(ctx, u, "password changed")
}

// SetLocked locks or unlocks a user. A locked user cannot log in, and
// their API keys are refused (checked on every request, so on every node
// at once). Locking ends every session of the user, and so does
// unlocking: an unlocked user logs in afresh, no old session comes back.
// Returns ENOTFOUND.
func (s *Service) SetLocked(ctx context.Context, userID int64, locked bool) error {
	u, err := s.db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: userID, Locked: &locked})
	if err != nil {
		return fmt.Errorf("set locked: %w", err)
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "locked": locked}).Info("user lock changed")
	return s.endSessions(ctx, u, "lock changed")
}

// SetRole changes a user's role and ends every session of the user, so
// that no page opened under the old role goes on acting with it. Setting
// the role the user has is a no-op. Returns EINVALID, ENOTFOUND.
func (s *Service) SetRole(ctx context.Context, userID int64, role string) (*podium.User, error) {
	if err := ValidateRole(role); err != nil {
		return nil, err
	}
	old, err := s.db.UserGetByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("set role: %w", err)
	}
	if old.Role == role {
		return old, nil
	}
	u, err := s.db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: userID, Role: &role})
	if err != nil {
		return nil, fmt.Errorf("set role: %w", err)
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "role": u.Role, "old_role": old.Role}).Info("user role changed")
	return u, s.endSessions(ctx, u, "role changed")
}

// EndSessions ends every login session of a user (on every node: sessions
// live in the database) and returns how many there were. API keys are not
// affected: revoke them apart. Returns ENOTFOUND for an unknown user.
func (s *Service) EndSessions(ctx context.Context, userID int64) (int64, error) {
	u, err := s.db.UserGetByID(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	n, err := s.db.SessionDeleteByUser(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "sessions": n}).Info("sessions ended")
	return n, nil
}

// endSessions deletes u's sessions after a change of credentials or
// rights; why goes to the log.
func (s *Service) endSessions(ctx context.Context, u *podium.User, why string) error {
	n, err := s.db.SessionDeleteByUser(ctxNoCancel(ctx), u.ID)
	if err != nil {
		return fmt.Errorf("end sessions of user %d: %w", u.ID, err)
	}
	if n > 0 {
		s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "sessions": n, "reason": why}).Info("sessions ended")
	}
	return nil
}

// GetUser returns a user by id. Returns ENOTFOUND.
func (s *Service) GetUser(ctx context.Context, id int64) (*podium.User, error) {
	return s.db.UserGetByID(ctx, id)
}

// GetUserByName returns a user by username. Returns ENOTFOUND.
func (s *Service) GetUserByName(ctx context.Context, username string) (*podium.User, error) {
	return s.db.UserGetByName(ctx, username)
}

// ListUsers returns every user, by username.
func (s *Service) ListUsers(ctx context.Context) ([]*podium.User, error) {
	return s.db.UserList(ctx)
}

// VerifyPassword checks a user's password without throttling or sessions
// (Login is the throttled entry point). Returns the user, or EUNAUTHORIZED
// for an unknown user, a wrong password, a user without password login or
// a locked user.
func (s *Service) VerifyPassword(ctx context.Context, username, password string) (*podium.User, error) {
	bad := podium.Errorf(podium.EUNAUTHORIZED, "invalid username or password")
	u, err := s.db.UserGetByName(ctx, username)
	if podium.IsCode(err, podium.ENOTFOUND) {
		// Spend the same time as for a real user, so that response times do
		// not tell which usernames exist.
		_, _ = s.verify(ctx, password, s.dummyHash())
		return nil, bad
	}
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	hash, err := s.db.UserGetPasswordHash(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("verify password: %w", err)
	}
	if hash == "" {
		_, _ = s.verify(ctx, password, s.dummyHash())
		return nil, bad
	}
	ok, err := s.verify(ctx, password, hash)
	if err != nil {
		return nil, fmt.Errorf("verify password for user %d: %w", u.ID, err)
	}
	if !ok || u.Locked {
		return nil, bad
	}
	return u, nil
}

func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := hashPassword("podium-dummy-password", s.opts.Hash)
		if err != nil {
			panic(fmt.Sprintf("auth: dummy hash: %v", err))
		}
		s.dummy = h
	})
	return s.dummy
}
