package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/podiumhq/podium/auth"
)

func init() { mounts = append(mounts, mountAccounts) }

// mountAccounts creates the accounts service, installs the authentication
// middleware on every route with the login pages and the account API, and
// sweeps expired sessions.
func mountAccounts(n *Node) error {
	n.auth = auth.New(n.db, n.log("auth"), n.AuthOptions)
	n.web.UseAccounts(n.auth)
	n.AddService(&sessionSweeper{auth: n.auth, every: time.Hour})
	n.AddService(&firstRunSetup{n: n})
	return nil
}

// Auth returns the node's accounts service (after Open): in-process tests
// create users and API keys with it.
func (n *Node) Auth() *auth.Service { return n.auth }

// sessionSweeper deletes expired sessions and stale failed-login records
// now and then; expired ones are refused anyway, this only keeps the tables
// small. On a cluster every node
// sweeps: the DELETE is idempotent and cheap.
type sessionSweeper struct {
	auth   *auth.Service
	every  time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *sessionSweeper) Name() string { return "session sweeper" }

func (s *sessionSweeper) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _, _ = s.auth.Sweep(ctx)
			}
		}
	}()
	return nil
}

func (s *sessionSweeper) Stop(ctx context.Context) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// firstRunSetup offers the first-run setup when the database has no users
// at start: it prints a one-time token in the log, which the login page
// asks for before it creates the first administrator.
type firstRunSetup struct{ n *Node }

func (s *firstRunSetup) Name() string { return "first-run setup" }

func (s *firstRunSetup) Start(ctx context.Context) error {
	users, err := s.n.auth.ListUsers(ctx)
	if err != nil || len(users) > 0 {
		return nil // not fatal: the administrator can use `podium users create`
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil
	}
	token := hex.EncodeToString(b)
	s.n.web.EnableFirstRun(token, s.n.id)
	// The token is meant for this log (in the message: the redaction hook
	// masks fields named like tokens); it is worthless once the first
	// administrator exists.
	s.n.log("auth").Warn("no users yet: open /__login__ in a browser and create the first administrator with the first-run setup token " +
		token + " (or run: podium users create --role admin)")
	return nil
}

func (s *firstRunSetup) Stop(context.Context) error { return nil }
