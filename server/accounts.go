package server

import (
	"context"
	"sync"
	"time"

	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// mountAccounts creates the accounts service, installs the authentication
// middleware on every route, mounts the login pages and the account API,
// and returns the service that sweeps expired sessions.
func mountAccounts(n *Node) *sessionSweeper {
	n.auth = auth.New(n.db, n.log("auth"), n.AuthOptions)
	n.web.Use(web.Authenticate(n.auth))
	n.web.Mount(n.web.AccountRoutes(n.auth))
	return &sessionSweeper{auth: n.auth, every: time.Hour, log: n.log("auth")}
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
	log    *logrus.Entry
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
				s.sweep(ctx)
			}
		}
	}()
	return nil
}

// sweep runs one sweep and logs its failure: a database that refuses the
// DELETE lets the tables grow, which an administrator should hear about.
func (s *sessionSweeper) sweep(ctx context.Context) {
	sessions, attempts, err := s.auth.Sweep(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WithError(err).Warn("cannot delete expired sessions and stale failed logins: will retry at the next sweep")
	case err == nil && sessions+attempts > 0:
		s.log.WithFields(logrus.Fields{"sessions": sessions, "failed_logins": attempts}).Debug("swept expired sessions")
	}
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
