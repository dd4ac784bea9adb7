package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// DeleteUser deletes a user with their API keys, sessions (on every
// node at once: they live in the database), identities and memberships.
// Returns ENOTFOUND, and EPRECONDITION while the user owns content (give
// it another owner first, or lock the user instead).
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	u, err := s.db.UserGetByID(ctx, id)
	if err != nil {
		return err
	}
	if err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error { return tx.UserDelete(ctx, id) }); err != nil {
		return err
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID}).Info("user deleted")
	return nil
}

// ChangePassword changes a user's own password, which they prove they
// know. Every session of the user ends, the caller's too: they sign in
// again with the new password. Returns EFORBIDDEN for a wrong current
// password (a user without a password cannot set one here: an
// administrator resets it), EINVALID for a refused new password.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) error {
	u, err := s.db.UserGetByID(ctx, userID)
	if err != nil {
		return err
	}
	if _, err := s.VerifyPassword(ctx, u.Username, current); err != nil {
		if podium.IsCode(err, podium.EUNAUTHORIZED) {
			s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID}).Info("password change refused: wrong current password")
			return podium.Errorf(podium.EFORBIDDEN, "the current password is wrong")
		}
		return err
	}
	if next == "" {
		return podium.Errorf(podium.EINVALID, "the new password is empty")
	}
	if err := s.SetPassword(ctx, userID, next); err != nil {
		return err
	}
	s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID}).Info("password changed by its user")
	return nil
}

// SessionInfo describes a login session without anything that opens it.
type SessionInfo struct {
	// ID names the session in the API: a hash of its stored hash, so it
	// is no credential (the stored hash is one for the content origin).
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Current is true for the session of the request that asked.
	Current bool `json:"current"`
}

func sessionRef(idHash []byte) string {
	h := sha256.Sum256(append([]byte("podium session ref\x00"), idHash...))
	return hex.EncodeToString(h[:12])
}

// ListSessions returns the live sessions of a user, newest first;
// current, when not "", is the token of the caller's session, marked
// Current.
func (s *Service) ListSessions(ctx context.Context, userID int64, current string) ([]SessionInfo, error) {
	list, err := s.db.SessionListByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	cur := ""
	if current != "" {
		cur = sessionRef(tokenHash(current))
	}
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		ref := sessionRef(ss.IDHash)
		out = append(out, SessionInfo{ID: ref, CreatedAt: ss.CreatedAt, ExpiresAt: ss.ExpiresAt, Current: ref == cur})
	}
	return out, nil
}

// EndSession ends one session of a user, named by its SessionInfo.ID.
// Returns ENOTFOUND when the user has no such session.
func (s *Service) EndSession(ctx context.Context, userID int64, id string) error {
	list, err := s.db.SessionListByUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	for _, ss := range list {
		if sessionRef(ss.IDHash) == id {
			if err := s.db.SessionDelete(ctx, ss.IDHash); err != nil {
				return fmt.Errorf("end session: %w", err)
			}
			s.log.WithFields(map[string]any{"user_id": userID, "session": id}).Info("session ended by its user")
			return nil
		}
	}
	return podium.Errorf(podium.ENOTFOUND, "session %q not found", id)
}

// SetProfile changes a user's display name and email (nil keeps one).
// An external provider sets them again at the user's next sign-in.
// Returns ENOTFOUND, EINVALID for an over-long value.
func (s *Service) SetProfile(ctx context.Context, userID int64, name, email *string) error {
	for _, v := range []*string{name, email} {
		if v != nil && len(*v) > 1024 {
			return podium.Errorf(podium.EINVALID, "name and email must be at most 1024 bytes")
		}
	}
	if _, err := s.db.UserUpdate(ctx, &dbprovider.UserUpdateParams{ID: userID, Name: name, Email: email}); err != nil {
		return fmt.Errorf("set profile: %w", err)
	}
	return nil
}
