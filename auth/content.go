package auth

import (
	"context"
	"fmt"

	"github.com/podiumhq/podium"
)

// ID returns the session's identifier: the hash of its token, under which
// it is stored. It names the session without being able to open it (the
// content origin's cookie carries it, signed; see web's origin.go).
func (s *Session) ID() []byte { return tokenHash(s.Token) }

// AuthenticateSessionID returns the live session stored under idHash (a
// Session.ID), as AuthenticateSession does for a token: EUNAUTHORIZED for an
// unknown or expired session or a locked user. The returned Session has no
// Token.
func (s *Service) AuthenticateSessionID(ctx context.Context, idHash []byte) (*Session, error) {
	return s.authenticateSession(ctx, "", idHash)
}

// authenticateSession is the one check of a session, whether it is named
// by its token (the dashboard's cookie) or by its id (the content
// origin's cookie): every rule about which sessions are alive goes here.
// It moves the idle deadline on: reading content is activity too.
func (s *Service) authenticateSession(ctx context.Context, token string, idHash []byte) (*Session, error) {
	invalid := podium.Errorf(podium.EUNAUTHORIZED, "session expired or invalid: log in again")
	if len(idHash) == 0 {
		return nil, invalid
	}
	rec, u, err := s.db.SessionGet(ctx, idHash)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate session: %w", err)
	}
	now := s.opts.Now()
	// The lifetime counts from the session's creation by the database
	// clock, so a shorter SessionTTL applies to sessions already open.
	ends := rec.CreatedAt.Add(s.opts.SessionTTL)
	if u.Locked || !now.Before(rec.ExpiresAt) || !now.Before(ends) {
		if !u.Locked {
			_ = s.db.SessionDelete(ctxNoCancel(ctx), rec.IDHash)
		}
		return nil, invalid
	}
	expires := rec.ExpiresAt
	if next := minTime(now.Add(s.opts.SessionIdleTimeout), ends); next.Sub(rec.ExpiresAt) >= s.opts.SessionTouchInterval {
		if _, err := s.db.SessionExtend(ctxNoCancel(ctx), rec.IDHash, next); err != nil {
			return nil, fmt.Errorf("authenticate session: %w", err)
		}
		expires = next.UTC()
	}
	return &Session{Token: token, CSRFToken: rec.CSRFToken, ExpiresAt: expires, EndsAt: ends.UTC(), User: u}, nil
}
